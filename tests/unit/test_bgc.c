/* Unit tests: broker/gc_drv — the group coordinator's driver against a fake broker: every
 * response is encoded at its request's version and decoded back; appends go to a real
 * partition log (log.h) so that a second driver can load it. Covers FindCoordinator (topic
 * creation with Kafka's configs, one creation at a time, failures, leader endpoint per
 * listener, key types), token -> context bookkeeping with asynchronous and synchronous append
 * completions, append failures, loading in steps off the timer, unloading with parked
 * requests, shutdown with parked requests, client id / host as DescribeGroups shows them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/gc_drv.h"
#include "broker/group_proto.h"
#include "broker/offsets.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "proto/kafka_api.h"
#include "proto/kafka_err.h"

#define MAXCTX 256
#define MAXAPP 64

typedef struct fctx_s {
    int id;
    int16_t api, version;
    bool answered, dropped;
    buf_t frame;               /* the encoded response */
} fctx_t;

typedef struct fapp_s {
    gcd_append_cb cb;
    void *arg;
    int32_t partition;
    buf_t batch;
} fapp_t;

typedef struct fake_s {
    int64_t now;
    int32_t offsets_parts;     /* -1: __consumer_offsets unknown */
    int32_t leader;            /* leader of every partition */
    int32_t topic_parts;       /* partitions of every other topic */
    /* creations */
    int creates;
    char create_topic[64];
    int32_t create_parts;
    int16_t create_rf;
    char create_cfg[256];
    gcd_create_cb create_cb;
    void *create_arg;
    /* appends */
    bool sync_appends;
    int16_t append_error;
    fapp_t apps[MAXAPP];
    int napps;
    int64_t fake_leo;
    plog_t *log;               /* partition 0's real log, or NULL */
    char dir[300];             /* its log dir */
    int wakes;
    const char *client_id;     /* of the requests sent */
    fctx_t ctx[MAXCTX];
    int nctx;
    arena_t arena;
} fake_t;

static char tmpdir[256];
static int ndirs;

/* ---- the fake environment ---- */

static void f_respond(void *arg, void *ctx, const void *resp)
{
    (void)arg;
    fctx_t *c = ctx;
    ck_assert(!c->answered && !c->dropped);
    ck_assert_int_eq(kp_response_encode(&c->frame, c->api, c->version, c->id, resp), KP_OK);
    c->answered = true;
}

static void f_drop(void *arg, void *ctx)
{
    (void)arg;
    fctx_t *c = ctx;
    ck_assert(!c->answered && !c->dropped);
    c->dropped = true;
}

static void f_store(fake_t *f, const uint8_t *batch, size_t len, int16_t *err, int64_t *base)
{
    *err = f->append_error;
    *base = -1;
    if (*err)
        return;
    if (!f->log) {
        *base = f->fake_leo++;
        return;
    }
    uint8_t *copy = xmalloc(len);
    memcpy(copy, batch, len);
    be64_put(copy, (uint64_t)plog_end_offset(f->log));
    plog_append_info_t info;
    ck_assert_int_eq(plog_append(f->log, copy, len, f->now, &info), 0);
    plog_set_high_watermark(f->log, plog_end_offset(f->log));
    free(copy);
    *base = info.first_offset;
}

static void f_append(void *arg, int32_t partition, const uint8_t *batch, size_t len, gcd_append_cb cb, void *cbarg)
{
    fake_t *f = arg;
    if (f->sync_appends) {
        int16_t err;
        int64_t base;
        f_store(f, batch, len, &err, &base);
        cb(cbarg, err, base);
        return;
    }
    ck_assert_int_lt(f->napps, MAXAPP);
    fapp_t *a = &f->apps[f->napps++];
    a->cb = cb, a->arg = cbarg, a->partition = partition;
    buf_init(&a->batch);
    buf_put(&a->batch, batch, len);
}

/* Completes the appends waiting, in order. */
static void f_ack(fake_t *f)
{
    int n = f->napps;
    fapp_t v[MAXAPP];
    memcpy(v, f->apps, (size_t)n * sizeof v[0]);
    f->napps = 0;
    for (int i = 0; i < n; i++) {
        int16_t err;
        int64_t base;
        f_store(f, v[i].batch.data, v[i].batch.len, &err, &base);
        v[i].cb(v[i].arg, err, base);
        buf_free(&v[i].batch);
    }
}

static int32_t f_partition_count(void *arg, const char *topic)
{
    fake_t *f = arg;
    return strcmp(topic, OFFSETS_TOPIC) == 0 ? f->offsets_parts : f->topic_parts;
}

static int f_leader(void *arg, const char *topic, int32_t partition, int32_t *leader)
{
    fake_t *f = arg;
    if (strcmp(topic, OFFSETS_TOPIC) || partition < 0 || partition >= f->offsets_parts)
        return -KERR_UNKNOWN_TOPIC_OR_PARTITION;
    *leader = f->leader;
    return 0;
}

static int f_endpoint(void *arg, int32_t broker, int listener, const char **host, int32_t *port)
{
    (void)arg;
    if (broker != 7 || listener < 0 || listener > 1)
        return -1;
    *host = listener == 0 ? "127.0.0.1" : "internal.host";
    *port = listener == 0 ? 9092 : 19092;
    return 0;
}

static void f_create(void *arg, const char *topic, int32_t partitions, int16_t rf, const char *const *config,
                     size_t nconfig, gcd_create_cb cb, void *cbarg)
{
    fake_t *f = arg;
    f->creates++;
    snprintf(f->create_topic, sizeof f->create_topic, "%s", topic);
    f->create_parts = partitions;
    f->create_rf = rf;
    f->create_cfg[0] = '\0';
    for (size_t i = 0; i < nconfig; i++) {
        size_t l = strlen(f->create_cfg);
        snprintf(f->create_cfg + l, sizeof f->create_cfg - l, "%s%s=%s", i ? "," : "", config[2 * i],
                 config[2 * i + 1]);
    }
    f->create_cb = cb;
    f->create_arg = cbarg;
}

static plog_t *f_log_get(void *arg, int32_t partition)
{
    fake_t *f = arg;
    return partition == 0 ? f->log : NULL;
}

static int64_t f_now(void *arg)
{
    return ((fake_t *)arg)->now;
}

static void f_wake(void *arg)
{
    ((fake_t *)arg)->wakes++;
}

static fake_t *fake_new(void)
{
    fake_t *f = xcalloc(1, sizeof *f);
    f->now = 1700000000000LL;
    f->offsets_parts = -1;
    f->leader = 7;
    f->topic_parts = 4;
    f->client_id = "consumer-7";
    snprintf(f->dir, sizeof f->dir, "%s/%d", tmpdir, ++ndirs);
    ck_assert_int_eq(mkdir(f->dir, 0755), 0);
    arena_init(&f->arena);
    return f;
}

static void fake_free(fake_t *f)
{
    for (int i = 0; i < f->nctx; i++)
        buf_free(&f->ctx[i].frame);
    for (int i = 0; i < f->napps; i++)
        buf_free(&f->apps[i].batch);
    if (f->log)
        plog_close(f->log, false);
    arena_free(&f->arena);
    free(f);
}

static void open_log(fake_t *f, bool create)
{
    plog_config_t pc;
    plog_config_default(&pc);
    plog_open_t o = {f->dir, OFFSETS_TOPIC, 0, &pc, -1, -1, -1, true, create, f->now};
    ck_assert_int_eq(plog_open(&o, &f->log), 0);
}

static gcd_t *drv_new(fake_t *f, size_t step)
{
    gcd_config_t c;
    gcd_config_defaults(&c);
    c.group.num_partitions = 1;
    c.group.initial_rebalance_delay_ms = 0;
    c.group.seed = 42;
    c.replication_factor = 3;
    c.segment_bytes = 104857600;
    c.load_step_bytes = step;
    gcd_env_t env = {f, f_respond, f_drop, f_append, f_partition_count, f_leader, f_endpoint, f_create, f_log_get,
                     f_now, f_wake};
    return gcd_new(&c, &env);
}

/* Loads partition 0 (leadership + timer ticks until served). Returns the ticks it took. */
static int own(gcd_t *d)
{
    gcd_leadership(d, 0, true);
    int ticks = 0;
    while (!gcd_loaded(d, 0)) {
        ck_assert_int_eq(gcd_next_deadline(d), 0);
        gcd_tick(d);
        ck_assert_int_lt(++ticks, 10000);
    }
    return ticks;
}

/* ---- requests ---- */

/* Runs the driver's timer while it is due, as the broker's evtimer would. */
static void run_due(gcd_t *d, fake_t *f)
{
    for (int i = 0; gcd_next_deadline(d) <= f->now; i++) {
        ck_assert_int_lt(i, 10000);
        gcd_tick(d);
    }
}

/* Sends body as (api, version) with a new context; returns it. */
static fctx_t *send(fake_t *f, gcd_t *d, int16_t api, int16_t version, const void *body, int listener)
{
    ck_assert_int_lt(f->nctx, MAXCTX);
    fctx_t *c = &f->ctx[f->nctx];
    c->id = ++f->nctx;
    c->api = api, c->version = version;
    buf_init(&c->frame);
    kp_request_t req;
    memset(&req, 0, sizeof req);
    req.hdr.api_key = api;
    req.hdr.api_version = version;
    req.hdr.correlation_id = c->id;
    req.hdr.client_id = kp_str(f->client_id);
    req.hdr.version = 1;
    req.api = kp_api_find(api);
    req.body = (void *)body;
    ck_assert_int_eq(gcd_request(d, c, &req, listener, "127.0.0.1:50123"), 0);
    run_due(d, f);
    return c;
}

/* The decoded response of c, or NULL if not answered yet. */
static void *resp(fake_t *f, fctx_t *c)
{
    if (!c->answered)
        return NULL;
    int32_t corr = 0;
    void *body = NULL;
    ck_assert_int_eq(kp_response_decode(c->frame.data + 4, c->frame.len - 4, c->api, c->version, &f->arena, &corr,
                                        &body),
                     KP_OK);
    ck_assert_int_eq(corr, c->id);
    return body;
}

static kp_FindCoordinatorResponse *find_coord(fake_t *f, gcd_t *d, int version, const char *key, int8_t type,
                                              int listener)
{
    kp_FindCoordinatorRequest rq;
    kp_init(&kp_FindCoordinatorRequest_schema, &rq);
    rq.Key = kp_str(key);
    rq.KeyType = type;
    fctx_t *c = send(f, d, KP_FIND_COORDINATOR, (int16_t)version, &rq, listener);
    kp_FindCoordinatorResponse *r = resp(f, c);
    ck_assert_ptr_nonnull(r);
    return r;
}

static kp_bytes_t subscription(fake_t *f, const char *topic)
{
    kp_str_t t = kp_str(topic);
    gproto_subscription_t s;
    memset(&s, 0, sizeof s);
    s.topic_count = 1;
    s.topics = &t;
    s.user_data = (kp_bytes_t){NULL, -1};
    buf_t b = BUF_INIT;
    gproto_subscription_write(&b, &s);
    kp_bytes_t r = {arena_memdup(&f->arena, b.data, b.len), (int32_t)b.len};
    buf_free(&b);
    return r;
}

static fctx_t *join(fake_t *f, gcd_t *d, const char *group, const char *member)
{
    kp_JoinGroupRequest rq;
    kp_init(&kp_JoinGroupRequest_schema, &rq);
    rq.GroupId = kp_str(group);
    rq.SessionTimeoutMs = 10000;
    rq.RebalanceTimeoutMs = 30000;
    rq.MemberId = kp_str(member);
    rq.ProtocolType = kp_str("consumer");
    kp_JoinGroupRequest_JoinGroupRequestProtocol p = {kp_str("range"), subscription(f, "t")};
    rq.Protocols.n = 1;
    rq.Protocols.v = &p;
    return send(f, d, KP_JOIN_GROUP, 1, &rq, 0);
}

static fctx_t *sync_group(fake_t *f, gcd_t *d, const char *group, int32_t gen, const char *member)
{
    kp_SyncGroupRequest rq;
    kp_init(&kp_SyncGroupRequest_schema, &rq);
    rq.GroupId = kp_str(group);
    rq.GenerationId = gen;
    rq.MemberId = kp_str(member);
    int32_t parts[] = {0, 1, 2, 3};
    gproto_topic_parts_t tp = {kp_str("t"), 4, parts};
    gproto_assignment_t as = {0, 1, &tp, {NULL, -1}};
    buf_t b = BUF_INIT;
    gproto_assignment_write(&b, &as);
    kp_SyncGroupRequest_SyncGroupRequestAssignment a = {kp_str(member),
                                                        {arena_memdup(&f->arena, b.data, b.len), (int32_t)b.len}};
    buf_free(&b);
    rq.Assignments.n = 1;
    rq.Assignments.v = &a;
    return send(f, d, KP_SYNC_GROUP, 1, &rq, 0);
}

static fctx_t *commit_topic(fake_t *f, gcd_t *d, const char *group, int32_t gen, const char *member, kp_str_t topic,
                            int32_t part, int64_t offset)
{
    kp_OffsetCommitRequest rq;
    kp_init(&kp_OffsetCommitRequest_schema, &rq);
    rq.GroupId = kp_str(group);
    rq.GenerationId = gen;
    rq.MemberId = kp_str(member);
    kp_OffsetCommitRequest_OffsetCommitRequestPartition p;
    kp_init(&kp_OffsetCommitRequest_OffsetCommitRequestPartition_schema, &p);
    p.PartitionIndex = part;
    p.CommittedOffset = offset;
    p.CommittedMetadata = kp_str("");
    kp_OffsetCommitRequest_OffsetCommitRequestTopic t = {topic, {1, &p}};
    rq.Topics.n = 1;
    rq.Topics.v = &t;
    return send(f, d, KP_OFFSET_COMMIT, 2, &rq, 0);
}

static fctx_t *commit(fake_t *f, gcd_t *d, const char *group, int32_t gen, const char *member, int32_t part,
                      int64_t offset)
{
    return commit_topic(f, d, group, gen, member, kp_str("t"), part, offset);
}

static int16_t commit_error(fake_t *f, fctx_t *c)
{
    kp_OffsetCommitResponse *r = resp(f, c);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->Topics.n, 1);
    ck_assert_int_eq(r->Topics.v[0].Partitions.n, 1);
    return r->Topics.v[0].Partitions.v[0].ErrorCode;
}

/* Committed offset of t-part (OffsetFetch v1), -1 if none. */
static int64_t fetch_offset(fake_t *f, gcd_t *d, const char *group, int32_t part, int16_t *err)
{
    kp_OffsetFetchRequest rq;
    kp_init(&kp_OffsetFetchRequest_schema, &rq);
    rq.GroupId = kp_str(group);
    kp_OffsetFetchRequest_OffsetFetchRequestTopic t;
    t.Name = kp_str("t");
    t.PartitionIndexes.n = 1;
    t.PartitionIndexes.v = &part;
    rq.Topics.n = 1;
    rq.Topics.v = &t;
    fctx_t *c = send(f, d, KP_OFFSET_FETCH, 1, &rq, 0);
    kp_OffsetFetchResponse *r = resp(f, c);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->Topics.n, 1);
    *err = r->Topics.v[0].Partitions.v[0].ErrorCode;
    return r->Topics.v[0].Partitions.v[0].CommittedOffset;
}

/* One member forms generation 1 of `group`; *member gets its id (arena). */
static int32_t form_group(fake_t *f, gcd_t *d, const char *group, char **member)
{
    fctx_t *j = join(f, d, group, "");
    kp_JoinGroupResponse *jr = resp(f, j);
    ck_assert_ptr_nonnull(jr);
    ck_assert_int_eq(jr->ErrorCode, 0);
    *member = kp_str_dup(&f->arena, jr->MemberId);
    ck_assert(strncmp(*member, "consumer-7-", 11) == 0);
    fctx_t *s = sync_group(f, d, group, jr->GenerationId, *member);
    if (!f->sync_appends) {
        ck_assert_ptr_null(resp(f, s));   /* waits for the group's record */
        ck_assert_int_eq(gcd_parked(d), 1);
        ck_assert_int_eq(f->napps, 1);
        f_ack(f);
    }
    kp_SyncGroupResponse *sr = resp(f, s);
    ck_assert_ptr_nonnull(sr);
    ck_assert_int_eq(sr->ErrorCode, 0);
    ck_assert_int_gt(sr->Assignment.len, 0);
    return jr->GenerationId;
}

/* ---- tests ---- */

START_TEST(find_coordinator_creates_offsets_topic)
{
    fake_t *f = fake_new();
    gcd_t *d = drv_new(f, 0);
    kp_FindCoordinatorResponse *r = find_coord(f, d, 1, "g", 0, 0);
    ck_assert_int_eq(r->ErrorCode, KERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(r->NodeId, -1);
    ck_assert_int_eq(r->Port, -1);
    ck_assert(kp_str_eq(r->Host, ""));
    ck_assert(kp_str_eq(r->ErrorMessage, "The coordinator is not available."));
    ck_assert_int_eq(f->creates, 1);
    ck_assert_str_eq(f->create_topic, OFFSETS_TOPIC);
    ck_assert_int_eq(f->create_parts, 1);
    ck_assert_int_eq(f->create_rf, 3);
    ck_assert_str_eq(f->create_cfg, "cleanup.policy=compact,compression.type=producer,segment.bytes=104857600");
    ck_assert(gcd_creating(d));
    /* one creation at a time */
    r = find_coord(f, d, 0, "g", 0, 0);
    ck_assert_int_eq(r->ErrorCode, KERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(f->creates, 1);
    /* a failure (fewer brokers than the replication factor) ends it; the next request retries */
    f->create_cb(f->create_arg, KERR_INVALID_REPLICATION_FACTOR, "Replication factor: 3 larger than available brokers: 1.");
    ck_assert(!gcd_creating(d));
    r = find_coord(f, d, 2, "g", 0, 0);
    ck_assert_int_eq(r->ErrorCode, KERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(f->creates, 1);   /* not again within a second */
    f->now += 1000;
    r = find_coord(f, d, 2, "g", 0, 0);
    ck_assert_int_eq(r->ErrorCode, KERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(f->creates, 2);
    f->create_cb(f->create_arg, KERR_NONE, NULL);
    /* created, but no metadata yet, then no leader yet */
    f->offsets_parts = 1;
    f->leader = -1;
    r = find_coord(f, d, 2, "g", 0, 0);
    ck_assert_int_eq(r->ErrorCode, KERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(f->creates, 2);
    /* the leader's endpoint for the listener the request came in on */
    f->leader = 7;
    r = find_coord(f, d, 2, "g", 0, 0);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert(kp_str_eq(r->ErrorMessage, "NONE"));
    ck_assert_int_eq(r->NodeId, 7);
    ck_assert(kp_str_eq(r->Host, "127.0.0.1"));
    ck_assert_int_eq(r->Port, 9092);
    r = find_coord(f, d, 3, "g", 0, 1);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert(kp_str_eq(r->Host, "internal.host"));
    ck_assert_int_eq(r->Port, 19092);
    r = find_coord(f, d, 0, "g", 0, 0);
    ck_assert_int_eq(r->ErrorCode, 0);
    /* no endpoint for that listener */
    r = find_coord(f, d, 1, "g", 0, 5);
    ck_assert_int_eq(r->ErrorCode, KERR_COORDINATOR_NOT_AVAILABLE);
    /* transactions: no coordinator; unknown key types: INVALID_REQUEST */
    r = find_coord(f, d, 1, "tx", 1, 0);
    ck_assert_int_eq(r->ErrorCode, KERR_COORDINATOR_NOT_AVAILABLE);
    r = find_coord(f, d, 1, "x", 5, 0);
    ck_assert_int_eq(r->ErrorCode, KERR_INVALID_REQUEST);
    ck_assert_int_eq(gcd_parked(d), 0);
    gcd_free(d);
    fake_free(f);
}
END_TEST

START_TEST(create_done_after_free)
{
    fake_t *f = fake_new();
    gcd_t *d = drv_new(f, 0);
    find_coord(f, d, 1, "g", 0, 0);
    ck_assert_int_eq(f->creates, 1);
    gcd_free(d);
    /* a late completion only frees its own memory (valgrind/ASan watch this) */
    f->create_cb(f->create_arg, KERR_NONE, NULL);
    fake_free(f);
}
END_TEST

START_TEST(not_coordinator_until_loaded)
{
    fake_t *f = fake_new();
    gcd_t *d = drv_new(f, 0);
    fctx_t *j = join(f, d, "g", "");
    kp_JoinGroupResponse *jr = resp(f, j);
    ck_assert_ptr_nonnull(jr);
    ck_assert_int_eq(jr->ErrorCode, KERR_NOT_COORDINATOR);
    /* loading: the request is answered at once with COORDINATOR_LOAD_IN_PROGRESS */
    open_log(f, true);
    gcd_leadership(d, 0, true);
    ck_assert(!gcd_loaded(d, 0));
    ck_assert_int_eq(gcd_next_deadline(d), 0);
    j = join(f, d, "g", "");
    jr = resp(f, j);
    ck_assert_ptr_nonnull(jr);
    ck_assert_int_eq(jr->ErrorCode, KERR_COORDINATOR_LOAD_IN_PROGRESS);
    gcd_tick(d);
    ck_assert(gcd_loaded(d, 0));
    ck_assert_int_gt(gcd_next_deadline(d), 0);
    /* a partition beyond the configured count is ignored */
    gcd_leadership(d, 3, true);
    ck_assert(!gcd_loaded(d, 3));
    ck_assert_int_eq(gcd_parked(d), 0);
    gcd_free(d);
    fake_free(f);
}
END_TEST

START_TEST(group_flow_async_appends)
{
    fake_t *f = fake_new();
    open_log(f, true);
    gcd_t *d = drv_new(f, 0);
    own(d);
    char *m;
    int32_t gen = form_group(f, d, "g", &m);
    ck_assert_int_eq(gen, 1);
    /* a commit waits for its append */
    fctx_t *c = commit(f, d, "g", gen, m, 2, 42);
    ck_assert_ptr_null(resp(f, c));
    ck_assert_int_eq(gcd_parked(d), 1);
    f_ack(f);
    ck_assert_int_eq(commit_error(f, c), 0);
    ck_assert_int_eq(gcd_parked(d), 0);
    int16_t err;
    ck_assert_int_eq(fetch_offset(f, d, "g", 2, &err), 42);
    ck_assert_int_eq(err, 0);
    /* an append failure maps to the commit's error (NOT_LEADER -> NOT_COORDINATOR) */
    f->append_error = KERR_NOT_LEADER_FOR_PARTITION;
    c = commit(f, d, "g", gen, m, 2, 50);
    f_ack(f);
    ck_assert_int_eq(commit_error(f, c), KERR_NOT_COORDINATOR);
    f->append_error = 0;
    ck_assert_int_eq(fetch_offset(f, d, "g", 2, &err), 42);
    /* a partition that does not exist */
    c = commit(f, d, "g", gen, m, 9, 1);
    ck_assert_int_eq(commit_error(f, c), KERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* a topic name with a NUL is not the topic before the NUL */
    c = commit_topic(f, d, "g", gen, m, (kp_str_t){(const uint8_t *)"t\0x", 3}, 0, 1);
    ck_assert_int_eq(commit_error(f, c), KERR_UNKNOWN_TOPIC_OR_PARTITION);
    f->topic_parts = -1;
    c = commit(f, d, "g", gen, m, 0, 1);
    ck_assert_int_eq(commit_error(f, c), KERR_UNKNOWN_TOPIC_OR_PARTITION);
    f->topic_parts = 4;
    /* the group's timers reach the driver's deadline */
    ck_assert_int_lt(gcd_next_deadline(d), f->now + 11000);
    ck_assert_int_gt(f->wakes, 0);
    gcd_free(d);
    fake_free(f);
}
END_TEST

START_TEST(group_flow_sync_appends)
{
    fake_t *f = fake_new();
    f->sync_appends = true;
    gcd_t *d = drv_new(f, 0);
    own(d);
    char *m;
    int32_t gen = form_group(f, d, "g", &m);
    fctx_t *c = commit(f, d, "g", gen, m, 1, 7);
    ck_assert_int_eq(commit_error(f, c), 0);
    int16_t err;
    ck_assert_int_eq(fetch_offset(f, d, "g", 1, &err), 7);
    ck_assert_int_eq(gcd_parked(d), 0);
    gcd_free(d);
    fake_free(f);
}
END_TEST

START_TEST(describe_and_list_show_client)
{
    fake_t *f = fake_new();
    f->sync_appends = true;
    gcd_t *d = drv_new(f, 0);
    own(d);
    char *m;
    form_group(f, d, "g", &m);
    kp_str_t names[1] = {kp_str("g")};
    kp_DescribeGroupsRequest dr;
    kp_init(&kp_DescribeGroupsRequest_schema, &dr);
    dr.Groups.n = 1;
    dr.Groups.v = names;
    fctx_t *c = send(f, d, KP_DESCRIBE_GROUPS, 0, &dr, 0);
    kp_DescribeGroupsResponse *r = resp(f, c);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->Groups.n, 1);
    ck_assert_int_eq(r->Groups.v[0].ErrorCode, 0);
    ck_assert(kp_str_eq(r->Groups.v[0].GroupState, "Stable"));
    ck_assert_int_eq(r->Groups.v[0].Members.n, 1);
    ck_assert(kp_str_eq(r->Groups.v[0].Members.v[0].ClientId, "consumer-7"));
    ck_assert(kp_str_eq(r->Groups.v[0].Members.v[0].ClientHost, "/127.0.0.1"));
    kp_ListGroupsRequest lr;
    kp_init(&kp_ListGroupsRequest_schema, &lr);
    c = send(f, d, KP_LIST_GROUPS, 3, &lr, 0);
    kp_ListGroupsResponse *l = resp(f, c);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(l->ErrorCode, 0);
    ck_assert_int_eq(l->Groups.n, 1);
    ck_assert(kp_str_eq(l->Groups.v[0].GroupId, "g"));
    ck_assert(kp_str_eq(l->Groups.v[0].ProtocolType, "consumer"));
    /* a long client id is kept whole (member id prefix, DescribeGroups) */
    char longid[400];
    memset(longid, 'c', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    f->client_id = longid;
    fctx_t *j = join(f, d, "long", "");
    kp_JoinGroupResponse *jr = resp(f, j);
    ck_assert_ptr_nonnull(jr);
    ck_assert_int_eq(jr->ErrorCode, 0);
    ck_assert_int_gt(jr->MemberId.len, (int32_t)strlen(longid));
    ck_assert(memcmp(jr->MemberId.p, longid, strlen(longid)) == 0);
    names[0] = kp_str("long");
    c = send(f, d, KP_DESCRIBE_GROUPS, 0, &dr, 0);
    r = resp(f, c);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->Groups.v[0].Members.n, 1);
    ck_assert(kp_str_eq(r->Groups.v[0].Members.v[0].ClientId, longid));
    f->client_id = "consumer-7";
    /* not a group API */
    kp_request_t req;
    memset(&req, 0, sizeof req);
    req.hdr.api_key = KP_PRODUCE;
    ck_assert_int_eq(gcd_request(d, &f->ctx[0], &req, 0, "1.2.3.4:5"), -1);
    gcd_free(d);
    fake_free(f);
}
END_TEST

START_TEST(load_in_steps_after_restart)
{
    fake_t *f = fake_new();
    f->sync_appends = true;
    open_log(f, true);
    gcd_t *d = drv_new(f, 0);
    own(d);
    char *m;
    int32_t gen = form_group(f, d, "g", &m);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(commit_error(f, commit(f, d, "g", gen, m, i % 4, 100 + i)), 0);
    /* a second, simple-commit group */
    ck_assert_int_eq(commit_error(f, commit(f, d, "simple", -1, "", 3, 5)), 0);
    gcd_free(d);
    int64_t leo = plog_end_offset(f->log);
    ck_assert_int_ge(leo, 22);
    plog_close(f->log, true);
    f->log = NULL;

    /* a new driver on the reopened log, loading ~200 bytes per tick */
    open_log(f, false);
    ck_assert_int_eq(plog_end_offset(f->log), leo);
    d = drv_new(f, 200);
    int ticks = own(d);
    ck_assert_int_gt(ticks, 3);
    int16_t err;
    ck_assert_int_eq(fetch_offset(f, d, "g", 0, &err), 116);
    ck_assert_int_eq(fetch_offset(f, d, "g", 1, &err), 117);
    ck_assert_int_eq(fetch_offset(f, d, "g", 2, &err), 118);
    ck_assert_int_eq(fetch_offset(f, d, "g", 3, &err), 119);
    ck_assert_int_eq(fetch_offset(f, d, "simple", 3, &err), 5);
    ck_assert_int_eq(err, 0);
    group_state_t st;
    int32_t g2, members;
    ck_assert(group_inspect(gcd_group_coord(d), "g", &st, &g2, &members));
    ck_assert_int_eq(g2, gen);
    ck_assert_int_eq(members, 1);
    /* the loaded member can go on committing */
    ck_assert_int_eq(commit_error(f, commit(f, d, "g", gen, m, 0, 200)), 0);
    ck_assert_int_eq(fetch_offset(f, d, "g", 0, &err), 200);

    /* losing leadership drops the groups; gaining it again reloads them */
    gcd_leadership(d, 0, false);
    ck_assert(!gcd_loaded(d, 0));
    fetch_offset(f, d, "g", 0, &err);
    own(d);
    ck_assert_int_eq(fetch_offset(f, d, "g", 0, &err), 200);
    gcd_free(d);
    fake_free(f);
}
END_TEST

START_TEST(unload_answers_parked_requests)
{
    fake_t *f = fake_new();
    f->sync_appends = true;
    gcd_t *d = drv_new(f, 0);
    own(d);
    char *m;
    int32_t gen = form_group(f, d, "g", &m);
    /* a second member's join starts a rebalance that waits for the first */
    fctx_t *j2 = join(f, d, "g", "");
    ck_assert_ptr_null(resp(f, j2));
    ck_assert_int_eq(gcd_parked(d), 1);
    (void)gen;
    gcd_leadership(d, 0, false);
    kp_JoinGroupResponse *jr = resp(f, j2);
    ck_assert_ptr_nonnull(jr);
    ck_assert_int_eq(jr->ErrorCode, KERR_NOT_COORDINATOR);
    ck_assert_int_eq(gcd_parked(d), 0);
    gcd_free(d);
    fake_free(f);
}
END_TEST

START_TEST(free_drops_parked_and_detaches_appends)
{
    fake_t *f = fake_new();
    gcd_t *d = drv_new(f, 0);
    own(d);
    f->sync_appends = true;
    char *m;
    int32_t gen = form_group(f, d, "g", &m);
    f->sync_appends = false;
    fctx_t *j2 = join(f, d, "g", "");         /* parked in the rebalance */
    fctx_t *c = commit(f, d, "g", gen, m, 0, 1);  /* parked on its append */
    ck_assert_int_eq(f->napps, 1);
    ck_assert_int_eq(gcd_parked(d), 2);
    gcd_free(d);
    ck_assert(j2->dropped);
    ck_assert(c->dropped);
    /* the append completes after the driver is gone */
    f_ack(f);
    fake_free(f);
}
END_TEST

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_bgc.%d", (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", tmpdir, tmpdir);
    if (system(cmd) != 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("bgc");
    TCase *tc = tcase_create("bgc");
    tcase_add_test(tc, find_coordinator_creates_offsets_topic);
    tcase_add_test(tc, create_done_after_free);
    tcase_add_test(tc, not_coordinator_until_loaded);
    tcase_add_test(tc, group_flow_async_appends);
    tcase_add_test(tc, group_flow_sync_appends);
    tcase_add_test(tc, describe_and_list_show_client);
    tcase_add_test(tc, load_in_steps_after_restart);
    tcase_add_test(tc, unload_answers_parked_requests);
    tcase_add_test(tc, free_drops_parked_and_detaches_appends);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        nf++;
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
