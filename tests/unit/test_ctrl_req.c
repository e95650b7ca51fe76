/* Unit tests: controller requests as Kafka protocol structs (broker/ctrl_req.h) — every
 * version encodes and decodes back to the same request, fields as the step decided,
 * entries of failed writes left out. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "broker/ctrl_core.h"
#include "broker/ctrl_req.h"
#include "common/alloc.h"
#include "proto/kafka_api.h"

static zkpaths_endpoint_t eps[2][2] = {
    {{"PLAINTEXT", "PLAINTEXT", "127.0.0.1", 9092}, {"SECURE", "SSL", "127.0.0.1", 9093}},
    {{"PLAINTEXT", "PLAINTEXT", "127.0.0.2", 9092}, {"SECURE", "SSL", "127.0.0.2", 9093}},
};
static zkpaths_broker_t regs[2] = {
    {.version = 4, .endpoints = eps[0], .n_endpoints = 2, .rack = "r0"},
    {.version = 4, .endpoints = eps[1], .n_endpoints = 2},
};

static const zkpaths_broker_t *lookup(void *arg, int32_t id)
{
    (void)arg;
    return id >= 0 && id < 2 ? &regs[id] : NULL;
}

/* Two brokers, topics "a" (2 partitions [0,1], [1,0]) and "b" (1 partition [0]). */
static void setup(ctrl_ctx_t *ctx, ctrl_out_t *out)
{
    ctrl_ctx_init(ctx, 0, 5, 5);
    int32_t ids[2] = {0, 1};
    int64_t ep[2] = {77, 88};
    ctrl_ctx_set_live(ctx, ids, ep, 2);
    zkpaths_topic_t a = {.version = 1, .n_parts = 2}, b = {.version = 1, .n_parts = 1};
    int32_t r01[] = {0, 1}, r10[] = {1, 0}, r0[] = {0};
    zkpaths_passign_t pa[2] = {{0, {r01, 2}, {0}, {0}}, {1, {r10, 2}, {0}, {0}}};
    zkpaths_passign_t pb[1] = {{0, {r0, 1}, {0}, {0}}};
    a.parts = pa;
    b.parts = pb;
    ctrl_out_init(out);
    ck_assert_int_eq(ctrl_core_topic_created(ctx, "a", &a, out), 0);
    ck_assert_int_eq(ctrl_core_topic_created(ctx, "b", &b, out), 0);
}

static void roundtrip(const kp_schema_t *s, int16_t key, int version, const void *obj, size_t size)
{
    const kp_api_t *api = kp_api_find(key);
    bool flex = api->flex_ver >= 0 && version >= api->flex_ver;
    buf_t b = BUF_INIT;
    ck_assert_int_eq(kp_encode(s, version, flex, obj, &b), KP_OK);
    arena_t a;
    arena_init(&a);
    void *back = xcalloc(1, size);
    rd_t r;
    rd_init(&r, b.data, b.len);
    ck_assert_int_eq(kp_decode(s, version, flex, &r, &a, back), KP_OK);
    ck_assert_uint_eq(rd_left(&r), 0);
    ck_assert(kp_equal(s, version, obj, back));
    free(back);
    arena_free(&a);
    buf_free(&b);
}

START_TEST(leader_and_isr_all_versions)
{
    ctrl_ctx_t ctx;
    ctrl_out_t out;
    setup(&ctx, &out);
    ctrl_req_env_t env = {NULL, lookup, NULL, "PLAINTEXT"};
    for (int v = 0; v <= 4; v++) {
        arena_t a;
        arena_init(&a);
        kp_LeaderAndIsrRequest req;
        ck_assert_int_eq(ctrl_req_leader_and_isr(&out, &ctx, 0, v, &env, &a, &req), 3);
        ck_assert_int_eq(req.ControllerId, 0);
        ck_assert_int_eq(req.ControllerEpoch, 5);
        ck_assert_int_eq(req.BrokerEpoch, 77);
        if (v < 2) {
            ck_assert_int_eq(req.UngroupedPartitionStates.n, 3);
            kp_LeaderAndIsrPartitionState *ps = &req.UngroupedPartitionStates.v[1];
            ck_assert(kp_str_eq(ps->TopicName, "a"));
            ck_assert_int_eq(ps->PartitionIndex, 1);
            ck_assert_int_eq(ps->Leader, 1);
            ck_assert_int_eq(ps->Isr.n, 2);
            ck_assert(ps->IsNew);
        } else {
            ck_assert_int_eq(req.TopicStates.n, 2);
            ck_assert(kp_str_eq(req.TopicStates.v[0].TopicName, "a"));
            ck_assert_int_eq(req.TopicStates.v[0].PartitionStates.n, 2);
            ck_assert_int_eq(req.TopicStates.v[1].PartitionStates.n, 1);
            ck_assert_int_eq(req.TopicStates.v[1].PartitionStates.v[0].Replicas.v[0], 0);
        }
        ck_assert_int_eq(req.LiveLeaders.n, 2);
        ck_assert_int_eq(req.LiveLeaders.v[1].BrokerId, 1);
        ck_assert(kp_str_eq(req.LiveLeaders.v[1].HostName, "127.0.0.2"));
        ck_assert_int_eq(req.LiveLeaders.v[1].Port, 9092);
        roundtrip(&kp_LeaderAndIsrRequest_schema, KP_LEADER_AND_ISR, v, &req, sizeof req);
        arena_free(&a);
    }
    /* the creating writes failed: nothing depending on them is sent */
    bool failed[3] = {true, true, true};
    env.failed = failed;
    arena_t a;
    arena_init(&a);
    kp_LeaderAndIsrRequest req;
    ck_assert_int_eq(ctrl_req_leader_and_isr(&out, &ctx, 0, 4, &env, &a, &req), 0);
    failed[2] = false;
    ck_assert_int_eq(ctrl_req_leader_and_isr(&out, &ctx, 0, 4, &env, &a, &req), 1);
    kp_UpdateMetadataRequest um;
    ck_assert_int_eq(ctrl_req_update_metadata(&out, &ctx, 6, &env, &a, &um), 1);
    arena_free(&a);
    ctrl_out_fini(&out);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(update_metadata_all_versions)
{
    ctrl_ctx_t ctx;
    ctrl_out_t out;
    setup(&ctx, &out);
    ctrl_req_env_t env = {NULL, lookup, NULL, NULL};
    for (int v = 0; v <= 6; v++) {
        arena_t a;
        arena_init(&a);
        kp_UpdateMetadataRequest req;
        ck_assert_int_eq(ctrl_req_update_metadata(&out, &ctx, v, &env, &a, &req), 3);
        ck_assert_int_eq(req.LiveBrokers.n, 2);
        ck_assert(kp_str_eq(req.LiveBrokers.v[0].V0Host, "127.0.0.1"));
        ck_assert_int_eq(req.LiveBrokers.v[0].Endpoints.n, 2);
        ck_assert_int_eq(req.LiveBrokers.v[0].Endpoints.v[1].SecurityProtocol, 1);
        ck_assert(kp_str_eq(req.LiveBrokers.v[0].Rack, "r0"));
        ck_assert_int_eq(req.LiveBrokers.v[1].Rack.len, -1);
        if (v < 5)
            ck_assert_int_eq(req.UngroupedPartitionStates.n, 3);
        else
            ck_assert_int_eq(req.TopicStates.n, 2);
        roundtrip(&kp_UpdateMetadataRequest_schema, KP_UPDATE_METADATA, v, &req, sizeof req);
        arena_free(&a);
    }
    ck_assert_int_eq(ctrl_req_protocol_id("SASL_SSL"), 3);
    ck_assert_int_eq(ctrl_req_protocol_id("bogus"), -1);
    ctrl_out_fini(&out);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(stop_replica_all_versions)
{
    ctrl_ctx_t ctx;
    ctrl_out_t out;
    setup(&ctx, &out);
    ctrl_out_fini(&out);
    ctrl_out_init(&out);
    const char *del[] = {"a"};
    ctrl_core_delete_topics(&ctx, del, 1, &out);
    for (int v = 0; v <= 2; v++) {
        arena_t a;
        arena_init(&a);
        kp_StopReplicaRequest req;
        ck_assert_int_eq(ctrl_req_stop_replica(&out, &ctx, 1, false, v, &a, &req), 0);
        ck_assert_int_eq(ctrl_req_stop_replica(&out, &ctx, 1, true, v, &a, &req), 2);
        ck_assert(req.DeletePartitions);
        ck_assert_int_eq(req.BrokerEpoch, 88);
        if (v == 0) {
            ck_assert_int_eq(req.UngroupedPartitions.n, 2);
        } else {
            ck_assert_int_eq(req.Topics.n, 1);
            ck_assert_int_eq(req.Topics.v[0].PartitionIndexes.n, 2);
        }
        roundtrip(&kp_StopReplicaRequest_schema, KP_STOP_REPLICA, v, &req, sizeof req);
        arena_free(&a);
    }
    ctrl_out_fini(&out);
    ctrl_ctx_fini(&ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl_req");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, leader_and_isr_all_versions);
    tcase_add_test(tc, update_metadata_all_versions);
    tcase_add_test(tc, stop_replica_all_versions);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
