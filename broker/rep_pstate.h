/* rep_pstate.h — idempotent-producer state of one partition (Kafka's ProducerStateManager,
 * without transactions): per producer id the epoch and the sequence ranges and offsets of its
 * last RPS_MAX_BATCHES appended batches, which is what duplicate detection and the sequence
 * checks of Kafka 2.4 need. Pure: no I/O, no clock. Prefix rps_. */
#ifndef GREGOR_BROKER_REP_PSTATE_H
#define GREGOR_BROKER_REP_PSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RPS_MAX_BATCHES 5

typedef struct rps_s rps_t;

rps_t *rps_new(void);
void rps_free(rps_t *s);
size_t rps_count(const rps_t *s);

/* Outcome of rps_check. */
#define RPS_APPEND 0      /* new batch in sequence: append it, then rps_record */
#define RPS_DUPLICATE 1   /* a retry of one of the cached batches: answer its offsets, do not append */

/* Checks a batch of producer pid/epoch with sequences first_seq..last_seq (last_seq =
 * first_seq + records - 1, wrapping past INT32_MAX to 0). Returns RPS_APPEND, RPS_DUPLICATE
 * (with *dup_first / *dup_last the offsets it got), or a negated Kafka error:
 * -KERR_INVALID_PRODUCER_EPOCH (older epoch), -KERR_OUT_OF_ORDER_SEQUENCE_NUMBER (gap, or a
 * new epoch not starting at 0), -KERR_UNKNOWN_PRODUCER_ID (no state for pid and first_seq != 0). */
int rps_check(const rps_t *s, int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq, int64_t *dup_first,
              int64_t *dup_last);
/* Records an appended batch (also used to rebuild the state from the log, without checks).
 * A newer epoch forgets the older epoch's batches. */
void rps_record(rps_t *s, int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq, int64_t first_offset,
                int64_t last_offset);
/* Forgets every producer (log truncated or deleted). */
void rps_clear(rps_t *s);

#endif
