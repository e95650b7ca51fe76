/* zkpaths.h — Kafka's ZooKeeper layout: every znode path the broker and the controller
 * touch, and every JSON payload stored in them (Kafka's kafka/zk/ZkData.scala: one module
 * owns them all).
 *
 * Paths are relative to the chroot (the ZooKeeper client prepends it), so "/brokers/ids/0"
 * means "<chroot>/brokers/ids/0".
 *
 * Encoders produce the bytes Kafka 2.x (Scala 2.12 build, Java 8) writes, byte for byte:
 * compact JSON, Jackson's escaping, and the key order Kafka's maps give. Where Kafka builds
 * a Scala mutable.HashMap (broker registration, a topic's partition map) or a
 * java.util.Properties (config maps) the key order is that map's iteration order, which
 * this module reproduces (zkpaths_scala_order / zkpaths_hashtable_order). Fixed small maps
 * keep their insertion order (Scala Map1..Map4), and the partition state's five keys are in
 * the order Kafka's immutable HashMap gives: controller_epoch, leader, version,
 * leader_epoch, isr.
 *
 * Decoders accept what Kafka 0.9 - 2.8 and their tools write, and reject anything else
 * with -1 without crashing or leaking (B25: JSON a user wrote with zkCli must not take the
 * controller down). A decoded struct owns its heap memory; free it with its *_free, which
 * is also safe on a zeroed struct and after a failed decode. */
#ifndef GREGOR_BROKER_ZKPATHS_H
#define GREGOR_BROKER_ZKPATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* ---- fixed paths ---- */

#define ZKPATHS_BROKERS "/brokers"
#define ZKPATHS_BROKER_IDS "/brokers/ids"
#define ZKPATHS_TOPICS "/brokers/topics"
#define ZKPATHS_SEQID "/brokers/seqid"
#define ZKPATHS_CLUSTER "/cluster"
#define ZKPATHS_CLUSTER_ID "/cluster/id"
#define ZKPATHS_CONTROLLER "/controller"
#define ZKPATHS_CONTROLLER_EPOCH "/controller_epoch"
#define ZKPATHS_CONFIG "/config"
#define ZKPATHS_CONFIG_TOPICS "/config/topics"
#define ZKPATHS_CONFIG_CLIENTS "/config/clients"
#define ZKPATHS_CONFIG_USERS "/config/users"
#define ZKPATHS_CONFIG_BROKERS "/config/brokers"
#define ZKPATHS_CONFIG_IPS "/config/ips"
#define ZKPATHS_CONFIG_CHANGES "/config/changes"
#define ZKPATHS_CONFIG_CHANGE_PREFIX "config_change_"
#define ZKPATHS_ADMIN "/admin"
#define ZKPATHS_DELETE_TOPICS "/admin/delete_topics"
#define ZKPATHS_REASSIGN "/admin/reassign_partitions"
#define ZKPATHS_PREFERRED "/admin/preferred_replica_election"
#define ZKPATHS_ISR_CHANGE "/isr_change_notification"
#define ZKPATHS_ISR_CHANGE_PREFIX "isr_change_"
#define ZKPATHS_PRODUCER_ID_BLOCK "/latest_producer_id_block"
#define ZKPATHS_LOG_DIR_EVENT "/log_dir_event_notification"
#define ZKPATHS_LOG_DIR_EVENT_PREFIX "log_dir_event_"
#define ZKPATHS_CONSUMERS "/consumers"
#define ZKPATHS_FEATURE "/feature"

/* The config entity type of the default broker config: /config/brokers/<default>. */
#define ZKPATHS_DEFAULT_ENTITY "<default>"

/* Persistent paths a broker ensures at startup (Kafka 2.8's PersistentZkPaths, in its
 * order), NULL-terminated. */
extern const char *const zkpaths_persistent[];

/* ---- paths with names in them: each returns a new heap string the caller frees ---- */

char *zkpaths_broker(int32_t id);                              /* /brokers/ids/N */
char *zkpaths_topic(const char *topic);                        /* /brokers/topics/T */
char *zkpaths_topic_partitions(const char *topic);             /* .../T/partitions */
char *zkpaths_partition(const char *topic, int32_t partition); /* .../T/partitions/P */
char *zkpaths_partition_state(const char *topic, int32_t partition); /* .../P/state */
char *zkpaths_config_entity(const char *type, const char *name);     /* /config/<type>/<name> */
char *zkpaths_delete_topic(const char *topic);                 /* /admin/delete_topics/T */
/* Sequential-create prefixes: /config/changes/config_change_ and
 * /isr_change_notification/isr_change_, /log_dir_event_notification/log_dir_event_. */
char *zkpaths_config_change_prefix(void);
char *zkpaths_isr_change_prefix(void);
char *zkpaths_log_dir_event_prefix(void);
/* Old consumers: /consumers/G, /consumers/G/ids, /consumers/G/ids/<id>,
 * /consumers/G/owners/T/P, /consumers/G/offsets/T/P. */
char *zkpaths_consumer_group(const char *group);
char *zkpaths_consumer_ids(const char *group);
char *zkpaths_consumer_id(const char *group, const char *consumer_id);
char *zkpaths_consumer_owner(const char *group, const char *topic, int32_t partition);
char *zkpaths_consumer_offset(const char *group, const char *topic, int32_t partition);

/* Parses "/brokers/topics/T/partitions/P/state" (or without "/state"): on success fills
 * *topic (new heap string) and *partition and returns 0; -1 if the path is not one. */
int zkpaths_parse_partition_path(const char *path, char **topic, int32_t *partition);
/* Sequence number of a sequential child name "<prefix>NNNNNNNNNN"; -1 if malformed. */
int zkpaths_parse_seq(const char *child, const char *prefix, int64_t *seq);
/* A legal Kafka topic name: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool zkpaths_topic_valid(const char *topic);
/* A broker id child name of /brokers/ids: a decimal int32 >= 0. -1 if not. */
int zkpaths_parse_broker_id(const char *child, int32_t *id);

/* ---- payloads ---- */

/* A list of broker ids (replicas, ISR). */
typedef struct zkpaths_ilist_s {
    int32_t *v;
    size_t n;
} zkpaths_ilist_t;

/* /brokers/ids/N: one listener. Strings are owned by the containing struct. */
typedef struct zkpaths_endpoint_s {
    char *listener;     /* listener name, e.g. "PLAINTEXT" or "INTERNAL" */
    char *protocol;     /* security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL */
    char *host;         /* "" for the default interface, never NULL after decode */
    int32_t port;
} zkpaths_endpoint_t;

typedef struct zkpaths_feature_s {
    char *name;
    int16_t min_version;
    int16_t max_version;
} zkpaths_feature_t;

/* /brokers/ids/N registration. Versions: 1 host/port/jmx_port/timestamp; 2 +endpoints;
 * 3 +rack; 4 +listener_security_protocol_map; 5 +features. */
typedef struct zkpaths_broker_s {
    int version;
    char *host;         /* decode: the top-level "host" (NULL if null); encode: ignored */
    int32_t port;       /* decode: top-level "port"; encode: ignored (derived as Kafka does) */
    zkpaths_endpoint_t *endpoints;
    size_t n_endpoints;
    int32_t jmx_port;
    int64_t timestamp;  /* ms; written as a JSON string */
    char *rack;         /* NULL = no rack */
    zkpaths_feature_t *features;    /* version 5 only */
    size_t n_features;
} zkpaths_broker_t;

/* Encodes a registration of b->version (2, 4 or 5 are what Kafka writes; 1 and 3 are
 * accepted). host/port are those of the first endpoint whose protocol is PLAINTEXT, else
 * null/-1, as Kafka does. Appends to out. Returns 0, or -1 on a bad version or strings
 * that are not UTF-8. */
int zkpaths_broker_encode(const zkpaths_broker_t *b, buf_t *out);
/* Decodes any registration version 1..5 a Kafka 0.9 - 2.8 broker writes. A version 1
 * registration yields one PLAINTEXT endpoint from host/port. Endpoints are parsed as
 * "LISTENER://host:port" ("[v6addr]" brackets removed); the protocol comes from
 * listener_security_protocol_map, or is the listener name itself when there is no map
 * (and must then be a known protocol). Returns 0 or -1 (out freed). */
int zkpaths_broker_decode(const void *data, size_t len, zkpaths_broker_t *out);
void zkpaths_broker_free(zkpaths_broker_t *b);
/* The endpoint whose listener is name, or NULL. */
const zkpaths_endpoint_t *zkpaths_broker_endpoint(const zkpaths_broker_t *b, const char *listener);

/* /brokers/topics/T: one partition's replica assignment. */
typedef struct zkpaths_passign_s {
    int32_t partition;
    zkpaths_ilist_t replicas;   /* first = preferred leader */
    zkpaths_ilist_t adding;     /* 2.4+ reassignment in progress */
    zkpaths_ilist_t removing;
} zkpaths_passign_t;

typedef struct zkpaths_topic_s {
    int version;                /* 1 (0.9-2.3), 2 (2.4-2.7), 3 (2.8) */
    char *topic_id;             /* 2.8: base64 UUID or NULL */
    zkpaths_passign_t *parts;   /* sorted by partition after decode */
    size_t n_parts;
} zkpaths_topic_t;

/* Encodes version 1 ({"version":1,"partitions":{...}}, as 0.9 - 2.3 write), or version 2
 * (+ "adding_replicas", "removing_replicas", as 2.4 - 2.7 write). Partition keys are in
 * the order Kafka's mutable.HashMap gives when filled in the order of t->parts. */
int zkpaths_topic_encode(const zkpaths_topic_t *t, buf_t *out);
/* Decodes versions 1-3. Partition keys must be decimal int32 >= 0 and unique, replicas
 * arrays of int32. Returns 0 or -1. */
int zkpaths_topic_decode(const void *data, size_t len, zkpaths_topic_t *out);
void zkpaths_topic_free(zkpaths_topic_t *t);
/* The partition's assignment, or NULL. */
const zkpaths_passign_t *zkpaths_topic_part(const zkpaths_topic_t *t, int32_t partition);

/* /brokers/topics/T/partitions/P/state. The znode's Stat.version is the zkVersion; it is
 * not in the JSON. */
typedef struct zkpaths_pstate_s {
    int32_t controller_epoch;
    int32_t leader;             /* -1 = no leader */
    int32_t leader_epoch;
    zkpaths_ilist_t isr;
} zkpaths_pstate_t;

int zkpaths_pstate_encode(const zkpaths_pstate_t *s, buf_t *out);
int zkpaths_pstate_decode(const void *data, size_t len, zkpaths_pstate_t *out);
void zkpaths_pstate_free(zkpaths_pstate_t *s);

/* /controller: {"version":1,"brokerid":N,"timestamp":"ms"}. Decode also accepts the
 * pre-0.8.2 plain decimal broker id. */
int zkpaths_controller_encode(int32_t broker_id, int64_t timestamp, buf_t *out);
int zkpaths_controller_decode(const void *data, size_t len, int32_t *broker_id);

/* /controller_epoch: a decimal string. */
int zkpaths_epoch_encode(int32_t epoch, buf_t *out);
int zkpaths_epoch_decode(const void *data, size_t len, int32_t *epoch);

/* /config/<type>/<name>: {"version":1,"config":{"k":"v",...}}; values are strings. */
typedef struct zkpaths_kv_s {
    char *key;
    char *value;
} zkpaths_kv_t;

typedef struct zkpaths_config_s {
    zkpaths_kv_t *v;
    size_t n;
} zkpaths_config_t;

/* Keys in java.util.Properties (Hashtable, Java 8) order for insertion in c's order. */
int zkpaths_config_encode(const zkpaths_config_t *c, buf_t *out);
/* Empty or null data is an empty config (as Kafka). Non-string values are rejected. */
int zkpaths_config_decode(const void *data, size_t len, zkpaths_config_t *out);
void zkpaths_config_free(zkpaths_config_t *c);
const char *zkpaths_config_get(const zkpaths_config_t *c, const char *key);
/* Sets (replacing) key; copies both strings. */
void zkpaths_config_set(zkpaths_config_t *c, const char *key, const char *value);
/* Removes key; returns 0 if it was there, -1 if not. */
int zkpaths_config_del(zkpaths_config_t *c, const char *key);

/* /config/changes/config_change_N. Version 1: {"version":1,"entity_type":"topics",
 * "entity_name":"t"} (0.9 - 0.10.0); version 2: {"version":2,"entity_path":"topics/t"}. */
int zkpaths_config_change_encode(int version, const char *entity_type, const char *entity_name,
                                 buf_t *out);
/* Decodes either version into *entity_path ("topics/t", new heap string). */
int zkpaths_config_change_decode(const void *data, size_t len, char **entity_path);

/* A (topic, partition) list: /admin/preferred_replica_election and
 * /isr_change_notification/isr_change_N: {"version":1,"partitions":[{"topic":"t",
 * "partition":0},...]}; /admin/reassign_partitions adds "replicas" to each. */
typedef struct zkpaths_tp_s {
    char *topic;
    int32_t partition;
    zkpaths_ilist_t replicas;   /* reassignment only */
} zkpaths_tp_t;

typedef struct zkpaths_tplist_s {
    zkpaths_tp_t *v;
    size_t n;
} zkpaths_tplist_t;

int zkpaths_tplist_encode(const zkpaths_tplist_t *l, bool with_replicas, buf_t *out);
/* with_replicas: each entry must have "replicas" (reassignment; "log_dirs" is accepted
 * and ignored). Topics must be valid names. */
int zkpaths_tplist_decode(const void *data, size_t len, bool with_replicas, zkpaths_tplist_t *out);
void zkpaths_tplist_free(zkpaths_tplist_t *l);

/* /cluster/id: {"version":"1","id":"<id>"} (version is a string). */
int zkpaths_cluster_id_encode(const char *id, buf_t *out);
int zkpaths_cluster_id_decode(const void *data, size_t len, char **id);

/* /latest_producer_id_block: {"version":1,"broker":N,"block_start":"a","block_end":"b"}. */
typedef struct zkpaths_pid_block_s {
    int32_t broker;
    int64_t block_start;
    int64_t block_end;      /* inclusive */
} zkpaths_pid_block_t;

int zkpaths_pid_block_encode(const zkpaths_pid_block_t *p, buf_t *out);
int zkpaths_pid_block_decode(const void *data, size_t len, zkpaths_pid_block_t *out);

/* /log_dir_event_notification/log_dir_event_N: {"version":1,"broker":N,"event":1}. */
int zkpaths_log_dir_event_encode(int32_t broker, int32_t event, buf_t *out);
int zkpaths_log_dir_event_decode(const void *data, size_t len, int32_t *broker, int32_t *event);

/* /consumers/G/ids/<id> (old ZooKeeper consumer): {"version":1,"subscription":{"t":1},
 * "pattern":"white_list","timestamp":"ms"}. Subscription counts are in c->v[i].value as
 * decimal strings. */
typedef struct zkpaths_consumer_s {
    zkpaths_config_t subscription;  /* topic (or regex) -> stream count */
    char *pattern;                  /* white_list, black_list, static */
    int64_t timestamp;
} zkpaths_consumer_t;

int zkpaths_consumer_encode(const zkpaths_consumer_t *c, buf_t *out);
int zkpaths_consumer_decode(const void *data, size_t len, zkpaths_consumer_t *out);
void zkpaths_consumer_free(zkpaths_consumer_t *c);

/* Decimal int64 payloads (/consumers/G/offsets/T/P). */
int zkpaths_long_decode(const void *data, size_t len, int64_t *v);

/* ---- map orders (exported for tests) ---- */

/* Fills order[] with the indexes of keys[0..n) in the iteration order of a Scala 2.12
 * mutable.HashMap[String, _] into which the keys were inserted in index order. Duplicate
 * keys keep their first index. Returns the number of distinct keys. */
size_t zkpaths_scala_order(const char *const *keys, size_t n, size_t *order);
/* The same for a java.util.Hashtable (Java 8 Properties), default capacity 11. */
size_t zkpaths_hashtable_order(const char *const *keys, size_t n, size_t *order);

void zkpaths_ilist_free(zkpaths_ilist_t *l);
bool zkpaths_ilist_has(const zkpaths_ilist_t *l, int32_t v);

#endif
