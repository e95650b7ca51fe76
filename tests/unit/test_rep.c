/* Unit tests: the replica manager (broker/replica.h) in-process: a real server on 127.0.0.1:0,
 * a real log manager in a temporary directory, no coordinator (topic configs fall back to the
 * broker defaults). LeaderAndIsr / StopReplica / Fetch frames come from a plain socket; the
 * internal API the group coordinator uses (brep_append_internal, brep_watch_leadership,
 * brep_is_leader) is called directly; parked operations are answered at brep_free. */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/meta.h"
#include "broker/replica.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/kafka_api.h"
#include "proto/kafka_records.h"

static broker_t B;
static bcfg_t CFG;
static char dir[64];

static void setup(void)
{
    log_set_level(LOG_ERROR);
    memset(&B, 0, sizeof B);
    snprintf(dir, sizeof dir, "/tmp/test_rep.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char text[256];
    snprintf(text, sizeof text,
             "broker.id=0\nzookeeper.connect=127.0.0.1:1\nlog.dirs=%s\nlisteners=PLAINTEXT://127.0.0.1:0\n", dir);
    char err[256];
    bcfg_src_t src = {.text = text, .hostname = "h"};
    ck_assert_msg(bcfg_load(&CFG, &src, err, sizeof err) == 0, "%s", err);
    B.cfg = &CFG;
    B.id = 0;
    B.listener_name = CFG.inter_broker_listener;
    ck_assert_ptr_nonnull(B.base = event_base_new());
    lmgr_config_t lc;
    bcfg_lmgr_config(&CFG, &lc);
    ck_assert_int_eq(lmgr_open(&lc, clock_wall_ms(), &B.logs, err, sizeof err), 0);
    bsrv_config_t sc = {.listeners = "PLAINTEXT://127.0.0.1:0"};
    bsrv_handlers_t h;
    memset(&h, 0, sizeof h);
    ck_assert_ptr_nonnull(B.srv = bsrv_new(B.base, &sc, &h));
    B.meta = bmeta_new(&B);
    B.rep = brep_new(&B);
}

static void teardown(void)
{
    bsrv_free(B.srv);
    B.srv = NULL;
    brep_free(B.rep);
    bmeta_free(B.meta);
    lmgr_close(B.logs, true);
    event_base_free(B.base);
    bcfg_free(&CFG);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- client side ---- */

static int connect_srv(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)bsrv_port(B.srv, 0))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void pump(int fd, int ms)
{
    event_base_loop(B.base, EVLOOP_NONBLOCK);
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, ms);
    event_base_loop(B.base, EVLOOP_NONBLOCK);
}

static int32_t corr_seq;

static void send_req(int fd, int key, int version, const void *body)
{
    buf_t b = BUF_INIT;
    kp_req_hdr_t h = {.api_key = (int16_t)key, .api_version = (int16_t)version, .correlation_id = ++corr_seq,
                      .client_id = kp_str("t"), .version = (int8_t)kp_req_hdr_version(key, version)};
    ck_assert_int_eq(kp_request_encode(&b, &h, body), KP_OK);
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = send(fd, b.data + off, b.len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            pump(fd, 1);
            continue;
        }
        ck_assert_int_gt(w, 0);
        off += (size_t)w;
    }
    buf_free(&b);
}

/* Waits for one response frame and decodes it; the frame lives in *frame. */
static void *recv_resp(int fd, int key, int version, arena_t *a, buf_t *frame)
{
    int64_t end = clock_mono_ms() + 5000;
    buf_reset(frame);
    for (;;) {
        if (frame->len >= 4 && frame->len >= 4 + (size_t)be32_get(frame->data))
            break;
        uint8_t tmp[65536];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r > 0) {
            buf_put(frame, tmp, (size_t)r);
            continue;
        }
        ck_assert_msg(r != 0, "connection closed");
        ck_assert_msg(clock_mono_ms() < end, "no response within 5 s");
        pump(fd, 2);
    }
    int32_t corr;
    void *body = NULL;
    ck_assert_int_eq(kp_response_decode(frame->data + 4, frame->len - 4, key, version, a, &corr, &body), KP_OK);
    ck_assert_int_eq(corr, corr_seq);
    return body;
}

static void leader_and_isr(int fd, const char *topic, int32_t partition, int32_t epoch, const int32_t *reps, int32_t n)
{
    arena_t a;
    arena_init(&a);
    kp_LeaderAndIsrRequest *q = kp_new(&a, &kp_LeaderAndIsrRequest_schema);
    q->ControllerEpoch = 1;
    kp_LeaderAndIsrRequest_LeaderAndIsrTopicState *ts = kp_new(&a, &kp_LeaderAndIsrRequest_LeaderAndIsrTopicState_schema);
    ts->TopicName = kp_str(topic);
    kp_LeaderAndIsrPartitionState *ps = kp_new(&a, &kp_LeaderAndIsrPartitionState_schema);
    ps->PartitionIndex = partition;
    ps->ControllerEpoch = 1;
    ps->Leader = 0;
    ps->LeaderEpoch = epoch;
    ps->Isr.n = n, ps->Isr.v = (int32_t *)reps;
    ps->Replicas.n = n, ps->Replicas.v = (int32_t *)reps;
    ts->PartitionStates.n = 1, ts->PartitionStates.v = ps;
    q->TopicStates.n = 1, q->TopicStates.v = ts;
    send_req(fd, KP_LEADER_AND_ISR, 4, q);
    buf_t f = BUF_INIT;
    kp_LeaderAndIsrResponse *r = recv_resp(fd, KP_LEADER_AND_ISR, 4, &a, &f);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert_int_eq(r->PartitionErrors.n, 1);
    ck_assert_int_eq(r->PartitionErrors.v[0].ErrorCode, 0);
    buf_free(&f);
    arena_free(&a);
}

static void batch(buf_t *out, const char *value)
{
    krec_build_t o;
    krec_build_init(&o, 2, 0);
    krec_record_t rec = {.offset = 0, .timestamp = 1000, .key = (const uint8_t *)"k", .key_len = 1,
                         .value = (const uint8_t *)value, .value_len = (int32_t)strlen(value)};
    ck_assert_int_eq(krec_build(out, &o, &rec, 1), 0);
}

/* ---- listeners and internal appends ---- */

static int lead_calls, lead_last;
static void on_lead(void *arg, const char *topic, int32_t partition, bool leader, int32_t epoch)
{
    (void)arg, (void)topic, (void)partition, (void)epoch;
    lead_calls++;
    lead_last = leader;
}

static int appended;
static int16_t app_err;
static int64_t app_base;
static void on_append(void *arg, int16_t error, int64_t base)
{
    (void)arg;
    appended++;
    app_err = error;
    app_base = base;
}

START_TEST(internal_append_and_leadership)
{
    brep_watch_leadership(B.rep, on_lead, NULL);
    lead_calls = 0, appended = 0;
    buf_t b = BUF_INIT;
    batch(&b, "v");
    brep_append_internal(B.rep, "__consumer_offsets", 0, b.data, b.len, on_append, NULL);
    ck_assert_int_eq(appended, 1);
    ck_assert_int_eq(app_err, KERR_UNKNOWN_TOPIC_OR_PARTITION);

    int fd = connect_srv();
    int32_t me[] = {0};
    leader_and_isr(fd, "__consumer_offsets", 0, 0, me, 1);
    ck_assert_int_eq(lead_calls, 1);
    ck_assert(lead_last);
    ck_assert(brep_is_leader(B.rep, "__consumer_offsets", 0));
    ck_assert(!brep_is_leader(B.rep, "__consumer_offsets", 1));
    for (int i = 0; i < 3; i++) {
        brep_append_internal(B.rep, "__consumer_offsets", 0, b.data, b.len, on_append, NULL);
        ck_assert_int_eq(appended, 2 + i);
        ck_assert_int_eq(app_err, 0);
        ck_assert_int_eq(app_base, i);
    }
    /* StopReplica (no delete): no longer leader, listeners told */
    arena_t a;
    arena_init(&a);
    buf_t f = BUF_INIT;
    kp_StopReplicaRequest *sr = kp_new(&a, &kp_StopReplicaRequest_schema);
    sr->ControllerEpoch = 1;
    kp_StopReplicaRequest_StopReplicaTopic *st = kp_new(&a, &kp_StopReplicaRequest_StopReplicaTopic_schema);
    st->Name = kp_str("__consumer_offsets");
    int32_t p0 = 0;
    st->PartitionIndexes.n = 1, st->PartitionIndexes.v = &p0;
    sr->Topics.n = 1, sr->Topics.v = st;
    send_req(fd, KP_STOP_REPLICA, 1, sr);
    kp_StopReplicaResponse *srr = recv_resp(fd, KP_STOP_REPLICA, 1, &a, &f);
    ck_assert_int_eq(srr->ErrorCode, 0);
    ck_assert_int_eq(lead_calls, 2);
    ck_assert(!lead_last);
    ck_assert(!brep_is_leader(B.rep, "__consumer_offsets", 0));
    brep_append_internal(B.rep, "__consumer_offsets", 0, b.data, b.len, on_append, NULL);
    ck_assert_int_eq(app_err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* the log is still there (no delete): leading again continues at offset 3 */
    leader_and_isr(fd, "__consumer_offsets", 0, 1, me, 1);
    brep_append_internal(B.rep, "__consumer_offsets", 0, b.data, b.len, on_append, NULL);
    ck_assert_int_eq(app_err, 0);
    ck_assert_int_eq(app_base, 3);
    buf_free(&f);
    arena_free(&a);
    buf_free(&b);
    close(fd);
}
END_TEST

/* An internal append to a partition with a follower in the ISR waits for the follower's
 * fetch; one still waiting at brep_free gets an error. */
START_TEST(internal_append_waits_for_the_isr)
{
    int fd = connect_srv();
    int32_t two[] = {0, 1};
    leader_and_isr(fd, "t", 0, 0, two, 2);
    buf_t b = BUF_INIT;
    batch(&b, "x");
    appended = 0;
    brep_append_internal(B.rep, "t", 0, b.data, b.len, on_append, NULL);
    ck_assert_int_eq(appended, 0);

    /* follower 1 fetches at 0 (HW stays 0), then at 1 (HW 1: the append completes) */
    arena_t a;
    arena_init(&a);
    buf_t f = BUF_INIT;
    for (int64_t off = 0; off <= 1; off++) {
        kp_FetchRequest *q = kp_new(&a, &kp_FetchRequest_schema);
        q->ReplicaId = 1;
        q->MaxWaitMs = 0;
        kp_FetchRequest_FetchTopic *t = kp_new(&a, &kp_FetchRequest_FetchTopic_schema);
        t->Topic = kp_str("t");
        kp_FetchRequest_FetchPartition *p = kp_new(&a, &kp_FetchRequest_FetchPartition_schema);
        p->FetchOffset = off;
        p->PartitionMaxBytes = 1 << 20;
        t->Partitions.n = 1, t->Partitions.v = p;
        q->Topics.n = 1, q->Topics.v = t;
        send_req(fd, KP_FETCH, 11, q);
        kp_FetchResponse *r = recv_resp(fd, KP_FETCH, 11, &a, &f);
        ck_assert_int_eq(r->Responses.v[0].Partitions.v[0].ErrorCode, 0);
        ck_assert_int_eq(r->Responses.v[0].Partitions.v[0].HighWatermark, off);
        if (off == 0)
            ck_assert_int_gt(r->Responses.v[0].Partitions.v[0].Records.len, 0);
        for (int i = 0; i < 5 && !appended; i++)
            pump(fd, 2);
        ck_assert_int_eq(appended, off == 0 ? 0 : 1);
    }
    ck_assert_int_eq(app_err, 0);
    ck_assert_int_eq(app_base, 0);

    /* a consumer's long poll times out empty; another append stays parked until brep_free */
    kp_FetchRequest *q = kp_new(&a, &kp_FetchRequest_schema);
    q->ReplicaId = -1;
    q->MaxWaitMs = 50;
    q->MinBytes = 1;
    kp_FetchRequest_FetchTopic *t = kp_new(&a, &kp_FetchRequest_FetchTopic_schema);
    t->Topic = kp_str("t");
    kp_FetchRequest_FetchPartition *p = kp_new(&a, &kp_FetchRequest_FetchPartition_schema);
    p->FetchOffset = 1;
    p->PartitionMaxBytes = 1 << 20;
    t->Partitions.n = 1, t->Partitions.v = p;
    q->Topics.n = 1, q->Topics.v = t;
    int64_t t0 = clock_mono_ms();
    send_req(fd, KP_FETCH, 4, q);
    kp_FetchResponse *r = recv_resp(fd, KP_FETCH, 4, &a, &f);
    ck_assert_int_ge(clock_mono_ms() - t0, 45);
    ck_assert_int_eq(r->Responses.v[0].Partitions.v[0].Records.len, 0);

    appended = 0;
    brep_append_internal(B.rep, "t", 0, b.data, b.len, on_append, NULL);
    ck_assert_int_eq(appended, 0);
    send_req(fd, KP_FETCH, 4, q);   /* parked at shutdown too */
    pump(fd, 5);
    bsrv_free(B.srv);
    B.srv = NULL;
    brep_free(B.rep);
    B.rep = NULL;
    ck_assert_int_eq(appended, 1);
    ck_assert_int_ne(app_err, 0);
    buf_free(&f);
    arena_free(&a);
    buf_free(&b);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rep");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, internal_append_and_leadership);
    tcase_add_test(tc, internal_append_waits_for_the_isr);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
