/* config.h — gregor-broker's configuration: server.properties, Docker-style KAFKA_* environment
 * variables and --override key=value, with Kafka 2.4's key names, defaults and checks.
 *
 * Precedence: file < environment < --override. Every key Kafka's shipped server.properties and the
 * common docker images set is accepted; keys Gregor has no use for are accepted, type-checked and
 * shown by bcfg_dump (docs/broker-config.md says which ones have no effect). Unknown keys give a
 * warning (bcfg_t.warnings); an invalid value is an error naming the key and where it was set.
 *
 * Environment mapping (wurstmeister / confluent images): KAFKA_FOO_BAR -> foo.bar, "__" -> "_",
 * "___" -> "-"; bitnami's KAFKA_CFG_FOO_BAR the same. Variables the images use for themselves
 * (KAFKA_HEAP_OPTS, KAFKA_OPTS, KAFKA_VERSION, KAFKA_HOME...) and Kubernetes service links
 * (KAFKA_SERVICE_HOST, KAFKA_PORT=tcp://...) are not configuration and are skipped. */
#ifndef GREGOR_BROKER_CONFIG_H
#define GREGOR_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/props.h"
#include "broker/group.h"
#include "broker/log.h"
#include "broker/logmgr.h"

/* One endpoint of listeners / advertised.listeners: NAME://host:port. */
typedef struct bcfg_listener_s {
    char *name;      /* listener name, upper case (PLAINTEXT, INTERNAL, ...) */
    char *host;      /* "" = all interfaces (listeners only; advertised hosts are never empty) */
    int port;        /* 0..65535; 0 = any free port */
    char *protocol;  /* security protocol from listener.security.protocol.map */
} bcfg_listener_t;

typedef struct bcfg_s {
    /* identity */
    int broker_id;                        /* broker.id; -1 = take one from /brokers/seqid */
    bool broker_id_generation_enable;     /* broker.id.generation.enable */
    int reserved_broker_max_id;           /* reserved.broker.max.id */
    char *broker_rack;                    /* broker.rack or NULL */

    /* network */
    bcfg_listener_t *listeners;           /* where to bind */
    size_t nlisteners;
    bcfg_listener_t *advertised;          /* what to register in /brokers/ids/N (hosts filled in) */
    size_t nadvertised;
    char *inter_broker_listener;          /* listener name the controller uses to reach brokers */
    char *listeners_raw, *advertised_listeners_raw, *protocol_map_raw;
    char *host_name;                      /* host.name (old style; used when listeners is unset) */
    int port;                             /* port (old style) */
    char *advertised_host_name;           /* advertised.host.name or NULL */
    int advertised_port;                  /* advertised.port; BCFG_UNSET_INT if unset */
    char *security_inter_broker_protocol; /* security.inter.broker.protocol or NULL */
    int socket_send_buffer_bytes, socket_receive_buffer_bytes, socket_request_max_bytes;
    int num_network_threads, num_io_threads;  /* accepted; Gregor runs one event loop */
    int queued_max_requests;
    int64_t connections_max_idle_ms;
    int max_connections_per_ip, max_connections;
    int request_timeout_ms;

    /* coordinator */
    char *zookeeper_connect;              /* as given */
    char *zk_hosts;                       /* "h1:p1,h2:p2" without the chroot */
    char *zk_chroot;                      /* "/kafka" or NULL */
    int zookeeper_session_timeout_ms;
    int zookeeper_connection_timeout_ms;  /* defaults to the session timeout */
    int zookeeper_max_in_flight_requests;

    /* logs */
    char **log_dirs;                      /* log.dirs, else log.dir */
    size_t nlog_dirs;
    char *log_dir, *log_dirs_raw;
    int num_partitions, default_replication_factor;
    bool auto_create_topics_enable, delete_topic_enable;
    int log_segment_bytes;
    int64_t log_roll_ms, log_roll_jitter_ms;      /* effective: ms > hours */
    int64_t log_retention_ms;                     /* effective: ms > minutes > hours; -1 = unlimited */
    int64_t log_retention_bytes, log_retention_check_interval_ms;
    char *log_cleanup_policy;
    bool cleanup_delete, cleanup_compact;
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms;                /* effective; INT64_MAX = never */
    int64_t log_flush_scheduler_interval_ms;
    int64_t log_flush_offset_checkpoint_interval_ms, log_flush_start_offset_checkpoint_interval_ms;
    int log_index_interval_bytes, log_index_size_max_bytes;
    int64_t log_segment_delete_delay_ms;
    bool log_preallocate;
    char *log_message_timestamp_type;
    int64_t log_message_timestamp_difference_max_ms;
    int message_max_bytes;
    char *compression_type;
    int min_insync_replicas;
    bool unclean_leader_election_enable;
    int num_recovery_threads_per_data_dir;
    bool log_cleaner_enable;
    int log_cleaner_threads;
    int64_t log_cleaner_backoff_ms, log_cleaner_delete_retention_ms, log_cleaner_min_compaction_lag_ms;
    double log_cleaner_min_cleanable_ratio;
    int64_t log_cleaner_dedupe_buffer_size;

    /* replication */
    int64_t replica_lag_time_max_ms;
    int replica_fetch_max_bytes, replica_fetch_wait_max_ms, replica_fetch_min_bytes;
    int replica_fetch_response_max_bytes, replica_socket_timeout_ms;
    int64_t replica_high_watermark_checkpoint_interval_ms;
    int num_replica_fetchers;
    bool controlled_shutdown_enable;
    int controlled_shutdown_max_retries;
    int64_t controlled_shutdown_retry_backoff_ms;
    bool auto_leader_rebalance_enable;
    int64_t leader_imbalance_check_interval_seconds;
    int leader_imbalance_per_broker_percentage;

    /* groups and offsets */
    int offsets_topic_num_partitions;
    int offsets_topic_replication_factor;
    int offsets_topic_segment_bytes;
    int offsets_retention_minutes;
    int64_t offsets_retention_check_interval_ms;
    int offset_metadata_max_bytes;
    int offsets_commit_required_acks, offsets_commit_timeout_ms;
    int group_initial_rebalance_delay_ms, group_min_session_timeout_ms, group_max_session_timeout_ms;
    int group_max_size;

    /* transactions / idempotence */
    int transaction_state_log_num_partitions, transaction_state_log_replication_factor;
    int transaction_state_log_min_isr, transaction_state_log_segment_bytes;
    int transactional_id_expiration_ms, transaction_max_timeout_ms;

    /* raw values of every accepted key as set or defaulted ("null" when unset), for bcfg_dump */
    props_t effective;
    /* warnings to log at start-up (unknown keys, ignored variables); owned */
    char **warnings;
    size_t nwarnings;
} bcfg_t;

#define BCFG_UNSET_INT INT32_MIN
#define BCFG_UNSET_LONG INT64_MIN

/* Where the configuration comes from. Every field may be NULL. */
typedef struct bcfg_src_s {
    const char *path;          /* server.properties */
    const char *text;          /* properties text used instead of a file (tests) */
    char *const *envp;         /* environment, e.g. environ */
    const props_t *overrides;  /* --override key=value */
    const char *hostname;      /* canonical host name for advertised listeners with an empty host;
                                * NULL: looked up (gethostname + canonical name) when needed */
} bcfg_src_t;

/* Loads, merges (file < env < overrides), checks and derives. Returns 0; or -1 with a message in
 * err naming the key and where it was set (file and line, environment variable, --override).
 * On success c owns everything; free with bcfg_free. On failure c holds nothing. */
int bcfg_load(bcfg_t *c, const bcfg_src_t *src, char *err, size_t errlen);
void bcfg_free(bcfg_t *c);

/* Command line: argv[1] is the properties file, then "--override key=value" (or
 * "--override=key=value") any number of times. *path points into argv; overrides (initialised by
 * the caller) receives the pairs. Returns 0, or -1 with a usage message in err. */
int bcfg_parse_args(int argc, char **argv, const char **path, props_t *overrides, char *err, size_t errlen);

/* Maps an environment variable name to a config key: KAFKA_FOO_BAR -> "foo.bar" (see header).
 * Returns 1 with the key in out; 0 if the variable is not configuration; -1 if out is too small. */
int bcfg_env_key(const char *var, char *out, size_t outlen);

/* Parses "NAME:PROTOCOL,..." into map (initialised by the caller; names upper-cased).
 * Returns 0 or -1 with a message. */
int bcfg_parse_protocol_map(const char *text, props_t *map, char *err, size_t errlen);
/* Parses a listener list "NAME://host:port,..." for key (named in messages). Hosts may be empty,
 * names or IPv4/[IPv6] addresses; names must be in map. *out is a new array the caller frees with
 * bcfg_listeners_free. Checks distinct names, and distinct non-zero ports if distinct_ports. */
int bcfg_parse_listeners(const char *key, const char *text, const props_t *map, bool distinct_ports,
                         bcfg_listener_t **out, size_t *n, char *err, size_t errlen);
void bcfg_listeners_free(bcfg_listener_t *v, size_t n);
/* The advertised listener with this name, or NULL. */
const bcfg_listener_t *bcfg_advertised(const bcfg_t *c, const char *name);

/* Appends Kafka's start-up block: "KafkaConfig values: \n" then "\tkey = value\n" for every
 * accepted key, sorted by key. */
void bcfg_dump(const bcfg_t *c, buf_t *out);

/* The i-th key gregor-broker accepts (for docs and tests), NULL past the end. */
const char *bcfg_key_at(size_t i);

/* Fill the module configs from the broker configuration. lmgr's dirs point into c. */
void bcfg_plog_config(const bcfg_t *c, plog_config_t *out);
void bcfg_group_config(const bcfg_t *c, group_config_t *out);
void bcfg_lmgr_config(const bcfg_t *c, lmgr_config_t *out);

#endif
