/* Unit tests: Kafka's znode paths and JSON payloads (broker/zkpaths.h) — byte-exact against
 * what Kafka writes (observed 0.9.0.1 captures in kafka-zk-layout.md, Kafka 2.x source and
 * its tests), round trips, what old Kafka versions write, and garbage. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/zkpaths.h"

#define S(x) (x), strlen(x)

/* Encodes with fn and compares the bytes with want. */
#define ENC_EQ(call, want)                                   \
    do {                                                     \
        buf_t b_ = BUF_INIT;                                 \
        ck_assert_int_eq((call), 0);                         \
        ck_assert_str_eq(buf_cstr(&b_), (want));             \
        buf_free(&b_);                                       \
    } while (0)

START_TEST(paths)
{
    char *p;
    p = zkpaths_broker(3);
    ck_assert_str_eq(p, "/brokers/ids/3");
    free(p);
    p = zkpaths_partition_state("t1", 4);
    ck_assert_str_eq(p, "/brokers/topics/t1/partitions/4/state");
    free(p);
    p = zkpaths_topic_partitions("t1");
    ck_assert_str_eq(p, "/brokers/topics/t1/partitions");
    free(p);
    p = zkpaths_config_entity("brokers", ZKPATHS_DEFAULT_ENTITY);
    ck_assert_str_eq(p, "/config/brokers/<default>");
    free(p);
    p = zkpaths_delete_topic("t2");
    ck_assert_str_eq(p, "/admin/delete_topics/t2");
    free(p);
    p = zkpaths_config_change_prefix();
    ck_assert_str_eq(p, "/config/changes/config_change_");
    free(p);
    p = zkpaths_isr_change_prefix();
    ck_assert_str_eq(p, "/isr_change_notification/isr_change_");
    free(p);
    p = zkpaths_consumer_offset("oldgrp", "t1", 2);
    ck_assert_str_eq(p, "/consumers/oldgrp/offsets/t1/2");
    free(p);
    p = zkpaths_consumer_owner("oldgrp", "t1", 0);
    ck_assert_str_eq(p, "/consumers/oldgrp/owners/t1/0");
    free(p);

    size_t n = 0;
    while (zkpaths_persistent[n])
        n++;
    ck_assert_uint_eq(n, 14);
    ck_assert_str_eq(zkpaths_persistent[0], "/consumers");

    char *t;
    int32_t part;
    ck_assert_int_eq(zkpaths_parse_partition_path("/brokers/topics/t1/partitions/12/state", &t, &part), 0);
    ck_assert_str_eq(t, "t1");
    ck_assert_int_eq(part, 12);
    free(t);
    ck_assert_int_eq(zkpaths_parse_partition_path("/brokers/topics/t1/partitions/3", &t, &part), 0);
    free(t);
    ck_assert_int_eq(zkpaths_parse_partition_path("/brokers/topics/t1/partitions/-1/state", &t, &part), -1);
    ck_assert_int_eq(zkpaths_parse_partition_path("/brokers/topics/t1/partitions/x/state", &t, &part), -1);
    ck_assert_int_eq(zkpaths_parse_partition_path("/brokers/topics/t1/partitions//state", &t, &part), -1);
    ck_assert_int_eq(zkpaths_parse_partition_path("/brokers/topics/t1/partitions/1/statex", &t, &part), -1);
    ck_assert_int_eq(zkpaths_parse_partition_path("/brokers/ids/1", &t, &part), -1);

    int64_t seq;
    ck_assert_int_eq(zkpaths_parse_seq("config_change_0000000042", "config_change_", &seq), 0);
    ck_assert_int_eq(seq, 42);
    ck_assert_int_eq(zkpaths_parse_seq("isr_change_0000000001", "config_change_", &seq), -1);
    ck_assert_int_eq(zkpaths_parse_seq("config_change_12", "config_change_", &seq), -1);
    ck_assert_int_eq(zkpaths_parse_seq("config_change_00000000x1", "config_change_", &seq), -1);

    ck_assert(zkpaths_topic_valid("__consumer_offsets"));
    ck_assert(zkpaths_topic_valid("a.b-c_D9"));
    ck_assert(!zkpaths_topic_valid(""));
    ck_assert(!zkpaths_topic_valid("."));
    ck_assert(!zkpaths_topic_valid(".."));
    ck_assert(!zkpaths_topic_valid("a/b"));
    ck_assert(!zkpaths_topic_valid("a b"));
    char longname[251];
    memset(longname, 'a', 250);
    longname[250] = 0;
    ck_assert(!zkpaths_topic_valid(longname));
    longname[249] = 0;
    ck_assert(zkpaths_topic_valid(longname));

    int32_t id;
    ck_assert_int_eq(zkpaths_parse_broker_id("1001", &id), 0);
    ck_assert_int_eq(id, 1001);
    ck_assert_int_eq(zkpaths_parse_broker_id("-1", &id), -1);
    ck_assert_int_eq(zkpaths_parse_broker_id("1a", &id), -1);
    ck_assert_int_eq(zkpaths_parse_broker_id("", &id), -1);
    ck_assert_int_eq(zkpaths_parse_broker_id("99999999999", &id), -1);
}
END_TEST

START_TEST(map_orders)
{
    /* 0.9.0.1 kafka-topics.sh --create --partitions 3 wrote {"2":[0],"1":[0],"0":[0]} (observed) */
    const char *k3[] = {"0", "1", "2"};
    size_t o[32];
    ck_assert_uint_eq(zkpaths_scala_order(k3, 3, o), 3);
    ck_assert_uint_eq(o[0], 2);
    ck_assert_uint_eq(o[1], 1);
    ck_assert_uint_eq(o[2], 0);
    /* Kafka 2.x broker registration v4 key order (as every 2.x /brokers/ids/N shows) */
    const char *bk[] = {"version", "host", "port", "endpoints", "jmx_port", "timestamp",
                        "listener_security_protocol_map"};
    const char *want[] = {"listener_security_protocol_map", "endpoints", "jmx_port", "host", "timestamp",
                          "port", "version"};
    ck_assert_uint_eq(zkpaths_scala_order(bk, 7, o), 7);
    for (size_t i = 0; i < 7; i++)
        ck_assert_str_eq(bk[o[i]], want[i]);
    /* duplicates count once */
    const char *dup[] = {"a", "b", "a"};
    ck_assert_uint_eq(zkpaths_scala_order(dup, 3, o), 2);
    /* more keys than the first threshold (12): a resize happens; every key still appears once */
    const char *many[20];
    char names[20][12];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof names[i], "%d", i);
        many[i] = names[i];
    }
    ck_assert_uint_eq(zkpaths_scala_order(many, 20, o), 20);
    int seen[20] = {0};
    for (int i = 0; i < 20; i++)
        seen[o[i]]++;
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(seen[i], 1);
    /* 0.9 config {"retention.ms":"1000","cleanup.policy":"compact"} (observed), either insertion order */
    const char *ck[] = {"cleanup.policy", "retention.ms"};
    ck_assert_uint_eq(zkpaths_hashtable_order(ck, 2, o), 2);
    ck_assert_str_eq(ck[o[0]], "retention.ms");
    ck_assert_uint_eq(zkpaths_hashtable_order(many, 20, o), 20);   /* through two rehashes */
}
END_TEST

START_TEST(broker_registration_v4)
{
    zkpaths_endpoint_t ep = {"PLAINTEXT", "PLAINTEXT", "localhost", 9092};
    zkpaths_broker_t b = {.version = 4, .endpoints = &ep, .n_endpoints = 1, .jmx_port = -1,
                          .timestamp = 1569000000123};
    ENC_EQ(zkpaths_broker_encode(&b, &b_),
           "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":[\"PLAINTEXT://"
           "localhost:9092\"],\"jmx_port\":-1,\"host\":\"localhost\",\"timestamp\":\"1569000000123\",\"port\":"
           "9092,\"version\":4}");
    b.rack = "r1";
    ENC_EQ(zkpaths_broker_encode(&b, &b_),
           "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":[\"PLAINTEXT://"
           "localhost:9092\"],\"rack\":\"r1\",\"jmx_port\":-1,\"host\":\"localhost\",\"timestamp\":"
           "\"1569000000123\",\"port\":9092,\"version\":4}");
    b.version = 5;
    b.rack = NULL;
    ENC_EQ(zkpaths_broker_encode(&b, &b_),
           "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":[\"PLAINTEXT://"
           "localhost:9092\"],\"jmx_port\":-1,\"features\":{},\"host\":\"localhost\",\"timestamp\":"
           "\"1569000000123\",\"port\":9092,\"version\":5}");
    /* no PLAINTEXT listener: host null, port -1, as Kafka */
    zkpaths_endpoint_t eps[2] = {{"INTERNAL", "SSL", "10.0.0.1", 9093}, {"EXTERNAL", "SASL_SSL", "::1", 9094}};
    zkpaths_broker_t c = {.version = 4, .endpoints = eps, .n_endpoints = 2, .jmx_port = 9999, .timestamp = 7};
    ENC_EQ(zkpaths_broker_encode(&c, &b_),
           "{\"listener_security_protocol_map\":{\"INTERNAL\":\"SSL\",\"EXTERNAL\":\"SASL_SSL\"},\"endpoints\":"
           "[\"INTERNAL://10.0.0.1:9093\",\"EXTERNAL://[::1]:9094\"],\"jmx_port\":9999,\"host\":null,"
           "\"timestamp\":\"7\",\"port\":-1,\"version\":4}");
    c.version = 9;
    buf_t x = BUF_INIT;
    ck_assert_int_eq(zkpaths_broker_encode(&c, &x), -1);
    buf_free(&x);
}
END_TEST

START_TEST(broker_registration_decode)
{
    zkpaths_broker_t b;
    /* observed 0.9.0.1 registration (version 2) */
    const char *v2 = "{\"jmx_port\":-1,\"timestamp\":\"1795215864243\",\"endpoints\":[\"PLAINTEXT://127.0.0.1:29090\"],"
                     "\"host\":\"127.0.0.1\",\"version\":2,\"port\":29090}";
    ck_assert_int_eq(zkpaths_broker_decode(S(v2), &b), 0);
    ck_assert_int_eq(b.version, 2);
    ck_assert_int_eq(b.timestamp, 1795215864243LL);
    ck_assert_uint_eq(b.n_endpoints, 1);
    ck_assert_str_eq(b.endpoints[0].listener, "PLAINTEXT");
    ck_assert_str_eq(b.endpoints[0].protocol, "PLAINTEXT");
    ck_assert_str_eq(b.endpoints[0].host, "127.0.0.1");
    ck_assert_int_eq(b.endpoints[0].port, 29090);
    ck_assert_ptr_null(b.rack);
    ck_assert_ptr_nonnull(zkpaths_broker_endpoint(&b, "PLAINTEXT"));
    ck_assert_ptr_null(zkpaths_broker_endpoint(&b, "SSL"));
    zkpaths_broker_free(&b);

    /* version 1 (0.8): host and port only */
    const char *v1 = "{\"jmx_port\":-1,\"timestamp\":\"1400000000000\",\"host\":\"h1\",\"version\":1,\"port\":9092}";
    ck_assert_int_eq(zkpaths_broker_decode(S(v1), &b), 0);
    ck_assert_uint_eq(b.n_endpoints, 1);
    ck_assert_str_eq(b.endpoints[0].host, "h1");
    ck_assert_int_eq(b.endpoints[0].port, 9092);
    zkpaths_broker_free(&b);

    /* version 3 with rack, version 4 with rack null, custom listener names, IPv6, empty host */
    const char *v3 = "{\"jmx_port\":-1,\"timestamp\":\"1\",\"endpoints\":[\"SSL://h:9093\"],\"rack\":\"dc1\","
                     "\"host\":null,\"version\":3,\"port\":-1}";
    ck_assert_int_eq(zkpaths_broker_decode(S(v3), &b), 0);
    ck_assert_str_eq(b.rack, "dc1");
    ck_assert_ptr_null(b.host);
    ck_assert_str_eq(b.endpoints[0].protocol, "SSL");
    zkpaths_broker_free(&b);
    const char *v4 = "{\"listener_security_protocol_map\":{\"CLIENT\":\"PLAINTEXT\",\"REPL\":\"SASL_SSL\"},"
                     "\"endpoints\":[\"CLIENT://[::1]:9092\",\"REPL://:9093\"],\"rack\":null,\"jmx_port\":-1,"
                     "\"host\":null,\"timestamp\":\"5\",\"port\":-1,\"version\":4}";
    ck_assert_int_eq(zkpaths_broker_decode(S(v4), &b), 0);
    ck_assert_ptr_null(b.rack);
    ck_assert_uint_eq(b.n_endpoints, 2);
    ck_assert_str_eq(b.endpoints[0].host, "::1");
    ck_assert_str_eq(b.endpoints[0].protocol, "PLAINTEXT");
    ck_assert_str_eq(b.endpoints[1].host, "");
    ck_assert_str_eq(b.endpoints[1].listener, "REPL");
    ck_assert_str_eq(b.endpoints[1].protocol, "SASL_SSL");
    zkpaths_broker_free(&b);
    const char *v5 = "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":[\"PLAINTEXT:"
                     "//k:9092\"],\"jmx_port\":-1,\"features\":{\"f\":{\"min_version\":1,\"max_version\":3}},"
                     "\"host\":\"k\",\"timestamp\":\"1\",\"port\":9092,\"version\":5}";
    ck_assert_int_eq(zkpaths_broker_decode(S(v5), &b), 0);
    ck_assert_uint_eq(b.n_features, 1);
    ck_assert_str_eq(b.features[0].name, "f");
    ck_assert_int_eq(b.features[0].max_version, 3);
    zkpaths_broker_free(&b);

    /* round trip */
    zkpaths_endpoint_t ep = {"PLAINTEXT", "PLAINTEXT", "127.0.0.1", 9092};
    zkpaths_broker_t in = {.version = 4, .endpoints = &ep, .n_endpoints = 1, .jmx_port = -1, .timestamp = 42,
                           .rack = "rackA"};
    buf_t out = BUF_INIT;
    ck_assert_int_eq(zkpaths_broker_encode(&in, &out), 0);
    ck_assert_int_eq(zkpaths_broker_decode(out.data, out.len, &b), 0);
    ck_assert_int_eq(b.version, 4);
    ck_assert_str_eq(b.host, "127.0.0.1");
    ck_assert_int_eq(b.port, 9092);
    ck_assert_str_eq(b.rack, "rackA");
    ck_assert_int_eq(b.timestamp, 42);
    zkpaths_broker_free(&b);
    buf_free(&out);

    /* rejected */
    const char *bad[] = {
        "", "{", "[]", "null", "{\"version\":0}", "{\"version\":\"4\"}",
        "{\"version\":1,\"host\":\"h\"}",                                       /* v1 without port */
        "{\"version\":2,\"endpoints\":\"PLAINTEXT://h:1\"}",                   /* not an array */
        "{\"version\":2,\"endpoints\":[\"CUSTOM://h:1\"]}",                    /* no map, unknown protocol */
        "{\"version\":4,\"endpoints\":[\"A://h:1\"],\"listener_security_protocol_map\":{\"B\":\"SSL\"}}",
        "{\"version\":2,\"endpoints\":[\"PLAINTEXT://h\"]}",                   /* no port */
        "{\"version\":2,\"endpoints\":[\"PLAINTEXT://h:99999\"]}",
        "{\"version\":2,\"endpoints\":[\"://h:1\"]}",
        "{\"version\":2,\"endpoints\":[7]}",
        "{\"version\":2,\"endpoints\":[],\"rack\":5}",
        "{\"version\":2,\"endpoints\":[\"PLAINTEXT://h:1\"],\"host\":[]}",
        "{\"version\":5,\"endpoints\":[],\"features\":{\"f\":{\"min_version\":\"x\"}}}",
        "{\"version\":99999999999,\"endpoints\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&b, 0x5a, sizeof b);
        ck_assert_msg(zkpaths_broker_decode(S(bad[i]), &b) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_null(b.endpoints);
    }
}
END_TEST

START_TEST(topic_assignment)
{
    zkpaths_topic_t t;
    /* observed 0.9 create */
    int32_t r0[] = {0};
    zkpaths_passign_t parts[3] = {
        {0, {r0, 1}, {0}, {0}}, {1, {r0, 1}, {0}, {0}}, {2, {r0, 1}, {0}, {0}},
    };
    zkpaths_topic_t in = {.version = 1, .parts = parts, .n_parts = 3};
    ENC_EQ(zkpaths_topic_encode(&in, &b_), "{\"version\":1,\"partitions\":{\"2\":[0],\"1\":[0],\"0\":[0]}}");
    in.version = 2;
    ENC_EQ(zkpaths_topic_encode(&in, &b_),
           "{\"version\":2,\"partitions\":{\"2\":[0],\"1\":[0],\"0\":[0]},\"adding_replicas\":{},"
           "\"removing_replicas\":{}}");
    int32_t r123[] = {1, 2, 3}, r3[] = {3}, r1[] = {1};
    parts[1].replicas = (zkpaths_ilist_t){r123, 3};
    parts[1].adding = (zkpaths_ilist_t){r3, 1};
    parts[1].removing = (zkpaths_ilist_t){r1, 1};
    ENC_EQ(zkpaths_topic_encode(&in, &b_),
           "{\"version\":2,\"partitions\":{\"2\":[0],\"1\":[1,2,3],\"0\":[0]},\"adding_replicas\":{\"1\":[3]},"
           "\"removing_replicas\":{\"1\":[1]}}");
    in.version = 3;
    buf_t x = BUF_INIT;
    ck_assert_int_eq(zkpaths_topic_encode(&in, &x), -1);
    buf_free(&x);

    /* decode: the observed 0.9 alter output, key order arbitrary */
    const char *v1 = "{\"version\":1,\"partitions\":{\"4\":[0],\"1\":[0],\"0\":[0],\"2\":[0],\"3\":[0]}}";
    ck_assert_int_eq(zkpaths_topic_decode(S(v1), &t), 0);
    ck_assert_int_eq(t.version, 1);
    ck_assert_uint_eq(t.n_parts, 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(t.parts[i].partition, (int32_t)i);
        ck_assert_uint_eq(t.parts[i].replicas.n, 1);
        ck_assert_uint_eq(t.parts[i].adding.n, 0);
    }
    ck_assert_ptr_nonnull(zkpaths_topic_part(&t, 3));
    ck_assert_ptr_null(zkpaths_topic_part(&t, 5));
    zkpaths_topic_free(&t);
    const char *v2 = "{\"version\":2,\"partitions\":{\"0\":[1,2],\"1\":[2,3]},\"adding_replicas\":{\"1\":[3]},"
                     "\"removing_replicas\":{}}";
    ck_assert_int_eq(zkpaths_topic_decode(S(v2), &t), 0);
    ck_assert_uint_eq(zkpaths_topic_part(&t, 1)->adding.n, 1);
    ck_assert_int_eq(zkpaths_topic_part(&t, 1)->adding.v[0], 3);
    zkpaths_topic_free(&t);
    const char *v3 = "{\"version\":3,\"topic_id\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"partitions\":{\"0\":[1]},"
                     "\"adding_replicas\":{},\"removing_replicas\":{}}";
    ck_assert_int_eq(zkpaths_topic_decode(S(v3), &t), 0);
    ck_assert_str_eq(t.topic_id, "AAAAAAAAAAAAAAAAAAAAAA");
    zkpaths_topic_free(&t);
    /* empty partition map is valid JSON Kafka can read (a topic with no partitions) */
    ck_assert_int_eq(zkpaths_topic_decode(S("{\"version\":1,\"partitions\":{}}"), &t), 0);
    ck_assert_uint_eq(t.n_parts, 0);
    zkpaths_topic_free(&t);

    const char *bad[] = {
        "garbage", "{\"version\":1}", "{\"version\":1,\"partitions\":[]}",
        "{\"version\":1,\"partitions\":{\"x\":[0]}}", "{\"version\":1,\"partitions\":{\"-1\":[0]}}",
        "{\"version\":1,\"partitions\":{\"0\":[\"a\"]}}", "{\"version\":1,\"partitions\":{\"0\":0}}",
        "{\"version\":1,\"partitions\":{\"0\":[0],\"00\":[1]}}", "{\"version\":1,\"partitions\":{\"0\":[1e3]}}",
        "{\"version\":1,\"partitions\":{\"0\":[4294967296]}}",
        "{\"version\":2,\"partitions\":{\"0\":[0]},\"adding_replicas\":[]}",
        "{\"version\":2,\"partitions\":{\"0\":[0]},\"adding_replicas\":{\"0\":{}}}",
        "{\"partitions\":{\"0\":[0]}}", "{\"version\":1,\"partitions\":{\"0\":[0]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(zkpaths_topic_decode(S(bad[i]), &t) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_null(t.parts);
    }
}
END_TEST

START_TEST(partition_state)
{
    int32_t isr[] = {0};
    zkpaths_pstate_t s = {.controller_epoch = 1, .leader = 0, .leader_epoch = 0, .isr = {isr, 1}};
    ENC_EQ(zkpaths_pstate_encode(&s, &b_), "{\"controller_epoch\":1,\"leader\":0,\"version\":1,\"leader_epoch\":0,"
                                           "\"isr\":[0]}");
    /* observed 0.9 deletion write */
    zkpaths_pstate_t d = {.controller_epoch = 1, .leader = -1, .leader_epoch = 1};
    ENC_EQ(zkpaths_pstate_encode(&d, &b_), "{\"controller_epoch\":1,\"leader\":-1,\"version\":1,\"leader_epoch\":1,"
                                           "\"isr\":[]}");
    zkpaths_pstate_t o;
    const char *in = "{\"controller_epoch\":7,\"leader\":2,\"version\":1,\"leader_epoch\":9,\"isr\":[2,0,1]}";
    ck_assert_int_eq(zkpaths_pstate_decode(S(in), &o), 0);
    ck_assert_int_eq(o.controller_epoch, 7);
    ck_assert_int_eq(o.leader, 2);
    ck_assert_int_eq(o.leader_epoch, 9);
    ck_assert_uint_eq(o.isr.n, 3);
    ck_assert_int_eq(o.isr.v[2], 1);
    zkpaths_pstate_free(&o);
    const char *bad[] = {"", "{}", "{\"leader\":0,\"leader_epoch\":0,\"controller_epoch\":1}",
                         "{\"leader\":\"0\",\"leader_epoch\":0,\"controller_epoch\":1,\"isr\":[]}",
                         "{\"leader\":0,\"leader_epoch\":0,\"controller_epoch\":1,\"isr\":[null]}",
                         "{\"leader\":0,\"leader_epoch\":0,\"controller_epoch\":1,\"isr\":{}}", "[1,2]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(zkpaths_pstate_decode(S(bad[i]), &o) == -1, "accepted %s", bad[i]);
}
END_TEST

START_TEST(controller_and_epoch)
{
    ENC_EQ(zkpaths_controller_encode(0, 1795215864088LL, &b_),
           "{\"version\":1,\"brokerid\":0,\"timestamp\":\"1795215864088\"}");
    int32_t id = -1;
    ck_assert_int_eq(zkpaths_controller_decode(S("{\"version\":1,\"brokerid\":3,\"timestamp\":\"1\"}"), &id), 0);
    ck_assert_int_eq(id, 3);
    ck_assert_int_eq(zkpaths_controller_decode(S("5"), &id), 0);   /* pre-JSON format */
    ck_assert_int_eq(id, 5);
    ck_assert_int_eq(zkpaths_controller_decode(S("{\"version\":1}"), &id), -1);
    ck_assert_int_eq(zkpaths_controller_decode(S("{\"brokerid\":\"3\"}"), &id), -1);
    ck_assert_int_eq(zkpaths_controller_decode(NULL, 0, &id), -1);
    ENC_EQ(zkpaths_epoch_encode(12, &b_), "12");
    int32_t e;
    ck_assert_int_eq(zkpaths_epoch_decode(S("1"), &e), 0);
    ck_assert_int_eq(e, 1);
    ck_assert_int_eq(zkpaths_epoch_decode(S(""), &e), -1);
    ck_assert_int_eq(zkpaths_epoch_decode(S("1 "), &e), -1);
    ck_assert_int_eq(zkpaths_epoch_decode(S("3000000000"), &e), -1);
}
END_TEST

START_TEST(config_payloads)
{
    zkpaths_config_t c = {0};
    ENC_EQ(zkpaths_config_encode(&c, &b_), "{\"version\":1,\"config\":{}}");
    zkpaths_config_set(&c, "retention.ms", "1000");
    zkpaths_config_set(&c, "cleanup.policy", "compact");
    ENC_EQ(zkpaths_config_encode(&c, &b_),
           "{\"version\":1,\"config\":{\"retention.ms\":\"1000\",\"cleanup.policy\":\"compact\"}}");
    zkpaths_config_set(&c, "retention.ms", "2000");
    ck_assert_int_eq(zkpaths_config_del(&c, "cleanup.policy"), 0);
    ck_assert_int_eq(zkpaths_config_del(&c, "cleanup.policy"), -1);
    ENC_EQ(zkpaths_config_encode(&c, &b_), "{\"version\":1,\"config\":{\"retention.ms\":\"2000\"}}");
    zkpaths_config_free(&c);

    zkpaths_config_t d;
    ck_assert_int_eq(zkpaths_config_decode(S("{\"version\":1,\"config\":{\"a\":\"1\",\"b\":\"x\\\"y\"}}"), &d), 0);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_str_eq(zkpaths_config_get(&d, "b"), "x\"y");
    ck_assert_ptr_null(zkpaths_config_get(&d, "c"));
    zkpaths_config_free(&d);
    ck_assert_int_eq(zkpaths_config_decode(NULL, 0, &d), 0);   /* null data: empty config */
    ck_assert_uint_eq(d.n, 0);
    ck_assert_int_eq(zkpaths_config_decode(S("{\"version\":1,\"config\":{\"a\":1}}"), &d), -1);
    ck_assert_int_eq(zkpaths_config_decode(S("{\"version\":1,\"config\":{\"a\":\"x\\u0000y\"}}"), &d), -1);
    ck_assert_int_eq(zkpaths_config_decode(S("{\"version\":1,\"config\":[]}"), &d), -1);
    ck_assert_int_eq(zkpaths_config_decode(S("nope"), &d), -1);

    /* /config/changes: 0.9 (observed) and 0.10.1+ */
    ENC_EQ(zkpaths_config_change_encode(1, "topics", "t2", &b_),
           "{\"version\":1,\"entity_type\":\"topics\",\"entity_name\":\"t2\"}");
    ENC_EQ(zkpaths_config_change_encode(2, "topics", "t2", &b_), "{\"version\":2,\"entity_path\":\"topics/t2\"}");
    char *p;
    ck_assert_int_eq(zkpaths_config_change_decode(S("{\"version\":1,\"entity_type\":\"topics\",\"entity_name\":"
                                                    "\"t2\"}"), &p), 0);
    ck_assert_str_eq(p, "topics/t2");
    free(p);
    ck_assert_int_eq(zkpaths_config_change_decode(S("{\"version\":2,\"entity_path\":\"users/u/clients/c\"}"), &p), 0);
    ck_assert_str_eq(p, "users/u/clients/c");
    free(p);
    ck_assert_int_eq(zkpaths_config_change_decode(S("{\"version\":3,\"entity_path\":\"topics/t\"}"), &p), -1);
    ck_assert_int_eq(zkpaths_config_change_decode(S("{\"version\":2,\"entity_path\":\"topics\"}"), &p), -1);
    ck_assert_int_eq(zkpaths_config_change_decode(S("{\"version\":1,\"entity_type\":\"topics\"}"), &p), -1);
}
END_TEST

START_TEST(partition_lists)
{
    /* ReassignPartitionsZNodeTest's string */
    int32_t reps[] = {1, 2};
    zkpaths_tp_t tp = {"foo", 0, {reps, 2}};
    zkpaths_tplist_t l = {&tp, 1};
    ENC_EQ(zkpaths_tplist_encode(&l, true, &b_),
           "{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[1,2]}]}");
    ENC_EQ(zkpaths_tplist_encode(&l, false, &b_), "{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0}]}");
    zkpaths_tplist_t o;
    const char *in = "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,2],"
                     "\"log_dirs\":[\"any\",\"any\"]},{\"topic\":\"u\",\"partition\":3,\"replicas\":[]}]}";
    ck_assert_int_eq(zkpaths_tplist_decode(S(in), true, &o), 0);
    ck_assert_uint_eq(o.n, 2);
    ck_assert_str_eq(o.v[1].topic, "u");
    ck_assert_int_eq(o.v[1].partition, 3);
    ck_assert_uint_eq(o.v[0].replicas.n, 2);
    zkpaths_tplist_free(&o);
    ck_assert_int_eq(zkpaths_tplist_decode(S("{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0}]}"),
                                           false, &o), 0);
    zkpaths_tplist_free(&o);
    const char *bad[] = {
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0}]}",           /* no replicas */
        "{\"version\":1,\"partitions\":[{\"topic\":\"t/x\",\"partition\":0,\"replicas\":[]}]}",
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":-2,\"replicas\":[]}]}",
        "{\"version\":1,\"partitions\":[{\"partition\":0,\"replicas\":[]}]}",
        "{\"version\":1,\"partitions\":[1]}", "{\"version\":1,\"partitions\":{}}", "{\"version\":1}",
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[\"1\"]}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(zkpaths_tplist_decode(S(bad[i]), true, &o) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_null(o.v);
    }
}
END_TEST

START_TEST(misc_payloads)
{
    ENC_EQ(zkpaths_cluster_id_encode("sJ4eDqIRSVKf0uqkHnQ6dA", &b_), "{\"version\":\"1\",\"id\":\"sJ4eDqIRSVKf0uqkHnQ6dA\"}");
    char *id;
    ck_assert_int_eq(zkpaths_cluster_id_decode(S("{\"version\":\"1\",\"id\":\"abc\"}"), &id), 0);
    ck_assert_str_eq(id, "abc");
    free(id);
    ck_assert_int_eq(zkpaths_cluster_id_decode(S("{\"version\":\"1\",\"id\":\"\"}"), &id), -1);
    ck_assert_int_eq(zkpaths_cluster_id_decode(S("{\"version\":\"1\",\"id\":1}"), &id), -1);

    zkpaths_pid_block_t pb = {0, 0, 999};
    ENC_EQ(zkpaths_pid_block_encode(&pb, &b_), "{\"version\":1,\"broker\":0,\"block_start\":\"0\",\"block_end\":\"999\"}");
    zkpaths_pid_block_t po;
    ck_assert_int_eq(zkpaths_pid_block_decode(S("{\"version\":1,\"broker\":2,\"block_start\":\"1000\",\"block_end\":"
                                                "\"1999\"}"), &po), 0);
    ck_assert_int_eq(po.broker, 2);
    ck_assert_int_eq(po.block_start, 1000);
    ck_assert_int_eq(po.block_end, 1999);
    ck_assert_int_eq(zkpaths_pid_block_decode(S("{\"version\":1,\"broker\":2,\"block_start\":\"9\",\"block_end\":"
                                                "\"1\"}"), &po), -1);
    ck_assert_int_eq(zkpaths_pid_block_decode(S("{\"version\":1,\"broker\":2,\"block_start\":\"x\",\"block_end\":"
                                                "\"1\"}"), &po), -1);

    ENC_EQ(zkpaths_log_dir_event_encode(1, 1, &b_), "{\"version\":1,\"broker\":1,\"event\":1}");
    int32_t br, ev;
    ck_assert_int_eq(zkpaths_log_dir_event_decode(S("{\"version\":1,\"broker\":4,\"event\":1}"), &br, &ev), 0);
    ck_assert_int_eq(br, 4);
    ck_assert_int_eq(zkpaths_log_dir_event_decode(S("{\"version\":1}"), &br, &ev), -1);

    /* old consumer registration (observed 0.9 console consumer) */
    zkpaths_consumer_t c = {0};
    zkpaths_config_set(&c.subscription, "t1", "1");
    c.pattern = "white_list";
    c.timestamp = 1795215904871LL;
    ENC_EQ(zkpaths_consumer_encode(&c, &b_),
           "{\"version\":1,\"subscription\":{\"t1\":1},\"pattern\":\"white_list\",\"timestamp\":\"1795215904871\"}");
    c.pattern = NULL;
    zkpaths_consumer_free(&c);
    zkpaths_consumer_t co;
    ck_assert_int_eq(zkpaths_consumer_decode(S("{\"version\":1,\"subscription\":{\"t1\":2},\"pattern\":\"static\","
                                               "\"timestamp\":\"5\"}"), &co), 0);
    ck_assert_str_eq(co.pattern, "static");
    ck_assert_str_eq(zkpaths_config_get(&co.subscription, "t1"), "2");
    ck_assert_int_eq(co.timestamp, 5);
    zkpaths_consumer_free(&co);
    ck_assert_int_eq(zkpaths_consumer_decode(S("{\"version\":1,\"subscription\":{\"t1\":\"x\"},\"pattern\":\"static\"}"),
                                             &co), -1);
    int64_t off;
    ck_assert_int_eq(zkpaths_long_decode(S("12345"), &off), 0);
    ck_assert_int_eq(off, 12345);
    ck_assert_int_eq(zkpaths_long_decode(S("12a"), &off), -1);
    ck_assert_int_eq(zkpaths_long_decode(S("99999999999999999999"), &off), -1);
}
END_TEST

/* Hostile input fed to every decoder: nothing crashes, nothing leaks (see make asan /
 * make valgrind), everything malformed is rejected. */
START_TEST(garbage_everywhere)
{
    static const char *junk[] = {
        "", " ", "{", "}", "[", "\"", "nul", "{\"version\":}", "{\"a\":1,}", "{'version':1}",
        "\xff\xfe{}", "{\"version\":1,\"partitions\":{\"0\":[0]}}trailing",
        "{\"version\":1e309}", "{\"version\":18446744073709551616}", "{\"version\":-9223372036854775809}",
        "{\"\\ud800\":1}", "{\"version\":1,\"partitions\":{\"0\":[0,]}}",
    };
    char deep[5000];
    size_t k = 0;
    for (; k < 2400; k++)
        deep[k] = '[';
    deep[k] = 0;
    for (size_t i = 0; i <= sizeof junk / sizeof junk[0]; i++) {
        const char *s = i < sizeof junk / sizeof junk[0] ? junk[i] : deep;
        size_t n = strlen(s);
        zkpaths_broker_t b;
        zkpaths_topic_t t;
        zkpaths_pstate_t ps;
        zkpaths_config_t c;
        zkpaths_tplist_t l;
        zkpaths_consumer_t co;
        zkpaths_pid_block_t pb;
        int32_t x, y;
        char *str = NULL;
        ck_assert_int_eq(zkpaths_broker_decode(s, n, &b), -1);
        ck_assert_int_eq(zkpaths_topic_decode(s, n, &t), -1);
        ck_assert_int_eq(zkpaths_pstate_decode(s, n, &ps), -1);
        if (n > 0)
            ck_assert_int_eq(zkpaths_config_decode(s, n, &c), -1);
        ck_assert_int_eq(zkpaths_tplist_decode(s, n, true, &l), -1);
        ck_assert_int_eq(zkpaths_tplist_decode(s, n, false, &l), -1);
        ck_assert_int_eq(zkpaths_consumer_decode(s, n, &co), -1);
        ck_assert_int_eq(zkpaths_pid_block_decode(s, n, &pb), -1);
        ck_assert_int_eq(zkpaths_controller_decode(s, n, &x), -1);
        ck_assert_int_eq(zkpaths_epoch_decode(s, n, &x), -1);
        ck_assert_int_eq(zkpaths_log_dir_event_decode(s, n, &x, &y), -1);
        ck_assert_int_eq(zkpaths_cluster_id_decode(s, n, &str), -1);
        ck_assert_int_eq(zkpaths_config_change_decode(s, n, &str), -1);
    }
    /* not NUL-terminated input: the decoder must honour len */
    char buf[8] = {'{', '"', 'v', '"', ':', '1', '}', 'X'};
    int32_t e;
    ck_assert_int_eq(zkpaths_epoch_decode(buf + 5, 1, &e), 0);
    ck_assert_int_eq(e, 1);
    zkpaths_pstate_t ps;
    ck_assert_int_eq(zkpaths_pstate_decode(buf, 7, &ps), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("zkpaths");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, paths);
    tcase_add_test(tc, map_orders);
    tcase_add_test(tc, broker_registration_v4);
    tcase_add_test(tc, broker_registration_decode);
    tcase_add_test(tc, topic_assignment);
    tcase_add_test(tc, partition_state);
    tcase_add_test(tc, controller_and_epoch);
    tcase_add_test(tc, config_payloads);
    tcase_add_test(tc, partition_lists);
    tcase_add_test(tc, misc_payloads);
    tcase_add_test(tc, garbage_everywhere);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
