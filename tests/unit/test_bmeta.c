/* Unit tests: the metadata cache (broker/meta.h) fed with UpdateMetadata requests decoded by
 * the real codec at several versions: brokers and endpoints per listener, partition states,
 * LeaderDuringDelete removal, stale controller epochs, lookups. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "broker/meta.h"
#include "proto/kafka_api.h"

static broker_t B;
static bcfg_t CFG;

static bmeta_t *mk(void)
{
    memset(&B, 0, sizeof B);
    memset(&CFG, 0, sizeof CFG);
    B.cfg = &CFG;
    B.id = 1;
    B.listener_name = "INTERNAL";
    return bmeta_new(&B);
}

/* Encodes req at version and decodes it back, as the server would hand it over. */
static kp_UpdateMetadataRequest *roundtrip(arena_t *a, const kp_UpdateMetadataRequest *req, int version, buf_t *b)
{
    ck_assert_int_eq(kp_encode(&kp_UpdateMetadataRequest_schema, version, version >= 6, req, b), KP_OK);
    rd_t r;
    rd_init(&r, b->data, b->len);
    kp_UpdateMetadataRequest *out = kp_new(a, &kp_UpdateMetadataRequest_schema);
    ck_assert_int_eq(kp_decode(&kp_UpdateMetadataRequest_schema, version, version >= 6, &r, a, out), KP_OK);
    return out;
}

static int32_t one[] = {1}, two[] = {1, 2};

START_TEST(update_v5_and_lookups)
{
    bmeta_t *m = mk();
    arena_t a;
    arena_init(&a);
    kp_UpdateMetadataRequest req;
    kp_init(&kp_UpdateMetadataRequest_schema, &req);
    req.ControllerId = 1;
    req.ControllerEpoch = 3;
    kp_UpdateMetadataRequest_UpdateMetadataEndpoint eps[2] = {
        {9092, kp_str("h1"), kp_str("PLAINTEXT"), 0}, {9093, kp_str("h1i"), kp_str("INTERNAL"), 0}};
    kp_UpdateMetadataRequest_UpdateMetadataBroker brs[2];
    kp_init(&kp_UpdateMetadataRequest_UpdateMetadataBroker_schema, &brs[0]);
    kp_init(&kp_UpdateMetadataRequest_UpdateMetadataBroker_schema, &brs[1]);
    brs[0].Id = 1, brs[0].Endpoints.n = 2, brs[0].Endpoints.v = eps, brs[0].Rack = kp_str("r1");
    brs[1].Id = 2, brs[1].Endpoints.n = 1, brs[1].Endpoints.v = eps, brs[1].Rack = KP_STR_NULL;
    req.LiveBrokers.n = 2, req.LiveBrokers.v = brs;
    kp_UpdateMetadataPartitionState ps[3];
    for (int i = 0; i < 3; i++) {
        kp_init(&kp_UpdateMetadataPartitionState_schema, &ps[i]);
        ps[i].PartitionIndex = i;
        ps[i].ControllerEpoch = 3;
        ps[i].Leader = i == 2 ? 5 : 1 + i;   /* partition 2's leader is not live */
        ps[i].LeaderEpoch = 7 + i;
        ps[i].Isr.n = 2, ps[i].Isr.v = two;
        ps[i].Replicas.n = 2, ps[i].Replicas.v = two;
    }
    kp_UpdateMetadataRequest_UpdateMetadataTopicState ts;
    kp_init(&kp_UpdateMetadataRequest_UpdateMetadataTopicState_schema, &ts);
    ts.TopicName = kp_str("t");
    ts.PartitionStates.n = 3, ts.PartitionStates.v = ps;
    req.TopicStates.n = 1, req.TopicStates.v = &ts;
    buf_t b = BUF_INIT;
    ck_assert_int_eq(bmeta_update(m, roundtrip(&a, &req, 5, &b), 5), 0);

    ck_assert_int_eq(bmeta_partition_count(m, "t"), 3);
    ck_assert_int_eq(bmeta_partition_count(m, "u"), -1);
    int32_t leader = -9, epoch = -9;
    ck_assert_int_eq(bmeta_leader(m, "t", 1, &leader, &epoch), 0);
    ck_assert_int_eq(leader, 2);
    ck_assert_int_eq(epoch, 8);
    ck_assert_int_eq(bmeta_leader(m, "t", 2, &leader, &epoch), 0);
    ck_assert_int_eq(leader, -1);
    ck_assert_int_eq(bmeta_leader(m, "t", 3, &leader, &epoch), -KERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert(bmeta_contains(m, "t", 0));
    ck_assert(!bmeta_contains(m, "t", 3));
    ck_assert_int_eq(bmeta_controller_id(m), 1);

    const char *host;
    int32_t port;
    ck_assert_int_eq(bmeta_endpoint(m, 1, NULL, &host, &port), 0);   /* inter-broker listener */
    ck_assert_str_eq(host, "h1i");
    ck_assert_int_eq(port, 9093);
    ck_assert_int_eq(bmeta_endpoint(m, 1, "PLAINTEXT", &host, &port), 0);
    ck_assert_int_eq(port, 9092);
    ck_assert_int_eq(bmeta_endpoint(m, 2, "INTERNAL", &host, &port), -1);
    ck_assert_int_eq(bmeta_endpoint(m, 3, "PLAINTEXT", &host, &port), -1);

    /* a stale controller epoch changes nothing */
    req.ControllerEpoch = 2;
    req.LiveBrokers.n = 0;
    b.len = 0;
    ck_assert_int_eq(bmeta_update(m, roundtrip(&a, &req, 5, &b), 5), KERR_STALE_CONTROLLER_EPOCH);
    ck_assert_int_eq(bmeta_endpoint(m, 2, "PLAINTEXT", &host, &port), 0);

    /* LeaderDuringDelete (-2) removes partitions; the topic goes with its last one */
    req.ControllerEpoch = 3;
    req.LiveBrokers.n = 2;
    for (int i = 0; i < 3; i++)
        ps[i].Leader = -2;
    ts.PartitionStates.n = 2;
    b.len = 0;
    ck_assert_int_eq(bmeta_update(m, roundtrip(&a, &req, 5, &b), 5), 0);
    ck_assert_int_eq(bmeta_partition_count(m, "t"), 1);
    ts.PartitionStates.v = &ps[2];
    ts.PartitionStates.n = 1;
    b.len = 0;
    ck_assert_int_eq(bmeta_update(m, roundtrip(&a, &req, 5, &b), 5), 0);
    ck_assert_int_eq(bmeta_partition_count(m, "t"), -1);

    buf_free(&b);
    arena_free(&a);
    bmeta_free(m);
}
END_TEST

START_TEST(update_v0_and_v2)
{
    bmeta_t *m = mk();
    arena_t a;
    arena_init(&a);
    kp_UpdateMetadataRequest req;
    kp_init(&kp_UpdateMetadataRequest_schema, &req);
    req.ControllerEpoch = 1;
    kp_UpdateMetadataRequest_UpdateMetadataBroker br;
    kp_init(&kp_UpdateMetadataRequest_UpdateMetadataBroker_schema, &br);
    br.Id = 1, br.V0Host = kp_str("old"), br.V0Port = 9000;
    req.LiveBrokers.n = 1, req.LiveBrokers.v = &br;
    kp_UpdateMetadataPartitionState ps;
    kp_init(&kp_UpdateMetadataPartitionState_schema, &ps);
    ps.TopicName = kp_str("x");
    ps.Leader = 1;
    ps.Isr.n = 1, ps.Isr.v = one;
    ps.Replicas.n = 1, ps.Replicas.v = one;
    req.UngroupedPartitionStates.n = 1, req.UngroupedPartitionStates.v = &ps;
    buf_t b = BUF_INIT;
    ck_assert_int_eq(bmeta_update(m, roundtrip(&a, &req, 0, &b), 0), 0);
    const char *host;
    int32_t port;
    ck_assert_int_eq(bmeta_endpoint(m, 1, "PLAINTEXT", &host, &port), 0);
    ck_assert_str_eq(host, "old");
    ck_assert_int_eq(bmeta_partition_count(m, "x"), 1);

    /* v2: endpoints named by their security protocol */
    kp_UpdateMetadataRequest_UpdateMetadataEndpoint ep = {9010, kp_str("new"), KP_STR_NULL, 1};
    br.Endpoints.n = 1, br.Endpoints.v = &ep;
    br.Rack = KP_STR_NULL;
    b.len = 0;
    ck_assert_int_eq(bmeta_update(m, roundtrip(&a, &req, 2, &b), 2), 0);
    ck_assert_int_eq(bmeta_endpoint(m, 1, "SSL", &host, &port), 0);
    ck_assert_str_eq(host, "new");
    ck_assert_int_eq(port, 9010);
    ck_assert_int_eq(bmeta_endpoint(m, 1, "PLAINTEXT", &host, &port), -1);
    buf_free(&b);
    arena_free(&a);
    bmeta_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bmeta");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, update_v5_and_lookups);
    tcase_add_test(tc, update_v0_and_v2);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
