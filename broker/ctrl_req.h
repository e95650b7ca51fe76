/* ctrl_req.h — turns a controller step's requests (ctrl_out_t) into the Kafka protocol
 * structs of proto/kafka_msgs.h: LeaderAndIsr and StopReplica per broker, UpdateMetadata
 * for every broker in out->um_brokers.
 *
 * Everything built lives in the caller's arena (strings and arrays are copied there), so
 * the request stays valid after the ctrl_out_t is freed. Entries whose write failed
 * (failed[dep] true) are left out, as ctrl_ctx.h describes. Pure. */
#ifndef GREGOR_BROKER_CTRL_REQ_H
#define GREGOR_BROKER_CTRL_REQ_H

#include <stdbool.h>

#include "broker/ctrl_ctx.h"
#include "common/arena.h"
#include "proto/kafka_msgs.h"

/* The registration of a live broker (for endpoints and racks), or NULL. */
typedef const zkpaths_broker_t *(*ctrl_req_lookup_fn)(void *arg, int32_t broker);

typedef struct ctrl_req_env_s {
    const bool *failed;         /* per write index; NULL = every write succeeded */
    ctrl_req_lookup_fn lookup;
    void *arg;
    const char *listener;       /* inter-broker listener name for LiveLeaders (NULL = first endpoint) */
} ctrl_req_env_t;

/* Kafka's security protocol id for a name (PLAINTEXT 0, SSL 1, SASL_PLAINTEXT 2,
 * SASL_SSL 3), -1 if unknown. */
int16_t ctrl_req_protocol_id(const char *name);

/* LeaderAndIsr for broker at version (0..4). Returns the number of partition states in it
 * (0: nothing to send). */
int ctrl_req_leader_and_isr(const ctrl_out_t *out, const ctrl_ctx_t *ctx, int32_t broker, int version,
                            const ctrl_req_env_t *env, arena_t *a, kp_LeaderAndIsrRequest *req);

/* UpdateMetadata at version (0..6) with every live broker and the step's partition states;
 * the same request goes to each broker of out->um_brokers. Returns the number of
 * partition states. */
int ctrl_req_update_metadata(const ctrl_out_t *out, const ctrl_ctx_t *ctx, int version, const ctrl_req_env_t *env,
                             arena_t *a, kp_UpdateMetadataRequest *req);

/* StopReplica for broker with DeletePartitions = del, version 0..2. Returns the number of
 * partitions (0: nothing to send). */
int ctrl_req_stop_replica(const ctrl_out_t *out, const ctrl_ctx_t *ctx, int32_t broker, bool del, int version,
                          arena_t *a, kp_StopReplicaRequest *req);

#endif
