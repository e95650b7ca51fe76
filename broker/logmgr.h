/* logmgr.h — every partition log under log.dirs (Kafka's LogManager).
 *
 * Per log dir it owns:
 *   .lock                               flock'ed while open (a second broker on the dir fails)
 *   meta.properties                     version=0, broker.id, cluster.id (lmgr_check_meta)
 *   .kafka_cleanshutdown                written by a clean lmgr_close; its absence at open means
 *                                       every log recovers from its recovery point
 *   recovery-point-offset-checkpoint    per log: offsets below are fsynced
 *   replication-offset-checkpoint       per log: high watermark
 *   log-start-offset-checkpoint         per log: log start offset (DeleteRecords, retention)
 *   cleaner-offset-checkpoint           per compacted log: first offset not yet cleaned
 *   <topic>-<partition>/                one plog each (log.h)
 *   <topic>-<partition>.<uuid>-delete/  a deleted log being removed (removed at open too)
 *
 * Scheduling is a function of now: lmgr_due says which periodic jobs are due, lmgr_tick
 * runs them (retention, flushes, checkpoints, compaction) and returns the next deadline.
 * The broker calls lmgr_tick from a timer; nothing here reads a clock or starts a thread.
 * Not thread-safe: one thread owns the manager and its logs. */
#ifndef GREGOR_BROKER_LOGMGR_H
#define GREGOR_BROKER_LOGMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/log.h"

typedef struct lmgr_config_s {
    const char *const *dirs;               /* log.dirs (copied at open) */
    size_t ndirs;
    plog_config_t defaults;                /* broker-level log.* defaults for new/found logs */
    int64_t retention_check_interval_ms;   /* log.retention.check.interval.ms 300000 */
    int64_t flush_check_interval_ms;       /* log.flush.scheduler.interval.ms; Gregor: 1000 */
    int64_t recovery_ckpt_interval_ms;     /* log.flush.offset.checkpoint.interval.ms 60000 */
    int64_t start_ckpt_interval_ms;        /* log.flush.start.offset.checkpoint.interval.ms 60000 */
    int64_t hw_ckpt_interval_ms;           /* replica.high.watermark.checkpoint.interval.ms 5000 */
    int64_t cleaner_backoff_ms;            /* log.cleaner.backoff.ms 15000 */
    bool cleaner_enable;                   /* log.cleaner.enable true */
} lmgr_config_t;

void lmgr_config_default(lmgr_config_t *c);

typedef struct lmgr_s lmgr_t;

/* Opens every log dir (creating it), locks it, removes "-delete" leftovers and opens every
 * partition log, recovering after an unclean stop. Returns 0, or -1 with a message naming
 * the directory or file in err. */
int lmgr_open(const lmgr_config_t *c, int64_t now_ms, lmgr_t **out, char *err, size_t errlen);
/* clean: flushes every log, writes all checkpoints and .kafka_cleanshutdown. Not clean: only
 * releases memory and locks (what a crash leaves, for tests). Frees m. 0 or negative. */
int lmgr_close(lmgr_t *m, bool clean);

/* meta.properties of every dir: written if missing; a stored broker.id or cluster.id that
 * differs is an error (Kafka's messages). cluster_id may be NULL (not yet known). 0 or -1. */
int lmgr_check_meta(lmgr_t *m, int32_t broker_id, const char *cluster_id, char *err, size_t errlen);

/* The log of a partition, or NULL. */
plog_t *lmgr_get(const lmgr_t *m, const char *topic, int32_t partition);
/* Gets or creates (in the dir with the fewest logs, as Kafka) a log; cfg NULL = defaults.
 * An existing log gets cfg if given. 0 or a negated Kafka code. */
int lmgr_get_or_create(lmgr_t *m, const char *topic, int32_t partition, const plog_config_t *cfg, int64_t now_ms,
                       plog_t **out);
/* Deletes a log (plog_delete) and forgets it. 0, or -KERR_UNKNOWN_TOPIC_OR_PARTITION. */
int lmgr_delete(lmgr_t *m, const char *topic, int32_t partition);

size_t lmgr_count(const lmgr_t *m);
/* Calls fn for every log (unspecified order); fn must not create or delete logs. */
void lmgr_foreach(const lmgr_t *m, void (*fn)(void *ctx, plog_t *l), void *ctx);

#define LMGR_DUE_RETENTION   0x01u
#define LMGR_DUE_FLUSH       0x02u
#define LMGR_DUE_RECOVERY    0x04u
#define LMGR_DUE_START       0x08u
#define LMGR_DUE_HW          0x10u
#define LMGR_DUE_CLEANER     0x20u
#define LMGR_DUE_ALL_CKPT    (LMGR_DUE_RECOVERY | LMGR_DUE_START | LMGR_DUE_HW)

/* Which periodic jobs are due at now (pure). */
unsigned lmgr_due(const lmgr_t *m, int64_t now_ms);
/* Runs the due jobs; returns the time of the next one (absolute ms). */
int64_t lmgr_tick(lmgr_t *m, int64_t now_ms);
/* Writes the chosen checkpoint files now (LMGR_DUE_RECOVERY/START/HW bits; the cleaner
 * checkpoint goes with RECOVERY). 0 or negative (the failing file is logged). */
int lmgr_checkpoint(lmgr_t *m, unsigned what);

#endif
