/* gc_drv.c — the group coordinator's driver logic (see gc_drv.h). */
#include "broker/gc_drv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/offsets.h"
#include "common/alloc.h"
#include "common/hmap.h"
#include "common/log.h"
#include "proto/kafka_err.h"
#include "proto/kafka_records.h"

#define SUB "groups"
#define NEVER INT64_MAX
#define DEFAULT_STEP_BYTES ((size_t)4 << 20)
#define READ_CHUNK_BYTES ((size_t)1 << 20)
#define CREATE_WARN_EVERY_MS 30000
#define CREATE_RETRY_MS 1000       /* after a failed creation, answer without retrying */

/* Partition load states. */
enum { LS_NONE = 0, LS_LOADING, LS_OWNED };

/* An append or a topic creation in flight: the completion finds the driver through it, and
 * gcd_free detaches it (d = NULL) so that a late completion only frees it. */
typedef struct pend_s pend_t;
struct pend_s {
    gcd_t *d;
    uint64_t append_id;
    pend_t *prev, *next;
};

struct gcd_s {
    gcd_config_t cfg;
    gcd_env_t env;
    group_coord_t *gc;
    hmap_t tokens;               /* token -> ctx */
    uint64_t next_token;
    pend_t *pends;               /* appends and creations in flight */
    bool pumping, pump_again;
    /* __consumer_offsets creation */
    bool creating;
    int16_t last_create_error;
    int64_t last_create_warn;
    int64_t create_retry_at;     /* no new attempt before this */
    /* loading, per partition */
    int32_t nparts;
    uint8_t *lstate;
    int64_t *lnext;              /* next offset to read, -1 = from the log start */
    int64_t *lstarted;           /* when the load began (for the log line) */
    int32_t nloading;
};

void gcd_config_defaults(gcd_config_t *c)
{
    memset(c, 0, sizeof *c);
    group_config_defaults(&c->group);
    c->replication_factor = 3;
    c->segment_bytes = 104857600;
    c->load_step_bytes = DEFAULT_STEP_BYTES;
}

static int64_t now_ms(const gcd_t *d)
{
    return d->env.now(d->env.arg);
}

static void wake(gcd_t *d)
{
    if (d->env.wake)
        d->env.wake(d->env.arg);
}

static pend_t *pend_new(gcd_t *d, uint64_t append_id)
{
    pend_t *p = xcalloc(1, sizeof *p);
    p->d = d;
    p->append_id = append_id;
    p->next = d->pends;
    if (d->pends)
        d->pends->prev = p;
    d->pends = p;
    return p;
}

/* Unlinks and frees p; returns its driver (NULL if detached). */
static gcd_t *pend_done(pend_t *p)
{
    gcd_t *d = p->d;
    if (d) {
        if (p->prev)
            p->prev->next = p->next;
        else
            d->pends = p->next;
        if (p->next)
            p->next->prev = p->prev;
    }
    free(p);
    return d;
}

/* ---- outputs ---- */

static void pump(gcd_t *d);

static void append_done(void *arg, int16_t error, int64_t base_offset)
{
    pend_t *p = arg;
    uint64_t id = p->append_id;
    gcd_t *d = pend_done(p);
    if (!d)
        return;
    if (error)
        LOG_W(SUB, "append to %s failed: %s", OFFSETS_TOPIC, kp_err_name(error));
    group_append_done(d->gc, id, error, base_offset, now_ms(d));
    pump(d);
}

/* Takes every output of the coordinator (again, while completions called synchronously
 * queue more) and hands them on. */
static void pump(gcd_t *d)
{
    if (d->pumping) {
        d->pump_again = true;
        return;
    }
    d->pumping = true;
    do {
        d->pump_again = false;
        group_out_t *o = group_take_outputs(d->gc);
        while (o) {
            group_out_t *next = o->next;
            if (o->kind == GROUP_OUT_RESPONSE) {
                void *ctx = hmap_del64(&d->tokens, o->token);
                if (ctx)
                    d->env.respond(d->env.arg, ctx, o->resp);
                else
                    LOG_W(SUB, "a response for unknown token %llu dropped", (unsigned long long)o->token);
                group_out_free(o);
            } else {
                pend_t *p = pend_new(d, o->append_id);
                d->env.append(d->env.arg, o->partition, o->records.data, o->records.len, append_done, p);
                group_out_free(o);
            }
            o = next;
        }
    } while (d->pump_again);
    d->pumping = false;
    wake(d);
}

/* ---- partition_exists for OffsetCommit ---- */

static bool partition_exists(void *arg, kp_str_t topic, int32_t partition)
{
    gcd_t *d = arg;
    char name[256];
    if (topic.len <= 0 || (size_t)topic.len >= sizeof name || memchr(topic.p, '\0', (size_t)topic.len))
        return false;   /* Kafka's topic names are at most 249 characters, never with a NUL */
    memcpy(name, topic.p, (size_t)topic.len);
    name[topic.len] = '\0';
    return partition >= 0 && d->env.partition_count(d->env.arg, name) > partition;
}

/* ---- life ---- */

gcd_t *gcd_new(const gcd_config_t *cfg, const gcd_env_t *env)
{
    gcd_t *d = xcalloc(1, sizeof *d);
    d->cfg = *cfg;
    if (!d->cfg.load_step_bytes)
        d->cfg.load_step_bytes = DEFAULT_STEP_BYTES;
    d->env = *env;
    d->cfg.group.partition_exists = partition_exists;
    d->cfg.group.arg = d;
    if (d->cfg.group.num_partitions <= 0)
        d->cfg.group.num_partitions = 1;
    d->gc = group_coord_new(&d->cfg.group);
    hmap_init(&d->tokens);
    d->next_token = 1;
    d->nparts = d->cfg.group.num_partitions;
    d->lstate = xcalloc((size_t)d->nparts, sizeof *d->lstate);
    d->lnext = xcalloc((size_t)d->nparts, sizeof *d->lnext);
    d->lstarted = xcalloc((size_t)d->nparts, sizeof *d->lstarted);
    d->last_create_warn = -1;
    return d;
}

void gcd_free(gcd_t *d)
{
    if (!d)
        return;
    for (pend_t *p = d->pends; p; p = p->next)
        p->d = NULL;
    d->pends = NULL;
    hmap_iter_t it;
    const void *k;
    size_t kl;
    void *v;
    hmap_iter_init(&d->tokens, &it);
    while (hmap_iter_next(&d->tokens, &it, &k, &kl, &v))
        d->env.drop(d->env.arg, v);
    hmap_fini(&d->tokens, NULL);
    group_coord_free(d->gc);
    free(d->lstate);
    free(d->lnext);
    free(d->lstarted);
    free(d);
}

/* ---- FindCoordinator ---- */

static void create_done(void *arg, int16_t error, const char *message)
{
    pend_t *p = arg;
    gcd_t *d = pend_done(p);
    if (!d)
        return;
    d->creating = false;
    if (error == KERR_NONE || error == KERR_TOPIC_ALREADY_EXISTS) {
        if (error == KERR_NONE)
            LOG_I(SUB, "created %s (%d partitions, replication factor %d)", OFFSETS_TOPIC,
                  (int)d->cfg.group.num_partitions, (int)d->cfg.replication_factor);
        d->last_create_error = 0;
        return;
    }
    int64_t now = now_ms(d);
    d->create_retry_at = now + CREATE_RETRY_MS;
    if (error != d->last_create_error || d->last_create_warn < 0 || now - d->last_create_warn >= CREATE_WARN_EVERY_MS) {
        if (error == KERR_INVALID_REPLICATION_FACTOR)
            LOG_W(SUB, "cannot create %s with offsets.topic.replication.factor=%d: %s%s%s; consumer groups get "
                  "COORDINATOR_NOT_AVAILABLE until it exists. With fewer live brokers than that, set "
                  "offsets.topic.replication.factor to at most the number of brokers (1 for a single broker)",
                  OFFSETS_TOPIC, (int)d->cfg.replication_factor, kp_err_name(error), message ? ": " : "",
                  message ? message : "");
        else
            LOG_W(SUB, "cannot create %s (%d partitions, replication factor %d): %s%s%s; consumer groups get "
                  "COORDINATOR_NOT_AVAILABLE until it exists", OFFSETS_TOPIC, (int)d->cfg.group.num_partitions,
                  (int)d->cfg.replication_factor, kp_err_name(error), message ? ": " : "", message ? message : "");
        d->last_create_warn = now;
    }
    d->last_create_error = error;
}

/* Kafka's getOrCreateInternalTopic for __consumer_offsets. */
static void ensure_offsets_topic(gcd_t *d)
{
    if (d->creating || now_ms(d) < d->create_retry_at)
        return;
    d->creating = true;
    char segment[32];
    snprintf(segment, sizeof segment, "%d", (int)d->cfg.segment_bytes);
    const char *config[] = {
        "cleanup.policy", "compact",
        "compression.type", "producer",
        "segment.bytes", segment,
    };
    pend_t *p = pend_new(d, 0);
    d->env.create_topic(d->env.arg, OFFSETS_TOPIC, d->cfg.group.num_partitions, d->cfg.replication_factor, config,
                        3, create_done, p);
}

static void find_coordinator(gcd_t *d, void *ctx, const kp_request_t *req, int listener)
{
    const kp_FindCoordinatorRequest *rq = req->body;
    kp_FindCoordinatorResponse r;
    kp_init(&kp_FindCoordinatorResponse_schema, &r);
    r.ThrottleTimeMs = 0;
    r.NodeId = -1;
    r.Host = kp_str("");
    r.Port = -1;
    int16_t err = KERR_COORDINATOR_NOT_AVAILABLE;
    const char *msg = "The coordinator is not available.";
    if (rq->KeyType == 1) {
        /* transactions: there is no transaction coordinator */
    } else if (rq->KeyType != 0) {
        err = KERR_INVALID_REQUEST;
        msg = "Unknown coordinator type in FindCoordinator request";
    } else if (d->env.partition_count(d->env.arg, OFFSETS_TOPIC) < 0) {
        ensure_offsets_topic(d);
    } else {
        int32_t p = group_partition_for(d->gc, rq->Key);
        int32_t leader = -1;
        const char *host = NULL;
        int32_t port = -1;
        if (d->env.leader(d->env.arg, OFFSETS_TOPIC, p, &leader) == 0 && leader >= 0 &&
            d->env.endpoint(d->env.arg, leader, listener, &host, &port) == 0 && host) {
            err = KERR_NONE;
            msg = "NONE";
            r.NodeId = leader;
            r.Host = kp_str(host);
            r.Port = port;
        }
    }
    r.ErrorCode = err;
    r.ErrorMessage = kp_str(msg);
    d->env.respond(d->env.arg, ctx, &r);
}

/* ---- requests ---- */

int gcd_request(gcd_t *d, void *ctx, const kp_request_t *req, int listener, const char *peer)
{
    int key = req->hdr.api_key;
    switch (key) {
    case KP_FIND_COORDINATOR:
        find_coordinator(d, ctx, req, listener);
        wake(d);
        return 0;
    case KP_JOIN_GROUP:
    case KP_SYNC_GROUP:
    case KP_HEARTBEAT:
    case KP_LEAVE_GROUP:
    case KP_OFFSET_COMMIT:
    case KP_OFFSET_FETCH:
    case KP_DESCRIBE_GROUPS:
    case KP_LIST_GROUPS:
    case KP_DELETE_GROUPS:
        break;
    default:
        return -1;
    }
    /* client id and "/ip" as Kafka shows them */
    char cid_buf[256];
    kp_str_t cid = req->hdr.client_id;
    size_t cl = cid.len > 0 ? (size_t)cid.len : 0;
    char *client_id = cl < sizeof cid_buf ? cid_buf : xmalloc(cl + 1);
    if (cl)
        memcpy(client_id, cid.p, cl);
    client_id[cl] = '\0';
    char host[80] = "/";
    if (peer) {
        const char *colon = strrchr(peer, ':');
        size_t hl = colon ? (size_t)(colon - peer) : strlen(peer);
        if (hl > sizeof host - 2)
            hl = sizeof host - 2;
        memcpy(host + 1, peer, hl);
        host[1 + hl] = '\0';
    }
    group_req_t rq = {d->next_token++, req->hdr.api_version, client_id, host};
    hmap_put64(&d->tokens, rq.token, ctx);
    int64_t now = now_ms(d);
    switch (key) {
    case KP_JOIN_GROUP: group_join(d->gc, &rq, req->body, now); break;
    case KP_SYNC_GROUP: group_sync(d->gc, &rq, req->body, now); break;
    case KP_HEARTBEAT: group_heartbeat(d->gc, &rq, req->body, now); break;
    case KP_LEAVE_GROUP: group_leave(d->gc, &rq, req->body, now); break;
    case KP_OFFSET_COMMIT: group_offset_commit(d->gc, &rq, req->body, now); break;
    case KP_OFFSET_FETCH: group_offset_fetch(d->gc, &rq, req->body, now); break;
    case KP_DESCRIBE_GROUPS: group_describe(d->gc, &rq, req->body, now); break;
    case KP_LIST_GROUPS: group_list(d->gc, &rq, now); break;
    case KP_DELETE_GROUPS: group_delete(d->gc, &rq, req->body, now); break;
    default: break;
    }
    if (client_id != cid_buf)
        free(client_id);
    pump(d);
    return 0;
}

/* ---- loading ---- */

static void load_finish(gcd_t *d, int32_t p, int64_t now)
{
    group_load_end(d->gc, p, now);
    d->lstate[p] = LS_OWNED;
    d->nloading--;
    LOG_I(SUB, "Finished loading offsets and group metadata from %s-%d in %lld milliseconds (%zu groups cached)",
          OFFSETS_TOPIC, (int)p, (long long)(now - d->lstarted[p]), group_count(d->gc));
}

/* Reads up to *budget bytes of partition p's log into the coordinator; finishes the load at
 * the log end. */
static void load_step(gcd_t *d, int32_t p, size_t *budget, int64_t now)
{
    plog_t *l = d->env.log_get(d->env.arg, p);
    if (!l) {
        load_finish(d, p, now);
        return;
    }
    buf_t data = BUF_INIT;
    int restarts = 0;
    while (*budget > 0) {
        int64_t start = plog_start_offset(l), end = plog_end_offset(l);
        if (d->lnext[p] < start)
            d->lnext[p] = start;
        if (d->lnext[p] >= end)
            break;
        plog_slice_t s;
        size_t want = *budget < READ_CHUNK_BYTES ? *budget : READ_CHUNK_BYTES;
        int rc = plog_read(l, d->lnext[p], want, PLOG_UPTO_LEO, true, &s);
        if (rc == -KERR_OFFSET_OUT_OF_RANGE && restarts++ < 3)
            continue;   /* the log start moved (retention): start there */
        if (rc < 0) {
            LOG_E(SUB, "loading %s-%d: reading at offset %lld failed (%s); serving what was read", OFFSETS_TOPIC,
                  (int)p, (long long)d->lnext[p], kp_err_name(-rc));
            break;
        }
        buf_reset(&data);
        rc = s.len ? plog_slice_copy(&s, &data) : 0;
        plog_slice_release(&s);
        if (rc < 0) {
            LOG_E(SUB, "loading %s-%d: reading at offset %lld failed (%s); serving what was read", OFFSETS_TOPIC,
                  (int)p, (long long)d->lnext[p], kp_err_name(-rc));
            break;
        }
        /* whole batches only; the next read starts after the last one */
        size_t pos = 0, whole = 0;
        int64_t last = -1;
        krec_batch_t b;
        while (krec_batch_next(data.data, data.len, &pos, &b, NULL) == KREC_BATCH_OK) {
            last = b.last_offset;
            whole = pos;
        }
        if (last < d->lnext[p]) {
            if (data.len == 0)
                break;   /* nothing between here and the log end */
            LOG_E(SUB, "loading %s-%d: unreadable batch at offset %lld; serving what was read", OFFSETS_TOPIC,
                  (int)p, (long long)d->lnext[p]);
            break;
        }
        rc = group_load_feed(d->gc, p, data.data, whole);
        if (rc < 0)
            LOG_W(SUB, "loading %s-%d: records before offset %lld: %s", OFFSETS_TOPIC, (int)p, (long long)last + 1,
                  kp_err_name(-rc));
        d->lnext[p] = last + 1;
        *budget = whole >= *budget ? 0 : *budget - whole;
    }
    buf_free(&data);
    if (*budget > 0)
        load_finish(d, p, now);
}

void gcd_leadership(gcd_t *d, int32_t p, bool leader)
{
    if (p < 0 || p >= d->nparts) {
        if (leader)
            LOG_W(SUB, "%s-%d is beyond offsets.topic.num.partitions=%d: its groups are not served", OFFSETS_TOPIC,
                  (int)p, (int)d->nparts);
        return;
    }
    int64_t now = now_ms(d);
    if (leader) {
        if (d->lstate[p] != LS_NONE)
            return;
        if (group_load_begin(d->gc, p) < 0) {
            LOG_W(SUB, "%s-%d: cannot start loading", OFFSETS_TOPIC, (int)p);
            return;
        }
        d->lstate[p] = LS_LOADING;
        d->lnext[p] = -1;
        d->lstarted[p] = now;
        d->nloading++;
        LOG_I(SUB, "Scheduling loading of offsets and group metadata from %s-%d", OFFSETS_TOPIC, (int)p);
        wake(d);
        return;
    }
    if (d->lstate[p] == LS_NONE)
        return;
    if (d->lstate[p] == LS_LOADING)
        d->nloading--;
    d->lstate[p] = LS_NONE;
    group_unload(d->gc, p, now);
    LOG_I(SUB, "Unloaded offsets and group metadata of %s-%d (no longer its leader)", OFFSETS_TOPIC, (int)p);
    pump(d);
}

/* ---- time ---- */

void gcd_tick(gcd_t *d)
{
    int64_t now = now_ms(d);
    if (d->nloading > 0) {
        size_t budget = d->cfg.load_step_bytes;
        for (int32_t p = 0; p < d->nparts && budget > 0; p++)
            if (d->lstate[p] == LS_LOADING)
                load_step(d, p, &budget, now);
    }
    group_tick(d->gc, now);
    pump(d);
}

int64_t gcd_next_deadline(const gcd_t *d)
{
    if (d->nloading > 0)
        return 0;
    return group_next_deadline(d->gc);
}

/* ---- inspection ---- */

group_coord_t *gcd_group_coord(gcd_t *d) { return d->gc; }
size_t gcd_parked(const gcd_t *d) { return hmap_count(&d->tokens); }
bool gcd_loaded(const gcd_t *d, int32_t p) { return p >= 0 && p < d->nparts && d->lstate[p] == LS_OWNED; }
bool gcd_creating(const gcd_t *d) { return d->creating; }
