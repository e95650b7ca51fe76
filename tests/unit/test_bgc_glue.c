/* Unit tests: broker/gcoord.c in-process — the group coordinator plugged into a real server on
 * 127.0.0.1:0, a real log manager in a temporary directory, the real metadata cache (fed with
 * bmeta_update) and the real replica manager (LeaderAndIsr / StopReplica frames from a plain
 * socket); no coordinator, no admin. Checks the glue end to end: FindCoordinator answers this
 * broker's endpoint for the listener, becoming leader of __consumer_offsets-0 loads it off the
 * timer, JoinGroup / SyncGroup / OffsetCommit / OffsetFetch go through the server and the
 * replica manager's internal appends, a parked JoinGroup of a closed connection is answered
 * into the void, StopReplica unloads the partition (NOT_COORDINATOR), and bgc_free with a
 * parked request and pending state leaves nothing behind (valgrind / ASan). */
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

#include "broker/gcoord.h"
#include "broker/group_proto.h"
#include "broker/meta.h"
#include "broker/offsets.h"
#include "broker/replica.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/kafka_api.h"

static broker_t B;
static bcfg_t CFG;
static char dir[64];
static arena_t A;

static void setup(void)
{
    log_set_level(LOG_ERROR);
    memset(&B, 0, sizeof B);
    snprintf(dir, sizeof dir, "/tmp/test_bgc_glue.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char text[512];
    snprintf(text, sizeof text,
             "broker.id=0\nzookeeper.connect=127.0.0.1:1\nlog.dirs=%s\nlisteners=PLAINTEXT://127.0.0.1:0\n"
             "offsets.topic.num.partitions=1\noffsets.topic.replication.factor=1\n"
             "group.initial.rebalance.delay.ms=0\n",
             dir);
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
    ck_assert_ptr_nonnull(B.groups = bgc_new(&B));
    arena_init(&A);
}

/* The order of broker_stop: server, groups, replica manager, metadata, logs. */
static void teardown(void)
{
    bsrv_free(B.srv);
    B.srv = NULL;
    bgc_free(B.groups);
    ck_assert_ptr_null(B.groups);   /* bgc_free clears it */
    brep_free(B.rep);
    bmeta_free(B.meta);
    lmgr_close(B.logs, true);
    event_base_free(B.base);
    bcfg_free(&CFG);
    arena_free(&A);
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
                      .client_id = kp_str("glue"), .version = (int8_t)kp_req_hdr_version(key, version)};
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

/* Waits (running the loop) for the response to correlation id `corr`; decoded from A. */
static void *recv_resp(int fd, int key, int version, int32_t corr)
{
    int64_t end = clock_mono_ms() + 10000;
    buf_t frame = BUF_INIT;
    for (;;) {
        if (frame.len >= 4 && frame.len >= 4 + (size_t)be32_get(frame.data))
            break;
        uint8_t tmp[65536];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r > 0) {
            buf_put(&frame, tmp, (size_t)r);
            continue;
        }
        ck_assert_msg(r != 0, "connection closed");
        ck_assert_msg(clock_mono_ms() < end, "no response within 10 s");
        pump(fd, 2);
    }
    /* the body's slices point into the frame: keep it in the arena */
    uint8_t *copy = arena_memdup(&A, frame.data, frame.len);
    int32_t c;
    void *body = NULL;
    ck_assert_int_eq(kp_response_decode(copy + 4, frame.len - 4, key, version, &A, &c, &body), KP_OK);
    ck_assert_int_eq(c, corr);
    buf_free(&frame);
    return body;
}

static void *call(int fd, int key, int version, const void *body)
{
    send_req(fd, key, version, body);
    return recv_resp(fd, key, version, corr_seq);
}

/* ---- the controller's part ---- */

static int32_t one[] = {0};

static void update_metadata(void)
{
    kp_UpdateMetadataRequest req;
    kp_init(&kp_UpdateMetadataRequest_schema, &req);
    req.ControllerId = 0;
    req.ControllerEpoch = 1;
    kp_UpdateMetadataRequest_UpdateMetadataEndpoint ep = {bsrv_port(B.srv, 0), kp_str("127.0.0.1"),
                                                          kp_str("PLAINTEXT"), 0};
    kp_UpdateMetadataRequest_UpdateMetadataBroker br;
    kp_init(&kp_UpdateMetadataRequest_UpdateMetadataBroker_schema, &br);
    br.Id = 0, br.Endpoints.n = 1, br.Endpoints.v = &ep, br.Rack = KP_STR_NULL;
    req.LiveBrokers.n = 1, req.LiveBrokers.v = &br;
    kp_UpdateMetadataPartitionState ps[3];
    for (int i = 0; i < 3; i++) {
        kp_init(&kp_UpdateMetadataPartitionState_schema, &ps[i]);
        ps[i].TopicName = kp_str(i == 0 ? OFFSETS_TOPIC : "t");
        ps[i].PartitionIndex = i == 0 ? 0 : i - 1;
        ps[i].ControllerEpoch = 1;
        ps[i].Leader = 0;
        ps[i].LeaderEpoch = 0;
        ps[i].Isr.n = 1, ps[i].Isr.v = one;
        ps[i].Replicas.n = 1, ps[i].Replicas.v = one;
    }
    kp_UpdateMetadataRequest_UpdateMetadataTopicState ts[2];
    kp_init(&kp_UpdateMetadataRequest_UpdateMetadataTopicState_schema, &ts[0]);
    kp_init(&kp_UpdateMetadataRequest_UpdateMetadataTopicState_schema, &ts[1]);
    ts[0].TopicName = kp_str(OFFSETS_TOPIC);
    ts[0].PartitionStates.n = 1, ts[0].PartitionStates.v = &ps[0];
    ts[1].TopicName = kp_str("t");
    ts[1].PartitionStates.n = 2, ts[1].PartitionStates.v = &ps[1];
    req.TopicStates.n = 2, req.TopicStates.v = ts;
    /* through the codec, as the server would hand it over */
    buf_t b = BUF_INIT;
    ck_assert_int_eq(kp_encode(&kp_UpdateMetadataRequest_schema, 5, false, &req, &b), KP_OK);
    rd_t r;
    rd_init(&r, b.data, b.len);
    kp_UpdateMetadataRequest *out = kp_new(&A, &kp_UpdateMetadataRequest_schema);
    ck_assert_int_eq(kp_decode(&kp_UpdateMetadataRequest_schema, 5, false, &r, &A, out), KP_OK);
    ck_assert_int_eq(bmeta_update(B.meta, out, 5), 0);
    buf_free(&b);
    ck_assert_int_eq(bmeta_partition_count(B.meta, "t"), 2);
}

static void leader_and_isr(int fd, const char *topic, int32_t partition)
{
    kp_LeaderAndIsrRequest *q = kp_new(&A, &kp_LeaderAndIsrRequest_schema);
    q->ControllerEpoch = 1;
    kp_LeaderAndIsrRequest_LeaderAndIsrTopicState *ts = kp_new(&A, &kp_LeaderAndIsrRequest_LeaderAndIsrTopicState_schema);
    ts->TopicName = kp_str(topic);
    kp_LeaderAndIsrPartitionState *ps = kp_new(&A, &kp_LeaderAndIsrPartitionState_schema);
    ps->PartitionIndex = partition;
    ps->ControllerEpoch = 1;
    ps->Leader = 0;
    ps->LeaderEpoch = 0;
    ps->Isr.n = 1, ps->Isr.v = one;
    ps->Replicas.n = 1, ps->Replicas.v = one;
    ts->PartitionStates.n = 1, ts->PartitionStates.v = ps;
    q->TopicStates.n = 1, q->TopicStates.v = ts;
    kp_LeaderAndIsrResponse *r = call(fd, KP_LEADER_AND_ISR, 4, q);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert_int_eq(r->PartitionErrors.n, 1);
    ck_assert_int_eq(r->PartitionErrors.v[0].ErrorCode, 0);
}

static void stop_replica(int fd, const char *topic, int32_t partition)
{
    kp_StopReplicaRequest *q = kp_new(&A, &kp_StopReplicaRequest_schema);
    q->ControllerEpoch = 1;
    q->DeletePartitions = false;
    kp_StopReplicaRequest_StopReplicaTopic *t = kp_new(&A, &kp_StopReplicaRequest_StopReplicaTopic_schema);
    t->Name = kp_str(topic);
    int32_t *p = arena_alloc(&A, sizeof *p);
    *p = partition;
    t->PartitionIndexes.n = 1, t->PartitionIndexes.v = p;
    q->Topics.n = 1, q->Topics.v = t;
    kp_StopReplicaResponse *r = call(fd, KP_STOP_REPLICA, 1, q);
    ck_assert_int_eq(r->ErrorCode, 0);
}

/* ---- group requests ---- */

static kp_FindCoordinatorResponse *find_coordinator(int fd, const char *group)
{
    kp_FindCoordinatorRequest q;
    kp_init(&kp_FindCoordinatorRequest_schema, &q);
    q.Key = kp_str(group);
    return call(fd, KP_FIND_COORDINATOR, 2, &q);
}

static kp_bytes_t subscription(void)
{
    kp_str_t t = kp_str("t");
    gproto_subscription_t s;
    memset(&s, 0, sizeof s);
    s.topic_count = 1;
    s.topics = &t;
    s.user_data = (kp_bytes_t){NULL, -1};
    buf_t b = BUF_INIT;
    gproto_subscription_write(&b, &s);
    kp_bytes_t r = {arena_memdup(&A, b.data, b.len), (int32_t)b.len};
    buf_free(&b);
    return r;
}

static void send_join(int fd, const char *group, const char *member)
{
    kp_JoinGroupRequest *q = kp_new(&A, &kp_JoinGroupRequest_schema);
    q->GroupId = kp_str(group);
    q->SessionTimeoutMs = 10000;
    q->RebalanceTimeoutMs = 30000;
    q->MemberId = kp_str(member);
    q->ProtocolType = kp_str("consumer");
    kp_JoinGroupRequest_JoinGroupRequestProtocol *p = kp_new(&A, &kp_JoinGroupRequest_JoinGroupRequestProtocol_schema);
    p->Name = kp_str("range");
    p->Metadata = subscription();
    q->Protocols.n = 1, q->Protocols.v = p;
    send_req(fd, KP_JOIN_GROUP, 2, q);
}

static kp_JoinGroupResponse *join(int fd, const char *group, const char *member)
{
    send_join(fd, group, member);
    return recv_resp(fd, KP_JOIN_GROUP, 2, corr_seq);
}

static int16_t sync_group(int fd, const char *group, int32_t gen, const char *member)
{
    kp_SyncGroupRequest q;
    kp_init(&kp_SyncGroupRequest_schema, &q);
    q.GroupId = kp_str(group);
    q.GenerationId = gen;
    q.MemberId = kp_str(member);
    int32_t parts[] = {0, 1};
    gproto_topic_parts_t tp = {kp_str("t"), 2, parts};
    gproto_assignment_t as = {0, 1, &tp, {NULL, -1}};
    buf_t b = BUF_INIT;
    gproto_assignment_write(&b, &as);
    kp_SyncGroupRequest_SyncGroupRequestAssignment a = {kp_str(member), {b.data, (int32_t)b.len}};
    q.Assignments.n = 1, q.Assignments.v = &a;
    kp_SyncGroupResponse *r = call(fd, KP_SYNC_GROUP, 1, &q);
    buf_free(&b);
    return r->ErrorCode;
}

static int16_t commit(int fd, const char *group, int32_t gen, const char *member, int32_t part, int64_t offset)
{
    kp_OffsetCommitRequest q;
    kp_init(&kp_OffsetCommitRequest_schema, &q);
    q.GroupId = kp_str(group);
    q.GenerationId = gen;
    q.MemberId = kp_str(member);
    kp_OffsetCommitRequest_OffsetCommitRequestPartition p;
    kp_init(&kp_OffsetCommitRequest_OffsetCommitRequestPartition_schema, &p);
    p.PartitionIndex = part;
    p.CommittedOffset = offset;
    p.CommittedMetadata = kp_str("");
    kp_OffsetCommitRequest_OffsetCommitRequestTopic t = {kp_str("t"), {1, &p}};
    q.Topics.n = 1, q.Topics.v = &t;
    kp_OffsetCommitResponse *r = call(fd, KP_OFFSET_COMMIT, 2, &q);
    ck_assert_int_eq(r->Topics.n, 1);
    return r->Topics.v[0].Partitions.v[0].ErrorCode;
}

static int64_t fetch(int fd, const char *group, int32_t part)
{
    kp_OffsetFetchRequest q;
    kp_init(&kp_OffsetFetchRequest_schema, &q);
    q.GroupId = kp_str(group);
    kp_OffsetFetchRequest_OffsetFetchRequestTopic t;
    t.Name = kp_str("t");
    t.PartitionIndexes.n = 1, t.PartitionIndexes.v = &part;
    q.Topics.n = 1, q.Topics.v = &t;
    kp_OffsetFetchResponse *r = call(fd, KP_OFFSET_FETCH, 1, &q);
    ck_assert_int_eq(r->Topics.v[0].Partitions.v[0].ErrorCode, 0);
    return r->Topics.v[0].Partitions.v[0].CommittedOffset;
}

/* ---- tests ---- */

START_TEST(no_offsets_topic_yet)
{
    /* nothing in the metadata cache and no admin: a creation would be needed; without the
     * topic the answer is COORDINATOR_NOT_AVAILABLE. (B.admin is NULL here, so only check a
     * group API, which does not create.) */
    int fd = connect_srv();
    kp_JoinGroupResponse *r = join(fd, "g", "");
    ck_assert_int_eq(r->ErrorCode, KERR_NOT_COORDINATOR);
    close(fd);
}
END_TEST

START_TEST(groups_over_the_broker)
{
    int fd = connect_srv();
    update_metadata();
    leader_and_isr(fd, "t", 0);
    leader_and_isr(fd, "t", 1);
    leader_and_isr(fd, OFFSETS_TOPIC, 0);

    kp_FindCoordinatorResponse *fc = find_coordinator(fd, "g");
    ck_assert_int_eq(fc->ErrorCode, 0);
    ck_assert_int_eq(fc->NodeId, 0);
    ck_assert(kp_str_eq(fc->Host, "127.0.0.1"));
    ck_assert_int_eq(fc->Port, bsrv_port(B.srv, 0));

    /* the load runs off the timer: retry while it is in progress */
    kp_JoinGroupResponse *jr;
    int64_t end = clock_mono_ms() + 10000;
    while ((jr = join(fd, "g", ""))->ErrorCode == KERR_COORDINATOR_LOAD_IN_PROGRESS) {
        ck_assert(clock_mono_ms() < end);
        pump(fd, 1);
    }
    ck_assert_int_eq(jr->ErrorCode, 0);
    ck_assert_int_eq(jr->GenerationId, 1);
    char *m = kp_str_dup(&A, jr->MemberId);
    ck_assert(strncmp(m, "glue-", 5) == 0);
    ck_assert_int_eq(sync_group(fd, "g", 1, m), 0);
    ck_assert_int_eq(commit(fd, "g", 1, m, 1, 77), 0);
    ck_assert_int_eq(fetch(fd, "g", 1), 77);
    /* the records are in __consumer_offsets-0 */
    plog_t *l = lmgr_get(B.logs, OFFSETS_TOPIC, 0);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_ge(plog_end_offset(l), 2);

    /* a second member's join parks; its connection closes; the first rejoins */
    int fd2 = connect_srv();
    send_join(fd2, "g", "");
    pump(fd2, 20);
    close(fd2);
    pump(fd, 20);
    jr = join(fd, "g", m);
    ck_assert_int_eq(jr->ErrorCode, 0);
    ck_assert_int_eq(jr->GenerationId, 2);
    ck_assert_int_eq(jr->Members.n, 2);

    /* StopReplica: the partition's groups are unloaded */
    stop_replica(fd, OFFSETS_TOPIC, 0);
    jr = join(fd, "g", m);
    ck_assert_int_eq(jr->ErrorCode, KERR_NOT_COORDINATOR);
    close(fd);
}
END_TEST

START_TEST(free_with_parked_requests)
{
    int fd = connect_srv();
    update_metadata();
    leader_and_isr(fd, OFFSETS_TOPIC, 0);
    kp_JoinGroupResponse *jr;
    int64_t end = clock_mono_ms() + 10000;
    while ((jr = join(fd, "g", ""))->ErrorCode == KERR_COORDINATOR_LOAD_IN_PROGRESS) {
        ck_assert(clock_mono_ms() < end);
        pump(fd, 1);
    }
    ck_assert_int_eq(jr->ErrorCode, 0);
    /* a second member parks in the rebalance; teardown frees everything with it parked */
    int fd2 = connect_srv();
    send_join(fd2, "g", "");
    pump(fd2, 20);
    close(fd);
    close(fd2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bgc_glue");
    TCase *tc = tcase_create("bgc_glue");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, no_offsets_topic_yet);
    tcase_add_test(tc, groups_over_the_broker);
    tcase_add_test(tc, free_with_parked_requests);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
