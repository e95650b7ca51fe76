/* ctrl_rsm.h — the controller's replica state machine (Kafka's ReplicaStateMachine).
 *
 * States and their valid previous states (as Kafka 2.4):
 *   NewReplica                <- NonExistentReplica
 *   OnlineReplica             <- New, Online, Offline, ReplicaDeletionIneligible
 *   OfflineReplica            <- New, Online, Offline, ReplicaDeletionIneligible
 *   ReplicaDeletionStarted    <- Offline
 *   ReplicaDeletionSuccessful <- ReplicaDeletionStarted
 *   ReplicaDeletionIneligible <- Offline, ReplicaDeletionStarted
 *   NonExistentReplica        <- ReplicaDeletionSuccessful
 *
 * Actions: New sends LeaderAndIsr (isNew) to the replica if the partition has a leader;
 * Online sends LeaderAndIsr to the replica (and adds it to the assignment if it came
 * from New and is not there); Offline sends StopReplica(delete=false) to the replica,
 * removes it from the ISR in the state znode (leader -1 if it led; the last ISR member
 * stays, as Kafka 2.x), and sends LeaderAndIsr to the other replicas and UpdateMetadata;
 * DeletionStarted sends StopReplica(delete=true); NonExistent drops the replica from the
 * assignment. Pure. */
#ifndef GREGOR_BROKER_CTRL_RSM_H
#define GREGOR_BROKER_CTRL_RSM_H

#include "broker/ctrl_ctx.h"

typedef struct ctrl_rep_s {
    const char *topic;
    int32_t partition;
    int32_t broker;
} ctrl_rep_t;

/* Moves each replica to target; returns how many could not move (their state is kept). */
int ctrl_rsm_handle(ctrl_ctx_t *ctx, const ctrl_rep_t *reps, size_t n, enum ctrl_rstate target, ctrl_out_t *out);

#endif
