/* compact.h — log compaction for cleanup.policy=compact (Kafka's log cleaner, simplified).
 *
 * What a run does, for the sealed segments of one log (the active segment is never cleaned,
 * as in Kafka):
 *   1. builds a map key -> last offset over every sealed segment whose records are older than
 *      min.compaction.lag.ms (Kafka maps the dirty part only; Gregor maps everything sealed,
 *      which gives the same result and needs no separate "clean" section state);
 *   2. rewrites each such segment, in place of itself (same base offset), keeping a record if
 *      it is the latest for its key (records without a key are kept, as Kafka can't place
 *      them), and dropping a tombstone (null value) once it is both latest and older than
 *      delete.retention.ms by its batch's max timestamp and has been through an earlier
 *      clean (offset < the cleaner checkpoint), so consumers had delete.retention.ms to see it;
 *   3. batches keep their base offset, producer id/epoch, sequence, codec, timestamps type and
 *      partition leader epoch; a batch losing no record is copied byte for byte; one losing
 *      all its records is dropped; an emptied segment is deleted (never the first, so the
 *      log start offset stays).
 * The swap is crash safe: the new data is written to "<base>.log.cleaned" (and indexes to
 * ".index.cleaned"/".timeindex.cleaned"), fsynced, then the old indexes are removed, the new
 * .log renamed over the old one, and the new indexes renamed in. A crash leaves either the
 * old segment (".cleaned" files are removed at open) or the new one with missing indexes
 * (rebuilt at open). Control batches (transactions) are kept as they are.
 *
 * The cleaner checkpoint (cleaner-offset-checkpoint) is the first offset not yet cleaned: the
 * active segment's base after a run. A run is due when cleanup.policy has compact and the
 * bytes since that offset (up to the active segment) are at least min.cleanable.dirty.ratio
 * of all sealed bytes. */
#ifndef GREGOR_BROKER_COMPACT_H
#define GREGOR_BROKER_COMPACT_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/log.h"

typedef struct lcompact_stats_s {
    int segments;              /* segments rewritten */
    int64_t records_read;
    int64_t records_kept;
    int64_t tombstones_dropped;
    uint64_t bytes_before, bytes_after;
} lcompact_stats_t;

/* Dirty ratio test for a compacted log (pure apart from reading segment sizes). */
bool lcompact_due(plog_t *l, int64_t now_ms);
/* Cleans the log now (whatever the ratio). 0 or a negated Kafka code; st may be NULL. */
int lcompact_run(plog_t *l, int64_t now_ms, lcompact_stats_t *st);

/* The cleaner checkpoint of a log (-1: never cleaned) and its setter (at open). */
int64_t lcompact_first_dirty(const plog_t *l);
void lcompact_set_first_dirty(plog_t *l, int64_t offset);

#endif
