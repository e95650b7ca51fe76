/* group_proto.h — the "consumer" embedded protocol: what Kafka's Java consumer (and
 * librdkafka, kafka-python, kafkajs) put in JoinGroup protocol metadata and SyncGroup
 * assignments. The coordinator reads subscriptions to know which topics a group consumes
 * (offset expiry); tools decode assignments for kafka-consumer-groups.sh --describe.
 *
 * Formats (Kafka 2.4 ConsumerProtocol; classic STRING/BYTES/ARRAY encodings, big-endian):
 *   Subscription v0  version INT16, topics [STRING], user_data NULLABLE_BYTES
 *   Subscription v1  v0 + owned_partitions [topic STRING, partitions [INT32]]
 *   Assignment v0/v1 version INT16, assigned_partitions [topic STRING, partitions [INT32]],
 *                    user_data NULLABLE_BYTES
 * A version above 1 is read as its v1 prefix, as Kafka does (newer versions only append);
 * a missing user_data (old clients end the struct early) reads as null. */
#ifndef GREGOR_BROKER_GROUP_PROTO_H
#define GREGOR_BROKER_GROUP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "proto/kafka_codec.h"

#define GPROTO_CONSUMER "consumer"

typedef struct gproto_topic_parts_s {
    kp_str_t topic;
    int32_t count;
    int32_t *partitions;
} gproto_topic_parts_t;

typedef struct gproto_subscription_s {
    int16_t version;
    int32_t topic_count;
    kp_str_t *topics;
    kp_bytes_t user_data;             /* len -1 = null */
    int32_t owned_count;              /* v1 */
    gproto_topic_parts_t *owned;
} gproto_subscription_t;

typedef struct gproto_assignment_s {
    int16_t version;
    int32_t count;
    gproto_topic_parts_t *assigned;
    kp_bytes_t user_data;
} gproto_assignment_t;

/* Decoders: slices point into p, arrays come from a. 0 or -1 (malformed). */
int gproto_subscription_decode(const uint8_t *p, size_t len, arena_t *a, gproto_subscription_t *s);
int gproto_assignment_decode(const uint8_t *p, size_t len, arena_t *a, gproto_assignment_t *as);
/* Encoders (version 0 or 1; owned partitions only in v1). */
void gproto_subscription_write(buf_t *out, const gproto_subscription_t *s);
void gproto_assignment_write(buf_t *out, const gproto_assignment_t *as);

#endif
