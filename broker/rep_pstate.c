/* rep_pstate.c — idempotent-producer state of one partition (see rep_pstate.h). */
#include "broker/rep_pstate.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "common/hmap.h"
#include "proto/kafka_err.h"

typedef struct rps_batch_s {
    int32_t first_seq, last_seq;
    int64_t first_off, last_off;
} rps_batch_t;

typedef struct rps_entry_s {
    int16_t epoch;
    int n;                        /* cached batches, oldest first */
    rps_batch_t b[RPS_MAX_BATCHES];
} rps_entry_t;

struct rps_s {
    hmap_t by_pid;                /* pid -> rps_entry_t */
};

rps_t *rps_new(void)
{
    rps_t *s = xcalloc(1, sizeof *s);
    hmap_init(&s->by_pid);
    return s;
}

void rps_free(rps_t *s)
{
    if (!s)
        return;
    hmap_fini(&s->by_pid, free);
    free(s);
}

void rps_clear(rps_t *s)
{
    hmap_fini(&s->by_pid, free);
    hmap_init(&s->by_pid);
}

size_t rps_count(const rps_t *s)
{
    return hmap_count(&s->by_pid);
}

static int32_t next_seq(int32_t seq)
{
    return seq == INT32_MAX ? 0 : seq + 1;
}

int rps_check(const rps_t *s, int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq, int64_t *dup_first,
              int64_t *dup_last)
{
    const rps_entry_t *e = hmap_get64(&s->by_pid, (uint64_t)pid);
    if (!e || e->n == 0)
        return first_seq == 0 ? RPS_APPEND : -KERR_UNKNOWN_PRODUCER_ID;
    if (epoch < e->epoch)
        return -KERR_INVALID_PRODUCER_EPOCH;
    if (epoch > e->epoch)
        return first_seq == 0 ? RPS_APPEND : -KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    for (int i = 0; i < e->n; i++) {
        if (e->b[i].first_seq == first_seq && e->b[i].last_seq == last_seq) {
            if (dup_first)
                *dup_first = e->b[i].first_off;
            if (dup_last)
                *dup_last = e->b[i].last_off;
            return RPS_DUPLICATE;
        }
    }
    if (first_seq != next_seq(e->b[e->n - 1].last_seq))
        return -KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    return RPS_APPEND;
}

void rps_record(rps_t *s, int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq, int64_t first_offset,
                int64_t last_offset)
{
    rps_entry_t *e = hmap_get64(&s->by_pid, (uint64_t)pid);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        hmap_put64(&s->by_pid, (uint64_t)pid, e);
    }
    if (e->n == 0 || epoch != e->epoch) {
        e->n = 0;
        e->epoch = epoch;
    }
    if (e->n == RPS_MAX_BATCHES) {
        for (int i = 1; i < RPS_MAX_BATCHES; i++)
            e->b[i - 1] = e->b[i];
        e->n--;
    }
    e->b[e->n++] = (rps_batch_t){first_seq, last_seq, first_offset, last_offset};
}
