/* log.h — one partition's log: <log.dir>/<topic>-<partition>/, a list of segments.
 *
 * Owns the partition directory: segments (segment.h), leader-epoch-checkpoint (logckpt.h),
 * the log start offset (LSO: first readable offset), the log end offset (LEO: next offset to
 * assign), the high watermark (HW: set by the partition layer, bounds what consumers read)
 * and the recovery point (everything below it is fsynced). Invariant:
 *     segment[0].base <= log_start <= HW <= LEO,  recovery_point <= LEO.
 *
 * Data: record batches v2 only, stored exactly as they will be fetched (the broker prepares
 * them with krec_append_prepare, which assigns offsets from plog_end_offset()).
 *
 * Durability (Gregor's rule: acknowledged writes survive kill -9): plog_append returns after
 * write(2), so the bytes are in the page cache and survive a process crash. fsync is policy:
 * flush_messages / flush_ms (log.flush.interval.messages / .ms, Kafka defaults: never) and a
 * flush of rolled segments soon after each roll (plog_flush_due), which is also what moves
 * the recovery point. After an unclean stop, every segment from the one holding the
 * recovery point on is scanned (header, size, CRC-32C), indexes rebuilt, and the first torn
 * or corrupt batch and everything after it cut off.
 *
 * Errors: functions return 0 (or a count) on success and a negated Kafka error code
 * (proto/kafka_err.h) on failure: -KERR_OFFSET_OUT_OF_RANGE, -KERR_CORRUPT_MESSAGE (bad input
 * to append), -KERR_INVALID_REQUEST (API misuse), -KERR_KAFKA_STORAGE_ERROR (I/O; the cause is
 * logged under [log]).
 *
 * Threads: a plog is used by one thread at a time (the caller serialises). Slices returned by
 * plog_read keep their segment alive and may be sent and released on another thread. */
#ifndef GREGOR_BROKER_LOG_H
#define GREGOR_BROKER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct lseg_s;

/* Topic-level settings (Kafka's topic config names in comments; defaults by plog_config_default). */
typedef struct plog_config_s {
    int64_t segment_bytes;        /* segment.bytes (log.segment.bytes) 1 GiB */
    int64_t segment_ms;           /* segment.ms (log.roll.ms / hours) 7 days */
    int64_t segment_jitter_ms;    /* segment.jitter.ms (log.roll.jitter.ms) 0 */
    int64_t segment_index_bytes;  /* segment.index.bytes (log.index.size.max.bytes) 10 MiB */
    int32_t index_interval_bytes; /* index.interval.bytes (log.index.interval.bytes) 4096 */
    int64_t retention_ms;         /* retention.ms (log.retention.*) 7 days; -1 = unlimited */
    int64_t retention_bytes;      /* retention.bytes (log.retention.bytes) -1 = unlimited */
    bool cleanup_delete;          /* cleanup.policy contains "delete" (default) */
    bool cleanup_compact;         /* cleanup.policy contains "compact" */
    int64_t delete_retention_ms;  /* delete.retention.ms 1 day: tombstone lifetime after cleaning */
    int64_t min_compaction_lag_ms;/* min.compaction.lag.ms 0 */
    double min_cleanable_ratio;   /* min.cleanable.dirty.ratio 0.5 */
    int64_t flush_messages;       /* flush.messages (log.flush.interval.messages) INT64_MAX = never */
    int64_t flush_ms;             /* flush.ms (log.flush.interval.ms) INT64_MAX = never */
    int64_t max_message_bytes;    /* max.message.bytes: recovery rejects larger batches */
} plog_config_t;

void plog_config_default(plog_config_t *c);

typedef struct plog_s plog_t;

/* What the log directory's checkpoint files say about this partition (-1: not known). */
typedef struct plog_open_s {
    const char *log_dir;          /* the log.dirs entry */
    const char *topic;
    int32_t partition;
    const plog_config_t *config;
    int64_t recovery_point;       /* from recovery-point-offset-checkpoint */
    int64_t log_start_offset;     /* from log-start-offset-checkpoint */
    int64_t high_watermark;       /* from replication-offset-checkpoint */
    bool clean_shutdown;          /* .kafka_cleanshutdown was present */
    bool create;                  /* create the directory if missing (else -UNKNOWN_TOPIC...) */
    int64_t now_ms;               /* wall clock */
} plog_open_t;

/* Opens (recovering as needed) or creates a partition log. *out is owned by the caller and
 * released with plog_close. Returns 0 or a negated Kafka code. */
int plog_open(const plog_open_t *o, plog_t **out);
/* Writes pending index entries and the epoch file, releases the log (segments live on while
 * slices reference them). With `flush`, fsyncs everything first (clean shutdown). */
int plog_close(plog_t *l, bool flush);
/* Replaces the topic config (segment sizes etc. apply from the next append). */
void plog_set_config(plog_t *l, const plog_config_t *c);
const plog_config_t *plog_config(const plog_t *l);

/* ---- append ---------------------------------------------------------------------------- */

typedef struct plog_append_info_s {
    int64_t first_offset;         /* base offset of the first batch */
    int64_t last_offset;          /* last offset of the last batch */
    int64_t max_timestamp;        /* largest batch maxTimestamp (-1 none) */
    int32_t batches;
    int64_t records;
    bool rolled;                  /* a new segment was started */
} plog_append_info_t;

/* Appends v2 batches (from krec_append_prepare, or fetched from a leader). The first batch
 * must start at plog_end_offset() (a follower's data may have gaps after it, from compaction
 * on the leader); offsets must increase; headers are checked, CRCs are not (the producer path
 * validated them). Rolls first if the segment would pass segment_bytes, segment_ms has passed
 * (by record time, as Kafka), or the index is full. Flushes when flush_messages is reached.
 * Returns 0 with *info filled (info may be NULL), or -KERR_CORRUPT_MESSAGE / -KERR_INVALID_REQUEST
 * / -KERR_KAFKA_STORAGE_ERROR (nothing appended then). */
int plog_append(plog_t *l, const uint8_t *data, size_t len, int64_t now_ms, plog_append_info_t *info);

/* ---- read ------------------------------------------------------------------------------ */

/* A byte range of one segment file: whole batches, except that the last may be cut at the
 * size limit (as Kafka sends it; clients drop a partial trailing batch). Ready for
 * sendfile(fd, &pos, len). Holds a segment reference: release it with plog_slice_release. */
typedef struct plog_slice_s {
    struct lseg_s *seg;           /* NULL when empty */
    int fd;
    int64_t pos;
    size_t len;
    int64_t first_offset;         /* base offset of the first batch, -1 when empty */
} plog_slice_t;

#define PLOG_UPTO_LEO (-1)        /* plog_read max_offset: followers read to the log end */

/* Reads from `offset` at most max_bytes, stopping before max_offset (exclusive; normally the
 * HW for consumers, PLOG_UPTO_LEO for followers). With min_one, a first batch larger than
 * max_bytes is returned whole (KIP-74). offset in [log start, LEO] is valid (LEO or beyond
 * max_offset gives an empty slice); otherwise -KERR_OFFSET_OUT_OF_RANGE. */
int plog_read(plog_t *l, int64_t offset, size_t max_bytes, int64_t max_offset, bool min_one, plog_slice_t *s);
void plog_slice_release(plog_slice_t *s);
/* Copies the slice's bytes to the end of out (for down-conversion). 0 or -KERR_KAFKA_STORAGE_ERROR. */
int plog_slice_copy(const plog_slice_t *s, buf_t *out);

/* ---- offsets --------------------------------------------------------------------------- */

int64_t plog_start_offset(const plog_t *l);
int64_t plog_end_offset(const plog_t *l);
int64_t plog_high_watermark(const plog_t *l);
int64_t plog_recovery_point(const plog_t *l);
/* Clamped to [log start, LEO]. */
void plog_set_high_watermark(plog_t *l, int64_t hw);

/* ListOffsets by timestamp: the first record (offset >= log start) with timestamp >= ts.
 * Returns 1 with *offset / *found_ts, 0 if there is none (Kafka answers -1, -1), or negative. */
int plog_offset_for_time(plog_t *l, int64_t ts, int64_t *offset, int64_t *found_ts);

/* ---- changes --------------------------------------------------------------------------- */

/* Removes every batch whose last offset >= offset (replication: a follower truncating to
 * the leader's epoch end). offset < log start truncates everything and starts at offset.
 * HW and recovery point are clamped. 0 or negative. */
int plog_truncate_to(plog_t *l, int64_t offset);
/* Deletes all data and starts the log again at `offset` (a follower out of range). */
int plog_truncate_fully(plog_t *l, int64_t offset, int64_t now_ms);

/* DeleteRecords: moves the log start offset to `offset` (-1 = the HW) and deletes segments
 * that end before it. offset > HW: -KERR_OFFSET_OUT_OF_RANGE. *low_watermark (may be NULL)
 * gets the new log start offset. */
int plog_delete_records(plog_t *l, int64_t offset, int64_t *low_watermark);

/* Topic deletion: renames the directory to "<topic>-<partition>.<uuid>-delete" (as Kafka),
 * closes the log and removes the directory. The log is freed in every case. 0 or negative. */
int plog_delete(plog_t *l);

/* ---- policies (decisions are functions of now) ------------------------------------------ */

/* Deletes segments past retention.ms (by largest timestamp), beyond retention.bytes, and
 * below the log start offset; only for cleanup.policy=delete, except the last rule; never
 * data at or above the HW. Rolls an expired non-empty active segment first, as Kafka.
 * Returns the number of segments deleted, or negative. */
int plog_retention(plog_t *l, int64_t now_ms);
/* True if a flush is due: unflushed messages >= flush_messages, now - last flush >=
 * flush_ms with unflushed data, or rolled segments above the recovery point. */
bool plog_flush_due(const plog_t *l, int64_t now_ms);
/* fsyncs every segment with unflushed data; the recovery point becomes the LEO. */
int plog_flush(plog_t *l, int64_t now_ms);

/* ---- leader epochs (leader-epoch-checkpoint) -------------------------------------------- */

/* Records that `epoch` starts at `start` (partition becoming leader; appends also record the
 * batches' partitionLeaderEpoch). Ignored if not newer than the latest epoch. */
int plog_assign_epoch(plog_t *l, int32_t epoch, int64_t start);
/* Latest epoch, -1 if none. */
int32_t plog_latest_epoch(const plog_t *l);
/* OffsetForLeaderEpoch: the end offset of `epoch` (the start of the next greater epoch, or
 * LEO for the latest) and the largest epoch <= the requested one; (-1, -1) if unknown. */
void plog_end_offset_for_epoch(const plog_t *l, int32_t epoch, int32_t *found_epoch, int64_t *end_offset);

/* ---- batch headers ---------------------------------------------------------------------- */

/* One stored batch, from its header (no records read). */
typedef struct plog_batch_info_s {
    int64_t base_offset, last_offset;
    int32_t leader_epoch;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
    bool transactional, control;
    uint32_t size;                /* bytes, with the log overhead */
} plog_batch_info_t;

/* Calls fn for the header of every batch from the one holding `from` to the log end, in
 * order (rebuilding idempotent-producer state after a restart, as Kafka's producer snapshots
 * would). fn returns non-zero to stop. Returns 0 or -KERR_KAFKA_STORAGE_ERROR. */
int plog_scan_batches(plog_t *l, int64_t from, int (*fn)(void *ctx, const plog_batch_info_t *b), void *ctx);

/* ---- information ------------------------------------------------------------------------ */

const char *plog_topic(const plog_t *l);
int32_t plog_partition(const plog_t *l);
const char *plog_dir(const plog_t *l);        /* the partition directory */
const char *plog_log_dir(const plog_t *l);    /* the log.dirs entry */
uint64_t plog_size_bytes(const plog_t *l);
size_t plog_segment_count(const plog_t *l);

/* "<topic>-<partition>" parsing of a directory name (Kafka's rule: the last '-' splits).
 * Returns 0 with *topic (malloc'ed) and *partition, or -1 (also for "-delete"/"-future"). */
int plog_parse_dir_name(const char *name, char **topic, int32_t *partition);

#endif
