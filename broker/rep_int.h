/* rep_int.h — what the replica manager's files share (replica.c: partitions, roles, ISR,
 * ListOffsets/DeleteRecords/OffsetForLeaderEpoch, life cycle; rep_produce.c: the append path,
 * idempotence and the produce purgatory; rep_fetch.c: Fetch and its purgatory). Internal to
 * those files: nothing else includes it. Prefix rep_. */
#ifndef GREGOR_BROKER_REP_INT_H
#define GREGOR_BROKER_REP_INT_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/rep_isr.h"
#include "broker/rep_pstate.h"
#include "broker/replica.h"
#include "common/hmap.h"
#include "proto/kafka_api.h"

#define REP_MAX_LISTENERS 8

/* ---- topic configuration ---- */

typedef struct rtcfg_s {
    plog_config_t log;
    int ts_type;                 /* message.timestamp.type */
    int codec;                   /* compression.type; -1 = producer */
    int32_t min_isr;             /* min.insync.replicas */
} rtcfg_t;

typedef struct rpart_s {
    char *topic;
    int32_t partition;
    bool leader;
    int32_t leader_id, leader_epoch, controller_epoch, zk_version;
    risr_t rs;                   /* replicas, ISR, followers' LEOs (rep_isr.h) */
    plog_t *log;                 /* owned by the log manager */
    rps_t *pst;                  /* idempotent producers (rebuilt from the log when first needed) */
    bool pst_built;
    bool isr_updating;           /* a write of the state znode is in flight */
    rtcfg_t cfg;
} rpart_t;

typedef struct listener_s {
    brep_leader_fn fn;
    void *arg;
} listener_t;

typedef struct dfetch_s dfetch_t;
typedef struct dprod_s dprod_t;
typedef struct zread_s zread_t;
typedef struct isr_op_s isr_op_t;

struct brep_s {
    broker_t *b;
    hmap_t parts;                /* pkey -> rpart_t */
    hmap_t topics;               /* topic -> rtcfg_t (last read) */
    listener_t listeners[REP_MAX_LISTENERS];
    int nlisteners;
    int32_t controller_epoch;
    dfetch_t *fetches;           /* parked Fetch requests */
    dprod_t *prods;              /* parked acks=-1 produces and internal appends */
    zread_t *zreads;             /* config reads in flight */
    isr_op_t *isr_ops;           /* ISR writes in flight */
    hmap_t isr_changed;          /* pkey -> topic name: ISR changes not yet announced */
    int64_t last_isr_change_ms, last_isr_propagation_ms;
    struct event *isr_ev;        /* ISR expiration check (replica.lag.time.max.ms / 2) */
    struct event *prop_ev;       /* /isr_change_notification propagation (2.5 s) */
    bool fetchers_logged;
};


typedef struct pkey_s {
    char b[4 + 256];
    size_t len;
} pkey_t;

/* ---- replica.c ---- */
/* A topic name from a request as a C string from the arena; NULL for null or a name with a
 * NUL byte in it (no valid topic has one). */
char *rep_name_dup(arena_t *a, kp_str_t s);
bool rep_pkey_make(pkey_t *k, const char *topic, size_t tlen, int32_t partition);
rpart_t *rep_part_get(const brep_t *r, const char *topic, int32_t partition);
rpart_t *rep_part_get_s(const brep_t *r, kp_str_t topic, int32_t partition);
/* The error for a partition this broker cannot serve as leader (NOT_LEADER_FOR_PARTITION if
 * the cluster knows it, else UNKNOWN_TOPIC_OR_PARTITION). */
int16_t rep_not_here(const brep_t *r, const char *topic, int32_t partition);
/* The leader partition for (topic, partition), or NULL with *err set. */
rpart_t *rep_leader_part(const brep_t *r, arena_t *a, kp_str_t topic, int32_t partition, int16_t *err);
/* HW = min LEO over the ISR; wakes waiters when it moves. True if it moved. */
bool rep_maybe_increment_hw(brep_t *r, rpart_t *p);
/* A follower that caught up to the HW joins the ISR. */
void rep_maybe_expand_isr(brep_t *r, rpart_t *p);
/* Wakes (deferred) the parked fetches and produces that involve the partition. */
void rep_wake_partition(brep_t *r, const char *topic, int32_t partition);

/* ---- rep_produce.c ---- */
void rep_on_produce(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg);
void rep_produce_wake(brep_t *r, const char *topic, int32_t partition);
/* Completes every parked produce with an error (module shutdown). */
void rep_produce_shutdown(brep_t *r);

/* ---- rep_fetch.c ---- */
void rep_on_fetch(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg);
void rep_fetch_wake(brep_t *r, const char *topic, int32_t partition);
/* Closes every parked fetch (module shutdown). */
void rep_fetch_shutdown(brep_t *r);

#endif
