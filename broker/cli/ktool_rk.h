/* ktool_rk.h — librdkafka helpers for the Kafka-protocol side of the tools (admin API,
 * producer, consumer): client configuration from Java-style properties, a Kafka-style logger,
 * and waiting for admin results. */
#ifndef GREGOR_BROKER_CLI_KTOOL_RK_H
#define GREGOR_BROKER_CLI_KTOOL_RK_H

#include <librdkafka/rdkafka.h>

#include "broker/cli/ktool.h"

/* A new client of type (producer for admin use) from conf (consumed, also on failure). Prints
 * the error and returns NULL on failure. */
rd_kafka_t *ktool_rk_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);
/* An admin client for bootstrap with the --command-config file (may be NULL). */
rd_kafka_t *ktool_rk_admin(const char *bootstrap, const char *command_config);
/* Admin options for op with the tool's request timeout. */
rd_kafka_AdminOptions_t *ktool_rk_admin_opts(rd_kafka_t *rk, rd_kafka_admin_op_t op);
/* Waits for the result event of the admin request queued on q (timeout_ms covers the whole
 * request; after a few seconds it says on stderr what it waits for). Returns the event (caller destroys it) or NULL on timeout. A top-level error of
 * the event is returned as is (check rd_kafka_event_error). */
rd_kafka_event_t *ktool_rk_wait(rd_kafka_queue_t *q, int timeout_ms);
/* rd_kafka_metadata that says on stderr what it waits for when the first seconds pass without
 * an answer. */
rd_kafka_resp_err_t ktool_rk_metadata(rd_kafka_t *rk, int all, rd_kafka_topic_t *rkt,
                                      const struct rd_kafka_metadata **md, int timeout_ms);
/* Java's exception name for an error code ("org.apache.kafka.common.errors.TopicExistsException"). */
const char *ktool_rk_exception(rd_kafka_resp_err_t err);
/* Destroys rk after flushing/closing nothing (admin clients). */
void ktool_rk_destroy(rd_kafka_t *rk);

/* Sets client.id to id unless a properties file or override already chose one. */
void ktool_rk_default_client_id(rd_kafka_conf_t *conf, const char *id);

/* The tools' admin timeout (ms). */
#define KTOOL_RK_TIMEOUT_MS 30000

#endif
