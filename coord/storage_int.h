/* storage_int.h — private file helpers shared by txnlog.c and snap.c (prefix stor_).
 *
 * Directory layout, zxid-named files (<prefix><zxid hex>), full reads/writes that
 * retry on EINTR and short counts, and directory fsync. No global state; safe in a
 * forked child. Not for use outside coord/txnlog.c, coord/snap.c and their tests. */
#ifndef GREGOR_COORD_STORAGE_INT_H
#define GREGOR_COORD_STORAGE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STOR_VERSION_DIR "version-2"
#define STOR_LOG_PREFIX "log."
#define STOR_SNAP_PREFIX "snapshot."
#define STOR_LOG_MAGIC "GZLG"
#define STOR_SNAP_MAGIC "GZSN"

/* Formats a message into err (if err && errlen). */
void stor_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Returns "<dir>/version-2" (malloc'd). */
char *stor_v2_path(const char *dir);
/* Creates dir and dir/version-2 if missing (mode 0755); returns the version-2 path
 * (malloc'd) or NULL with a message in err. */
char *stor_make_v2(const char *dir, char *err, size_t errlen);
/* "<v2>/<prefix><zxid hex>", malloc'd. */
char *stor_file_path(const char *v2, const char *prefix, int64_t zxid);

/* Parses "<prefix><hex>" exactly (1-16 hex digits, nothing after, value <= INT64_MAX). */
bool stor_parse_name(const char *name, const char *prefix, int64_t *zxid);
/* Lists zxids of "<prefix><hex>" files in v2, ascending. A missing directory is an
 * empty list. *zxids malloc'd (NULL if *n == 0). Returns 0 or -1. */
int stor_list(const char *v2, const char *prefix, int64_t **zxids, size_t *n, char *err, size_t errlen);
/* Sum of st_size over "<prefix><hex>" files in dir/version-2; 0 if none, -1 on error. */
int64_t stor_bytes(const char *dir, const char *prefix);

/* True unless the file at path starts with 4 bytes that are neither `magic` nor zeros
 * (purge removes only files that are Gregor's own, or too damaged to tell). */
bool stor_is_ours(const char *path, const char *magic);

/* fsyncs a directory so that creates, renames and unlinks in it are durable. 0 or -1 (errno set). */
int stor_fsync_dir(const char *path);
/* Full pwrite/pread with EINTR and short-count handling. pread returns bytes read
 * (less than n only at end of file) or -1. pwrite returns 0 or -1 (errno set). */
int stor_pwrite_all(int fd, const void *p, size_t n, off_t off);
ssize_t stor_pread_full(int fd, void *p, size_t n, off_t off);

#endif
