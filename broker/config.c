/* config.c — gregor-broker's configuration (see config.h): the key table, the three sources and
 * their precedence, listener parsing, the checks Kafka makes and the values it derives. */
#include "broker/config.h"

#include <ctype.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"

/* ---- the key table ---------------------------------------------------------------------------- */

typedef int (*bcfg_check_fn)(const char *v, char *why, size_t whylen);

typedef struct bcfg_key_s {
    const char *key;
    enum cfg_type type;
    ptrdiff_t off;       /* offset into bcfg_t, or NOFIELD: accepted and type-checked only */
    const char *def;     /* Kafka 2.4's default as text; NULL = null (unset) */
    int64_t min, max;    /* bounds for ints/longs (ignored when min > max) */
    bcfg_check_fn check; /* extra check for strings, or NULL */
} bcfg_key_t;

#define NOFIELD ((ptrdiff_t)-1)
#define F(field) ((ptrdiff_t)offsetof(bcfg_t, field))
#define I32MAX 2147483647LL
#define I64MAX INT64_MAX

static int check_one_of(const char *v, const char *const *opts, char *why, size_t whylen)
{
    for (size_t i = 0; opts[i]; i++)
        if (!strcmp(v, opts[i]))
            return 0;
    buf_t b = BUF_INIT;
    for (size_t i = 0; opts[i]; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", opts[i]);
    snprintf(why, whylen, "'%s' is not one of %s", v, buf_cstr(&b));
    buf_free(&b);
    return -1;
}

static int check_compression(const char *v, char *why, size_t whylen)
{
    static const char *const o[] = {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer", NULL};
    return check_one_of(v, o, why, whylen);
}

static int check_timestamp_type(const char *v, char *why, size_t whylen)
{
    static const char *const o[] = {"CreateTime", "LogAppendTime", NULL};
    return check_one_of(v, o, why, whylen);
}

static int check_protocol(const char *v, char *why, size_t whylen)
{
    static const char *const o[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", NULL};
    return check_one_of(v, o, why, whylen);
}

/* Trimmed items of a comma-separated list, empty items dropped (Kafka's parseCsvList). */
static size_t csv_split(const char *text, char ***out)
{
    char **v = NULL;
    size_t n = 0;
    const char *s = text;
    while (*s) {
        const char *e = strchr(s, ',');
        if (!e)
            e = s + strlen(s);
        const char *a = s, *b = e;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a) {
            v = xrealloc(v, (n + 1) * sizeof *v);
            v[n++] = xstrndup(a, (size_t)(b - a));
        }
        s = *e ? e + 1 : e;
    }
    *out = v;
    return n;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int check_cleanup_policy(const char *v, char *why, size_t whylen)
{
    static const char *const o[] = {"delete", "compact", NULL};
    char **items;
    size_t n = csv_split(v, &items);
    int rc = n ? 0 : -1;
    if (!n)
        snprintf(why, whylen, "'%s' names no policy (delete, compact or both)", v);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = check_one_of(items[i], o, why, whylen);
    strv_free(items, n);
    return rc;
}

/* Kafka 2.4's broker keys (kafka.server.KafkaConfig) that Gregor accepts. Keys Gregor does not
 * use have no field (NOFIELD); docs/broker-config.md lists which of them have no effect. */
static const bcfg_key_t keys[] = {
    /* identity */
    {"broker.id", CFG_INT, F(broker_id), "-1", -1, I32MAX, NULL},
    {"broker.id.generation.enable", CFG_BOOL, F(broker_id_generation_enable), "true", 0, -1, NULL},
    {"reserved.broker.max.id", CFG_INT, F(reserved_broker_max_id), "1000", 0, I32MAX, NULL},
    {"broker.rack", CFG_STRING, F(broker_rack), NULL, 0, -1, NULL},
    /* network */
    {"listeners", CFG_STRING, F(listeners_raw), NULL, 0, -1, NULL},
    {"advertised.listeners", CFG_STRING, F(advertised_listeners_raw), NULL, 0, -1, NULL},
    {"listener.security.protocol.map", CFG_STRING, F(protocol_map_raw),
     "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", 0, -1, NULL},
    {"inter.broker.listener.name", CFG_STRING, F(inter_broker_listener), NULL, 0, -1, NULL},
    {"security.inter.broker.protocol", CFG_STRING, F(security_inter_broker_protocol), NULL, 0, -1,
     check_protocol},
    {"host.name", CFG_STRING, F(host_name), "", 0, -1, NULL},
    {"port", CFG_INT, F(port), "9092", 0, 65535, NULL},
    {"advertised.host.name", CFG_STRING, F(advertised_host_name), NULL, 0, -1, NULL},
    {"advertised.port", CFG_INT, F(advertised_port), NULL, 0, 65535, NULL},
    {"socket.send.buffer.bytes", CFG_INT, F(socket_send_buffer_bytes), "102400", -1, I32MAX, NULL},
    {"socket.receive.buffer.bytes", CFG_INT, F(socket_receive_buffer_bytes), "102400", -1, I32MAX, NULL},
    {"socket.request.max.bytes", CFG_INT, F(socket_request_max_bytes), "104857600", 1, I32MAX, NULL},
    {"num.network.threads", CFG_INT, F(num_network_threads), "3", 1, I32MAX, NULL},
    {"num.io.threads", CFG_INT, F(num_io_threads), "8", 1, I32MAX, NULL},
    {"background.threads", CFG_INT, NOFIELD, "10", 1, I32MAX, NULL},
    {"queued.max.requests", CFG_INT, F(queued_max_requests), "500", 1, I32MAX, NULL},
    {"queued.max.request.bytes", CFG_LONG, NOFIELD, "-1", 0, -1, NULL},
    {"connections.max.idle.ms", CFG_LONG, F(connections_max_idle_ms), "600000", 0, -1, NULL},
    {"max.connections.per.ip", CFG_INT, F(max_connections_per_ip), "2147483647", 0, I32MAX, NULL},
    {"max.connections.per.ip.overrides", CFG_STRING, NOFIELD, "", 0, -1, NULL},
    {"max.connections", CFG_INT, F(max_connections), "2147483647", 0, I32MAX, NULL},
    {"request.timeout.ms", CFG_INT, F(request_timeout_ms), "30000", 0, I32MAX, NULL},
    /* coordinator (ZooKeeper) */
    {"zookeeper.connect", CFG_STRING, F(zookeeper_connect), NULL, 0, -1, NULL},
    {"zookeeper.session.timeout.ms", CFG_INT, F(zookeeper_session_timeout_ms), "6000", 1, I32MAX, NULL},
    {"zookeeper.connection.timeout.ms", CFG_INT, F(zookeeper_connection_timeout_ms), NULL, 1, I32MAX, NULL},
    {"zookeeper.max.in.flight.requests", CFG_INT, F(zookeeper_max_in_flight_requests), "10", 1, I32MAX, NULL},
    {"zookeeper.set.acl", CFG_BOOL, NOFIELD, "false", 0, -1, NULL},
    {"zookeeper.sync.time.ms", CFG_INT, NOFIELD, "2000", 0, -1, NULL},
    /* logs */
    {"log.dir", CFG_STRING, F(log_dir), "/tmp/kafka-logs", 0, -1, NULL},
    {"log.dirs", CFG_STRING, F(log_dirs_raw), NULL, 0, -1, NULL},
    {"num.partitions", CFG_INT, F(num_partitions), "1", 1, I32MAX, NULL},
    {"default.replication.factor", CFG_INT, F(default_replication_factor), "1", 1, 32767, NULL},
    {"auto.create.topics.enable", CFG_BOOL, F(auto_create_topics_enable), "true", 0, -1, NULL},
    {"delete.topic.enable", CFG_BOOL, F(delete_topic_enable), "true", 0, -1, NULL},
    {"log.segment.bytes", CFG_INT, F(log_segment_bytes), "1073741824", 14, I32MAX, NULL},
    {"log.roll.ms", CFG_LONG, NOFIELD, NULL, 0, -1, NULL},
    {"log.roll.hours", CFG_INT, NOFIELD, "168", 1, I32MAX, NULL},
    {"log.roll.jitter.ms", CFG_LONG, NOFIELD, NULL, 0, -1, NULL},
    {"log.roll.jitter.hours", CFG_INT, NOFIELD, "0", 0, I32MAX, NULL},
    {"log.retention.ms", CFG_LONG, NOFIELD, NULL, 0, -1, NULL},
    {"log.retention.minutes", CFG_INT, NOFIELD, NULL, 0, -1, NULL},
    {"log.retention.hours", CFG_INT, NOFIELD, "168", 0, -1, NULL},
    {"log.retention.bytes", CFG_LONG, F(log_retention_bytes), "-1", 0, -1, NULL},
    {"log.retention.check.interval.ms", CFG_LONG, F(log_retention_check_interval_ms), "300000", 1, I64MAX, NULL},
    {"log.cleanup.policy", CFG_STRING, F(log_cleanup_policy), "delete", 0, -1, check_cleanup_policy},
    {"log.flush.interval.messages", CFG_LONG, F(log_flush_interval_messages), "9223372036854775807", 1, I64MAX, NULL},
    {"log.flush.interval.ms", CFG_LONG, NOFIELD, NULL, 0, -1, NULL},
    {"log.flush.scheduler.interval.ms", CFG_LONG, F(log_flush_scheduler_interval_ms), "9223372036854775807", 0, -1, NULL},
    {"log.flush.offset.checkpoint.interval.ms", CFG_LONG, F(log_flush_offset_checkpoint_interval_ms), "60000", 0, I32MAX, NULL},
    {"log.flush.start.offset.checkpoint.interval.ms", CFG_LONG, F(log_flush_start_offset_checkpoint_interval_ms), "60000", 0, I32MAX, NULL},
    {"log.index.interval.bytes", CFG_INT, F(log_index_interval_bytes), "4096", 0, I32MAX, NULL},
    {"log.index.size.max.bytes", CFG_INT, F(log_index_size_max_bytes), "10485760", 4, I32MAX, NULL},
    {"log.segment.delete.delay.ms", CFG_LONG, F(log_segment_delete_delay_ms), "60000", 0, I64MAX, NULL},
    {"log.preallocate", CFG_BOOL, F(log_preallocate), "false", 0, -1, NULL},
    {"log.message.format.version", CFG_STRING, NOFIELD, "2.4-IV1", 0, -1, NULL},
    {"inter.broker.protocol.version", CFG_STRING, NOFIELD, "2.4-IV1", 0, -1, NULL},
    {"log.message.timestamp.type", CFG_STRING, F(log_message_timestamp_type), "CreateTime", 0, -1,
     check_timestamp_type},
    {"log.message.timestamp.difference.max.ms", CFG_LONG, F(log_message_timestamp_difference_max_ms),
     "9223372036854775807", 0, I64MAX, NULL},
    {"log.message.downconversion.enable", CFG_BOOL, NOFIELD, "true", 0, -1, NULL},
    {"message.max.bytes", CFG_INT, F(message_max_bytes), "1000012", 0, I32MAX, NULL},
    {"compression.type", CFG_STRING, F(compression_type), "producer", 0, -1, check_compression},
    {"min.insync.replicas", CFG_INT, F(min_insync_replicas), "1", 1, I32MAX, NULL},
    {"unclean.leader.election.enable", CFG_BOOL, F(unclean_leader_election_enable), "false", 0, -1, NULL},
    {"num.recovery.threads.per.data.dir", CFG_INT, F(num_recovery_threads_per_data_dir), "1", 1, I32MAX, NULL},
    {"log.cleaner.enable", CFG_BOOL, F(log_cleaner_enable), "true", 0, -1, NULL},
    {"log.cleaner.threads", CFG_INT, F(log_cleaner_threads), "1", 0, I32MAX, NULL},
    {"log.cleaner.backoff.ms", CFG_LONG, F(log_cleaner_backoff_ms), "15000", 0, I64MAX, NULL},
    {"log.cleaner.dedupe.buffer.size", CFG_LONG, F(log_cleaner_dedupe_buffer_size), "134217728", 0, -1, NULL},
    {"log.cleaner.io.buffer.size", CFG_INT, NOFIELD, "524288", 0, I32MAX, NULL},
    {"log.cleaner.io.buffer.load.factor", CFG_DOUBLE, NOFIELD, "0.9", 0, -1, NULL},
    {"log.cleaner.io.max.bytes.per.second", CFG_DOUBLE, NOFIELD, "1.7976931348623157E308", 0, -1, NULL},
    {"log.cleaner.delete.retention.ms", CFG_LONG, F(log_cleaner_delete_retention_ms), "86400000", 0, -1, NULL},
    {"log.cleaner.min.compaction.lag.ms", CFG_LONG, F(log_cleaner_min_compaction_lag_ms), "0", 0, -1, NULL},
    {"log.cleaner.max.compaction.lag.ms", CFG_LONG, NOFIELD, "9223372036854775807", 1, I64MAX, NULL},
    {"log.cleaner.min.cleanable.ratio", CFG_DOUBLE, F(log_cleaner_min_cleanable_ratio), "0.5", 0, -1, NULL},
    /* replication */
    {"replica.lag.time.max.ms", CFG_LONG, F(replica_lag_time_max_ms), "10000", 0, -1, NULL},
    {"replica.fetch.max.bytes", CFG_INT, F(replica_fetch_max_bytes), "1048576", 0, I32MAX, NULL},
    {"replica.fetch.wait.max.ms", CFG_INT, F(replica_fetch_wait_max_ms), "500", 0, -1, NULL},
    {"replica.fetch.min.bytes", CFG_INT, F(replica_fetch_min_bytes), "1", 0, -1, NULL},
    {"replica.fetch.response.max.bytes", CFG_INT, F(replica_fetch_response_max_bytes), "10485760", 0, I32MAX, NULL},
    {"replica.fetch.backoff.ms", CFG_INT, NOFIELD, "1000", 0, I32MAX, NULL},
    {"replica.socket.timeout.ms", CFG_INT, F(replica_socket_timeout_ms), "30000", 0, -1, NULL},
    {"replica.socket.receive.buffer.bytes", CFG_INT, NOFIELD, "65536", 0, -1, NULL},
    {"replica.high.watermark.checkpoint.interval.ms", CFG_LONG,
     F(replica_high_watermark_checkpoint_interval_ms), "5000", 0, -1, NULL},
    {"num.replica.fetchers", CFG_INT, F(num_replica_fetchers), "1", 0, -1, NULL},
    {"num.replica.alter.log.dirs.threads", CFG_INT, NOFIELD, NULL, 0, -1, NULL},
    {"fetch.purgatory.purge.interval.requests", CFG_INT, NOFIELD, "1000", 0, -1, NULL},
    {"producer.purgatory.purge.interval.requests", CFG_INT, NOFIELD, "1000", 0, -1, NULL},
    {"delete.records.purgatory.purge.interval.requests", CFG_INT, NOFIELD, "1", 0, -1, NULL},
    {"controller.socket.timeout.ms", CFG_INT, NOFIELD, "30000", 0, -1, NULL},
    {"controlled.shutdown.enable", CFG_BOOL, F(controlled_shutdown_enable), "true", 0, -1, NULL},
    {"controlled.shutdown.max.retries", CFG_INT, F(controlled_shutdown_max_retries), "3", 0, -1, NULL},
    {"controlled.shutdown.retry.backoff.ms", CFG_LONG, F(controlled_shutdown_retry_backoff_ms), "5000", 0, -1, NULL},
    {"auto.leader.rebalance.enable", CFG_BOOL, F(auto_leader_rebalance_enable), "true", 0, -1, NULL},
    {"leader.imbalance.check.interval.seconds", CFG_LONG, F(leader_imbalance_check_interval_seconds), "300", 1, I64MAX, NULL},
    {"leader.imbalance.per.broker.percentage", CFG_INT, F(leader_imbalance_per_broker_percentage), "10", 0, -1, NULL},
    /* groups and offsets */
    {"offsets.topic.num.partitions", CFG_INT, F(offsets_topic_num_partitions), "50", 1, I32MAX, NULL},
    {"offsets.topic.replication.factor", CFG_INT, F(offsets_topic_replication_factor), "3", 1, 32767, NULL},
    {"offsets.topic.segment.bytes", CFG_INT, F(offsets_topic_segment_bytes), "104857600", 1, I32MAX, NULL},
    {"offsets.topic.compression.codec", CFG_INT, NOFIELD, "0", 0, 4, NULL},
    {"offsets.load.buffer.size", CFG_INT, NOFIELD, "5242880", 1, I32MAX, NULL},
    {"offsets.retention.minutes", CFG_INT, F(offsets_retention_minutes), "10080", 1, I32MAX, NULL},
    {"offsets.retention.check.interval.ms", CFG_LONG, F(offsets_retention_check_interval_ms), "600000", 1, I64MAX, NULL},
    {"offsets.commit.required.acks", CFG_INT, F(offsets_commit_required_acks), "-1", 0, -1, NULL},
    {"offsets.commit.timeout.ms", CFG_INT, F(offsets_commit_timeout_ms), "5000", 1, I32MAX, NULL},
    {"offset.metadata.max.bytes", CFG_INT, F(offset_metadata_max_bytes), "4096", 0, I32MAX, NULL},
    {"group.initial.rebalance.delay.ms", CFG_INT, F(group_initial_rebalance_delay_ms), "3000", 0, I32MAX, NULL},
    {"group.min.session.timeout.ms", CFG_INT, F(group_min_session_timeout_ms), "6000", 0, I32MAX, NULL},
    {"group.max.session.timeout.ms", CFG_INT, F(group_max_session_timeout_ms), "1800000", 0, I32MAX, NULL},
    {"group.max.size", CFG_INT, F(group_max_size), "2147483647", 1, I32MAX, NULL},
    /* transactions */
    {"transaction.state.log.num.partitions", CFG_INT, F(transaction_state_log_num_partitions), "50", 1, I32MAX, NULL},
    {"transaction.state.log.replication.factor", CFG_INT, F(transaction_state_log_replication_factor), "3", 1, 32767, NULL},
    {"transaction.state.log.min.isr", CFG_INT, F(transaction_state_log_min_isr), "2", 1, I32MAX, NULL},
    {"transaction.state.log.segment.bytes", CFG_INT, F(transaction_state_log_segment_bytes), "104857600", 1, I32MAX, NULL},
    {"transaction.state.log.load.buffer.size", CFG_INT, NOFIELD, "5242880", 1, I32MAX, NULL},
    {"transactional.id.expiration.ms", CFG_INT, F(transactional_id_expiration_ms), "604800000", 1, I32MAX, NULL},
    {"transaction.max.timeout.ms", CFG_INT, F(transaction_max_timeout_ms), "900000", 1, I32MAX, NULL},
    {"transaction.abort.timed.out.transaction.cleanup.interval.ms", CFG_INT, NOFIELD, "60000", 1, I32MAX, NULL},
    {"transaction.remove.expired.transaction.cleanup.interval.ms", CFG_INT, NOFIELD, "3600000", 1, I32MAX, NULL},
    /* accepted for compatibility, no effect in Gregor */
    {"metric.reporters", CFG_STRING, NOFIELD, "", 0, -1, NULL},
    {"metrics.num.samples", CFG_INT, NOFIELD, "2", 1, I32MAX, NULL},
    {"metrics.sample.window.ms", CFG_LONG, NOFIELD, "30000", 1, I64MAX, NULL},
    {"metrics.recording.level", CFG_STRING, NOFIELD, "INFO", 0, -1, NULL},
    {"kafka.metrics.reporters", CFG_STRING, NOFIELD, "", 0, -1, NULL},
    {"kafka.metrics.polling.interval.secs", CFG_INT, NOFIELD, "10", 1, I32MAX, NULL},
    {"authorizer.class.name", CFG_STRING, NOFIELD, "", 0, -1, NULL},
    {"create.topic.policy.class.name", CFG_STRING, NOFIELD, NULL, 0, -1, NULL},
    {"alter.config.policy.class.name", CFG_STRING, NOFIELD, NULL, 0, -1, NULL},
};

#undef F

/* ---- small helpers -------------------------------------------------------------------------- */

static void warnf(bcfg_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warnf(bcfg_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = NULL;
    if (vasprintf(&m, fmt, ap) < 0)
        m = xstrdup("(warning lost: out of memory)");
    va_end(ap);
    c->warnings = xrealloc(c->warnings, (c->nwarnings + 1) * sizeof *c->warnings);
    c->warnings[c->nwarnings++] = m;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *bcfg_key_at(size_t i)
{
    return i < sizeof keys / sizeof keys[0] ? keys[i].key : NULL;
}

/* ---- sources ---------------------------------------------------------------------------------- */

enum { L_FILE, L_ENV, L_OVERRIDE, L_N };

typedef struct sources_s {
    props_t layer[L_N];
    props_t envnames;   /* key -> environment variable it came from */
    const char *path;
} sources_t;

/* Variables the docker images use for themselves (after "KAFKA_"), not configuration. */
static const char *const env_skip[] = {
    "HEAP_OPTS", "JMX_OPTS", "JMX_PORT", "JMX_HOSTNAME", "OPTS", "LOG4J_OPTS", "LOG4J_LOGGERS",
    "LOG4J_ROOT_LOGLEVEL", "TOOLS_LOG4J_LOGLEVEL", "VERSION", "HOME", "GC_LOG_OPTS",
    "JVM_PERFORMANCE_OPTS", "DEBUG", "DEBUG_SUSPEND_FLAG", "CREATE_TOPICS", "CREATE_TOPICS_SEPARATOR",
    "CLUSTER_ID", "ENABLE_KRAFT", "RESTART_ATTEMPTS", "RESTART_DELAY", "CLASSPATH", "SERVICE_HOST",
    NULL,
};

int bcfg_env_key(const char *var, char *out, size_t outlen)
{
    if (strncmp(var, "KAFKA_", 6))
        return 0;
    const char *s = var + 6;
    if (!strncmp(s, "CFG_", 4))
        s += 4;
    if (!*s)
        return 0;
    for (size_t i = 0; env_skip[i]; i++)
        if (!strcmp(s, env_skip[i]))
            return 0;
    /* Kubernetes service links for a service named "kafka": KAFKA_SERVICE_PORT[_NAME],
     * KAFKA_PORT_9092_TCP[_PROTO|_PORT|_ADDR]. (KAFKA_PORT itself is checked by value.) */
    if (!strncmp(s, "SERVICE_PORT", 12) || (!strncmp(s, "PORT_", 5) && isdigit((unsigned char)s[5])))
        return 0;
    size_t n = 0;
    while (*s) {
        char ch;
        if (!strncmp(s, "___", 3)) {
            ch = '-';
            s += 3;
        } else if (!strncmp(s, "__", 2)) {
            ch = '_';
            s += 2;
        } else if (*s == '_') {
            ch = '.';
            s++;
        } else {
            ch = (char)tolower((unsigned char)*s++);
        }
        if (n + 1 >= outlen)
            return -1;
        out[n++] = ch;
    }
    out[n] = '\0';
    return 1;
}

static void load_env(sources_t *src, bcfg_t *c, char *const *envp)
{
    /* Plain KAFKA_ first, then KAFKA_CFG_, so the bitnami spelling wins whatever the order. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; envp && envp[i]; i++) {
            const char *eq = strchr(envp[i], '=');
            if (!eq)
                continue;
            char *name = xstrndup(envp[i], (size_t)(eq - envp[i]));
            char key[256];
            bool cfg = !strncmp(name, "KAFKA_CFG_", 10);
            int r = (cfg == (pass == 1)) ? bcfg_env_key(name, key, sizeof key) : 0;
            if (r == 1 && !strcmp(key, "port") && !strncmp(eq + 1, "tcp://", 6)) {
                warnf(c, "environment variable %s=%s looks like a Kubernetes service link, not a port; ignored",
                      name, eq + 1);
                r = 0;
            }
            if (r == 1) {
                props_set(&src->layer[L_ENV], key, eq + 1);
                props_set(&src->envnames, key, name);
            } else if (r < 0) {
                warnf(c, "environment variable %s: name too long; ignored", name);
            }
            free(name);
        }
    }
}

/* Where the entry of layer l came from, for messages: "server.properties line 3" etc. */
static void origin(const sources_t *src, int l, const props_entry_t *e, char *out, size_t outlen)
{
    switch (l) {
    case L_FILE:
        if (e->line)
            snprintf(out, outlen, "%s line %d", src->path ? src->path : "config", e->line);
        else
            snprintf(out, outlen, "%s", src->path ? src->path : "config");
        break;
    case L_ENV: {
        const char *var = props_get(&src->envnames, e->key);
        snprintf(out, outlen, "environment variable %s", var ? var : "?");
        break;
    }
    default:
        snprintf(out, outlen, "--override %s=%s", e->key, e->value);
        break;
    }
}

/* The winning entry for key (override > env > file), marking it used in every layer. */
static props_entry_t *lookup(sources_t *src, const char *key, int *layer)
{
    props_entry_t *win = NULL;
    for (int l = 0; l < L_N; l++) {
        props_entry_t *e = props_find(&src->layer[l], key);
        if (e) {
            e->used = true;
            win = e;
            *layer = l;
        }
    }
    return win;
}

/* ---- binding -------------------------------------------------------------------------------- */

typedef union scratch_u {
    int i;
    int64_t l;
    bool b;
    double d;
    char *s;
} scratch_t;

static int bind_keys(bcfg_t *c, sources_t *src, char *err, size_t errlen)
{
    char why[256], where[512];
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const bcfg_key_t *d = &keys[k];
        scratch_t tmp = {0};
        void *target = d->off == NOFIELD ? (void *)&tmp : (void *)((char *)c + d->off);
        if (d->def) {
            if (cfg_parse_value(d->type, d->def, target, d->min, d->max, why, sizeof why)) {
                seterr(err, errlen, "internal: bad default for %s: %s", d->key, why);
                return -1;
            }
        } else if (d->type == CFG_INT) {
            *(int *)target = BCFG_UNSET_INT;
        } else if (d->type == CFG_LONG) {
            *(int64_t *)target = BCFG_UNSET_LONG;
        }
        int layer = 0;
        props_entry_t *e = lookup(src, d->key, &layer);
        int rc = 0;
        if (e) {
            rc = cfg_parse_value(d->type, e->value, target, d->min, d->max, why, sizeof why);
            if (rc == 0 && d->check)
                rc = d->check(e->value, why, sizeof why);
            if (rc) {
                origin(src, layer, e, where, sizeof where);
                seterr(err, errlen, "invalid value for %s (%s): %s", d->key, where, why);
            }
        }
        if (d->off == NOFIELD && d->type == CFG_STRING)
            free(tmp.s);
        if (rc)
            return -1;
        if (!e && d->def && d->check && d->check(d->def, why, sizeof why)) {
            seterr(err, errlen, "internal: bad default for %s: %s", d->key, why);
            return -1;
        }
        props_set(&c->effective, d->key, e ? e->value : d->def ? d->def : "null");
    }
    return 0;
}

/* The effective value of a key as a number; false when it is null. (Already validated.) */
static bool eff_long(const bcfg_t *c, const char *key, int64_t *v)
{
    const char *s = props_get(&c->effective, key);
    if (!s || !strcmp(s, "null"))
        return false;
    *v = strtoll(s, NULL, 10);
    return true;
}

/* ---- listeners -------------------------------------------------------------------------------- */

static void upcase(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

int bcfg_parse_protocol_map(const char *text, props_t *map, char *err, size_t errlen)
{
    char **items;
    size_t n = csv_split(text, &items);
    int rc = 0;
    char why[256];
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *colon = strchr(items[i], ':');
        if (!colon || colon == items[i] || !colon[1]) {
            seterr(err, errlen, "invalid value for listener.security.protocol.map: '%s' is not NAME:PROTOCOL",
                   items[i]);
            rc = -1;
            break;
        }
        *colon = '\0';
        upcase(items[i]);
        char *proto = colon + 1;
        upcase(proto);
        if (check_protocol(proto, why, sizeof why)) {
            seterr(err, errlen, "invalid value for listener.security.protocol.map: %s: %s", items[i], why);
            rc = -1;
        } else if (props_get(map, items[i])) {
            seterr(err, errlen, "invalid value for listener.security.protocol.map: listener %s is mapped twice",
                   items[i]);
            rc = -1;
        } else {
            props_set(map, items[i], proto);
        }
    }
    strv_free(items, n);
    return rc;
}

void bcfg_listeners_free(bcfg_listener_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].host);
        free(v[i].protocol);
    }
    free(v);
}

static bool host_char_ok(char ch)
{
    return isalnum((unsigned char)ch) || ch == '-' || ch == '%' || ch == '.' || ch == '_' || ch == ':';
}

/* One "NAME://host:port" (Kafka's pattern: ^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)). */
static int parse_endpoint(const char *key, const char *s, const props_t *map, bcfg_listener_t *out,
                          char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *sep = strstr(s, "://");
    const char *colon = strrchr(s, ':');
    if (!sep || sep == s || !colon || colon < sep + 3)
        goto bad;
    const char *h = sep + 3, *he = colon;
    if (*h == '[') {
        if (he == h + 1 || he[-1] != ']')
            goto bad;
        h++;
        he--;
    }
    for (const char *p = h; p < he; p++)
        if (!host_char_ok(*p))
            goto bad;
    const char *ps = colon + 1;
    if (!*ps)
        goto bad;
    for (const char *p = ps; *p; p++)
        if (!isdigit((unsigned char)*p))
            goto bad;
    if (strlen(ps) > 5 || atoi(ps) > 65535) {
        seterr(err, errlen, "invalid value for %s: port of '%s' is not in 0..65535", key, s);
        return -1;
    }
    out->name = xstrndup(s, (size_t)(sep - s));
    upcase(out->name);
    out->host = xstrndup(h, (size_t)(he - h));
    out->port = atoi(ps);
    const char *proto = props_get(map, out->name);
    if (!proto) {
        seterr(err, errlen, "invalid value for %s: No security protocol defined for listener %s "
               "(add it to listener.security.protocol.map)", key, out->name);
        free(out->name);
        free(out->host);
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->protocol = xstrdup(proto);
    return 0;
bad:
    seterr(err, errlen, "invalid value for %s: Unable to parse %s to a broker endpoint "
           "(expected NAME://host:port, e.g. PLAINTEXT://:9092)", key, s);
    return -1;
}

int bcfg_parse_listeners(const char *key, const char *text, const props_t *map, bool distinct_ports,
                         bcfg_listener_t **out, size_t *n, char *err, size_t errlen)
{
    char **items;
    size_t ni = csv_split(text, &items);
    bcfg_listener_t *v = ni ? xcalloc(ni, sizeof *v) : NULL;
    size_t nv = 0;
    int rc = 0;
    if (!ni) {
        seterr(err, errlen, "invalid value for %s: '%s' names no listener", key, text);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < ni; i++) {
        rc = parse_endpoint(key, items[i], map, &v[nv], err, errlen);
        if (rc == 0)
            nv++;
    }
    for (size_t i = 0; rc == 0 && i < nv; i++) {
        for (size_t j = 0; rc == 0 && j < i; j++) {
            if (!strcmp(v[i].name, v[j].name)) {
                seterr(err, errlen, "invalid value for %s: Each listener must have a different name, listeners: %s",
                       key, text);
                rc = -1;
            } else if (distinct_ports && v[i].port && v[i].port == v[j].port) {
                seterr(err, errlen, "invalid value for %s: Each listener must have a different port, listeners: %s",
                       key, text);
                rc = -1;
            }
        }
    }
    strv_free(items, ni);
    if (rc) {
        bcfg_listeners_free(v, nv);
        return -1;
    }
    *out = v;
    *n = nv;
    return 0;
}

const bcfg_listener_t *bcfg_advertised(const bcfg_t *c, const char *name)
{
    for (size_t i = 0; i < c->nadvertised; i++)
        if (!strcasecmp(c->advertised[i].name, name))
            return &c->advertised[i];
    return NULL;
}

/* The canonical name of this host, as Java's InetAddress.getLocalHost().getCanonicalHostName(). */
static char *canonical_hostname(void)
{
    char name[256] = "localhost";
    if (gethostname(name, sizeof name - 1))
        snprintf(name, sizeof name, "localhost");
    name[sizeof name - 1] = '\0';
    struct addrinfo hints = {.ai_flags = AI_CANONNAME, .ai_family = AF_UNSPEC}, *ai = NULL;
    char *out = NULL;
    if (getaddrinfo(name, NULL, &hints, &ai) == 0 && ai && ai->ai_canonname && *ai->ai_canonname)
        out = xstrdup(ai->ai_canonname);
    if (ai)
        freeaddrinfo(ai);
    return out ? out : xstrdup(name);
}

static char *joined_names(const bcfg_listener_t *v, size_t n)
{
    buf_t b = BUF_INIT;
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? "," : "", v[i].name);
    char *s = xstrdup(buf_cstr(&b));
    buf_free(&b);
    return s;
}

static int setup_listeners(bcfg_t *c, const bcfg_src_t *src, char *err, size_t errlen)
{
    props_t map;
    props_init(&map);
    int rc = bcfg_parse_protocol_map(c->protocol_map_raw, &map, err, errlen);
    char *text = NULL;
    if (rc == 0) {
        /* listeners, else the old host.name/port */
        if (c->listeners_raw)
            text = xstrdup(c->listeners_raw);
        else if (asprintf(&text, "PLAINTEXT://%s:%d", c->host_name, c->port) < 0)
            text = NULL;
        rc = bcfg_parse_listeners("listeners", text, &map, true, &c->listeners, &c->nlisteners, err, errlen);
        free(text);
        text = NULL;
    }
    if (rc == 0) {
        /* advertised.listeners, else the old advertised.host.name/port, else listeners */
        if (c->advertised_listeners_raw)
            text = xstrdup(c->advertised_listeners_raw);
        else if (c->advertised_host_name || c->advertised_port != BCFG_UNSET_INT) {
            if (asprintf(&text, "PLAINTEXT://%s:%d", c->advertised_host_name ? c->advertised_host_name : c->host_name,
                         c->advertised_port != BCFG_UNSET_INT ? c->advertised_port : c->port) < 0)
                text = NULL;
        } else
            text = xstrdup(c->listeners_raw ? c->listeners_raw : "");
        if (text && *text)
            rc = bcfg_parse_listeners("advertised.listeners", text, &map, false, &c->advertised, &c->nadvertised,
                                      err, errlen);
        else {
            /* derived from listeners (which may come from host.name/port) */
            c->advertised = xcalloc(c->nlisteners, sizeof *c->advertised);
            for (size_t i = 0; i < c->nlisteners; i++) {
                c->advertised[i].name = xstrdup(c->listeners[i].name);
                c->advertised[i].host = xstrdup(c->listeners[i].host);
                c->advertised[i].port = c->listeners[i].port;
                c->advertised[i].protocol = xstrdup(c->listeners[i].protocol);
            }
            c->nadvertised = c->nlisteners;
        }
        free(text);
    }
    props_free(&map);
    if (rc)
        return -1;

    for (size_t i = 0; i < c->nadvertised; i++) {
        bool found = false;
        for (size_t j = 0; j < c->nlisteners; j++)
            found |= !strcmp(c->advertised[i].name, c->listeners[j].name);
        if (!found) {
            char *a = joined_names(c->advertised, c->nadvertised), *l = joined_names(c->listeners, c->nlisteners);
            seterr(err, errlen, "advertised.listeners listener names must be equal to or a subset of the ones "
                   "defined in listeners. Found %s. The valid options based on the current configuration are %s", a, l);
            free(a);
            free(l);
            return -1;
        }
        if (!strcmp(c->advertised[i].host, "0.0.0.0")) {
            seterr(err, errlen, "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. "
                   "Use a routable IP address.%s",
                   c->advertised_listeners_raw ? "" : " (listeners binds 0.0.0.0; set advertised.listeners)");
            return -1;
        }
    }
    for (size_t i = 0; i < c->nlisteners; i++) {
        if (strcmp(c->listeners[i].protocol, "PLAINTEXT")) {
            seterr(err, errlen, "invalid value for listeners: listener %s uses security protocol %s; "
                   "gregor-broker serves PLAINTEXT listeners only", c->listeners[i].name, c->listeners[i].protocol);
            return -1;
        }
    }

    /* inter.broker.listener.name, else the one named after security.inter.broker.protocol */
    if (c->inter_broker_listener && c->security_inter_broker_protocol) {
        seterr(err, errlen, "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.");
        return -1;
    }
    if (c->inter_broker_listener)
        upcase(c->inter_broker_listener);
    else
        c->inter_broker_listener = xstrdup(c->security_inter_broker_protocol ? c->security_inter_broker_protocol
                                                                              : "PLAINTEXT");
    if (!bcfg_advertised(c, c->inter_broker_listener)) {
        char *a = joined_names(c->advertised, c->nadvertised);
        seterr(err, errlen, "inter.broker.listener.name must be a listener name defined in advertised.listeners. "
               "The valid options based on currently configured listeners are %s", a);
        free(a);
        return -1;
    }

    /* empty advertised hosts: the canonical host name, as Kafka registers them */
    char *canon = NULL;
    for (size_t i = 0; i < c->nadvertised; i++) {
        if (*c->advertised[i].host)
            continue;
        if (!canon)
            canon = src->hostname ? xstrdup(src->hostname) : canonical_hostname();
        free(c->advertised[i].host);
        c->advertised[i].host = xstrdup(canon);
    }
    free(canon);
    return 0;
}

/* ---- zookeeper.connect, log dirs, derived values -------------------------------------------- */

static int setup_zk(bcfg_t *c, char *err, size_t errlen)
{
    if (!c->zookeeper_connect) {
        seterr(err, errlen, "Missing required configuration \"zookeeper.connect\" which has no default value.");
        return -1;
    }
    const char *zc = c->zookeeper_connect;
    const char *slash = strchr(zc, '/');
    c->zk_hosts = slash ? xstrndup(zc, (size_t)(slash - zc)) : xstrdup(zc);
    if (slash && strcmp(slash, "/")) {
        size_t n = strlen(slash);
        if (slash[n - 1] == '/' || strstr(slash, "//")) {
            seterr(err, errlen, "invalid value for zookeeper.connect: chroot '%s' is not a valid path "
                   "(no empty parts, no trailing '/')", slash);
            return -1;
        }
        c->zk_chroot = xstrdup(slash);
    }
    char **hosts;
    size_t n = csv_split(c->zk_hosts, &hosts);
    int rc = n ? 0 : -1;
    if (!n)
        seterr(err, errlen, "invalid value for zookeeper.connect: '%s' names no server (host:port,...)", zc);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *colon = strrchr(hosts[i], ':');
        bool ok = colon != hosts[i];
        if (ok && colon) {
            char *end;
            long port = strtol(colon + 1, &end, 10);
            ok = colon[1] && !*end && port > 0 && port <= 65535;
        }
        if (!ok) {
            seterr(err, errlen, "invalid value for zookeeper.connect: '%s' is not host:port", hosts[i]);
            rc = -1;
        }
    }
    strv_free(hosts, n);
    if (rc == 0 && c->zookeeper_connection_timeout_ms == BCFG_UNSET_INT)
        c->zookeeper_connection_timeout_ms = c->zookeeper_session_timeout_ms;
    return rc;
}

static int setup_logs(bcfg_t *c, char *err, size_t errlen)
{
    c->nlog_dirs = csv_split(c->log_dirs_raw ? c->log_dirs_raw : c->log_dir, &c->log_dirs);
    if (!c->nlog_dirs) {
        seterr(err, errlen, "At least one log directory must be defined via log.dirs or log.dir.");
        return -1;
    }
    int64_t v = 0;
    const int64_t hour = 3600000, minute = 60000;
    /* log.roll.ms > log.roll.hours */
    c->log_roll_ms = eff_long(c, "log.roll.ms", &v) ? v : (eff_long(c, "log.roll.hours", &v), v * hour);
    c->log_roll_jitter_ms = eff_long(c, "log.roll.jitter.ms", &v) ? v
                                                                 : (eff_long(c, "log.roll.jitter.hours", &v), v * hour);
    /* log.retention.ms > log.retention.minutes > log.retention.hours; negative = unlimited (-1) */
    if (eff_long(c, "log.retention.ms", &v))
        c->log_retention_ms = v;
    else if (eff_long(c, "log.retention.minutes", &v))
        c->log_retention_ms = v * minute;
    else {
        eff_long(c, "log.retention.hours", &v);
        c->log_retention_ms = v * hour;
    }
    if (c->log_retention_ms < 0)
        c->log_retention_ms = -1;
    c->log_flush_interval_ms = eff_long(c, "log.flush.interval.ms", &v) ? v : c->log_flush_scheduler_interval_ms;
    c->cleanup_delete = strstr(c->log_cleanup_policy, "delete") != NULL;
    c->cleanup_compact = strstr(c->log_cleanup_policy, "compact") != NULL;

    if (c->log_roll_ms < 1) {
        seterr(err, errlen, "log.roll.ms must be equal or greater than 1");
        return -1;
    }
    if (c->log_roll_jitter_ms < 0) {
        seterr(err, errlen, "log.roll.jitter.ms must be equal or greater than 0");
        return -1;
    }
    if (c->log_retention_ms == 0) {
        seterr(err, errlen, "log.retention.ms must be unlimited (-1) or, equal or greater than 1");
        return -1;
    }
    if (c->log_flush_interval_ms < 0) {
        seterr(err, errlen, "invalid value for log.flush.interval.ms: must not be negative");
        return -1;
    }
    return 0;
}

static int check_values(bcfg_t *c, char *err, size_t errlen)
{
    if (c->broker_id_generation_enable) {
        if (c->broker_id < -1 || c->broker_id > c->reserved_broker_max_id) {
            seterr(err, errlen, "broker.id must be equal or greater than -1 and not greater than "
                   "reserved.broker.max.id (broker.id=%d, reserved.broker.max.id=%d)",
                   c->broker_id, c->reserved_broker_max_id);
            return -1;
        }
    } else if (c->broker_id < 0) {
        seterr(err, errlen, "broker.id must be equal or greater than 0 (broker.id.generation.enable is false)");
        return -1;
    }
    if (c->group_min_session_timeout_ms > c->group_max_session_timeout_ms) {
        seterr(err, errlen, "group.min.session.timeout.ms (%d) must not be larger than group.max.session.timeout.ms (%d)",
               c->group_min_session_timeout_ms, c->group_max_session_timeout_ms);
        return -1;
    }
    if (c->log_cleaner_threads > 0 && c->log_cleaner_dedupe_buffer_size / c->log_cleaner_threads <= 1024 * 1024) {
        seterr(err, errlen, "log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.");
        return -1;
    }
    if (c->replica_fetch_wait_max_ms > c->replica_socket_timeout_ms) {
        seterr(err, errlen, "replica.socket.timeout.ms should always be at least replica.fetch.wait.max.ms "
               "to prevent unnecessary socket timeouts");
        return -1;
    }
    if (c->replica_fetch_wait_max_ms > c->replica_lag_time_max_ms) {
        seterr(err, errlen, "replica.fetch.wait.max.ms should always be less than or equal to replica.lag.time.max.ms "
               "to prevent frequent changes in ISR");
        return -1;
    }
    if (c->offsets_commit_required_acks < -1 || c->offsets_commit_required_acks > c->offsets_topic_replication_factor) {
        seterr(err, errlen, "offsets.commit.required.acks must be greater or equal -1 and less or equal to "
               "offsets.topic.replication.factor");
        return -1;
    }
    return 0;
}

static void warn_unknown(bcfg_t *c, sources_t *src)
{
    char where[512];
    for (int l = 0; l < L_N; l++) {
        for (size_t i = 0; i < src->layer[l].n; i++) {
            props_entry_t *e = &src->layer[l].v[i];
            if (e->used)
                continue;
            origin(src, l, e, where, sizeof where);
            warnf(c, "%s: The configuration '%s' was supplied but isn't a known config; ignored", where, e->key);
        }
    }
}

int bcfg_load(bcfg_t *c, const bcfg_src_t *s, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    props_init(&c->effective);
    sources_t src;
    memset(&src, 0, sizeof src);
    for (int l = 0; l < L_N; l++)
        props_init(&src.layer[l]);
    props_init(&src.envnames);
    src.path = s->path;
    int rc = 0;
    if (s->path)
        rc = props_load_file(&src.layer[L_FILE], s->path, err, errlen);
    else if (s->text)
        props_load_string(&src.layer[L_FILE], s->text);
    if (rc == 0) {
        load_env(&src, c, s->envp);
        if (s->overrides)
            for (size_t i = 0; i < s->overrides->n; i++)
                props_set(&src.layer[L_OVERRIDE], s->overrides->v[i].key, s->overrides->v[i].value);
        rc = bind_keys(c, &src, err, errlen);
    }
    if (rc == 0)
        warn_unknown(c, &src);
    if (rc == 0)
        rc = setup_zk(c, err, errlen);
    if (rc == 0)
        rc = setup_logs(c, err, errlen);
    if (rc == 0)
        rc = check_values(c, err, errlen);
    if (rc == 0)
        rc = setup_listeners(c, s, err, errlen);
    for (int l = 0; l < L_N; l++)
        props_free(&src.layer[l]);
    props_free(&src.envnames);
    if (rc)
        bcfg_free(c);
    return rc;
}

void bcfg_free(bcfg_t *c)
{
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (keys[k].off != NOFIELD && keys[k].type == CFG_STRING)
            free(*(char **)((char *)c + keys[k].off));
    bcfg_listeners_free(c->listeners, c->nlisteners);
    bcfg_listeners_free(c->advertised, c->nadvertised);
    free(c->zk_hosts);
    free(c->zk_chroot);
    strv_free(c->log_dirs, c->nlog_dirs);
    strv_free(c->warnings, c->nwarnings);
    props_free(&c->effective);
    memset(c, 0, sizeof *c);
}

/* ---- command line ----------------------------------------------------------------------------- */

int bcfg_parse_args(int argc, char **argv, const char **path, props_t *overrides, char *err, size_t errlen)
{
    const char *usage = "USAGE: gregor-broker server.properties [--override property=value]*";
    if (argc < 2 || !strncmp(argv[1], "--", 2)) {
        seterr(err, errlen, "%s", usage);
        return -1;
    }
    *path = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *kv;
        if (!strcmp(argv[i], "--override")) {
            if (i + 1 >= argc) {
                seterr(err, errlen, "--override needs property=value\n%s", usage);
                return -1;
            }
            kv = argv[++i];
        } else if (!strncmp(argv[i], "--override=", 11)) {
            kv = argv[i] + 11;
        } else {
            seterr(err, errlen, "Found non argument parameters: %s\n%s", argv[i], usage);
            return -1;
        }
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            seterr(err, errlen, "Invalid command line property '%s': expected --override property=value", kv);
            return -1;
        }
        char *key = xstrndup(kv, (size_t)(eq - kv));
        props_set(overrides, key, eq + 1);
        free(key);
    }
    return 0;
}

/* ---- output ----------------------------------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
    return strcmp((*(const props_entry_t *const *)a)->key, (*(const props_entry_t *const *)b)->key);
}

void bcfg_dump(const bcfg_t *c, buf_t *out)
{
    size_t n = c->effective.n;
    const props_entry_t **v = xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = &c->effective.v[i];
    qsort(v, n, sizeof *v, cmp_entry);
    buf_puts(out, "KafkaConfig values: \n");
    for (size_t i = 0; i < n; i++)
        buf_printf(out, "\t%s = %s\n", v[i]->key, v[i]->value);
    free(v);
}

void bcfg_plog_config(const bcfg_t *c, plog_config_t *o)
{
    plog_config_default(o);
    o->segment_bytes = c->log_segment_bytes;
    o->segment_ms = c->log_roll_ms;
    o->segment_jitter_ms = c->log_roll_jitter_ms;
    o->segment_index_bytes = c->log_index_size_max_bytes;
    o->index_interval_bytes = c->log_index_interval_bytes;
    o->retention_ms = c->log_retention_ms;
    o->retention_bytes = c->log_retention_bytes;
    o->cleanup_delete = c->cleanup_delete;
    o->cleanup_compact = c->cleanup_compact;
    o->delete_retention_ms = c->log_cleaner_delete_retention_ms;
    o->min_compaction_lag_ms = c->log_cleaner_min_compaction_lag_ms;
    o->min_cleanable_ratio = c->log_cleaner_min_cleanable_ratio;
    o->flush_messages = c->log_flush_interval_messages;
    o->flush_ms = c->log_flush_interval_ms;
    o->max_message_bytes = c->message_max_bytes;
}

void bcfg_group_config(const bcfg_t *c, group_config_t *o)
{
    group_config_defaults(o);
    o->num_partitions = c->offsets_topic_num_partitions;
    o->min_session_timeout_ms = c->group_min_session_timeout_ms;
    o->max_session_timeout_ms = c->group_max_session_timeout_ms;
    o->initial_rebalance_delay_ms = c->group_initial_rebalance_delay_ms;
    o->max_group_size = c->group_max_size;
    o->offsets_retention_ms = (int64_t)c->offsets_retention_minutes * 60000;
    o->offsets_retention_check_ms = c->offsets_retention_check_interval_ms;
    o->max_metadata_size = c->offset_metadata_max_bytes;
}

void bcfg_lmgr_config(const bcfg_t *c, lmgr_config_t *o)
{
    lmgr_config_default(o);
    o->dirs = (const char *const *)c->log_dirs;
    o->ndirs = c->nlog_dirs;
    bcfg_plog_config(c, &o->defaults);
    o->retention_check_interval_ms = c->log_retention_check_interval_ms;
    o->recovery_ckpt_interval_ms = c->log_flush_offset_checkpoint_interval_ms;
    o->start_ckpt_interval_ms = c->log_flush_start_offset_checkpoint_interval_ms;
    o->hw_ckpt_interval_ms = c->replica_high_watermark_checkpoint_interval_ms;
    o->cleaner_backoff_ms = c->log_cleaner_backoff_ms;
    o->cleaner_enable = c->log_cleaner_enable;
}
