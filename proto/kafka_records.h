/* kafka_records.h — Kafka record data: message sets v0/v1 and record batches v2.
 *
 * Owns the byte formats of the `records` fields of Produce and Fetch and of Gregor's log:
 * parsing and validating what producers send, assigning offsets on append, iterating records
 * for the broker's own readers, building batches, and converting between formats. Pure code:
 * no I/O, no clock (the append time comes in as an argument), no globals. Compression goes
 * through common/compress.h with a cap on every decompression.
 *
 * Formats (all integers big-endian; "varint" = zigzag varint as in common/varint.h):
 *
 *   legacy log entry (magic 0 and 1), one per message:
 *     offset int64, size int32 (bytes after this field),
 *     crc uint32 (CRC-32/IEEE over magic..end), magic int8, attributes int8,
 *     [timestamp int64 — magic 1 only], key bytes (int32 length, -1 = null), value bytes.
 *     attributes: bits 0-2 codec, bit 3 (magic 1) LogAppendTime.
 *     A compressed "wrapper" message has a codec and a value that decompresses to a message
 *     set of inner messages of the same magic (never compressed themselves). Inner offsets are
 *     absolute in magic 0 (Kafka 0.9's Java producer writes 0 for all of them; the broker
 *     assigns), relative (0..n-1) in magic 1 with the wrapper's offset = the absolute offset
 *     of the last inner message (KIP-31).
 *
 *   record batch (magic 2), 61-byte header then records:
 *     baseOffset int64, batchLength int32 (bytes after this field), partitionLeaderEpoch int32,
 *     magic int8 = 2, crc uint32 (CRC-32C over attributes..end), attributes int16,
 *     lastOffsetDelta int32, firstTimestamp int64, maxTimestamp int64, producerId int64,
 *     producerEpoch int16, baseSequence int32, recordCount int32, records...
 *     attributes: bits 0-2 codec, bit 3 LogAppendTime, bit 4 transactional, bit 5 control.
 *     With a codec, everything after recordCount is one compressed stream.
 *   record: length varint (of what follows), attributes int8, timestampDelta varlong,
 *     offsetDelta varint, keyLength varint (-1 = null), key, valueLength varint, value,
 *     headerCount varint, headers: keyLength varint (>= 0), key, valueLength varint, value.
 *
 * Error codes are Kafka's wire codes; functions return 0 (or a count) on success and the
 * negated code on failure, e.g. -KREC_ERR_CORRUPT_MESSAGE. Most also give a static reason
 * string through a `why` out-parameter (may be NULL). The protocol codec (proto/kafka_*.h)
 * has the full KERR_* enum with the same numbers; only the few needed here are defined.
 *
 * Storage decision: Gregor's log stores record batches v2 only (as Kafka 0.11+ with
 * message.format.version >= 0.11 does). krec_append_prepare up-converts v0/v1 produce data
 * to one v2 batch (keeping the producer's codec), and krec_down_convert builds v0/v1 message
 * sets for fetchers that cannot read v2 (Fetch v0-v1 need magic 0, v2-v3 magic <= 1).
 * The common cases of both, uncompressed v0/v1 produce data and uncompressed v2 batches to
 * down-convert, take one-pass paths that write the same bytes as the general ones; anything
 * else, and every error, goes the general way. */
#ifndef GREGOR_PROTO_KAFKA_RECORDS_H
#define GREGOR_PROTO_KAFKA_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Kafka error codes produced here (wire numbering). */
#define KREC_ERR_CORRUPT_MESSAGE              2
#define KREC_ERR_MESSAGE_TOO_LARGE            10
#define KREC_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT 43
#define KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE 76
#define KREC_ERR_INVALID_RECORD               87

/* Kafka's name for an error code above ("CORRUPT_MESSAGE", ...). */
const char *krec_err_name(int code);

#define KREC_MAGIC_V0 0
#define KREC_MAGIC_V1 1
#define KREC_MAGIC_V2 2

#define KREC_LOG_OVERHEAD       12   /* offset + size/batchLength */
#define KREC_V0_MIN_SIZE        14   /* legacy message after the size field, empty key/value */
#define KREC_V1_MIN_SIZE        22
#define KREC_V2_HEADER_SIZE     61
#define KREC_V2_CRC_OFFSET      17
#define KREC_V2_ATTR_OFFSET     21

#define KREC_ATTR_CODEC_MASK     0x07
#define KREC_ATTR_LOG_APPEND     0x08
#define KREC_ATTR_TRANSACTIONAL  0x10
#define KREC_ATTR_CONTROL        0x20

/* timestamp types */
#define KREC_TS_NONE        (-1)   /* magic 0 */
#define KREC_TS_CREATE      0
#define KREC_TS_LOG_APPEND  1

#define KREC_DEFAULT_MAX_MESSAGE_BYTES 1048588u    /* Kafka's message.max.bytes default */
#define KREC_DEFAULT_MAX_DECOMPRESSED  (64u << 20) /* per batch / wrapper message */

/* One batch (v2) or one top-level legacy log entry (v0/v1), as found in a byte range.
 * Pointers refer to the parsed input. Fields that a format lacks are -1. */
typedef struct krec_batch_s {
    const uint8_t *data;      /* the whole entry, from its offset field */
    size_t len;               /* KREC_LOG_OVERHEAD + batchLength/size */
    int8_t magic;
    int16_t attributes;
    int codec;                /* attributes & 7 */
    int ts_type;              /* KREC_TS_*; legacy: the message's own bit (magic 1) */
    bool transactional, control;
    uint32_t crc;             /* as stored */
    int64_t base_offset;      /* v2 baseOffset; legacy: the entry's offset field */
    int64_t last_offset;      /* v2: base + lastOffsetDelta; legacy: the entry's offset */
    int32_t last_offset_delta;
    int32_t partition_leader_epoch;
    int64_t first_timestamp;  /* legacy magic 1: the message timestamp */
    int64_t max_timestamp;    /* legacy magic 1: the message timestamp */
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;     /* v2 header count; legacy: 1 unless compressed (-1: unknown) */
    const uint8_t *payload;   /* v2: records section (maybe compressed); legacy: the value */
    size_t payload_len;       /* legacy: 0 for a null value */
    const uint8_t *key;       /* legacy only; NULL for a null key */
    int32_t key_len;          /* legacy only; -1 = null */
    int32_t value_len;        /* legacy only; -1 = null */
} krec_batch_t;

#define KREC_BATCH_END       0   /* krec_batch_next: no bytes left */
#define KREC_BATCH_OK        1   /* a complete batch */
#define KREC_BATCH_TRUNCATED 2   /* the bytes end inside a batch (normal at the end of fetched data) */

/* Parses the batch header at data[*pos]; on KREC_BATCH_OK fills b and advances *pos past the
 * batch. Checks sizes and magic only (not the CRC, not the records). Returns one of the
 * KREC_BATCH_* values or a negated error code (malformed size or magic). */
int krec_batch_next(const uint8_t *data, size_t len, size_t *pos, krec_batch_t *b, const char **why);

/* True if the stored CRC matches (CRC-32C for v2, CRC-32 for legacy). */
bool krec_batch_crc_ok(const krec_batch_t *b);

typedef struct krec_header_s {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;     /* NULL for a null value */
    int32_t value_len;        /* -1 = null */
} krec_header_t;

/* One record. Pointers stay valid until the iterator moves to the next batch or is freed
 * (they point into the input or into the iterator's decompression buffer). As builder input,
 * `offset` and `timestamp` are absolute and `headers`/`header_count` are read. */
typedef struct krec_record_s {
    int64_t offset;
    int64_t timestamp;        /* -1 = none */
    int ts_type;              /* KREC_TS_* as a reader reports it */
    int8_t attributes;        /* v2 record attributes / legacy (inner) message attributes */
    const uint8_t *key;       /* NULL when key_len is -1 */
    int32_t key_len;
    const uint8_t *value;     /* NULL when value_len is -1 */
    int32_t value_len;
    const krec_header_t *headers;
    int32_t header_count;
} krec_record_t;

/* Iterator flags. */
#define KREC_F_NO_CRC  0x1u   /* skip CRC checks (data already verified, e.g. read back from the log) */
#define KREC_F_CLIENT  0x2u   /* producer data: v2 offset deltas must be 0..n-1 and lastOffsetDelta
                               * must match the count (Kafka's "client origin" checks) */

/* Records of one batch, decompressed as needed. */
typedef struct krec_recs_s {
    const krec_batch_t *batch;
    unsigned flags;
    size_t max_decompressed;
    buf_t inflated;           /* decompressed records / inner message set */
    rd_t rd;                  /* over the records (v2) or inner entries (legacy wrapper) */
    int32_t index;            /* records returned so far */
    int32_t count;            /* records in the batch (legacy wrapper: counted on open) */
    int64_t abs_base;         /* legacy magic 1 wrapper: absolute offset of relative 0 */
    bool single;              /* legacy uncompressed message: yields itself */
    krec_header_t *hdrs;
    size_t hdrs_cap;
    const char *why;
} krec_recs_t;

/* Opens the records of batch b (which must outlive r): checks the CRC (unless KREC_F_NO_CRC)
 * and decompresses (at most max_decompressed bytes, 0 = KREC_DEFAULT_MAX_DECOMPRESSED).
 * Returns 0 or a negated error code; r must be closed either way. */
int krec_recs_open(krec_recs_t *r, const krec_batch_t *b, size_t max_decompressed, unsigned flags);
/* Next record: 1 = *rec filled, 0 = no more (all structure checks passed), < 0 = error. */
int krec_recs_next(krec_recs_t *r, krec_record_t *rec);
void krec_recs_close(krec_recs_t *r);

/* Every record of a byte range of batches of any format, in order. A batch cut off at the end
 * of the range (as in fetch responses) ends the iteration and sets `truncated`. */
typedef struct krec_iter_s {
    const uint8_t *data;
    size_t len, pos;
    size_t max_decompressed;
    unsigned flags;
    krec_batch_t batch;       /* the batch the last record came from */
    krec_recs_t recs;
    bool open;
    bool truncated;
    int err;                  /* sticky negated error code */
    const char *why;
} krec_iter_t;

/* data must outlive the iterator; the iterator must not be copied once in use (its record
 * reader points at it->batch). max_decompressed 0 = the default cap. */
void krec_iter_init(krec_iter_t *it, const void *data, size_t len, size_t max_decompressed, unsigned flags);
/* 1 = *rec filled (it->batch describes its batch), 0 = end, < 0 = error (sticky). */
int krec_iter_next(krec_iter_t *it, krec_record_t *rec);
void krec_iter_free(krec_iter_t *it);

/* ---- produce validation and append ------------------------------------------------------ */

typedef struct krec_limits_s {
    size_t max_message_bytes;  /* largest batch / top-level legacy entry incl. log overhead (and
                                * after up-conversion); 0 = KREC_DEFAULT_MAX_MESSAGE_BYTES */
    size_t max_decompressed;   /* 0 = KREC_DEFAULT_MAX_DECOMPRESSED */
    int produce_version;       /* >= 0: apply that Produce version's rules (v0-2: magic 0/1 only;
                                * v3+: exactly one v2 batch; zstd needs v7); -1: no version rules */
    bool compacted;            /* compacted topic: every record needs a key */
} krec_limits_t;

/* What a producer sent (filled by krec_validate_produce). */
typedef struct krec_info_s {
    int8_t magic;              /* of the first batch/entry; -1 if empty */
    int codec;                 /* first non-none codec seen, else 0 */
    int batches;               /* top-level batches / legacy entries */
    int32_t record_count;
    int64_t max_timestamp;     /* largest record timestamp, -1 if none */
    int64_t producer_id;       /* first v2 batch's; -1 for legacy */
    int16_t producer_epoch;
    int32_t base_sequence;
    bool transactional;
} krec_info_t;

/* Validates producer data completely: every batch whole, sizes, magic, CRCs, codecs,
 * decompression under the cap, every record's structure, the Kafka client-origin rules
 * (count vs lastOffsetDelta, offset deltas 0..n-1, no control batches, sequence set when a
 * producer id is), and the limits. Nothing is modified. Returns 0 or a negated error code:
 * CORRUPT_MESSAGE (structure, CRC, truncation, unknown codec id), MESSAGE_TOO_LARGE (a batch
 * over max_message_bytes or decompressing past the cap), INVALID_RECORD (Kafka's semantic
 * rules), UNSUPPORTED_COMPRESSION_TYPE (zstd in v0/v1 or before Produce v7). Since the log
 * stores v2, producer ids and transactions never meet an older format here, so
 * UNSUPPORTED_FOR_MESSAGE_FORMAT is not returned (it is defined for the broker's use). */
int krec_validate_produce(const uint8_t *data, size_t len, const krec_limits_t *lim, krec_info_t *info,
                          const char **why);

typedef struct krec_append_s {
    /* in */
    int64_t base_offset;           /* the log end offset: first offset to assign */
    int32_t partition_leader_epoch;
    int ts_type;                   /* topic's message.timestamp.type: KREC_TS_CREATE or _LOG_APPEND */
    int64_t now_ms;                /* the append time used for LogAppendTime */
    int target_codec;              /* topic's compression.type; -1 = "producer" (keep) */
    /* out */
    int64_t last_offset;           /* base_offset - 1 if nothing was appended */
    int64_t max_timestamp;         /* of what was appended (the append time under LogAppendTime) */
    int64_t log_append_time;       /* for the Produce response: now_ms or -1 */
    bool converted;                /* rebuilt (up-converted or recompressed) rather than copied */
    krec_info_t info;              /* what the producer sent */
} krec_append_t;

/* Validates producer data (as krec_validate_produce) and appends to `out` the v2 batches to
 * store, with offsets from a->base_offset on, the partition leader epoch, and LogAppendTime
 * applied (attribute bit + maxTimestamp, CRC recomputed). v2 batches are copied and patched
 * in place (baseOffset and partitionLeaderEpoch lie outside the CRC; a wrong maxTimestamp is
 * corrected as Kafka does). v0/v1 data is up-converted into one v2 batch with the producer's
 * codec (magic 0 records get timestamp -1); a target codec different from the producer's
 * rebuilds too. The result is checked against max_message_bytes again. On error out->len is
 * unchanged. */
int krec_append_prepare(const uint8_t *data, size_t len, const krec_limits_t *lim, krec_append_t *a,
                        buf_t *out, const char **why);

/* ---- building --------------------------------------------------------------------------- */

typedef struct krec_build_s {
    int8_t magic;                  /* 0, 1 or 2 */
    int codec;                     /* 0..4 (zstd only for magic 2) */
    int64_t base_offset;           /* v2 baseOffset; record offsets are absolute and >= this
                                    * (legacy: lowered to the first record's offset if above it) */
    int ts_type;                   /* KREC_TS_CREATE or KREC_TS_LOG_APPEND (magic >= 1) */
    int64_t log_append_time;       /* with KREC_TS_LOG_APPEND */
    int32_t partition_leader_epoch;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    bool transactional, control;
} krec_build_t;

/* Defaults: CreateTime, no producer id (-1s), leader epoch -1, base offset 0. */
void krec_build_init(krec_build_t *o, int magic, int codec);

/* Streams records into one batch (v2), one wrapper message (legacy, compressed) or a run of
 * messages (legacy, uncompressed), appended to the caller's buffer. Add copies what it needs;
 * finish (or abort) must always be called and frees the writer's scratch memory. */
typedef struct krec_writer_s {
    krec_build_t o;
    buf_t *out;
    size_t start;                  /* where this writer's output begins in *out */
    buf_t scratch;                 /* records to compress */
    int32_t count;
    int64_t first_ts, max_ts, last_offset;
    int err;
} krec_writer_t;

void krec_writer_begin(krec_writer_t *w, const krec_build_t *o, buf_t *out);
/* Returns 0, or -KREC_ERR_INVALID_RECORD for offsets that go backwards / below the base or
 * do not fit the format (the writer then fails at finish too). */
int krec_writer_add(krec_writer_t *w, const krec_record_t *rec);
/* Completes the batch. Returns 0, or a negated error code with out->len restored. A legacy
 * writer with no records writes nothing; a v2 writer writes an empty batch. */
int krec_writer_finish(krec_writer_t *w);
void krec_writer_abort(krec_writer_t *w);

/* Builds one batch (or legacy message run) from an array of records; as the writer. */
int krec_build(buf_t *out, const krec_build_t *o, const krec_record_t *recs, size_t n);

/* ---- conversion ------------------------------------------------------------------------- */

/* Appends to `out` the complete batches of data[0..len) in a format a reader of magic
 * <= to_magic understands: batches already old enough are copied; v2 batches become legacy
 * messages (one wrapper per batch when compressed, with the batch's codec — lz4 with the
 * KAFKA-3160 header checksum for magic 0, snappy xerial-framed as Kafka writes it); control
 * batches are dropped and headers are lost. A truncated trailing batch is left out. If
 * max_bytes > 0, conversion stops once the output grew by max_bytes (the batch crossing the
 * limit is kept whole, so at least one batch is always converted). *consumed (may be NULL)
 * gets the input bytes covered. Returns 0 or a negated error code (zstd data cannot be
 * converted to magic < 2: UNSUPPORTED_COMPRESSION_TYPE); on error out->len is unchanged. */
int krec_down_convert(const uint8_t *data, size_t len, int to_magic, size_t max_bytes, size_t max_decompressed,
                      buf_t *out, size_t *consumed, const char **why);

#endif
