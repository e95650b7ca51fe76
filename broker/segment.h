/* segment.h — one log segment: <base>.log with its .index and .timeindex (Kafka's layout).
 *
 * Files, in the partition directory, named by the base offset as 20 decimal digits:
 *   00000000000000000000.log        record batches v2, back to back, exactly as on the wire
 *                                   (baseOffset int64, batchLength int32, ... see kafka_records.h)
 *   00000000000000000000.index      offset index   (logindex.h)
 *   00000000000000000000.timeindex  time index     (logindex.h)
 * Temporary names: ".cleaned" (a compaction output not yet swapped in) and ".deleted"
 * (never written by Gregor; removed at open, as Kafka leaves them).
 *
 * Index entries follow Kafka's rule, applied per batch both when appending and when
 * rebuilding, so a rebuilt index equals the written one: before a batch at position p is
 * added, if p - (position of the last indexed batch, initially 0) > index_interval, the batch
 * gets an offset entry (its last offset, p) and the time index gets (largest timestamp so far,
 * offset of that timestamp) if that timestamp grew. Sealing (at roll) adds the final time
 * entry. A v2 batch's timestamp is its maxTimestamp, credited to its last offset (as Kafka).
 *
 * Lifetime: a segment is reference counted (atomically, so a slice handed to a network thread
 * can be released there); the owning log holds one reference; lseg_unref closes the file
 * when the last goes. Everything else is called by the owning log's thread. */
#ifndef GREGOR_BROKER_SEGMENT_H
#define GREGOR_BROKER_SEGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/logindex.h"

#define LSEG_NAME_DIGITS 20

/* The fields of a v2 batch header that the log uses. */
typedef struct lseg_hdr_s {
    int64_t base;          /* baseOffset */
    int64_t last;          /* base + lastOffsetDelta */
    uint32_t size;         /* whole batch: 12 + batchLength */
    int32_t epoch;         /* partitionLeaderEpoch */
    int16_t attributes;
    int64_t max_ts;        /* maxTimestamp */
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t count;         /* recordCount */
} lseg_hdr_t;

/* Parses the first 61 bytes of a v2 batch. Returns 0, or -1 if the magic is not 2 or the
 * length is impossible (batchLength < 49, lastOffsetDelta < 0). */
int lseg_hdr_parse(const uint8_t *p, lseg_hdr_t *h);

typedef struct lseg_s {
    int64_t base;
    char *stem;            /* "<dir>/<20 digits>" (owned); files are stem + ".log" etc. */
    int fd;                /* the .log file, read-write */
    uint64_t size;         /* bytes of valid batches */
    lidx_t oidx, tidx;
    int64_t last_offset;   /* last offset stored; base - 1 if empty; LSEG_UNKNOWN until loaded */
    int64_t max_ts;        /* largest batch timestamp; -1 none; LSEG_UNKNOWN until loaded */
    int64_t offset_of_max_ts;
    int64_t first_ts;      /* first batch's maxTimestamp (time-based roll); LSEG_UNKNOWN */
    int64_t created_ms;    /* when opened/created (roll by time when there are no timestamps) */
    int64_t mtime_ms;      /* file mtime at open (retention when there are no timestamps) */
    uint64_t last_index_pos; /* position of the last indexed batch (see the rule above) */
    bool sealed;           /* not the active segment */
    bool dirty;            /* written since the last lseg_flush */
    bool new_file;         /* created since the last lseg_flush (the directory needs a sync) */
    atomic_int refs;
} lseg_t;

#define LSEG_UNKNOWN INT64_MIN

/* "<dir>/<20-digit base>" into a new string. */
char *lseg_stem(const char *dir, int64_t base);

/* Creates an empty active segment (fails with -EEXIST if the .log exists). 0 or -errno. */
int lseg_create(const char *dir, int64_t base, int64_t now_ms, lseg_t **out);
/* Opens an existing segment as sealed: size from the file, indexes mapped on demand, last
 * offset and timestamps loaded on demand. 0 or -errno. */
int lseg_open(const char *dir, int64_t base, int64_t now_ms, lseg_t **out);

void lseg_ref(lseg_t *s);
/* Drops a reference; the last one syncs nothing, closes the fd and frees. */
void lseg_unref(lseg_t *s);

/* Makes a sealed segment active again (truncation back into it, or the last segment at open
 * after a clean shutdown): loads its indexes and its tail state. 0 or a negative code. */
int lseg_activate(lseg_t *s);
/* Roll: the final time index entry, pending index entries written, heap copies dropped. */
int lseg_seal(lseg_t *s);
/* fdatasync of the log and durable sync of the indexes. 0 or -errno. */
int lseg_flush(lseg_t *s);

/* Scans every batch from position 0, validating header, size (<= max_batch) and CRC, and
 * checking offsets increase from the base; rebuilds both indexes and cuts the file at the
 * first invalid or torn batch. The segment is left active. *truncated = bytes cut.
 * Returns 0 or a negative code (I/O). */
int lseg_recover(lseg_t *s, size_t max_batch, uint32_t index_interval, uint64_t *truncated);

/* Appends whole, valid batches (offsets already checked by the log) and indexes them.
 * On a write error the file is cut back and -errno returned. */
int lseg_append(lseg_t *s, const uint8_t *data, size_t len, uint32_t index_interval, int64_t now_ms);

/* The first batch whose last offset >= offset: returns 1 with *pos and *h, 0 if there is
 * none (*pos = size), negative on I/O error or a corrupt header. */
int lseg_translate(lseg_t *s, int64_t offset, uint64_t *pos, lseg_hdr_t *h);
/* Header of the batch at pos: 1 = read, 0 = pos is the end, negative = error. */
int lseg_read_hdr(lseg_t *s, uint64_t pos, lseg_hdr_t *h);
/* Reads exactly n bytes at pos. 0 or negative. */
int lseg_pread(lseg_t *s, uint64_t pos, void *buf, size_t n);

/* Removes batches whose last offset >= offset (cuts at lseg_translate's position); the
 * segment becomes (or stays) active. 0 or negative. */
int lseg_truncate_to(lseg_t *s, int64_t offset);

/* Offset of the first record with timestamp >= ts and offset >= min_offset: 1 and fills
 * *offset / *found_ts, 0 if none here, negative on error. */
int lseg_find_ts(lseg_t *s, int64_t ts, int64_t min_offset, int64_t *offset, int64_t *found_ts);

/* Loads (for sealed segments) and returns the last offset / largest timestamp / first
 * batch timestamp. lseg_largest_ts falls back to the file's mtime when no batch has a
 * timestamp, as Kafka's retention does. */
int64_t lseg_last_offset(lseg_t *s);
int64_t lseg_largest_ts(lseg_t *s);
int64_t lseg_first_ts(lseg_t *s);

/* Unlinks the three files (the fd stays valid for readers holding references). */
int lseg_unlink(lseg_t *s);

/* Batch scanner over [from, limit): calls fn for each valid batch (with the whole batch in
 * memory when `full`, and the CRC checked then). Stops at the first invalid or torn batch.
 * Returns 0 (reached limit), 1 (stopped at invalid data, *end = its position), 2 (fn returned
 * non-zero, *end = that batch's position), negative on I/O error. */
typedef int (*lseg_scan_fn)(void *ctx, const lseg_hdr_t *h, uint64_t pos, const uint8_t *batch);
int lseg_scan(lseg_t *s, uint64_t from, uint64_t limit, bool full, size_t max_batch, lseg_scan_fn fn, void *ctx,
              uint64_t *end);

#endif
