/* gc_drv.h — the group coordinator's driver logic, separated from the broker's modules so
 * that it can be tested alone (prefix gcd_).
 *
 * Owns: the pure coordinator (group.h), the map from request tokens to the server's request
 * contexts, the appends to __consumer_offsets in flight, the creation of __consumer_offsets
 * on first use, and the loading of its partitions when this broker becomes their leader.
 * Everything it needs from the rest of the broker comes through gcd_env_t (gcoord.c plugs in
 * server.h, replica.h, meta.h, admin.h and logmgr.h; tests plug in fakes).
 *
 * Flow: gcd_request takes a decoded request (FindCoordinator and the nine group APIs) and
 * its context; FindCoordinator is answered here, the others go to group.h with a fresh
 * token. After every call into group.h its outputs are taken: responses go to env->respond
 * with the context their token maps to; appends go to env->append, whose completion calls
 * group_append_done and takes the outputs again. A context is handed back exactly once,
 * through env->respond (or env->drop at gcd_free); a response to a client that has gone
 * meanwhile is still handed back (the server just frees it then).
 *
 * Time: gcd_next_deadline says when gcd_tick must run (group timers, and "now" while a
 * partition is loading: a load runs in steps of at most load_step_bytes per tick, so the
 * loop is never blocked long). env->wake is called whenever that deadline may have moved.
 *
 * Not thread-safe: one event loop. */
#ifndef GREGOR_BROKER_GC_DRV_H
#define GREGOR_BROKER_GC_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/group.h"
#include "broker/log.h"
#include "proto/kafka_api.h"

/* Completion of an append or a topic creation: exactly once, possibly before the call that
 * started it returns. */
typedef void (*gcd_append_cb)(void *arg, int16_t error, int64_t base_offset);
typedef void (*gcd_create_cb)(void *arg, int16_t error, const char *message);

typedef struct gcd_env_s {
    void *arg;
    /* Answers the request context ctx with resp (a kp_<Api>Response of the request's API, to
     * be encoded at its version) and releases ctx. resp is only read during the call. */
    void (*respond)(void *arg, void *ctx, const void *resp);
    /* Releases ctx without an answer (shutdown). */
    void (*drop)(void *arg, void *ctx);
    /* Appends one record batch v2 (offsets from 0) to __consumer_offsets-partition; batch is
     * copied. */
    void (*append)(void *arg, int32_t partition, const uint8_t *batch, size_t len, gcd_append_cb cb, void *cbarg);
    /* Partitions of a topic, -1 if the metadata does not know it. */
    int32_t (*partition_count)(void *arg, const char *topic);
    /* Leader broker of a partition: 0 with *leader (-1 = none), or negative (unknown). */
    int (*leader)(void *arg, const char *topic, int32_t partition, int32_t *leader);
    /* Endpoint of a live broker on the listener with index `listener`: 0, or -1. *host stays
     * valid until the driver returns to the loop. */
    int (*endpoint)(void *arg, int32_t broker, int listener, const char **host, int32_t *port);
    /* Creates a topic (config: n key/value pairs, copied). */
    void (*create_topic)(void *arg, const char *topic, int32_t partitions, int16_t replication_factor,
                         const char *const *config, size_t nconfig, gcd_create_cb cb, void *cbarg);
    /* The log of __consumer_offsets-partition, NULL if this broker has none. */
    plog_t *(*log_get)(void *arg, int32_t partition);
    /* Wall clock, ms. */
    int64_t (*now)(void *arg);
    /* gcd_next_deadline may have changed (may be NULL). */
    void (*wake)(void *arg);
} gcd_env_t;

typedef struct gcd_config_s {
    group_config_t group;            /* partition_exists/arg are set by the driver */
    int16_t replication_factor;      /* offsets.topic.replication.factor (3) */
    int32_t segment_bytes;           /* offsets.topic.segment.bytes (104857600) */
    size_t load_step_bytes;          /* bytes of log read per gcd_tick while loading; 0: 4 MiB */
} gcd_config_t;

/* Kafka's defaults. */
void gcd_config_defaults(gcd_config_t *c);

typedef struct gcd_s gcd_t;

/* cfg and env are copied. */
gcd_t *gcd_new(const gcd_config_t *cfg, const gcd_env_t *env);
/* Hands every parked context to env->drop; appends and creations still in flight are
 * detached (their completions then only free their own memory). */
void gcd_free(gcd_t *d);

/* One decoded request (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups) with its context.
 * listener: the index of the listener it came in on; peer: "ip:port" of the client. The
 * request is read during the call only. Returns 0, or -1 for an API the driver does not
 * serve (ctx is then not taken). */
int gcd_request(gcd_t *d, void *ctx, const kp_request_t *req, int listener, const char *peer);

/* Runs group timers due and a step of any partition load. */
void gcd_tick(gcd_t *d);
/* When gcd_tick must run next (absolute ms; INT64_MAX: nothing to do). */
int64_t gcd_next_deadline(const gcd_t *d);

/* This broker became (leader = true) or stopped being the leader of __consumer_offsets-
 * partition. Becoming leader starts a load (done by gcd_tick); losing it unloads the
 * partition's groups. */
void gcd_leadership(gcd_t *d, int32_t partition, bool leader);

/* ---- inspection (tests) ---- */

group_coord_t *gcd_group_coord(gcd_t *d);
/* Requests waiting in the coordinator for their answer. */
size_t gcd_parked(const gcd_t *d);
/* true if the partition is loaded (served). */
bool gcd_loaded(const gcd_t *d, int32_t partition);
/* true while a creation of __consumer_offsets is in flight. */
bool gcd_creating(const gcd_t *d);

#endif
