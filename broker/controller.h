/* controller.h — controller election and the controller's driver (Kafka's
 * KafkaController + ControllerChannelManager + ZkClient's controller calls): every broker
 * watches /controller; the one that creates it bumps /controller_epoch and becomes the
 * controller: it loads the cluster into a ctrl_ctx_t, feeds the pure ctrl_core.h one event at
 * a time from coordinator watches (/brokers/ids, /brokers/topics, /admin/delete_topics,
 * /admin/preferred_replica_election, /admin/reassign_partitions, /isr_change_notification),
 * carries out the writes (multi with a /controller_epoch version check) and sends
 * LeaderAndIsr / UpdateMetadata / StopReplica to every broker over the Kafka protocol (to
 * itself too). Every broker serves ControlledShutdown (key 7): the controller queues it as an
 * event and answers with the partitions the broker still leads; others answer
 * NOT_CONTROLLER. Prefix bctl_.
 *
 * Connections to brokers (broker/kcli.h) use the inter-broker listener of each registration
 * and retry a request until it is answered (Kafka's RequestSendThread), so a broker that
 * does not serve an API yet only delays that request. */
#ifndef GREGOR_BROKER_CONTROLLER_H
#define GREGOR_BROKER_CONTROLLER_H

#include "broker/broker.h"

bctl_t *bctl_new(broker_t *b);
void bctl_free(bctl_t *c);
/* The coordinator session was replaced: resign, watch and elect again. */
void bctl_session_renewed(bctl_t *c);
/* True while this broker is the active controller. */
bool bctl_is_active(const bctl_t *c);
/* The controller epoch while active, else -1. */
int32_t bctl_epoch(const bctl_t *c);

#endif
