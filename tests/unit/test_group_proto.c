/* Unit tests: broker/group_proto — the consumer protocol's subscription and assignment, checked
 * against bytes Apache Kafka 0.9.0.1's ConsumerProtocol serializes (run on a JVM), v1 owned
 * partitions, newer versions read as their prefix, truncation and hostile counts. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group_proto.h"
#include "tests/unit/test_kafka_util.h"

/* ConsumerProtocol.serializeSubscription(Subscription(["t1","t2"])) */
#define JAVA_SUB "000000000002000274310002743200000000"
/* ... (["t1"], userData = {9}) */
#define JAVA_SUB_UD "000000000001000274310000000109"
/* serializeAssignment(Assignment([t1-0, t1-2])) */
#define JAVA_ASG "0000000000010002743100000002000000000000000200000000"

START_TEST(java_bytes)
{
    arena_t a;
    arena_init(&a);
    buf_t b = BUF_INIT, w = BUF_INIT;
    gproto_subscription_t s;
    hex(&b, JAVA_SUB);
    ck_assert_int_eq(gproto_subscription_decode(b.data, b.len, &a, &s), 0);
    ck_assert_int_eq(s.version, 0);
    ck_assert_int_eq(s.topic_count, 2);
    ck_assert(kp_str_eq(s.topics[0], "t1") && kp_str_eq(s.topics[1], "t2"));
    ck_assert_int_eq(s.user_data.len, 0);
    gproto_subscription_write(&w, &s);
    assert_bytes(w.data, w.len, JAVA_SUB);

    buf_reset(&b);
    hex(&b, JAVA_SUB_UD);
    ck_assert_int_eq(gproto_subscription_decode(b.data, b.len, &a, &s), 0);
    ck_assert(s.user_data.len == 1 && s.user_data.p[0] == 9);

    buf_reset(&b);
    buf_reset(&w);
    hex(&b, JAVA_ASG);
    gproto_assignment_t as;
    ck_assert_int_eq(gproto_assignment_decode(b.data, b.len, &a, &as), 0);
    ck_assert_int_eq(as.count, 1);
    ck_assert(kp_str_eq(as.assigned[0].topic, "t1"));
    ck_assert(as.assigned[0].count == 2 && as.assigned[0].partitions[0] == 0 && as.assigned[0].partitions[1] == 2);
    gproto_assignment_write(&w, &as);
    assert_bytes(w.data, w.len, JAVA_ASG);
    for (size_t n = 0; n + 4 < b.len; n++)   /* cut anywhere before the user data: malformed */
        ck_assert_int_eq(gproto_assignment_decode(b.data, n, &a, &as), -1);
    /* an old client that ends before user_data: null */
    ck_assert_int_eq(gproto_assignment_decode(b.data, b.len - 4, &a, &as), 0);
    ck_assert_int_eq(as.user_data.len, -1);
    buf_free(&b);
    buf_free(&w);
    arena_free(&a);
}
END_TEST

START_TEST(v1_owned_and_newer)
{
    arena_t a;
    arena_init(&a);
    kp_str_t topics[1] = {kp_str("x")};
    int32_t parts[3] = {4, 5, 6};
    gproto_topic_parts_t owned = {kp_str("x"), 3, parts};
    gproto_subscription_t s = {1, 1, topics, {NULL, -1}, 1, &owned};
    buf_t w = BUF_INIT;
    gproto_subscription_write(&w, &s);
    assert_bytes(w.data, w.len, "0001 00000001 000178 ffffffff 00000001 000178 00000003 00000004 00000005 00000006");
    gproto_subscription_t r;
    ck_assert_int_eq(gproto_subscription_decode(w.data, w.len, &a, &r), 0);
    ck_assert(r.version == 1 && r.owned_count == 1 && r.owned[0].count == 3 && r.owned[0].partitions[2] == 6);
    ck_assert_int_eq(r.user_data.len, -1);
    /* version 7 with fields we do not know: read as the v1 prefix */
    w.data[1] = 7;
    buf_put_be32(&w, 0xdeadbeef);
    ck_assert_int_eq(gproto_subscription_decode(w.data, w.len, &a, &r), 0);
    ck_assert(r.version == 7 && r.topic_count == 1 && r.owned_count == 1);
    /* a hostile topic count does not allocate */
    buf_reset(&w);
    buf_put_be16(&w, 0);
    buf_put_be32(&w, 0x7fffffff);
    ck_assert_int_eq(gproto_subscription_decode(w.data, w.len, &a, &r), -1);
    buf_free(&w);
    arena_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("group_proto");
    TCase *tc = tcase_create("group_proto");
    tcase_add_test(tc, java_bytes);
    tcase_add_test(tc, v1_owned_and_newer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
