/* admin.h — topic administration through the coordinator, as Kafka 2.x's AdminManager and
 * AdminZkClient do it: CreateTopics (assignment over the live brokers, /config/topics/T,
 * then /brokers/topics/T), DeleteTopics (/admin/delete_topics/T), CreatePartitions,
 * DescribeConfigs / AlterConfigs (+ /config/changes notifications), auto-creation for
 * Metadata and FindCoordinator; the config-change listener; InitProducerId (producer id
 * blocks from /latest_producer_id_block). Prefix badm_. */
#ifndef GREGOR_BROKER_ADMIN_H
#define GREGOR_BROKER_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"

badm_t *badm_new(broker_t *b);
void badm_free(badm_t *a);

/* error: 0 or a Kafka code (TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, ...);
 * message: NULL or a text for the client. */
typedef void (*badm_done_fn)(void *arg, int16_t error, const char *message);
/* Creates a topic as CreateTopics does. partitions / replication_factor <= 0: the broker
 * defaults. config: nconfig key/value pairs (config[2i], config[2i+1]), copied. done is
 * called exactly once, possibly before this returns. */
void badm_create_topic(badm_t *a, const char *topic, int32_t partitions, int16_t replication_factor,
                       const char *const *config, size_t nconfig, badm_done_fn done, void *arg);
/* The coordinator session was replaced: set the watches again. */
void badm_session_renewed(badm_t *a);

#endif
