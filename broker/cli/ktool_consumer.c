/* ktool_consumer.c — `gregor console-consumer` = kafka-console-consumer.sh (Kafka 2.4's
 * ConsoleConsumer with the DefaultMessageFormatter) on librdkafka: subscribe (with a group,
 * given or "console-consumer-NNNNN") or assign one --partition at --offset; prints values (and
 * timestamps / partitions / keys as --property asks); "Processed a total of N messages" on
 * stderr at exit. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "broker/cli/ktool.h"
#include "broker/cli/ktool_rk.h"
#include "common/alloc.h"

static const ktool_optdef_t cons_opts[] = {
    {"bootstrap-server", 1, "String: server to connect to", "REQUIRED: The server(s) to connect to."},
    {"consumer-property", 1, "String: consumer_prop", "A mechanism to pass user-defined properties in the form "
                                                      "key=value to the consumer."},
    {"consumer.config", 1, "String: config file", "Consumer config properties file. Note that "
                                                  "[consumer-property] takes precedence over this config."},
    {"enable-systest-events", 0, NULL, "Log lifecycle events of the consumer in addition to logging consumed "
                                       "messages. (This is specific for system tests.)"},
    {"formatter", 1, "String: class", "The name of a class to use for formatting kafka messages for display. "
                                      "(default: kafka.tools.DefaultMessageFormatter; the only one supported)"},
    {"from-beginning", 0, NULL, "If the consumer does not already have an established offset to consume from, "
                                "start with the earliest message present in the log rather than the latest message."},
    {"group", 1, "String: consumer group id", "The consumer group id of the consumer."},
    {"help", 0, NULL, "Print usage information."},
    {"isolation-level", 1, "String", "Set to read_committed in order to filter out transactional messages which "
                                     "are not committed. Set to read_uncommitted to read all messages. (default: "
                                     "read_uncommitted)"},
    {"key-deserializer", 1, "String: deserializer for key", "Accepted; keys are printed as UTF-8 text."},
    {"max-messages", 1, "Integer: num_messages", "The maximum number of messages to consume before exiting. If "
                                                 "not set, consumption is continual."},
    {"offset", 1, "String: consume offset", "The offset id to consume from (a non-negative number), or "
                                            "'earliest' which means from beginning, or 'latest' which means from "
                                            "end (default: latest)"},
    {"partition", 1, "Integer: partition", "The partition to consume from. Consumption starts from the end of the "
                                           "partition unless '--offset' is specified."},
    {"property", 1, "String: prop", "The properties to initialize the message formatter. Default properties "
                                    "include: print.timestamp=true|false print.key=true|false "
                                    "print.partition=true|false print.offset=true|false print.value=true|false "
                                    "key.separator=<key.separator> line.separator=<line.separator>"},
    {"skip-message-on-error", 0, NULL, "If there is an error when processing a message, skip it instead of halt."},
    {"timeout-ms", 1, "Integer: timeout_ms", "If specified, exit if no message is available for consumption for "
                                             "the specified interval."},
    {"topic", 1, "String: topic", "The topic id to consume on."},
    {"value-deserializer", 1, "String: deserializer for values", "Accepted; values are printed as UTF-8 text."},
    {"whitelist", 1, "String: whitelist", "Regular expression specifying whitelist of topics to include for "
                                          "consumption."},
};

#define CONS_HEADER "This tool helps to read data from Kafka topics and outputs it to standard output."

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static char *unescape(const char *s)
{
    char *r = xmalloc(strlen(s) + 1), *o = r;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
    return r;
}

typedef struct fmt_s {
    bool ts, key, value, partition, offset;
    char *ksep, *lsep;
} fmt_t;

static void print_record(const fmt_t *f, const rd_kafka_message_t *m)
{
    if (f->ts) {
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        if (tt == RD_KAFKA_TIMESTAMP_CREATE_TIME)
            printf("CreateTime:%lld", (long long)ts);
        else if (tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME)
            printf("LogAppendTime:%lld", (long long)ts);
        else
            printf("NO_TIMESTAMP");
        fputs(f->ksep, stdout);
    }
    if (f->partition) {
        printf("Partition:%d", m->partition);
        fputs(f->ksep, stdout);
    }
    if (f->offset) {
        printf("Offset:%lld", (long long)m->offset);
        fputs(f->ksep, stdout);
    }
    if (f->key) {
        if (m->key)
            fwrite(m->key, 1, m->key_len, stdout);
        else
            fputs("null", stdout);
        fputs(f->ksep, stdout);
    }
    if (f->value) {
        if (m->payload)
            fwrite(m->payload, 1, m->len, stdout);
        else
            fputs("null", stdout);
        fputs(f->lsep, stdout);
    }
    fflush(stdout);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ktool_consumer_main(int argc, char **argv)
{
    ktool_opts_t o;
    if (ktool_opts_parse(&o, cons_opts, sizeof cons_opts / sizeof cons_opts[0], CONS_HEADER, argc, argv) < 0) {
        ktool_opts_free(&o);
        return 1;
    }
    int rc = 0;
    rd_kafka_t *rk = NULL;
    fmt_t f = {.value = true};
    f.ksep = xstrdup("\t");
    f.lsep = xstrdup("\n");
    long count = 0;
    bool counting = false;
    if (ktool_has(&o, "help")) {
        ktool_print_help(&o, stdout);
        goto out;
    }
    if (argc <= 1) {
        rc = ktool_usage_die(&o, "This tool helps to read data from Kafka topics and outputs it to standard output.");
        goto out;
    }
    if ((rc = ktool_require(&o, (const char *[]){"bootstrap-server", NULL})))
        goto out;
    if (ktool_has(&o, "topic") + ktool_has(&o, "whitelist") != 1) {
        rc = ktool_usage_die(&o, "Exactly one of whitelist/topic is required.");
        goto out;
    }
    if (ktool_has(&o, "partition") && !ktool_has(&o, "topic")) {
        rc = ktool_usage_die(&o, "The topic is required when partition is specified.");
        goto out;
    }
    if (ktool_has(&o, "from-beginning") && ktool_has(&o, "offset")) {
        rc = ktool_usage_die(&o, "Options from-beginning and offset cannot be specified together.");
        goto out;
    }
    if (ktool_has(&o, "offset") && !ktool_has(&o, "partition")) {
        rc = ktool_usage_die(&o, "The partition is required when offset is specified.");
        goto out;
    }
    const char *fmtc = ktool_val(&o, "formatter");
    if (fmtc && strcmp(fmtc, "kafka.tools.DefaultMessageFormatter")) {
        rc = ktool_usage_die(&o, "Only kafka.tools.DefaultMessageFormatter is supported (got %s)", fmtc);
        goto out;
    }
    int32_t partition = -1, max_messages = -1, timeout_ms = -1;
    if ((ktool_has(&o, "partition") && ktool_int_arg(&o, "partition", &partition) < 0) ||
        (ktool_has(&o, "max-messages") && ktool_int_arg(&o, "max-messages", &max_messages) < 0) ||
        (ktool_has(&o, "timeout-ms") && ktool_int_arg(&o, "timeout-ms", &timeout_ms) < 0)) {
        rc = 1;
        goto out;
    }
    int64_t offset = RD_KAFKA_OFFSET_END;
    const char *offs = ktool_val(&o, "offset");
    if (offs) {
        int64_t v;
        if (!strcasecmp(offs, "earliest"))
            offset = RD_KAFKA_OFFSET_BEGINNING;
        else if (!strcasecmp(offs, "latest"))
            offset = RD_KAFKA_OFFSET_END;
        else if (ktool_long_arg(offs, &v) == 0 && v >= 0)
            offset = v;
        else {
            rc = ktool_usage_die(&o, "The provided offset value '%s' is incorrect. Valid values are 'earliest', "
                                     "'latest', or a non-negative long.", offs);
            goto out;
        }
    }
    /* formatter properties */
    size_t np;
    char **props = ktool_vals(&o, "property", &np);
    for (size_t i = 0; i < np; i++) {
        char *k, *v;
        if (ktool_split_kv(props[i], &k, &v) < 0) {
            fprintf(stderr, "Exception in thread \"main\" kafka.common.KafkaException: Invalid formatter "
                            "arguments: %s\n", props[i]);
            rc = 1;
            goto out;
        }
        bool t = !strcasecmp(v, "true");
        if (!strcmp(k, "print.timestamp"))
            f.ts = t;
        else if (!strcmp(k, "print.key"))
            f.key = t;
        else if (!strcmp(k, "print.value"))
            f.value = t;
        else if (!strcmp(k, "print.partition"))
            f.partition = t;
        else if (!strcmp(k, "print.offset"))
            f.offset = t;
        else if (!strcmp(k, "key.separator")) {
            free(f.ksep);
            f.ksep = unescape(v);
        } else if (!strcmp(k, "line.separator")) {
            free(f.lsep);
            f.lsep = unescape(v);
        }
        free(k);
        free(v);
    }
    rd_kafka_conf_t *conf = ktool_rk_conf(ktool_val(&o, "bootstrap-server"), ktool_val(&o, "consumer.config"),
                                          NULL, 0);
    if (!conf) {
        rc = 1;
        goto out;
    }
    char gen[64];
    const char *group = ktool_val(&o, "group");
    bool generated = false;
    if (!group) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, 0) != sizeof r)
            r = (uint32_t)time(NULL);
        snprintf(gen, sizeof gen, "console-consumer-%u", r % 100000);
        group = gen;
        generated = true;
    }
    const char *iso = ktool_val(&o, "isolation-level");
    if (ktool_rk_set(conf, "group.id", group) < 0 ||
        ktool_rk_set(conf, "auto.offset.reset", ktool_has(&o, "from-beginning") ? "earliest" : "latest") < 0 ||
        (generated && ktool_rk_set(conf, "enable.auto.commit", "false") < 0) ||
        (iso && ktool_rk_set(conf, "isolation.level", iso) < 0) ||
        /* the Java consumer's defaults (librdkafka's 45 s session is above older brokers' maximum) */
        ktool_rk_set(conf, "session.timeout.ms", "10000") < 0 ||
        ktool_rk_set(conf, "allow.auto.create.topics", "true") < 0 ||
        ktool_rk_set(conf, "heartbeat.interval.ms", "3000") < 0 ||
        ktool_rk_set(conf, "enable.partition.eof", "false") < 0) {
        rd_kafka_conf_destroy(conf);
        rc = 1;
        goto out;
    }
    size_t nkv;
    char **kvs = ktool_vals(&o, "consumer-property", &nkv);
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
    char cid[300];
    snprintf(cid, sizeof cid, "consumer-%s-1", group);
    ktool_rk_default_client_id(conf, cid);
    char acv[16] = "true";
    size_t acn = sizeof acv;
    rd_kafka_conf_get(conf, "allow.auto.create.topics", acv, &acn);
    bool auto_create = !strcmp(acv, "true");
    rk = ktool_rk_new(RD_KAFKA_CONSUMER, conf);
    if (!rk) {
        rc = 1;
        goto out;
    }
    rd_kafka_poll_set_consumer(rk);
    if (ktool_has(&o, "topic") && auto_create) {
        /* The Java consumer's Metadata lets the broker auto-create the topic; librdkafka's
         * group join does not (whatever allow.auto.create.topics says), so ask once here. */
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, ktool_val(&o, "topic"), NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_metadata_destroy(md);
        if (rkt)
            rd_kafka_topic_destroy(rkt);
    }
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t e;
    if (partition >= 0) {
        rd_kafka_topic_partition_list_add(tl, ktool_val(&o, "topic"), partition)->offset = offset;
        e = rd_kafka_assign(rk, tl);
    } else {
        if (ktool_has(&o, "topic")) {
            rd_kafka_topic_partition_list_add(tl, ktool_val(&o, "topic"), RD_KAFKA_PARTITION_UA);
        } else {
            char re[1024];
            snprintf(re, sizeof re, "^%s", ktool_val(&o, "whitelist"));
            rd_kafka_topic_partition_list_add(tl, re, RD_KAFKA_PARTITION_UA);
        }
        e = rd_kafka_subscribe(rk, tl);
    }
    rd_kafka_topic_partition_list_destroy(tl);
    if (e) {
        fprintf(stderr, "ERROR Unknown error when running consumer: (kafka.tools.ConsoleConsumer$)\n%s: %s\n",
                ktool_rk_exception(e), rd_kafka_err2str(e));
        rc = 1;
        goto out;
    }
    counting = true;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int64_t last = now_ms();
    rd_kafka_resp_err_t last_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    while (!g_stop && (max_messages < 0 || count < max_messages)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (timeout_ms >= 0 && now_ms() - last >= timeout_ms) {
                fprintf(stderr, "ERROR Error processing message, terminating consumer process:  "
                                "(kafka.tools.ConsoleConsumer$)\norg.apache.kafka.common.errors.TimeoutException\n");
                break;
            }
            continue;
        }
        if (m->err) {
            /* each distinct error once in a row (librdkafka retries by itself) */
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && m->err != last_err)
                fprintf(stderr, "WARN %s: %s\n", ktool_rk_exception(m->err), rd_kafka_message_errstr(m));
            last_err = m->err;
            bool fatal = m->err == RD_KAFKA_RESP_ERR__FATAL;
            rd_kafka_message_destroy(m);
            if (fatal) {
                rc = 1;
                break;
            }
            continue;
        }
        last = now_ms();
        print_record(&f, m);
        count++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
out:
    if (rk)
        rd_kafka_destroy(rk);
    if (counting) {
        fflush(stdout);
        fprintf(stderr, "Processed a total of %ld messages\n", count);
    }
    free(f.ksep);
    free(f.lsep);
    fflush(stdout);
    ktool_opts_free(&o);
    return rc;
}
