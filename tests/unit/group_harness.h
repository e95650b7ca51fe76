/* group_harness.h — drives broker/group's pure coordinator in unit tests (header only): builds
 * requests, collects responses by token, and plays the broker's log for __consumer_offsets
 * (appends get offsets, are acknowledged at once unless told otherwise, and the log can be
 * loaded into a fresh coordinator). */
#ifndef GREGOR_TESTS_GROUP_HARNESS_H
#define GREGOR_TESTS_GROUP_HARNESS_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group.h"
#include "broker/group_proto.h"
#include "broker/offsets.h"
#include "common/alloc.h"
#include "proto/kafka_err.h"
#include "proto/kafka_records.h"

#define H_MAX_OUT 4096

typedef struct h_s {
    group_coord_t *gc;
    group_config_t cfg;
    int64_t now;
    bool hold_appends;             /* true: appends wait for h_ack */
    buf_t log;                     /* __consumer_offsets, all partitions in one (tests use 1) */
    int64_t leo;
    group_out_t *resp[H_MAX_OUT];
    int nresp;
    group_out_t *held[H_MAX_OUT];  /* appends not acknowledged yet */
    int nheld;
    group_out_t *done[H_MAX_OUT];  /* taken, freed at the end */
    int ndone;
    uint64_t next_token;
    arena_t arena;                 /* request memory */
} h_t;

static inline void h_own_all(h_t *h)
{
    for (int32_t p = 0; p < h->cfg.num_partitions; p++) {
        ck_assert_int_eq(group_load_begin(h->gc, p), 0);
        group_load_end(h->gc, p, h->now);
    }
}

static inline void h_init(h_t *h, const group_config_t *cfg, bool own)
{
    memset(h, 0, sizeof *h);
    if (cfg) {
        h->cfg = *cfg;
    } else {
        group_config_defaults(&h->cfg);
        h->cfg.num_partitions = 1;
    }
    h->gc = group_coord_new(&h->cfg);
    h->now = 1000000;
    h->next_token = 1;
    arena_init(&h->arena);
    if (own)
        h_own_all(h);
}

static inline void h_append_to_log(h_t *h, group_out_t *o, int64_t *base)
{
    size_t start = h->log.len;
    buf_put(&h->log, o->records.data, o->records.len);
    be64_put(h->log.data + start, (uint64_t)h->leo);
    size_t pos = start;
    krec_batch_t b;
    ck_assert_int_eq(krec_batch_next(h->log.data, h->log.len, &pos, &b, NULL), KREC_BATCH_OK);
    *base = h->leo;
    h->leo += b.record_count;
}

/* Takes all outputs; appends go to the log and are acknowledged (unless held). */
static inline void h_pump(h_t *h)
{
    for (;;) {
        group_out_t *o = group_take_outputs(h->gc);
        if (!o)
            return;
        while (o) {
            group_out_t *next = o->next;
            if (o->kind == GROUP_OUT_RESPONSE) {
                ck_assert_int_lt(h->nresp, H_MAX_OUT);
                h->resp[h->nresp++] = o;
            } else if (h->hold_appends) {
                h->held[h->nheld++] = o;
            } else {
                int64_t base;
                h_append_to_log(h, o, &base);
                group_append_done(h->gc, o->append_id, 0, base, h->now);
                group_out_free(o);
            }
            o = next;
        }
    }
}

/* Acknowledges the held appends (error 0: durable, into the log; else failed). */
static inline void h_ack(h_t *h, int16_t error)
{
    int n = h->nheld;
    group_out_t *v[H_MAX_OUT];
    memcpy(v, h->held, (size_t)n * sizeof *v);
    h->nheld = 0;
    for (int i = 0; i < n; i++) {
        int64_t base = -1;
        if (!error)
            h_append_to_log(h, v[i], &base);
        group_append_done(h->gc, v[i]->append_id, error, base, h->now);
        group_out_free(v[i]);
    }
    h_pump(h);
}

/* The response to `token`, or NULL if it has not come out (yet). */
static inline void *h_take(h_t *h, uint64_t token, int16_t api)
{
    h_pump(h);
    for (int i = 0; i < h->nresp; i++)
        if (h->resp[i]->token == token) {
            group_out_t *o = h->resp[i];
            ck_assert_int_eq(o->api_key, api);
            h->resp[i] = h->resp[--h->nresp];
            h->done[h->ndone++] = o;
            return o->resp;
        }
    return NULL;
}

static inline void h_tick_to(h_t *h, int64_t t)
{
    /* fire every deadline in order, as the broker's timer would */
    for (;;) {
        int64_t d = group_next_deadline(h->gc);
        if (d > t)
            break;
        h->now = d > h->now ? d : h->now;
        group_tick(h->gc, h->now);
        h_pump(h);
    }
    h->now = t;
    group_tick(h->gc, h->now);
    h_pump(h);
}

static inline void h_free(h_t *h)
{
    h_pump(h);
    for (int i = 0; i < h->nresp; i++)
        group_out_free(h->resp[i]);
    for (int i = 0; i < h->nheld; i++)
        group_out_free(h->held[i]);
    for (int i = 0; i < h->ndone; i++)
        group_out_free(h->done[i]);
    group_coord_free(h->gc);
    buf_free(&h->log);
    arena_free(&h->arena);
}

static inline group_req_t h_rq(h_t *h, int version, const char *client)
{
    group_req_t rq = {h->next_token++, (int16_t)version, client ? client : "client", "/127.0.0.1"};
    return rq;
}

/* Consumer subscription bytes for a comma-separated topic list. */
static inline kp_bytes_t h_subscription(h_t *h, const char *topics)
{
    gproto_subscription_t s;
    memset(&s, 0, sizeof s);
    kp_str_t t[16];
    char *copy = arena_strndup(&h->arena, topics, strlen(topics));
    for (char *sp, *tok = strtok_r(copy, ",", &sp); tok && s.topic_count < 16; tok = strtok_r(NULL, ",", &sp))
        t[s.topic_count++] = kp_str(tok);
    s.topics = t;
    s.user_data = (kp_bytes_t){NULL, -1};
    buf_t b = BUF_INIT;
    gproto_subscription_write(&b, &s);
    kp_bytes_t r = {arena_memdup(&h->arena, b.data, b.len), (int32_t)b.len};
    buf_free(&b);
    return r;
}

/* JoinGroup; protos = comma-separated protocol names (each with the same subscription).
 * Returns the token. */
static inline uint64_t h_join(h_t *h, int version, const char *group, const char *member, const char *instance,
                              const char *protos, const char *topics, int32_t session, int32_t rebalance)
{
    kp_JoinGroupRequest req;
    kp_init(&kp_JoinGroupRequest_schema, &req);
    req.GroupId = kp_str(group);
    req.SessionTimeoutMs = session;
    req.RebalanceTimeoutMs = rebalance;
    req.MemberId = kp_str(member ? member : "");
    req.GroupInstanceId = instance ? kp_str(instance) : KP_STR_NULL;
    req.ProtocolType = kp_str("consumer");
    kp_JoinGroupRequest_JoinGroupRequestProtocol p[8];
    int n = 0;
    char *copy = arena_strndup(&h->arena, protos, strlen(protos));
    for (char *sp, *tok = strtok_r(copy, ",", &sp); tok && n < 8; tok = strtok_r(NULL, ",", &sp)) {
        p[n].Name = kp_str(tok);
        p[n].Metadata = h_subscription(h, topics);
        n++;
    }
    req.Protocols.n = n;
    req.Protocols.v = p;
    group_req_t rq = h_rq(h, version, "client");
    group_join(h->gc, &rq, &req, h->now);
    h_pump(h);
    return rq.token;
}

static inline kp_JoinGroupResponse *h_join_resp(h_t *h, uint64_t tok)
{
    return h_take(h, tok, KP_JOIN_GROUP);
}

/* Joins with the JoinGroup v4+ flow: MEMBER_ID_REQUIRED, then again with the id. Returns the
 * token of the second join; *member_id gets the id (arena memory). */
static inline uint64_t h_join_v4(h_t *h, const char *group, const char *protos, const char *topics, int32_t session,
                                 int32_t rebalance, char **member_id)
{
    uint64_t t = h_join(h, 4, group, "", NULL, protos, topics, session, rebalance);
    kp_JoinGroupResponse *r = h_join_resp(h, t);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->ErrorCode, KERR_MEMBER_ID_REQUIRED);
    ck_assert_int_gt(r->MemberId.len, 0);
    *member_id = kp_str_dup(&h->arena, r->MemberId);
    return h_join(h, 4, group, *member_id, NULL, protos, topics, session, rebalance);
}

/* Assignment bytes: one topic with the given partitions. */
static inline kp_bytes_t h_assignment(h_t *h, const char *topic, const int32_t *parts, int32_t n)
{
    gproto_topic_parts_t tp = {kp_str(topic), n, (int32_t *)parts};
    gproto_assignment_t a = {0, 1, &tp, {NULL, -1}};
    buf_t b = BUF_INIT;
    gproto_assignment_write(&b, &a);
    kp_bytes_t r = {arena_memdup(&h->arena, b.data, b.len), (int32_t)b.len};
    buf_free(&b);
    return r;
}

static inline uint64_t h_sync(h_t *h, const char *group, int32_t gen, const char *member, int nassign,
                              const char *const *ids, const kp_bytes_t *assign)
{
    kp_SyncGroupRequest req;
    kp_init(&kp_SyncGroupRequest_schema, &req);
    req.GroupId = kp_str(group);
    req.GenerationId = gen;
    req.MemberId = kp_str(member);
    kp_SyncGroupRequest_SyncGroupRequestAssignment a[8];
    for (int i = 0; i < nassign; i++) {
        a[i].MemberId = kp_str(ids[i]);
        a[i].Assignment = assign[i];
    }
    req.Assignments.n = nassign;
    req.Assignments.v = a;
    group_req_t rq = h_rq(h, 3, "client");
    group_sync(h->gc, &rq, &req, h->now);
    h_pump(h);
    return rq.token;
}

static inline int16_t h_heartbeat(h_t *h, const char *group, int32_t gen, const char *member)
{
    kp_HeartbeatRequest req;
    kp_init(&kp_HeartbeatRequest_schema, &req);
    req.GroupId = kp_str(group);
    req.GenerationId = gen;
    req.MemberId = kp_str(member);
    group_req_t rq = h_rq(h, 2, "client");
    group_heartbeat(h->gc, &rq, &req, h->now);
    kp_HeartbeatResponse *r = h_take(h, rq.token, KP_HEARTBEAT);
    ck_assert_ptr_nonnull(r);
    return r->ErrorCode;
}

static inline int16_t h_leave(h_t *h, const char *group, const char *member)
{
    kp_LeaveGroupRequest req;
    kp_init(&kp_LeaveGroupRequest_schema, &req);
    req.GroupId = kp_str(group);
    req.MemberId = kp_str(member);
    group_req_t rq = h_rq(h, 1, "client");
    group_leave(h->gc, &rq, &req, h->now);
    kp_LeaveGroupResponse *r = h_take(h, rq.token, KP_LEAVE_GROUP);
    ck_assert_ptr_nonnull(r);
    return r->ErrorCode;
}

/* OffsetCommit (v2 unless version given) of one topic partition; returns the token. */
static inline uint64_t h_commit_v(h_t *h, int version, const char *group, int32_t gen, const char *member,
                                  const char *topic, int32_t part, int64_t offset)
{
    kp_OffsetCommitRequest req;
    kp_init(&kp_OffsetCommitRequest_schema, &req);
    req.GroupId = kp_str(group);
    req.GenerationId = gen;
    req.MemberId = kp_str(member);
    kp_OffsetCommitRequest_OffsetCommitRequestPartition p;
    kp_init(&kp_OffsetCommitRequest_OffsetCommitRequestPartition_schema, &p);
    p.PartitionIndex = part;
    p.CommittedOffset = offset;
    p.CommittedMetadata = kp_str("");
    kp_OffsetCommitRequest_OffsetCommitRequestTopic t = {kp_str(topic), {1, &p}};
    req.Topics.n = 1;
    req.Topics.v = &t;
    group_req_t rq = h_rq(h, version, "client");
    group_offset_commit(h->gc, &rq, &req, h->now);
    h_pump(h);
    return rq.token;
}

static inline int16_t h_commit(h_t *h, const char *group, int32_t gen, const char *member, const char *topic,
                               int32_t part, int64_t offset)
{
    uint64_t tok = h_commit_v(h, 2, group, gen, member, topic, part, offset);
    kp_OffsetCommitResponse *r = h_take(h, tok, KP_OFFSET_COMMIT);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->Topics.n, 1);
    ck_assert_int_eq(r->Topics.v[0].Partitions.n, 1);
    return r->Topics.v[0].Partitions.v[0].ErrorCode;
}

/* Committed offset of one partition (OffsetFetch v3), -1 if none. */
static inline int64_t h_fetch(h_t *h, const char *group, const char *topic, int32_t part)
{
    kp_OffsetFetchRequest req;
    kp_init(&kp_OffsetFetchRequest_schema, &req);
    req.GroupId = kp_str(group);
    int32_t parts[1] = {part};
    kp_OffsetFetchRequest_OffsetFetchRequestTopic t;
    t.Name = kp_str(topic);
    t.PartitionIndexes.n = 1;
    t.PartitionIndexes.v = parts;
    req.Topics.n = 1;
    req.Topics.v = &t;
    group_req_t rq = h_rq(h, 3, "client");
    group_offset_fetch(h->gc, &rq, &req, h->now);
    kp_OffsetFetchResponse *r = h_take(h, rq.token, KP_OFFSET_FETCH);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert_int_eq(r->Topics.n, 1);
    ck_assert_int_eq(r->Topics.v[0].Partitions.v[0].ErrorCode, 0);
    return r->Topics.v[0].Partitions.v[0].CommittedOffset;
}

static inline group_state_t h_state(h_t *h, const char *group, int32_t *gen, int32_t *members)
{
    group_state_t s = GROUP_DEAD;
    if (!group_inspect(h->gc, group, &s, gen, members))
        return GROUP_DEAD;
    return s;
}

#endif
