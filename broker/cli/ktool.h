/* ktool.h — shared pieces of the Kafka command-line tools under `gregor` (topics, configs,
 * console-producer, console-consumer, consumer-groups):
 *
 *  - ktool_opts_*: a joptsimple-like option parser ("--name value", "--name=value", unique
 *    prefixes accepted as joptsimple does, repeated options accumulate), Kafka's
 *    CommandLineUtils checks (required / mutually invalid options) and help output;
 *  - ktool_zk_*: a synchronous coordinator session for the --zookeeper modes (one session per
 *    run, as Kafka's tools open one), with AdminZkClient-style helpers;
 *  - ktool_topic_config_validate: Kafka 2.4's LogConfig.validate for topic configs;
 *  - the subcommand entry points, each main-like (argv[0] is the subcommand name) returning
 *    the process exit status.
 *
 * Output conventions follow Kafka 2.4's tools: results and "Error while executing ..." lines on
 * stdout, usage errors on stderr with the help text, exit status 1 on any error. */
#ifndef GREGOR_BROKER_CLI_KTOOL_H
#define GREGOR_BROKER_CLI_KTOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <regex.h>

#include "common/buf.h"
#include "broker/zkpaths.h"

struct event_base;
struct zkc_s;

/* ---- options ---- */

typedef struct ktool_optdef_s {
    const char *name;     /* without the leading "--" */
    int arg;              /* 0: flag; 1: requires an argument; 2: optional argument */
    const char *argname;  /* e.g. "String: topic" (help only) */
    const char *help;
} ktool_optdef_t;

typedef struct ktool_opts_s {
    const ktool_optdef_t *defs;
    size_t ndefs;
    int *count;           /* per def: times given */
    char ***vals;         /* per def: values (borrowed from argv) */
    size_t *nvals;
    const char *header;   /* first help line (tool description) */
    char **rest;          /* non-option arguments (borrowed) */
    size_t nrest;
} ktool_opts_t;

/* Parses argv[1..argc) against defs. On a joptsimple error prints Java's exception line to
 * stderr and returns -1. The opts memory is the caller's: ktool_opts_free. */
int ktool_opts_parse(ktool_opts_t *o, const ktool_optdef_t *defs, size_t ndefs, const char *header,
                     int argc, char **argv);
void ktool_opts_free(ktool_opts_t *o);
bool ktool_has(const ktool_opts_t *o, const char *name);
/* Last value given for name, or NULL. */
const char *ktool_val(const ktool_opts_t *o, const char *name);
/* All values given for name (borrowed array); *n their number. */
char **ktool_vals(const ktool_opts_t *o, const char *name, size_t *n);
/* Prints the joptsimple-style option table. */
void ktool_print_help(const ktool_opts_t *o, FILE *f);
/* CommandLineUtils.printUsageAndDie: message + help on stderr; returns 1 (the exit status). */
int ktool_usage_die(const ktool_opts_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* checkRequiredArgs: returns 1 after printing 'Missing required argument "[name]"' for the
 * first missing one, else 0. names is NULL-terminated. */
int ktool_require(const ktool_opts_t *o, const char *const *names);
/* checkInvalidArgs: if `used` is given together with any of `bad` (NULL-terminated), prints
 * 'Option "[used]" can't be used with option "[a],[b]"' and returns 1; else 0. */
int ktool_invalid_with(const ktool_opts_t *o, const char *used, const char *const *bad);
/* Parses a Java int/long argument of option name; prints joptsimple's message on error. */
int ktool_int_arg(const ktool_opts_t *o, const char *name, int32_t *out);
int ktool_long_arg(const char *s, int64_t *out);

/* Splits "k=v" on the first '=' (blanks around '=' and at the ends trimmed, as Kafka's
 * split("""\s*=\s*""") + trim). Returns 0, or -1 if there is not exactly one '='-separated
 * pair. *k and *v are new heap strings. */
int ktool_split_kv(const char *s, char **k, char **v);

/* ---- topic configs (Kafka 2.4 LogConfig) ---- */

/* Returns 0, or -1 with Kafka's message ("Unknown topic config name: x", "Invalid value y for
 * configuration x: ...") in why. */
int ktool_topic_config_validate(const char *key, const char *value, char *why, size_t whylen);
bool ktool_topic_config_known(const char *key);
/* Topic.isInternal. */
bool ktool_topic_internal(const char *topic);
/* Kafka's Topic.validate message for an illegal name into why; 0 if legal. */
int ktool_topic_name_check(const char *topic, char *why, size_t whylen);
/* Topic.hasCollisionChars. */
bool ktool_topic_has_collision_chars(const char *topic);

/* ---- coordinator session ---- */

typedef struct ktool_zk_s {
    struct event_base *base;
    struct zkc_s *zk;
} ktool_zk_t;

/* Connects (session timeout 30 s; waits up to timeout_ms for the connection, or
 * $GREGOR_ZK_CONNECT_TIMEOUT_MS when set). On failure
 * prints Kafka's ZooKeeperClientTimeoutException line plus what to check, and returns -1. */
int ktool_zk_open(ktool_zk_t *z, const char *connect, int timeout_ms);
/* Closes the session and frees everything. Safe on a zeroed struct. */
void ktool_zk_close(ktool_zk_t *z);
/* getData: ZOK with the data in out (appended; null data = nothing) and the version in
 * *version (may be NULL); ZNONODE; or another Z* error. */
int ktool_zk_get(ktool_zk_t *z, const char *path, buf_t *out, int32_t *version);
/* getChildren sorted (strcmp): *out is a heap array of heap strings (ktool_strv_free). */
int ktool_zk_children(ktool_zk_t *z, const char *path, char ***out, size_t *n);
void ktool_strv_free(char **v, size_t n);
/* exists: 1 exists, 0 not, <0 error. */
int ktool_zk_exists(ktool_zk_t *z, const char *path);
/* create (persistent or persistent-sequential mode) creating missing parents with null data
 * (KafkaZkClient.createRecursive). *created (may be NULL) gets the created path. */
int ktool_zk_create(ktool_zk_t *z, const char *path, const void *data, int32_t len, int mode,
                    char **created);
/* setData v=-1, on NONODE create with parents (setOrCreateEntityConfigs). */
int ktool_zk_set_or_create(ktool_zk_t *z, const char *path, const void *data, int32_t len);
int ktool_zk_set(ktool_zk_t *z, const char *path, const void *data, int32_t len, int32_t version);
/* Kafka's name for a Z* code ("NoNode", "NodeExists", ...). */
const char *ktool_zk_errname(int rc);

/* Live brokers from /brokers/ids (sorted by id). ids/racks are heap arrays; racks[i] may be
 * NULL. Returns 0 or a Z* error. */
typedef struct ktool_brokers_s {
    int32_t *ids;
    char **racks;
    size_t n;
} ktool_brokers_t;
int ktool_zk_brokers(ktool_zk_t *z, ktool_brokers_t *out);
void ktool_brokers_free(ktool_brokers_t *b);

/* The entity config /config/<type>/<name> (empty if absent). */
int ktool_zk_entity_config(ktool_zk_t *z, const char *type, const char *name, zkpaths_config_t *out);
/* Writes /config/<type>/<name> then the version-2 change notification
 * (AdminZkClient.changeConfigs). Returns 0 or a Z* error. */
int ktool_zk_change_config(ktool_zk_t *z, const char *type, const char *name, const zkpaths_config_t *c);
/* "k=v,k=v" in java.util.Properties iteration order (as Kafka prints a Properties). */
char *ktool_config_join(const zkpaths_config_t *c, const char *sep);

/* ---- librdkafka ---- */

/* Fills a new rd_kafka_conf_t (as void *) with bootstrap.servers, a properties file
 * (--command-config / --producer.config / --consumer.config, may be NULL) and "k=v"
 * overrides. On error prints the reason and returns NULL. */
void *ktool_rk_conf(const char *bootstrap, const char *file, char **kvs, size_t nkvs);
/* Sets one librdkafka property; prints the error; 0 or -1. */
int ktool_rk_set(void *conf, const char *k, const char *v);

/* ---- subcommands ---- */

int ktool_topics_main(int argc, char **argv);
int ktool_configs_main(int argc, char **argv);
int ktool_producer_main(int argc, char **argv);
int ktool_consumer_main(int argc, char **argv);
int ktool_groups_main(int argc, char **argv);

/* topics --bootstrap-server (librdkafka admin API); in ktool_topics_admin.c. */
int ktool_topics_admin(const ktool_opts_t *o);

/* ---- kafka-topics helpers shared by both modes (ktool_topics.c) ---- */

/* Prints "Error while executing topic command : <msg>" on stdout; returns 1. */
int ktool_topic_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* --topic as Kafka's Whitelist: ',' = '|', full-match regex; NULL topic matches all. */
typedef struct ktool_tfilter_s {
    bool any;
    regex_t re;
} ktool_tfilter_t;
int ktool_tfilter_init(ktool_tfilter_t *f, const char *topic);   /* -1 after printing */
bool ktool_tfilter_match(const ktool_tfilter_t *f, const char *topic, bool exclude_internal);
void ktool_tfilter_free(ktool_tfilter_t *f);
/* --config k=v values into c, validated (LogConfig.validate). 0, or 1 after printing. */
int ktool_topic_parse_configs(const ktool_opts_t *o, zkpaths_config_t *c);
/* --replica-assignment "0:1,1:2" into per-partition lists (heap; ktool_ilists_free). 0 or 1
 * after printing. */
int ktool_parse_replica_assignment(const char *s, zkpaths_ilist_t **out, size_t *n);
void ktool_ilists_free(zkpaths_ilist_t *l, size_t n);
/* "1,2,3" (heap string). */
char *ktool_ilist_str(const zkpaths_ilist_t *l);

#endif
