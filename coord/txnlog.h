/* txnlog.h — the coordinator's transaction log (write-ahead log of ZooKeeper txns).
 *
 * Owns the files <dataLogDir>/version-2/log.<zxid hex> (zxid of the first record in
 * the file, lower-case hex without 0x, as ZooKeeper names them). Records are opaque
 * bytes (a serialized TxnHeader + txn body) keyed by a strictly increasing zxid.
 * The on-disk format is documented as a grammar at the top of txnlog.c.
 *
 * Writing: txnlog_append buffers in memory; txnlog_sync writes the buffer and
 * fdatasyncs once (group commit). Reading: txnlog_replay (recovery, repairs a torn
 * tail), txnlog_read_from (read-only, for DIFFs), txnlog_truncate (TRUNC).
 *
 * Intended use by the server:
 *   start:    snap_load_latest(dataDir) -> zxid S (or 0); txnlog_replay(dataLogDir, S, apply)
 *             -> last; txnlog_open(..., last).
 *   each turn of the event loop: txnlog_append per txn; then one txnlog_sync; acknowledge
 *             the turn's txns only if it returned 0.
 *   snapshot at zxid Z: snap_write(dataDir, Z, ...), then txnlog_roll so later txns start
 *             a new file that purge can keep while older files go; snap_purge periodically.
 *
 * Locality: a txnlog_t is used by one thread (the event loop). The free functions
 * taking a directory keep no state and may be called from any thread or a forked
 * child, but must not run concurrently with an open txnlog_t on the same directory
 * unless stated (txnlog_read_from may). */
#ifndef GREGOR_COORD_TXNLOG_H
#define GREGOR_COORD_TXNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest record txnlog_append accepts and recovery believes (a length field above
 * this is corruption). ZooKeeper's jute.maxbuffer default is ~1 MiB. */
#define TXNLOG_MAX_RECORD (64u << 20)

typedef struct txnlog_s txnlog_t;

typedef struct txnlog_opts_s {
    const char *dir;          /* dataLogDir (version-2/ is created beneath it) */
    int64_t prealloc_bytes;   /* preAllocSize (ZooKeeper default 64 MiB; file is extended in chunks of
                                 this size so fdatasync doesn't update metadata every time); 0 = none */
    bool force_sync;          /* forceSync: fdatasync before acknowledging (default yes) */
    int64_t roll_bytes;       /* start a new file past this size (0 = only on txnlog_roll) */
    int64_t fsync_warn_ms;    /* ADDED: fsync.warningthresholdms; 0 = default 1000, < 0 = never warn */
} txnlog_opts_t;

/* Opens for appending after recovery (the next record must have zxid > last_zxid).
 * Creates <dir>/version-2 if missing. No file is created until the first sync with
 * data: like ZooKeeper, every run starts a new log file. opts->dir is copied.
 * Returns 0 and *out (free with txnlog_close), or -1 with a message in err. */
int txnlog_open(txnlog_t **out, const txnlog_opts_t *opts, int64_t last_zxid, char *err, size_t errlen);

/* Closes the current file (trimming unused preallocation) and frees log.
 * Appends not yet synced are dropped: they were never acknowledged. NULL is a no-op. */
void txnlog_close(txnlog_t *log);

/* Buffers one record (copied); not durable until txnlog_sync. Returns 0, or -1 if
 * zxid <= the last appended zxid, len > TXNLOG_MAX_RECORD, or the log is broken
 * after an unrecoverable I/O error. */
int txnlog_append(txnlog_t *log, int64_t zxid, const void *rec, size_t len);

/* Writes everything buffered and (if force_sync) fdatasyncs. Group commit: the server calls this once
   per event-loop turn, so many appends share one fdatasync. Returns 0, or -1 on I/O error (ENOSPC...):
   then nothing buffered since the last successful sync may be acknowledged; the log must stay
   consistent (a later successful sync or a restart must not expose a half record as valid).
   On -1 the buffered records are discarded and the file is cut back to its last synced
   length, so the next append needs zxid > txnlog_durable_zxid() (the same zxids may be
   reused). If even that repair fails the log is "broken": every later call fails and the
   server should exit (recovery at restart repairs the file). Returns 0 if nothing is pending. */
int txnlog_sync(txnlog_t *log, char *err, size_t errlen);

bool txnlog_has_pending(const txnlog_t *log);

/* Starts a new log file at the next append (after a snapshot). If records are pending,
 * the new file starts at the first append after they are synced. */
void txnlog_roll(txnlog_t *log);

/* ADDED: zxid of the last appended record (pending included) / last synced one. */
int64_t txnlog_last_zxid(const txnlog_t *log);
int64_t txnlog_durable_zxid(const txnlog_t *log);
/* ADDED: true once an unrecoverable I/O error has made the log unusable. */
bool txnlog_broken(const txnlog_t *log);

/* Stats for 4lw/mntr: last sync latency, number of fsyncs, bytes. */
typedef struct txnlog_stats_s { uint64_t syncs; uint64_t records; uint64_t bytes; int64_t last_sync_us;
                                int64_t max_sync_us; } txnlog_stats_t;
void txnlog_stats(const txnlog_t *log, txnlog_stats_t *out);

/* Recovery: calls cb for every valid record with zxid > after_zxid, in zxid order, across all log
   files. A torn or corrupt tail (bad crc, short record, garbage after the last valid record — as left by
   kill -9 or power loss) is truncated from the last file so appends can continue; corruption in the
   middle of an OLDER file (followed by valid files) is an error (refuse to start, clear message). If cb
   returns non-zero, replay stops with that error. *last_zxid = zxid of the last valid record (or
   after_zxid if none).
   Details: a newest file without a single valid record (torn at creation) is removed.
   A damaged record in the last file that is followed by an intact record, where the
   damage is not a torn write (no all-zero sector), is treated as silent corruption of
   acknowledged data: error, nothing is truncated. `rec` passed to cb is valid only
   during the call. Returns 0, -1 (message in err), or cb's non-zero value. */
typedef int (*txnlog_replay_fn)(void *ctx, int64_t zxid, const uint8_t *rec, size_t len);
int txnlog_replay(const char *dir, int64_t after_zxid, txnlog_replay_fn cb, void *ctx, int64_t *last_zxid,
                  char *err, size_t errlen);

/* For the quorum (next issue): remove every record with zxid > zxid (TRUNC). Files
 * starting after zxid are deleted; the file holding zxid is cut after it; changes are
 * fsynced. Call with no txnlog_t open on dir. Returns 0 or -1. */
int txnlog_truncate(const char *dir, int64_t zxid, char *err, size_t errlen);

/* Reads records with zxid > after_zxid (for sending DIFFs to followers). Read-only:
 * stops quietly at the end of valid data in the last file (it may be being written).
 * Returns 0, -1 (message in err), or cb's non-zero value. */
int txnlog_read_from(const char *dir, int64_t after_zxid, txnlog_replay_fn cb, void *ctx, char *err, size_t errlen);

/* For the 4lw `dirs`: total bytes (st_size) of the log.* files; 0 if none, -1 on error. */
int64_t txnlog_dir_bytes(const char *dir);

/* ADDED (for purge and tools): the first zxids of the log.<hex> files in <dir>/version-2,
 * ascending. *zxids is malloc'd (caller frees; NULL when *n == 0). Returns 0 or -1. */
int txnlog_list_files(const char *dir, int64_t **zxids, size_t *n, char *err, size_t errlen);

#endif
