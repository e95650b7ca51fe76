/* ctrl_ctx.c — controller context and step output (see ctrl_ctx.h). */
#include "broker/ctrl_ctx.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

const char *ctrl_pstate_name(enum ctrl_pstate s)
{
    static const char *const n[] = {"NonExistentPartition", "NewPartition", "OnlinePartition", "OfflinePartition"};
    return (unsigned)s < 4 ? n[s] : "?";
}

const char *ctrl_rstate_name(enum ctrl_rstate s)
{
    static const char *const n[] = {"NonExistentReplica", "NewReplica", "OnlineReplica", "OfflineReplica",
                                    "ReplicaDeletionStarted", "ReplicaDeletionSuccessful",
                                    "ReplicaDeletionIneligible"};
    return (unsigned)s < 7 ? n[s] : "?";
}

static void ilist_copy(zkpaths_ilist_t *dst, const zkpaths_ilist_t *src)
{
    dst->n = src->n;
    dst->v = src->n ? xmemdup(src->v, src->n * sizeof *src->v) : NULL;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static void ilist_add_sorted(zkpaths_ilist_t *l, int32_t v)
{
    if (zkpaths_ilist_has(l, v))
        return;
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = v;
    qsort(l->v, l->n, sizeof *l->v, cmp_i32);
}

/* ---- context ---- */

void ctrl_ctx_init(ctrl_ctx_t *ctx, int32_t controller_id, int32_t epoch, int32_t epoch_zk_version)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->controller_id = controller_id;
    ctx->epoch = epoch;
    ctx->epoch_zk_version = epoch_zk_version;
    ctx->delete_enable = true;
    hmap_init(&ctx->topics);
}

static void part_fini(ctrl_part_t *p)
{
    zkpaths_ilist_free(&p->replicas);
    zkpaths_ilist_free(&p->adding);
    zkpaths_ilist_free(&p->removing);
    zkpaths_ilist_free(&p->lai.isr);
    free(p->rs);
}

static void topic_free(void *v)
{
    ctrl_topic_t *t = v;
    for (size_t i = 0; i < t->n_parts; i++)
        part_fini(&t->parts[i]);
    free(t->parts);
    free(t->name);
    free(t);
}

void ctrl_ctx_fini(ctrl_ctx_t *ctx)
{
    hmap_fini(&ctx->topics, topic_free);
    zkpaths_ilist_free(&ctx->live);
    zkpaths_ilist_free(&ctx->shutting_down);
    free(ctx->live_epochs);
    ctx->live_epochs = NULL;
}

bool ctrl_ctx_is_live(const ctrl_ctx_t *ctx, int32_t broker)
{
    return bsearch(&broker, ctx->live.v, ctx->live.n, sizeof broker, cmp_i32) != NULL;
}

void ctrl_ctx_set_live(ctrl_ctx_t *ctx, const int32_t *ids, const int64_t *epochs, size_t n)
{
    typedef struct { int32_t id; int64_t epoch; } pair_t;
    pair_t *p = xmalloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i].id = ids[i];
        p[i].epoch = epochs ? epochs[i] : -1;
    }
    /* insertion sort: n is small (brokers) */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && p[j - 1].id > p[j].id; j--) {
            pair_t t = p[j];
            p[j] = p[j - 1];
            p[j - 1] = t;
        }
    zkpaths_ilist_free(&ctx->live);
    free(ctx->live_epochs);
    ctx->live.v = xmalloc((n ? n : 1) * sizeof *ctx->live.v);
    ctx->live_epochs = xmalloc((n ? n : 1) * sizeof *ctx->live_epochs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && ctx->live.v[k - 1] == p[i].id)
            continue;
        ctx->live.v[k] = p[i].id;
        ctx->live_epochs[k++] = p[i].epoch;
    }
    ctx->live.n = k;
    free(p);
}

int64_t ctrl_ctx_broker_epoch(const ctrl_ctx_t *ctx, int32_t broker)
{
    int32_t *f = bsearch(&broker, ctx->live.v, ctx->live.n, sizeof broker, cmp_i32);
    return f ? ctx->live_epochs[f - ctx->live.v] : -1;
}

static bool dense(const zkpaths_topic_t *t)
{
    for (size_t i = 0; i < t->n_parts; i++)
        if (t->parts[i].partition != (int32_t)i)
            return false;
    return true;
}

static void part_init(ctrl_part_t *p, const zkpaths_passign_t *pa)
{
    memset(p, 0, sizeof *p);
    p->partition = pa->partition;
    ilist_copy(&p->replicas, &pa->replicas);
    ilist_copy(&p->adding, &pa->adding);
    ilist_copy(&p->removing, &pa->removing);
    p->state = CTRL_P_NONEXISTENT;
    for (size_t i = 0; i < pa->replicas.n; i++)
        ctrl_part_replica(p, pa->replicas.v[i], true);
}

ctrl_topic_t *ctrl_ctx_add_topic(ctrl_ctx_t *ctx, const char *name, const zkpaths_topic_t *t)
{
    if (ctrl_ctx_topic(ctx, name) || !dense(t))
        return NULL;
    ctrl_topic_t *topic = xcalloc(1, sizeof *topic);
    topic->name = xstrdup(name);
    topic->unclean = -1;
    topic->n_parts = t->n_parts;
    topic->parts = xcalloc(t->n_parts ? t->n_parts : 1, sizeof *topic->parts);
    for (size_t i = 0; i < t->n_parts; i++)
        part_init(&topic->parts[i], &t->parts[i]);
    hmap_puts(&ctx->topics, name, topic);
    return topic;
}

int ctrl_ctx_add_partitions(ctrl_ctx_t *ctx, const char *name, const zkpaths_topic_t *t, size_t *first_new)
{
    ctrl_topic_t *topic = ctrl_ctx_topic(ctx, name);
    if (!topic || !dense(t) || t->n_parts < topic->n_parts)
        return -1;
    size_t old = topic->n_parts;
    *first_new = old;
    if (t->n_parts == old)
        return 0;
    topic->parts = xrealloc(topic->parts, t->n_parts * sizeof *topic->parts);
    for (size_t i = old; i < t->n_parts; i++)
        part_init(&topic->parts[i], &t->parts[i]);
    topic->n_parts = t->n_parts;
    return (int)(t->n_parts - old);
}

ctrl_topic_t *ctrl_ctx_topic(const ctrl_ctx_t *ctx, const char *name) { return hmap_gets(&ctx->topics, name); }

ctrl_part_t *ctrl_ctx_part(const ctrl_ctx_t *ctx, const char *topic, int32_t partition)
{
    ctrl_topic_t *t = ctrl_ctx_topic(ctx, topic);
    if (!t || partition < 0 || (size_t)partition >= t->n_parts)
        return NULL;
    return &t->parts[partition];
}

void ctrl_ctx_remove_topic(ctrl_ctx_t *ctx, const char *name)
{
    ctrl_topic_t *t = hmap_dels(&ctx->topics, name);
    if (t)
        topic_free(t);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **ctrl_ctx_topic_names(const ctrl_ctx_t *ctx, size_t *n)
{
    size_t nt = hmap_count(&ctx->topics), k = 0;
    const char **names = xmalloc((nt ? nt : 1) * sizeof *names);
    hmap_iter_t it;
    const void *key;
    size_t klen;
    void *val;
    hmap_iter_init(&ctx->topics, &it);
    while (hmap_iter_next(&ctx->topics, &it, &key, &klen, &val))
        names[k++] = ((ctrl_topic_t *)val)->name;
    qsort(names, k, sizeof *names, cmp_name);
    *n = k;
    return names;
}

void ctrl_ctx_set_state(ctrl_part_t *part, const zkpaths_pstate_t *st, int32_t zk_version)
{
    zkpaths_ilist_free(&part->lai.isr);
    part->has_lai = true;
    part->lai.leader = st->leader;
    part->lai.leader_epoch = st->leader_epoch;
    part->lai.controller_epoch = st->controller_epoch;
    part->lai.zk_version = zk_version;
    ilist_copy(&part->lai.isr, &st->isr);
}

ctrl_replica_t *ctrl_part_replica(ctrl_part_t *part, int32_t broker, bool create)
{
    for (size_t i = 0; i < part->n_rs; i++)
        if (part->rs[i].broker == broker)
            return &part->rs[i];
    if (!create)
        return NULL;
    part->rs = xrealloc(part->rs, (part->n_rs + 1) * sizeof *part->rs);
    part->rs[part->n_rs] = (ctrl_replica_t){broker, CTRL_R_NONEXISTENT};
    return &part->rs[part->n_rs++];
}

bool ctrl_ctx_unclean(const ctrl_ctx_t *ctx, const ctrl_topic_t *topic)
{
    return topic->unclean >= 0 ? topic->unclean == 1 : ctx->unclean_default;
}

/* ---- output ---- */

void ctrl_out_init(ctrl_out_t *out) { memset(out, 0, sizeof *out); }

static void preq_fini(ctrl_preq_t *r)
{
    free(r->topic);
    zkpaths_ilist_free(&r->isr);
    zkpaths_ilist_free(&r->replicas);
    zkpaths_ilist_free(&r->adding);
    zkpaths_ilist_free(&r->removing);
    zkpaths_ilist_free(&r->offline);
}

void ctrl_out_fini(ctrl_out_t *out)
{
    for (size_t i = 0; i < out->n_writes; i++) {
        free(out->writes[i].path);
        free(out->writes[i].topic);
        buf_free(&out->writes[i].data);
    }
    free(out->writes);
    for (size_t i = 0; i < out->n_lai; i++)
        preq_fini(&out->lai[i]);
    free(out->lai);
    for (size_t i = 0; i < out->n_um; i++)
        preq_fini(&out->um[i]);
    free(out->um);
    for (size_t i = 0; i < out->n_stop; i++)
        preq_fini(&out->stop[i]);
    free(out->stop);
    zkpaths_ilist_free(&out->um_brokers);
    memset(out, 0, sizeof *out);
}

static void brokers_of(const ctrl_preq_t *v, size_t n, zkpaths_ilist_t *brokers)
{
    brokers->v = NULL;
    brokers->n = 0;
    for (size_t i = 0; i < n; i++)
        ilist_add_sorted(brokers, v[i].broker);
}

void ctrl_out_lai_brokers(const ctrl_out_t *out, zkpaths_ilist_t *brokers) { brokers_of(out->lai, out->n_lai, brokers); }
void ctrl_out_stop_brokers(const ctrl_out_t *out, zkpaths_ilist_t *brokers)
{
    brokers_of(out->stop, out->n_stop, brokers);
}

static ctrl_preq_t *find(ctrl_preq_t *v, size_t n, int32_t broker, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < n; i++)
        if ((broker < 0 || v[i].broker == broker) && v[i].partition == partition && strcmp(v[i].topic, topic) == 0)
            return &v[i];
    return NULL;
}

const ctrl_preq_t *ctrl_out_find_lai(const ctrl_out_t *out, int32_t broker, const char *topic, int32_t partition)
{
    return find(out->lai, out->n_lai, broker, topic, partition);
}
const ctrl_preq_t *ctrl_out_find_um(const ctrl_out_t *out, const char *topic, int32_t partition)
{
    return find(out->um, out->n_um, -1, topic, partition);
}
const ctrl_preq_t *ctrl_out_find_stop(const ctrl_out_t *out, int32_t broker, const char *topic, int32_t partition)
{
    return find(out->stop, out->n_stop, broker, topic, partition);
}

const ctrl_zwrite_t *ctrl_out_find_write(const ctrl_out_t *out, enum ctrl_zop op, const char *path)
{
    /* the last one wins: later writes see the effect of earlier ones */
    for (size_t i = out->n_writes; i-- > 0;)
        if (out->writes[i].op == op && strcmp(out->writes[i].path, path) == 0)
            return &out->writes[i];
    return NULL;
}

static void fill_preq(ctrl_preq_t *r, const ctrl_ctx_t *ctx, const ctrl_topic_t *topic, const ctrl_part_t *part)
{
    r->topic = xstrdup(topic->name);
    r->partition = part->partition;
    r->controller_epoch = part->lai.controller_epoch;
    r->leader = part->has_lai ? part->lai.leader : CTRL_NO_LEADER;
    r->leader_epoch = part->lai.leader_epoch;
    ilist_copy(&r->isr, &part->lai.isr);
    r->zk_version = part->lai.zk_version;
    ilist_copy(&r->replicas, &part->replicas);
    ilist_copy(&r->adding, &part->adding);
    ilist_copy(&r->removing, &part->removing);
}

void ctrl_out_add_lai(ctrl_out_t *out, const ctrl_ctx_t *ctx, int32_t broker, const ctrl_topic_t *topic,
                      const ctrl_part_t *part, bool is_new, int dep)
{
    ctrl_preq_t *r = find(out->lai, out->n_lai, broker, topic->name, part->partition);
    if (r) {
        is_new = is_new || r->is_new;   /* Kafka keeps isNew once set for the batch */
        preq_fini(r);
    } else {
        out->lai = xrealloc(out->lai, (out->n_lai + 1) * sizeof *out->lai);
        r = &out->lai[out->n_lai++];
    }
    memset(r, 0, sizeof *r);
    fill_preq(r, ctx, topic, part);
    r->broker = broker;
    r->is_new = is_new;
    r->dep = dep;
}

void ctrl_out_add_um(ctrl_out_t *out, const ctrl_ctx_t *ctx, const ctrl_topic_t *topic, const ctrl_part_t *part,
                     int dep)
{
    ctrl_preq_t *r = find(out->um, out->n_um, -1, topic->name, part->partition);
    if (r) {
        preq_fini(r);
    } else {
        out->um = xrealloc(out->um, (out->n_um + 1) * sizeof *out->um);
        r = &out->um[out->n_um++];
    }
    memset(r, 0, sizeof *r);
    fill_preq(r, ctx, topic, part);
    r->broker = -1;
    r->dep = dep;
    if (topic->deleting)
        r->leader = CTRL_LEADER_DURING_DELETE;
    for (size_t i = 0; i < part->replicas.n; i++)
        if (!ctrl_ctx_is_live(ctx, part->replicas.v[i]))
            ilist_add_sorted(&r->offline, part->replicas.v[i]);
    ctrl_out_add_um_brokers(out, &ctx->live);
}

void ctrl_out_add_um_brokers(ctrl_out_t *out, const zkpaths_ilist_t *brokers)
{
    for (size_t i = 0; i < brokers->n; i++)
        ilist_add_sorted(&out->um_brokers, brokers->v[i]);
}

void ctrl_out_add_stop(ctrl_out_t *out, int32_t broker, const char *topic, int32_t partition, bool del)
{
    ctrl_preq_t *r = find(out->stop, out->n_stop, broker, topic, partition);
    if (r) {
        r->delete_partition = r->delete_partition || del;
        return;
    }
    out->stop = xrealloc(out->stop, (out->n_stop + 1) * sizeof *out->stop);
    r = &out->stop[out->n_stop++];
    memset(r, 0, sizeof *r);
    r->broker = broker;
    r->topic = xstrdup(topic);
    r->partition = partition;
    r->delete_partition = del;
    r->dep = -1;
}

int ctrl_out_add_write(ctrl_out_t *out, enum ctrl_zop op, char *path_owned, const buf_t *data,
                       int32_t expected_version, const char *topic, int32_t partition)
{
    out->writes = xrealloc(out->writes, (out->n_writes + 1) * sizeof *out->writes);
    ctrl_zwrite_t *w = &out->writes[out->n_writes];
    memset(w, 0, sizeof *w);
    w->op = op;
    w->path = path_owned;
    buf_init(&w->data);
    if (data && data->len)
        buf_put(&w->data, data->data, data->len);
    w->expected_version = expected_version;
    w->topic = topic ? xstrdup(topic) : NULL;
    w->partition = partition;
    return (int)out->n_writes++;
}
