/* meta.h — the broker's metadata cache (Kafka's MetadataCache): live brokers with their
 * endpoints and every partition's leader, epoch, replicas and ISR, as the controller sends
 * them in UpdateMetadata; and the Metadata API answered from it (with topic auto-creation
 * through admin.h). Prefix bmeta_. */
#ifndef GREGOR_BROKER_META_H
#define GREGOR_BROKER_META_H

#include <stdbool.h>

#include "broker/broker.h"
#include "proto/kafka_msgs.h"

bmeta_t *bmeta_new(broker_t *b);
void bmeta_free(bmeta_t *m);
/* The leader of a partition: 0 with *leader (-1 if none) and *leader_epoch, or
 * -KERR_UNKNOWN_TOPIC_OR_PARTITION. */
int bmeta_leader(const bmeta_t *m, const char *topic, int32_t partition, int32_t *leader, int32_t *leader_epoch);
/* Number of partitions of a topic, -1 if the cache does not know it. */
int32_t bmeta_partition_count(const bmeta_t *m, const char *topic);
/* A live broker's endpoint for listener (NULL: the inter-broker listener). 0, or -1 if the
 * broker is not live or has no such endpoint. *host points into the cache (valid until the
 * next UpdateMetadata). */
int bmeta_endpoint(const bmeta_t *m, int32_t broker, const char *listener, const char **host, int32_t *port);

/* Added by the owner (rep): */
/* Applies an UpdateMetadata request decoded at `version`: the live brokers are replaced, the
 * partition states named are set (leader -2 removes one). Returns 0, or
 * KERR_STALE_CONTROLLER_EPOCH (nothing applied) for an older controller epoch. */
int bmeta_update(bmeta_t *m, const kp_UpdateMetadataRequest *req, int version);
/* True if the cache knows the partition. */
bool bmeta_contains(const bmeta_t *m, const char *topic, int32_t partition);
/* The controller id of the last UpdateMetadata, -1 before one arrived. */
int32_t bmeta_controller_id(const bmeta_t *m);

#endif
