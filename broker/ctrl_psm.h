/* ctrl_psm.h — the controller's partition state machine (Kafka's PartitionStateMachine
 * and PartitionLeaderElectionAlgorithms).
 *
 * States: NonExistent -> New -> Online <-> Offline -> NonExistent. Valid previous states
 * of each target (as Kafka): New <- NonExistent; Online <- New, Online, Offline;
 * Offline <- New, Online, Offline; NonExistent <- Offline.
 *
 * New -> Online creates the partition state znode (leader = first live replica in
 * assignment order, ISR = live replicas, leader epoch 0). Online/Offline -> Online elects
 * a leader with a strategy and writes the state znode conditionally on its zkVersion.
 * Every change adds LeaderAndIsr for the live replicas and UpdateMetadata for all live
 * brokers to the step output (ctrl_ctx.h says how the driver carries it out).
 *
 * Pure: state in, data out. */
#ifndef GREGOR_BROKER_CTRL_PSM_H
#define GREGOR_BROKER_CTRL_PSM_H

#include <stdbool.h>

#include "broker/ctrl_ctx.h"

enum ctrl_election {
    CTRL_ELECT_OFFLINE,             /* first live replica (assignment order) in ISR; else unclean if enabled */
    CTRL_ELECT_REASSIGN,            /* first live in-ISR replica of the target assignment */
    CTRL_ELECT_PREFERRED,           /* the first replica, if live and in ISR */
    CTRL_ELECT_CONTROLLED_SHUTDOWN, /* first live in-ISR replica not shutting down */
};

typedef struct ctrl_tp_s {
    const char *topic;
    int32_t partition;
} ctrl_tp_t;

/* The election algorithms. Each returns the new leader or CTRL_NO_LEADER. live/shutting
 * are sorted broker id lists. */
int32_t ctrl_elect_offline(const zkpaths_ilist_t *assignment, const zkpaths_ilist_t *isr, const zkpaths_ilist_t *live,
                           bool unclean, bool *was_unclean);
int32_t ctrl_elect_reassign(const zkpaths_ilist_t *reassignment, const zkpaths_ilist_t *isr,
                            const zkpaths_ilist_t *live);
int32_t ctrl_elect_preferred(const zkpaths_ilist_t *assignment, const zkpaths_ilist_t *isr,
                             const zkpaths_ilist_t *live);
int32_t ctrl_elect_controlled_shutdown(const zkpaths_ilist_t *assignment, const zkpaths_ilist_t *isr,
                                       const zkpaths_ilist_t *live, const zkpaths_ilist_t *shutting);

/* Moves each partition to target (strategy is used for -> Online of a partition that has
 * a state znode). Partitions that cannot move (invalid transition, unknown, no live
 * replica, no eligible leader) keep their state. Returns how many failed. */
int ctrl_psm_handle(ctrl_ctx_t *ctx, const ctrl_tp_t *tps, size_t n, enum ctrl_pstate target,
                    enum ctrl_election strategy, ctrl_out_t *out);
/* Kafka's triggerOnlinePartitionStateChange: every New or Offline partition of a topic
 * not being deleted -> Online with the offline election. Returns how many failed. */
int ctrl_psm_trigger_online(ctrl_ctx_t *ctx, ctrl_out_t *out);

#endif
