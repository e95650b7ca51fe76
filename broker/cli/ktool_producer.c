/* ktool_producer.c — `gregor console-producer` = kafka-console-producer.sh (Kafka 2.4's
 * ConsoleProducer with its LineMessageReader): reads lines from stdin and sends each as one
 * record through librdkafka. --property parse.key / key.separator / ignore.error as Kafka;
 * delivery errors are logged as Kafka's ErrorLoggingCallback does and do not stop the tool. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/cli/ktool.h"
#include "broker/cli/ktool_rk.h"
#include "common/alloc.h"

static const ktool_optdef_t prod_opts[] = {
    {"batch-size", 1, "Integer: size", "Number of messages to send in a single batch if they are not being "
                                       "sent synchronously. (default: 200)"},
    {"bootstrap-server", 1, "String: server to connect to", "The server(s) to connect to (same as --broker-list)."},
    {"broker-list", 1, "String: broker-list", "REQUIRED: The broker list string in the form HOST1:PORT1,HOST2:PORT2."},
    {"compression-codec", 2, "String: compression-codec", "The compression codec: either 'none', 'gzip', "
                                                          "'snappy', 'lz4', or 'zstd'.If specified without value, "
                                                          "then it defaults to 'gzip'"},
    {"help", 0, NULL, "Print usage information."},
    {"line-reader", 1, "String: reader_class", "Accepted for compatibility; lines are always read by "
                                               "kafka.tools.ConsoleProducer$LineMessageReader's rules."},
    {"max-block-ms", 1, "Long: max block on send", "The max time that the producer will block for during a send "
                                                   "request (default: 60000)"},
    {"max-memory-bytes", 1, "Long: total memory in bytes", "The total memory used by the producer to buffer "
                                                           "records waiting to be sent to the server. (default: "
                                                           "33554432)"},
    {"max-partition-memory-bytes", 1, "Long: memory in bytes per partition", "The buffer size allocated for a "
                                                                             "partition. (default: 16384)"},
    {"message-send-max-retries", 1, "Integer", "The number of retries before the producer gives up. (default: 3)"},
    {"metadata-expiry-ms", 1, "Long: metadata expiration interval", "The period of time in milliseconds after "
                                                                     "which we force a refresh of metadata. "
                                                                     "(default: 300000)"},
    {"producer-property", 1, "String: producer_prop", "A mechanism to pass user-defined properties in the form "
                                                      "key=value to the producer."},
    {"producer.config", 1, "String: config file", "Producer config properties file. Note that "
                                                  "[producer-property] takes precedence over this config."},
    {"property", 1, "String: prop", "A mechanism to pass user-defined properties in the form key=value to the "
                                    "message reader: parse.key (default false), key.separator (default \\t), "
                                    "ignore.error (default false)."},
    {"request-required-acks", 1, "String: request required acks", "The required acks of the producer requests "
                                                                  "(default: 1)"},
    {"request-timeout-ms", 1, "Integer: request timeout ms", "The ack timeout of the producer requests. Value "
                                                             "must be non-negative and non-zero (default: 1500)"},
    {"retry-backoff-ms", 1, "Integer", "Before each retry, the producer refreshes the metadata of relevant "
                                       "topics. (default: 100)"},
    {"socket-buffer-size", 1, "Integer: size", "The size of the tcp RECV size. (default: 102400)"},
    {"sync", 0, NULL, "If set message send requests to the brokers are synchronously, one at a time as they arrive."},
    {"timeout", 1, "Integer: timeout_ms", "If set and the producer is running in asynchronous mode, this gives "
                                          "the maximum amount of time a message will queue awaiting sufficient "
                                          "batch size. The value is given in ms. (default: 1000)"},
    {"topic", 1, "String: topic", "REQUIRED: The topic id to produce messages to."},
};

#define PROD_HEADER "This tool helps to read data from standard input and publish it to Kafka."

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct prod_s {
    const char *topic;
    long failed;
    long delivered;
} prod_t;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    prod_t *p = opaque;
    if (!m->err) {
        p->delivered++;
        return;
    }
    p->failed++;
    buf_t key = BUF_INIT;
    if (m->key)
        buf_printf(&key, "%zu bytes", m->key_len);
    else
        buf_puts(&key, "null");
    fprintf(stderr, "ERROR Error when sending message to topic %s with key: %s, value: %zu bytes with error: "
                    "(org.apache.kafka.clients.producer.internals.ErrorLoggingCallback)\n%s: %s\n",
            p->topic, buf_cstr(&key), m->len, ktool_rk_exception(m->err), rd_kafka_err2str(m->err));
    buf_free(&key);
}

/* Unescapes the \t, \n, \\ a shell user types in key.separator (Kafka takes the string as is;
 * a literal tab is hard to pass, so "\t" is accepted too). */
static char *unescape(const char *s)
{
    char *r = xmalloc(strlen(s) + 1), *o = r;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
    return r;
}

static int produce_one(rd_kafka_t *rk, const char *topic, const char *key, size_t klen, const char *val,
                       size_t vlen)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                  RD_KAFKA_V_KEY((void *)key, key ? klen : 0),
                                                  RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 100);
            continue;
        }
        if (e) {
            fprintf(stderr, "ERROR Error when sending message to topic %s: %s: %s\n", topic, ktool_rk_exception(e),
                    rd_kafka_err2str(e));
            return -1;
        }
        return 0;
    }
}

int ktool_producer_main(int argc, char **argv)
{
    ktool_opts_t o;
    if (ktool_opts_parse(&o, prod_opts, sizeof prod_opts / sizeof prod_opts[0], PROD_HEADER, argc, argv) < 0) {
        ktool_opts_free(&o);
        return 1;
    }
    int rc = 0;
    char *sep = NULL;
    rd_kafka_t *rk = NULL;
    prod_t st = {0};
    if (ktool_has(&o, "help")) {
        ktool_print_help(&o, stdout);
        goto out;
    }
    if (argc <= 1) {
        rc = ktool_usage_die(&o, "Read data from standard input and publish it to Kafka.");
        goto out;
    }
    if ((rc = ktool_require(&o, (const char *[]){"topic", NULL})))
        goto out;
    const char *bootstrap = ktool_val(&o, "bootstrap-server");
    if (!bootstrap)
        bootstrap = ktool_val(&o, "broker-list");
    if (!bootstrap) {
        rc = ktool_usage_die(&o, "Missing required argument \"[broker-list]\"");
        goto out;
    }
    st.topic = ktool_val(&o, "topic");
    /* message reader properties */
    bool parse_key = false, ignore_error = false;
    sep = xstrdup("\t");
    size_t np;
    char **props = ktool_vals(&o, "property", &np);
    for (size_t i = 0; i < np; i++) {
        char *k, *v;
        if (ktool_split_kv(props[i], &k, &v) < 0) {
            fprintf(stderr, "Exception in thread \"main\" kafka.common.KafkaException: Invalid parser arguments: "
                            "%s\n", props[i]);
            rc = 1;
            goto out;
        }
        if (!strcmp(k, "parse.key"))
            parse_key = !strcasecmp(v, "true");
        else if (!strcmp(k, "key.separator")) {
            free(sep);
            sep = unescape(v);
        } else if (!strcmp(k, "ignore.error"))
            ignore_error = !strcasecmp(v, "true");
        free(k);
        free(v);
    }
    size_t nkv;
    char **kvs = ktool_vals(&o, "producer-property", &nkv);
    rd_kafka_conf_t *conf = ktool_rk_conf(bootstrap, ktool_val(&o, "producer.config"), NULL, 0);
    if (!conf) {
        rc = 1;
        goto out;
    }
    /* ConsoleProducer's own settings, then --producer-property (which wins) */
    const char *codec = ktool_has(&o, "compression-codec") ? ktool_val(&o, "compression-codec") : NULL;
    if (ktool_has(&o, "compression-codec") && !codec)
        codec = "gzip";
    const char *acks = ktool_val(&o, "request-required-acks");
    const char *timeout = ktool_val(&o, "timeout");
    const char *rto = ktool_val(&o, "request-timeout-ms");
    const char *retries = ktool_val(&o, "message-send-max-retries");
    const char *backoff = ktool_val(&o, "retry-backoff-ms");
    const char *batch = ktool_val(&o, "batch-size");
    const char *mexp = ktool_val(&o, "metadata-expiry-ms");
    struct {
        const char *k, *v;
    } own[] = {
        {"compression.codec", codec ? codec : "none"},
        {"request.required.acks", acks ? acks : "1"},
        {"linger.ms", timeout ? timeout : "1000"},
        {"request.timeout.ms", rto ? rto : "1500"},
        {"message.send.max.retries", retries ? retries : "3"},
        {"retry.backoff.ms", backoff ? backoff : "100"},
        {"batch.num.messages", batch ? batch : "200"},
        {"topic.metadata.refresh.interval.ms", mexp ? mexp : "300000"},
        {"partitioner", "murmur2_random"},
        {"message.timeout.ms", "120000"},   /* the Java producer's delivery.timeout.ms */   /* the Java producer's partitioner: same key, same partition */
    };
    if (ktool_has(&o, "sync"))
        own[2].v = "0";
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        if (ktool_rk_set(conf, own[i].k, own[i].v) < 0) {
            rd_kafka_conf_destroy(conf);
            rc = 1;
            goto out;
        }
    }
    for (size_t i = 0; i < nkv; i++) {
        char *k, *v;
        if (ktool_split_kv(kvs[i], &k, &v) < 0) {
            fprintf(stderr, "Exception in thread \"main\" kafka.common.KafkaException: Invalid parser arguments: %s\n",
                    kvs[i]);
            rd_kafka_conf_destroy(conf);
            rc = 1;
            goto out;
        }
        int e = ktool_rk_set(conf, k, v);
        free(k);
        free(v);
        if (e < 0) {
            rd_kafka_conf_destroy(conf);
            rc = 1;
            goto out;
        }
    }
    ktool_rk_default_client_id(conf, "console-producer");
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, &st);
    rk = ktool_rk_new(RD_KAFKA_PRODUCER, conf);
    if (!rk) {
        rc = 1;
        goto out;
    }
    /* no SA_RESTART: Ctrl-C must interrupt a read from the terminal */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bool tty = isatty(0);
    bool sync = ktool_has(&o, "sync");
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    for (;;) {
        if (tty) {
            fputc('>', stdout);
            fflush(stdout);
        }
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0 || g_stop)
            break;
        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = 0;
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = 0;
        const char *key = NULL, *val = line;
        size_t klen = 0, vlen = (size_t)n;
        if (parse_key) {
            char *at = *sep ? strstr(line, sep) : NULL;
            if (!at) {
                if (!ignore_error) {
                    fprintf(stderr, "Exception in thread \"main\" org.apache.kafka.common.KafkaException: "
                                    "No key found on line %ld: %s\n", lineno, line);
                    rc = 1;
                    break;
                }
            } else {
                key = line;
                klen = (size_t)(at - line);
                val = at + strlen(sep);
                vlen = (size_t)n - klen - strlen(sep);
            }
        }
        if (produce_one(rk, st.topic, key, klen, val, vlen) < 0) {
            rc = 1;
            break;
        }
        if (sync) {
            while (rd_kafka_outq_len(rk) > 0 && !g_stop)
                rd_kafka_poll(rk, 50);
        } else {
            rd_kafka_poll(rk, 0);
        }
    }
    free(line);
    /* producer.close(): wait for what is in flight */
    long waited = 0;
    while (rd_kafka_outq_len(rk) > 0 && !g_stop) {
        rd_kafka_flush(rk, 1000);
        waited += 1000;
        if (waited == 5000)
            fprintf(stderr, "Waiting for %d record(s) still in flight to %s...\n", rd_kafka_outq_len(rk), bootstrap);
        if (waited >= 120000)
            break;
    }
out:
    if (rk)
        rd_kafka_destroy(rk);
    free(sep);
    fflush(stdout);
    ktool_opts_free(&o);
    return rc;
}
