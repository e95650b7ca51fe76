/* logckpt.h — the small text files of Kafka's log directories, and file helpers for the log.
 *
 * Offset checkpoints, in each log dir: recovery-point-offset-checkpoint,
 * replication-offset-checkpoint (high watermarks), log-start-offset-checkpoint,
 * cleaner-offset-checkpoint. Kafka's text format:
 *
 *   file  := version "\n" count "\n" line{count}     version = 0
 *   line  := topic " " partition " " offset "\n"
 *
 * Leader epoch checkpoint, in each partition dir (leader-epoch-checkpoint):
 *
 *   file  := "0\n" count "\n" (epoch " " startOffset "\n"){count}
 *
 * meta.properties, in each log dir: java.util.Properties text with version=0, broker.id and
 * cluster.id (Kafka writes a "#" line and a date comment first; so does Gregor).
 *
 * Files are replaced atomically: written to "<name>.tmp", fsynced, renamed over the old one,
 * and the directory fsynced (as Kafka's CheckpointFile). A malformed file is an error; the
 * caller decides (Kafka resets the offsets to the safe default and goes on). */
#ifndef GREGOR_BROKER_LOGCKPT_H
#define GREGOR_BROKER_LOGCKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hmap.h"

#define LCKPT_RECOVERY    "recovery-point-offset-checkpoint"
#define LCKPT_REPLICATION "replication-offset-checkpoint"
#define LCKPT_LOG_START   "log-start-offset-checkpoint"
#define LCKPT_CLEANER     "cleaner-offset-checkpoint"
#define LCKPT_EPOCH       "leader-epoch-checkpoint"
#define LCKPT_META        "meta.properties"
#define LCKPT_CLEAN_SHUTDOWN ".kafka_cleanshutdown"

typedef struct lckpt_entry_s {
    char *topic;          /* owned */
    int32_t partition;
    int64_t offset;
} lckpt_entry_t;

/* A set of (topic, partition) -> offset; adding a pair again replaces its offset. */
typedef struct lckpt_s {
    lckpt_entry_t *v;
    size_t n, cap;
    hmap_t idx;           /* "topic\0partition" -> entry index + 1 */
} lckpt_t;

void lckpt_init(lckpt_t *c);
void lckpt_free(lckpt_t *c);
void lckpt_set(lckpt_t *c, const char *topic, int32_t partition, int64_t offset);
/* 1 and *offset if present, else 0. */
int lckpt_get(const lckpt_t *c, const char *topic, int32_t partition, int64_t *offset);

/* Reads `path` into c (which must be initialised; entries are added). A missing file is
 * empty (returns 0). Malformed: -EBADMSG with a message in err. Other errors: -errno. */
int lckpt_read(const char *path, lckpt_t *c, char *err, size_t errlen);
/* Writes c atomically (durable). 0 or -errno. */
int lckpt_write(const char *path, const lckpt_t *c);

typedef struct lckpt_epoch_s {
    int32_t epoch;
    int64_t start;
} lckpt_epoch_t;

/* Reads a leader-epoch-checkpoint; *v is malloc'ed (caller frees). Missing: 0 entries. */
int lckpt_epochs_read(const char *path, lckpt_epoch_t **v, size_t *n, char *err, size_t errlen);
int lckpt_epochs_write(const char *path, const lckpt_epoch_t *v, size_t n);

typedef struct lckpt_meta_s {
    int version;
    int32_t broker_id;    /* -1 if absent */
    char *cluster_id;     /* owned; NULL if absent */
} lckpt_meta_t;

/* Reads <dir>/meta.properties: 1 = read, 0 = no file, negative = malformed/unreadable. */
int lckpt_meta_read(const char *dir, lckpt_meta_t *m, char *err, size_t errlen);
int lckpt_meta_write(const char *dir, const lckpt_meta_t *m);
void lckpt_meta_free(lckpt_meta_t *m);

/* ---- helpers shared by the log modules ---- */

/* Replaces path with data atomically (tmp, write, fsync if durable, rename, dir fsync if
 * durable). 0 or -errno. */
int lckpt_write_atomic(const char *path, const void *data, size_t len, bool durable);
/* fsync of a directory. 0 or -errno. */
int lckpt_fsync_dir(const char *dir);
/* Removes a directory tree (files and subdirectories). 0 or -errno. */
int lckpt_rmtree(const char *path);

#endif
