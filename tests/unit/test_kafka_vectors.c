/* Unit tests: golden wire captures of real Kafka clients and of Apache Kafka 0.9.0.1
 * (the .hex files in tests/unit/vectors/kafka; how they were made: README.md there).
 *
 * Every request must decode (header and body, no trailing bytes) and re-encode to exactly the
 * client's bytes; every response must decode at its request's version and re-encode to exactly
 * the bytes the broker sent. A few captures are also checked field by field. Run from the top
 * directory (as `make unit` does) or with GREGOR_TOP set. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "proto/kafka_api.h"
#include "tests/unit/test_kafka_util.h"

#define VEC_DIR "tests/unit/vectors/kafka"

typedef struct vec_s {
    char name[256];
    int key, version;
    bool request;
    int32_t corr;
    buf_t bytes;     /* the whole frame, size prefix included */
} vec_t;

static char dir_path[1024];

static const char *vec_dir(void)
{
    const char *top = getenv("GREGOR_TOP");
    snprintf(dir_path, sizeof dir_path, "%s%s%s", top ? top : "", top ? "/" : "", VEC_DIR);
    return dir_path;
}

/* Reads one capture; false if it is not one. */
static bool vec_load(const char *name, vec_t *v)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", vec_dir(), name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    buf_init(&v->bytes);
    char line[512];
    bool have_api = false;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') {
            char dir[16];
            const char *p = strstr(line, "key=");
            if (strncmp(line, "# api:", 6) == 0 && p &&
                sscanf(p, "key=%d version=%d dir=%15s correlation_id=%d", &v->key, &v->version, dir, &v->corr) == 4) {
                v->request = strcmp(dir, "request") == 0;
                have_api = true;
            }
            continue;
        }
        for (char *c = line; c[0] && c[1]; c += 2) {
            unsigned x;
            if (c[0] == '\n' || sscanf(c, "%2x", &x) != 1)
                break;
            buf_put_u8(&v->bytes, (uint8_t)x);
        }
    }
    fclose(f);
    ck_assert_msg(have_api, "%s: no '# api:' line", name);
    return true;
}

/* The generic checks; returns the decoded body (from a). */
static void *vec_check(vec_t *v, arena_t *a, kp_request_t *req)
{
    ck_assert_msg(v->bytes.len >= 8, "%s: short", v->name);
    ck_assert_msg(be32_get(v->bytes.data) == v->bytes.len - 4, "%s: size prefix", v->name);
    const uint8_t *frame = v->bytes.data + 4;
    size_t len = v->bytes.len - 4;
    buf_t again = BUF_INIT;
    void *body;
    if (v->request) {
        int rc = kp_request_decode(frame, len, a, req);
        ck_assert_msg(rc == KP_OK, "%s: decode status %d", v->name, rc);
        ck_assert_int_eq(req->hdr.api_key, v->key);
        ck_assert_int_eq(req->hdr.api_version, v->version);
        ck_assert_int_eq(req->hdr.correlation_id, v->corr);
        ck_assert_msg(req->trailing == 0, "%s: %zu trailing bytes", v->name, req->trailing);
        ck_assert_int_eq(kp_request_encode(&again, &req->hdr, req->body), KP_OK);
        body = req->body;
    } else {
        int32_t corr;
        int rc = kp_response_decode(frame, len, v->key, v->version, a, &corr, &body);
        ck_assert_msg(rc == KP_OK, "%s: decode status %d", v->name, rc);
        ck_assert_int_eq(corr, v->corr);
        ck_assert_int_eq(kp_response_encode(&again, v->key, v->version, corr, body), KP_OK);
    }
    if (again.len != v->bytes.len || memcmp(again.data, v->bytes.data, again.len)) {
        buf_t msg = BUF_INIT;
        const kp_api_t *api = kp_api_find(v->key);
        kp_dump(v->request ? api->req : api->resp, v->version, body, &msg);
        buf_puts(&msg, "\n  captured ");
        hexdump(&msg, v->bytes.data, v->bytes.len);
        buf_puts(&msg, "\n  ours     ");
        hexdump(&msg, again.data, again.len);
        ck_abort_msg("%s: re-encoding differs: %s", v->name, buf_cstr(&msg));
    }
    buf_free(&again);
    return body;
}

START_TEST(every_capture_roundtrips_byte_for_byte)
{
    DIR *d = opendir(vec_dir());
    ck_assert_msg(d != NULL, "no %s (run from the top directory or set GREGOR_TOP)", vec_dir());
    int requests = 0, responses = 0, kafka09 = 0;
    bool seen_key[64] = {false};
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".hex"))
            continue;
        vec_t v;
        vec_load(e->d_name, &v);
        arena_t a = ARENA_INIT;
        kp_request_t req;
        vec_check(&v, &a, &req);
        if (v.request)
            requests++;
        else
            responses++;
        if (strncmp(v.name, "kafka09-", 8) == 0 && !v.request)
            kafka09++;
        if (v.key < 64)
            seen_key[v.key] = true;
        arena_free(&a);
        buf_free(&v.bytes);
    }
    closedir(d);
    ck_assert_int_ge(requests, 130);
    ck_assert_int_ge(responses, 110);
    ck_assert_int_ge(kafka09, 40);   /* responses of a real Kafka broker */
    /* every API has at least one capture, except OffsetForLeaderEpoch (no client in scope sends
     * it) and SaslHandshake (needs a SASL listener) */
    for (size_t i = 0; i < KP_API_COUNT; i++) {
        int key = kp_api_table[i].key;
        if (key == KP_OFFSET_FOR_LEADER_EPOCH || key == KP_SASL_HANDSHAKE)
            continue;
        ck_assert_msg(seen_key[key], "no capture of %s", kp_api_table[i].name);
    }
}
END_TEST

/* Loads and checks one capture; the body stays valid until the arena and vec are freed. */
static void *load(const char *name, vec_t *v, arena_t *a, kp_request_t *req)
{
    vec_load(name, v);
    return vec_check(v, a, req);
}

START_TEST(librdkafka_api_versions_v3)
{
    vec_t v;
    arena_t a = ARENA_INIT;
    kp_request_t req;
    kp_ApiVersionsRequest *q = load("kcat-ApiVersions-v3-request.hex", &v, &a, &req);
    ck_assert_uint_eq(v.bytes.len, 40);
    ck_assert_int_eq(req.hdr.version, 2);
    ck_assert(kp_str_eq(req.hdr.client_id, "rdkafka"));
    ck_assert(kp_str_eq(q->ClientSoftwareName, "librdkafka"));
    ck_assert(kp_str_eq(q->ClientSoftwareVersion, "2.0.2"));
    /* our answer to that very request is what the capture holds (header v0, v3 body) */
    buf_t out = BUF_INIT;
    kp_api_versions_respond(&req, 0, &a, &out);
    vec_t r;
    load("kcat-ApiVersions-v3-response.hex", &r, &a, &req);
    ck_assert(out.len == r.bytes.len && memcmp(out.data, r.bytes.data, out.len) == 0);
    buf_free(&out);
    buf_free(&r.bytes);
    buf_free(&v.bytes);
    arena_free(&a);
}
END_TEST

START_TEST(kafka09_metadata_and_produce)
{
    vec_t v;
    arena_t a = ARENA_INIT;
    kp_request_t req;
    kp_MetadataResponse *m = load("kafka09-Metadata-v0-response-1.hex", &v, &a, &req);
    ck_assert_int_eq(m->Brokers.n, 1);
    ck_assert_int_eq(m->Brokers.v[0].NodeId, 1);
    ck_assert(kp_str_eq(m->Brokers.v[0].Host, "127.0.0.1"));
    ck_assert_int_eq(m->Brokers.v[0].Port, 19110);
    ck_assert_int_eq(m->Topics.n, 1);
    ck_assert(kp_str_eq(m->Topics.v[0].Name, "t"));
    ck_assert_int_eq(m->Topics.v[0].Partitions.n, 2);
    ck_assert_int_eq(m->Topics.v[0].Partitions.v[0].LeaderId, 1);
    ck_assert_int_eq(m->Topics.v[0].Partitions.v[1].IsrNodes.n, 1);
    buf_free(&v.bytes);

    /* the console producer's first Produce is acks=0: it expects no answer */
    kp_ProduceRequest *p = load("kafka09-Produce-v1-request-1.hex", &v, &a, &req);
    ck_assert(kp_str_eq(req.hdr.client_id, "console-producer"));
    ck_assert_int_eq(p->Acks, 0);
    ck_assert(!kp_request_wants_response(&req));
    ck_assert_int_gt(p->Topics.v[0].Partitions.v[0].Records.len, 26);
    buf_free(&v.bytes);

    /* a v0 produce to a topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION, offset -1 */
    kp_ProduceResponse *pr = load("kafka09-Produce-v0-response-2.hex", &v, &a, &req);
    ck_assert_int_eq(pr->Responses.n, 2);
    ck_assert(kp_str_eq(pr->Responses.v[1].Name, "nosuch-topic"));
    ck_assert_int_eq(pr->Responses.v[1].Partitions.v[0].ErrorCode, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(pr->Responses.v[1].Partitions.v[0].BaseOffset, -1);
    buf_free(&v.bytes);
    arena_free(&a);
}
END_TEST

START_TEST(kafka09_group_protocol)
{
    vec_t v;
    arena_t a = ARENA_INIT;
    kp_request_t req;
    kp_JoinGroupRequest *j = load("kafka09-JoinGroup-v0-request-1.hex", &v, &a, &req);
    ck_assert(kp_str_eq(j->GroupId, "g09"));
    ck_assert_int_eq(j->SessionTimeoutMs, 30000);
    ck_assert_int_eq(j->RebalanceTimeoutMs, -1);   /* not in v0: the broker uses the session timeout */
    ck_assert(kp_str_eq(j->MemberId, ""));
    ck_assert(kp_str_eq(j->ProtocolType, "consumer"));
    ck_assert_int_ge(j->Protocols.n, 1);
    ck_assert(kp_str_eq(j->Protocols.v[0].Name, "range"));
    buf_free(&v.bytes);

    kp_JoinGroupResponse *jr = load("kafka09-JoinGroup-v0-response-1.hex", &v, &a, &req);
    ck_assert_int_eq(jr->ErrorCode, 0);
    ck_assert_int_eq(jr->GenerationId, 1);
    ck_assert(kp_str_eq(jr->ProtocolName, "range"));
    ck_assert_int_eq(jr->Leader.len, jr->MemberId.len);
    ck_assert_int_eq(jr->Members.n, 1);
    buf_free(&v.bytes);

    kp_OffsetCommitRequest *oc = load("kafka09-OffsetCommit-v2-request-1.hex", &v, &a, &req);
    ck_assert(kp_str_eq(oc->GroupId, "g09"));
    ck_assert_int_eq(oc->GenerationId, 1);
    ck_assert_int_eq(oc->RetentionTimeMs, -1);
    buf_free(&v.bytes);
    arena_free(&a);
}
END_TEST

START_TEST(kafka09_controller_requests)
{
    vec_t v;
    arena_t a = ARENA_INIT;
    kp_request_t req;
    kp_LeaderAndIsrRequest *l = load("kafka09-LeaderAndIsr-v0-request-1.hex", &v, &a, &req);
    ck_assert_int_eq(l->ControllerId, 1);
    ck_assert_int_ge(l->ControllerEpoch, 1);
    ck_assert_int_eq(l->UngroupedPartitionStates.n, 2);
    kp_LeaderAndIsrPartitionState *ps = &l->UngroupedPartitionStates.v[0];
    ck_assert(kp_str_eq(ps->TopicName, "t"));
    ck_assert_int_eq(ps->Leader, 1);
    ck_assert_int_eq(ps->Isr.n, 1);
    ck_assert_int_eq(ps->Isr.v[0], 1);
    ck_assert_int_eq(ps->Replicas.n, 1);
    ck_assert_int_eq(l->LiveLeaders.n, 1);
    ck_assert_int_eq(l->LiveLeaders.v[0].Port, 19110);
    buf_free(&v.bytes);

    kp_UpdateMetadataRequest *u = load("kafka09-UpdateMetadata-v1-request-1.hex", &v, &a, &req);
    ck_assert_int_eq(u->LiveBrokers.n, 1);
    ck_assert_int_eq(u->LiveBrokers.v[0].Endpoints.n, 1);
    ck_assert(kp_str_eq(u->LiveBrokers.v[0].Endpoints.v[0].Host, "127.0.0.1"));
    ck_assert_int_eq(u->LiveBrokers.v[0].Endpoints.v[0].SecurityProtocol, 0);
    buf_free(&v.bytes);

    kp_StopReplicaRequest *s = load("kafka09-StopReplica-v0-request-1.hex", &v, &a, &req);
    ck_assert_int_eq(s->UngroupedPartitions.n, 1);
    ck_assert(kp_str_eq(s->UngroupedPartitions.v[0].TopicName, "gone"));
    buf_free(&v.bytes);

    kp_ControlledShutdownRequest *c = load("kafka09-ControlledShutdown-v1-request-1.hex", &v, &a, &req);
    ck_assert_int_eq(req.hdr.version, 1);
    ck_assert_int_eq(c->BrokerId, 1);
    buf_free(&v.bytes);
    kp_ControlledShutdownResponse *cr = load("kafka09-ControlledShutdown-v1-response-1.hex", &v, &a, &req);
    ck_assert_int_eq(cr->ErrorCode, 0);
    ck_assert_int_eq(cr->RemainingPartitions.n, 0);
    buf_free(&v.bytes);
    arena_free(&a);
}
END_TEST

START_TEST(flexible_requests_of_real_clients)
{
    vec_t v;
    arena_t a = ARENA_INIT;
    kp_request_t req;
    /* librdkafka's committed-offsets query at v6 (compact strings and arrays, tags) */
    kp_OffsetFetchRequest *of = load("ck-OffsetFetch-v6-request.hex", &v, &a, &req);
    ck_assert_int_eq(req.hdr.version, 2);
    ck_assert(kp_str_eq(of->GroupId, "ck-grp"));
    ck_assert_int_eq(of->Topics.n, 1);
    ck_assert(kp_str_eq(of->Topics.v[0].Name, "t"));
    ck_assert_int_eq(of->Topics.v[0].PartitionIndexes.n, 1);
    buf_free(&v.bytes);

    kp_InitProducerIdRequest *ip = load("kcat-InitProducerId-v2-request.hex", &v, &a, &req);
    ck_assert_int_eq(ip->TransactionalId.len, -1);
    ck_assert_int_eq(ip->TransactionTimeoutMs, -1);   /* idempotence without transactions */
    buf_free(&v.bytes);

    kp_CreateTopicsRequest *ct = load("ck-CreateTopics-v4-request.hex", &v, &a, &req);
    ck_assert_int_eq(ct->Topics.n, 1);
    ck_assert(kp_str_eq(ct->Topics.v[0].Name, "ck-new"));
    ck_assert_int_eq(ct->Topics.v[0].NumPartitions, 3);
    ck_assert_int_eq(ct->Topics.v[0].ReplicationFactor, 1);
    ck_assert_int_eq(ct->Topics.v[0].Configs.n, 1);
    ck_assert(kp_str_eq(ct->Topics.v[0].Configs.v[0].Name, "cleanup.policy"));
    ck_assert(kp_str_eq(ct->Topics.v[0].Configs.v[0].Value, "compact"));
    buf_free(&v.bytes);
    arena_free(&a);
}
END_TEST

START_TEST(kafka_python_inferred_2_4)
{
    vec_t v;
    arena_t a = ARENA_INIT;
    kp_request_t req;
    /* kafka-python probes with an empty ApiVersions v0 and, seeing our ranges, picks the
     * versions of a 2.4 broker: Produce v7 with a record batch, JoinGroup v2, Fetch v4 */
    load("kpyauto-ApiVersions-v0-request.hex", &v, &a, &req);
    ck_assert_uint_eq(v.bytes.len - 4, 8 + 2 + strlen("kafka-python-capture"));
    buf_free(&v.bytes);
    kp_ProduceRequest *p = load("kpyauto-Produce-v7-request.hex", &v, &a, &req);
    ck_assert_int_eq(p->TransactionalId.len, -1);
    ck_assert_int_eq(p->Acks, 1);
    kp_bytes_t rec = p->Topics.v[0].Partitions.v[0].Records;
    ck_assert_int_gt(rec.len, 61);
    ck_assert_int_eq(rec.p[16], 2);   /* magic of the record batch */
    buf_free(&v.bytes);
    load("kpyauto-JoinGroup-v2-request.hex", &v, &a, &req);
    buf_free(&v.bytes);
    load("kpyauto-Fetch-v4-request.hex", &v, &a, &req);
    buf_free(&v.bytes);
    arena_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kafka_vectors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, every_capture_roundtrips_byte_for_byte);
    tcase_add_test(tc, librdkafka_api_versions_v3);
    tcase_add_test(tc, kafka09_metadata_and_produce);
    tcase_add_test(tc, kafka09_group_protocol);
    tcase_add_test(tc, kafka09_controller_requests);
    tcase_add_test(tc, flexible_requests_of_real_clients);
    tcase_add_test(tc, kafka_python_inferred_2_4);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
