/* ctrl_core.h — the controller's reactions to events (Kafka's KafkaController
 * onControllerFailover / onBrokerStartup / onBrokerFailure / onNewPartitionCreation /
 * TopicDeletionManager / onReplicaElection / controlled shutdown), over the partition and
 * replica state machines.
 *
 * Pure: the driver turns watches and responses into these calls, having first loaded what
 * they need into the context (assignments, partition states, the live set), and carries
 * out the ctrl_out_t each call fills (see ctrl_ctx.h). */
#ifndef GREGOR_BROKER_CTRL_CORE_H
#define GREGOR_BROKER_CTRL_CORE_H

#include "broker/ctrl_psm.h"
#include "broker/ctrl_rsm.h"

/* Failover: the context holds every topic (assignment) and every existing partition
 * state (ctrl_ctx_set_state) and the live set. Initializes partition and replica states
 * from them, sends UpdateMetadata to every live broker, brings live replicas online and
 * elects leaders for partitions without one. */
void ctrl_core_startup(ctrl_ctx_t *ctx, ctrl_out_t *out);

/* /brokers/ids changed: the new live set. Handles new brokers (metadata, replicas online,
 * elections, resumed topic deletions) and then dead ones (leaders moved, replicas
 * offline, ISR shrunk). */
void ctrl_core_brokers_changed(ctrl_ctx_t *ctx, const int32_t *ids, const int64_t *epochs, size_t n,
                              ctrl_out_t *out);

/* New topic (from /brokers/topics children) with its decoded assignment: partitions and
 * replicas go New, then Online (state znodes created, LeaderAndIsr isNew). Returns 0, or
 * -1 if the topic exists or its assignment is not usable (ignored, as Kafka logs it). */
int ctrl_core_topic_created(ctrl_ctx_t *ctx, const char *name, const zkpaths_topic_t *t, ctrl_out_t *out);

/* /brokers/topics/T changed: new partitions (beyond the known count) are created.
 * Returns how many were added, -1 if the change is not an addition. */
int ctrl_core_partitions_added(ctrl_ctx_t *ctx, const char *name, const zkpaths_topic_t *t, ctrl_out_t *out);

/* /admin/delete_topics children: start deleting those topics (unknown names get their
 * marker removed). With delete.topic.enable=false the markers are removed and nothing
 * else happens (Kafka 2.x). */
void ctrl_core_delete_topics(ctrl_ctx_t *ctx, const char *const *names, size_t n, ctrl_out_t *out);

/* A StopReplica(delete=true) response for one partition replica. When every replica of a
 * deleting topic has been deleted the topic's znodes are removed and it leaves the
 * context. */
void ctrl_core_stop_replica_done(ctrl_ctx_t *ctx, int32_t broker, const char *topic, int32_t partition,
                                 int16_t error_code, ctrl_out_t *out);

/* Preferred replica election for the listed partitions (or all, if n == 0) whose leader
 * is not their preferred replica. Returns how many could not be moved. */
int ctrl_core_preferred_election(ctrl_ctx_t *ctx, const ctrl_tp_t *tps, size_t n, ctrl_out_t *out);

/* /isr_change_notification: the driver re-read these partitions' states into the
 * context; this sends UpdateMetadata for them. */
void ctrl_core_isr_changed(ctrl_ctx_t *ctx, const ctrl_tp_t *tps, size_t n, ctrl_out_t *out);

/* ControlledShutdown from broker: leadership moves away from it, its follower replicas go
 * offline. Returns how many partitions it still leads (Kafka's
 * partitionsRemaining), or -1 if the broker is not live. */
int ctrl_core_controlled_shutdown(ctrl_ctx_t *ctx, int32_t broker, ctrl_out_t *out);

#endif
