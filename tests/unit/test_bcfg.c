/* Unit tests: gregor-broker's configuration (broker/config.h) — Kafka defaults, precedence
 * file < environment < --override, errors naming the key and where it was set, listener parsing,
 * retention precedence, Docker-style environment mapping, the dump, and the shipped example file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/config.h"

#define ZK "zookeeper.connect=127.0.0.1:2181\n"

/* Loads text (+ env, overrides) with host name "h.example"; returns bcfg_load's result. */
static int load(bcfg_t *c, const char *text, char *const *env, const props_t *ov, char *err, size_t errlen)
{
    bcfg_src_t src = {.text = text, .envp = env, .overrides = ov, .hostname = "h.example"};
    err[0] = '\0';
    return bcfg_load(c, &src, err, errlen);
}

/* Expects loading to fail with an error containing want. */
static void load_fails(const char *text, char *const *env, const char *want)
{
    bcfg_t c;
    char err[1024];
    ck_assert_int_eq(load(&c, text, env, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, want), "error '%s' lacks '%s'", err, want);
}

static bool has_warning(const bcfg_t *c, const char *want)
{
    for (size_t i = 0; i < c->nwarnings; i++)
        if (strstr(c->warnings[i], want))
            return true;
    return false;
}

START_TEST(defaults)
{
    bcfg_t c;
    char err[512];
    ck_assert_int_eq(load(&c, ZK, NULL, NULL, err, sizeof err), 0);
    ck_assert_int_eq(c.broker_id, -1);
    ck_assert(c.broker_id_generation_enable);
    ck_assert_int_eq(c.reserved_broker_max_id, 1000);
    ck_assert_uint_eq(c.nlisteners, 1);
    ck_assert_str_eq(c.listeners[0].name, "PLAINTEXT");
    ck_assert_str_eq(c.listeners[0].host, "");
    ck_assert_int_eq(c.listeners[0].port, 9092);
    ck_assert_uint_eq(c.nadvertised, 1);
    ck_assert_str_eq(c.advertised[0].host, "h.example");
    ck_assert_int_eq(c.advertised[0].port, 9092);
    ck_assert_str_eq(c.inter_broker_listener, "PLAINTEXT");
    ck_assert_uint_eq(c.nlog_dirs, 1);
    ck_assert_str_eq(c.log_dirs[0], "/tmp/kafka-logs");
    ck_assert_str_eq(c.zk_hosts, "127.0.0.1:2181");
    ck_assert_ptr_null(c.zk_chroot);
    ck_assert_int_eq(c.zookeeper_session_timeout_ms, 6000);
    ck_assert_int_eq(c.zookeeper_connection_timeout_ms, 6000);
    ck_assert_int_eq(c.num_partitions, 1);
    ck_assert_int_eq(c.default_replication_factor, 1);
    ck_assert(c.auto_create_topics_enable);
    ck_assert(c.delete_topic_enable);
    ck_assert_int_eq(c.log_segment_bytes, 1073741824);
    ck_assert_int_eq(c.log_roll_ms, 168LL * 3600000);
    ck_assert_int_eq(c.log_retention_ms, 168LL * 3600000);
    ck_assert_int_eq(c.log_retention_bytes, -1);
    ck_assert_int_eq(c.log_retention_check_interval_ms, 300000);
    ck_assert(c.cleanup_delete && !c.cleanup_compact);
    ck_assert_int_eq(c.log_flush_interval_messages, INT64_MAX);
    ck_assert_int_eq(c.log_flush_interval_ms, INT64_MAX);
    ck_assert_int_eq(c.message_max_bytes, 1000012);
    ck_assert_int_eq(c.replica_fetch_max_bytes, 1048576);
    ck_assert_int_eq(c.socket_request_max_bytes, 104857600);
    ck_assert_int_eq(c.offsets_topic_num_partitions, 50);
    ck_assert_int_eq(c.offsets_topic_replication_factor, 3);
    ck_assert_int_eq(c.offsets_retention_minutes, 10080);
    ck_assert_int_eq(c.group_initial_rebalance_delay_ms, 3000);
    ck_assert_int_eq(c.group_min_session_timeout_ms, 6000);
    ck_assert_int_eq(c.group_max_session_timeout_ms, 1800000);
    ck_assert_str_eq(c.compression_type, "producer");
    ck_assert_int_eq(c.min_insync_replicas, 1);
    ck_assert(!c.unclean_leader_election_enable);
    ck_assert_int_eq(c.num_network_threads, 3);
    ck_assert_int_eq(c.num_io_threads, 8);
    ck_assert_uint_eq(c.nwarnings, 0);
    bcfg_free(&c);
}
END_TEST

START_TEST(missing_zk)
{
    load_fails("", NULL, "Missing required configuration \"zookeeper.connect\"");
    load_fails("zookeeper.connect=\n", NULL, "names no server");
    load_fails("zookeeper.connect=a:2181,b:x\n", NULL, "'b:x' is not host:port");
    load_fails("zookeeper.connect=a:2181/kafka/\n", NULL, "chroot '/kafka/'");
}
END_TEST

START_TEST(zk_chroot)
{
    bcfg_t c;
    char err[512];
    ck_assert_int_eq(load(&c, "zookeeper.connect=a:2181,b:2182/kafka/prod\nzookeeper.connection.timeout.ms=18000\n",
                          NULL, NULL, err, sizeof err), 0);
    ck_assert_str_eq(c.zookeeper_connect, "a:2181,b:2182/kafka/prod");
    ck_assert_str_eq(c.zk_hosts, "a:2181,b:2182");
    ck_assert_str_eq(c.zk_chroot, "/kafka/prod");
    ck_assert_int_eq(c.zookeeper_connection_timeout_ms, 18000);
    bcfg_free(&c);
    ck_assert_int_eq(load(&c, "zookeeper.connect=a:2181/\n", NULL, NULL, err, sizeof err), 0);
    ck_assert_ptr_null(c.zk_chroot);
    bcfg_free(&c);
}
END_TEST

START_TEST(errors_name_key_and_line)
{
    load_fails(ZK "\n# comment\nnum.partitions=abc\n", NULL,
               "invalid value for num.partitions (config line 4): 'abc' is not a whole number");
    load_fails(ZK "num.partitions=0\n", NULL, "invalid value for num.partitions (config line 2)");
    load_fails(ZK "auto.create.topics.enable=maybe\n", NULL, "invalid value for auto.create.topics.enable");
    load_fails(ZK "compression.type=brotli\n", NULL, "invalid value for compression.type (config line 2): 'brotli'");
    load_fails(ZK "log.cleanup.policy=delete,archive\n", NULL, "invalid value for log.cleanup.policy");
    load_fails(ZK "log.segment.bytes=10\n", NULL, "invalid value for log.segment.bytes");
    load_fails(ZK "message.max.bytes=99999999999\n", NULL, "out of range");
    load_fails(ZK "broker.id=1001\n", NULL, "not greater than reserved.broker.max.id");
    load_fails(ZK "broker.id.generation.enable=false\n", NULL, "broker.id must be equal or greater than 0");
    load_fails(ZK "log.dirs= , \n", NULL, "At least one log directory");
    load_fails(ZK "group.min.session.timeout.ms=10\ngroup.max.session.timeout.ms=5\n", NULL, "group.min.session");
    load_fails(ZK "log.retention.ms=0\n", NULL, "log.retention.ms must be unlimited (-1)");
    load_fails(ZK "log.cleaner.dedupe.buffer.size=1000000\n", NULL, "at least 1MB per cleaner thread");
    load_fails(ZK "replica.fetch.wait.max.ms=20000\n", NULL, "replica.fetch.wait.max.ms should always be less");
    /* with a real file, the message names the file */
    char path[] = "/tmp/test_bcfg_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(ZK "log.retention.hours=one week\n", f);
    fclose(f);
    bcfg_t c;
    char err[512], want[600];
    bcfg_src_t src = {.path = path, .hostname = "h"};
    ck_assert_int_eq(bcfg_load(&c, &src, err, sizeof err), -1);
    snprintf(want, sizeof want, "invalid value for log.retention.hours (%s line 2)", path);
    ck_assert_msg(strstr(err, want), "%s", err);
    unlink(path);
    src.path = "/nonexistent/server.properties";
    ck_assert_int_eq(bcfg_load(&c, &src, err, sizeof err), -1);
    ck_assert(strstr(err, "/nonexistent/server.properties"));
}
END_TEST

START_TEST(unknown_keys_warn)
{
    bcfg_t c;
    char err[512];
    char *env[] = {"KAFKA_NO_SUCH_THING=1", NULL};
    ck_assert_int_eq(load(&c, ZK "frobnicate.level=3\nnum.partitions=2\n", env, NULL, err, sizeof err), 0);
    ck_assert_int_eq(c.num_partitions, 2);
    ck_assert_uint_eq(c.nwarnings, 2);
    ck_assert(has_warning(&c, "config line 2: The configuration 'frobnicate.level' was supplied but isn't a known config"));
    ck_assert(has_warning(&c, "environment variable KAFKA_NO_SUCH_THING: The configuration 'no.such.thing'"));
    bcfg_free(&c);
}
END_TEST

START_TEST(precedence)
{
    bcfg_t c;
    char err[512];
    const char *file = ZK "num.partitions=2\ndefault.replication.factor=2\nbroker.id=7\nlog.dirs=/f\n";
    char *env[] = {"PATH=/bin", "KAFKA_NUM_PARTITIONS=3", "KAFKA_DEFAULT_REPLICATION_FACTOR=3", "KAFKA_LOG_DIRS=/e1,/e2", NULL};
    props_t ov;
    props_init(&ov);
    props_set(&ov, "num.partitions", "4");
    ck_assert_int_eq(load(&c, file, env, &ov, err, sizeof err), 0);
    ck_assert_int_eq(c.num_partitions, 4);             /* override > env > file */
    ck_assert_int_eq(c.default_replication_factor, 3); /* env > file */
    ck_assert_int_eq(c.broker_id, 7);                  /* file only */
    ck_assert_uint_eq(c.nlog_dirs, 2);
    ck_assert_str_eq(c.log_dirs[0], "/e1");
    ck_assert_str_eq(c.log_dirs[1], "/e2");
    ck_assert_uint_eq(c.nwarnings, 0);                 /* shadowed file keys are not "unknown" */
    bcfg_free(&c);

    /* errors say where the winning value came from */
    char *env2[] = {"KAFKA_NUM_PARTITIONS=many", NULL};
    load_fails(ZK, env2, "invalid value for num.partitions (environment variable KAFKA_NUM_PARTITIONS)");
    props_set(&ov, "broker.id", "x");
    ck_assert_int_eq(load(&c, ZK, NULL, &ov, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "invalid value for broker.id (--override broker.id=x)"), "%s", err);
    props_free(&ov);
}
END_TEST

START_TEST(env_mapping)
{
    char k[128];
    ck_assert_int_eq(bcfg_env_key("KAFKA_ZOOKEEPER_CONNECT", k, sizeof k), 1);
    ck_assert_str_eq(k, "zookeeper.connect");
    ck_assert_int_eq(bcfg_env_key("KAFKA_ADVERTISED_LISTENERS", k, sizeof k), 1);
    ck_assert_str_eq(k, "advertised.listeners");
    ck_assert_int_eq(bcfg_env_key("KAFKA_BROKER_ID", k, sizeof k), 1);
    ck_assert_str_eq(k, "broker.id");
    ck_assert_int_eq(bcfg_env_key("KAFKA_LISTENER_NAME_INTERNAL_SSL__KEY___X", k, sizeof k), 1);
    ck_assert_str_eq(k, "listener.name.internal.ssl_key-x");
    ck_assert_int_eq(bcfg_env_key("KAFKA_CFG_AUTO_CREATE_TOPICS_ENABLE", k, sizeof k), 1);
    ck_assert_str_eq(k, "auto.create.topics.enable");
    const char *skip[] = {"KAFKA_HEAP_OPTS", "KAFKA_JMX_OPTS", "KAFKA_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_VERSION",
                          "KAFKA_HOME", "KAFKA_CREATE_TOPICS", "KAFKA_SERVICE_HOST", "KAFKA_SERVICE_PORT",
                          "KAFKA_PORT_9092_TCP_ADDR", "KAFKA_", "PATH", "KAFKAESQUE", NULL};
    for (int i = 0; skip[i]; i++)
        ck_assert_msg(bcfg_env_key(skip[i], k, sizeof k) == 0, "%s", skip[i]);
    ck_assert_int_eq(bcfg_env_key("KAFKA_ZOOKEEPER_CONNECT", k, 5), -1);

    /* a docker-compose style environment, no file */
    bcfg_t c;
    char err[512];
    char *env[] = {"KAFKA_ZOOKEEPER_CONNECT=zk:2181/kafka", "KAFKA_BROKER_ID=2", "KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:9092",
                   "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://kafka:9092", "KAFKA_AUTO_CREATE_TOPICS_ENABLE=false",
                   "KAFKA_DELETE_TOPIC_ENABLE=false", "KAFKA_NUM_PARTITIONS=3", "KAFKA_DEFAULT_REPLICATION_FACTOR=2",
                   "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1", "KAFKA_HEAP_OPTS=-Xmx1G", "KAFKA_PORT=tcp://10.0.0.1:9092",
                   "KAFKA_CFG_NUM_PARTITIONS=5", NULL};
    ck_assert_int_eq(load(&c, NULL, env, NULL, err, sizeof err), 0);
    ck_assert_int_eq(c.broker_id, 2);
    ck_assert_str_eq(c.zk_chroot, "/kafka");
    ck_assert_str_eq(c.listeners[0].host, "0.0.0.0");
    ck_assert_str_eq(c.advertised[0].host, "kafka");
    ck_assert(!c.auto_create_topics_enable);
    ck_assert(!c.delete_topic_enable);
    ck_assert_int_eq(c.num_partitions, 5); /* KAFKA_CFG_ wins */
    ck_assert_int_eq(c.default_replication_factor, 2);
    ck_assert_int_eq(c.offsets_topic_replication_factor, 1);
    ck_assert_int_eq(c.port, 9092);
    ck_assert_uint_eq(c.nwarnings, 1);
    ck_assert(has_warning(&c, "KAFKA_PORT=tcp://10.0.0.1:9092 looks like a Kubernetes service link"));
    bcfg_free(&c);
}
END_TEST

START_TEST(wurstmeister_advertised_host)
{
    bcfg_t c;
    char err[512];
    char *env[] = {"KAFKA_ZOOKEEPER_CONNECT=zk:2181", "KAFKA_ADVERTISED_HOST_NAME=192.168.99.100",
                   "KAFKA_ADVERTISED_PORT=9094", NULL};
    ck_assert_int_eq(load(&c, NULL, env, NULL, err, sizeof err), 0);
    ck_assert_str_eq(c.listeners[0].host, "");
    ck_assert_int_eq(c.listeners[0].port, 9092);
    ck_assert_str_eq(c.advertised[0].name, "PLAINTEXT");
    ck_assert_str_eq(c.advertised[0].host, "192.168.99.100");
    ck_assert_int_eq(c.advertised[0].port, 9094);
    bcfg_free(&c);
    /* only the host: the port is "port" */
    char *env2[] = {"KAFKA_ZOOKEEPER_CONNECT=zk:2181", "KAFKA_ADVERTISED_HOST_NAME=kafka", "KAFKA_PORT=9093", NULL};
    ck_assert_int_eq(load(&c, NULL, env2, NULL, err, sizeof err), 0);
    ck_assert_int_eq(c.listeners[0].port, 9093);
    ck_assert_str_eq(c.advertised[0].host, "kafka");
    ck_assert_int_eq(c.advertised[0].port, 9093);
    bcfg_free(&c);
    /* old style host.name / port in a 0.9 file */
    ck_assert_int_eq(load(&c, ZK "host.name=10.1.2.3\nport=9999\n", NULL, NULL, err, sizeof err), 0);
    ck_assert_str_eq(c.listeners[0].host, "10.1.2.3");
    ck_assert_int_eq(c.listeners[0].port, 9999);
    ck_assert_str_eq(c.advertised[0].host, "10.1.2.3");
    bcfg_free(&c);
}
END_TEST

START_TEST(listener_parsing)
{
    props_t map;
    props_init(&map);
    char err[512];
    ck_assert_int_eq(bcfg_parse_protocol_map("INTERNAL:PLAINTEXT, external:plaintext,SSL:SSL", &map, err, sizeof err), 0);
    ck_assert_str_eq(props_get(&map, "EXTERNAL"), "PLAINTEXT");
    bcfg_listener_t *v;
    size_t n;
    ck_assert_int_eq(bcfg_parse_listeners("listeners", "INTERNAL://:9092, external://[::1]:9093,SSL://host-1.x:0",
                                          &map, true, &v, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[0].name, "INTERNAL");
    ck_assert_str_eq(v[0].host, "");
    ck_assert_int_eq(v[0].port, 9092);
    ck_assert_str_eq(v[1].name, "EXTERNAL");
    ck_assert_str_eq(v[1].host, "::1");
    ck_assert_int_eq(v[1].port, 9093);
    ck_assert_str_eq(v[2].protocol, "SSL");
    ck_assert_str_eq(v[2].host, "host-1.x");
    ck_assert_int_eq(v[2].port, 0);
    bcfg_listeners_free(v, n);

    const struct {
        const char *text, *want;
    } bad[] = {
        {"INTERNAL:9092", "Unable to parse INTERNAL:9092 to a broker endpoint"},
        {"INTERNAL://host", "Unable to parse"},
        {"INTERNAL://host:", "Unable to parse"},
        {"INTERNAL://ho st:1", "Unable to parse"},
        {"INTERNAL://h:99999", "port of 'INTERNAL://h:99999' is not in 0..65535"},
        {"PLAINTEXT://:9092", "No security protocol defined for listener PLAINTEXT"},
        {"INTERNAL://:1,INTERNAL://:2", "Each listener must have a different name"},
        {"INTERNAL://a:1,EXTERNAL://b:1", "Each listener must have a different port"},
        {" , ", "names no listener"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(bcfg_parse_listeners("listeners", bad[i].text, &map, true, &v, &n, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i].want) && strstr(err, "listeners"), "%s: %s", bad[i].text, err);
    }
    /* advertised listeners may share a port */
    ck_assert_int_eq(bcfg_parse_listeners("advertised.listeners", "INTERNAL://a:1,EXTERNAL://b:1", &map, false, &v, &n,
                                          err, sizeof err), 0);
    bcfg_listeners_free(v, n);
    props_free(&map);

    props_init(&map);
    ck_assert_int_eq(bcfg_parse_protocol_map("A:TLS", &map, err, sizeof err), -1);
    ck_assert(strstr(err, "listener.security.protocol.map") && strstr(err, "'TLS'"));
    ck_assert_int_eq(bcfg_parse_protocol_map("A", &map, err, sizeof err), -1);
    ck_assert(strstr(err, "NAME:PROTOCOL"));
    props_free(&map);
}
END_TEST

START_TEST(listener_config)
{
    bcfg_t c;
    char err[1024];
    const char *two = ZK "listeners=INTERNAL://:29092,EXTERNAL://0.0.0.0:9092\n"
                         "advertised.listeners=INTERNAL://kafka:29092,EXTERNAL://localhost:9092\n"
                         "listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT\n"
                         "inter.broker.listener.name=internal\n";
    ck_assert_int_eq(load(&c, two, NULL, NULL, err, sizeof err), 0);
    ck_assert_uint_eq(c.nlisteners, 2);
    ck_assert_str_eq(c.inter_broker_listener, "INTERNAL");
    ck_assert_str_eq(bcfg_advertised(&c, "INTERNAL")->host, "kafka");
    ck_assert_int_eq(bcfg_advertised(&c, "external")->port, 9092);
    ck_assert_ptr_null(bcfg_advertised(&c, "OTHER"));
    bcfg_free(&c);

    /* empty host: bind everywhere, advertise the canonical host name */
    ck_assert_int_eq(load(&c, ZK "listeners=PLAINTEXT://:19092\n", NULL, NULL, err, sizeof err), 0);
    ck_assert_str_eq(c.listeners[0].host, "");
    ck_assert_str_eq(c.advertised[0].host, "h.example");
    ck_assert_int_eq(c.advertised[0].port, 19092);
    bcfg_free(&c);

    load_fails(ZK "listeners=PLAINTEXT://0.0.0.0:9092\n", NULL,
               "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.");
    load_fails(ZK "listeners=PLAINTEXT://:9092\nadvertised.listeners=PLAINTEXT://0.0.0.0:9092\n", NULL,
               "nonroutable meta-address 0.0.0.0");
    load_fails(ZK "listeners=PLAINTEXT://:9092\nadvertised.listeners=OTHER://x:9092\n"
                  "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT\n", NULL,
               "advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. "
               "Found OTHER. The valid options based on the current configuration are PLAINTEXT");
    load_fails(ZK "listeners=A://:1,B://:2\nlistener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT\n", NULL,
               "inter.broker.listener.name must be a listener name defined in advertised.listeners. "
               "The valid options based on currently configured listeners are A,B");
    load_fails(ZK "inter.broker.listener.name=PLAINTEXT\nsecurity.inter.broker.protocol=PLAINTEXT\n", NULL,
               "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.");
    load_fails(ZK "listeners=SSL://:9093\n", NULL, "serves PLAINTEXT listeners only");
    load_fails(ZK "listeners=PLAINTEXT://:9092,PLAINTEXT://:9093\n", NULL, "Each listener must have a different name");
    load_fails(ZK "listeners=PLAINTEXT:/:9092\n", NULL, "invalid value for listeners: Unable to parse");
}
END_TEST

START_TEST(retention_precedence)
{
    bcfg_t c;
    char err[512];
    struct {
        const char *text;
        int64_t want;
    } t[] = {
        {ZK, 168LL * 3600000},
        {ZK "log.retention.hours=24\n", 24LL * 3600000},
        {ZK "log.retention.hours=24\nlog.retention.minutes=30\n", 30LL * 60000},
        {ZK "log.retention.hours=24\nlog.retention.minutes=30\nlog.retention.ms=1234\n", 1234},
        {ZK "log.retention.ms=-1\nlog.retention.hours=1\n", -1},
        {ZK "log.retention.minutes=-1\n", -1},
        {ZK "log.retention.hours=-1\n", -1},
        {ZK "log.retention.ms=-5\n", -1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ck_assert_msg(load(&c, t[i].text, NULL, NULL, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(c.log_retention_ms == t[i].want, "case %zu: %lld", i, (long long)c.log_retention_ms);
        bcfg_free(&c);
    }
    ck_assert_int_eq(load(&c, ZK "log.roll.hours=2\nlog.roll.jitter.hours=1\nlog.flush.interval.ms=500\n"
                                 "log.cleanup.policy=compact, delete\n", NULL, NULL, err, sizeof err), 0);
    ck_assert_int_eq(c.log_roll_ms, 2 * 3600000LL);
    ck_assert_int_eq(c.log_roll_jitter_ms, 3600000LL);
    ck_assert_int_eq(c.log_flush_interval_ms, 500);
    ck_assert(c.cleanup_compact && c.cleanup_delete);
    plog_config_t pc;
    bcfg_plog_config(&c, &pc);
    ck_assert_int_eq(pc.segment_ms, 2 * 3600000LL);
    ck_assert_int_eq(pc.flush_ms, 500);
    ck_assert(pc.cleanup_compact);
    bcfg_free(&c);
    ck_assert_int_eq(load(&c, ZK "log.roll.ms=100\nlog.roll.hours=2\n", NULL, NULL, err, sizeof err), 0);
    ck_assert_int_eq(c.log_roll_ms, 100);
    bcfg_free(&c);
    load_fails(ZK "log.roll.ms=0\n", NULL, "log.roll.ms must be equal or greater than 1");
}
END_TEST

START_TEST(module_configs)
{
    bcfg_t c;
    char err[512];
    ck_assert_int_eq(load(&c, ZK "log.dirs=/a,/b\noffsets.topic.num.partitions=7\noffsets.retention.minutes=2\n"
                                 "group.initial.rebalance.delay.ms=0\nlog.cleaner.enable=false\n",
                          NULL, NULL, err, sizeof err), 0);
    group_config_t g;
    bcfg_group_config(&c, &g);
    ck_assert_int_eq(g.num_partitions, 7);
    ck_assert_int_eq(g.offsets_retention_ms, 120000);
    ck_assert_int_eq(g.initial_rebalance_delay_ms, 0);
    lmgr_config_t m;
    bcfg_lmgr_config(&c, &m);
    ck_assert_uint_eq(m.ndirs, 2);
    ck_assert_str_eq(m.dirs[1], "/b");
    ck_assert(!m.cleaner_enable);
    ck_assert_int_eq(m.defaults.segment_bytes, 1073741824);
    bcfg_free(&c);
}
END_TEST

START_TEST(args)
{
    const char *path = NULL;
    props_t ov;
    props_init(&ov);
    char err[512];
    char *argv[] = {"gregor-broker", "server.properties", "--override", "broker.id=3", "--override=log.dirs=/x=y", NULL};
    ck_assert_int_eq(bcfg_parse_args(5, argv, &path, &ov, err, sizeof err), 0);
    ck_assert_str_eq(path, "server.properties");
    ck_assert_str_eq(props_get(&ov, "broker.id"), "3");
    ck_assert_str_eq(props_get(&ov, "log.dirs"), "/x=y");
    char *bad1[] = {"gregor-broker", NULL};
    ck_assert_int_eq(bcfg_parse_args(1, bad1, &path, &ov, err, sizeof err), -1);
    ck_assert(strstr(err, "USAGE: gregor-broker server.properties [--override property=value]*"));
    char *bad2[] = {"gregor-broker", "s.p", "--override", NULL};
    ck_assert_int_eq(bcfg_parse_args(3, bad2, &path, &ov, err, sizeof err), -1);
    char *bad3[] = {"gregor-broker", "s.p", "--override", "novalue", NULL};
    ck_assert_int_eq(bcfg_parse_args(4, bad3, &path, &ov, err, sizeof err), -1);
    ck_assert(strstr(err, "novalue"));
    char *bad4[] = {"gregor-broker", "s.p", "extra", NULL};
    ck_assert_int_eq(bcfg_parse_args(3, bad4, &path, &ov, err, sizeof err), -1);
    ck_assert(strstr(err, "Found non argument parameters: extra"));
    props_free(&ov);
}
END_TEST

START_TEST(dump)
{
    bcfg_t c;
    char err[512];
    ck_assert_int_eq(load(&c, ZK "num.partitions=4\n", NULL, NULL, err, sizeof err), 0);
    buf_t b = BUF_INIT;
    bcfg_dump(&c, &b);
    const char *s = buf_cstr(&b);
    ck_assert(!strncmp(s, "KafkaConfig values: \n\t", 22));
    ck_assert(strstr(s, "\tnum.partitions = 4\n"));
    ck_assert(strstr(s, "\tadvertised.listeners = null\n"));
    ck_assert(strstr(s, "\tlog.retention.hours = 168\n"));
    ck_assert(strstr(s, "\tzookeeper.connect = 127.0.0.1:2181\n"));
    /* sorted by key, one line per accepted key */
    size_t lines = 0, nkeys = 0;
    const char *prev = NULL;
    for (const char *p = strchr(s, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
        ck_assert(*p == '\t');
        if (prev)
            ck_assert_msg(strcmp(prev, p) < 0, "not sorted at %.40s", p);
        prev = p;
        lines++;
    }
    while (bcfg_key_at(nkeys))
        nkeys++;
    ck_assert_uint_eq(lines, nkeys);
    buf_free(&b);
    bcfg_free(&c);
}
END_TEST

/* deploy/server.properties.example documents every accepted key and loads without warnings. */
START_TEST(example_file)
{
    FILE *f = fopen("deploy/server.properties.example", "r");
    ck_assert_msg(f != NULL, "run from the repository root");
    buf_t text = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_put(&text, chunk, n);
    fclose(f);
    const char *s = buf_cstr(&text);
    for (size_t i = 0; bcfg_key_at(i); i++) {
        char want[200];
        snprintf(want, sizeof want, "%s=", bcfg_key_at(i));
        ck_assert_msg(strstr(s, want), "example file lacks %s", bcfg_key_at(i));
    }
    bcfg_t c;
    char err[512];
    bcfg_src_t src = {.path = "deploy/server.properties.example", .hostname = "h"};
    ck_assert_msg(bcfg_load(&c, &src, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < c.nwarnings; i++)
        ck_abort_msg("warning: %s", c.warnings[i]);
    bcfg_free(&c);
    buf_free(&text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bcfg");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, missing_zk);
    tcase_add_test(tc, zk_chroot);
    tcase_add_test(tc, errors_name_key_and_line);
    tcase_add_test(tc, unknown_keys_warn);
    tcase_add_test(tc, precedence);
    tcase_add_test(tc, env_mapping);
    tcase_add_test(tc, wurstmeister_advertised_host);
    tcase_add_test(tc, listener_parsing);
    tcase_add_test(tc, listener_config);
    tcase_add_test(tc, retention_precedence);
    tcase_add_test(tc, module_configs);
    tcase_add_test(tc, args);
    tcase_add_test(tc, dump);
    tcase_add_test(tc, example_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
