/* gcoord.h — the group coordinator's driver: FindCoordinator, JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups
 * over the pure group.h core; __consumer_offsets created on first use, its partitions loaded
 * when this broker becomes their leader, writes appended through replica.h. Prefix bgc_.
 *
 * The logic lives in gc_drv.h (testable without a broker); this module plugs it into the
 * broker: handlers registered with the server (bsrv_respond answers, bsrv_close drops at
 * shutdown), brep_append_internal for appends, brep_watch_leadership for loading/unloading,
 * bmeta_partition_count / bmeta_leader / bmeta_endpoint (the listener the request came in
 * on) for FindCoordinator and OffsetCommit's partition check, badm_create_topic for
 * __consumer_offsets (offsets.topic.num.partitions, offsets.topic.replication.factor,
 * cleanup.policy=compact, compression.type=producer, segment.bytes =
 * offsets.topic.segment.bytes), lmgr_get for the logs to load, and one evtimer for the
 * group timers and the load steps.
 *
 * As Kafka 2.4: with fewer live brokers than offsets.topic.replication.factor the topic cannot
 * be created and FindCoordinator answers COORDINATOR_NOT_AVAILABLE (a warning in the log says
 * which setting to change); the shipped server.properties sets it to 1. */
#ifndef GREGOR_BROKER_GCOORD_H
#define GREGOR_BROKER_GCOORD_H

#include "broker/broker.h"

/* Needs b->srv, b->rep, b->meta, b->admin and b->logs; NULL on failure (logged). */
bgc_t *bgc_new(broker_t *b);
/* Requests still parked in the coordinator are dropped (bsrv_close); appends and topic
 * creations in flight are detached. Clears b->groups if it is g. */
void bgc_free(bgc_t *g);

#endif
