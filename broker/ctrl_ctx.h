/* ctrl_ctx.h — the controller's view of the cluster (Kafka's ControllerContext) and the
 * output of one controller step (its zk writes and the requests to send, Kafka's
 * ControllerBrokerRequestBatch), shared by the partition and replica state machines
 * (ctrl_psm.h, ctrl_rsm.h) and the event reactions (ctrl_core.h).
 *
 * Pure data: no sockets, files or clocks. The driver (controller.c) fills the context from
 * the coordinator, feeds events, then carries out a ctrl_out_t:
 *
 *   1. the writes, in order, each inside multi(check(/controller_epoch, epoch_zk_version),
 *      op) (epoch fencing). The context was already updated as if each write succeeded
 *      (a setData at version v leaves v + 1, a create leaves 0).
 *   2. if a write fails (BADVERSION: a partition leader changed the ISR meanwhile), the
 *      driver drops the requests whose dep is that write's index, re-reads the partition
 *      state into the context (ctrl_ctx_set_state) and re-runs the election for it.
 *   3. the requests, per broker (to live brokers only).
 *
 * Memory: the context owns everything in it; a ctrl_out_t owns its entries (copies). */
#ifndef GREGOR_BROKER_CTRL_CTX_H
#define GREGOR_BROKER_CTRL_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/zkpaths.h"
#include "common/hmap.h"

/* Kafka's LeaderAndIsr.NoLeader and LeaderDuringDelete. */
#define CTRL_NO_LEADER (-1)
#define CTRL_LEADER_DURING_DELETE (-2)

enum ctrl_pstate {
    CTRL_P_NONEXISTENT = 0,
    CTRL_P_NEW,
    CTRL_P_ONLINE,
    CTRL_P_OFFLINE,
};

enum ctrl_rstate {
    CTRL_R_NONEXISTENT = 0,
    CTRL_R_NEW,
    CTRL_R_ONLINE,
    CTRL_R_OFFLINE,
    CTRL_R_DELETION_STARTED,
    CTRL_R_DELETION_SUCCESSFUL,
    CTRL_R_DELETION_INELIGIBLE,
};

const char *ctrl_pstate_name(enum ctrl_pstate s);  /* "OnlinePartition", ... as Kafka logs */
const char *ctrl_rstate_name(enum ctrl_rstate s);  /* "OnlineReplica", ... */

/* A partition's leader and ISR as stored in its state znode, plus that znode's version. */
typedef struct ctrl_lai_s {
    int32_t leader;
    int32_t leader_epoch;
    zkpaths_ilist_t isr;
    int32_t zk_version;
    int32_t controller_epoch;   /* of the controller that wrote it */
} ctrl_lai_t;

typedef struct ctrl_replica_s {
    int32_t broker;
    enum ctrl_rstate state;
} ctrl_replica_t;

typedef struct ctrl_part_s {
    int32_t partition;
    zkpaths_ilist_t replicas;   /* assignment, first = preferred leader */
    zkpaths_ilist_t adding;     /* reassignment in progress (2.4+) */
    zkpaths_ilist_t removing;
    enum ctrl_pstate state;
    bool has_lai;               /* the state znode exists */
    ctrl_lai_t lai;
    ctrl_replica_t *rs;         /* replica states, one per broker ever assigned */
    size_t n_rs;
} ctrl_part_t;

typedef struct ctrl_topic_s {
    char *name;
    ctrl_part_t *parts;         /* index = partition id (dense 0..n-1) */
    size_t n_parts;
    int unclean;                /* -1 = cluster default, 0/1 = topic override */
    bool deleting;              /* deletion started */
} ctrl_topic_t;

typedef struct ctrl_ctx_s {
    int32_t controller_id;
    int32_t epoch;              /* controller epoch */
    int32_t epoch_zk_version;   /* /controller_epoch version, for the fencing check */
    zkpaths_ilist_t live;       /* live broker ids, sorted */
    int64_t *live_epochs;       /* parallel to live: czxid of /brokers/ids/N */
    zkpaths_ilist_t shutting_down;
    bool unclean_default;       /* unclean.leader.election.enable */
    bool delete_enable;         /* delete.topic.enable */
    hmap_t topics;              /* name -> ctrl_topic_t* */
} ctrl_ctx_t;

void ctrl_ctx_init(ctrl_ctx_t *ctx, int32_t controller_id, int32_t epoch, int32_t epoch_zk_version);
void ctrl_ctx_fini(ctrl_ctx_t *ctx);

bool ctrl_ctx_is_live(const ctrl_ctx_t *ctx, int32_t broker);
/* Replaces the live set (ids need not be sorted; epochs may be NULL). */
void ctrl_ctx_set_live(ctrl_ctx_t *ctx, const int32_t *ids, const int64_t *epochs, size_t n);
int64_t ctrl_ctx_broker_epoch(const ctrl_ctx_t *ctx, int32_t broker);   /* -1 if unknown */

/* Adds a topic with the assignment of t (copied; partitions must be 0..n-1) in state
 * NonExistent for every partition and replica. Returns the topic, or NULL if it exists
 * already or the partitions are not dense. */
ctrl_topic_t *ctrl_ctx_add_topic(ctrl_ctx_t *ctx, const char *name, const zkpaths_topic_t *t);
/* Extends an existing topic by the partitions of t beyond its current count; returns the
 * number added (0 if none), -1 if t is not dense or shrinks the topic. */
int ctrl_ctx_add_partitions(ctrl_ctx_t *ctx, const char *name, const zkpaths_topic_t *t, size_t *first_new);
ctrl_topic_t *ctrl_ctx_topic(const ctrl_ctx_t *ctx, const char *name);
ctrl_part_t *ctrl_ctx_part(const ctrl_ctx_t *ctx, const char *topic, int32_t partition);
void ctrl_ctx_remove_topic(ctrl_ctx_t *ctx, const char *name);
/* Topic names in sorted order (so outputs never depend on hash order): a new array of
 * pointers into the context, valid until topics are added or removed; free() it. */
const char **ctrl_ctx_topic_names(const ctrl_ctx_t *ctx, size_t *n);
/* Sets the partition's leader/ISR from its state znode (copies isr). */
void ctrl_ctx_set_state(ctrl_part_t *part, const zkpaths_pstate_t *st, int32_t zk_version);
/* The replica's state entry (created as NonExistent if absent when create). */
ctrl_replica_t *ctrl_part_replica(ctrl_part_t *part, int32_t broker, bool create);
bool ctrl_ctx_unclean(const ctrl_ctx_t *ctx, const ctrl_topic_t *topic);

/* ---- output of one step ---- */

enum ctrl_zop {
    CTRL_ZOP_CREATE_STATE,  /* create .../P/state (parents .../partitions, .../P with null data if missing) */
    CTRL_ZOP_SET_STATE,     /* setData .../P/state at expected_version */
    CTRL_ZOP_DELETE_TREE,   /* delete path and everything below it (any version) */
    CTRL_ZOP_DELETE,        /* delete path (any version); NONODE is fine */
};

typedef struct ctrl_zwrite_s {
    enum ctrl_zop op;
    char *path;
    buf_t data;                 /* JSON for CREATE/SET */
    int32_t expected_version;   /* SET only */
    char *topic;                /* the partition written, for CREATE/SET */
    int32_t partition;
} ctrl_zwrite_t;

/* One partition's state in a LeaderAndIsr or UpdateMetadata request. */
typedef struct ctrl_preq_s {
    int32_t broker;             /* LeaderAndIsr / StopReplica: the destination */
    char *topic;
    int32_t partition;
    int32_t controller_epoch;
    int32_t leader;
    int32_t leader_epoch;
    zkpaths_ilist_t isr;
    int32_t zk_version;
    zkpaths_ilist_t replicas;
    zkpaths_ilist_t adding;
    zkpaths_ilist_t removing;
    zkpaths_ilist_t offline;    /* UpdateMetadata: replicas on dead brokers */
    bool is_new;                /* LeaderAndIsr: the replica is new */
    bool delete_partition;      /* StopReplica */
    int dep;                    /* index into writes this entry depends on, or -1 */
} ctrl_preq_t;

typedef struct ctrl_out_s {
    ctrl_zwrite_t *writes;
    size_t n_writes;
    ctrl_preq_t *lai;           /* LeaderAndIsr entries, grouped by broker when sent */
    size_t n_lai;
    ctrl_preq_t *um;            /* UpdateMetadata partition states, to all um_brokers */
    size_t n_um;
    zkpaths_ilist_t um_brokers; /* brokers that get an UpdateMetadata (may be with no partitions) */
    ctrl_preq_t *stop;          /* StopReplica entries */
    size_t n_stop;
} ctrl_out_t;

void ctrl_out_init(ctrl_out_t *out);
void ctrl_out_fini(ctrl_out_t *out);
/* Brokers that have at least one LeaderAndIsr / StopReplica entry (sorted, distinct). */
void ctrl_out_lai_brokers(const ctrl_out_t *out, zkpaths_ilist_t *brokers);
void ctrl_out_stop_brokers(const ctrl_out_t *out, zkpaths_ilist_t *brokers);
/* The LeaderAndIsr entry for (broker, topic, partition), or NULL (tests, dedup). */
const ctrl_preq_t *ctrl_out_find_lai(const ctrl_out_t *out, int32_t broker, const char *topic, int32_t partition);
const ctrl_preq_t *ctrl_out_find_um(const ctrl_out_t *out, const char *topic, int32_t partition);
const ctrl_preq_t *ctrl_out_find_stop(const ctrl_out_t *out, int32_t broker, const char *topic, int32_t partition);
const ctrl_zwrite_t *ctrl_out_find_write(const ctrl_out_t *out, enum ctrl_zop op, const char *path);

/* Internal to the controller modules: append entries. The partition's current state (lai,
 * assignment) is copied. dep = index of the write this depends on, or -1. Adding a
 * LeaderAndIsr for a (broker, partition) already in the batch replaces it (Kafka's map). */
void ctrl_out_add_lai(ctrl_out_t *out, const ctrl_ctx_t *ctx, int32_t broker, const ctrl_topic_t *topic,
                      const ctrl_part_t *part, bool is_new, int dep);
/* UpdateMetadata for the partition to brokers (NULL = all live brokers); deleting topics
 * are sent with leader CTRL_LEADER_DURING_DELETE, as Kafka does. */
void ctrl_out_add_um(ctrl_out_t *out, const ctrl_ctx_t *ctx, const ctrl_topic_t *topic, const ctrl_part_t *part,
                     int dep);
void ctrl_out_add_um_brokers(ctrl_out_t *out, const zkpaths_ilist_t *brokers);
void ctrl_out_add_stop(ctrl_out_t *out, int32_t broker, const char *topic, int32_t partition, bool del);
/* Appends a write, returns its index. data may be NULL. */
int ctrl_out_add_write(ctrl_out_t *out, enum ctrl_zop op, char *path_owned, const buf_t *data,
                       int32_t expected_version, const char *topic, int32_t partition);

#endif
