/* ktool_rk.c — librdkafka helpers for the tools (see ktool_rk.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "broker/cli/ktool_rk.h"
#include "common/alloc.h"
#include "common/props.h"

/* Java client properties librdkafka has no use for (the tools' serializers and the like):
 * dropped silently. */
static const char *const java_only[] = {
    "key.serializer", "value.serializer", "key.deserializer", "value.deserializer",
    "max.poll.records", "buffer.memory", "max.block.ms", "interceptor.classes",
    "metric.reporters", "exclude.internal.topics", "partition.assignment.strategy",
    "retry.backoff.ms", "reconnect.backoff.max.ms", "default.api.timeout.ms", NULL,
};

/* The bootstrap list of the last client made, for progress messages. */
static char g_bootstrap[512];

static void rk_logger(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char ts[64];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    const char *lvl = level <= 3 ? "ERROR" : level <= 4 ? "WARN" : "INFO";
    /* a broker that cannot be reached: the Java clients' words, which say what to check */
    if (!strncmp(buf, "[thrd:", 6) && strstr(buf, "]: "))
        buf = strstr(buf, "]: ") + 3;
    if (strstr(buf, "brokers are down"))
        return;   /* follows the per-broker warning; the Java clients have no such line */
    const char *refused = strstr(buf, "Connection refused");
    const char *sep = strstr(buf, ": ");
    if (refused && sep) {
        char node[256];
        size_t n = (size_t)(sep - buf) < sizeof node - 1 ? (size_t)(sep - buf) : sizeof node - 1;
        memcpy(node, buf, n);
        node[n] = 0;
        char *slash = strchr(node, '/');
        if (slash)
            *slash = 0;
        fprintf(stderr, "[%s,%03d] WARN Connection to node -1 (%s) could not be established. Broker may not be "
                        "available. (org.apache.kafka.clients.NetworkClient)\n", ts, (int)(tv.tv_usec / 1000), node);
        return;
    }
    fprintf(stderr, "[%s,%03d] %s [%s] %s (librdkafka)\n", ts, (int)(tv.tv_usec / 1000), lvl, fac, buf);
}

/* Errors are logged by rk_logger already (transport failures as the Java clients word them);
 * only fatal ones need saying again. */
static void rk_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        fprintf(stderr, "ERROR %s: %s\n", ktool_rk_exception((rd_kafka_resp_err_t)err), reason);
}

int ktool_rk_set(void *conf, const char *k, const char *v)
{
    char err[512];
    for (size_t i = 0; java_only[i]; i++)
        if (!strcmp(k, java_only[i]))
            return 0;
    rd_kafka_conf_res_t r = rd_kafka_conf_set((rd_kafka_conf_t *)conf, k, v, err, sizeof err);
    if (r == RD_KAFKA_CONF_UNKNOWN) {
        fprintf(stderr, "WARN The configuration '%s' was supplied but isn't a known config.\n", k);
        return 0;
    }
    if (r != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "Exception in thread \"main\" org.apache.kafka.common.config.ConfigException: "
                        "Invalid value %s for configuration %s: %s\n", v, k, err);
        return -1;
    }
    return 0;
}

void *ktool_rk_conf(const char *bootstrap, const char *file, char **kvs, size_t nkvs)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, rk_logger);
    rd_kafka_conf_set_error_cb(conf, rk_error_cb);
    char err[512];
    /* quieter and Java-like: no ApiVersion fallback noise, errors once */
    rd_kafka_conf_set(conf, "log.connection.close", "false", err, sizeof err);
    if (file) {
        props_t p;
        props_init(&p);
        if (props_load_file(&p, file, err, sizeof err) < 0) {
            fprintf(stderr, "Exception in thread \"main\" java.nio.file.NoSuchFileException: %s (%s)\n", file, err);
            props_free(&p);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        for (size_t i = 0; i < p.n; i++) {
            if (ktool_rk_set(conf, p.v[i].key, p.v[i].value) < 0) {
                props_free(&p);
                rd_kafka_conf_destroy(conf);
                return NULL;
            }
        }
        props_free(&p);
    }
    for (size_t i = 0; i < nkvs; i++) {
        char *k, *v;
        if (ktool_split_kv(kvs[i], &k, &v) < 0) {
            fprintf(stderr, "Exception in thread \"main\" kafka.common.KafkaException: Invalid parser arguments: %s\n",
                    kvs[i]);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        int rc = ktool_rk_set(conf, k, v);
        free(k);
        free(v);
        if (rc < 0) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    if (bootstrap)
        snprintf(g_bootstrap, sizeof g_bootstrap, "%s", bootstrap);
    if (bootstrap && ktool_rk_set(conf, "bootstrap.servers", bootstrap) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

rd_kafka_t *ktool_rk_new(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "Exception in thread \"main\" org.apache.kafka.common.KafkaException: "
                        "Failed to construct kafka client: %s\n", err);
    }
    return rk;
}

rd_kafka_t *ktool_rk_admin(const char *bootstrap, const char *command_config)
{
    rd_kafka_conf_t *conf = ktool_rk_conf(bootstrap, command_config, NULL, 0);
    if (!conf)
        return NULL;
    return ktool_rk_new(RD_KAFKA_PRODUCER, conf);
}

rd_kafka_AdminOptions_t *ktool_rk_admin_opts(rd_kafka_t *rk, rd_kafka_admin_op_t op)
{
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(o, KTOOL_RK_TIMEOUT_MS, err, sizeof err);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
        op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS)
        rd_kafka_AdminOptions_set_operation_timeout(o, KTOOL_RK_TIMEOUT_MS, err, sizeof err);
    return o;
}

/* After this long without an answer a tool says what it is waiting for. */
#define KTOOL_RK_PROGRESS_MS 3000

static void say_waiting(int remaining_ms)
{
    fprintf(stderr, "Waiting for the broker%s%s to answer (up to %d s more)...\n", g_bootstrap[0] ? " at " : "s",
            g_bootstrap, (remaining_ms + 999) / 1000);
}

rd_kafka_event_t *ktool_rk_wait(rd_kafka_queue_t *q, int timeout_ms)
{
    int total = timeout_ms + 5000;
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KTOOL_RK_PROGRESS_MS);
    if (ev || total <= KTOOL_RK_PROGRESS_MS)
        return ev;
    say_waiting(total - KTOOL_RK_PROGRESS_MS);
    return rd_kafka_queue_poll(q, total - KTOOL_RK_PROGRESS_MS);
}

rd_kafka_resp_err_t ktool_rk_metadata(rd_kafka_t *rk, int all, rd_kafka_topic_t *rkt,
                                      const struct rd_kafka_metadata **md, int timeout_ms)
{
    int first = timeout_ms > KTOOL_RK_PROGRESS_MS ? KTOOL_RK_PROGRESS_MS : timeout_ms;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, all, rkt, md, first);
    if (e != RD_KAFKA_RESP_ERR__TIMED_OUT && e != RD_KAFKA_RESP_ERR__TRANSPORT)
        return e;
    if (timeout_ms <= first)
        return e;
    say_waiting(timeout_ms - first);
    return rd_kafka_metadata(rk, all, rkt, md, timeout_ms - first);
}

const char *ktool_rk_exception(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: return "org.apache.kafka.common.errors.TopicExistsException";
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        return "org.apache.kafka.common.errors.UnknownTopicOrPartitionException";
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS: return "org.apache.kafka.common.errors.InvalidPartitionsException";
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
        return "org.apache.kafka.common.errors.InvalidReplicationFactorException";
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG: return "org.apache.kafka.common.errors.InvalidConfigurationException";
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION: return "org.apache.kafka.common.errors.InvalidTopicException";
    case RD_KAFKA_RESP_ERR_TOPIC_DELETION_DISABLED:
        return "org.apache.kafka.common.errors.TopicDeletionDisabledException";
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT: return "org.apache.kafka.common.errors.TimeoutException";
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND: return "org.apache.kafka.common.errors.GroupIdNotFoundException";
    case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP: return "org.apache.kafka.common.errors.GroupNotEmptyException";
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
        return "org.apache.kafka.common.errors.CoordinatorNotAvailableException";
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER: return "org.apache.kafka.common.errors.NotControllerException";
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION: return "org.apache.kafka.common.errors.PolicyViolationException";
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST: return "org.apache.kafka.common.errors.InvalidRequestException";
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
        return "org.apache.kafka.common.errors.UnsupportedVersionException";
    default: return "org.apache.kafka.common.KafkaException";
    }
}

void ktool_rk_destroy(rd_kafka_t *rk)
{
    if (rk)
        rd_kafka_destroy(rk);
}

void ktool_rk_default_client_id(rd_kafka_conf_t *conf, const char *id)
{
    char cur[256];
    size_t n = sizeof cur;
    if (rd_kafka_conf_get(conf, "client.id", cur, &n) == RD_KAFKA_CONF_OK && strcmp(cur, "rdkafka"))
        return;
    char err[256];
    rd_kafka_conf_set(conf, "client.id", id, err, sizeof err);
}
