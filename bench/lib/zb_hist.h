/* zb_hist.h — a fixed-size log-linear latency histogram for the benchmarks.
 *
 * Owns nothing on the heap: a zb_hist_t is a plain struct (about 35 KiB) the
 * caller places where it likes. Values are unsigned microseconds. Values below
 * 2^ZB_HIST_SUB_BITS are kept exactly; above that every power of two is split
 * into 2^ZB_HIST_SUB_BITS equal sub-buckets, so a reported percentile is within
 * 1/128 (0.8 %) of the true sample. The maximum, count and sum are exact.
 *
 * Header-only (static inline) because bench/ builds one binary per .c file and
 * the unit test (tests/unit/test_zb_hist.c) includes it directly. */
#ifndef GREGOR_BENCH_ZB_HIST_H
#define GREGOR_BENCH_ZB_HIST_H

#include <stdint.h>
#include <string.h>

#define ZB_HIST_SUB_BITS 7
#define ZB_HIST_SUB (1u << ZB_HIST_SUB_BITS)
#define ZB_HIST_MAX_EXP 40                 /* values up to 2^41 us (25 days) */
#define ZB_HIST_BUCKETS (ZB_HIST_SUB + (ZB_HIST_MAX_EXP - ZB_HIST_SUB_BITS + 1) * ZB_HIST_SUB)

typedef struct zb_hist_s {
    uint64_t n;
    uint64_t sum;
    uint64_t max;
    uint64_t cnt[ZB_HIST_BUCKETS];
} zb_hist_t;

static inline void zb_hist_reset(zb_hist_t *h)
{
    memset(h, 0, sizeof *h);
}

/* Bucket index of value v (clamped to the top bucket). */
static inline uint32_t zb_hist_index(uint64_t v)
{
    if (v < ZB_HIST_SUB)
        return (uint32_t)v;
    uint32_t e = 63u - (uint32_t)__builtin_clzll(v);   /* v in [2^e, 2^(e+1)) */
    if (e > ZB_HIST_MAX_EXP)
        return ZB_HIST_BUCKETS - 1;
    uint32_t m = (uint32_t)(v >> (e - ZB_HIST_SUB_BITS)) - ZB_HIST_SUB;
    return ZB_HIST_SUB + (e - ZB_HIST_SUB_BITS) * ZB_HIST_SUB + m;
}

/* Smallest value that falls into bucket idx, and the bucket's width. */
static inline uint64_t zb_hist_low(uint32_t idx, uint64_t *width)
{
    if (idx < ZB_HIST_SUB) {
        *width = 1;
        return idx;
    }
    uint32_t e = (idx - ZB_HIST_SUB) / ZB_HIST_SUB + ZB_HIST_SUB_BITS;
    uint32_t m = (idx - ZB_HIST_SUB) % ZB_HIST_SUB;
    *width = 1ull << (e - ZB_HIST_SUB_BITS);
    return ((uint64_t)ZB_HIST_SUB + m) << (e - ZB_HIST_SUB_BITS);
}

static inline void zb_hist_add(zb_hist_t *h, uint64_t v)
{
    h->cnt[zb_hist_index(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

/* Adds every sample of src into dst. */
static inline void zb_hist_merge(zb_hist_t *dst, const zb_hist_t *src)
{
    for (uint32_t i = 0; i < ZB_HIST_BUCKETS; i++)
        dst->cnt[i] += src->cnt[i];
    dst->n += src->n;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

/* The value at quantile q (0 < q <= 1): the middle of the bucket holding the
 * ceil(q * n)-th smallest sample, never above the exact maximum. 0 if empty. */
static inline uint64_t zb_hist_quantile(const zb_hist_t *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if ((double)rank < q * (double)h->n)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > h->n)
        rank = h->n;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < ZB_HIST_BUCKETS; i++) {
        seen += h->cnt[i];
        if (seen >= rank) {
            uint64_t width;
            uint64_t v = zb_hist_low(i, &width) + (width - 1) / 2;
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

static inline double zb_hist_mean(const zb_hist_t *h)
{
    return h->n ? (double)h->sum / (double)h->n : 0.0;
}

#endif
