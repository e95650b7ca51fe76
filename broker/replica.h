/* replica.h — the partitions this broker hosts (Kafka's ReplicaManager + Partition): their
 * roles from LeaderAndIsr / StopReplica, Produce (validation, offsets, idempotent-producer
 * sequence checks, acks), Fetch (long poll in a purgatory, zero-copy reads, down-conversion),
 * ListOffsets, DeleteRecords, OffsetForLeaderEpoch. Prefix brep_.
 *
 * One code path for one or many brokers: as leader a partition tracks its followers' LEOs
 * from their Fetch offsets (rep_isr.h), keeps HW = min LEO over the ISR, shrinks the ISR after
 * replica.lag.time.max.ms and expands it when a follower catches up (writing the partition
 * state znode conditionally, then /isr_change_notification, as Kafka 2.4's leader does).
 * Followers keep their state; the replication fetchers arrive with the next issue.
 * Idempotent producers: rep_pstate.h, rebuilt from the log (batch headers) at the first
 * produce with a producer id after the partition becomes leader.
 * Transactions are not supported: transactional produce requests and batches are refused
 * with TRANSACTIONAL_ID_AUTHORIZATION_FAILED. */
#ifndef GREGOR_BROKER_REPLICA_H
#define GREGOR_BROKER_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"

brep_t *brep_new(broker_t *b);
void brep_free(brep_t *r);

/* Result of an internal append: error (0 = none, a Kafka code) and the base offset given to
 * the batch. */
typedef void (*brep_append_cb)(void *arg, int16_t error, int64_t base_offset);
/* Appends one record batch v2 (offsets from 0) to a partition this broker leads, as a
 * producer with acks=all would (the group coordinator's writes to __consumer_offsets).
 * batch is copied. cb is called exactly once, possibly before this returns. */
void brep_append_internal(brep_t *r, const char *topic, int32_t partition, const uint8_t *batch, size_t len,
                          brep_append_cb cb, void *arg);

/* Told when this broker becomes leader of a partition (leader = true, after its log is open)
 * or stops leading it (false). One listener per call; called for every partition. */
typedef void (*brep_leader_fn)(void *arg, const char *topic, int32_t partition, bool leader, int32_t leader_epoch);
void brep_watch_leadership(brep_t *r, brep_leader_fn fn, void *arg);
bool brep_is_leader(const brep_t *r, const char *topic, int32_t partition);

/* /config/topics/T changed (admin.h saw the notification): re-read it and apply it to the
 * topic's logs. */
void brep_topic_config_changed(brep_t *r, const char *topic);

#endif
