/* logindex.h — a segment's offset index (.index) and time index (.timeindex), Kafka's formats.
 *
 * On disk (all integers big-endian, no header, entries in increasing order):
 *
 *   offset index  := entry*   entry := relativeOffset int32, position int32        (8 bytes)
 *   time index    := entry*   entry := timestamp int64, relativeOffset int32       (12 bytes)
 *
 * relativeOffset = offset - segment base offset; position = byte position in the .log file.
 * Entries are sparse (one per log.index.interval.bytes of log data, see segment.h). Time index
 * entries are only added when the timestamp grows, so both columns are monotonic.
 *
 * Memory: an index is in one of two states.
 *   - open (the active segment): entries live in a heap array; new entries are appended there
 *     and reach the file only on lidx_sync (at flush, roll and close). The file may therefore
 *     lag after kill -9; recovery rebuilds the indexes of every segment after the recovery
 *     point, and a segment at or before it was synced when the recovery point moved.
 *   - sealed (older segments): the heap copy is dropped; the file is mapped read-only on the
 *     first lookup (MAP_SHARED, page cache only, nothing on the heap). Kafka maps a file
 *     preallocated to log.index.size.max.bytes; Gregor does not preallocate, so a file is
 *     always exactly entries * size and no trimming is needed at close.
 * No file descriptor is kept open. Not thread-safe: the owning log serialises access. */
#ifndef GREGOR_BROKER_LOGINDEX_H
#define GREGOR_BROKER_LOGINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIDX_OFFSET 0
#define LIDX_TIME   1
#define LIDX_OFFSET_ENTRY 8
#define LIDX_TIME_ENTRY   12

typedef struct lidx_s {
    char *path;        /* owned */
    int kind;          /* LIDX_OFFSET or LIDX_TIME */
    size_t esize;      /* entry size */
    uint8_t *mem;      /* entries, big-endian as on disk: heap (open) or mapping (sealed) */
    size_t n;          /* entries in mem */
    size_t cap;        /* heap capacity in entries (open state) */
    size_t nfile;      /* entries known to be in the file (a prefix of mem) */
    size_t map_len;    /* bytes mapped (sealed state with a mapping) */
    bool sealed;
    bool file_dirty;   /* file must be cut to n entries at the next sync (after truncation) */
} lidx_t;

/* Sets up an index over `path` (copied) in the open state with no entries. No I/O. */
void lidx_init(lidx_t *x, const char *path, int kind);
/* Reads the file into the heap (open state). A missing file is an empty index. The caller
 * checks the entries with lidx_check. Returns 0 or -errno. */
int lidx_load(lidx_t *x);
/* Frees memory; writes nothing (call lidx_sync first to keep pending entries). */
void lidx_free(lidx_t *x);

/* Appends an entry in the open state (caller keeps them increasing). */
void lidx_append_offset(lidx_t *x, int32_t rel, int32_t pos);
void lidx_append_time(lidx_t *x, int64_t ts, int32_t rel);
/* Drops all entries (open state); the file is cut at the next sync. */
void lidx_clear(lidx_t *x);
/* Keeps entries with relative offset < rel (open state; sealed indexes are reopened first). */
int lidx_truncate_rel(lidx_t *x, int32_t rel);

/* Writes pending entries (and cuts the file after a truncation); fdatasync if `durable`.
 * Returns 0 or -errno. */
int lidx_sync(lidx_t *x, bool durable);
/* Syncs (not durable) and drops the heap copy; lookups then map the file. Returns 0 or -errno. */
int lidx_seal(lidx_t *x);
/* Back to the open state (for truncation of a sealed segment that becomes active again). */
int lidx_unseal(lidx_t *x);

/* Number of entries (maps a sealed index on demand; 0 if it cannot be read). */
size_t lidx_count(lidx_t *x);

/* Offset index: the last entry with rel <= target. Returns 1 and fills rel/pos, or 0 if none. */
int lidx_offset_floor(lidx_t *x, int32_t target, int32_t *rel, int32_t *pos);
/* Time index: the last entry with timestamp < ts. Returns 1 and fills, or 0 if none. */
int lidx_time_floor_below(lidx_t *x, int64_t ts, int64_t *ets, int32_t *rel);
/* Last entry of either kind: 1 and fills (a, b) = (rel, pos) or (ts, rel), 0 if empty. */
int lidx_last_offset(lidx_t *x, int32_t *rel, int32_t *pos);
int lidx_last_time(lidx_t *x, int64_t *ts, int32_t *rel);

/* Sanity check as Kafka does at load: entries strictly increasing in both columns, relative
 * offsets >= 0, positions < log_size (offset index). Returns 0 if sane, -1 if not. */
int lidx_check(lidx_t *x, uint64_t log_size);

/* Removes the file (and frees nothing). Returns 0 or -errno (a missing file is fine). */
int lidx_unlink(lidx_t *x);
/* Renames the file to new_path and adopts it. Returns 0 or -errno. */
int lidx_rename(lidx_t *x, const char *new_path);

#endif
