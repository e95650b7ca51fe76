/* log_int.h — the partition log's internals, shared by log.c and compact.c only. */
#ifndef GREGOR_BROKER_LOG_INT_H
#define GREGOR_BROKER_LOG_INT_H

#include "broker/log.h"
#include "broker/logckpt.h"
#include "broker/segment.h"

struct plog_s {
    char *log_dir;            /* owned: the log.dirs entry */
    char *dir;                /* owned: <log_dir>/<topic>-<partition> */
    char *topic;              /* owned */
    int32_t partition;
    plog_config_t cfg;
    lseg_t **segs;            /* by base offset; the last is the active segment; one ref each */
    size_t nsegs, cap;
    int64_t log_start, leo, hw, recovery_point;
    /* position of the HW (valid while hw_cache_off == hw) */
    int64_t hw_cache_off;
    size_t hw_cache_seg;
    uint64_t hw_cache_pos;
    lckpt_epoch_t *epochs;    /* leader epoch cache, increasing epochs and start offsets */
    size_t nepochs, epochs_cap;
    int64_t unflushed;        /* records appended since the last flush */
    int64_t last_flush_ms;
    int64_t first_dirty;      /* compaction: first offset not yet cleaned */
    int64_t last_clean_ms;    /* compaction: when it last ran */
};

/* Index of the segment that holds `offset` (largest base <= offset; 0 if below the first). */
size_t plog_int_seg_for(const plog_t *l, int64_t offset);
/* Replaces segment i by s (which takes over the array's reference); the old one is unref'ed
 * (its files must already be gone or renamed over). */
void plog_int_replace_seg(plog_t *l, size_t i, lseg_t *s);
/* Unlinks and drops segment i (never the active one). */
int plog_int_drop_seg(plog_t *l, size_t i);
/* Invalidates cached positions after segments changed. */
void plog_int_changed(plog_t *l);

#endif
