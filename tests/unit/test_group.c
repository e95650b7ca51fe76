/* Unit tests: broker/group — full rebalance scenarios against the pure coordinator: two
 * consumers split partitions, one leaves, one dies by session timeout, a new one joins
 * mid-rebalance, stale-generation commits are rejected (F17), the initial rebalance delay and
 * its extension, protocol selection, static members, simple commits, deletion, loading the
 * groups back from the __consumer_offsets log, offset expiry, coordinator ownership. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/group_harness.h"

#define G "grp"
#define SESSION 10000
#define REBALANCE 60000

static const int32_t P01[] = {0, 1}, P23[] = {2, 3}, P0123[] = {0, 1, 2, 3};

/* A and B (JoinGroup v4 flow) form generation 1 of G, splitting 4 partitions of "t". */
static void two_members(h_t *h, char **a, char **b)
{
    int64_t t0 = h->now;
    uint64_t ja = h_join_v4(h, G, "range", "t", SESSION, REBALANCE, a);
    ck_assert_int_eq(h_state(h, G, NULL, NULL), GROUP_PREPARING_REBALANCE);
    /* the initial delay holds the join */
    if (h->cfg.offsets_retention_check_ms > 6000)
        ck_assert_int_eq(group_next_deadline(h->gc), t0 + 3000);
    ck_assert_ptr_null(h_join_resp(h, ja));
    h_tick_to(h, t0 + 1000);
    uint64_t jb = h_join_v4(h, G, "range", "t", SESSION, REBALANCE, b);
    /* B arrived during the delay: it is extended once by another delay */
    h_tick_to(h, t0 + 5999);
    ck_assert_ptr_null(h_join_resp(h, ja));
    h_tick_to(h, t0 + 6000);
    kp_JoinGroupResponse *ra = h_join_resp(h, ja), *rb = h_join_resp(h, jb);
    ck_assert_ptr_nonnull(ra);
    ck_assert_ptr_nonnull(rb);
    ck_assert_int_eq(ra->ErrorCode, 0);
    ck_assert_int_eq(rb->ErrorCode, 0);
    ck_assert_int_eq(ra->GenerationId, 1);
    ck_assert_int_eq(rb->GenerationId, 1);
    ck_assert(kp_str_eq(ra->Leader, *a) && kp_str_eq(rb->Leader, *a));   /* first joiner leads */
    ck_assert(kp_str_eq(ra->ProtocolName, "range"));
    ck_assert_int_eq(ra->Members.n, 2);   /* only the leader gets the members */
    ck_assert_int_eq(rb->Members.n, 0);
    ck_assert(kp_str_eq(ra->MemberId, *a) && kp_str_eq(rb->MemberId, *b));
    ck_assert_int_eq(h_state(h, G, NULL, NULL), GROUP_COMPLETING_REBALANCE);
    /* heartbeats during CompletingRebalance: REBALANCE_IN_PROGRESS */
    ck_assert_int_eq(h_heartbeat(h, G, 1, *b), KERR_REBALANCE_IN_PROGRESS);

    /* the follower syncs first and waits for the leader */
    uint64_t sb = h_sync(h, G, 1, *b, 0, NULL, NULL);
    ck_assert_ptr_null(h_take(h, sb, KP_SYNC_GROUP));
    const char *ids[2] = {*a, *b};
    kp_bytes_t as[2] = {h_assignment(h, "t", P01, 2), h_assignment(h, "t", P23, 2)};
    h->hold_appends = true;
    uint64_t sa = h_sync(h, G, 1, *a, 2, ids, as);
    /* nothing is answered before the group metadata is durable */
    ck_assert_ptr_null(h_take(h, sa, KP_SYNC_GROUP));
    ck_assert_int_eq(h->nheld, 1);
    h->hold_appends = false;
    h_ack(h, 0);
    kp_SyncGroupResponse *rsa = h_take(h, sa, KP_SYNC_GROUP), *rsb = h_take(h, sb, KP_SYNC_GROUP);
    ck_assert_ptr_nonnull(rsa);
    ck_assert_ptr_nonnull(rsb);
    ck_assert_int_eq(rsa->ErrorCode, 0);
    ck_assert_int_eq(rsb->ErrorCode, 0);
    ck_assert(rsa->Assignment.len == as[0].len && !memcmp(rsa->Assignment.p, as[0].p, (size_t)as[0].len));
    ck_assert(rsb->Assignment.len == as[1].len && !memcmp(rsb->Assignment.p, as[1].p, (size_t)as[1].len));
    ck_assert_int_eq(h_state(h, G, NULL, NULL), GROUP_STABLE);
    ck_assert_int_eq(h_heartbeat(h, G, 1, *a), 0);
    ck_assert_int_eq(h_heartbeat(h, G, 1, *b), 0);
}

START_TEST(two_consumers_split_partitions)
{
    h_t h;
    h_init(&h, NULL, true);
    char *a, *b;
    two_members(&h, &a, &b);
    ck_assert(strncmp(a, "client-", 7) == 0 && strlen(a) == 7 + 36);   /* client.id + "-" + UUID */
    ck_assert_int_eq(h_commit(&h, G, 1, a, "t", 0, 10), 0);
    ck_assert_int_eq(h_commit(&h, G, 1, b, "t", 2, 20), 0);
    ck_assert_int_eq(h_fetch(&h, G, "t", 0), 10);
    ck_assert_int_eq(h_fetch(&h, G, "t", 2), 20);
    ck_assert_int_eq(h_fetch(&h, G, "t", 1), -1);
    /* a sync in Stable returns the member's assignment again */
    uint64_t s = h_sync(&h, G, 1, b, 0, NULL, NULL);
    kp_SyncGroupResponse *r = h_take(&h, s, KP_SYNC_GROUP);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert_int_gt(r->Assignment.len, 0);
    h_free(&h);
}
END_TEST

START_TEST(member_leaves)
{
    h_t h;
    h_init(&h, NULL, true);
    char *a, *b;
    two_members(&h, &a, &b);
    ck_assert_int_eq(h_leave(&h, G, b), 0);
    ck_assert_int_eq(h_state(&h, G, NULL, NULL), GROUP_PREPARING_REBALANCE);
    ck_assert_int_eq(h_heartbeat(&h, G, 1, a), KERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(h_heartbeat(&h, G, 1, b), KERR_UNKNOWN_MEMBER_ID);
    /* the only member rejoins: the rebalance completes at once (no initial delay: not Empty) */
    uint64_t j = h_join(&h, 4, G, a, NULL, "range", "t", SESSION, REBALANCE);
    kp_JoinGroupResponse *r = h_join_resp(&h, j);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert_int_eq(r->GenerationId, 2);
    ck_assert_int_eq(r->Members.n, 1);
    const char *ids[1] = {a};
    kp_bytes_t as[1] = {h_assignment(&h, "t", P0123, 4)};
    uint64_t s = h_sync(&h, G, 2, a, 1, ids, as);
    ck_assert_int_eq(((kp_SyncGroupResponse *)h_take(&h, s, KP_SYNC_GROUP))->ErrorCode, 0);
    ck_assert_int_eq(h_state(&h, G, NULL, NULL), GROUP_STABLE);
    /* the last member leaves: Empty, generation 3, written to the log */
    size_t loglen = h.log.len;
    ck_assert_int_eq(h_leave(&h, G, a), 0);
    int32_t gen, n;
    ck_assert_int_eq(h_state(&h, G, &gen, &n), GROUP_EMPTY);
    ck_assert_int_eq(gen, 3);
    ck_assert_int_eq(n, 0);
    ck_assert_int_gt(h.log.len, loglen);
    h_free(&h);
}
END_TEST

/* B stops heartbeating: its session times out, A rejoins alone. Stale commits are refused. */
START_TEST(session_timeout_and_stale_commits)
{
    h_t h;
    h_init(&h, NULL, true);
    char *a, *b;
    two_members(&h, &a, &b);
    ck_assert_int_eq(h_commit(&h, G, 1, b, "t", 2, 50), 0);
    int64_t t = h.now;
    for (int i = 1; i <= 3; i++) {
        h_tick_to(&h, t + i * 3000);
        ck_assert_int_eq(h_heartbeat(&h, G, 1, a), 0);
    }
    /* B's last heartbeat was at t: removed at t + 10000 */
    ck_assert_int_eq(h_state(&h, G, NULL, NULL), GROUP_STABLE);
    h_tick_to(&h, t + 12000);
    int32_t n;
    ck_assert_int_eq(h_state(&h, G, NULL, &n), GROUP_PREPARING_REBALANCE);
    ck_assert_int_eq(n, 1);
    /* B comes back: unknown; its commit is refused and the offset does not move (F17) */
    ck_assert_int_eq(h_heartbeat(&h, G, 1, b), KERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(h_commit(&h, G, 1, b, "t", 2, 40), KERR_UNKNOWN_MEMBER_ID);
    /* A may still commit at generation 1 while the group prepares the rebalance */
    ck_assert_int_eq(h_commit(&h, G, 1, a, "t", 0, 11), 0);
    uint64_t j = h_join(&h, 4, G, a, NULL, "range", "t", SESSION, REBALANCE);
    kp_JoinGroupResponse *r = h_join_resp(&h, j);
    ck_assert_int_eq(r->GenerationId, 2);
    /* generation 2 exists but is not synced: REBALANCE_IN_PROGRESS */
    ck_assert_int_eq(h_commit(&h, G, 2, a, "t", 0, 12), KERR_REBALANCE_IN_PROGRESS);
    const char *ids[1] = {a};
    kp_bytes_t as[1] = {h_assignment(&h, "t", P0123, 4)};
    uint64_t s = h_sync(&h, G, 2, a, 1, ids, as);
    ck_assert_int_eq(((kp_SyncGroupResponse *)h_take(&h, s, KP_SYNC_GROUP))->ErrorCode, 0);
    /* an old generation: ILLEGAL_GENERATION; the committed offset stays */
    ck_assert_int_eq(h_commit(&h, G, 1, a, "t", 2, 45), KERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(h_heartbeat(&h, G, 1, a), KERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(h_fetch(&h, G, "t", 2), 50);
    ck_assert_int_eq(h_commit(&h, G, 2, a, "t", 2, 55), 0);
    ck_assert_int_eq(h_fetch(&h, G, "t", 2), 55);
    /* a commit with generation -1 to a group with members: UNKNOWN_MEMBER_ID */
    ck_assert_int_eq(h_commit(&h, G, -1, "", "t", 2, 0), KERR_UNKNOWN_MEMBER_ID);
    /* a commit for a group that does not exist, with a generation: ILLEGAL_GENERATION */
    ck_assert_int_eq(h_commit(&h, "nogroup", 3, "x", "t", 0, 1), KERR_ILLEGAL_GENERATION);
    h_free(&h);
}
END_TEST

/* C joins while A and B are Stable: everyone rejoins; a member that does not rejoin within the
 * rebalance timeout is dropped. */
START_TEST(join_mid_rebalance)
{
    h_t h;
    h_init(&h, NULL, true);
    char *a, *b, *c;
    two_members(&h, &a, &b);
    uint64_t jc = h_join_v4(&h, G, "range", "t", SESSION, 20000, &c);
    ck_assert_int_eq(h_state(&h, G, NULL, NULL), GROUP_PREPARING_REBALANCE);
    ck_assert_int_eq(h_heartbeat(&h, G, 1, a), KERR_REBALANCE_IN_PROGRESS);
    uint64_t ja = h_join(&h, 4, G, a, NULL, "range", "t", SESSION, REBALANCE);
    ck_assert_ptr_null(h_join_resp(&h, ja));
    /* B keeps heartbeating but never rejoins; the rebalance timeout (max of members: 60 s)
     * ends the wait */
    int64_t t = h.now;
    for (int i = 1; i < 20; i++) {
        h_tick_to(&h, t + i * 3000);
        ck_assert_int_eq(h_heartbeat(&h, G, 1, b), KERR_REBALANCE_IN_PROGRESS);
    }
    ck_assert_ptr_null(h_join_resp(&h, ja));
    h_tick_to(&h, t + REBALANCE);
    kp_JoinGroupResponse *ra = h_join_resp(&h, ja), *rc = h_join_resp(&h, jc);
    ck_assert_ptr_nonnull(ra);
    ck_assert_ptr_nonnull(rc);
    ck_assert_int_eq(ra->GenerationId, 2);
    ck_assert_int_eq(ra->Members.n, 2);
    ck_assert(kp_str_eq(rc->Leader, a));
    ck_assert_int_eq(h_heartbeat(&h, G, 2, b), KERR_UNKNOWN_MEMBER_ID);
    h_free(&h);
}
END_TEST

/* The initial delay is extended while members keep arriving, but never past the rebalance
 * timeout. */
START_TEST(initial_delay_bounded)
{
    h_t h;
    h_init(&h, NULL, true);
    int64_t t0 = h.now;
    uint64_t ja = h_join(&h, 1, G, "", NULL, "range", "t", SESSION, 5000);   /* v1: no member id round trip */
    ck_assert_int_eq(group_next_deadline(h.gc), t0 + 3000);
    h_tick_to(&h, t0 + 1000);
    uint64_t jb = h_join(&h, 1, G, "", NULL, "range", "t", SESSION, 5000);
    h_tick_to(&h, t0 + 3000);
    /* extended by min(delay, remaining = 5000 - 3000) */
    ck_assert_int_eq(group_next_deadline(h.gc), t0 + 5000);
    h_tick_to(&h, t0 + 4000);
    uint64_t jc = h_join(&h, 1, G, "", NULL, "range", "t", SESSION, 5000);
    h_tick_to(&h, t0 + 4999);
    ck_assert_ptr_null(h_join_resp(&h, ja));
    h_tick_to(&h, t0 + 5000);
    kp_JoinGroupResponse *r = h_join_resp(&h, ja);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->Members.n, 3);
    ck_assert_ptr_nonnull(h_join_resp(&h, jb));
    ck_assert_ptr_nonnull(h_join_resp(&h, jc));
    h_free(&h);
}
END_TEST

START_TEST(join_validation_and_protocols)
{
    group_config_t cfg;
    group_config_defaults(&cfg);
    cfg.num_partitions = 1;
    cfg.initial_rebalance_delay_ms = 0;
    h_t h;
    h_init(&h, &cfg, true);
    /* session timeout bounds */
    uint64_t t = h_join(&h, 1, G, "", NULL, "range", "t", 5999, 1000);
    ck_assert_int_eq(h_join_resp(&h, t)->ErrorCode, KERR_INVALID_SESSION_TIMEOUT);
    t = h_join(&h, 1, G, "", NULL, "range", "t", 1800001, 1000);
    ck_assert_int_eq(h_join_resp(&h, t)->ErrorCode, KERR_INVALID_SESSION_TIMEOUT);
    t = h_join(&h, 1, "", "", NULL, "range", "t", SESSION, 1000);
    ck_assert_int_eq(h_join_resp(&h, t)->ErrorCode, KERR_INVALID_GROUP_ID);
    /* a known-looking member id for an unknown group */
    t = h_join(&h, 1, "other", "m-1", NULL, "range", "t", SESSION, 1000);
    ck_assert_int_eq(h_join_resp(&h, t)->ErrorCode, KERR_UNKNOWN_MEMBER_ID);
    /* no protocols */
    t = h_join(&h, 1, G, "", NULL, "", "t", SESSION, 1000);
    ck_assert_int_eq(h_join_resp(&h, t)->ErrorCode, KERR_INCONSISTENT_GROUP_PROTOCOL);

    /* protocol selection: C supports only range, so range wins although A and B prefer rr */
    uint64_t ja = h_join(&h, 0, G, "", NULL, "roundrobin,range", "t", SESSION, 0);
    uint64_t jb = h_join(&h, 1, G, "", NULL, "roundrobin,range", "t", SESSION, 1000);
    uint64_t jc = h_join(&h, 1, G, "", NULL, "range", "t", SESSION, 1000);
    ck_assert_ptr_null(h_join_resp(&h, jc));
    /* a member with nothing in common is refused */
    t = h_join(&h, 1, G, "", NULL, "sticky", "t", SESSION, 1000);
    ck_assert_int_eq(h_join_resp(&h, t)->ErrorCode, KERR_INCONSISTENT_GROUP_PROTOCOL);
    h_tick_to(&h, h.now + 1);
    kp_JoinGroupResponse *ra = h_join_resp(&h, ja);
    ck_assert_ptr_nonnull(ra);
    ck_assert_msg(kp_str_eq(ra->ProtocolName, "range"), "%.*s members %d", KP_STR_ARGS(ra->ProtocolName), ra->Members.n);
    ck_assert(kp_str_eq(ra->ProtocolName, "range"));
    ck_assert_ptr_nonnull(h_join_resp(&h, jb));
    ck_assert_ptr_nonnull(h_join_resp(&h, jc));

    /* majority preference: rr for two of three */
    ja = h_join(&h, 1, "g2", "", NULL, "roundrobin,range", "t", SESSION, 1000);
    jb = h_join(&h, 1, "g2", "", NULL, "range,roundrobin", "t", SESSION, 1000);
    jc = h_join(&h, 1, "g2", "", NULL, "roundrobin,range", "t", SESSION, 1000);
    h_tick_to(&h, h.now + 1);
    ck_assert(kp_str_eq(h_join_resp(&h, jb)->ProtocolName, "roundrobin"));
    h_free(&h);
}
END_TEST

START_TEST(sync_store_failure)
{
    h_t h;
    h_init(&h, NULL, true);
    char *a, *b;
    uint64_t ja = h_join_v4(&h, G, "range", "t", SESSION, REBALANCE, &a);
    uint64_t jb = h_join_v4(&h, G, "range", "t", SESSION, REBALANCE, &b);
    h_tick_to(&h, h.now + 6000);
    ck_assert_ptr_nonnull(h_join_resp(&h, ja));
    ck_assert_ptr_nonnull(h_join_resp(&h, jb));
    uint64_t sb = h_sync(&h, G, 1, b, 0, NULL, NULL);
    h.hold_appends = true;
    const char *ids[1] = {a};
    kp_bytes_t as[1] = {h_assignment(&h, "t", P01, 2)};
    uint64_t sa = h_sync(&h, G, 1, a, 1, ids, as);
    h.hold_appends = false;
    h_ack(&h, KERR_NOT_LEADER_FOR_PARTITION);
    /* both waiting members learn it; the group goes back to rebalancing */
    ck_assert_int_eq(((kp_SyncGroupResponse *)h_take(&h, sa, KP_SYNC_GROUP))->ErrorCode, KERR_NOT_COORDINATOR);
    ck_assert_int_eq(((kp_SyncGroupResponse *)h_take(&h, sb, KP_SYNC_GROUP))->ErrorCode, KERR_NOT_COORDINATOR);
    ck_assert_int_eq(h_state(&h, G, NULL, NULL), GROUP_PREPARING_REBALANCE);
    /* a sync for the wrong generation / an unknown member */
    uint64_t s = h_sync(&h, G, 7, a, 0, NULL, NULL);
    ck_assert_int_eq(((kp_SyncGroupResponse *)h_take(&h, s, KP_SYNC_GROUP))->ErrorCode, KERR_ILLEGAL_GENERATION);
    s = h_sync(&h, G, 1, "nobody", 0, NULL, NULL);
    ck_assert_int_eq(((kp_SyncGroupResponse *)h_take(&h, s, KP_SYNC_GROUP))->ErrorCode, KERR_UNKNOWN_MEMBER_ID);
    s = h_sync(&h, G, 1, a, 0, NULL, NULL);
    ck_assert_int_eq(((kp_SyncGroupResponse *)h_take(&h, s, KP_SYNC_GROUP))->ErrorCode, KERR_REBALANCE_IN_PROGRESS);
    h_free(&h);
}
END_TEST

/* Pending members (MEMBER_ID_REQUIRED) that never come back expire after the session timeout
 * and do not hold the rebalance forever. */
START_TEST(pending_member_expires)
{
    h_t h;
    h_init(&h, NULL, true);
    char *a, *b;
    two_members(&h, &a, &b);
    uint64_t t = h_join(&h, 4, G, "", NULL, "range", "t", SESSION, REBALANCE);
    ck_assert_int_eq(h_join_resp(&h, t)->ErrorCode, KERR_MEMBER_ID_REQUIRED);
    /* a pending member does not trigger a rebalance by itself */
    ck_assert_int_eq(h_state(&h, G, NULL, NULL), GROUP_STABLE);
    /* A rejoins as leader (forces a rebalance), B too; the pending one blocks completion ... */
    uint64_t ja = h_join(&h, 4, G, a, NULL, "range", "t", SESSION, REBALANCE);
    uint64_t jb = h_join(&h, 4, G, b, NULL, "range", "t", SESSION, REBALANCE);
    ck_assert_ptr_null(h_join_resp(&h, ja));
    /* ... until its session timeout passes */
    h_tick_to(&h, h.now + SESSION);
    ck_assert_ptr_nonnull(h_join_resp(&h, ja));
    ck_assert_int_eq(h_join_resp(&h, jb)->GenerationId, 2);
    h_free(&h);
}
END_TEST

START_TEST(static_member_rejoins_without_rebalance)
{
    h_t h;
    h_init(&h, NULL, true);
    int64_t t0 = h.now;
    uint64_t j = h_join(&h, 5, G, "", "inst-1", "range", "t", SESSION, REBALANCE);
    h_tick_to(&h, t0 + 3000);
    kp_JoinGroupResponse *r = h_join_resp(&h, j);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert(r->MemberId.len > 7 && !memcmp(r->MemberId.p, "inst-1-", 7));
    ck_assert(kp_str_eq(r->Members.v[0].GroupInstanceId, "inst-1"));
    char *m1 = kp_str_dup(&h.arena, r->MemberId);
    const char *ids[1] = {m1};
    kp_bytes_t as[1] = {h_assignment(&h, "t", P01, 2)};
    uint64_t s = h_sync(&h, G, 1, m1, 1, ids, as);
    ck_assert_int_eq(((kp_SyncGroupResponse *)h_take(&h, s, KP_SYNC_GROUP))->ErrorCode, 0);
    /* restart of the same instance: a new member id, same generation, no rebalance, and the
     * old leader id so the member does not reassign */
    j = h_join(&h, 5, G, "", "inst-1", "range", "t", SESSION, REBALANCE);
    r = h_join_resp(&h, j);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert_int_eq(r->GenerationId, 1);
    ck_assert(!kp_str_eq(r->MemberId, m1));
    ck_assert(kp_str_eq(r->Leader, m1));
    int32_t gen;
    ck_assert_int_eq(h_state(&h, G, &gen, NULL), GROUP_STABLE);
    ck_assert_int_eq(gen, 1);
    /* the old id is gone */
    ck_assert_int_eq(h_heartbeat(&h, G, 1, m1), KERR_UNKNOWN_MEMBER_ID);
    h_free(&h);
}
END_TEST

START_TEST(simple_commits_list_describe_delete)
{
    h_t h;
    h_init(&h, NULL, true);
    /* kafka-consumer-groups.sh --reset-offsets: generation -1, no member */
    ck_assert_int_eq(h_commit(&h, "simple", -1, "", "t", 0, 5), 0);
    ck_assert_int_eq(h_fetch(&h, "simple", "t", 0), 5);
    ck_assert_int_eq(h_state(&h, "simple", NULL, NULL), GROUP_EMPTY);
    char *a, *b;
    two_members(&h, &a, &b);

    group_req_t rq = h_rq(&h, 2, "admin");
    group_list(h.gc, &rq, h.now);
    kp_ListGroupsResponse *l = h_take(&h, rq.token, KP_LIST_GROUPS);
    ck_assert_int_eq(l->ErrorCode, 0);
    ck_assert_int_eq(l->Groups.n, 2);
    ck_assert(kp_str_eq(l->Groups.v[0].GroupId, G) && kp_str_eq(l->Groups.v[0].ProtocolType, "consumer"));
    ck_assert(kp_str_eq(l->Groups.v[1].GroupId, "simple") && kp_str_eq(l->Groups.v[1].ProtocolType, ""));

    kp_DescribeGroupsRequest dreq;
    kp_init(&kp_DescribeGroupsRequest_schema, &dreq);
    kp_str_t names[3] = {kp_str(G), kp_str("simple"), kp_str("nope")};
    dreq.Groups.n = 3;
    dreq.Groups.v = names;
    dreq.IncludeAuthorizedOperations = true;
    rq = h_rq(&h, 3, "admin");
    group_describe(h.gc, &rq, &dreq, h.now);
    kp_DescribeGroupsResponse *d = h_take(&h, rq.token, KP_DESCRIBE_GROUPS);
    ck_assert_int_eq(d->Groups.n, 3);
    ck_assert(kp_str_eq(d->Groups.v[0].GroupState, "Stable") && kp_str_eq(d->Groups.v[0].ProtocolData, "range"));
    ck_assert_int_eq(d->Groups.v[0].Members.n, 2);
    ck_assert(kp_str_eq(d->Groups.v[0].Members.v[0].ClientHost, "/127.0.0.1"));
    ck_assert_int_gt(d->Groups.v[0].Members.v[0].MemberAssignment.len, 0);
    ck_assert_int_gt(d->Groups.v[0].Members.v[0].MemberMetadata.len, 0);
    ck_assert_int_eq(d->Groups.v[0].AuthorizedOperations, 328);
    ck_assert(kp_str_eq(d->Groups.v[1].GroupState, "Empty") && kp_str_eq(d->Groups.v[1].ProtocolType, ""));
    ck_assert(kp_str_eq(d->Groups.v[2].GroupState, "Dead"));

    kp_DeleteGroupsRequest del;
    kp_init(&kp_DeleteGroupsRequest_schema, &del);
    del.GroupsNames.n = 3;
    del.GroupsNames.v = names;
    rq = h_rq(&h, 1, "admin");
    size_t loglen = h.log.len;
    group_delete(h.gc, &rq, &del, h.now);
    kp_DeleteGroupsResponse *dr = h_take(&h, rq.token, KP_DELETE_GROUPS);
    ck_assert_int_eq(dr->Results.v[0].ErrorCode, KERR_NON_EMPTY_GROUP);
    ck_assert_int_eq(dr->Results.v[1].ErrorCode, 0);
    ck_assert_int_eq(dr->Results.v[2].ErrorCode, KERR_GROUP_ID_NOT_FOUND);
    ck_assert_int_eq(h_fetch(&h, "simple", "t", 0), -1);
    ck_assert_int_eq(h_state(&h, "simple", NULL, NULL), GROUP_DEAD);
    /* one offset tombstone, no group tombstone (the group never rebalanced) */
    krec_iter_t it;
    krec_record_t rec;
    krec_iter_init(&it, h.log.data + loglen, h.log.len - loglen, 0, 0);
    int n = 0;
    while (krec_iter_next(&it, &rec) == 1) {
        offsets_key_t k;
        ck_assert_int_eq(offsets_key_decode(rec.key, (size_t)rec.key_len, &k), 0);
        ck_assert_int_eq(k.kind, OFFSETS_KEY_COMMIT);
        ck_assert(kp_str_eq(k.group, "simple"));
        ck_assert_int_eq(rec.value_len, -1);
        n++;
    }
    krec_iter_free(&it);
    ck_assert_int_eq(n, 1);
    h_free(&h);
}
END_TEST

/* Everything written to __consumer_offsets rebuilds the same state in a new coordinator. */
START_TEST(reload_from_log)
{
    h_t h;
    h_init(&h, NULL, true);
    char *a, *b;
    two_members(&h, &a, &b);
    ck_assert_int_eq(h_commit(&h, G, 1, a, "t", 0, 100), 0);
    ck_assert_int_eq(h_commit(&h, G, 1, a, "t", 0, 101), 0);
    ck_assert_int_eq(h_commit(&h, G, 1, b, "t", 3, 300), 0);
    ck_assert_int_eq(h_commit(&h, "simple", -1, "", "u", 0, 7), 0);

    h_t h2;
    h_init(&h2, NULL, false);
    h2.now = h.now;
    /* loading: requests wait */
    ck_assert_int_eq(group_load_begin(h2.gc, 0), 0);
    ck_assert_int_eq(h_heartbeat(&h2, G, 1, a), 0);   /* answered blindly while loading */
    uint64_t s = h_sync(&h2, G, 1, a, 0, NULL, NULL);
    ck_assert_int_eq(((kp_SyncGroupResponse *)h_take(&h2, s, KP_SYNC_GROUP))->ErrorCode, KERR_REBALANCE_IN_PROGRESS);
    /* feed the log in two pieces, the first cut inside a batch boundary-free split */
    ck_assert_int_eq(group_load_feed(h2.gc, 0, h.log.data, h.log.len), 0);
    group_load_end(h2.gc, 0, h2.now);
    int32_t gen, n;
    ck_assert_int_eq(h_state(&h2, G, &gen, &n), GROUP_STABLE);
    ck_assert_int_eq(gen, 1);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(h_fetch(&h2, G, "t", 0), 101);
    ck_assert_int_eq(h_fetch(&h2, G, "t", 3), 300);
    ck_assert_int_eq(h_fetch(&h2, "simple", "u", 0), 7);
    ck_assert_int_eq(h_heartbeat(&h2, G, 1, a), 0);
    /* the assignment survived */
    s = h_sync(&h2, G, 1, b, 0, NULL, NULL);
    kp_SyncGroupResponse *sr = h_take(&h2, s, KP_SYNC_GROUP);
    ck_assert_int_eq(sr->ErrorCode, 0);
    ck_assert_int_gt(sr->Assignment.len, 0);
    /* members that never come back time out: the group ends Empty at generation 2 */
    h_tick_to(&h2, h2.now + SESSION + 1);
    ck_assert_int_eq(h_state(&h2, G, &gen, &n), GROUP_EMPTY);
    ck_assert_int_eq(gen, 2);
    h_free(&h2);
    h_free(&h);
}
END_TEST

START_TEST(offsets_expire)
{
    group_config_t cfg;
    group_config_defaults(&cfg);
    cfg.num_partitions = 1;
    cfg.offsets_retention_ms = 100000;
    cfg.offsets_retention_check_ms = 1000;
    h_t h;
    h_init(&h, &cfg, true);
    int64_t t0 = h.now;
    ck_assert_int_eq(h_commit(&h, "simple", -1, "", "t", 0, 5), 0);
    char *a, *b;
    two_members(&h, &a, &b);   /* takes about 6 s */
    ck_assert_int_eq(h_commit(&h, G, 1, a, "t", 0, 9), 0);
    ck_assert_int_eq(h_commit(&h, G, 1, a, "gone", 0, 9), 0);   /* not subscribed */
    int64_t tc = h.now;
    /* keep the members alive past the retention time */
    for (int64_t t = h.now + 3000; t < t0 + 100000 + 4000; t += 3000) {
        h_tick_to(&h, t);
        ck_assert_int_eq(h_heartbeat(&h, G, 1, a), 0);
        ck_assert_int_eq(h_heartbeat(&h, G, 1, b), 0);
    }
    /* the simple group's offset expired and the group is gone */
    ck_assert_int_eq(h_state(&h, "simple", NULL, NULL), GROUP_DEAD);
    h_tick_to(&h, tc + 100000 + 1000);
    ck_assert_int_eq(h_heartbeat(&h, G, 1, a), 0);
    ck_assert_int_eq(h_heartbeat(&h, G, 1, b), 0);
    /* a subscribed topic's offset stays while the group is active; the other expires */
    ck_assert_int_eq(h_fetch(&h, G, "t", 0), 9);
    ck_assert_int_eq(h_fetch(&h, G, "gone", 0), -1);
    /* the group empties: retention counts from then */
    ck_assert_int_eq(h_leave(&h, G, a), 0);
    ck_assert_int_eq(h_leave(&h, G, b), 0);
    int64_t te = h.now;
    ck_assert_int_eq(h_state(&h, G, NULL, NULL), GROUP_EMPTY);
    h_tick_to(&h, te + 99000);
    ck_assert_int_eq(h_fetch(&h, G, "t", 0), 9);
    h_tick_to(&h, te + 101000);
    ck_assert_int_eq(h_fetch(&h, G, "t", 0), -1);
    ck_assert_int_eq(h_state(&h, G, NULL, NULL), GROUP_DEAD);
    /* the log ends with the offset tombstone and the group tombstone */
    offsets_loader_t l;
    offsets_loader_init(&l);
    ck_assert_int_eq(offsets_loader_feed(&l, h.log.data, h.log.len), 0);
    offsets_loaded_t *lg = hmap_gets(&l.groups, G);
    ck_assert_ptr_nonnull(lg);
    ck_assert(lg->meta_deleted && offsets_table_count(&lg->offsets) == 0);
    offsets_loader_fini(&l);
    h_free(&h);
}
END_TEST

START_TEST(coordinator_ownership)
{
    group_config_t cfg;
    group_config_defaults(&cfg);
    cfg.num_partitions = 50;
    h_t h;
    h_init(&h, &cfg, false);
    int32_t p = group_partition_for(h.gc, kp_str("my-group"));
    ck_assert_int_eq(p, 12);   /* abs("my-group".hashCode()) % 50, from a JVM */
    uint64_t t = h_join(&h, 1, "my-group", "", NULL, "range", "t", SESSION, 1000);
    ck_assert_int_eq(h_join_resp(&h, t)->ErrorCode, KERR_NOT_COORDINATOR);
    ck_assert_int_eq(group_load_begin(h.gc, p), 0);
    ck_assert_int_eq(group_load_begin(h.gc, p), -1);
    t = h_join(&h, 1, "my-group", "", NULL, "range", "t", SESSION, 1000);
    ck_assert_int_eq(h_join_resp(&h, t)->ErrorCode, KERR_COORDINATOR_LOAD_IN_PROGRESS);
    group_req_t rq = h_rq(&h, 0, "admin");
    group_list(h.gc, &rq, h.now);
    ck_assert_int_eq(((kp_ListGroupsResponse *)h_take(&h, rq.token, KP_LIST_GROUPS))->ErrorCode,
                     KERR_COORDINATOR_LOAD_IN_PROGRESS);
    group_load_end(h.gc, p, h.now);
    uint64_t j = h_join(&h, 1, "my-group", "", NULL, "range", "t", SESSION, 1000);
    ck_assert_ptr_null(h_join_resp(&h, j));
    /* leadership moves: the waiting member hears NOT_COORDINATOR */
    group_unload(h.gc, p, h.now);
    ck_assert_int_eq(h_join_resp(&h, j)->ErrorCode, KERR_NOT_COORDINATOR);
    ck_assert_int_eq(group_count(h.gc), 0);
    h_free(&h);
}
END_TEST

START_TEST(leave_batch_v3)
{
    h_t h;
    h_init(&h, NULL, true);
    char *a, *b;
    two_members(&h, &a, &b);
    kp_LeaveGroupRequest req;
    kp_init(&kp_LeaveGroupRequest_schema, &req);
    req.GroupId = kp_str(G);
    kp_LeaveGroupRequest_MemberIdentity ids[3] = {{kp_str(a), KP_STR_NULL}, {kp_str("ghost"), KP_STR_NULL},
                                                  {kp_str(b), KP_STR_NULL}};
    req.Members.n = 3;
    req.Members.v = ids;
    group_req_t rq = h_rq(&h, 3, "admin");
    group_leave(h.gc, &rq, &req, h.now);
    kp_LeaveGroupResponse *r = h_take(&h, rq.token, KP_LEAVE_GROUP);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert_int_eq(r->Members.n, 3);
    ck_assert_int_eq(r->Members.v[0].ErrorCode, 0);
    ck_assert_int_eq(r->Members.v[1].ErrorCode, KERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(r->Members.v[2].ErrorCode, 0);
    ck_assert_int_eq(h_state(&h, G, NULL, NULL), GROUP_EMPTY);
    /* v0-v2 fold the member's error into the top level */
    ck_assert_int_eq(h_leave(&h, G, "ghost"), KERR_UNKNOWN_MEMBER_ID);
    h_free(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("group");
    TCase *tc = tcase_create("group");
    tcase_add_test(tc, two_consumers_split_partitions);
    tcase_add_test(tc, member_leaves);
    tcase_add_test(tc, session_timeout_and_stale_commits);
    tcase_add_test(tc, join_mid_rebalance);
    tcase_add_test(tc, initial_delay_bounded);
    tcase_add_test(tc, join_validation_and_protocols);
    tcase_add_test(tc, sync_store_failure);
    tcase_add_test(tc, pending_member_expires);
    tcase_add_test(tc, static_member_rejoins_without_rebalance);
    tcase_add_test(tc, simple_commits_list_describe_delete);
    tcase_add_test(tc, reload_from_log);
    tcase_add_test(tc, offsets_expire);
    tcase_add_test(tc, coordinator_ownership);
    tcase_add_test(tc, leave_batch_v3);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
