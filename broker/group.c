/* group.c — the consumer group coordinator state machine (see group.h).
 *
 * Structure follows Kafka 2.4's GroupCoordinator: request handlers (join/sync/heartbeat/
 * leave/commit/fetch/describe/list/delete), the rebalance steps (prepare_rebalance,
 * complete_join), member expiry, and the GroupMetadataManager parts (store group, store
 * offsets, load, expire). Kafka's purgatories become deadlines kept on the group and its
 * members: `join_deadline` (DelayedJoin / InitialDelayedJoin), member `hb_deadline`
 * (DelayedHeartbeat) and pending member deadlines; group_tick fires the due ones. */
#include "broker/group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group_proto.h"
#include "broker/offsets.h"
#include "common/alloc.h"
#include "common/hmap.h"
#include "proto/kafka_err.h"

#define NEVER INT64_MAX
#define NEW_MEMBER_JOIN_TIMEOUT_MS 300000   /* GroupCoordinator.NewMemberJoinTimeoutMs */
#define GROUP_OPS_ALL_AUTHORIZED ((1 << 3) | (1 << 6) | (1 << 8))   /* READ, DELETE, DESCRIBE */

/* A response channel that is waiting (Kafka's awaitingJoinCallback / awaitingSyncCallback). */
typedef struct waiter_s {
    bool set;
    uint64_t token;
    int16_t version;
} waiter_t;

typedef struct proto_s {
    char *name;
    uint8_t *meta;
    int32_t len;
} proto_t;

typedef struct member_s {
    char *id;
    char *instance_id;          /* NULL: dynamic member */
    char *client_id;
    char *client_host;
    int32_t session_timeout;
    int32_t rebalance_timeout;
    proto_t *protos;
    int32_t nprotos;
    uint8_t *assignment;
    int32_t assignment_len;
    waiter_t join, sync;
    bool is_new;
    int64_t latest_heartbeat;
    int64_t hb_deadline;        /* NEVER: no expiration scheduled */
} member_t;

typedef struct pending_s {
    char *id;
    int64_t deadline;
} pending_t;

typedef struct grp_s {
    char *id;
    uint64_t serial;            /* tells a group from a later one of the same name */
    int32_t partition;
    group_state_t state;
    int64_t state_ts;           /* currentStateTimestamp, -1 = unknown */
    int32_t generation;
    char *protocol_type;        /* NULL = none */
    char *protocol;             /* NULL = none */
    char *leader;               /* NULL = none */
    member_t **members;         /* insertion order */
    int32_t nmembers, cap_members;
    pending_t *pending;
    int32_t npending, cap_pending;
    int32_t num_awaiting_join;
    bool new_member_added;
    /* the delayed join: a deadline, and for the initial delay its parameters */
    int64_t join_deadline;
    bool join_initial;
    int32_t join_delay, join_remaining;
    /* offsets */
    offsets_table_t offsets;
    hmap_t pending_commits;     /* topic\0be32 partition -> count (as a pointer-sized integer) */
    /* subscribedTopics: known only for the consumer protocol */
    bool subs_known;
    char **subs;
    int32_t nsubs;
} grp_t;

typedef enum { APPEND_SYNC = 1, APPEND_COMMIT, APPEND_EMPTY_GROUP, APPEND_TOMBSTONES } append_kind_t;

typedef struct commit_item_s {
    char *topic;
    int32_t partition;
    offsets_commit_t c;         /* metadata owned */
    int16_t *err;               /* the response field to set */
} commit_item_t;

typedef struct append_s {
    uint64_t id;
    append_kind_t kind;
    char *group;
    uint64_t serial;
    int32_t generation;
    /* APPEND_SYNC: the assignment to install (by member id) */
    int32_t nassign;
    char **assign_ids;
    uint8_t **assign;
    int32_t *assign_len;
    /* APPEND_COMMIT: the response waiting, and what to put in the cache */
    group_out_t *resp;
    commit_item_t *items;
    int32_t nitems;
} append_t;

typedef enum { PART_NONE = 0, PART_LOADING, PART_OWNED } part_state_t;

struct group_coord_s {
    group_config_t cfg;
    hmap_t groups;              /* id -> grp_t */
    uint8_t *pstate;            /* per offsets partition: part_state_t */
    offsets_loader_t **loaders; /* per partition while loading */
    int32_t nloading;
    hmap_t appends;             /* append id -> append_t */
    uint64_t next_append_id;
    uint64_t next_serial;
    uint64_t rng;
    int64_t next_expiry_check;  /* NEVER until the first partition is owned */
    group_out_t *out_head, *out_tail;
};

/* ---- small helpers ------------------------------------------------------------------------ */

const char *group_state_name(group_state_t s)
{
    switch (s) {
    case GROUP_EMPTY: return "Empty";
    case GROUP_PREPARING_REBALANCE: return "PreparingRebalance";
    case GROUP_COMPLETING_REBALANCE: return "CompletingRebalance";
    case GROUP_STABLE: return "Stable";
    case GROUP_DEAD: return "Dead";
    }
    return "Unknown";
}

void group_config_defaults(group_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->num_partitions = 50;
    cfg->min_session_timeout_ms = 6000;
    cfg->max_session_timeout_ms = 1800000;
    cfg->initial_rebalance_delay_ms = 3000;
    cfg->max_group_size = INT32_MAX;
    cfg->offsets_retention_ms = 7LL * 24 * 60 * 60 * 1000;
    cfg->offsets_retention_check_ms = 600000;
    cfg->max_metadata_size = 4096;
    cfg->seed = 0x9e3779b97f4a7c15ull;
}

static char *sdup(kp_str_t s)
{
    return xstrndup(s.len > 0 ? (const char *)s.p : "", s.len > 0 ? (size_t)s.len : 0);
}

static bool seq(const char *a, kp_str_t b)
{
    size_t n = b.len > 0 ? (size_t)b.len : 0;
    return a && b.len >= 0 && strlen(a) == n && (n == 0 || memcmp(a, b.p, n) == 0);
}

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* A copy of n bytes with a NUL after them (never NULL, also for n = 0). */
static uint8_t *dupbytes(const uint8_t *p, int32_t n)
{
    uint8_t *d = xmalloc((size_t)(n > 0 ? n : 0) + 1);
    if (n > 0)
        memcpy(d, p, (size_t)n);
    d[n > 0 ? n : 0] = 0;
    return d;
}

static kp_str_t astr(arena_t *a, const char *s)
{
    if (!s)
        return KP_STR_NULL;
    size_t n = strlen(s);
    return (kp_str_t){(const uint8_t *)arena_strndup(a, s, n), (int32_t)n};
}

static kp_bytes_t abytes(arena_t *a, const uint8_t *p, int32_t n)
{
    if (n <= 0)
        return (kp_bytes_t){(const uint8_t *)"", 0};
    return (kp_bytes_t){arena_memdup(a, p, (size_t)n), n};
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* "<prefix>-<random UUID>" as Kafka's generateMemberId. */
static char *new_member_id(group_coord_t *gc, const char *prefix)
{
    uint64_t hi = rng_next(&gc->rng), lo = rng_next(&gc->rng);
    hi = (hi & ~0xf000ull) | 0x4000ull;                   /* version 4 */
    lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull; /* IETF variant */
    return xasprintf("%s-%08x-%04x-%04x-%04x-%012llx", prefix, (unsigned)(hi >> 32), (unsigned)(hi >> 16) & 0xffff,
                     (unsigned)hi & 0xffff, (unsigned)(lo >> 48), (unsigned long long)(lo & 0xffffffffffffull));
}

/* ---- outputs ------------------------------------------------------------------------------ */

static group_out_t *out_new(group_out_kind_t kind)
{
    group_out_t *o = xcalloc(1, sizeof *o);
    o->kind = kind;
    arena_init(&o->arena);
    buf_init(&o->records);
    return o;
}

static void out_push(group_coord_t *gc, group_out_t *o)
{
    o->next = NULL;
    if (gc->out_tail)
        gc->out_tail->next = o;
    else
        gc->out_head = o;
    gc->out_tail = o;
}

void group_out_free(group_out_t *o)
{
    if (!o)
        return;
    arena_free(&o->arena);
    buf_free(&o->records);
    free(o);
}

group_out_t *group_take_outputs(group_coord_t *gc)
{
    group_out_t *h = gc->out_head;
    gc->out_head = gc->out_tail = NULL;
    return h;
}

static group_out_t *resp_new(uint64_t token, int16_t version, int16_t api, const kp_schema_t *s)
{
    group_out_t *o = out_new(GROUP_OUT_RESPONSE);
    o->token = token;
    o->version = version;
    o->api_key = api;
    o->resp = kp_new(&o->arena, s);
    return o;
}

/* ---- groups and members ------------------------------------------------------------------- */

static void member_free(member_t *m)
{
    if (!m)
        return;
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    for (int32_t i = 0; i < m->nprotos; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    free(m->assignment);
    free(m);
}

static void subs_clear(grp_t *g)
{
    for (int32_t i = 0; i < g->nsubs; i++)
        free(g->subs[i]);
    free(g->subs);
    g->subs = NULL;
    g->nsubs = 0;
    g->subs_known = false;
}

static void grp_free(void *v)
{
    grp_t *g = v;
    if (!g)
        return;
    for (int32_t i = 0; i < g->nmembers; i++)
        member_free(g->members[i]);
    free(g->members);
    for (int32_t i = 0; i < g->npending; i++)
        free(g->pending[i].id);
    free(g->pending);
    offsets_table_fini(&g->offsets);
    hmap_fini(&g->pending_commits, NULL);
    subs_clear(g);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    free(g);
}

static grp_t *grp_get(const group_coord_t *gc, kp_str_t id)
{
    size_t n = id.len > 0 ? (size_t)id.len : 0;
    return hmap_get(&gc->groups, n ? id.p : (const uint8_t *)"", n);
}

static void transition(grp_t *g, group_state_t s, int64_t now)
{
    g->state = s;
    g->state_ts = now;
}

static grp_t *grp_add(group_coord_t *gc, kp_str_t id, int64_t now)
{
    grp_t *g = xcalloc(1, sizeof *g);
    g->id = sdup(id);
    g->serial = ++gc->next_serial;
    g->partition = group_partition_for(gc, id);
    g->state = GROUP_EMPTY;
    g->state_ts = now;
    g->join_deadline = NEVER;
    offsets_table_init(&g->offsets);
    hmap_init(&g->pending_commits);
    hmap_put(&gc->groups, g->id, strlen(g->id), g);
    return g;
}

static void grp_remove(group_coord_t *gc, grp_t *g)
{
    hmap_del(&gc->groups, g->id, strlen(g->id));
    grp_free(g);
}

static member_t *member_get(const grp_t *g, const char *id)
{
    for (int32_t i = 0; i < g->nmembers; i++)
        if (streq(g->members[i]->id, id))
            return g->members[i];
    return NULL;
}

static member_t *member_getk(const grp_t *g, kp_str_t id)
{
    for (int32_t i = 0; i < g->nmembers; i++)
        if (seq(g->members[i]->id, id))
            return g->members[i];
    return NULL;
}

static member_t *static_member(const grp_t *g, kp_str_t instance_id)
{
    if (instance_id.len < 0)
        return NULL;
    for (int32_t i = 0; i < g->nmembers; i++)
        if (g->members[i]->instance_id && seq(g->members[i]->instance_id, instance_id))
            return g->members[i];
    return NULL;
}

/* Kafka's isStaticMemberFenced: the instance id is known under another member id. */
static bool static_fenced(const grp_t *g, kp_str_t member_id, kp_str_t instance_id)
{
    member_t *m = static_member(g, instance_id);
    return m && !seq(m->id, member_id);
}

static int pending_find(const grp_t *g, kp_str_t id)
{
    for (int32_t i = 0; i < g->npending; i++)
        if (seq(g->pending[i].id, id))
            return i;
    return -1;
}

static void pending_remove_at(grp_t *g, int i)
{
    free(g->pending[i].id);
    g->pending[i] = g->pending[--g->npending];
}

static bool is_leader(const grp_t *g, const char *id)
{
    return g->leader && streq(g->leader, id);
}

static const proto_t *member_proto(const member_t *m, const char *name)
{
    for (int32_t i = 0; i < m->nprotos; i++)
        if (streq(m->protos[i].name, name))
            return &m->protos[i];
    return NULL;
}

static void member_set_protocols(member_t *m, const kp_JoinGroupRequest *req)
{
    for (int32_t i = 0; i < m->nprotos; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    int32_t n = req->Protocols.n > 0 ? req->Protocols.n : 0;
    m->protos = xcalloc((size_t)(n ? n : 1), sizeof *m->protos);
    m->nprotos = 0;
    for (int32_t i = 0; i < n; i++) {
        const kp_JoinGroupRequest_JoinGroupRequestProtocol *p = &req->Protocols.v[i];
        bool dup = false;   /* Kafka keys the protocols by name: a repeated name counts once */
        for (int32_t j = 0; j < m->nprotos && !dup; j++)
            dup = seq(m->protos[j].name, p->Name);
        if (dup)
            continue;
        proto_t *d = &m->protos[m->nprotos++];
        d->name = sdup(p->Name);
        d->len = p->Metadata.len > 0 ? p->Metadata.len : 0;
        d->meta = dupbytes(p->Metadata.p, d->len);
    }
}

/* MemberMetadata.matches: the same protocols with the same metadata, in the same order. */
static bool member_matches(const member_t *m, const kp_JoinGroupRequest *req)
{
    int32_t n = req->Protocols.n > 0 ? req->Protocols.n : 0;
    if (n != m->nprotos)
        return false;
    for (int32_t i = 0; i < n; i++) {
        const kp_JoinGroupRequest_JoinGroupRequestProtocol *p = &req->Protocols.v[i];
        int32_t l = p->Metadata.len > 0 ? p->Metadata.len : 0;
        if (!seq(m->protos[i].name, p->Name) || l != m->protos[i].len ||
            (l && memcmp(p->Metadata.p, m->protos[i].meta, (size_t)l)))
            return false;
    }
    return true;
}

/* How many members support protocol `name`. */
static int32_t support_count(const grp_t *g, const char *name, size_t len)
{
    int32_t c = 0;
    for (int32_t i = 0; i < g->nmembers; i++)
        for (int32_t j = 0; j < g->members[i]->nprotos; j++) {
            const char *pn = g->members[i]->protos[j].name;
            if (strlen(pn) == len && memcmp(pn, name, len) == 0) {
                c++;
                break;
            }
        }
    return c;
}

/* GroupMetadata.supportsProtocols for a joining member. */
static bool supports_protocols(const grp_t *g, const kp_JoinGroupRequest *req)
{
    int32_t n = req->Protocols.n > 0 ? req->Protocols.n : 0;
    if (g->state == GROUP_EMPTY)
        return req->ProtocolType.len > 0 && n > 0;
    if (!g->protocol_type || !seq(g->protocol_type, req->ProtocolType))
        return false;
    for (int32_t i = 0; i < n; i++) {
        kp_str_t nm = req->Protocols.v[i].Name;
        if (support_count(g, nm.len > 0 ? (const char *)nm.p : "", nm.len > 0 ? (size_t)nm.len : 0) == g->nmembers)
            return true;
    }
    return false;
}

/* GroupMetadata.selectProtocol: among the protocols every member supports, each member votes
 * for its most preferred; most votes wins (ties: the first voted for, in member order). */
static char *select_protocol(const grp_t *g)
{
    int32_t best = -1, best_votes = 0;
    const char **votes = xcalloc((size_t)g->nmembers, sizeof *votes);
    for (int32_t i = 0; i < g->nmembers; i++) {
        const member_t *m = g->members[i];
        for (int32_t j = 0; j < m->nprotos; j++)
            if (support_count(g, m->protos[j].name, strlen(m->protos[j].name)) == g->nmembers) {
                votes[i] = m->protos[j].name;
                break;
            }
    }
    for (int32_t i = 0; i < g->nmembers; i++) {
        if (!votes[i])
            continue;
        int32_t c = 0;
        for (int32_t k = 0; k < g->nmembers; k++)
            c += votes[k] && streq(votes[k], votes[i]);
        if (c > best_votes) {
            best_votes = c;
            best = i;
        }
    }
    char *r = best >= 0 ? xstrdup(votes[best]) : NULL;
    free(votes);
    return r;
}

static int64_t group_rebalance_timeout(const grp_t *g)
{
    int32_t t = 0;
    for (int32_t i = 0; i < g->nmembers; i++)
        if (g->members[i]->rebalance_timeout > t)
            t = g->members[i]->rebalance_timeout;
    return t;
}

static bool all_members_joined(const grp_t *g)
{
    return g->nmembers == g->num_awaiting_join && g->npending == 0;
}

/* GroupMetadata.add */
static void member_add(grp_t *g, member_t *m, const waiter_t *join)
{
    if (!g->leader)
        g->leader = xstrdup(m->id);
    if (g->nmembers == g->cap_members) {
        g->cap_members = g->cap_members ? 2 * g->cap_members : 4;
        g->members = xrealloc(g->members, (size_t)g->cap_members * sizeof *g->members);
    }
    g->members[g->nmembers++] = m;
    if (join && join->set) {
        m->join = *join;
        g->num_awaiting_join++;
    }
}

/* GroupMetadata.remove: the leader passes to the first remaining member. */
static void member_remove(grp_t *g, member_t *m)
{
    int32_t i = 0;
    while (i < g->nmembers && g->members[i] != m)
        i++;
    if (i == g->nmembers)
        return;
    memmove(&g->members[i], &g->members[i + 1], (size_t)(g->nmembers - i - 1) * sizeof *g->members);
    g->nmembers--;
    if (m->join.set)
        g->num_awaiting_join--;
    if (is_leader(g, m->id)) {
        free(g->leader);
        g->leader = g->nmembers ? xstrdup(g->members[0]->id) : NULL;
    }
    member_free(m);
}

/* ---- responses ---------------------------------------------------------------------------- */

static void join_respond(group_coord_t *gc, const waiter_t *w, int16_t err, int32_t gen, const char *protocol,
                         const char *leader, const char *member_id, const grp_t *members_of)
{
    group_out_t *o = resp_new(w->token, w->version, KP_JOIN_GROUP, &kp_JoinGroupResponse_schema);
    kp_JoinGroupResponse *r = o->resp;
    r->ErrorCode = err;
    r->GenerationId = gen;
    r->ProtocolName = astr(&o->arena, protocol ? protocol : "");
    r->Leader = astr(&o->arena, leader ? leader : "");
    r->MemberId = astr(&o->arena, member_id ? member_id : "");
    if (members_of && members_of->nmembers) {
        const grp_t *g = members_of;
        r->Members.n = g->nmembers;
        r->Members.v = kp_new_array(&o->arena, &kp_JoinGroupResponse_JoinGroupResponseMember_schema, g->nmembers);
        for (int32_t i = 0; i < g->nmembers; i++) {
            const member_t *m = g->members[i];
            const proto_t *p = member_proto(m, g->protocol);
            r->Members.v[i].MemberId = astr(&o->arena, m->id);
            r->Members.v[i].GroupInstanceId = astr(&o->arena, m->instance_id);
            r->Members.v[i].Metadata = p ? abytes(&o->arena, p->meta, p->len) : abytes(&o->arena, NULL, 0);
        }
    }
    out_push(gc, o);
}

static void join_error(group_coord_t *gc, const group_req_t *rq, const char *member_id, int16_t err)
{
    waiter_t w = {true, rq->token, rq->version};
    join_respond(gc, &w, err, -1, "", "", member_id, NULL);
}

static void sync_respond(group_coord_t *gc, const waiter_t *w, int16_t err, const uint8_t *assignment, int32_t len)
{
    group_out_t *o = resp_new(w->token, w->version, KP_SYNC_GROUP, &kp_SyncGroupResponse_schema);
    kp_SyncGroupResponse *r = o->resp;
    r->ErrorCode = err;
    r->Assignment = abytes(&o->arena, assignment, len);
    out_push(gc, o);
}

static void simple_respond(group_coord_t *gc, const group_req_t *rq, int16_t api, int16_t err)
{
    if (api == KP_HEARTBEAT) {
        group_out_t *o = resp_new(rq->token, rq->version, api, &kp_HeartbeatResponse_schema);
        ((kp_HeartbeatResponse *)o->resp)->ErrorCode = err;
        out_push(gc, o);
    }
}

/* maybeInvokeJoinCallback */
static void member_join_answer(group_coord_t *gc, grp_t *g, member_t *m, int16_t err, bool with_members)
{
    if (!m->join.set)
        return;
    waiter_t w = m->join;
    m->join.set = false;
    g->num_awaiting_join--;
    if (err)
        join_respond(gc, &w, err, -1, "", "", err == KERR_UNKNOWN_MEMBER_ID ? "" : m->id, NULL);
    else
        join_respond(gc, &w, 0, g->generation, g->protocol, g->leader, m->id,
                     with_members && is_leader(g, m->id) ? g : NULL);
}

/* maybeInvokeSyncCallback; true if the member was waiting */
static bool member_sync_answer(group_coord_t *gc, member_t *m, int16_t err)
{
    if (!m->sync.set)
        return false;
    waiter_t w = m->sync;
    m->sync.set = false;
    if (err)
        sync_respond(gc, &w, err, NULL, 0);
    else
        sync_respond(gc, &w, 0, m->assignment, m->assignment_len);
    return true;
}

/* ---- heartbeats (DelayedHeartbeat) -------------------------------------------------------- */

static bool should_keep_alive(const member_t *m, int64_t deadline)
{
    if (m->join.set)
        return !m->is_new || m->latest_heartbeat + NEW_MEMBER_JOIN_TIMEOUT_MS > deadline;
    return m->sync.set || m->latest_heartbeat + m->session_timeout > deadline;
}

/* completeAndScheduleNextExpiration: a scheduled expiration that would find the member alive
 * completes at once (so none is kept). */
static void schedule_expiration(member_t *m, int64_t timeout, int64_t now)
{
    m->latest_heartbeat = now;
    int64_t deadline = now + timeout;
    m->hb_deadline = should_keep_alive(m, deadline) ? NEVER : deadline;
}

static void schedule_heartbeat(member_t *m, int64_t now)
{
    schedule_expiration(m, m->session_timeout, now);
}

/* ---- storing group metadata ---------------------------------------------------------------- */

static append_t *append_new(group_coord_t *gc, append_kind_t kind, const grp_t *g)
{
    append_t *a = xcalloc(1, sizeof *a);
    a->id = ++gc->next_append_id;
    a->kind = kind;
    a->group = xstrdup(g->id);
    a->serial = g->serial;
    a->generation = g->generation;
    hmap_put64(&gc->appends, a->id, a);
    return a;
}

static void append_free(append_t *a)
{
    free(a->group);
    for (int32_t i = 0; i < a->nassign; i++) {
        free(a->assign_ids[i]);
        free(a->assign[i]);
    }
    free(a->assign_ids);
    free(a->assign);
    free(a->assign_len);
    for (int32_t i = 0; i < a->nitems; i++) {
        free(a->items[i].topic);
        free((void *)a->items[i].c.metadata.p);
    }
    free(a->items);
    group_out_free(a->resp);
    free(a);
}

static void push_append(group_coord_t *gc, int32_t partition, uint64_t id, const offsets_kv_t *kv, size_t n,
                        int64_t now)
{
    group_out_t *o = out_new(GROUP_OUT_APPEND);
    o->partition = partition;
    o->append_id = id;
    offsets_batch_build(&o->records, kv, n, now);
    out_push(gc, o);
}

/* The group metadata record (value v3) with the given assignments (NULL = the members' own). */
static void store_group(group_coord_t *gc, grp_t *g, append_t *a, int64_t now)
{
    offsets_member_t *ms = xcalloc((size_t)(g->nmembers ? g->nmembers : 1), sizeof *ms);
    for (int32_t i = 0; i < g->nmembers; i++) {
        member_t *m = g->members[i];
        const proto_t *p = member_proto(m, g->protocol ? g->protocol : "");
        ms[i].member_id = kp_str(m->id);
        ms[i].group_instance_id = kp_str(m->instance_id);
        ms[i].client_id = kp_str(m->client_id);
        ms[i].client_host = kp_str(m->client_host);
        ms[i].rebalance_timeout = m->rebalance_timeout;
        ms[i].session_timeout = m->session_timeout;
        ms[i].subscription = p ? (kp_bytes_t){p->meta, p->len} : (kp_bytes_t){(const uint8_t *)"", 0};
        ms[i].assignment = (kp_bytes_t){m->assignment ? m->assignment : (const uint8_t *)"", m->assignment_len};
        for (int32_t j = 0; a && j < a->nassign; j++)
            if (streq(a->assign_ids[j], m->id))
                ms[i].assignment = (kp_bytes_t){a->assign[j], a->assign_len[j]};
    }
    offsets_group_t v = {.protocol_type = kp_str(g->protocol_type ? g->protocol_type : ""),
                         .generation = g->generation,
                         .protocol = kp_str(g->protocol),
                         .leader = kp_str(g->leader),
                         .current_state_ts = g->state_ts,
                         .member_count = g->nmembers,
                         .members = ms};
    buf_t key = BUF_INIT, val = BUF_INIT;
    offsets_group_key_write(&key, kp_str(g->id));
    offsets_group_value_write(&val, OFFSETS_GROUP_VALUE_VERSION, &v);
    offsets_kv_t kv = {key.data, key.len, val.data, (int32_t)val.len};
    push_append(gc, g->partition, a->id, &kv, 1, now);
    buf_free(&key);
    buf_free(&val);
    free(ms);
}

/* Kafka's mapping of append errors for group metadata writes. */
static int16_t map_store_error(int16_t e)
{
    switch (e) {
    case KERR_NONE: return KERR_NONE;
    case KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KERR_NOT_ENOUGH_REPLICAS:
    case KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND: return KERR_COORDINATOR_NOT_AVAILABLE;
    case KERR_NOT_LEADER_FOR_PARTITION:
    case KERR_KAFKA_STORAGE_ERROR: return KERR_NOT_COORDINATOR;
    case KERR_REQUEST_TIMED_OUT: return KERR_REBALANCE_IN_PROGRESS;
    case KERR_MESSAGE_TOO_LARGE:
    case KERR_RECORD_LIST_TOO_LARGE:
    case KERR_INVALID_FETCH_SIZE: return KERR_UNKNOWN_SERVER_ERROR;
    default: return e;
    }
}

static int16_t map_commit_error(int16_t e)
{
    switch (e) {
    case KERR_MESSAGE_TOO_LARGE:
    case KERR_RECORD_LIST_TOO_LARGE:
    case KERR_INVALID_FETCH_SIZE: return KERR_INVALID_COMMIT_OFFSET_SIZE;
    case KERR_REQUEST_TIMED_OUT: return KERR_REQUEST_TIMED_OUT;
    default: return map_store_error(e);
    }
}

/* ---- the rebalance ------------------------------------------------------------------------- */

static void compute_subscribed_topics(grp_t *g)
{
    subs_clear(g);
    if (!g->protocol_type || strcmp(g->protocol_type, GPROTO_CONSUMER) != 0)
        return;
    if (g->nmembers == 0) {
        g->subs_known = true;
        return;
    }
    if (!g->protocol)
        return;
    arena_t a;
    arena_init(&a);
    int32_t cap = 0;
    for (int32_t i = 0; i < g->nmembers; i++) {
        const proto_t *p = member_proto(g->members[i], g->protocol);
        gproto_subscription_t s;
        if (!p || gproto_subscription_decode(p->meta, (size_t)p->len, &a, &s) != 0) {
            arena_free(&a);
            subs_clear(g);
            return;
        }
        for (int32_t t = 0; t < s.topic_count; t++) {
            bool have = false;
            for (int32_t k = 0; k < g->nsubs && !have; k++)
                have = seq(g->subs[k], s.topics[t]);
            if (have)
                continue;
            if (g->nsubs == cap) {
                cap = cap ? 2 * cap : 8;
                g->subs = xrealloc(g->subs, (size_t)cap * sizeof *g->subs);
            }
            g->subs[g->nsubs++] = sdup(s.topics[t]);
        }
    }
    arena_free(&a);
    g->subs_known = true;
}

static void complete_join(group_coord_t *gc, grp_t *g, int64_t now);

/* Completes the join at once if every member has rejoined (DelayedJoin.tryComplete); the
 * initial delayed join never completes early. */
static void maybe_complete_join(group_coord_t *gc, grp_t *g, int64_t now)
{
    if (g->state == GROUP_PREPARING_REBALANCE && !g->join_initial && all_members_joined(g))
        complete_join(gc, g, now);
}

static void reset_and_propagate_assignment_error(group_coord_t *gc, grp_t *g, int16_t err, int64_t now)
{
    for (int32_t i = 0; i < g->nmembers; i++) {
        member_t *m = g->members[i];
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
        if (member_sync_answer(gc, m, err))
            schedule_heartbeat(m, now);
    }
}

static void prepare_rebalance(group_coord_t *gc, grp_t *g, int64_t now)
{
    if (g->state == GROUP_COMPLETING_REBALANCE)
        reset_and_propagate_assignment_error(gc, g, KERR_REBALANCE_IN_PROGRESS, now);
    if (g->state == GROUP_EMPTY) {
        int32_t delay = gc->cfg.initial_rebalance_delay_ms;
        int64_t rt = group_rebalance_timeout(g);
        g->join_initial = true;
        g->join_delay = delay;
        g->join_remaining = (int32_t)(rt - delay > 0 ? rt - delay : 0);
        g->join_deadline = now + delay;
    } else {
        g->join_initial = false;
        g->join_deadline = now + group_rebalance_timeout(g);
    }
    transition(g, GROUP_PREPARING_REBALANCE, now);
    maybe_complete_join(gc, g, now);
}

static void maybe_prepare_rebalance(group_coord_t *gc, grp_t *g, int64_t now)
{
    if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE || g->state == GROUP_EMPTY)
        prepare_rebalance(gc, g, now);
}

/* GroupMetadata.maybeElectNewJoinedLeader */
static bool elect_joined_leader(grp_t *g)
{
    if (!g->leader)
        return false;
    member_t *l = member_get(g, g->leader);
    if (l && l->join.set)
        return true;
    for (int32_t i = 0; i < g->nmembers; i++)
        if (g->members[i]->join.set) {
            free(g->leader);
            g->leader = xstrdup(g->members[i]->id);
            return true;
        }
    return false;
}

/* GroupCoordinator.onCompleteJoin */
static void complete_join(group_coord_t *gc, grp_t *g, int64_t now)
{
    g->join_deadline = NEVER;
    g->join_initial = false;
    /* dynamic members that did not rejoin are removed */
    for (int32_t i = 0; i < g->nmembers;) {
        member_t *m = g->members[i];
        if (!m->join.set && !m->instance_id)
            member_remove(g, m);
        else
            i++;
    }
    if (!elect_joined_leader(g) && g->nmembers > 0) {
        /* nobody rejoined (only static members left): wait again (at least 1 ms) */
        int64_t rt = group_rebalance_timeout(g);
        g->join_deadline = now + (rt > 0 ? rt : 1);
        return;
    }
    g->generation++;
    free(g->protocol);
    g->protocol = NULL;
    if (g->nmembers > 0) {
        g->protocol = select_protocol(g);
        compute_subscribed_topics(g);
        transition(g, GROUP_COMPLETING_REBALANCE, now);
        for (int32_t i = 0; i < g->nmembers; i++) {
            member_t *m = g->members[i];
            member_join_answer(gc, g, m, 0, true);
            schedule_heartbeat(m, now);
            m->is_new = false;
        }
    } else {
        compute_subscribed_topics(g);
        transition(g, GROUP_EMPTY, now);
        append_t *a = append_new(gc, APPEND_EMPTY_GROUP, g);
        store_group(gc, g, a, now);
    }
}

/* removeMemberAndUpdateGroup */
static void remove_member_and_update(group_coord_t *gc, grp_t *g, member_t *m, int64_t now)
{
    member_join_answer(gc, g, m, KERR_UNKNOWN_MEMBER_ID, false);
    member_remove(g, m);
    switch (g->state) {
    case GROUP_STABLE:
    case GROUP_COMPLETING_REBALANCE: maybe_prepare_rebalance(gc, g, now); break;
    case GROUP_PREPARING_REBALANCE: maybe_complete_join(gc, g, now); break;
    default: break;
    }
}

static void remove_pending_and_update(group_coord_t *gc, grp_t *g, int idx, int64_t now)
{
    pending_remove_at(g, idx);
    if (g->state == GROUP_PREPARING_REBALANCE)
        maybe_complete_join(gc, g, now);
}

/* addMemberAndRebalance */
static void add_member_and_rebalance(group_coord_t *gc, grp_t *g, const group_req_t *rq, const kp_JoinGroupRequest *req,
                                     char *member_id /* owned */, int32_t rebalance_timeout, int64_t now)
{
    member_t *m = xcalloc(1, sizeof *m);
    m->id = member_id;
    m->instance_id = req->GroupInstanceId.len >= 0 && rq->version >= 5 ? sdup(req->GroupInstanceId) : NULL;
    m->client_id = xstrdup(rq->client_id ? rq->client_id : "");
    m->client_host = xstrdup(rq->client_host ? rq->client_host : "");
    m->session_timeout = req->SessionTimeoutMs;
    m->rebalance_timeout = rebalance_timeout;
    member_set_protocols(m, req);
    m->is_new = true;
    m->hb_deadline = NEVER;
    if (g->state == GROUP_PREPARING_REBALANCE && g->generation == 0)
        g->new_member_added = true;
    if (g->nmembers == 0) {
        free(g->protocol_type);
        g->protocol_type = sdup(req->ProtocolType);
    }
    waiter_t w = {true, rq->token, rq->version};
    member_add(g, m, &w);
    schedule_expiration(m, NEW_MEMBER_JOIN_TIMEOUT_MS, now);
    if (!m->instance_id) {
        int pi = pending_find(g, kp_str(m->id));
        if (pi >= 0)
            pending_remove_at(g, pi);
    }
    maybe_prepare_rebalance(gc, g, now);
}

/* updateMemberAndRebalance */
static void update_member_and_rebalance(group_coord_t *gc, grp_t *g, member_t *m, const group_req_t *rq,
                                        const kp_JoinGroupRequest *req, int64_t now)
{
    member_set_protocols(m, req);
    if (m->join.set) {
        /* a second JoinGroup while one waits: the old request gets no answer in Kafka either
         * (its callback is replaced); answer it so the connection is not left hanging */
        waiter_t old = m->join;
        join_respond(gc, &old, KERR_REBALANCE_IN_PROGRESS, -1, "", "", m->id, NULL);
    } else {
        g->num_awaiting_join++;
    }
    m->join = (waiter_t){true, rq->token, rq->version};
    maybe_prepare_rebalance(gc, g, now);
}

/* ---- validation ---------------------------------------------------------------------------- */

int32_t group_partition_for(const group_coord_t *gc, kp_str_t group_id)
{
    return offsets_partition_for(group_id.len > 0 ? group_id.p : (const uint8_t *)"",
                                 group_id.len > 0 ? (size_t)group_id.len : 0, gc->cfg.num_partitions);
}

/* validateGroupStatus; allow_empty for OffsetCommit/OffsetFetch/DescribeGroups/DeleteGroups. */
static int16_t validate(const group_coord_t *gc, kp_str_t id, bool allow_empty)
{
    if (id.len < 0 || (id.len == 0 && !allow_empty) || (id.len > 0 && memchr(id.p, 0, (size_t)id.len)))
        return KERR_INVALID_GROUP_ID;   /* (a NUL could not be told apart in the group table) */
    int32_t p = group_partition_for(gc, id);
    if (gc->pstate[p] == PART_LOADING)
        return KERR_COORDINATOR_LOAD_IN_PROGRESS;
    if (gc->pstate[p] != PART_OWNED)
        return KERR_NOT_COORDINATOR;
    return KERR_NONE;
}

/* ---- JoinGroup ----------------------------------------------------------------------------- */

static void do_unknown_join(group_coord_t *gc, grp_t *g, const group_req_t *rq, const kp_JoinGroupRequest *req,
                            int32_t rebalance_timeout, bool require_known_id, int64_t now)
{
    if (!supports_protocols(g, req)) {
        join_error(gc, rq, "", KERR_INCONSISTENT_GROUP_PROTOCOL);
        return;
    }
    kp_str_t iid = rq->version >= 5 ? req->GroupInstanceId : KP_STR_NULL;
    const char *prefix = rq->client_id ? rq->client_id : "";
    char *pfx = iid.len >= 0 ? sdup(iid) : xstrdup(prefix);
    char *new_id = new_member_id(gc, pfx);
    free(pfx);
    member_t *old = static_member(g, iid);
    if (old) {
        /* a static member rejoining with an unknown member id takes over its entry */
        char *current_leader = g->leader ? xstrdup(g->leader) : NULL;
        if (is_leader(g, old->id)) {
            free(g->leader);
            g->leader = xstrdup(new_id);
        }
        char *old_id = old->id;
        old->id = new_id;
        schedule_heartbeat(old, now);
        member_set_protocols(old, req);
        waiter_t w = {true, rq->token, rq->version};
        /* a duplicate instance waiting with the old id is fenced */
        if (old->join.set) {
            join_respond(gc, &old->join, KERR_FENCED_INSTANCE_ID, -1, "", "", old_id, NULL);
        } else {
            g->num_awaiting_join++;
        }
        if (old->sync.set) {
            sync_respond(gc, &old->sync, KERR_FENCED_INSTANCE_ID, NULL, 0);
            old->sync.set = false;
        }
        old->join = w;
        if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE) {
            /* no rebalance; the old leader id is returned so nobody reassigns */
            old->join.set = false;
            g->num_awaiting_join--;
            join_respond(gc, &w, 0, g->generation, g->protocol, current_leader, old->id, NULL);
        }
        free(current_leader);
        free(old_id);
        return;
    }
    if (require_known_id) {
        if (g->npending == g->cap_pending) {
            g->cap_pending = g->cap_pending ? 2 * g->cap_pending : 4;
            g->pending = xrealloc(g->pending, (size_t)g->cap_pending * sizeof *g->pending);
        }
        g->pending[g->npending].id = new_id;
        g->pending[g->npending++].deadline = now + req->SessionTimeoutMs;
        join_error(gc, rq, new_id, KERR_MEMBER_ID_REQUIRED);
        return;
    }
    add_member_and_rebalance(gc, g, rq, req, new_id, rebalance_timeout, now);
}

static void do_join(group_coord_t *gc, grp_t *g, const group_req_t *rq, const kp_JoinGroupRequest *req,
                    int32_t rebalance_timeout, int64_t now)
{
    char *mid = sdup(req->MemberId);
    kp_str_t iid = rq->version >= 5 ? req->GroupInstanceId : KP_STR_NULL;
    if (!supports_protocols(g, req)) {
        join_error(gc, rq, mid, KERR_INCONSISTENT_GROUP_PROTOCOL);
    } else if (pending_find(g, req->MemberId) >= 0) {
        add_member_and_rebalance(gc, g, rq, req, mid, rebalance_timeout, now);
        return;   /* mid now owned by the member */
    } else if (static_fenced(g, req->MemberId, iid)) {
        join_error(gc, rq, mid, KERR_FENCED_INSTANCE_ID);
    } else if (!member_getk(g, req->MemberId) || (iid.len >= 0 && !static_member(g, iid))) {
        join_error(gc, rq, mid, KERR_UNKNOWN_MEMBER_ID);
    } else {
        member_t *m = member_getk(g, req->MemberId);
        switch (g->state) {
        case GROUP_PREPARING_REBALANCE:
            update_member_and_rebalance(gc, g, m, rq, req, now);
            break;
        case GROUP_COMPLETING_REBALANCE:
            if (member_matches(m, req)) {
                waiter_t w = {true, rq->token, rq->version};
                join_respond(gc, &w, 0, g->generation, g->protocol, g->leader, m->id, is_leader(g, m->id) ? g : NULL);
            } else {
                update_member_and_rebalance(gc, g, m, rq, req, now);
            }
            break;
        case GROUP_STABLE:
            if (is_leader(g, m->id) || !member_matches(m, req)) {
                update_member_and_rebalance(gc, g, m, rq, req, now);
            } else {
                waiter_t w = {true, rq->token, rq->version};
                join_respond(gc, &w, 0, g->generation, g->protocol, g->leader, m->id, NULL);
            }
            break;
        default:
            join_error(gc, rq, mid, KERR_UNKNOWN_MEMBER_ID);
            break;
        }
    }
    free(mid);
}

void group_join(group_coord_t *gc, const group_req_t *rq, const kp_JoinGroupRequest *req, int64_t now)
{
    char *mid = sdup(req->MemberId);
    int16_t err = validate(gc, req->GroupId, false);
    if (!err && (req->SessionTimeoutMs < gc->cfg.min_session_timeout_ms ||
                 req->SessionTimeoutMs > gc->cfg.max_session_timeout_ms))
        err = KERR_INVALID_SESSION_TIMEOUT;
    if (err) {
        join_error(gc, rq, mid, err);
        free(mid);
        return;
    }
    /* JoinGroup v0 has no rebalance timeout: the session timeout stands in */
    int32_t rebalance_timeout = rq->version == 0 ? req->SessionTimeoutMs : req->RebalanceTimeoutMs;
    bool unknown = req->MemberId.len <= 0;
    bool require_known_id = rq->version >= 4 && req->GroupInstanceId.len < 0;
    grp_t *g = grp_get(gc, req->GroupId);
    if (!g) {
        if (!unknown) {
            join_error(gc, rq, mid, KERR_UNKNOWN_MEMBER_ID);
            free(mid);
            return;
        }
        g = grp_add(gc, req->GroupId, now);
        do_unknown_join(gc, g, rq, req, rebalance_timeout, require_known_id, now);
    } else {
        member_t *m = unknown ? NULL : member_getk(g, req->MemberId);
        bool over = g->nmembers > gc->cfg.max_group_size;
        if ((over && m && !m->join.set) || (unknown && g->nmembers >= gc->cfg.max_group_size)) {
            if (m)
                remove_member_and_update(gc, g, m, now);
            join_error(gc, rq, "", KERR_GROUP_MAX_SIZE_REACHED);
        } else if (unknown) {
            do_unknown_join(gc, g, rq, req, rebalance_timeout, require_known_id, now);
        } else {
            do_join(gc, g, rq, req, rebalance_timeout, now);
        }
        if (g->state == GROUP_PREPARING_REBALANCE)
            maybe_complete_join(gc, g, now);
    }
    free(mid);
}

/* ---- SyncGroup ----------------------------------------------------------------------------- */

void group_sync(group_coord_t *gc, const group_req_t *rq, const kp_SyncGroupRequest *req, int64_t now)
{
    waiter_t w = {true, rq->token, rq->version};
    int16_t err = validate(gc, req->GroupId, false);
    if (err == KERR_COORDINATOR_LOAD_IN_PROGRESS)
        err = KERR_REBALANCE_IN_PROGRESS;   /* older clients do not expect the loading error */
    grp_t *g = err ? NULL : grp_get(gc, req->GroupId);
    kp_str_t iid = rq->version >= 3 ? req->GroupInstanceId : KP_STR_NULL;
    if (!err && !g)
        err = KERR_UNKNOWN_MEMBER_ID;
    if (!err && static_fenced(g, req->MemberId, iid))
        err = KERR_FENCED_INSTANCE_ID;
    member_t *m = err ? NULL : member_getk(g, req->MemberId);
    if (!err && !m)
        err = KERR_UNKNOWN_MEMBER_ID;
    if (!err && req->GenerationId != g->generation)
        err = KERR_ILLEGAL_GENERATION;
    if (!err && g->state == GROUP_EMPTY)
        err = KERR_UNKNOWN_MEMBER_ID;
    if (!err && g->state == GROUP_PREPARING_REBALANCE)
        err = KERR_REBALANCE_IN_PROGRESS;
    if (err) {
        sync_respond(gc, &w, err, NULL, 0);
        return;
    }
    if (g->state == GROUP_STABLE) {
        sync_respond(gc, &w, 0, m->assignment, m->assignment_len);
        schedule_heartbeat(m, now);
        return;
    }
    /* CompletingRebalance */
    if (m->sync.set)
        sync_respond(gc, &m->sync, KERR_REBALANCE_IN_PROGRESS, NULL, 0);
    m->sync = w;
    if (!is_leader(g, m->id))
        return;
    append_t *a = append_new(gc, APPEND_SYNC, g);
    int32_t n = req->Assignments.n > 0 ? req->Assignments.n : 0;
    a->assign_ids = xcalloc((size_t)(g->nmembers + 1), sizeof *a->assign_ids);
    a->assign = xcalloc((size_t)(g->nmembers + 1), sizeof *a->assign);
    a->assign_len = xcalloc((size_t)(g->nmembers + 1), sizeof *a->assign_len);
    /* one assignment per member (missing ones empty); entries for non-members are dropped */
    for (int32_t i = 0; i < g->nmembers; i++) {
        const member_t *x = g->members[i];
        const kp_bytes_t *as = NULL;
        for (int32_t j = 0; j < n; j++)
            if (seq(x->id, req->Assignments.v[j].MemberId))
                as = &req->Assignments.v[j].Assignment;
        int32_t l = as && as->len > 0 ? as->len : 0;
        a->assign_ids[a->nassign] = xstrdup(x->id);
        a->assign[a->nassign] = dupbytes(l ? as->p : NULL, l);
        a->assign_len[a->nassign++] = l;
    }
    store_group(gc, g, a, now);
}

static void sync_stored(group_coord_t *gc, append_t *a, int16_t error, int64_t now)
{
    grp_t *g = hmap_gets(&gc->groups, a->group);
    if (!g || g->serial != a->serial || g->state != GROUP_COMPLETING_REBALANCE || g->generation != a->generation)
        return;
    int16_t err = map_store_error(error);
    if (err) {
        reset_and_propagate_assignment_error(gc, g, err, now);
        maybe_prepare_rebalance(gc, g, now);
        return;
    }
    for (int32_t i = 0; i < g->nmembers; i++) {
        member_t *m = g->members[i];
        for (int32_t j = 0; j < a->nassign; j++)
            if (streq(a->assign_ids[j], m->id)) {
                free(m->assignment);
                m->assignment = dupbytes(a->assign[j], a->assign_len[j]);
                m->assignment_len = a->assign_len[j];
            }
        if (member_sync_answer(gc, m, 0))
            schedule_heartbeat(m, now);
    }
    transition(g, GROUP_STABLE, now);
}

/* ---- Heartbeat ----------------------------------------------------------------------------- */

void group_heartbeat(group_coord_t *gc, const group_req_t *rq, const kp_HeartbeatRequest *req, int64_t now)
{
    int16_t err = validate(gc, req->GroupId, false);
    if (err == KERR_COORDINATOR_LOAD_IN_PROGRESS) {
        simple_respond(gc, rq, KP_HEARTBEAT, KERR_NONE);   /* Kafka answers blindly while loading */
        return;
    }
    grp_t *g = err ? NULL : grp_get(gc, req->GroupId);
    kp_str_t iid = rq->version >= 3 ? req->GroupInstanceId : KP_STR_NULL;
    member_t *m = g ? member_getk(g, req->MemberId) : NULL;
    if (!err && !g)
        err = KERR_UNKNOWN_MEMBER_ID;
    else if (!err && static_fenced(g, req->MemberId, iid))
        err = KERR_FENCED_INSTANCE_ID;
    else if (!err && !m)
        err = KERR_UNKNOWN_MEMBER_ID;
    else if (!err && req->GenerationId != g->generation)
        err = KERR_ILLEGAL_GENERATION;
    else if (!err) {
        switch (g->state) {
        case GROUP_EMPTY: err = KERR_UNKNOWN_MEMBER_ID; break;
        case GROUP_COMPLETING_REBALANCE: err = KERR_REBALANCE_IN_PROGRESS; break;
        case GROUP_PREPARING_REBALANCE:
            schedule_heartbeat(m, now);
            err = KERR_REBALANCE_IN_PROGRESS;
            break;
        case GROUP_STABLE: schedule_heartbeat(m, now); break;
        default: err = KERR_COORDINATOR_NOT_AVAILABLE; break;
        }
    }
    simple_respond(gc, rq, KP_HEARTBEAT, err);
}

/* ---- LeaveGroup ---------------------------------------------------------------------------- */

void group_leave(group_coord_t *gc, const group_req_t *rq, const kp_LeaveGroupRequest *req, int64_t now)
{
    group_out_t *o = resp_new(rq->token, rq->version, KP_LEAVE_GROUP, &kp_LeaveGroupResponse_schema);
    kp_LeaveGroupResponse *r = o->resp;
    /* v0-v2 name one member; v3+ a batch */
    kp_LeaveGroupRequest_MemberIdentity single = {req->MemberId, KP_STR_NULL};
    int32_t n = rq->version >= 3 ? (req->Members.n > 0 ? req->Members.n : 0) : 1;
    const kp_LeaveGroupRequest_MemberIdentity *ids = rq->version >= 3 ? req->Members.v : &single;
    int16_t top = validate(gc, req->GroupId, false);
    grp_t *g = top ? NULL : grp_get(gc, req->GroupId);
    if (!top) {
        r->Members.n = n;
        r->Members.v = kp_new_array(&o->arena, &kp_LeaveGroupResponse_MemberResponse_schema, n);
        for (int32_t i = 0; i < n; i++) {
            kp_LeaveGroupResponse_MemberResponse *mr = &r->Members.v[i];
            mr->MemberId = abytes(&o->arena, ids[i].MemberId.p, ids[i].MemberId.len);
            mr->GroupInstanceId = ids[i].GroupInstanceId.len < 0
                                      ? KP_STR_NULL
                                      : abytes(&o->arena, ids[i].GroupInstanceId.p, ids[i].GroupInstanceId.len);
            if (!g) {
                mr->ErrorCode = KERR_UNKNOWN_MEMBER_ID;
                continue;
            }
            int pi;
            member_t *m;
            if (ids[i].MemberId.len > 0 && static_fenced(g, ids[i].MemberId, ids[i].GroupInstanceId)) {
                mr->ErrorCode = KERR_FENCED_INSTANCE_ID;
            } else if ((pi = pending_find(g, ids[i].MemberId)) >= 0) {
                remove_pending_and_update(gc, g, pi, now);
            } else if (!(m = static_member(g, ids[i].GroupInstanceId)) && !(m = member_getk(g, ids[i].MemberId))) {
                mr->ErrorCode = KERR_UNKNOWN_MEMBER_ID;
            } else {
                m->hb_deadline = NEVER;
                remove_member_and_update(gc, g, m, now);
            }
        }
    }
    if (rq->version >= 3) {
        r->ErrorCode = top;
    } else {
        /* the old versions carry the first error, top-level or the member's */
        r->ErrorCode = top ? top : r->Members.v[0].ErrorCode;
        r->Members.n = 0;
    }
    out_push(gc, o);
}

/* ---- OffsetCommit -------------------------------------------------------------------------- */

static void pending_commit_add(grp_t *g, const char *topic, int32_t partition, int delta)
{
    size_t tl = strlen(topic);
    uint8_t *k = xmalloc(tl + 5);
    memcpy(k, topic, tl);
    k[tl] = 0;
    be32_put(k + tl + 1, (uint32_t)partition);
    intptr_t c = (intptr_t)hmap_get(&g->pending_commits, k, tl + 5) + delta;
    if (c > 0)
        hmap_put(&g->pending_commits, k, tl + 5, (void *)c);
    else
        hmap_del(&g->pending_commits, k, tl + 5);
    free(k);
}

static bool pending_commit_has(const grp_t *g, const char *topic, int32_t partition)
{
    size_t tl = strlen(topic);
    uint8_t *k = xmalloc(tl + 5);
    memcpy(k, topic, tl);
    k[tl] = 0;
    be32_put(k + tl + 1, (uint32_t)partition);
    bool r = hmap_get(&g->pending_commits, k, tl + 5) != NULL;
    free(k);
    return r;
}

void group_offset_commit(group_coord_t *gc, const group_req_t *rq, const kp_OffsetCommitRequest *req, int64_t now)
{
    group_out_t *o = resp_new(rq->token, rq->version, KP_OFFSET_COMMIT, &kp_OffsetCommitResponse_schema);
    kp_OffsetCommitResponse *r = o->resp;
    int32_t nt = req->Topics.n > 0 ? req->Topics.n : 0;
    r->Topics.n = nt;
    r->Topics.v = kp_new_array(&o->arena, &kp_OffsetCommitResponse_OffsetCommitResponseTopic_schema, nt);
    int32_t total = 0;
    for (int32_t t = 0; t < nt; t++) {
        const kp_OffsetCommitRequest_OffsetCommitRequestTopic *rt = &req->Topics.v[t];
        int32_t np = rt->Partitions.n > 0 ? rt->Partitions.n : 0;
        r->Topics.v[t].Name = abytes(&o->arena, rt->Name.p, rt->Name.len);
        r->Topics.v[t].Partitions.n = np;
        r->Topics.v[t].Partitions.v =
            kp_new_array(&o->arena, &kp_OffsetCommitResponse_OffsetCommitResponsePartition_schema, np);
        for (int32_t p = 0; p < np; p++) {
            r->Topics.v[t].Partitions.v[p].PartitionIndex = rt->Partitions.v[p].PartitionIndex;
            bool exists = rt->Name.len > 0 && !memchr(rt->Name.p, 0, (size_t)rt->Name.len) &&
                          (!gc->cfg.partition_exists ||
                           gc->cfg.partition_exists(gc->cfg.arg, rt->Name, rt->Partitions.v[p].PartitionIndex));
            r->Topics.v[t].Partitions.v[p].ErrorCode = exists ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
            total += exists;
        }
    }
    /* v0 has no generation or member: a simple commit */
    int32_t generation = rq->version >= 1 ? req->GenerationId : -1;
    kp_str_t member_id = rq->version >= 1 ? req->MemberId : kp_str("");
    kp_str_t iid = rq->version >= 7 ? req->GroupInstanceId : KP_STR_NULL;
    int16_t err = total ? validate(gc, req->GroupId, true) : KERR_NONE;
    grp_t *g = NULL;
    if (total && !err) {
        g = grp_get(gc, req->GroupId);
        if (!g) {
            if (generation < 0)
                g = grp_add(gc, req->GroupId, now);
            else
                err = KERR_ILLEGAL_GENERATION;
        }
    }
    if (total && !err) {
        member_t *m = member_getk(g, member_id);
        if (static_fenced(g, member_id, iid))
            err = KERR_FENCED_INSTANCE_ID;
        else if (generation < 0 && g->state == GROUP_EMPTY)
            ;   /* offsets only */
        else if (!m)
            err = KERR_UNKNOWN_MEMBER_ID;
        else if (generation != g->generation)
            err = KERR_ILLEGAL_GENERATION;
        else if (g->state == GROUP_COMPLETING_REBALANCE)
            err = KERR_REBALANCE_IN_PROGRESS;
        else
            schedule_heartbeat(m, now);   /* Stable or PreparingRebalance */
    }
    if (!total || err) {
        for (int32_t t = 0; t < nt; t++)
            for (int32_t p = 0; p < r->Topics.v[t].Partitions.n; p++)
                if (r->Topics.v[t].Partitions.v[p].ErrorCode == KERR_NONE)
                    r->Topics.v[t].Partitions.v[p].ErrorCode = err;
        out_push(gc, o);
        return;
    }
    /* storeOffsets: metadata over the limit is refused per partition; the rest is appended */
    append_t *a = append_new(gc, APPEND_COMMIT, g);
    a->items = xcalloc((size_t)total, sizeof *a->items);
    buf_t keys = BUF_INIT, vals = BUF_INIT;
    size_t *koff = xcalloc((size_t)total + 1, sizeof *koff), *voff = xcalloc((size_t)total + 1, sizeof *voff);
    for (int32_t t = 0; t < nt; t++) {
        const kp_OffsetCommitRequest_OffsetCommitRequestTopic *rt = &req->Topics.v[t];
        for (int32_t p = 0; p < r->Topics.v[t].Partitions.n; p++) {
            kp_OffsetCommitResponse_OffsetCommitResponsePartition *rp = &r->Topics.v[t].Partitions.v[p];
            if (rp->ErrorCode)
                continue;
            const kp_OffsetCommitRequest_OffsetCommitRequestPartition *pp = &rt->Partitions.v[p];
            kp_str_t md = pp->CommittedMetadata.len < 0 ? kp_str("") : pp->CommittedMetadata;
            if (md.len > gc->cfg.max_metadata_size) {
                rp->ErrorCode = KERR_OFFSET_METADATA_TOO_LARGE;
                continue;
            }
            commit_item_t *it = &a->items[a->nitems];
            it->topic = sdup(rt->Name);
            it->partition = pp->PartitionIndex;
            it->c.offset = pp->CommittedOffset;
            it->c.leader_epoch = rq->version >= 6 && pp->CommittedLeaderEpoch >= 0 ? pp->CommittedLeaderEpoch : -1;
            it->c.metadata = (kp_str_t){(const uint8_t *)sdup(md), md.len};
            it->c.commit_ts = rq->version == 1 && pp->CommitTimestamp != -1 ? pp->CommitTimestamp : now;
            it->c.expire_ts =
                rq->version >= 2 && rq->version <= 4 && req->RetentionTimeMs != -1 ? now + req->RetentionTimeMs : -1;
            it->err = &rp->ErrorCode;
            koff[a->nitems] = keys.len;
            offsets_commit_key_write(&keys, kp_str(g->id), kp_str(it->topic), it->partition);
            voff[a->nitems] = vals.len;
            offsets_commit_value_write(&vals, offsets_commit_value_version(&it->c), &it->c);
            a->nitems++;
        }
    }
    if (a->nitems == 0) {
        hmap_del64(&gc->appends, a->id);
        append_free(a);
        out_push(gc, o);
    } else {
        koff[a->nitems] = keys.len;
        voff[a->nitems] = vals.len;
        offsets_kv_t *kv = xcalloc((size_t)a->nitems, sizeof *kv);
        for (int32_t i = 0; i < a->nitems; i++) {
            kv[i].key = keys.data + koff[i];
            kv[i].key_len = koff[i + 1] - koff[i];
            kv[i].value = vals.data + voff[i];
            kv[i].value_len = (int32_t)(voff[i + 1] - voff[i]);
            pending_commit_add(g, a->items[i].topic, a->items[i].partition, +1);
        }
        a->resp = o;
        push_append(gc, g->partition, a->id, kv, (size_t)a->nitems, now);
        free(kv);
    }
    free(koff);
    free(voff);
    buf_free(&keys);
    buf_free(&vals);
}

static void commit_stored(group_coord_t *gc, append_t *a, int16_t error, int64_t base_offset)
{
    grp_t *g = hmap_gets(&gc->groups, a->group);
    if (g && g->serial != a->serial)
        g = NULL;
    int16_t err = error ? map_commit_error(error) : KERR_NONE;
    for (int32_t i = 0; i < a->nitems; i++) {
        commit_item_t *it = &a->items[i];
        if (g) {
            if (!err && pending_commit_has(g, it->topic, it->partition))
                offsets_table_put(&g->offsets, kp_str(it->topic), it->partition, &it->c, base_offset);
            pending_commit_add(g, it->topic, it->partition, -1);
        }
        *it->err = err;
    }
    out_push(gc, a->resp);
    a->resp = NULL;
}

/* ---- OffsetFetch --------------------------------------------------------------------------- */

static void fetch_fill(arena_t *ar, kp_OffsetFetchResponse_OffsetFetchResponsePartition *fp, int32_t partition,
                       const offsets_entry_t *e, int16_t err)
{
    fp->PartitionIndex = partition;
    fp->CommittedOffset = e ? e->c.offset : -1;
    fp->CommittedLeaderEpoch = e ? e->c.leader_epoch : -1;
    fp->Metadata = e ? abytes(ar, e->c.metadata.p, e->c.metadata.len) : abytes(ar, NULL, 0);
    fp->ErrorCode = err;
}

void group_offset_fetch(group_coord_t *gc, const group_req_t *rq, const kp_OffsetFetchRequest *req, int64_t now)
{
    (void)now;
    group_out_t *o = resp_new(rq->token, rq->version, KP_OFFSET_FETCH, &kp_OffsetFetchResponse_schema);
    kp_OffsetFetchResponse *r = o->resp;
    int16_t err = validate(gc, req->GroupId, true);
    grp_t *g = err ? NULL : grp_get(gc, req->GroupId);
    if (err && rq->version >= 2) {
        r->ErrorCode = err;
        out_push(gc, o);
        return;
    }
    if (req->Topics.n < 0) {
        /* all the group's offsets (v2+) */
        size_t n = 0;
        offsets_entry_t **v = g ? offsets_table_sorted(&g->offsets, &n) : NULL;
        int32_t nt = 0;
        for (size_t i = 0; i < n; i++)
            nt += i == 0 || strcmp(v[i]->topic, v[i - 1]->topic) != 0;
        r->Topics.n = nt;
        r->Topics.v = kp_new_array(&o->arena, &kp_OffsetFetchResponse_OffsetFetchResponseTopic_schema, nt);
        int32_t t = -1;
        for (size_t i = 0, j = 0; i < n; i = j) {
            t++;
            for (j = i; j < n && strcmp(v[j]->topic, v[i]->topic) == 0; j++)
                ;
            kp_OffsetFetchResponse_OffsetFetchResponseTopic *ft = &r->Topics.v[t];
            ft->Name = astr(&o->arena, v[i]->topic);
            ft->Partitions.n = (int32_t)(j - i);
            ft->Partitions.v = kp_new_array(&o->arena, &kp_OffsetFetchResponse_OffsetFetchResponsePartition_schema,
                                            (int32_t)(j - i));
            for (size_t k = i; k < j; k++)
                fetch_fill(&o->arena, &ft->Partitions.v[k - i], v[k]->partition, v[k], 0);
        }
        free(v);
        out_push(gc, o);
        return;
    }
    int32_t nt = req->Topics.n;
    r->Topics.n = nt;
    r->Topics.v = kp_new_array(&o->arena, &kp_OffsetFetchResponse_OffsetFetchResponseTopic_schema, nt);
    for (int32_t t = 0; t < nt; t++) {
        const kp_OffsetFetchRequest_OffsetFetchRequestTopic *rt = &req->Topics.v[t];
        kp_OffsetFetchResponse_OffsetFetchResponseTopic *ft = &r->Topics.v[t];
        int32_t np = rt->PartitionIndexes.n > 0 ? rt->PartitionIndexes.n : 0;
        ft->Name = abytes(&o->arena, rt->Name.p, rt->Name.len);
        ft->Partitions.n = np;
        ft->Partitions.v = kp_new_array(&o->arena, &kp_OffsetFetchResponse_OffsetFetchResponsePartition_schema, np);
        for (int32_t p = 0; p < np; p++) {
            int32_t pi = rt->PartitionIndexes.v[p];
            const offsets_entry_t *e = g && !err ? offsets_table_get(&g->offsets, rt->Name, pi) : NULL;
            fetch_fill(&o->arena, &ft->Partitions.v[p], pi, e, err);
        }
    }
    out_push(gc, o);
}

/* ---- DescribeGroups, ListGroups, DeleteGroups --------------------------------------------- */

void group_describe(group_coord_t *gc, const group_req_t *rq, const kp_DescribeGroupsRequest *req, int64_t now)
{
    (void)now;
    group_out_t *o = resp_new(rq->token, rq->version, KP_DESCRIBE_GROUPS, &kp_DescribeGroupsResponse_schema);
    kp_DescribeGroupsResponse *r = o->resp;
    int32_t n = req->Groups.n > 0 ? req->Groups.n : 0;
    r->Groups.n = n;
    r->Groups.v = kp_new_array(&o->arena, &kp_DescribeGroupsResponse_DescribedGroup_schema, n);
    for (int32_t i = 0; i < n; i++) {
        kp_DescribeGroupsResponse_DescribedGroup *d = &r->Groups.v[i];
        kp_str_t id = req->Groups.v[i];
        d->GroupId = abytes(&o->arena, id.p, id.len);
        d->ErrorCode = validate(gc, id, true);
        d->ProtocolType = astr(&o->arena, "");
        d->ProtocolData = astr(&o->arena, "");
        d->GroupState = astr(&o->arena, "");
        if (d->ErrorCode)
            continue;
        if (rq->version >= 3 && req->IncludeAuthorizedOperations)
            d->AuthorizedOperations = GROUP_OPS_ALL_AUTHORIZED;
        grp_t *g = grp_get(gc, id);
        if (!g) {
            d->GroupState = astr(&o->arena, "Dead");
            continue;
        }
        d->GroupState = astr(&o->arena, group_state_name(g->state));
        d->ProtocolType = astr(&o->arena, g->protocol_type ? g->protocol_type : "");
        bool stable = g->state == GROUP_STABLE;
        if (stable)
            d->ProtocolData = astr(&o->arena, g->protocol ? g->protocol : "");
        d->Members.n = g->nmembers;
        d->Members.v = kp_new_array(&o->arena, &kp_DescribeGroupsResponse_DescribedGroupMember_schema, g->nmembers);
        for (int32_t j = 0; j < g->nmembers; j++) {
            const member_t *m = g->members[j];
            kp_DescribeGroupsResponse_DescribedGroupMember *dm = &d->Members.v[j];
            dm->MemberId = astr(&o->arena, m->id);
            dm->GroupInstanceId = astr(&o->arena, m->instance_id);
            dm->ClientId = astr(&o->arena, m->client_id);
            dm->ClientHost = astr(&o->arena, m->client_host);
            const proto_t *p = stable ? member_proto(m, g->protocol) : NULL;
            dm->MemberMetadata = p ? abytes(&o->arena, p->meta, p->len) : abytes(&o->arena, NULL, 0);
            dm->MemberAssignment = stable ? abytes(&o->arena, m->assignment, m->assignment_len)
                                          : abytes(&o->arena, NULL, 0);
        }
    }
    out_push(gc, o);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void group_list(group_coord_t *gc, const group_req_t *rq, int64_t now)
{
    (void)now;
    group_out_t *o = resp_new(rq->token, rq->version, KP_LIST_GROUPS, &kp_ListGroupsResponse_schema);
    kp_ListGroupsResponse *r = o->resp;
    r->ErrorCode = gc->nloading ? KERR_COORDINATOR_LOAD_IN_PROGRESS : KERR_NONE;
    size_t n = hmap_count(&gc->groups), i = 0;
    char **ids = xcalloc(n + 1, sizeof *ids);
    hmap_iter_t it;
    const void *k;
    size_t kl;
    void *v;
    hmap_iter_init(&gc->groups, &it);
    while (hmap_iter_next(&gc->groups, &it, &k, &kl, &v))
        ids[i++] = ((grp_t *)v)->id;
    qsort(ids, n, sizeof *ids, cmp_str);
    r->Groups.n = (int32_t)n;
    r->Groups.v = kp_new_array(&o->arena, &kp_ListGroupsResponse_ListedGroup_schema, (int32_t)n);
    for (i = 0; i < n; i++) {
        grp_t *g = hmap_gets(&gc->groups, ids[i]);
        r->Groups.v[i].GroupId = astr(&o->arena, g->id);
        r->Groups.v[i].ProtocolType = astr(&o->arena, g->protocol_type ? g->protocol_type : "");
    }
    free(ids);
    out_push(gc, o);
}

/* Writes tombstones for the given offsets (and for the group when it is dead and was ever
 * rebalanced), as GroupMetadataManager.cleanupGroupMetadata; drops a dead group. */
static void write_tombstones(group_coord_t *gc, grp_t *g, offsets_entry_t **removed, size_t nremoved, bool dead,
                             int64_t now)
{
    size_t n = nremoved + (dead && g->generation > 0);
    if (n) {
        buf_t keys = BUF_INIT;
        size_t *off = xcalloc(n + 1, sizeof *off);
        for (size_t i = 0; i < nremoved; i++) {
            off[i] = keys.len;
            offsets_commit_key_write(&keys, kp_str(g->id), kp_str(removed[i]->topic), removed[i]->partition);
        }
        if (n > nremoved) {
            off[nremoved] = keys.len;
            offsets_group_key_write(&keys, kp_str(g->id));
        }
        off[n] = keys.len;
        offsets_kv_t *kv = xcalloc(n, sizeof *kv);
        for (size_t i = 0; i < n; i++)
            kv[i] = (offsets_kv_t){keys.data + off[i], off[i + 1] - off[i], NULL, -1};
        push_append(gc, g->partition, ++gc->next_append_id, kv, n, now);
        free(kv);
        free(off);
        buf_free(&keys);
    }
    if (dead)
        grp_remove(gc, g);
}

void group_delete(group_coord_t *gc, const group_req_t *rq, const kp_DeleteGroupsRequest *req, int64_t now)
{
    group_out_t *o = resp_new(rq->token, rq->version, KP_DELETE_GROUPS, &kp_DeleteGroupsResponse_schema);
    kp_DeleteGroupsResponse *r = o->resp;
    int32_t n = req->GroupsNames.n > 0 ? req->GroupsNames.n : 0;
    r->Results.n = n;
    r->Results.v = kp_new_array(&o->arena, &kp_DeleteGroupsResponse_DeletableGroupResult_schema, n);
    for (int32_t i = 0; i < n; i++) {
        kp_str_t id = req->GroupsNames.v[i];
        r->Results.v[i].GroupId = abytes(&o->arena, id.p, id.len);
        int16_t err = validate(gc, id, true);
        grp_t *g = err ? NULL : grp_get(gc, id);
        if (!err && !g)
            err = KERR_GROUP_ID_NOT_FOUND;
        else if (!err && g->state != GROUP_EMPTY)
            err = KERR_NON_EMPTY_GROUP;
        else if (!err) {
            transition(g, GROUP_DEAD, now);
            size_t cnt = 0;
            offsets_entry_t **v = offsets_table_sorted(&g->offsets, &cnt);
            write_tombstones(gc, g, v, cnt, true, now);
            free(v);
        }
        r->Results.v[i].ErrorCode = err;
    }
    out_push(gc, o);
}

/* ---- offset expiry ------------------------------------------------------------------------- */

static bool subscribed(const grp_t *g, const char *topic)
{
    for (int32_t i = 0; i < g->nsubs; i++)
        if (streq(g->subs[i], topic))
            return true;
    return false;
}

/* GroupMetadata.removeExpiredOffsets + cleanupGroupMetadata for one group. */
static void expire_group(group_coord_t *gc, grp_t *g, int64_t now)
{
    int mode;   /* 0 = nothing, 1 = empty group with a protocol, 2 = consumer with known topics, 3 = simple */
    if (g->protocol_type && g->protocol_type[0] && g->state == GROUP_EMPTY)
        mode = 1;
    else if (g->protocol_type && strcmp(g->protocol_type, GPROTO_CONSUMER) == 0 && g->subs_known)
        mode = 2;
    else if (!g->protocol_type || !g->protocol_type[0])
        mode = 3;
    else
        mode = 0;
    size_t n = 0, nexp = 0;
    offsets_entry_t **v = mode ? offsets_table_sorted(&g->offsets, &n) : NULL;
    for (size_t i = 0; i < n; i++) {
        offsets_entry_t *e = v[i];
        if (mode == 2 && subscribed(g, e->topic))
            continue;
        if (pending_commit_has(g, e->topic, e->partition))
            continue;
        bool expired;
        if (e->c.expire_ts >= 0) {
            expired = now >= e->c.expire_ts;
        } else {
            int64_t base = mode == 1 && g->state_ts >= 0 ? g->state_ts : e->c.commit_ts;
            expired = now - base >= gc->cfg.offsets_retention_ms;
        }
        if (expired)
            v[nexp++] = e;
    }
    /* entries stay valid until deleted: write the tombstones first */
    bool dead = g->state == GROUP_EMPTY && offsets_table_count(&g->offsets) == nexp &&
                hmap_count(&g->pending_commits) == 0;
    char **topics = xcalloc(nexp + 1, sizeof *topics);
    int32_t *parts = xcalloc(nexp + 1, sizeof *parts);
    for (size_t i = 0; i < nexp; i++) {
        topics[i] = xstrdup(v[i]->topic);
        parts[i] = v[i]->partition;
    }
    if (dead)
        transition(g, GROUP_DEAD, now);
    write_tombstones(gc, g, v, nexp, dead, now);   /* frees g if dead */
    if (!dead)
        for (size_t i = 0; i < nexp; i++)
            offsets_table_del(&g->offsets, kp_str(topics[i]), parts[i]);
    for (size_t i = 0; i < nexp; i++)
        free(topics[i]);
    free(topics);
    free(parts);
    free(v);
}

static void expire_all(group_coord_t *gc, int64_t now)
{
    size_t n = hmap_count(&gc->groups), i = 0;
    char **ids = xcalloc(n + 1, sizeof *ids);
    hmap_iter_t it;
    const void *k;
    size_t kl;
    void *v;
    hmap_iter_init(&gc->groups, &it);
    while (hmap_iter_next(&gc->groups, &it, &k, &kl, &v))
        ids[i++] = xstrdup(((grp_t *)v)->id);
    for (i = 0; i < n; i++) {
        grp_t *g = hmap_gets(&gc->groups, ids[i]);
        if (g)
            expire_group(gc, g, now);
        free(ids[i]);
    }
    free(ids);
}

/* ---- timers -------------------------------------------------------------------------------- */

static int64_t grp_deadline(const grp_t *g)
{
    int64_t d = g->join_deadline;
    for (int32_t i = 0; i < g->nmembers; i++)
        if (g->members[i]->hb_deadline < d)
            d = g->members[i]->hb_deadline;
    for (int32_t i = 0; i < g->npending; i++)
        if (g->pending[i].deadline < d)
            d = g->pending[i].deadline;
    return d;
}

int64_t group_next_deadline(const group_coord_t *gc)
{
    int64_t d = gc->next_expiry_check;
    hmap_iter_t it;
    const void *k;
    size_t kl;
    void *v;
    hmap_iter_init(&gc->groups, &it);
    while (hmap_iter_next(&gc->groups, &it, &k, &kl, &v)) {
        int64_t x = grp_deadline(v);
        if (x < d)
            d = x;
    }
    return d;
}

/* The delayed join expired (InitialDelayedJoin / DelayedJoin). */
static void join_timer(group_coord_t *gc, grp_t *g, int64_t now)
{
    if (g->join_initial && g->new_member_added && g->join_remaining != 0) {
        g->new_member_added = false;
        int32_t delay = gc->cfg.initial_rebalance_delay_ms < g->join_remaining ? gc->cfg.initial_rebalance_delay_ms
                                                                                : g->join_remaining;
        int32_t remaining = g->join_remaining - g->join_delay > 0 ? g->join_remaining - g->join_delay : 0;
        g->join_delay = delay;
        g->join_remaining = remaining;
        g->join_deadline = now + delay;
        return;
    }
    complete_join(gc, g, now);
}

/* Fires the group's due timers, earliest first (timers never remove the group itself). */
static void tick_group(group_coord_t *gc, grp_t *g, int64_t now)
{
    for (;;) {
        int64_t d = grp_deadline(g);
        if (d > now)
            return;
        if (g->join_deadline == d && g->state == GROUP_PREPARING_REBALANCE) {
            join_timer(gc, g, now);
            continue;
        }
        if (g->join_deadline == d) {
            g->join_deadline = NEVER;
            continue;
        }
        bool fired = false;
        for (int32_t i = 0; i < g->npending && !fired; i++)
            if (g->pending[i].deadline == d) {
                remove_pending_and_update(gc, g, i, now);
                fired = true;
            }
        for (int32_t i = 0; i < g->nmembers && !fired; i++) {
            member_t *m = g->members[i];
            if (m->hb_deadline != d)
                continue;
            m->hb_deadline = NEVER;
            fired = true;
            if (!should_keep_alive(m, d))
                remove_member_and_update(gc, g, m, now);
        }
    }
}

void group_tick(group_coord_t *gc, int64_t now)
{
    size_t n = hmap_count(&gc->groups), i = 0;
    char **ids = xcalloc(n + 1, sizeof *ids);
    hmap_iter_t it;
    const void *k;
    size_t kl;
    void *v;
    hmap_iter_init(&gc->groups, &it);
    while (hmap_iter_next(&gc->groups, &it, &k, &kl, &v))
        if (grp_deadline(v) <= now)
            ids[i++] = xstrdup(((grp_t *)v)->id);
    for (size_t j = 0; j < i; j++) {
        grp_t *g = hmap_gets(&gc->groups, ids[j]);
        if (g)
            tick_group(gc, g, now);
        free(ids[j]);
    }
    free(ids);
    if (now >= gc->next_expiry_check) {
        expire_all(gc, now);
        gc->next_expiry_check = now + gc->cfg.offsets_retention_check_ms;
    }
}

void group_append_done(group_coord_t *gc, uint64_t append_id, int16_t error, int64_t base_offset, int64_t now)
{
    append_t *a = hmap_del64(&gc->appends, append_id);
    if (!a)
        return;
    if (a->kind == APPEND_SYNC)
        sync_stored(gc, a, error, now);
    else if (a->kind == APPEND_COMMIT)
        commit_stored(gc, a, error, base_offset);
    append_free(a);
}

/* ---- loading ------------------------------------------------------------------------------- */

int group_load_begin(group_coord_t *gc, int32_t p)
{
    if (p < 0 || p >= gc->cfg.num_partitions || gc->pstate[p] != PART_NONE)
        return -1;
    gc->pstate[p] = PART_LOADING;
    gc->loaders[p] = xcalloc(1, sizeof *gc->loaders[p]);
    offsets_loader_init(gc->loaders[p]);
    gc->nloading++;
    return 0;
}

int group_load_feed(group_coord_t *gc, int32_t p, const uint8_t *data, size_t len)
{
    if (p < 0 || p >= gc->cfg.num_partitions || gc->pstate[p] != PART_LOADING)
        return -KERR_UNKNOWN_SERVER_ERROR;
    return offsets_loader_feed(gc->loaders[p], data, len);
}

static void load_group(group_coord_t *gc, offsets_loaded_t *lg, int64_t now)
{
    grp_t *old = hmap_gets(&gc->groups, lg->group);
    if (old)
        grp_remove(gc, old);
    if (!lg->meta && offsets_table_count(&lg->offsets) == 0)
        return;
    grp_t *g = grp_add(gc, kp_str(lg->group), now);
    g->state_ts = -1;
    offsets_table_move(&g->offsets, &lg->offsets);
    if (!lg->meta)
        return;   /* offsets only: an Empty group without protocol (simple consumers) */
    arena_t a;
    arena_init(&a);
    offsets_group_t v;
    if (offsets_group_value_decode(lg->meta, lg->meta_len, &a, &v) == 0) {
        g->generation = v.generation;
        g->protocol_type = v.protocol_type.len > 0 ? sdup(v.protocol_type) : NULL;
        g->protocol = v.protocol.len >= 0 ? sdup(v.protocol) : NULL;
        g->leader = v.leader.len >= 0 ? sdup(v.leader) : NULL;
        g->state = v.member_count ? GROUP_STABLE : GROUP_EMPTY;
        g->state_ts = v.current_state_ts;
        for (int32_t i = 0; i < v.member_count; i++) {
            const offsets_member_t *om = &v.members[i];
            member_t *m = xcalloc(1, sizeof *m);
            m->id = sdup(om->member_id);
            m->instance_id = om->group_instance_id.len >= 0 ? sdup(om->group_instance_id) : NULL;
            m->client_id = sdup(om->client_id);
            m->client_host = sdup(om->client_host);
            m->session_timeout = om->session_timeout;
            m->rebalance_timeout = om->rebalance_timeout;
            m->protos = xcalloc(1, sizeof *m->protos);
            m->nprotos = 1;
            m->protos[0].name = g->protocol ? xstrdup(g->protocol) : xstrdup("");
            m->protos[0].len = om->subscription.len > 0 ? om->subscription.len : 0;
            m->protos[0].meta = dupbytes(om->subscription.p, m->protos[0].len);
            m->assignment_len = om->assignment.len > 0 ? om->assignment.len : 0;
            m->assignment = dupbytes(om->assignment.p, m->assignment_len);
            m->hb_deadline = NEVER;
            member_add(g, m, NULL);
            schedule_heartbeat(m, now);
        }
        if (v.member_count && !g->leader)
            g->leader = xstrdup(g->members[0]->id);
        compute_subscribed_topics(g);
    }
    arena_free(&a);
}

void group_load_end(group_coord_t *gc, int32_t p, int64_t now)
{
    if (p < 0 || p >= gc->cfg.num_partitions || gc->pstate[p] != PART_LOADING)
        return;
    offsets_loader_t *l = gc->loaders[p];
    hmap_iter_t it;
    offsets_loaded_t *lg;
    hmap_iter_init(&l->groups, &it);
    while (offsets_loader_next(l, &it, &lg))
        load_group(gc, lg, now);
    offsets_loader_fini(l);
    free(l);
    gc->loaders[p] = NULL;
    gc->pstate[p] = PART_OWNED;
    gc->nloading--;
    if (gc->next_expiry_check == NEVER)
        gc->next_expiry_check = now + gc->cfg.offsets_retention_check_ms;
}

void group_unload(group_coord_t *gc, int32_t p, int64_t now)
{
    (void)now;
    if (p < 0 || p >= gc->cfg.num_partitions || gc->pstate[p] == PART_NONE)
        return;
    if (gc->pstate[p] == PART_LOADING) {
        offsets_loader_fini(gc->loaders[p]);
        free(gc->loaders[p]);
        gc->loaders[p] = NULL;
        gc->nloading--;
    }
    gc->pstate[p] = PART_NONE;
    size_t n = hmap_count(&gc->groups), i = 0;
    grp_t **gs = xcalloc(n + 1, sizeof *gs);
    hmap_iter_t it;
    const void *k;
    size_t kl;
    void *v;
    hmap_iter_init(&gc->groups, &it);
    while (hmap_iter_next(&gc->groups, &it, &k, &kl, &v))
        if (((grp_t *)v)->partition == p)
            gs[i++] = v;
    for (size_t j = 0; j < i; j++) {
        grp_t *g = gs[j];
        for (int32_t x = 0; x < g->nmembers; x++) {
            member_t *m = g->members[x];
            if (m->join.set) {
                waiter_t w = m->join;
                m->join.set = false;
                join_respond(gc, &w, KERR_NOT_COORDINATOR, -1, "", "", m->id, NULL);
            }
            member_sync_answer(gc, m, KERR_NOT_COORDINATOR);
        }
        grp_remove(gc, g);
    }
    free(gs);
}

/* ---- lifecycle and inspection -------------------------------------------------------------- */

group_coord_t *group_coord_new(const group_config_t *cfg)
{
    group_coord_t *gc = xcalloc(1, sizeof *gc);
    gc->cfg = *cfg;
    if (gc->cfg.num_partitions <= 0)
        gc->cfg.num_partitions = 1;
    hmap_init(&gc->groups);
    hmap_init(&gc->appends);
    gc->pstate = xcalloc((size_t)gc->cfg.num_partitions, 1);
    gc->loaders = xcalloc((size_t)gc->cfg.num_partitions, sizeof *gc->loaders);
    gc->rng = cfg->seed;
    gc->next_expiry_check = NEVER;
    return gc;
}

static void append_free_v(void *v)
{
    append_free(v);
}

void group_coord_free(group_coord_t *gc)
{
    if (!gc)
        return;
    hmap_fini(&gc->groups, grp_free);
    hmap_fini(&gc->appends, append_free_v);
    for (int32_t p = 0; p < gc->cfg.num_partitions; p++)
        if (gc->loaders[p]) {
            offsets_loader_fini(gc->loaders[p]);
            free(gc->loaders[p]);
        }
    free(gc->loaders);
    free(gc->pstate);
    group_out_t *o = gc->out_head;
    while (o) {
        group_out_t *next = o->next;
        group_out_free(o);
        o = next;
    }
    free(gc);
}

bool group_inspect(const group_coord_t *gc, const char *group_id, group_state_t *state, int32_t *generation,
                   int32_t *members)
{
    grp_t *g = hmap_gets(&gc->groups, group_id);
    if (!g)
        return false;
    if (state)
        *state = g->state;
    if (generation)
        *generation = g->generation;
    if (members)
        *members = g->nmembers;
    return true;
}

size_t group_count(const group_coord_t *gc)
{
    return hmap_count(&gc->groups);
}
