/* ctrl_psm.c — partition state machine (see ctrl_psm.h). */
#include "broker/ctrl_psm.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

static bool in(const zkpaths_ilist_t *l, int32_t v) { return zkpaths_ilist_has(l, v); }

int32_t ctrl_elect_offline(const zkpaths_ilist_t *assignment, const zkpaths_ilist_t *isr, const zkpaths_ilist_t *live,
                           bool unclean, bool *was_unclean)
{
    *was_unclean = false;
    for (size_t i = 0; i < assignment->n; i++)
        if (in(live, assignment->v[i]) && in(isr, assignment->v[i]))
            return assignment->v[i];
    if (!unclean)
        return CTRL_NO_LEADER;
    for (size_t i = 0; i < assignment->n; i++)
        if (in(live, assignment->v[i])) {
            *was_unclean = true;
            return assignment->v[i];
        }
    return CTRL_NO_LEADER;
}

int32_t ctrl_elect_reassign(const zkpaths_ilist_t *reassignment, const zkpaths_ilist_t *isr,
                            const zkpaths_ilist_t *live)
{
    for (size_t i = 0; i < reassignment->n; i++)
        if (in(live, reassignment->v[i]) && in(isr, reassignment->v[i]))
            return reassignment->v[i];
    return CTRL_NO_LEADER;
}

int32_t ctrl_elect_preferred(const zkpaths_ilist_t *assignment, const zkpaths_ilist_t *isr,
                             const zkpaths_ilist_t *live)
{
    if (assignment->n == 0 || !in(live, assignment->v[0]) || !in(isr, assignment->v[0]))
        return CTRL_NO_LEADER;
    return assignment->v[0];
}

int32_t ctrl_elect_controlled_shutdown(const zkpaths_ilist_t *assignment, const zkpaths_ilist_t *isr,
                                       const zkpaths_ilist_t *live, const zkpaths_ilist_t *shutting)
{
    for (size_t i = 0; i < assignment->n; i++) {
        int32_t r = assignment->v[i];
        if (in(live, r) && in(isr, r) && !in(shutting, r))
            return r;
    }
    return CTRL_NO_LEADER;
}

static bool valid_from(enum ctrl_pstate from, enum ctrl_pstate to)
{
    switch (to) {
    case CTRL_P_NEW: return from == CTRL_P_NONEXISTENT;
    case CTRL_P_ONLINE:
    case CTRL_P_OFFLINE: return from == CTRL_P_NEW || from == CTRL_P_ONLINE || from == CTRL_P_OFFLINE;
    case CTRL_P_NONEXISTENT: return from == CTRL_P_OFFLINE;
    }
    return false;
}

/* Writes the partition's (already updated) lai to its state znode; returns the write
 * index. A create leaves zkVersion 0, a setData at version v leaves v + 1. */
static int write_state(ctrl_out_t *out, const ctrl_topic_t *topic, ctrl_part_t *part, bool create)
{
    zkpaths_pstate_t st = {part->lai.controller_epoch, part->lai.leader, part->lai.leader_epoch, part->lai.isr};
    buf_t data = BUF_INIT;
    zkpaths_pstate_encode(&st, &data);
    int32_t expected = create ? -1 : part->lai.zk_version;
    int idx = ctrl_out_add_write(out, create ? CTRL_ZOP_CREATE_STATE : CTRL_ZOP_SET_STATE,
                                 zkpaths_partition_state(topic->name, part->partition), &data, expected, topic->name,
                                 part->partition);
    buf_free(&data);
    part->lai.zk_version = create ? 0 : part->lai.zk_version + 1;
    part->has_lai = true;
    return idx;
}

/* LeaderAndIsr to the live replicas (assignment plus adding), UpdateMetadata to all. */
static void announce(ctrl_ctx_t *ctx, const ctrl_topic_t *topic, const ctrl_part_t *part, bool is_new, int dep,
                     ctrl_out_t *out)
{
    for (size_t i = 0; i < part->replicas.n; i++)
        if (ctrl_ctx_is_live(ctx, part->replicas.v[i]))
            ctrl_out_add_lai(out, ctx, part->replicas.v[i], topic, part, is_new, dep);
    for (size_t i = 0; i < part->adding.n; i++)
        if (ctrl_ctx_is_live(ctx, part->adding.v[i]) && !zkpaths_ilist_has(&part->replicas, part->adding.v[i]))
            ctrl_out_add_lai(out, ctx, part->adding.v[i], topic, part, is_new, dep);
    ctrl_out_add_um(out, ctx, topic, part, dep);
}

static void set_isr(ctrl_part_t *part, const int32_t *v, size_t n)
{
    zkpaths_ilist_free(&part->lai.isr);
    part->lai.isr.v = n ? xmemdup(v, n * sizeof *v) : NULL;
    part->lai.isr.n = n;
}

/* New -> Online: leader = first live replica, ISR = live replicas, epoch 0. */
static int initialize(ctrl_ctx_t *ctx, const ctrl_topic_t *topic, ctrl_part_t *part, ctrl_out_t *out)
{
    int32_t *live = xmalloc((part->replicas.n ? part->replicas.n : 1) * sizeof *live);
    size_t n = 0;
    for (size_t i = 0; i < part->replicas.n; i++)
        if (ctrl_ctx_is_live(ctx, part->replicas.v[i]))
            live[n++] = part->replicas.v[i];
    if (n == 0) {
        LOG_W("controller", "cannot initialize partition %s-%d: no assigned replica is alive", topic->name,
              (int)part->partition);
        free(live);
        return -1;
    }
    part->lai.leader = live[0];
    part->lai.leader_epoch = 0;
    part->lai.controller_epoch = ctx->epoch;
    set_isr(part, live, n);
    free(live);
    int dep = write_state(out, topic, part, true);
    part->state = CTRL_P_ONLINE;
    announce(ctx, topic, part, true, dep, out);
    return 0;
}

/* Online/Offline -> Online: elect with strategy, write conditionally. */
static int elect(ctrl_ctx_t *ctx, const ctrl_topic_t *topic, ctrl_part_t *part, enum ctrl_election strategy,
                 ctrl_out_t *out)
{
    if (!part->has_lai)
        return -1;
    const zkpaths_ilist_t *isr = &part->lai.isr;
    int32_t leader = CTRL_NO_LEADER;
    bool unclean = false;
    switch (strategy) {
    case CTRL_ELECT_OFFLINE:
        leader = ctrl_elect_offline(&part->replicas, isr, &ctx->live, ctrl_ctx_unclean(ctx, topic), &unclean);
        break;
    case CTRL_ELECT_REASSIGN: {
        /* the target replicas: the assignment without those being removed */
        zkpaths_ilist_t target = {xmalloc((part->replicas.n ? part->replicas.n : 1) * sizeof(int32_t)), 0};
        for (size_t i = 0; i < part->replicas.n; i++)
            if (!zkpaths_ilist_has(&part->removing, part->replicas.v[i]))
                target.v[target.n++] = part->replicas.v[i];
        leader = ctrl_elect_reassign(&target, isr, &ctx->live);
        zkpaths_ilist_free(&target);
        break;
    }
    case CTRL_ELECT_PREFERRED:
        leader = ctrl_elect_preferred(&part->replicas, isr, &ctx->live);
        break;
    case CTRL_ELECT_CONTROLLED_SHUTDOWN:
        leader = ctrl_elect_controlled_shutdown(&part->replicas, isr, &ctx->live, &ctx->shutting_down);
        break;
    }
    if (leader == CTRL_NO_LEADER) {
        LOG_W("controller", "no eligible leader for partition %s-%d (isr size %zu)", topic->name,
              (int)part->partition, isr->n);
        return -1;
    }
    /* the new ISR */
    int32_t *nisr = xmalloc((isr->n + 1) * sizeof *nisr);
    size_t n = 0;
    if (strategy == CTRL_ELECT_OFFLINE) {
        if (unclean) {
            LOG_W("controller", "unclean leader election for %s-%d: %d is not in the ISR; data may be lost",
                  topic->name, (int)part->partition, (int)leader);
            nisr[n++] = leader;
        } else {
            for (size_t i = 0; i < isr->n; i++)
                if (ctrl_ctx_is_live(ctx, isr->v[i]))
                    nisr[n++] = isr->v[i];
        }
    } else if (strategy == CTRL_ELECT_CONTROLLED_SHUTDOWN) {
        for (size_t i = 0; i < isr->n; i++)
            if (!zkpaths_ilist_has(&ctx->shutting_down, isr->v[i]))
                nisr[n++] = isr->v[i];
    } else {
        memcpy(nisr, isr->v, isr->n * sizeof *nisr);
        n = isr->n;
    }
    part->lai.leader = leader;
    part->lai.leader_epoch++;
    part->lai.controller_epoch = ctx->epoch;
    set_isr(part, nisr, n);
    free(nisr);
    int dep = write_state(out, topic, part, false);
    part->state = CTRL_P_ONLINE;
    announce(ctx, topic, part, false, dep, out);
    return 0;
}

int ctrl_psm_handle(ctrl_ctx_t *ctx, const ctrl_tp_t *tps, size_t n, enum ctrl_pstate target,
                    enum ctrl_election strategy, ctrl_out_t *out)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        ctrl_topic_t *topic = ctrl_ctx_topic(ctx, tps[i].topic);
        ctrl_part_t *part = ctrl_ctx_part(ctx, tps[i].topic, tps[i].partition);
        if (!part || !valid_from(part->state, target)) {
            if (part)
                LOG_W("controller", "invalid partition state change %s-%d: %s -> %s", tps[i].topic,
                      (int)tps[i].partition, ctrl_pstate_name(part->state), ctrl_pstate_name(target));
            failed++;
            continue;
        }
        int rc = 0;
        switch (target) {
        case CTRL_P_NEW:
        case CTRL_P_OFFLINE:
        case CTRL_P_NONEXISTENT:
            part->state = target;
            break;
        case CTRL_P_ONLINE:
            rc = part->state == CTRL_P_NEW ? initialize(ctx, topic, part, out) : elect(ctx, topic, part, strategy, out);
            break;
        }
        if (rc < 0)
            failed++;
    }
    return failed;
}

int ctrl_psm_trigger_online(ctrl_ctx_t *ctx, ctrl_out_t *out)
{
    size_t k;
    const char **names = ctrl_ctx_topic_names(ctx, &k);
    int failed = 0;
    for (size_t i = 0; i < k; i++) {
        ctrl_topic_t *topic = ctrl_ctx_topic(ctx, names[i]);
        if (topic->deleting)
            continue;
        for (size_t p = 0; p < topic->n_parts; p++) {
            ctrl_part_t *part = &topic->parts[p];
            if (part->state != CTRL_P_NEW && part->state != CTRL_P_OFFLINE)
                continue;
            ctrl_tp_t tp = {topic->name, part->partition};
            failed += ctrl_psm_handle(ctx, &tp, 1, CTRL_P_ONLINE, CTRL_ELECT_OFFLINE, out);
        }
    }
    free(names);
    return failed;
}
