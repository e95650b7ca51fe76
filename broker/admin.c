/* admin.c — topic administration through the coordinator (see admin.h): Kafka 2.4's
 * AdminManager + AdminZkClient (CreateTopics, DeleteTopics, CreatePartitions,
 * DescribeConfigs, AlterConfigs, auto-creation), its ZkConfigManager (the /config/changes
 * listener) and ProducerIdManager (InitProducerId).
 *
 * Everything is asynchronous on b->zk, looked up at call time (the session may be replaced).
 * Each operation is a small struct whose first member is a zop_t: one trampoline callback
 * (zop_cb) counts the requests in flight so that badm_free can be deferred until the last
 * reply (zkc_free answers outstanding requests with ZCONNECTIONLOSS); a reply that arrives
 * after badm_free makes its operation finish with an error. Requests that wait for the
 * metadata cache (CreateTopics, CreatePartitions, DeleteTopics with a timeout) are checked by
 * a 50 ms poll timer, as Kafka's topic purgatory is completed by UpdateMetadata. */
#include "broker/admin.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/adm_chg.h"
#include "broker/adm_pid.h"
#include "broker/adm_tcfg.h"
#include "broker/ctrl_assign.h"
#include "broker/meta.h"
#include "broker/replica.h"
#include "broker/zkpaths.h"
#include "common/alloc.h"
#include "common/hmap.h"
#include "common/log.h"
#include "proto/kafka_api.h"
#include "proto/kafka_err.h"

#define SUB "admin"
/* A topic's assignment must fit in one znode (jute.maxbuffer, 1 MiB): far fewer partitions
 * than this ever can. Requests above it are refused before anything is allocated for them. */
#define ADM_MAX_PARTITIONS 100000
#define POLL_MS 50

typedef struct zop_s zop_t;
/* res is NULL when the admin module is gone: finish with an error and free the op. */
typedef void (*zop_fn)(zop_t *op, const zkc_result_t *res);
struct zop_s {
    badm_t *a;
    zop_fn fn;
};

typedef struct creq_s creq_t;
typedef struct pidwait_s pidwait_t;

struct badm_s {
    broker_t *b;
    bool dead;                  /* badm_free was called; freed when refs drops to 0 */
    int refs;                   /* coordinator requests in flight */

    bcfg_t dcfg;                /* a broker configured with nothing: Kafka's defaults */
    bool have_dcfg;
    zkpaths_config_t tbase;     /* topic config values from this broker's configuration */

    /* the /config/changes listener */
    int64_t chg_last;           /* last processed notification sequence, -1 = none */
    int64_t chg_expire_ms;      /* notifications older than this are deleted */
    zop_t chg_op;               /* getChildren in flight (chg_busy) */
    bool chg_busy, chg_again;

    /* producer ids */
    adm_pid_t pid;
    bool pid_claiming;
    int pid_attempts;
    pidwait_t *pid_head, **pid_tail;

    /* requests waiting for the metadata cache */
    creq_t *waiting;
    struct event *poll_ev;
    struct event *chg_retry;    /* re-read /config/changes after a failed read */
};

static void maybe_free(badm_t *a);
static void poll_arm(badm_t *a);

/* ---- coordinator request plumbing ---- */

static void zop_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    (void)zk;
    zop_t *op = ctx;
    badm_t *a = op->a;
    a->refs--;
    op->fn(op, a->dead ? NULL : res);
    maybe_free(a);
}

static void zop_fail(zop_t *op, int rc)
{
    zkc_result_t r;
    memset(&r, 0, sizeof r);
    r.rc = rc;
    r.datalen = -1;
    op->fn(op, op->a->dead ? NULL : &r);
}

/* Issues `call` (which must pass zop_cb and op) with fn as the continuation; a request that
 * cannot be sent continues at once with its error. */
#define ZISSUE(op, fnp, call)                                                                      \
    do {                                                                                           \
        zop_t *op_ = (zop_t *)(op);                                                                \
        op_->fn = (fnp);                                                                           \
        zkc_t *zk = op_->a->b->zk;                                                                 \
        op_->a->refs++;                                                                            \
        int rc_ = zk ? (call) : ZCONNECTIONLOSS;                                                   \
        if (rc_ != 0) {                                                                            \
            op_->a->refs--;                                                                        \
            zop_fail(op_, rc_);                                                                    \
        }                                                                                          \
    } while (0)

static void maybe_free(badm_t *a)
{
    if (!a->dead || a->refs > 0)
        return;
    if (a->have_dcfg)
        bcfg_free(&a->dcfg);
    zkpaths_config_free(&a->tbase);
    free(a);
}

static const char *zerr_text(int rc)
{
    switch (rc) {
    case ZCONNECTIONLOSS: return "ConnectionLoss";
    case ZSESSIONEXPIRED: return "SessionExpired";
    case ZNONODE: return "NoNode";
    case ZNODEEXISTS: return "NodeExists";
    case ZBADVERSION: return "BadVersion";
    case ZNOAUTH: return "NoAuth";
    case ZOPERATIONTIMEOUT: return "OperationTimeout";
    default: return "coordinator error";
    }
}

static adm_bprops_t bprops(const badm_t *a)
{
    adm_bprops_t bp = {&a->b->cfg->effective, a->have_dcfg ? &a->dcfg.effective : NULL};
    return bp;
}

/* Topic.validate: 0, or KERR_INVALID_TOPIC_EXCEPTION with Kafka's message. */
static int topic_check(const char *t, size_t len, char *msg, size_t msglen)
{
    if (len == 0) {
        snprintf(msg, msglen, "Topic name is illegal, it can't be empty");
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    if ((len == 1 && t[0] == '.') || (len == 2 && t[0] == '.' && t[1] == '.')) {
        snprintf(msg, msglen, "Topic name cannot be \".\" or \"..\"");
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    if (len > 249) {
        snprintf(msg, msglen, "Topic name is illegal, it can't be longer than 249 characters, topic name: %.*s",
                 (int)len, t);
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    if (strlen(t) != len || !zkpaths_topic_valid(t)) {
        snprintf(msg, msglen, "Topic name \"%.*s\" is illegal, it contains a character other than ASCII "
                 "alphanumerics, '.', '_' and '-'", (int)len, t);
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    return 0;
}

/* A NUL-terminated copy of a request string from the arena ("" for null). */
static char *rstr(arena_t *ar, kp_str_t s)
{
    if (s.len < 0)
        return arena_strndup(ar, "", 0);
    return arena_strndup(ar, (const char *)s.p, (size_t)s.len);
}

static bool has_collision_chars(const char *t)
{
    return strchr(t, '.') || strchr(t, '_');
}

static bool collides(const char *x, const char *y)
{
    size_t n = strlen(x);
    if (strlen(y) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = x[i] == '.' ? '_' : x[i], b = y[i] == '.' ? '_' : y[i];
        if (a != b)
            return false;
    }
    return true;
}

/* ---- the live brokers with their racks (KafkaZkClient.getAllBrokersInCluster) ---- */

typedef struct brokers_s {
    ctrl_assign_broker_t *v;    /* rack strings owned */
    size_t n;
} brokers_t;

static void brokers_free(brokers_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((char *)l->v[i].rack);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Racks: 0 = none has one, 1 = all have one, -1 = mixed. */
static int brokers_racks(const brokers_t *l)
{
    size_t with = 0;
    for (size_t i = 0; i < l->n; i++)
        with += l->v[i].rack != NULL;
    return with == 0 ? 0 : with == l->n ? 1 : -1;
}

typedef void (*lb_fin_fn)(void *arg, int rc, brokers_t *l);

typedef struct lb_s {
    zop_t z;
    brokers_t l;
    size_t left;
    int rc;
    lb_fin_fn fin;
    void *arg;
} lb_t;

typedef struct lbi_s {
    zop_t z;
    lb_t *lb;
    size_t i;
} lbi_t;

static void lb_end(lb_t *lb)
{
    /* drop brokers whose registration vanished meanwhile (id -1) */
    size_t k = 0;
    for (size_t i = 0; i < lb->l.n; i++) {
        if (lb->l.v[i].id >= 0)
            lb->l.v[k++] = lb->l.v[i];
        else
            free((char *)lb->l.v[i].rack);
    }
    lb->l.n = k;
    lb_fin_fn fin = lb->fin;
    void *arg = lb->arg;
    int rc = lb->rc;
    brokers_t l = lb->l;
    free(lb);
    fin(arg, rc, &l);
    brokers_free(&l);
}

static void lbi_done(zop_t *z, const zkc_result_t *res)
{
    lbi_t *it = (lbi_t *)z;
    lb_t *lb = it->lb;
    ctrl_assign_broker_t *b = &lb->l.v[it->i];
    free(it);
    if (!res)
        lb->rc = ZCONNECTIONLOSS;
    else if (res->rc == ZNONODE)
        b->id = -1;
    else if (res->rc != ZOK)
        lb->rc = res->rc;
    else {
        zkpaths_broker_t reg;
        if (zkpaths_broker_decode(res->data, res->datalen > 0 ? (size_t)res->datalen : 0, &reg) == 0 && reg.rack)
            b->rack = xstrdup(reg.rack);
        zkpaths_broker_free(&reg);
    }
    if (--lb->left == 0)
        lb_end(lb);
}

static void lb_children(zop_t *z, const zkc_result_t *res)
{
    lb_t *lb = (lb_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE)) {
        lb->rc = res ? res->rc : ZCONNECTIONLOSS;
        return lb_end(lb);
    }
    size_t cnt = res->rc == ZOK && res->strings && res->strings->n > 0 ? (size_t)res->strings->n : 0;
    lb->l.v = xcalloc(cnt ? cnt : 1, sizeof *lb->l.v);
    for (size_t i = 0; i < cnt; i++) {
        int32_t id;
        if (zkpaths_parse_broker_id(res->strings->v[i], &id) == 0)
            lb->l.v[lb->l.n++] = (ctrl_assign_broker_t){id, NULL};
    }
    if (lb->l.n == 0)
        return lb_end(lb);
    lb->left = lb->l.n + 1;     /* + this frame, so that lb outlives the loop */
    size_t n = lb->l.n;
    for (size_t i = 0; i < n; i++) {
        lbi_t *it = xcalloc(1, sizeof *it);
        it->z.a = lb->z.a;
        it->lb = lb;
        it->i = i;
        char *p = zkpaths_broker(lb->l.v[i].id);
        ZISSUE(it, lbi_done, zkc_get_data(zk, p, NULL, zop_cb, it));
        free(p);
    }
    if (--lb->left == 0)
        lb_end(lb);
}

/* Reads /brokers/ids and every registration; fin gets ZOK and the brokers (borrowed for the
 * call), or an error. */
static void live_brokers(badm_t *a, lb_fin_fn fin, void *arg)
{
    lb_t *lb = xcalloc(1, sizeof *lb);
    lb->z.a = a;
    lb->fin = fin;
    lb->arg = arg;
    ZISSUE(lb, lb_children, zkc_get_children(zk, ZKPATHS_BROKER_IDS, NULL, zop_cb, lb));
}

/* Creates every missing ancestor of path (null data, NODEEXISTS ignored), as
 * KafkaZkClient.createRecursive does, then continues op with fn (rc of the last create). The
 * creates are pipelined: replies come in order, so each parent exists before its child. */
static void ensure_parents(zop_t *op, const char *path, zop_fn fn)
{
    char *tmp = xstrdup(path);
    char *last = strrchr(tmp, '/');
    if (!last || last == tmp) {
        free(tmp);
        op->fn = fn;
        return zop_fail(op, ZOK);
    }
    *last = '\0';
    for (char *s = strchr(tmp + 1, '/');; s = strchr(s + 1, '/')) {
        if (s)
            *s = '\0';
        zkc_create_t c = {.path = tmp, .data = NULL, .len = -1};
        if (!s) {
            ZISSUE(op, fn, zkc_create(zk, &c, zop_cb, op));
            break;
        }
        if (op->a->b->zk)
            zkc_create(op->a->b->zk, &c, NULL, NULL);
        *s = '/';
    }
    free(tmp);
}

/* Writes /config/<type>/<name> (setData, else create, creating /config/<type> if needed), as
 * KafkaZkClient.setOrCreateEntityConfigs. Used by create and alter. */
typedef struct cfgw_s {
    zop_t z;
    char *path;
    buf_t data;
    int tries;
    void (*fin)(void *arg, int rc);
    void *arg;
} cfgw_t;

static void cfgw_set(cfgw_t *w);

static void cfgw_end(cfgw_t *w, int rc)
{
    void (*fin)(void *, int) = w->fin;
    void *arg = w->arg;
    free(w->path);
    buf_free(&w->data);
    free(w);
    fin(arg, rc);
}

static void cfgw_parent_done(zop_t *op, const zkc_result_t *res)
{
    cfgw_t *w = (cfgw_t *)op;
    if (!res)
        return cfgw_end(w, ZCONNECTIONLOSS);
    if (res->rc != ZOK && res->rc != ZNODEEXISTS)
        return cfgw_end(w, res->rc);
    cfgw_set(w);
}

static void cfgw_create_done(zop_t *op, const zkc_result_t *res)
{
    cfgw_t *w = (cfgw_t *)op;
    if (!res)
        return cfgw_end(w, ZCONNECTIONLOSS);
    if (res->rc == ZNODEEXISTS && w->tries < 5)
        return cfgw_set(w);
    if (res->rc == ZNONODE && w->tries < 5)
        return ensure_parents(&w->z, w->path, cfgw_parent_done);
    cfgw_end(w, res->rc);
}

static void cfgw_set_done(zop_t *op, const zkc_result_t *res)
{
    cfgw_t *w = (cfgw_t *)op;
    if (!res)
        return cfgw_end(w, ZCONNECTIONLOSS);
    if (res->rc == ZNONODE) {
        zkc_create_t c = {.path = w->path, .data = w->data.data, .len = (int32_t)w->data.len};
        ZISSUE(w, cfgw_create_done, zkc_create(zk, &c, zop_cb, w));
        return;
    }
    cfgw_end(w, res->rc);
}

static void cfgw_set(cfgw_t *w)
{
    w->tries++;
    ZISSUE(w, cfgw_set_done, zkc_set_data(zk, w->path, w->data.data, (int32_t)w->data.len, -1, zop_cb, w));
}

static void config_write(badm_t *a, const char *type, const char *name, const zkpaths_config_t *c,
                         void (*fin)(void *, int), void *arg)
{
    cfgw_t *w = xcalloc(1, sizeof *w);
    w->z.a = a;
    w->path = zkpaths_config_entity(type, name);
    buf_init(&w->data);
    w->fin = fin;
    w->arg = arg;
    if (zkpaths_config_encode(c, &w->data)) {
        cfgw_end(w, ZBADARGUMENTS);
        return;
    }
    cfgw_set(w);
}

/* ---- creating a topic (AdminZkClient.createTopicWithAssignment) ---- */

typedef struct ct_s ct_t;
typedef void (*ct_fin_fn)(ct_t *op, int16_t err, const char *msg);

struct ct_s {
    zop_t z;
    char *topic;
    int32_t nparts;             /* -1: num.partitions */
    int32_t rf;                 /* -1: default.replication.factor */
    zkpaths_topic_t assign;     /* explicit (has_assign) or computed */
    bool has_assign;
    zkpaths_config_t cfg;
    bool validate_only;
    ct_fin_fn fin;
    void *arg;                  /* the caller's */
    badm_done_fn done;          /* badm_create_topic's caller */
    void *done_arg;
    int32_t out_nparts, out_rf; /* what was (or would be) created */
    bool parents_done;
    bool rack_safe;             /* RackAwareMode.Safe (auto-creation): mixed racks = no racks */
};

static void ct_finish(ct_t *op, int16_t err, const char *msg)
{
    if (err)
        LOG_I(SUB, "create topic %s: %s (%s)", op->topic, kp_err_name(err), msg ? msg : "");
    op->fin(op, err, msg);
    free(op->topic);
    zkpaths_topic_free(&op->assign);
    zkpaths_config_free(&op->cfg);
    free(op);
}

static void ct_zfail(ct_t *op, const zkc_result_t *res)
{
    char m[128];
    snprintf(m, sizeof m, "coordinator: %s", res ? zerr_text(res->rc) : "broker shutting down");
    ct_finish(op, KERR_UNKNOWN_SERVER_ERROR, m);
}

static void ct_check_deleting(ct_t *op);
static void ct_check_exists(zop_t *z, const zkc_result_t *res);
static void ct_write_config(ct_t *op);

static void ct_brokers(void *arg, int zrc, brokers_t *bl)
{
    ct_t *op = arg;
    if (zrc != ZOK || op->z.a->dead) {
        zkc_result_t r = {.rc = zrc};
        return ct_zfail(op, op->z.a->dead ? NULL : &r);
    }
    size_t nb = bl->n;
    const ctrl_assign_broker_t *br = bl->v;
    int racks = brokers_racks(bl);
    int rack_aware = op->rack_safe ? racks == 1 : racks != 0;
    broker_t *b = op->z.a->b;
    int32_t np = op->nparts == -1 ? b->cfg->num_partitions : op->nparts;
    int32_t rf = op->rf == -1 ? b->cfg->default_replication_factor : op->rf;
    if (np > ADM_MAX_PARTITIONS) {
        char m[160];
        snprintf(m, sizeof m, "Number of partitions %d is more than Gregor accepts for one topic (%d).", np,
                 ADM_MAX_PARTITIONS);
        return ct_finish(op, KERR_INVALID_PARTITIONS, m);
    }
    zkpaths_ilist_t *out = xcalloc(np > 0 ? (size_t)np : 1, sizeof *out);
    ctrl_assign_opts_t o = {.fixed_start_index = -1, .start_partition_id = 0,
                            .rand_start = (uint32_t)random(), .rand_shift = (uint32_t)random()};
    const char *msg = NULL;
    int rc = np > 0 && rf > 0 && (size_t)rf > nb ? CTRL_ASSIGN_BAD_RF
                                                  : ctrl_assign_replicas(br, nb, np, rf, &o, rack_aware, out, &msg);
    if (rc != CTRL_ASSIGN_OK) {
        free(out);
        char m[160];
        if (rc == CTRL_ASSIGN_BAD_RF && rf > 0) {
            snprintf(m, sizeof m, "Replication factor: %d larger than available brokers: %zu.", rf, nb);
            return ct_finish(op, KERR_INVALID_REPLICATION_FACTOR, m);
        }
        return ct_finish(op, rc == CTRL_ASSIGN_BAD_PARTITIONS ? KERR_INVALID_PARTITIONS
                             : rc == CTRL_ASSIGN_BAD_RF     ? KERR_INVALID_REPLICATION_FACTOR
                                                            : KERR_UNKNOWN_SERVER_ERROR,
                         msg);
    }
    op->assign.version = 2;
    op->assign.parts = xcalloc((size_t)np, sizeof *op->assign.parts);
    op->assign.n_parts = (size_t)np;
    for (int32_t p = 0; p < np; p++) {
        op->assign.parts[p].partition = p;
        op->assign.parts[p].replicas = out[p];
    }
    free(out);
    op->out_nparts = np;
    op->out_rf = rf;
    ct_check_deleting(op);
}

static void ct_deleting(zop_t *z, const zkc_result_t *res)
{
    ct_t *op = (ct_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE))
        return ct_zfail(op, res);
    if (res->rc == ZOK) {
        char m[300];
        snprintf(m, sizeof m, "Topic '%s' is marked for deletion.", op->topic);
        return ct_finish(op, KERR_TOPIC_ALREADY_EXISTS, m);
    }
    char *p = zkpaths_topic(op->topic);
    ZISSUE(op, ct_check_exists, zkc_exists(zk, p, NULL, zop_cb, op));
    free(p);
}

static void ct_check_deleting(ct_t *op)
{
    char *p = zkpaths_delete_topic(op->topic);
    ZISSUE(op, ct_deleting, zkc_exists(zk, p, NULL, zop_cb, op));
    free(p);
}

/* Explicit assignments: AdminZkClient.validateTopicCreate's checks. 0 or a Kafka error. */
static int ct_validate_assign(ct_t *op, char *m, size_t mlen)
{
    const zkpaths_topic_t *t = &op->assign;
    bool same = t->n_parts > 0;
    for (size_t i = 1; i < t->n_parts; i++)
        if (t->parts[i].replicas.n != t->parts[0].replicas.n)
            same = false;
    if (!same) {
        snprintf(m, mlen, "All partitions should have the same number of replicas");
        return KERR_INVALID_REPLICA_ASSIGNMENT;
    }
    for (size_t i = 0; i < t->n_parts; i++) {
        const zkpaths_ilist_t *r = &t->parts[i].replicas;
        for (size_t x = 0; x < r->n; x++)
            for (size_t y = x + 1; y < r->n; y++)
                if (r->v[x] == r->v[y]) {
                    snprintf(m, mlen, "Duplicate replica assignment found: partition %d has broker %d twice",
                             t->parts[i].partition, r->v[x]);
                    return KERR_INVALID_REPLICA_ASSIGNMENT;
                }
    }
    for (size_t i = 0; i < t->n_parts; i++)
        if (t->parts[i].partition != (int32_t)i) {
            snprintf(m, mlen, "partitions should be a consecutive 0-based integer sequence");
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
    return 0;
}

static void ct_all_topics(zop_t *z, const zkc_result_t *res)
{
    ct_t *op = (ct_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE))
        return ct_zfail(op, res);
    char m[1024];
    size_t o = 0;
    m[0] = '\0';
    for (int32_t i = 0; res->strings && i < res->strings->n; i++) {
        const char *other = res->strings->v[i];
        if (strcmp(other, op->topic) == 0) {
            snprintf(m, sizeof m, "Topic '%s' already exists.", op->topic);
            return ct_finish(op, KERR_TOPIC_ALREADY_EXISTS, m);
        }
        if (collides(op->topic, other) && o < sizeof m)
            o += (size_t)snprintf(m + o, sizeof m - o, "%s%s", o ? ", " : "", other);
    }
    if (o) {
        char full[1400];
        snprintf(full, sizeof full, "Topic '%s' collides with existing topics: %s", op->topic, m);
        return ct_finish(op, KERR_INVALID_TOPIC_EXCEPTION, full);
    }
    ct_write_config(op);
}

static void ct_check_exists(zop_t *z, const zkc_result_t *res)
{
    ct_t *op = (ct_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE))
        return ct_zfail(op, res);
    if (res->rc == ZOK) {
        char m[300];
        snprintf(m, sizeof m, "Topic '%s' already exists.", op->topic);
        return ct_finish(op, KERR_TOPIC_ALREADY_EXISTS, m);
    }
    if (has_collision_chars(op->topic)) {
        ZISSUE(op, ct_all_topics, zkc_get_children(zk, ZKPATHS_TOPICS, NULL, zop_cb, op));
        return;
    }
    ct_write_config(op);
}

static void ct_config_written(void *arg, int rc);

static void ct_parents(zop_t *z, const zkc_result_t *res)
{
    ct_t *op = (ct_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNODEEXISTS))
        return ct_zfail(op, res);
    op->parents_done = true;
    ct_config_written(op, ZOK);
}

static void ct_created(zop_t *z, const zkc_result_t *res)
{
    ct_t *op = (ct_t *)z;
    if (res && res->rc == ZNONODE && !op->parents_done) {
        char *p = zkpaths_topic(op->topic);
        ensure_parents(&op->z, p, ct_parents);
        free(p);
        return;
    }
    if (res && res->rc == ZNODEEXISTS) {
        char m[300];
        snprintf(m, sizeof m, "Topic '%s' already exists.", op->topic);
        return ct_finish(op, KERR_TOPIC_ALREADY_EXISTS, m);
    }
    if (!res || res->rc != ZOK)
        return ct_zfail(op, res);
    LOG_I(SUB, "created topic %s: %d partitions, replication factor %d", op->topic, op->out_nparts, op->out_rf);
    ct_finish(op, 0, NULL);
}

static void ct_config_written(void *arg, int rc)
{
    ct_t *op = arg;
    if (rc != ZOK) {
        zkc_result_t r = {.rc = rc};
        return ct_zfail(op, op->z.a->dead ? NULL : &r);
    }
    buf_t data;
    buf_init(&data);
    if (zkpaths_topic_encode(&op->assign, &data)) {
        buf_free(&data);
        return ct_finish(op, KERR_UNKNOWN_SERVER_ERROR, "cannot encode the assignment");
    }
    char *p = zkpaths_topic(op->topic);
    zkc_create_t c = {.path = p, .data = data.data, .len = (int32_t)data.len};
    ZISSUE(op, ct_created, zkc_create(zk, &c, zop_cb, op));
    free(p);
    buf_free(&data);
}

static void ct_write_config(ct_t *op)
{
    char m[512];
    if (op->has_assign) {
        int e = ct_validate_assign(op, m, sizeof m);
        if (e)
            return ct_finish(op, (int16_t)e, m);
    }
    if (op->validate_only)
        return ct_finish(op, 0, NULL);
    /* the config first, then the assignment (the controller acts on the latter) */
    config_write(op->z.a, "topics", op->topic, &op->cfg, ct_config_written, op);
}

/* Starts a create. Takes ownership of op (allocated by the caller with topic, nparts, rf,
 * cfg, assign/has_assign, validate_only, fin set). */
static void ct_start(badm_t *a, ct_t *op)
{
    op->z.a = a;
    char m[1400];
    int e = topic_check(op->topic, strlen(op->topic), m, sizeof m);
    if (e)
        return ct_finish(op, (int16_t)e, m);
    int v = adm_tcfg_validate(&op->cfg, m, sizeof m);
    if (v == ADM_TCFG_NULL)
        return ct_finish(op, KERR_INVALID_REQUEST, m);
    if (v != ADM_TCFG_OK)
        return ct_finish(op, KERR_INVALID_CONFIG, m);
    if (op->has_assign) {
        if (op->nparts != -1 || op->rf != -1)
            return ct_finish(op, KERR_INVALID_REQUEST, "Both numPartitions or replicationFactor and "
                             "replicasAssignments were set. Both cannot be used at the same time.");
        op->out_nparts = (int32_t)op->assign.n_parts;
        op->out_rf = op->assign.n_parts ? (int32_t)op->assign.parts[0].replicas.n : -1;
        op->assign.version = 2;
        return ct_check_deleting(op);
    }
    live_brokers(a, ct_brokers, op);
}

static void ct_user_fin(ct_t *op, int16_t err, const char *msg)
{
    op->done(op->done_arg, err, msg);   /* also after badm_free: callers free their arg here */
}

void badm_create_topic(badm_t *a, const char *topic, int32_t partitions, int16_t replication_factor,
                       const char *const *config, size_t nconfig, badm_done_fn done, void *arg)
{
    ct_t *op = xcalloc(1, sizeof *op);
    op->topic = xstrdup(topic);
    op->nparts = partitions <= 0 ? -1 : partitions;
    op->rf = replication_factor <= 0 ? -1 : replication_factor;
    for (size_t i = 0; i < nconfig; i++)
        zkpaths_config_set(&op->cfg, config[2 * i], config[2 * i + 1] ? config[2 * i + 1] : "");
    op->fin = ct_user_fin;
    op->rack_safe = true;
    op->done = done;
    op->done_arg = arg;
    ct_start(a, op);
}

/* ---- requests answered once every topic is done (and, for some, known to the cache) ---- */

typedef struct rtopic_s {
    creq_t *r;
    const char *name;           /* from the request arena */
    kp_str_t wire;              /* the name as sent (answered as sent) */
    int16_t err;
    char *msg;                  /* heap, or NULL */
    bool started, waiting;
    int32_t nparts, rf;         /* created (or total after CreatePartitions) */
    zkpaths_config_t cfg;       /* CreateTopics: the configs asked for (v5 answer) */
    int8_t rtype;               /* Describe/AlterConfigs: resource type */
    adm_centry_t *ents;         /* DescribeConfigs: entries (request arena) */
    size_t nents;
} rtopic_t;

struct creq_s {
    badm_t *a;
    bsrv_ctx_t *ctx;
    int key, version;
    rtopic_t *t;
    size_t n;
    int pending;
    int32_t timeout_ms;
    bool validate_only, include_syn;
    int64_t deadline;
    creq_t *next;
    ct_t **ops;                 /* CreateTopics: creates run one after the other, as Kafka's */
    size_t nops, opi;
    bool launching, relaunch;
};

static void rt_set(rtopic_t *t, int16_t err, const char *msg)
{
    t->err = err;
    free(t->msg);
    t->msg = msg ? xstrdup(msg) : NULL;
}

static creq_t *creq_new(badm_t *a, bsrv_ctx_t *ctx, const kp_request_t *req, int32_t n)
{
    creq_t *r = xcalloc(1, sizeof *r);
    r->a = a;
    r->ctx = ctx;
    r->key = req->hdr.api_key;
    r->version = req->hdr.api_version;
    r->n = n > 0 ? (size_t)n : 0;
    r->t = xcalloc(r->n ? r->n : 1, sizeof *r->t);
    for (size_t i = 0; i < r->n; i++)
        r->t[i].r = r;
    r->pending = 1;     /* released by creq_launched */
    return r;
}

static void creq_free(creq_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->t[i].msg);
        zkpaths_config_free(&r->t[i].cfg);
    }
    free(r->t);
    free(r->ops);
    free(r);
}

static kp_str_t astr(arena_t *ar, const char *s)
{
    if (!s)
        return KP_STR_NULL;
    return kp_str(arena_strndup(ar, s, strlen(s)));
}

/* Marks duplicates (second and later occurrences and the first) with err/msg. */
static void mark_dups(creq_t *r, int16_t err, const char *msg)
{
    hmap_t seen;
    hmap_init(&seen);
    for (size_t i = 0; i < r->n; i++) {
        rtopic_t *first = hmap_gets(&seen, r->t[i].name);
        if (first) {
            rt_set(first, err, msg);
            rt_set(&r->t[i], err, msg);
            first->started = r->t[i].started = true;   /* not to be started */
        } else {
            hmap_puts(&seen, r->t[i].name, &r->t[i]);
        }
    }
    hmap_fini(&seen, NULL);
}

static void respond(creq_t *r);

static void creq_unlink(creq_t *r)
{
    for (creq_t **pp = &r->a->waiting; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            return;
        }
}

/* Kafka's tryComplete of DelayedCreatePartitions / DelayedDeleteTopics for one topic. */
static bool topic_ready(badm_t *a, const creq_t *r, const rtopic_t *t)
{
    if (!a->b->meta)
        return false;
    if (r->key == KP_DELETE_TOPICS)
        return bmeta_partition_count(a->b->meta, t->name) < 0;
    for (int32_t p = 0; p < t->nparts; p++) {
        int32_t leader = -1, epoch = -1;
        if (bmeta_leader(a->b->meta, t->name, p, &leader, &epoch) != 0 || leader < 0)
            return false;
    }
    return true;
}

/* Checks a waiting request; answers it if complete or expired. Returns true if answered. */
static bool creq_check(creq_t *r, int64_t now, bool force)
{
    badm_t *a = r->a;
    bool all = true;
    for (size_t i = 0; i < r->n; i++) {
        rtopic_t *t = &r->t[i];
        if (!t->waiting)
            continue;
        if (!a->dead && topic_ready(a, r, t))
            t->waiting = false;
        else
            all = false;
    }
    if (!all && !force && now < r->deadline)
        return false;
    for (size_t i = 0; i < r->n; i++)
        if (r->t[i].waiting) {
            r->t[i].waiting = false;
            rt_set(&r->t[i], KERR_REQUEST_TIMED_OUT, NULL);
        }
    respond(r);
    return true;
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    badm_t *a = arg;
    int64_t now = broker_mono_ms();
    creq_t *r = a->waiting;
    while (r) {
        creq_t *next = r->next;
        if (creq_check(r, now, false)) {
            creq_unlink(r);
            creq_free(r);
        }
        r = next;
    }
    poll_arm(a);
}

static void poll_arm(badm_t *a)
{
    if (!a->waiting || !a->poll_ev || evtimer_pending(a->poll_ev, NULL))
        return;
    struct timeval tv = {0, POLL_MS * 1000};
    evtimer_add(a->poll_ev, &tv);
}

/* Every topic has its first outcome: answer now, or wait for the metadata cache. */
static void creq_phase2(creq_t *r)
{
    badm_t *a = r->a;
    bool waits = r->key == KP_CREATE_TOPICS || r->key == KP_CREATE_PARTITIONS || r->key == KP_DELETE_TOPICS;
    bool any_ok = false;
    for (size_t i = 0; i < r->n; i++)
        if (r->t[i].err == 0)
            any_ok = true;
    if (!waits) {
        respond(r);
        creq_free(r);
        return;
    }
    if (r->timeout_ms <= 0 || r->validate_only || !any_ok || a->dead) {
        for (size_t i = 0; i < r->n; i++)
            if (r->t[i].err == 0 && !r->validate_only)
                rt_set(&r->t[i], KERR_REQUEST_TIMED_OUT, NULL);
        respond(r);
        creq_free(r);
        return;
    }
    for (size_t i = 0; i < r->n; i++)
        r->t[i].waiting = r->t[i].err == 0;
    r->deadline = broker_mono_ms() + r->timeout_ms;
    if (creq_check(r, broker_mono_ms(), false)) {
        creq_free(r);
        return;
    }
    r->next = a->waiting;
    a->waiting = r;
    poll_arm(a);
}

static void creq_one_done(creq_t *r)
{
    if (--r->pending == 0)
        creq_phase2(r);
}

static void creq_launched(creq_t *r)
{
    creq_one_done(r);
}

/* ---- responses ---- */

static void fill_cfg_entries(arena_t *ar, const creq_t *r, const rtopic_t *t,
                             kp_DescribeConfigsResponse_DescribeConfigsResult *res)
{
    res->Configs.n = (int32_t)t->nents;
    res->Configs.v = kp_new_array(ar, &kp_DescribeConfigsResponse_DescribeConfigsResourceResult_schema,
                                  (int32_t)t->nents);
    for (size_t j = 0; j < t->nents; j++) {
        const adm_centry_t *e = &t->ents[j];
        kp_DescribeConfigsResponse_DescribeConfigsResourceResult *c = &res->Configs.v[j];
        c->Name = astr(ar, e->name);
        c->Value = astr(ar, e->value);
        c->ReadOnly = e->read_only;
        c->IsDefault = e->is_default;
        c->ConfigSource = e->source;
        c->IsSensitive = e->sensitive;
        size_t ns = r->include_syn ? e->nsyn : 0;
        c->Synonyms.n = (int32_t)ns;
        c->Synonyms.v = kp_new_array(ar, &kp_DescribeConfigsResponse_DescribeConfigsSynonym_schema, (int32_t)ns);
        for (size_t s = 0; s < ns; s++) {
            c->Synonyms.v[s].Name = astr(ar, e->syn[s].name);
            c->Synonyms.v[s].Value = astr(ar, e->syn[s].value);
            c->Synonyms.v[s].Source = e->syn[s].source;
        }
    }
}

static void respond(creq_t *r)
{
    arena_t *ar = bsrv_ctx_arena(r->ctx);
    badm_t *a = r->a;
    int32_t n = (int32_t)r->n;
    switch (r->key) {
    case KP_CREATE_TOPICS: {
        kp_CreateTopicsResponse *resp = kp_new(ar, &kp_CreateTopicsResponse_schema);
        resp->Topics.n = n;
        resp->Topics.v = kp_new_array(ar, &kp_CreateTopicsResponse_CreatableTopicResult_schema, n);
        for (int32_t i = 0; i < n; i++) {
            rtopic_t *t = &r->t[i];
            kp_CreateTopicsResponse_CreatableTopicResult *o = &resp->Topics.v[i];
            o->Name = t->wire;
            o->ErrorCode = t->err;
            o->ErrorMessage = astr(ar, t->msg);
            if (r->version >= 5 && (t->err == 0 || t->err == KERR_REQUEST_TIMED_OUT) && t->nparts > 0) {
                o->NumPartitions = t->nparts;
                o->ReplicationFactor = (int16_t)t->rf;
                adm_bprops_t bp = bprops(a);
                adm_centry_t *ents;
                size_t ne = adm_tcfg_describe(&bp, &a->tbase, &t->cfg, NULL, 0, ar, &ents);
                o->Configs.n = (int32_t)ne;
                o->Configs.v = kp_new_array(ar, &kp_CreateTopicsResponse_CreatableTopicConfigs_schema, (int32_t)ne);
                for (size_t j = 0; j < ne; j++) {
                    o->Configs.v[j].Name = astr(ar, ents[j].name);
                    o->Configs.v[j].Value = astr(ar, ents[j].value);
                    o->Configs.v[j].ReadOnly = ents[j].read_only;
                    o->Configs.v[j].ConfigSource = ents[j].source;
                    o->Configs.v[j].IsSensitive = ents[j].sensitive;
                }
            }
        }
        bsrv_respond(r->ctx, resp);
        break;
    }
    case KP_DELETE_TOPICS: {
        kp_DeleteTopicsResponse *resp = kp_new(ar, &kp_DeleteTopicsResponse_schema);
        resp->Responses.n = n;
        resp->Responses.v = kp_new_array(ar, &kp_DeleteTopicsResponse_DeletableTopicResult_schema, n);
        for (int32_t i = 0; i < n; i++) {
            resp->Responses.v[i].Name = r->t[i].wire;
            resp->Responses.v[i].ErrorCode = r->t[i].err;
        }
        bsrv_respond(r->ctx, resp);
        break;
    }
    case KP_CREATE_PARTITIONS: {
        kp_CreatePartitionsResponse *resp = kp_new(ar, &kp_CreatePartitionsResponse_schema);
        resp->Results.n = n;
        resp->Results.v = kp_new_array(ar, &kp_CreatePartitionsResponse_CreatePartitionsTopicResult_schema, n);
        for (int32_t i = 0; i < n; i++) {
            resp->Results.v[i].Name = r->t[i].wire;
            resp->Results.v[i].ErrorCode = r->t[i].err;
            resp->Results.v[i].ErrorMessage = astr(ar, r->t[i].msg);
        }
        bsrv_respond(r->ctx, resp);
        break;
    }
    case KP_DESCRIBE_CONFIGS: {
        kp_DescribeConfigsResponse *resp = kp_new(ar, &kp_DescribeConfigsResponse_schema);
        resp->Results.n = n;
        resp->Results.v = kp_new_array(ar, &kp_DescribeConfigsResponse_DescribeConfigsResult_schema, n);
        for (int32_t i = 0; i < n; i++) {
            rtopic_t *t = &r->t[i];
            kp_DescribeConfigsResponse_DescribeConfigsResult *o = &resp->Results.v[i];
            o->ErrorCode = t->err;
            o->ErrorMessage = astr(ar, t->msg);
            o->ResourceType = t->rtype;
            o->ResourceName = t->wire;
            if (t->err == 0)
                fill_cfg_entries(ar, r, t, o);
        }
        bsrv_respond(r->ctx, resp);
        break;
    }
    case KP_ALTER_CONFIGS: {
        kp_AlterConfigsResponse *resp = kp_new(ar, &kp_AlterConfigsResponse_schema);
        resp->Responses.n = n;
        resp->Responses.v = kp_new_array(ar, &kp_AlterConfigsResponse_AlterConfigsResourceResponse_schema, n);
        for (int32_t i = 0; i < n; i++) {
            resp->Responses.v[i].ErrorCode = r->t[i].err;
            resp->Responses.v[i].ErrorMessage = astr(ar, r->t[i].msg);
            resp->Responses.v[i].ResourceType = r->t[i].rtype;
            resp->Responses.v[i].ResourceName = r->t[i].wire;
        }
        bsrv_respond(r->ctx, resp);
        break;
    }
    default:
        bsrv_close(r->ctx);
        break;
    }
    r->ctx = NULL;
}

/* ---- CreateTopics ---- */

/* Starts the next create of a CreateTopics request (iteratively, not recursively, when
 * creates finish at once). */
static void creq_next_ct(creq_t *r)
{
    if (r->launching) {
        r->relaunch = true;
        return;
    }
    r->launching = true;
    do {
        r->relaunch = false;
        if (r->opi < r->nops) {
            ct_t *op = r->ops[r->opi++];
            ct_start(r->a, op);
        }
    } while (r->relaunch);
    r->launching = false;
}

static void creq_ct_fin(ct_t *op, int16_t err, const char *msg)
{
    rtopic_t *t = op->arg;
    rt_set(t, err, msg);
    if (err == 0) {
        t->nparts = op->out_nparts;
        t->rf = op->out_rf;
    }
    creq_t *r = t->r;
    creq_next_ct(r);
    creq_one_done(r);
}

static int cmp_passign(const void *x, const void *y)
{
    const zkpaths_passign_t *a = x, *b = y;
    return a->partition < b->partition ? -1 : a->partition > b->partition;
}

static void launch_create_topics(bsrv_ctx_t *ctx, const kp_request_t *req, badm_t *a)
{
    const kp_CreateTopicsRequest *rq = req->body;
    arena_t *ar = bsrv_ctx_arena(ctx);
    creq_t *r = creq_new(a, ctx, req, rq->Topics.n);
    r->ops = xcalloc(r->n ? r->n : 1, sizeof *r->ops);
    r->timeout_ms = rq->TimeoutMs;
    r->validate_only = req->hdr.api_version >= 1 && rq->ValidateOnly;
    for (size_t i = 0; i < r->n; i++) {
        r->t[i].name = rstr(ar, rq->Topics.v[i].Name);
        r->t[i].wire = rq->Topics.v[i].Name;
    }
    mark_dups(r, KERR_INVALID_REQUEST, "Found multiple entries for this topic.");
    for (size_t i = 0; i < r->n; i++) {
        rtopic_t *t = &r->t[i];
        if (t->started)
            continue;
        t->started = true;
        const kp_CreateTopicsRequest_CreatableTopic *ct = &rq->Topics.v[i];
        char m0[1400];
        int e0 = topic_check(t->name, ct->Name.len > 0 ? (size_t)ct->Name.len : 0, m0, sizeof m0);
        if (e0) {   /* here, where a NUL inside the name can still be seen */
            rt_set(t, (int16_t)e0, m0);
            continue;
        }
        ct_t *op = xcalloc(1, sizeof *op);
        op->topic = xstrndup((const char *)ct->Name.p, ct->Name.len > 0 ? (size_t)ct->Name.len : 0);
        op->nparts = ct->NumPartitions;
        op->rf = ct->ReplicationFactor;
        op->validate_only = r->validate_only;
        op->fin = creq_ct_fin;
        op->arg = t;
        const char *nullkey = NULL;
        for (int32_t c = 0; c < ct->Configs.n; c++) {
            char *k = rstr(ar, ct->Configs.v[c].Name);
            if (ct->Configs.v[c].Value.len < 0) {
                nullkey = k;
                break;
            }
            char *v = rstr(ar, ct->Configs.v[c].Value);
            zkpaths_config_set(&op->cfg, k, v);
            zkpaths_config_set(&t->cfg, k, v);
        }
        if (ct->Assignments.n > 0) {
            op->has_assign = true;
            op->assign.parts = xcalloc((size_t)ct->Assignments.n, sizeof *op->assign.parts);
            for (int32_t p = 0; p < ct->Assignments.n; p++) {
                const kp_CreateTopicsRequest_CreatableReplicaAssignment *as = &ct->Assignments.v[p];
                zkpaths_passign_t *dst = NULL;
                for (size_t q = 0; q < op->assign.n_parts; q++)
                    if (op->assign.parts[q].partition == as->PartitionIndex) {
                        dst = &op->assign.parts[q];
                        zkpaths_ilist_free(&dst->replicas);
                    }
                if (!dst)
                    dst = &op->assign.parts[op->assign.n_parts++];
                dst->partition = as->PartitionIndex;
                int32_t nb = as->BrokerIds.n > 0 ? as->BrokerIds.n : 0;
                dst->replicas.v = xcalloc(nb ? (size_t)nb : 1, sizeof(int32_t));
                dst->replicas.n = (size_t)nb;
                for (int32_t x = 0; x < nb; x++)
                    dst->replicas.v[x] = as->BrokerIds.v[x];
            }
            qsort(op->assign.parts, op->assign.n_parts, sizeof *op->assign.parts, cmp_passign);
        }
        r->pending++;
        if (nullkey) {
            char m[400];
            snprintf(m, sizeof m, "Null value not supported for topic configs : %s", nullkey);
            op->z.a = a;
            ct_finish(op, KERR_INVALID_REQUEST, m);
            continue;
        }
        r->ops[r->nops++] = op;
    }
    creq_next_ct(r);
    creq_launched(r);
}

/* ---- DeleteTopics (AdminZkClient.deleteTopic) ---- */

typedef struct dt_s {
    zop_t z;
    rtopic_t *t;
    bool parents_done;
} dt_t;

static void dt_end(dt_t *op, int16_t err, const char *msg)
{
    rtopic_t *t = op->t;
    free(op);
    rt_set(t, err, msg);
    creq_one_done(t->r);
}

static void dt_exists(zop_t *z, const zkc_result_t *res);

static void dt_parents(zop_t *z, const zkc_result_t *res)
{
    dt_t *op = (dt_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNODEEXISTS))
        return dt_end(op, KERR_UNKNOWN_SERVER_ERROR, NULL);
    op->parents_done = true;
    zkc_result_t r = {.rc = ZOK};
    dt_exists(z, &r);
}

static void dt_created(zop_t *z, const zkc_result_t *res)
{
    dt_t *op = (dt_t *)z;
    if (!res)
        return dt_end(op, KERR_UNKNOWN_SERVER_ERROR, NULL);
    if (res->rc == ZNONODE && !op->parents_done) {
        char *p = zkpaths_delete_topic(op->t->name);
        ensure_parents(&op->z, p, dt_parents);
        free(p);
        return;
    }
    if (res->rc == ZOK || res->rc == ZNODEEXISTS) {   /* already marked: still wait for it */
        LOG_I(SUB, "topic %s marked for deletion", op->t->name);
        return dt_end(op, 0, NULL);
    }
    dt_end(op, KERR_UNKNOWN_SERVER_ERROR, NULL);
}

static void dt_exists(zop_t *z, const zkc_result_t *res)
{
    dt_t *op = (dt_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE))
        return dt_end(op, KERR_UNKNOWN_SERVER_ERROR, NULL);
    if (res->rc == ZNONODE)
        return dt_end(op, KERR_UNKNOWN_TOPIC_OR_PARTITION, NULL);
    char *p = zkpaths_delete_topic(op->t->name);
    zkc_create_t c = {.path = p, .data = NULL, .len = -1};
    ZISSUE(op, dt_created, zkc_create(zk, &c, zop_cb, op));
    free(p);
}

static void launch_delete_topics(bsrv_ctx_t *ctx, const kp_request_t *req, badm_t *a)
{
    const kp_DeleteTopicsRequest *rq = req->body;
    arena_t *ar = bsrv_ctx_arena(ctx);
    creq_t *r = creq_new(a, ctx, req, rq->TopicNames.n);
    r->timeout_ms = rq->TimeoutMs;
    for (size_t i = 0; i < r->n; i++) {
        rtopic_t *t = &r->t[i];
        t->name = rstr(ar, rq->TopicNames.v[i]);
        t->wire = rq->TopicNames.v[i];
        if (!a->b->cfg->delete_topic_enable) {
            rt_set(t, r->version < 3 ? KERR_INVALID_REQUEST : KERR_TOPIC_DELETION_DISABLED, NULL);
            continue;
        }
        if ((size_t)rq->TopicNames.v[i].len != strlen(t->name) || !zkpaths_topic_valid(t->name)) {
            rt_set(t, KERR_UNKNOWN_TOPIC_OR_PARTITION, NULL);
            continue;
        }
        dt_t *op = xcalloc(1, sizeof *op);
        op->z.a = a;
        op->t = t;
        r->pending++;
        char *p = zkpaths_topic(t->name);
        ZISSUE(op, dt_exists, zkc_exists(zk, p, NULL, zop_cb, op));
        free(p);
    }
    creq_launched(r);
}

/* ---- CreatePartitions (AdminManager.createPartitions, AdminZkClient.addPartitions) ---- */

typedef struct cp_s {
    zop_t z;
    rtopic_t *t;
    int32_t count;
    bool has_assign;
    zkpaths_ilist_t *assign;    /* count - existing entries once known; as sent */
    size_t nassign;
    brokers_t brokers;
    int tries;
} cp_t;

static void cp_end(cp_t *op, int16_t err, const char *msg)
{
    rtopic_t *t = op->t;
    for (size_t i = 0; i < op->nassign; i++)
        zkpaths_ilist_free(&op->assign[i]);
    free(op->assign);
    brokers_free(&op->brokers);
    free(op);
    if (err)
        LOG_I(SUB, "create partitions %s: %s (%s)", t->name, kp_err_name(err), msg ? msg : "");
    rt_set(t, err, msg);
    creq_one_done(t->r);
}

static void cp_zfail(cp_t *op, const zkc_result_t *res)
{
    char m[128];
    snprintf(m, sizeof m, "coordinator: %s", res ? zerr_text(res->rc) : "broker shutting down");
    cp_end(op, KERR_UNKNOWN_SERVER_ERROR, m);
}

static void cp_read(cp_t *op);

static void cp_written(zop_t *z, const zkc_result_t *res)
{
    cp_t *op = (cp_t *)z;
    if (res && res->rc == ZBADVERSION && op->tries < 5)
        return cp_read(op);
    if (!res || res->rc != ZOK)
        return cp_zfail(op, res);
    LOG_I(SUB, "topic %s now has %d partitions", op->t->name, op->count);
    cp_end(op, 0, NULL);
}

static bool has_broker(const cp_t *op, int32_t id)
{
    for (size_t i = 0; i < op->brokers.n; i++)
        if (op->brokers.v[i].id == id)
            return true;
    return false;
}

static void cp_got_topic(zop_t *z, const zkc_result_t *res)
{
    cp_t *op = (cp_t *)z;
    char m[600];
    if (res && res->rc == ZNONODE) {
        snprintf(m, sizeof m, "The topic '%s' does not exist.", op->t->name);
        return cp_end(op, KERR_UNKNOWN_TOPIC_OR_PARTITION, m);
    }
    if (!res || res->rc != ZOK)
        return cp_zfail(op, res);
    zkpaths_topic_t cur;
    if (zkpaths_topic_decode(res->data, res->datalen > 0 ? (size_t)res->datalen : 0, &cur) || cur.n_parts == 0) {
        zkpaths_topic_free(&cur);
        snprintf(m, sizeof m, "The topic '%s' does not exist.", op->t->name);
        return cp_end(op, KERR_UNKNOWN_TOPIC_OR_PARTITION, m);
    }
    int32_t version = res->stat ? res->stat->version : -1;
    int32_t old = (int32_t)cur.n_parts;
    int32_t inc = op->count - old;
    int16_t err = 0;
    if (inc < 0) {
        snprintf(m, sizeof m, "Topic currently has %d partitions, which is higher than the requested %d.", old,
                 op->count);
        err = KERR_INVALID_PARTITIONS;
    } else if (inc == 0) {
        snprintf(m, sizeof m, "Topic already has %d partitions.", old);
        err = KERR_INVALID_PARTITIONS;
    }
    if (!err && op->count > ADM_MAX_PARTITIONS) {
        snprintf(m, sizeof m, "Number of partitions %d is more than Gregor accepts for one topic (%d).", op->count,
                 ADM_MAX_PARTITIONS);
        err = KERR_INVALID_PARTITIONS;
    }
    const zkpaths_passign_t *p0 = zkpaths_topic_part(&cur, 0);
    if (!err && !p0) {
        snprintf(m, sizeof m, "Unexpected existing replica assignment for topic '%s', partition id 0 is missing.",
                 op->t->name);
        err = KERR_UNKNOWN_SERVER_ERROR;
    }
    size_t rf = p0 ? p0->replicas.n : 0;
    if (!err && op->has_assign) {
        /* unknown brokers, then the count, then each partition's replicas */
        size_t o = 0;
        m[0] = '\0';
        for (size_t i = 0; i < op->nassign; i++)
            for (size_t j = 0; j < op->assign[i].n; j++)
                if (!has_broker(op, op->assign[i].v[j]) && o < 400)
                    o += (size_t)snprintf(m + o, sizeof m - o, "%s%d", o ? ", " : "", op->assign[i].v[j]);
        if (o) {
            char full[sizeof m];
            snprintf(full, sizeof full, "Unknown broker(s) in replica assignment: %.500s.", m);
            memcpy(m, full, sizeof m);
            err = KERR_INVALID_REPLICA_ASSIGNMENT;
        } else if ((int32_t)op->nassign != inc) {
            snprintf(m, sizeof m, "Increasing the number of partitions by %d but %zu assignments provided.", inc,
                     op->nassign);
            err = KERR_INVALID_REPLICA_ASSIGNMENT;
        }
        for (size_t i = 0; !err && i < op->nassign; i++) {
            const zkpaths_ilist_t *l = &op->assign[i];
            int32_t pid = old + (int32_t)i;
            if (l->n == 0) {
                snprintf(m, sizeof m, "Cannot have replication factor of 0 for partition id %d.", pid);
                err = KERR_INVALID_REPLICA_ASSIGNMENT;
            }
            for (size_t x = 0; !err && x < l->n; x++)
                for (size_t y = x + 1; !err && y < l->n; y++)
                    if (l->v[x] == l->v[y]) {
                        snprintf(m, sizeof m, "Duplicate brokers not allowed in replica assignment: for partition id %d.",
                                 pid);
                        err = KERR_INVALID_REPLICA_ASSIGNMENT;
                    }
            if (!err && l->n != rf) {
                snprintf(m, sizeof m, "Inconsistent replication factor between partitions, partition 0 has %zu while "
                         "partitions [%d] have replication factors [%zu], respectively.", rf, pid, l->n);
                err = KERR_INVALID_REPLICA_ASSIGNMENT;
            }
        }
    }
    zkpaths_ilist_t *add = NULL;
    if (!err && !op->has_assign) {
        add = xcalloc((size_t)inc, sizeof *add);
        ctrl_assign_opts_t o = {.fixed_start_index = ctrl_assign_added_start_index(op->brokers.v, op->brokers.n,
                                                                                   p0->replicas.v[0]),
                                .start_partition_id = old};
        const char *am = NULL;
        int rc = brokers_racks(&op->brokers) < 0
                     ? CTRL_ASSIGN_RACK_MISMATCH
                     : ctrl_assign_replicas(op->brokers.v, op->brokers.n, inc, (int32_t)rf, &o,
                                            brokers_racks(&op->brokers) == 1, add, &am);
        if (rc == CTRL_ASSIGN_RACK_MISMATCH)
            am = "Not all brokers have rack information. Add --disable-rack-aware in command line to make "
                 "replica assignment without rack information.";
        if (rc != CTRL_ASSIGN_OK) {
            free(add);
            add = NULL;
            if (rc == CTRL_ASSIGN_BAD_RF)
                snprintf(m, sizeof m, "Replication factor: %zu larger than available brokers: %zu.", rf,
                         op->brokers.n);
            else
                snprintf(m, sizeof m, "%s", am ? am : "cannot assign replicas");
            err = rc == CTRL_ASSIGN_BAD_RF           ? KERR_INVALID_REPLICATION_FACTOR
                  : rc == CTRL_ASSIGN_RACK_MISMATCH ? KERR_UNKNOWN_SERVER_ERROR
                                                    : KERR_INVALID_PARTITIONS;
        }
    } else if (!err) {
        add = op->assign;
        op->assign = NULL;
        op->nassign = 0;
    }
    if (err) {
        zkpaths_topic_free(&cur);
        return cp_end(op, err, m);
    }
    op->t->nparts = op->count;
    if (op->t->r->validate_only) {
        for (int32_t i = 0; i < inc; i++)
            zkpaths_ilist_free(&add[i]);
        free(add);
        zkpaths_topic_free(&cur);
        return cp_end(op, 0, NULL);
    }
    cur.parts = xrealloc(cur.parts, (size_t)op->count * sizeof *cur.parts);
    for (int32_t i = 0; i < inc; i++) {
        zkpaths_passign_t *pa = &cur.parts[old + i];
        memset(pa, 0, sizeof *pa);
        pa->partition = old + i;
        pa->replicas = add[i];
    }
    free(add);
    cur.n_parts = (size_t)op->count;
    cur.version = 2;
    free(cur.topic_id);
    cur.topic_id = NULL;
    buf_t data;
    buf_init(&data);
    int enc = zkpaths_topic_encode(&cur, &data);
    zkpaths_topic_free(&cur);
    if (enc) {
        buf_free(&data);
        return cp_end(op, KERR_UNKNOWN_SERVER_ERROR, "cannot encode the assignment");
    }
    char *p = zkpaths_topic(op->t->name);
    ZISSUE(op, cp_written, zkc_set_data(zk, p, data.data, (int32_t)data.len, version, zop_cb, op));
    free(p);
    buf_free(&data);
}

static void cp_read(cp_t *op)
{
    op->tries++;
    char *p = zkpaths_topic(op->t->name);
    ZISSUE(op, cp_got_topic, zkc_get_data(zk, p, NULL, zop_cb, op));
    free(p);
}

static void cp_brokers(void *arg, int zrc, brokers_t *bl)
{
    cp_t *op = arg;
    if (zrc != ZOK || op->z.a->dead) {
        zkc_result_t r = {.rc = zrc};
        return cp_zfail(op, op->z.a->dead ? NULL : &r);
    }
    op->brokers = *bl;      /* taken over */
    bl->v = NULL;
    bl->n = 0;
    cp_read(op);
}

static void cp_reassign(zop_t *z, const zkc_result_t *res)
{
    cp_t *op = (cp_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE))
        return cp_zfail(op, res);
    if (res->rc == ZOK)
        return cp_end(op, KERR_REASSIGNMENT_IN_PROGRESS, "A partition reassignment is in progress.");
    live_brokers(op->z.a, cp_brokers, op);
}

static void cp_deleting(zop_t *z, const zkc_result_t *res)
{
    cp_t *op = (cp_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE))
        return cp_zfail(op, res);
    if (res->rc == ZOK)
        return cp_end(op, KERR_INVALID_TOPIC_EXCEPTION, "The topic is queued for deletion.");
    ZISSUE(op, cp_reassign, zkc_exists(zk, ZKPATHS_REASSIGN, NULL, zop_cb, op));
}

static void launch_create_partitions(bsrv_ctx_t *ctx, const kp_request_t *req, badm_t *a)
{
    const kp_CreatePartitionsRequest *rq = req->body;
    arena_t *ar = bsrv_ctx_arena(ctx);
    creq_t *r = creq_new(a, ctx, req, rq->Topics.n);
    r->timeout_ms = rq->TimeoutMs;
    r->validate_only = rq->ValidateOnly;
    for (size_t i = 0; i < r->n; i++) {
        r->t[i].name = rstr(ar, rq->Topics.v[i].Name);
        r->t[i].wire = rq->Topics.v[i].Name;
    }
    mark_dups(r, KERR_INVALID_REQUEST, "Duplicate topic in request.");
    for (size_t i = 0; i < r->n; i++) {
        rtopic_t *t = &r->t[i];
        if (t->started)
            continue;
        t->started = true;
        const kp_CreatePartitionsRequest_CreatePartitionsTopic *ct = &rq->Topics.v[i];
        if ((size_t)ct->Name.len != strlen(t->name) || !zkpaths_topic_valid(t->name)) {
            char m[400];
            snprintf(m, sizeof m, "The topic '%s' does not exist.", t->name);
            rt_set(t, KERR_UNKNOWN_TOPIC_OR_PARTITION, m);
            continue;
        }
        cp_t *op = xcalloc(1, sizeof *op);
        op->z.a = a;
        op->t = t;
        op->count = ct->Count;
        if (ct->Assignments.n >= 0) {
            op->has_assign = true;
            op->nassign = (size_t)ct->Assignments.n;
            op->assign = xcalloc(op->nassign ? op->nassign : 1, sizeof *op->assign);
            for (size_t p = 0; p < op->nassign; p++) {
                int32_t nb = ct->Assignments.v[p].BrokerIds.n > 0 ? ct->Assignments.v[p].BrokerIds.n : 0;
                op->assign[p].v = xcalloc(nb ? (size_t)nb : 1, sizeof(int32_t));
                op->assign[p].n = (size_t)nb;
                for (int32_t x = 0; x < nb; x++)
                    op->assign[p].v[x] = ct->Assignments.v[p].BrokerIds.v[x];
            }
        }
        r->pending++;
        char *p = zkpaths_delete_topic(t->name);
        ZISSUE(op, cp_deleting, zkc_exists(zk, p, NULL, zop_cb, op));
        free(p);
    }
    creq_launched(r);
}


/* ---- only the controller creates and deletes topics (KafkaApis: controller.isActive) ---- */

typedef void (*launch_fn)(bsrv_ctx_t *ctx, const kp_request_t *req, badm_t *a);

typedef struct cc_s {
    zop_t z;
    bsrv_ctx_t *ctx;
    const kp_request_t *req;
    launch_fn launch;
} cc_t;

/* Every topic of the request gets NOT_CONTROLLER. */
static void answer_not_controller(badm_t *a, bsrv_ctx_t *ctx, const kp_request_t *req)
{
    int32_t n = 0;
    const kp_str_t *name0 = NULL;
    size_t stride = 0;
    switch (req->hdr.api_key) {
    case KP_CREATE_TOPICS: {
        const kp_CreateTopicsRequest *rq = req->body;
        n = rq->Topics.n;
        name0 = n > 0 ? &rq->Topics.v[0].Name : NULL;
        stride = sizeof rq->Topics.v[0];
        break;
    }
    case KP_DELETE_TOPICS: {
        const kp_DeleteTopicsRequest *rq = req->body;
        n = rq->TopicNames.n;
        name0 = n > 0 ? &rq->TopicNames.v[0] : NULL;
        stride = sizeof rq->TopicNames.v[0];
        break;
    }
    default: {
        const kp_CreatePartitionsRequest *rq = req->body;
        n = rq->Topics.n;
        name0 = n > 0 ? &rq->Topics.v[0].Name : NULL;
        stride = sizeof rq->Topics.v[0];
        break;
    }
    }
    creq_t *r = creq_new(a, ctx, req, n);
    arena_t *ar = bsrv_ctx_arena(ctx);
    for (size_t i = 0; i < r->n; i++) {
        const kp_str_t *nm = (const kp_str_t *)((const char *)name0 + i * stride);
        r->t[i].wire = *nm;
        r->t[i].name = rstr(ar, *nm);
        rt_set(&r->t[i], KERR_NOT_CONTROLLER, NULL);
    }
    creq_launched(r);
}

static void cc_done(zop_t *z, const zkc_result_t *res)
{
    cc_t *op = (cc_t *)z;
    badm_t *a = op->z.a;
    bsrv_ctx_t *ctx = op->ctx;
    const kp_request_t *req = op->req;
    launch_fn launch = op->launch;
    free(op);
    int32_t id = -1;
    if (res && res->rc == ZOK &&
        zkpaths_controller_decode(res->data, res->datalen > 0 ? (size_t)res->datalen : 0, &id) == 0 &&
        id == a->b->id && !a->dead) {
        launch(ctx, req, a);
        return;
    }
    answer_not_controller(a, ctx, req);
}

static void controller_only(bsrv_ctx_t *ctx, const kp_request_t *req, badm_t *a, launch_fn launch)
{
    cc_t *op = xcalloc(1, sizeof *op);
    op->z.a = a;
    op->ctx = ctx;
    op->req = req;
    op->launch = launch;
    ZISSUE(op, cc_done, zkc_get_data(zk, ZKPATHS_CONTROLLER, NULL, zop_cb, op));
}

static void h_create_topics(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    controller_only(ctx, req, arg, launch_create_topics);
}

static void h_delete_topics(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    controller_only(ctx, req, arg, launch_delete_topics);
}

static void h_create_partitions(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    controller_only(ctx, req, arg, launch_create_partitions);
}

/* ---- DescribeConfigs ---- */

enum { RT_UNKNOWN = 0, RT_TOPIC = 2, RT_GROUP = 3, RT_BROKER = 4, RT_BROKER_LOGGER = 8 };

static const char *rtype_name(int8_t t)
{
    switch (t) {
    case RT_TOPIC: return "TOPIC";
    case RT_GROUP: return "GROUP";
    case RT_BROKER: return "BROKER";
    case RT_BROKER_LOGGER: return "BROKER_LOGGER";
    case 1: return "ANY";
    default: return "UNKNOWN";
    }
}

typedef struct dc_s {
    zop_t z;
    rtopic_t *t;
    const char *const *names;   /* request arena; NULL = all */
    size_t nnames;
    bool exists;
} dc_t;

static void dc_end(dc_t *op, int16_t err, const char *msg)
{
    rtopic_t *t = op->t;
    free(op);
    rt_set(t, err, msg);
    creq_one_done(t->r);
}

static void dc_config(zop_t *z, const zkc_result_t *res)
{
    dc_t *op = (dc_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE))
        return dc_end(op, KERR_UNKNOWN_SERVER_ERROR, NULL);
    if (!op->exists)
        return dc_end(op, KERR_UNKNOWN_TOPIC_OR_PARTITION, NULL);
    zkpaths_config_t ov;
    if (res->rc != ZOK ||
        zkpaths_config_decode(res->data, res->datalen > 0 ? (size_t)res->datalen : 0, &ov))
        memset(&ov, 0, sizeof ov);
    badm_t *a = op->z.a;
    adm_bprops_t bp = bprops(a);
    op->t->nents = adm_tcfg_describe(&bp, &a->tbase, &ov, op->names, op->nnames,
                                     bsrv_ctx_arena(op->t->r->ctx), &op->t->ents);
    zkpaths_config_free(&ov);
    dc_end(op, 0, NULL);
}

static void dc_exists(zop_t *z, const zkc_result_t *res)
{
    dc_t *op = (dc_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE))
        return dc_end(op, KERR_UNKNOWN_SERVER_ERROR, NULL);
    op->exists = res->rc == ZOK;
    char *p = zkpaths_config_entity("topics", op->t->name);
    ZISSUE(op, dc_config, zkc_get_data(zk, p, NULL, zop_cb, op));
    free(p);
}

/* Broker resources: "" (dynamic defaults: none) or this broker's id. */
static int broker_resource(badm_t *a, const char *name, bool describe, char *m, size_t mlen)
{
    if (!name[0])
        return 0;
    char *end;
    long id = strtol(name, &end, 10);
    if (*end || end == name) {
        snprintf(m, mlen, "Broker id must be an integer, but it is: %s", name);
        return KERR_INVALID_REQUEST;
    }
    if (id != a->b->id) {
        snprintf(m, mlen, "Unexpected broker id, expected %d%s, but received %s", a->b->id,
                 describe ? " or empty string" : "", name);
        return KERR_INVALID_REQUEST;
    }
    return 0;
}

static void h_describe_configs(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    badm_t *a = arg;
    const kp_DescribeConfigsRequest *rq = req->body;
    arena_t *ar = bsrv_ctx_arena(ctx);
    creq_t *r = creq_new(a, ctx, req, rq->Resources.n);
    r->include_syn = req->hdr.api_version >= 1 && rq->IncludeSynonyms;
    for (size_t i = 0; i < r->n; i++) {
        rtopic_t *t = &r->t[i];
        const kp_DescribeConfigsRequest_DescribeConfigsResource *rs = &rq->Resources.v[i];
        t->name = rstr(ar, rs->ResourceName);
        t->wire = rs->ResourceName;
        t->rtype = rs->ResourceType;
        const char **names = NULL;
        size_t nn = 0;
        if (rs->ConfigurationKeys.n >= 0) {
            nn = (size_t)rs->ConfigurationKeys.n;
            names = arena_alloc(ar, (nn ? nn : 1) * sizeof *names);
            for (size_t k = 0; k < nn; k++)
                names[k] = rstr(ar, rs->ConfigurationKeys.v[k]);
        }
        char m[1400];
        if (t->rtype == RT_TOPIC) {
            int e = topic_check(t->name, rs->ResourceName.len > 0 ? (size_t)rs->ResourceName.len : 0, m, sizeof m);
            if (e) {
                rt_set(t, (int16_t)e, m);
                continue;
            }
            dc_t *op = xcalloc(1, sizeof *op);
            op->z.a = a;
            op->t = t;
            op->names = names;
            op->nnames = nn;
            r->pending++;
            char *p = zkpaths_topic(t->name);
            ZISSUE(op, dc_exists, zkc_exists(zk, p, NULL, zop_cb, op));
            free(p);
        } else if (t->rtype == RT_BROKER) {
            int e = broker_resource(a, t->name, true, m, sizeof m);
            if (e) {
                rt_set(t, (int16_t)e, m);
                continue;
            }
            if (!t->name[0]) {
                t->nents = 0;
                continue;
            }
            adm_bprops_t bp = bprops(a);
            t->nents = adm_bcfg_describe(&bp, names, nn, ar, &t->ents);
        } else {
            snprintf(m, sizeof m, "Unsupported resource type: %s", rtype_name(t->rtype));
            rt_set(t, KERR_INVALID_REQUEST, m);
        }
    }
    creq_launched(r);
}

/* ---- AlterConfigs (AdminManager.alterTopicConfigs, AdminZkClient.changeTopicConfig) ---- */

typedef struct ac_s {
    zop_t z;
    rtopic_t *t;
    zkpaths_config_t cfg;
    bool validate_only;
    int tries;
} ac_t;

static void ac_end(ac_t *op, int16_t err, const char *msg)
{
    rtopic_t *t = op->t;
    zkpaths_config_free(&op->cfg);
    free(op);
    if (err)
        LOG_I(SUB, "alter configs of %s: %s (%s)", t->name, kp_err_name(err), msg ? msg : "");
    rt_set(t, err, msg);
    creq_one_done(t->r);
}

static void ac_notify(ac_t *op);

static void ac_parent(zop_t *z, const zkc_result_t *res)
{
    ac_t *op = (ac_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNODEEXISTS))
        return ac_end(op, KERR_UNKNOWN_SERVER_ERROR, NULL);
    ac_notify(op);
}

static void ac_notified(zop_t *z, const zkc_result_t *res)
{
    ac_t *op = (ac_t *)z;
    if (res && res->rc == ZNONODE && op->tries < 3) {
        char *p = zkpaths_config_change_prefix();
        ensure_parents(&op->z, p, ac_parent);
        free(p);
        return;
    }
    if (!res || res->rc != ZOK)
        return ac_end(op, KERR_UNKNOWN_SERVER_ERROR, NULL);
    LOG_I(SUB, "updated the configuration of topic %s (%s)", op->t->name, res->path ? res->path : "");
    ac_end(op, 0, NULL);
}

static void ac_notify(ac_t *op)
{
    op->tries++;
    buf_t data;
    buf_init(&data);
    zkpaths_config_change_encode(2, "topics", op->t->name, &data);
    char *p = zkpaths_config_change_prefix();
    zkc_create_t c = {.path = p, .data = data.data, .len = (int32_t)data.len, .mode = ZK_PERSISTENT_SEQUENTIAL};
    ZISSUE(op, ac_notified, zkc_create(zk, &c, zop_cb, op));
    free(p);
    buf_free(&data);
}

static void ac_written(void *arg, int rc)
{
    ac_t *op = arg;
    if (rc != ZOK)
        return ac_end(op, KERR_UNKNOWN_SERVER_ERROR, NULL);
    ac_notify(op);
}

static void ac_exists(zop_t *z, const zkc_result_t *res)
{
    ac_t *op = (ac_t *)z;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE))
        return ac_end(op, KERR_UNKNOWN_SERVER_ERROR, NULL);
    char m[1600];
    if (res->rc == ZNONODE) {
        snprintf(m, sizeof m, "Topic '%s' does not exist.", op->t->name);
        return ac_end(op, KERR_UNKNOWN_TOPIC_OR_PARTITION, m);
    }
    char why[1400];
    int v = adm_tcfg_validate(&op->cfg, why, sizeof why);
    if (v == ADM_TCFG_BADVALUE || v == ADM_TCFG_NULL) {
        snprintf(m, sizeof m, "Invalid config value for resource ConfigResource(type=TOPIC, name='%s'): %s",
                 op->t->name, why);
        return ac_end(op, KERR_INVALID_REQUEST, m);
    }
    if (v != ADM_TCFG_OK)
        return ac_end(op, KERR_INVALID_CONFIG, why);
    if (op->validate_only)
        return ac_end(op, 0, NULL);
    config_write(op->z.a, "topics", op->t->name, &op->cfg, ac_written, op);
}

static void h_alter_configs(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    badm_t *a = arg;
    const kp_AlterConfigsRequest *rq = req->body;
    arena_t *ar = bsrv_ctx_arena(ctx);
    creq_t *r = creq_new(a, ctx, req, rq->Resources.n);
    for (size_t i = 0; i < r->n; i++) {
        rtopic_t *t = &r->t[i];
        const kp_AlterConfigsRequest_AlterConfigsResource *rs = &rq->Resources.v[i];
        t->name = rstr(ar, rs->ResourceName);
        t->wire = rs->ResourceName;
        t->rtype = rs->ResourceType;
        char m[1400];
        if (t->rtype == RT_BROKER) {
            int e = broker_resource(a, t->name, false, m, sizeof m);
            rt_set(t, KERR_INVALID_REQUEST, e ? m : "dynamic broker configs are not supported");
            continue;
        }
        if (t->rtype != RT_TOPIC) {
            snprintf(m, sizeof m, "AlterConfigs is only supported for topics and brokers, but resource type is %s",
                     rtype_name(t->rtype));
            rt_set(t, KERR_INVALID_REQUEST, m);
            continue;
        }
        int e = topic_check(t->name, rs->ResourceName.len > 0 ? (size_t)rs->ResourceName.len : 0, m, sizeof m);
        if (e) {
            rt_set(t, (int16_t)e, m);
            continue;
        }
        ac_t *op = xcalloc(1, sizeof *op);
        op->z.a = a;
        op->t = t;
        op->validate_only = rq->ValidateOnly;
        const char *nullkey = NULL;
        for (int32_t c = 0; c < rs->Configs.n; c++) {
            char *k = rstr(ar, rs->Configs.v[c].Name);
            if (rs->Configs.v[c].Value.len < 0) {
                nullkey = k;
                continue;
            }
            zkpaths_config_set(&op->cfg, k, rstr(ar, rs->Configs.v[c].Value));
        }
        r->pending++;
        if (nullkey) {
            snprintf(m, sizeof m, "Invalid config value for resource ConfigResource(type=TOPIC, name='%s'): "
                     "Null value not supported for topic configs : %s", t->name, nullkey);
            ac_end(op, KERR_INVALID_REQUEST, m);
            continue;
        }
        char *p = zkpaths_topic(t->name);
        ZISSUE(op, ac_exists, zkc_exists(zk, p, NULL, zop_cb, op));
        free(p);
    }
    creq_launched(r);
}

/* ---- InitProducerId (TransactionCoordinator.handleInitProducerId without transactions) ---- */

struct pidwait_s {
    bsrv_ctx_t *ctx;
    pidwait_t *next;
};

typedef struct pc_s {
    zop_t z;
    zkpaths_pid_block_t block;
} pc_t;

static void pid_answer(bsrv_ctx_t *ctx, int16_t err, int64_t id)
{
    kp_InitProducerIdResponse *resp = kp_new(bsrv_ctx_arena(ctx), &kp_InitProducerIdResponse_schema);
    resp->ErrorCode = err;
    resp->ProducerId = err ? -1 : id;
    resp->ProducerEpoch = err ? -1 : 0;
    bsrv_respond(ctx, resp);
}

static void pid_claim(badm_t *a);

/* Answers waiters while ids last; claims another block if some are left waiting. */
static void pid_serve(badm_t *a, int16_t fail)
{
    while (a->pid_head) {
        int64_t id = -1;
        if (!fail && adm_pid_take(&a->pid, &id))
            break;
        pidwait_t *w = a->pid_head;
        a->pid_head = w->next;
        if (!a->pid_head)
            a->pid_tail = &a->pid_head;
        pid_answer(w->ctx, fail, id);
        free(w);
    }
    if (a->pid_head && !a->dead)
        pid_claim(a);
}

static void pc_end(pc_t *op, int16_t fail)
{
    badm_t *a = op->z.a;
    free(op);
    a->pid_claiming = false;
    if (!fail)
        a->pid_attempts = 0;
    pid_serve(a, fail);
}

static void pc_read(pc_t *op);

static void pc_written(zop_t *z, const zkc_result_t *res)
{
    pc_t *op = (pc_t *)z;
    badm_t *a = op->z.a;
    if (res && (res->rc == ZBADVERSION || res->rc == ZNODEEXISTS) && ++a->pid_attempts < 20)
        return pc_read(op);   /* another broker claimed a block meanwhile */
    if (!res || res->rc != ZOK) {
        LOG_W(SUB, "could not claim a producer id block: %s", res ? zerr_text(res->rc) : "shutting down");
        return pc_end(op, KERR_COORDINATOR_NOT_AVAILABLE);
    }
    LOG_I(SUB, "acquired producer id block %" PRId64 "..%" PRId64, op->block.block_start, op->block.block_end);
    adm_pid_set_block(&a->pid, &op->block);
    pc_end(op, 0);
}

static void pc_got(zop_t *z, const zkc_result_t *res)
{
    pc_t *op = (pc_t *)z;
    badm_t *a = op->z.a;
    if (!res || (res->rc != ZOK && res->rc != ZNONODE))
        return pc_end(op, KERR_COORDINATOR_NOT_AVAILABLE);
    bool missing = res->rc == ZNONODE;
    int rc = adm_pid_next_block(missing ? NULL : res->data, !missing && res->datalen > 0 ? (size_t)res->datalen : 0,
                                a->b->id, &op->block);
    if (rc) {
        LOG_E(SUB, "%s holds %s: cannot hand out producer ids", ZKPATHS_PRODUCER_ID_BLOCK,
              rc == -2 ? "the last block (producer ids exhausted)" : "no valid producer id block");
        return pc_end(op, KERR_UNKNOWN_SERVER_ERROR);
    }
    buf_t data;
    buf_init(&data);
    zkpaths_pid_block_encode(&op->block, &data);
    if (missing) {
        zkc_create_t c = {.path = ZKPATHS_PRODUCER_ID_BLOCK, .data = data.data, .len = (int32_t)data.len};
        ZISSUE(op, pc_written, zkc_create(zk, &c, zop_cb, op));
    } else {
        int32_t ver = res->stat ? res->stat->version : -1;
        ZISSUE(op, pc_written, zkc_set_data(zk, ZKPATHS_PRODUCER_ID_BLOCK, data.data, (int32_t)data.len, ver,
                                            zop_cb, op));
    }
    buf_free(&data);
}

static void pc_read(pc_t *op)
{
    ZISSUE(op, pc_got, zkc_get_data(zk, ZKPATHS_PRODUCER_ID_BLOCK, NULL, zop_cb, op));
}

static void pid_claim(badm_t *a)
{
    if (a->pid_claiming || a->dead)
        return;
    a->pid_claiming = true;
    pc_t *op = xcalloc(1, sizeof *op);
    op->z.a = a;
    pc_read(op);
}

static void h_init_producer_id(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    badm_t *a = arg;
    const kp_InitProducerIdRequest *rq = req->body;
    if (rq->TransactionalId.len >= 0) {
        /* No transaction coordinator: a transactional id is answered as Kafka answers while
         * its coordinator is not available (clients retry, then give up). */
        pid_answer(ctx, rq->TransactionalId.len == 0 ? KERR_INVALID_REQUEST : KERR_COORDINATOR_NOT_AVAILABLE, -1);
        return;
    }
    int64_t id;
    if (!a->pid_head && adm_pid_take(&a->pid, &id) == 0) {
        pid_answer(ctx, 0, id);
        return;
    }
    pidwait_t *w = xcalloc(1, sizeof *w);
    w->ctx = ctx;
    *a->pid_tail = w;
    a->pid_tail = &w->next;
    pid_claim(a);
}

/* ---- the config change listener (ZkConfigManager) ---- */

typedef struct cn_s {
    zop_t z;
    char *path;
    bool fetch;                 /* a new notification: read and apply it */
} cn_t;

static void chg_read(badm_t *a);

static void chg_watcher(zkc_t *zk, const zkc_event_t *ev, void *ctx)
{
    if (!ev->path)
        return;                 /* session events: badm_session_renewed re-arms */
    badm_t *a = ctx;
    if (a->dead || zk != a->b->zk)
        return;
    if (ev->type == ZK_EVENT_CHILD || ev->type == ZK_EVENT_CREATED)
        chg_read(a);
}

static void cn_done(zop_t *z, const zkc_result_t *res)
{
    cn_t *op = (cn_t *)z;
    badm_t *a = op->z.a;
    if (res && res->rc == ZOK) {
        if (op->fetch) {
            char *topic = NULL;
            int kind = adm_chg_parse(res->data, res->datalen > 0 ? (size_t)res->datalen : 0, &topic);
            if (kind == ADM_CHG_TOPIC) {
                LOG_I(SUB, "config change %s: topic %s", op->path, topic);
                if (a->b->rep)
                    brep_topic_config_changed(a->b->rep, topic);
            } else if (kind == ADM_CHG_BAD) {
                LOG_W(SUB, "config change %s: not a notification Kafka writes; ignored", op->path);
            }
            free(topic);
        }
        if (res->stat && broker_now_ms() - res->stat->ctime > a->chg_expire_ms && a->b->zk) {
            LOG_D(SUB, "purging config change notification %s", op->path);
            zkc_delete(a->b->zk, op->path, -1, NULL, NULL);
        }
    }
    free(op->path);
    free(op);
}

static void chg_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    badm_t *a = arg;
    if (!a->dead)
        chg_read(a);
}

static void chg_retry_later(badm_t *a)
{
    struct timeval tv = {1, 0};
    if (a->chg_retry)
        evtimer_add(a->chg_retry, &tv);
}

static void chg_children(zop_t *z, const zkc_result_t *res)
{
    badm_t *a = z->a;
    a->chg_busy = false;
    if (!res)
        return;
    if (res->op == ZOO_EXISTS_OP) {
        if (res->rc == ZOK)
            chg_read(a);    /* created meanwhile */
        else if (res->rc != ZNONODE)
            chg_retry_later(a);
        return;             /* ZNONODE: the exist-watch tells when it is created */
    }
    if (res->rc == ZNONODE) {
        a->chg_busy = true;
        ZISSUE(&a->chg_op, chg_children, zkc_exists(zk, ZKPATHS_CONFIG_CHANGES,
                                                    &(zkc_watch_t){chg_watcher, a}, zop_cb, &a->chg_op));
        return;
    }
    if (res->rc != ZOK) {
        LOG_W(SUB, "reading %s: %s (retrying)", ZKPATHS_CONFIG_CHANGES, zerr_text(res->rc));
        chg_retry_later(a);
        return;
    }
    size_t n = res->strings && res->strings->n > 0 ? (size_t)res->strings->n : 0;
    adm_chg_item_t *items = xcalloc(n ? n : 1, sizeof *items);
    n = adm_chg_sort((const char *const *)(res->strings ? res->strings->v : NULL), n, items);
    int64_t last = a->chg_last;
    for (size_t i = 0; i < n; i++) {
        cn_t *op = xcalloc(1, sizeof *op);
        op->z.a = a;
        op->path = xasprintf("%s/%s", ZKPATHS_CONFIG_CHANGES, items[i].child);
        op->fetch = items[i].seq > last;
        if (op->fetch) {
            a->chg_last = items[i].seq;
            ZISSUE(op, cn_done, zkc_get_data(zk, op->path, NULL, zop_cb, op));
        } else {
            ZISSUE(op, cn_done, zkc_exists(zk, op->path, NULL, zop_cb, op));
        }
    }
    free(items);
    if (a->chg_again) {
        a->chg_again = false;
        chg_read(a);
    }
}

static void chg_read(badm_t *a)
{
    if (a->chg_busy) {
        a->chg_again = true;
        return;
    }
    a->chg_busy = true;
    a->chg_op.a = a;
    ZISSUE(&a->chg_op, chg_children, zkc_get_children(zk, ZKPATHS_CONFIG_CHANGES,
                                                      &(zkc_watch_t){chg_watcher, a}, zop_cb, &a->chg_op));
}

/* ---- module ---- */

badm_t *badm_new(broker_t *b)
{
    badm_t *a = xcalloc(1, sizeof *a);
    a->b = b;
    a->chg_last = -1;
    a->chg_expire_ms = ADM_CHG_EXPIRE_MS;
    a->pid_tail = &a->pid_head;
    char err[256];
    bcfg_src_t src = {.text = "zookeeper.connect=127.0.0.1:2181\n", .hostname = "localhost"};
    if (bcfg_load(&a->dcfg, &src, err, sizeof err) == 0)
        a->have_dcfg = true;
    else
        LOG_W(SUB, "cannot compute the default broker configuration: %s", err);
    adm_tcfg_broker_values(b->cfg, &a->tbase);
    if (b->base) {
        a->poll_ev = evtimer_new(b->base, poll_cb, a);
        a->chg_retry = evtimer_new(b->base, chg_retry_cb, a);
    }
    if (b->srv) {
        bsrv_set_handler(b->srv, KP_CREATE_TOPICS, h_create_topics, a);
        bsrv_set_handler(b->srv, KP_DELETE_TOPICS, h_delete_topics, a);
        bsrv_set_handler(b->srv, KP_CREATE_PARTITIONS, h_create_partitions, a);
        bsrv_set_handler(b->srv, KP_DESCRIBE_CONFIGS, h_describe_configs, a);
        bsrv_set_handler(b->srv, KP_ALTER_CONFIGS, h_alter_configs, a);
        bsrv_set_handler(b->srv, KP_INIT_PRODUCER_ID, h_init_producer_id, a);
    }
    if (b->zk) {
        chg_read(a);
        pid_claim(a);   /* as Kafka's ProducerIdManager does at start-up */
    }
    return a;
}

static void rmw_done(zop_t *z, const zkc_result_t *res)
{
    (void)res;
    free(z);
}

void badm_free(badm_t *a)
{
    if (!a)
        return;
    if (a->b->srv) {
        static const int keys[] = {KP_CREATE_TOPICS, KP_DELETE_TOPICS, KP_CREATE_PARTITIONS, KP_DESCRIBE_CONFIGS,
                                   KP_ALTER_CONFIGS, KP_INIT_PRODUCER_ID};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            bsrv_set_handler(a->b->srv, keys[i], NULL, NULL);
    }
    a->dead = true;
    /* requests waiting for the metadata cache: answered now */
    while (a->waiting) {
        creq_t *r = a->waiting;
        a->waiting = r->next;
        creq_check(r, broker_mono_ms(), true);
        creq_free(r);
    }
    if (a->poll_ev)
        event_free(a->poll_ev);
    a->poll_ev = NULL;
    if (a->chg_retry)
        event_free(a->chg_retry);
    a->chg_retry = NULL;
    pid_serve(a, KERR_COORDINATOR_NOT_AVAILABLE);
    /* drop our watcher before the session goes (the removal holds a reference) */
    if (a->b->zk && zkc_state_alive(zkc_state(a->b->zk))) {
        zop_t *op = xcalloc(1, sizeof *op);
        op->a = a;
        a->dead = false;    /* let the op be issued normally */
        ZISSUE(op, rmw_done, zkc_remove_watches(zk, ZKPATHS_CONFIG_CHANGES, ZK_WATCHER_ANY,
                                                &(zkc_watch_t){chg_watcher, a}, true, zop_cb, op));
        a->dead = true;
    }
    maybe_free(a);
}

void badm_session_renewed(badm_t *a)
{
    if (a->dead)
        return;
    a->chg_busy = false;    /* the old handle's request, if any, is gone */
    chg_read(a);
}

int64_t badm_last_config_change(const badm_t *a)
{
    return a->chg_last;
}

void badm_set_config_change_expiry(badm_t *a, int64_t ms)
{
    a->chg_expire_ms = ms;
}
