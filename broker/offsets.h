/* offsets.h — the records of __consumer_offsets, a table of committed offsets, and the
 * loader that rebuilds groups and offsets from a partition's records.
 *
 * Formats, exactly as Kafka 2.4's GroupMetadataManager writes and reads them. Every key and
 * value starts with an int16 schema version; STRING = int16 length + UTF-8 (never null),
 * NULLABLE_STRING = the same with -1 for null, BYTES = int32 length + bytes (never null);
 * all integers big-endian. Bytes after the last field are ignored (as Kafka's Schema.read).
 *
 *   key v0, v1 (offset commit)   group STRING, topic STRING, partition INT32
 *                                (Kafka writes v1; v0 is read alike)
 *   key v2 (group metadata)      group STRING
 *
 *   offset commit value
 *     v0  offset INT64, metadata STRING, timestamp INT64
 *     v1  offset INT64, metadata STRING, commit_timestamp INT64, expire_timestamp INT64
 *     v2  offset INT64, metadata STRING, commit_timestamp INT64
 *     v3  offset INT64, leader_epoch INT32, metadata STRING, commit_timestamp INT64
 *     Kafka 2.4 writes v3, or v1 when the commit carries an explicit retention time
 *     (OffsetCommit v2-v4 retention_time_ms != -1). A leader epoch < 0 reads as "none";
 *     expire_timestamp -1 reads as "none".
 *
 *   group metadata value
 *     v0  protocol_type STRING, generation INT32, protocol NULLABLE_STRING,
 *         leader NULLABLE_STRING, members [member v0]
 *     v1  as v0 with members [member v1]
 *     v2  protocol_type, generation, protocol, leader, current_state_timestamp INT64,
 *         members [member v1]
 *     v3  as v2 with members [member v3]
 *     member v0  member_id STRING, client_id STRING, client_host STRING,
 *                session_timeout INT32, subscription BYTES, assignment BYTES
 *     member v1  member_id, client_id, client_host, rebalance_timeout INT32,
 *                session_timeout INT32, subscription, assignment
 *     member v3  member_id, group_instance_id NULLABLE_STRING, client_id, client_host,
 *                rebalance_timeout, session_timeout, subscription, assignment
 *     Kafka 2.4 writes v3. A v0 member's rebalance timeout is its session timeout.
 *     current_state_timestamp -1 = unknown.
 *
 *   A null value (tombstone) deletes: an offset (key v0/v1) or a whole group (key v2).
 *   Records are written in record batches v2, CreateTime = the write time, no compression.
 *
 * The partition of a group is abs(String.hashCode(group)) % offsets.topic.num.partitions,
 * with Java's hashCode over the UTF-16 code units the JVM decodes from the group's UTF-8
 * bytes (malformed sequences become U+FFFD exactly as the JDK's decoder does) and Kafka's
 * Utils.abs (Integer.MIN_VALUE maps to 0).
 *
 * Pure code: no I/O, no clock (times come in as arguments). */
#ifndef GREGOR_BROKER_OFFSETS_H
#define GREGOR_BROKER_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/hmap.h"
#include "proto/kafka_codec.h"

#define OFFSETS_TOPIC "__consumer_offsets"

#define OFFSETS_KEY_COMMIT_VERSION 1   /* what Kafka writes for an offset key */
#define OFFSETS_KEY_GROUP_VERSION  2
#define OFFSETS_COMMIT_VALUE_VERSION 3 /* what Kafka 2.4 writes (v1 with an expire time) */
#define OFFSETS_GROUP_VALUE_VERSION  3

/* Decoding errors (negative). */
#define OFFSETS_EMALFORMED (-1)   /* truncated, negative non-null length, ... */
#define OFFSETS_EVERSION   (-2)   /* a schema version Kafka 2.4 does not know */

/* ---- group -> partition ------------------------------------------------------------------- */

/* Java's String.hashCode of the string the JVM decodes from these UTF-8 bytes. */
int32_t offsets_java_hash(const void *utf8, size_t len);
/* Utils.abs(hashCode) % num_partitions (num_partitions > 0). */
int32_t offsets_partition_for(const void *group, size_t len, int32_t num_partitions);

/* ---- keys ----------------------------------------------------------------------------------- */

typedef enum { OFFSETS_KEY_COMMIT = 1, OFFSETS_KEY_GROUP = 2 } offsets_key_kind_t;

/* A decoded key; slices point into the decoded bytes. */
typedef struct offsets_key_s {
    offsets_key_kind_t kind;
    int16_t version;
    kp_str_t group;
    kp_str_t topic;          /* OFFSETS_KEY_COMMIT only */
    int32_t partition;       /* OFFSETS_KEY_COMMIT only */
} offsets_key_t;

/* Append a key v1 (group, topic, partition) / a key v2 (group). */
void offsets_commit_key_write(buf_t *out, kp_str_t group, kp_str_t topic, int32_t partition);
void offsets_group_key_write(buf_t *out, kp_str_t group);
/* 0, OFFSETS_EMALFORMED or OFFSETS_EVERSION. */
int offsets_key_decode(const uint8_t *p, size_t len, offsets_key_t *key);

/* ---- offset commit values ------------------------------------------------------------------- */

/* One committed offset (Kafka's OffsetAndMetadata). As a decoding result `metadata` points
 * into the decoded bytes; in an offsets_table_t it is owned by the table. */
typedef struct offsets_commit_s {
    int64_t offset;
    int32_t leader_epoch;    /* -1 = none */
    kp_str_t metadata;       /* never null: "" when there is none */
    int64_t commit_ts;
    int64_t expire_ts;       /* -1 = none (only value v1 carries one) */
} offsets_commit_t;

/* The value version Kafka 2.4 writes for c: 1 if it has an expire time, else 3. */
int offsets_commit_value_version(const offsets_commit_t *c);
/* Appends the value at `version` (0..3; fields a version lacks are left out). 0, or
 * OFFSETS_EVERSION (nothing written). */
int offsets_commit_value_write(buf_t *out, int version, const offsets_commit_t *c);
/* 0, OFFSETS_EMALFORMED or OFFSETS_EVERSION. */
int offsets_commit_value_decode(const uint8_t *p, size_t len, offsets_commit_t *c);

/* ---- group metadata values ------------------------------------------------------------------ */

typedef struct offsets_member_s {
    kp_str_t member_id;
    kp_str_t group_instance_id;  /* null unless static (v3) */
    kp_str_t client_id;
    kp_str_t client_host;
    int32_t rebalance_timeout;
    int32_t session_timeout;
    kp_bytes_t subscription;     /* the member's metadata for the group's protocol */
    kp_bytes_t assignment;
} offsets_member_t;

typedef struct offsets_group_s {
    int16_t version;
    kp_str_t protocol_type;      /* "" = none */
    int32_t generation;
    kp_str_t protocol;           /* null when the group is empty */
    kp_str_t leader;             /* null when the group is empty */
    int64_t current_state_ts;    /* -1 = unknown (always for v0/v1) */
    int32_t member_count;
    offsets_member_t *members;
} offsets_group_t;

/* Appends the value at `version` (0..3). 0, or OFFSETS_EVERSION / OFFSETS_EMALFORMED (a
 * null where the format has none), with nothing written. */
int offsets_group_value_write(buf_t *out, int version, const offsets_group_t *g);
/* Decodes; slices point into p, the member array comes from `a`. 0, OFFSETS_EMALFORMED or
 * OFFSETS_EVERSION. */
int offsets_group_value_decode(const uint8_t *p, size_t len, arena_t *a, offsets_group_t *g);

/* ---- record batches ------------------------------------------------------------------------- */

/* One record to write: value NULL with value_len -1 = tombstone. */
typedef struct offsets_kv_s {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    int32_t value_len;
} offsets_kv_t;

/* Appends one record batch v2 (CreateTime now_ms, offsets 0..n-1, no compression) holding
 * the n records, as Kafka's coordinator builds them. 0 or a negated Kafka error code. */
int offsets_batch_build(buf_t *out, const offsets_kv_t *recs, size_t n, int64_t now_ms);

/* ---- a table of committed offsets ----------------------------------------------------------- */

/* One committed offset of one topic partition, owned by its table. `log_offset` is the
 * offset in __consumer_offsets of the record that wrote it: a later record wins. */
typedef struct offsets_entry_s {
    char *topic;
    int32_t partition;
    offsets_commit_t c;          /* metadata owned */
    int64_t log_offset;
} offsets_entry_t;

typedef struct offsets_table_s {
    hmap_t map;                  /* topic '\0' be32(partition) -> offsets_entry_t */
} offsets_table_t;

void offsets_table_init(offsets_table_t *t);
void offsets_table_fini(offsets_table_t *t);
static inline size_t offsets_table_count(const offsets_table_t *t) { return hmap_count(&t->map); }
/* NULL if none. */
offsets_entry_t *offsets_table_get(const offsets_table_t *t, kp_str_t topic, int32_t partition);
/* Stores a copy of c unless the table holds an entry written later (log_offset greater);
 * returns true if stored. */
bool offsets_table_put(offsets_table_t *t, kp_str_t topic, int32_t partition, const offsets_commit_t *c,
                       int64_t log_offset);
/* Returns true if there was an entry. */
bool offsets_table_del(offsets_table_t *t, kp_str_t topic, int32_t partition);
/* Moves every entry of src into dst (src ends empty). */
void offsets_table_move(offsets_table_t *dst, offsets_table_t *src);
/* All entries sorted by topic then partition, in a new array the caller frees (the entries
 * stay owned by the table and valid until it changes). *n gets the count. */
offsets_entry_t **offsets_table_sorted(const offsets_table_t *t, size_t *n);

/* ---- loading a partition -------------------------------------------------------------------- */

/* What a partition's records say about one group: its last group metadata value (if the
 * last word on the group was not a tombstone) and its offsets. */
typedef struct offsets_loaded_s {
    char *group;
    uint8_t *meta;               /* last group metadata value bytes, owned; NULL = none */
    size_t meta_len;
    bool meta_deleted;           /* the last group record was a tombstone */
    offsets_table_t offsets;
} offsets_loaded_t;

typedef struct offsets_loader_s {
    hmap_t groups;               /* group -> offsets_loaded_t */
    int64_t records;             /* records read */
    int64_t skipped;             /* records with no key or an undecodable key/value */
} offsets_loader_t;

void offsets_loader_init(offsets_loader_t *l);
void offsets_loader_fini(offsets_loader_t *l);
/* One record at log offset `offset` (value NULL/-1 = tombstone). Later calls must carry
 * later offsets: the last word on a key wins. Undecodable records are counted in
 * `skipped` and otherwise ignored. */
void offsets_loader_record(offsets_loader_t *l, const uint8_t *key, int32_t key_len, const uint8_t *value,
                           int32_t value_len, int64_t offset);
/* Every record of a byte range of log batches (control batches are skipped). Returns 0 or
 * a negated Kafka error code from reading the batches; a batch cut off at the end is ignored. */
int offsets_loader_feed(offsets_loader_t *l, const uint8_t *data, size_t len);
/* Iterates the loaded groups (order unspecified). */
bool offsets_loader_next(const offsets_loader_t *l, hmap_iter_t *it, offsets_loaded_t **out);

#endif
