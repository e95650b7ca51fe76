/* rep_isr.h — a leader partition's view of its replicas (the replica half of Kafka's
 * Partition): each follower's log end offset as its fetches report it and the last time it
 * was caught up, the high watermark as the smallest LEO in the ISR, and which followers
 * should leave (lagging longer than replica.lag.time.max.ms) or join (caught up to the HW)
 * the ISR. Pure: no I/O, time as an argument; the replica manager applies the decisions.
 * Prefix risr_. */
#ifndef GREGOR_BROKER_REP_ISR_H
#define GREGOR_BROKER_REP_ISR_H

#include <stdbool.h>
#include <stdint.h>

typedef struct risr_s {
    int32_t self;                /* this broker (the leader) */
    int32_t n;                   /* replicas */
    int32_t *replicas;
    int64_t *leo;                /* per replica; -1 = unknown (self's slot is unused) */
    int64_t *caught_up_ms;       /* per replica: last fetch that reached the leader's LEO */
    bool *in_isr;
} risr_t;

/* Sets up the replica list and ISR (copied) as a new leader does: followers' LEOs unknown,
 * ISR members counted as caught up at now_ms. s must be zeroed or finished before. */
void risr_init(risr_t *s, int32_t self, const int32_t *replicas, int32_t n, const int32_t *isr, int32_t nisr,
               int64_t now_ms);
void risr_fini(risr_t *s);

int32_t risr_isr_size(const risr_t *s);
bool risr_is_replica(const risr_t *s, int32_t id);
/* Follower `replica` fetched from fetch_offset (its LEO) while the leader's LEO was
 * leader_leo. Returns 0, or -1 if it is not a replica. */
int risr_follower_fetch(risr_t *s, int32_t replica, int64_t fetch_offset, int64_t leader_leo, int64_t now_ms);
/* The HW the ISR allows: the smallest LEO among the ISR, the leader's being leader_leo (an
 * ISR follower with an unknown LEO counts as 0). */
int64_t risr_hw(const risr_t *s, int64_t leader_leo);
/* ISR followers not caught up for longer than lag_ms: written to out (room for n), count returned. */
int32_t risr_out_of_sync(const risr_t *s, int64_t now_ms, int64_t lag_ms, int32_t *out);
/* Followers outside the ISR whose LEO reached hw: written to out, count returned. */
int32_t risr_caught_up(const risr_t *s, int64_t hw, int32_t *out);
/* Moves a replica into (in = true) or out of the ISR. 0, or -1 if it is not a replica. */
int risr_set_isr(risr_t *s, int32_t id, bool in);

#endif
