/* ctrl_core.c — controller event reactions (see ctrl_core.h). */
#include "broker/ctrl_core.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

/* Growable lists of partitions and replicas (pointers into the context). */
typedef struct tps_s {
    ctrl_tp_t *v;
    size_t n;
} tps_t;

typedef struct reps_s {
    ctrl_rep_t *v;
    size_t n;
} reps_t;

static void tps_add(tps_t *l, const char *topic, int32_t p)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = (ctrl_tp_t){topic, p};
}

static void reps_add(reps_t *l, const char *topic, int32_t p, int32_t b)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = (ctrl_rep_t){topic, p, b};
}

static void send_all_metadata(ctrl_ctx_t *ctx, ctrl_out_t *out)
{
    size_t nt;
    const char **names = ctrl_ctx_topic_names(ctx, &nt);
    for (size_t i = 0; i < nt; i++) {
        ctrl_topic_t *t = ctrl_ctx_topic(ctx, names[i]);
        for (size_t p = 0; p < t->n_parts; p++)
            ctrl_out_add_um(out, ctx, t, &t->parts[p], -1);
    }
    free(names);
    ctrl_out_add_um_brokers(out, &ctx->live);
}

void ctrl_core_startup(ctrl_ctx_t *ctx, ctrl_out_t *out)
{
    size_t nt;
    const char **names = ctrl_ctx_topic_names(ctx, &nt);
    reps_t online = {0}, offline = {0};
    for (size_t i = 0; i < nt; i++) {
        ctrl_topic_t *t = ctrl_ctx_topic(ctx, names[i]);
        for (size_t p = 0; p < t->n_parts; p++) {
            ctrl_part_t *part = &t->parts[p];
            /* initializePartitionState */
            if (!part->has_lai)
                part->state = CTRL_P_NEW;
            else if (ctrl_ctx_is_live(ctx, part->lai.leader))
                part->state = CTRL_P_ONLINE;
            else
                part->state = CTRL_P_OFFLINE;
            /* initializeReplicaState */
            for (size_t r = 0; r < part->replicas.n; r++) {
                int32_t b = part->replicas.v[r];
                ctrl_replica_t *rs = ctrl_part_replica(part, b, true);
                if (ctrl_ctx_is_live(ctx, b)) {
                    rs->state = CTRL_R_ONLINE;
                    reps_add(&online, t->name, part->partition, b);
                } else {
                    rs->state = CTRL_R_DELETION_INELIGIBLE;
                    reps_add(&offline, t->name, part->partition, b);
                }
            }
        }
    }
    free(names);
    ctrl_out_add_um_brokers(out, &ctx->live);
    ctrl_rsm_handle(ctx, online.v, online.n, CTRL_R_ONLINE, out);
    ctrl_rsm_handle(ctx, offline.v, offline.n, CTRL_R_OFFLINE, out);
    ctrl_psm_trigger_online(ctx, out);
    free(online.v);
    free(offline.v);
}

/* Moves deleting topics forward: replicas on live brokers that are Ineligible or Offline
 * get a StopReplica(delete=true); dead ones become Ineligible. */
static void resume_deletions(ctrl_ctx_t *ctx, ctrl_out_t *out)
{
    size_t nt;
    const char **names = ctrl_ctx_topic_names(ctx, &nt);
    reps_t dead = {0}, retry = {0};
    for (size_t i = 0; i < nt; i++) {
        ctrl_topic_t *t = ctrl_ctx_topic(ctx, names[i]);
        if (!t->deleting)
            continue;
        for (size_t p = 0; p < t->n_parts; p++) {
            ctrl_part_t *part = &t->parts[p];
            for (size_t r = 0; r < part->n_rs; r++) {
                ctrl_replica_t *rs = &part->rs[r];
                if (rs->state == CTRL_R_DELETION_SUCCESSFUL || rs->state == CTRL_R_DELETION_STARTED)
                    continue;
                if (!ctrl_ctx_is_live(ctx, rs->broker))
                    reps_add(&dead, t->name, part->partition, rs->broker);
                else
                    reps_add(&retry, t->name, part->partition, rs->broker);
            }
        }
    }
    free(names);
    /* a dead replica must pass through Offline before Ineligible */
    for (size_t i = 0; i < dead.n; i++) {
        ctrl_replica_t *rs = ctrl_part_replica(ctrl_ctx_part(ctx, dead.v[i].topic, dead.v[i].partition),
                                               dead.v[i].broker, false);
        if (rs->state != CTRL_R_OFFLINE && rs->state != CTRL_R_DELETION_INELIGIBLE)
            ctrl_rsm_handle(ctx, &dead.v[i], 1, CTRL_R_OFFLINE, out);
        if (rs->state != CTRL_R_DELETION_INELIGIBLE)
            ctrl_rsm_handle(ctx, &dead.v[i], 1, CTRL_R_DELETION_INELIGIBLE, out);
    }
    for (size_t i = 0; i < retry.n; i++) {
        ctrl_replica_t *rs = ctrl_part_replica(ctrl_ctx_part(ctx, retry.v[i].topic, retry.v[i].partition),
                                               retry.v[i].broker, false);
        if (rs->state != CTRL_R_OFFLINE)
            ctrl_rsm_handle(ctx, &retry.v[i], 1, CTRL_R_OFFLINE, out);
        ctrl_rsm_handle(ctx, &retry.v[i], 1, CTRL_R_DELETION_STARTED, out);
    }
    free(dead.v);
    free(retry.v);
}

static void on_broker_startup(ctrl_ctx_t *ctx, const zkpaths_ilist_t *added, ctrl_out_t *out)
{
    /* existing brokers learn about the new ones; new ones get full metadata */
    send_all_metadata(ctx, out);
    size_t nt;
    const char **names = ctrl_ctx_topic_names(ctx, &nt);
    reps_t reps = {0};
    for (size_t i = 0; i < nt; i++) {
        ctrl_topic_t *t = ctrl_ctx_topic(ctx, names[i]);
        if (t->deleting)
            continue;
        for (size_t p = 0; p < t->n_parts; p++)
            for (size_t r = 0; r < t->parts[p].replicas.n; r++)
                if (zkpaths_ilist_has(added, t->parts[p].replicas.v[r]))
                    reps_add(&reps, t->name, (int32_t)p, t->parts[p].replicas.v[r]);
    }
    free(names);
    ctrl_rsm_handle(ctx, reps.v, reps.n, CTRL_R_ONLINE, out);
    free(reps.v);
    ctrl_psm_trigger_online(ctx, out);
    resume_deletions(ctx, out);
}

static void on_broker_failure(ctrl_ctx_t *ctx, const zkpaths_ilist_t *dead, ctrl_out_t *out)
{
    for (size_t i = 0; i < dead->n; i++) {
        zkpaths_ilist_t *s = &ctx->shutting_down;
        size_t k = 0;
        for (size_t j = 0; j < s->n; j++)
            if (s->v[j] != dead->v[i])
                s->v[k++] = s->v[j];
        s->n = k;
    }
    size_t nt;
    const char **names = ctrl_ctx_topic_names(ctx, &nt);
    tps_t leaderless = {0};
    reps_t reps = {0}, deleting = {0};
    for (size_t i = 0; i < nt; i++) {
        ctrl_topic_t *t = ctrl_ctx_topic(ctx, names[i]);
        for (size_t p = 0; p < t->n_parts; p++) {
            ctrl_part_t *part = &t->parts[p];
            if (!t->deleting && part->has_lai && zkpaths_ilist_has(dead, part->lai.leader))
                tps_add(&leaderless, t->name, part->partition);
            for (size_t r = 0; r < part->replicas.n; r++)
                if (zkpaths_ilist_has(dead, part->replicas.v[r]))
                    reps_add(t->deleting ? &deleting : &reps, t->name, part->partition, part->replicas.v[r]);
        }
    }
    free(names);
    ctrl_psm_handle(ctx, leaderless.v, leaderless.n, CTRL_P_OFFLINE, CTRL_ELECT_OFFLINE, out);
    ctrl_psm_trigger_online(ctx, out);
    ctrl_rsm_handle(ctx, reps.v, reps.n, CTRL_R_OFFLINE, out);
    ctrl_rsm_handle(ctx, deleting.v, deleting.n, CTRL_R_DELETION_INELIGIBLE, out);
    if (leaderless.n == 0)
        ctrl_out_add_um_brokers(out, &ctx->live);
    free(leaderless.v);
    free(reps.v);
    free(deleting.v);
}

void ctrl_core_brokers_changed(ctrl_ctx_t *ctx, const int32_t *ids, const int64_t *epochs, size_t n,
                              ctrl_out_t *out)
{
    zkpaths_ilist_t old = {ctx->live.n ? xmemdup(ctx->live.v, ctx->live.n * sizeof(int32_t)) : NULL, ctx->live.n};
    ctrl_ctx_set_live(ctx, ids, epochs, n);
    zkpaths_ilist_t added = {xmalloc((ctx->live.n + 1) * sizeof(int32_t)), 0};
    zkpaths_ilist_t dead = {xmalloc((old.n + 1) * sizeof(int32_t)), 0};
    for (size_t i = 0; i < ctx->live.n; i++)
        if (!zkpaths_ilist_has(&old, ctx->live.v[i]))
            added.v[added.n++] = ctx->live.v[i];
    for (size_t i = 0; i < old.n; i++)
        if (!ctrl_ctx_is_live(ctx, old.v[i]))
            dead.v[dead.n++] = old.v[i];
    if (added.n)
        on_broker_startup(ctx, &added, out);
    if (dead.n)
        on_broker_failure(ctx, &dead, out);
    zkpaths_ilist_free(&old);
    zkpaths_ilist_free(&added);
    zkpaths_ilist_free(&dead);
}

/* onNewPartitionCreation for partitions [from, to) of topic. */
static void new_partitions(ctrl_ctx_t *ctx, ctrl_topic_t *t, size_t from, size_t to, ctrl_out_t *out)
{
    tps_t tps = {0};
    reps_t reps = {0};
    for (size_t p = from; p < to; p++) {
        tps_add(&tps, t->name, (int32_t)p);
        for (size_t r = 0; r < t->parts[p].replicas.n; r++)
            reps_add(&reps, t->name, (int32_t)p, t->parts[p].replicas.v[r]);
    }
    ctrl_psm_handle(ctx, tps.v, tps.n, CTRL_P_NEW, CTRL_ELECT_OFFLINE, out);
    ctrl_rsm_handle(ctx, reps.v, reps.n, CTRL_R_NEW, out);
    ctrl_psm_handle(ctx, tps.v, tps.n, CTRL_P_ONLINE, CTRL_ELECT_OFFLINE, out);
    ctrl_rsm_handle(ctx, reps.v, reps.n, CTRL_R_ONLINE, out);
    free(tps.v);
    free(reps.v);
}

int ctrl_core_topic_created(ctrl_ctx_t *ctx, const char *name, const zkpaths_topic_t *t, ctrl_out_t *out)
{
    if (!zkpaths_topic_valid(name))
        return -1;
    ctrl_topic_t *topic = ctrl_ctx_add_topic(ctx, name, t);
    if (!topic) {
        LOG_W("controller", "ignoring topic %s: exists, or its partitions are not 0..n-1", name);
        return -1;
    }
    new_partitions(ctx, topic, 0, topic->n_parts, out);
    return 0;
}

int ctrl_core_partitions_added(ctrl_ctx_t *ctx, const char *name, const zkpaths_topic_t *t, ctrl_out_t *out)
{
    ctrl_topic_t *topic = ctrl_ctx_topic(ctx, name);
    if (!topic || topic->deleting)
        return -1;
    size_t first;
    int added = ctrl_ctx_add_partitions(ctx, name, t, &first);
    if (added > 0)
        new_partitions(ctx, topic, first, topic->n_parts, out);
    return added;
}

void ctrl_core_delete_topics(ctrl_ctx_t *ctx, const char *const *names, size_t n, ctrl_out_t *out)
{
    for (size_t i = 0; i < n; i++) {
        ctrl_topic_t *t = ctrl_ctx_topic(ctx, names[i]);
        if (!ctx->delete_enable || !t) {
            /* Kafka 2.x removes the marker of a topic it will not or cannot delete */
            ctrl_out_add_write(out, CTRL_ZOP_DELETE, zkpaths_delete_topic(names[i]), NULL, -1, NULL, 0);
            continue;
        }
        if (t->deleting)
            continue;
        tps_t tps = {0};
        for (size_t p = 0; p < t->n_parts; p++)
            tps_add(&tps, t->name, (int32_t)p);
        /* partitions go offline and then away; brokers learn the topic is being deleted */
        ctrl_psm_handle(ctx, tps.v, tps.n, CTRL_P_OFFLINE, CTRL_ELECT_OFFLINE, out);
        ctrl_psm_handle(ctx, tps.v, tps.n, CTRL_P_NONEXISTENT, CTRL_ELECT_OFFLINE, out);
        t->deleting = true;
        for (size_t p = 0; p < t->n_parts; p++)
            ctrl_out_add_um(out, ctx, t, &t->parts[p], -1);
        free(tps.v);
    }
    resume_deletions(ctx, out);
}

void ctrl_core_stop_replica_done(ctrl_ctx_t *ctx, int32_t broker, const char *topic, int32_t partition,
                                 int16_t error_code, ctrl_out_t *out)
{
    ctrl_topic_t *t = ctrl_ctx_topic(ctx, topic);
    ctrl_part_t *part = ctrl_ctx_part(ctx, topic, partition);
    if (!t || !t->deleting || !part)
        return;
    ctrl_replica_t *rs = ctrl_part_replica(part, broker, false);
    if (!rs || rs->state != CTRL_R_DELETION_STARTED)
        return;
    ctrl_rep_t rep = {t->name, partition, broker};
    ctrl_rsm_handle(ctx, &rep, 1, error_code == 0 ? CTRL_R_DELETION_SUCCESSFUL : CTRL_R_DELETION_INELIGIBLE, out);
    /* all replicas of all partitions deleted? */
    for (size_t p = 0; p < t->n_parts; p++)
        for (size_t r = 0; r < t->parts[p].n_rs; r++)
            if (t->parts[p].rs[r].state != CTRL_R_DELETION_SUCCESSFUL)
                return;
    /* completeDeleteTopic */
    for (size_t p = 0; p < t->n_parts; p++) {
        ctrl_part_t *pp = &t->parts[p];
        for (size_t r = 0; r < pp->n_rs; r++) {
            ctrl_rep_t x = {t->name, (int32_t)p, pp->rs[r].broker};
            ctrl_rsm_handle(ctx, &x, 1, CTRL_R_NONEXISTENT, out);
        }
    }
    ctrl_out_add_write(out, CTRL_ZOP_DELETE_TREE, zkpaths_topic(t->name), NULL, -1, NULL, 0);
    ctrl_out_add_write(out, CTRL_ZOP_DELETE, zkpaths_config_entity("topics", t->name), NULL, -1, NULL, 0);
    ctrl_out_add_write(out, CTRL_ZOP_DELETE, zkpaths_delete_topic(t->name), NULL, -1, NULL, 0);
    ctrl_ctx_remove_topic(ctx, topic);
}

int ctrl_core_preferred_election(ctrl_ctx_t *ctx, const ctrl_tp_t *tps, size_t n, ctrl_out_t *out)
{
    tps_t all = {0}, todo = {0};
    const char **names = NULL;
    if (n == 0) {
        size_t nt;
        names = ctrl_ctx_topic_names(ctx, &nt);
        for (size_t i = 0; i < nt; i++) {
            ctrl_topic_t *t = ctrl_ctx_topic(ctx, names[i]);
            for (size_t p = 0; p < t->n_parts; p++)
                tps_add(&all, t->name, (int32_t)p);
        }
        tps = all.v;
        n = all.n;
    }
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        ctrl_topic_t *t = ctrl_ctx_topic(ctx, tps[i].topic);
        ctrl_part_t *part = ctrl_ctx_part(ctx, tps[i].topic, tps[i].partition);
        if (!t || !part || t->deleting) {
            failed++;
            continue;
        }
        if (part->replicas.n > 0 && part->has_lai && part->lai.leader != part->replicas.v[0])
            tps_add(&todo, tps[i].topic, tps[i].partition);
    }
    failed += ctrl_psm_handle(ctx, todo.v, todo.n, CTRL_P_ONLINE, CTRL_ELECT_PREFERRED, out);
    free(todo.v);
    free(all.v);
    free(names);
    return failed;
}

void ctrl_core_isr_changed(ctrl_ctx_t *ctx, const ctrl_tp_t *tps, size_t n, ctrl_out_t *out)
{
    for (size_t i = 0; i < n; i++) {
        ctrl_topic_t *t = ctrl_ctx_topic(ctx, tps[i].topic);
        ctrl_part_t *part = ctrl_ctx_part(ctx, tps[i].topic, tps[i].partition);
        if (t && part)
            ctrl_out_add_um(out, ctx, t, part, -1);
    }
}

int ctrl_core_controlled_shutdown(ctrl_ctx_t *ctx, int32_t broker, ctrl_out_t *out)
{
    if (!ctrl_ctx_is_live(ctx, broker))
        return -1;
    if (!zkpaths_ilist_has(&ctx->shutting_down, broker)) {
        zkpaths_ilist_t *s = &ctx->shutting_down;
        s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
        s->v[s->n++] = broker;
    }
    size_t nt;
    const char **names = ctrl_ctx_topic_names(ctx, &nt);
    tps_t led = {0};
    reps_t follow = {0};
    for (size_t i = 0; i < nt; i++) {
        ctrl_topic_t *t = ctrl_ctx_topic(ctx, names[i]);
        if (t->deleting)
            continue;
        for (size_t p = 0; p < t->n_parts; p++) {
            ctrl_part_t *part = &t->parts[p];
            if (!part->has_lai || !zkpaths_ilist_has(&part->replicas, broker) || part->replicas.n < 2)
                continue;
            if (part->lai.leader == broker)
                tps_add(&led, t->name, (int32_t)p);
            else
                reps_add(&follow, t->name, (int32_t)p, broker);
        }
    }
    ctrl_psm_handle(ctx, led.v, led.n, CTRL_P_ONLINE, CTRL_ELECT_CONTROLLED_SHUTDOWN, out);
    ctrl_rsm_handle(ctx, follow.v, follow.n, CTRL_R_OFFLINE, out);
    int remaining = 0;
    for (size_t i = 0; i < nt; i++) {
        ctrl_topic_t *t = ctrl_ctx_topic(ctx, names[i]);
        for (size_t p = 0; p < t->n_parts; p++)
            if (t->parts[p].has_lai && t->parts[p].lai.leader == broker)
                remaining++;
    }
    free(names);
    free(led.v);
    free(follow.v);
    return remaining;
}
