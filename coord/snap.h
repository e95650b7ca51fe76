/* snap.h — snapshot files and autopurge.
 *
 * Owns <dataDir>/version-2/snapshot.<zxid hex> (zxid of the last txn the snapshot
 * includes, lower-case hex without 0x, as ZooKeeper names them). A snapshot body is an
 * opaque blob (the data tree serializes itself); this module frames it with a header
 * and checksum (grammar at the top of snap.c), writes it atomically and loads the
 * newest intact one. Purge also removes txn log files (see txnlog.h) no longer needed.
 *
 * No global state: every function may be called from a forked child (background
 * snapshot) or another thread, as long as two callers do not write the same zxid. */
#ifndef GREGOR_COORD_SNAP_H
#define GREGOR_COORD_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "coord/txnlog.h" /* txnlog_dir_bytes, used with snap_dir_bytes by `dirs` */

/* Writes a snapshot atomically: temp file, fsync, rename to snapshot.<zxid hex>, fsync the directory. */
int snap_write(const char *dir, int64_t zxid, const void *data, size_t len, char *err, size_t errlen);

/* ADDED: the same, streamed, so a 100+ MB tree need not be serialized into one buffer.
 * snap_writer_begin creates the temp file; snap_writer_write appends body bytes;
 * snap_writer_commit finishes (fsync, rename, fsync dir) and frees w; snap_writer_abort
 * removes the temp file and frees w. Every call returns 0 or -1 (message in err); after a
 * failed write the caller still calls snap_writer_abort. */
typedef struct snap_writer_s snap_writer_t;
int snap_writer_begin(snap_writer_t **out, const char *dir, int64_t zxid, char *err, size_t errlen);
int snap_writer_write(snap_writer_t *w, const void *data, size_t len, char *err, size_t errlen);
int snap_writer_commit(snap_writer_t *w, char *err, size_t errlen);
void snap_writer_abort(snap_writer_t *w);

/* Loads the newest VALID snapshot (checksum verified; a damaged newest one falls back to an older one
   with a warning). Returns 1 if loaded (*data malloc'd, caller frees), 0 if none exists, -1 on error.
   (-1 also when snapshot files exist but none is intact.) */
int snap_load_latest(const char *dir, int64_t *zxid, uint8_t **data, size_t *len, char *err, size_t errlen);

/* Autopurge: keep the newest `retain` snapshots (min 3) and the log files still needed to recover from
   the oldest retained one; delete the rest. Returns the number of files removed.
   (-1 on error.) Only structurally intact snapshots count towards `retain` (header and
   trailer checked, not the body checksum); a damaged one is removed only if it is older
   than the oldest retained one. Leftover temp files of dead writers are removed too.
   Files with a Gregor name but another format (e.g. ZooKeeper's own) are left alone. */
int snap_purge(const char *snap_dir, const char *log_dir, int retain, char *err, size_t errlen);

/* For the 4lw `dirs`: total bytes of snapshots and logs. (0 if none, -1 on error.) */
int64_t snap_dir_bytes(const char *dir);
int64_t txnlog_dir_bytes(const char *dir);

/* ADDED: the zxids of the snapshot.<hex> files in <dir>/version-2, ascending (not
 * verified). *zxids is malloc'd (caller frees; NULL when *n == 0). Returns 0 or -1. */
int snap_list_files(const char *dir, int64_t **zxids, size_t *n, char *err, size_t errlen);

#endif
