/* ctrl_rsm.c — replica state machine (see ctrl_rsm.h). */
#include "broker/ctrl_rsm.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

static bool valid_from(enum ctrl_rstate from, enum ctrl_rstate to)
{
    switch (to) {
    case CTRL_R_NEW: return from == CTRL_R_NONEXISTENT;
    case CTRL_R_ONLINE:
    case CTRL_R_OFFLINE:
        return from == CTRL_R_NEW || from == CTRL_R_ONLINE || from == CTRL_R_OFFLINE ||
               from == CTRL_R_DELETION_INELIGIBLE;
    case CTRL_R_DELETION_STARTED: return from == CTRL_R_OFFLINE;
    case CTRL_R_DELETION_SUCCESSFUL: return from == CTRL_R_DELETION_STARTED;
    case CTRL_R_DELETION_INELIGIBLE: return from == CTRL_R_OFFLINE || from == CTRL_R_DELETION_STARTED;
    case CTRL_R_NONEXISTENT: return from == CTRL_R_DELETION_SUCCESSFUL;
    }
    return false;
}

static void ilist_remove(zkpaths_ilist_t *l, int32_t v)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] != v)
            l->v[k++] = l->v[i];
    l->n = k;
}

/* Removes broker from the partition's ISR in the state znode; returns the write index, or
 * -1 if there was nothing to change. */
static int remove_from_isr(ctrl_ctx_t *ctx, const ctrl_topic_t *topic, ctrl_part_t *part, int32_t broker,
                           ctrl_out_t *out)
{
    if (!part->has_lai || !zkpaths_ilist_has(&part->lai.isr, broker))
        return -1;
    if (part->lai.leader == broker)
        part->lai.leader = CTRL_NO_LEADER;
    if (part->lai.isr.n > 1)
        ilist_remove(&part->lai.isr, broker);
    part->lai.leader_epoch++;
    part->lai.controller_epoch = ctx->epoch;
    zkpaths_pstate_t st = {part->lai.controller_epoch, part->lai.leader, part->lai.leader_epoch, part->lai.isr};
    buf_t data = BUF_INIT;
    zkpaths_pstate_encode(&st, &data);
    int idx = ctrl_out_add_write(out, CTRL_ZOP_SET_STATE, zkpaths_partition_state(topic->name, part->partition),
                                 &data, part->lai.zk_version, topic->name, part->partition);
    buf_free(&data);
    part->lai.zk_version++;
    return idx;
}

static int transition(ctrl_ctx_t *ctx, ctrl_topic_t *topic, ctrl_part_t *part, ctrl_replica_t *r,
                      enum ctrl_rstate target, ctrl_out_t *out)
{
    int32_t broker = r->broker;
    switch (target) {
    case CTRL_R_NEW:
        if (part->has_lai) {
            if (part->lai.leader == broker)
                return -1;  /* Kafka: a new replica cannot already be the leader */
            if (ctrl_ctx_is_live(ctx, broker))
                ctrl_out_add_lai(out, ctx, broker, topic, part, true, -1);
            ctrl_out_add_um(out, ctx, topic, part, -1);
        }
        break;
    case CTRL_R_ONLINE:
        if (r->state == CTRL_R_NEW) {
            if (!zkpaths_ilist_has(&part->replicas, broker)) {
                part->replicas.v = xrealloc(part->replicas.v, (part->replicas.n + 1) * sizeof(int32_t));
                part->replicas.v[part->replicas.n++] = broker;
            }
        } else if (part->has_lai) {
            if (ctrl_ctx_is_live(ctx, broker))
                ctrl_out_add_lai(out, ctx, broker, topic, part, false, -1);
            ctrl_out_add_um(out, ctx, topic, part, -1);
        }
        break;
    case CTRL_R_OFFLINE: {
        if (ctrl_ctx_is_live(ctx, broker))
            ctrl_out_add_stop(out, broker, topic->name, part->partition, false);
        if (!part->has_lai) {
            ctrl_out_add_um(out, ctx, topic, part, -1);
            break;
        }
        int dep = remove_from_isr(ctx, topic, part, broker, out);
        if (!topic->deleting)
            for (size_t i = 0; i < part->replicas.n; i++)
                if (part->replicas.v[i] != broker && ctrl_ctx_is_live(ctx, part->replicas.v[i]))
                    ctrl_out_add_lai(out, ctx, part->replicas.v[i], topic, part, false, dep);
        ctrl_out_add_um(out, ctx, topic, part, dep);
        break;
    }
    case CTRL_R_DELETION_STARTED:
        if (ctrl_ctx_is_live(ctx, broker))
            ctrl_out_add_stop(out, broker, topic->name, part->partition, true);
        break;
    case CTRL_R_DELETION_SUCCESSFUL:
    case CTRL_R_DELETION_INELIGIBLE:
        break;
    case CTRL_R_NONEXISTENT:
        ilist_remove(&part->replicas, broker);
        break;
    }
    r->state = target;
    return 0;
}

int ctrl_rsm_handle(ctrl_ctx_t *ctx, const ctrl_rep_t *reps, size_t n, enum ctrl_rstate target, ctrl_out_t *out)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        ctrl_topic_t *topic = ctrl_ctx_topic(ctx, reps[i].topic);
        ctrl_part_t *part = ctrl_ctx_part(ctx, reps[i].topic, reps[i].partition);
        ctrl_replica_t *r = part ? ctrl_part_replica(part, reps[i].broker, true) : NULL;
        if (!r || !valid_from(r->state, target)) {
            if (r)
                LOG_W("controller", "invalid replica state change %s-%d replica %d: %s -> %s", reps[i].topic,
                      (int)reps[i].partition, (int)reps[i].broker, ctrl_rstate_name(r->state),
                      ctrl_rstate_name(target));
            failed++;
            continue;
        }
        if (transition(ctx, topic, part, r, target, out) < 0)
            failed++;
    }
    return failed;
}
