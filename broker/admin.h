/* admin.h — topic administration through the coordinator, as Kafka 2.x's AdminManager and
 * AdminZkClient do it: CreateTopics (assignment over the live brokers, /config/topics/T,
 * then /brokers/topics/T), DeleteTopics (/admin/delete_topics/T), CreatePartitions,
 * DescribeConfigs / AlterConfigs (+ /config/changes notifications), auto-creation for
 * Metadata and FindCoordinator; the config-change listener; InitProducerId (producer id
 * blocks from /latest_producer_id_block). Prefix badm_.
 *
 * Handlers registered by badm_new: CreateTopics (v0-5), DeleteTopics (v0-4), CreatePartitions
 * (v0-1), DescribeConfigs (v0-2), AlterConfigs (v0-1), InitProducerId (v0-2). Pure parts:
 * adm_tcfg.h (topic configs, config entries), adm_pid.h (producer id blocks), adm_chg.h
 * (config change notifications).
 *
 * Where Gregor differs from Kafka 2.4 (documented choices):
 *  - InitProducerId with a transactional id: COORDINATOR_NOT_AVAILABLE (there is no
 *    transaction coordinator); "" gets INVALID_REQUEST as in Kafka.
 *  - AlterConfigs on a broker resource: INVALID_REQUEST "dynamic broker configs are not
 *    supported".
 *  - DescribeConfigs / DeleteTopics find topics in the coordinator (/brokers/topics/T), not in
 *    the metadata cache; CreateTopics is served by any broker, not only the controller.
 *  - DescribeConfigs sources: a broker key counts as set in server.properties
 *    (STATIC_BROKER_CONFIG) when its value differs from Kafka's default.
 *  - Live brokers and their racks come from /brokers/ids (the controller's view), not from
 *    the metadata cache. */
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
/* Creates a topic as CreateTopics does (AdminZkClient.createTopic): the name, the configs
 * (Kafka's topic config names, values that parse), the assignment over the live brokers of
 * /brokers/ids, then /config/topics/T and /brokers/topics/T. partitions / replication_factor
 * <= 0: the broker defaults (num.partitions, default.replication.factor). config: nconfig
 * key/value pairs (config[2i], config[2i+1]), copied. done is called exactly once, possibly
 * before this returns, with 0 once the znodes are written (the controller then elects the
 * leaders; the metadata cache learns them later) or INVALID_TOPIC_EXCEPTION,
 * TOPIC_ALREADY_EXISTS ("Topic 'T' already exists." / "... is marked for deletion."),
 * INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR ("Replication factor: 3 larger than
 * available brokers: 1."), INVALID_CONFIG, or UNKNOWN_SERVER_ERROR (the coordinator failed).
 * Also after badm_free: a create still in flight then ends with UNKNOWN_SERVER_ERROR when its
 * coordinator reply (or the session's end) arrives, so callers must keep (or detach) arg. */
void badm_create_topic(badm_t *a, const char *topic, int32_t partitions, int16_t replication_factor,
                       const char *const *config, size_t nconfig, badm_done_fn done, void *arg);
/* The coordinator session was replaced: set the watches again. */
void badm_session_renewed(badm_t *a);
/* Sequence number of the last /config/changes notification processed, -1 if none (tests). */
int64_t badm_last_config_change(const badm_t *a);
/* How old a notification must be before it is deleted (Kafka: 15 minutes; tests shorten it). */
void badm_set_config_change_expiry(badm_t *a, int64_t ms);

#endif
