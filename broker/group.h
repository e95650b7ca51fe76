/* group.h — the consumer group coordinator: Kafka 2.4's GroupCoordinator as a pure state
 * machine (classic rebalance protocol, committed offsets, offset retention).
 *
 * Pure: no sockets, no files, no clock. Every input carries now_ms; outputs are queued and
 * the driver (the broker) takes them after each call with group_take_outputs:
 *
 *   GROUP_OUT_RESPONSE  a response to send: `resp` is the kp_<Api>Response (proto/kafka_msgs.h)
 *                       for api_key at `version`, for the request identified by `token`. Some
 *                       come out later than their request (JoinGroup waits for the rebalance,
 *                       SyncGroup for the leader's assignment and its durability, OffsetCommit
 *                       for durability) — possibly from another call, e.g. group_tick.
 *   GROUP_OUT_APPEND    records (one record batch v2, offsets from 0) to append to partition
 *                       `partition` of __consumer_offsets. The driver appends them and reports
 *                       with group_append_done(append_id, error, base offset): responses that
 *                       wait for durability come out then. (Tombstones written on group deletion
 *                       and offset expiry need no report; reporting them is harmless.)
 *
 * Timers: group_next_deadline says when group_tick must run next (session timeouts, rebalance
 * timeouts, the initial rebalance delay, pending-member timeouts, offset expiry checks);
 * re-read it after every call.
 *
 * Ownership of __consumer_offsets partitions: a group is served only when its partition
 * (offsets_partition_for) has been loaded: group_load_begin, group_load_feed (the partition's
 * log, any number of byte ranges, in order), group_load_end. Meanwhile requests for its groups
 * get COORDINATOR_LOAD_IN_PROGRESS; groups of partitions never loaded get NOT_COORDINATOR.
 * group_unload gives a partition up (leadership moved): its groups are dropped and their
 * waiting members answered with NOT_COORDINATOR.
 *
 * Behaviour follows Kafka 2.4 (GroupCoordinator.scala, GroupMetadata.scala,
 * GroupMetadataManager.scala): states Empty, PreparingRebalance, CompletingRebalance, Stable,
 * Dead; member ids "<client.id or group.instance.id>-<uuid>"; JoinGroup v4+ without an
 * instance id gets MEMBER_ID_REQUIRED and must rejoin with the id (pending members time out
 * after the session timeout); the first member becomes leader; the protocol is the one all
 * members support that most members prefer; a group rebalancing from Empty waits
 * group.initial.rebalance.delay.ms (extended while new members arrive, up to the rebalance
 * timeout); a rebalance completes when every member has rejoined or the rebalance timeout
 * passes (members that did not rejoin are removed); session timeouts remove members;
 * static members (group.instance.id) rejoining with an unknown member id take over their old
 * entry without a rebalance; offset commits are checked against the generation and member
 * (generation -1 with an empty group = a simple commit, as kafka-consumer-groups.sh
 * --reset-offsets does); offsets expire offsets_retention_ms after the group became empty
 * (or after the commit, for simple consumers / topics the group no longer subscribes to).
 *
 * Differences from Kafka, deliberate: OffsetCommit v0 / OffsetFetch v0 (which Kafka keeps in
 * ZooKeeper) are served from the same store as v1+; authorization does not exist (DescribeGroups
 * reports the operations READ, DELETE, DESCRIBE as authorized). */
#ifndef GREGOR_BROKER_GROUP_H
#define GREGOR_BROKER_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "proto/kafka_msgs.h"

typedef enum {
    GROUP_EMPTY = 0,
    GROUP_PREPARING_REBALANCE,
    GROUP_COMPLETING_REBALANCE,
    GROUP_STABLE,
    GROUP_DEAD,
} group_state_t;

/* Kafka's names: "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead". */
const char *group_state_name(group_state_t s);

typedef struct group_config_s {
    int32_t num_partitions;               /* offsets.topic.num.partitions (50) */
    int32_t min_session_timeout_ms;       /* group.min.session.timeout.ms (6000) */
    int32_t max_session_timeout_ms;       /* group.max.session.timeout.ms (1800000) */
    int32_t initial_rebalance_delay_ms;   /* group.initial.rebalance.delay.ms (3000) */
    int32_t max_group_size;               /* group.max.size (INT32_MAX) */
    int64_t offsets_retention_ms;         /* offsets.retention.minutes * 60000 (7 days) */
    int64_t offsets_retention_check_ms;   /* offsets.retention.check.interval.ms (600000) */
    int32_t max_metadata_size;            /* offset.metadata.max.bytes (4096) */
    uint64_t seed;                        /* randomness for member ids (the driver seeds it) */
    /* Does this topic partition exist? (OffsetCommit answers UNKNOWN_TOPIC_OR_PARTITION if
     * not.) NULL: every partition exists. Must not call back into the coordinator. */
    bool (*partition_exists)(void *arg, kp_str_t topic, int32_t partition);
    void *arg;
} group_config_t;

/* Kafka's defaults. */
void group_config_defaults(group_config_t *cfg);

typedef struct group_coord_s group_coord_t;

/* A new coordinator owning no partitions. cfg is copied. */
group_coord_t *group_coord_new(const group_config_t *cfg);
/* Frees everything, including outputs not taken. */
void group_coord_free(group_coord_t *gc);

/* ---- requests ------------------------------------------------------------------------------ */

/* Who asked: `token` is the driver's handle for the response (e.g. connection + correlation id),
 * returned unchanged in the GROUP_OUT_RESPONSE. The request structs are read during the call
 * only (everything kept is copied). */
typedef struct group_req_s {
    uint64_t token;
    int16_t version;
    const char *client_id;    /* request header client id (NULL = "") */
    const char *client_host;  /* as Kafka shows it, e.g. "/127.0.0.1" (NULL = "") */
} group_req_t;

void group_join(group_coord_t *gc, const group_req_t *rq, const kp_JoinGroupRequest *req, int64_t now_ms);
void group_sync(group_coord_t *gc, const group_req_t *rq, const kp_SyncGroupRequest *req, int64_t now_ms);
void group_heartbeat(group_coord_t *gc, const group_req_t *rq, const kp_HeartbeatRequest *req, int64_t now_ms);
void group_leave(group_coord_t *gc, const group_req_t *rq, const kp_LeaveGroupRequest *req, int64_t now_ms);
void group_offset_commit(group_coord_t *gc, const group_req_t *rq, const kp_OffsetCommitRequest *req,
                         int64_t now_ms);
void group_offset_fetch(group_coord_t *gc, const group_req_t *rq, const kp_OffsetFetchRequest *req, int64_t now_ms);
void group_describe(group_coord_t *gc, const group_req_t *rq, const kp_DescribeGroupsRequest *req, int64_t now_ms);
void group_list(group_coord_t *gc, const group_req_t *rq, int64_t now_ms);
void group_delete(group_coord_t *gc, const group_req_t *rq, const kp_DeleteGroupsRequest *req, int64_t now_ms);

/* ---- time and durability --------------------------------------------------------------------- */

/* Runs every timer due at now_ms. */
void group_tick(group_coord_t *gc, int64_t now_ms);
/* The earliest time group_tick must run (INT64_MAX: nothing scheduled). */
int64_t group_next_deadline(const group_coord_t *gc);
/* The append `append_id` finished: error 0 = durable, else the Kafka error of the append
 * (mapped as Kafka maps them for the waiting responses). base_offset = the log offset of the
 * batch's first record. Unknown ids are ignored. */
void group_append_done(group_coord_t *gc, uint64_t append_id, int16_t error, int64_t base_offset, int64_t now_ms);

/* ---- __consumer_offsets partitions ------------------------------------------------------------ */

/* 0, or -1 for a partition number out of range or a partition already owned/loading. */
int group_load_begin(group_coord_t *gc, int32_t partition);
/* Log data (record batches) of the partition, in log order. 0 or a negated Kafka error code. */
int group_load_feed(group_coord_t *gc, int32_t partition, const uint8_t *data, size_t len);
/* Builds the groups and offsets read and starts serving them (members of loaded groups get a
 * fresh session timeout from now_ms). */
void group_load_end(group_coord_t *gc, int32_t partition, int64_t now_ms);
void group_unload(group_coord_t *gc, int32_t partition, int64_t now_ms);
/* The partition of a group id. */
int32_t group_partition_for(const group_coord_t *gc, kp_str_t group_id);

/* ---- outputs ------------------------------------------------------------------------------- */

typedef enum { GROUP_OUT_RESPONSE = 1, GROUP_OUT_APPEND = 2 } group_out_kind_t;

typedef struct group_out_s group_out_t;
struct group_out_s {
    group_out_kind_t kind;
    group_out_t *next;
    /* GROUP_OUT_RESPONSE */
    uint64_t token;
    int16_t api_key;          /* KP_JOIN_GROUP, ... */
    int16_t version;
    void *resp;               /* kp_<Api>Response, allocated in `arena` */
    /* GROUP_OUT_APPEND */
    int32_t partition;
    uint64_t append_id;
    buf_t records;
    arena_t arena;            /* everything `resp` points to */
};

/* Takes every queued output, oldest first, as a list linked by `next`; the caller owns them
 * and frees each with group_out_free. NULL if none. */
group_out_t *group_take_outputs(group_coord_t *gc);
void group_out_free(group_out_t *o);

/* ---- inspection (tests, tools, metrics) ------------------------------------------------------ */

/* false if the group is unknown here. */
bool group_inspect(const group_coord_t *gc, const char *group_id, group_state_t *state, int32_t *generation,
                   int32_t *members);
size_t group_count(const group_coord_t *gc);

#endif
