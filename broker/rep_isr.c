/* rep_isr.c — a leader's replica tracking, HW and ISR decisions (see rep_isr.h). */
#include "broker/rep_isr.h"

#include <stdlib.h>

#include "common/alloc.h"

void risr_init(risr_t *s, int32_t self, const int32_t *replicas, int32_t n, const int32_t *isr, int32_t nisr,
               int64_t now_ms)
{
    risr_fini(s);
    s->self = self;
    s->n = n > 0 ? n : 0;
    size_t k = (size_t)(s->n ? s->n : 1);
    s->replicas = xcalloc(k, sizeof *s->replicas);
    s->leo = xcalloc(k, sizeof *s->leo);
    s->caught_up_ms = xcalloc(k, sizeof *s->caught_up_ms);
    s->in_isr = xcalloc(k, sizeof *s->in_isr);
    for (int32_t i = 0; i < s->n; i++) {
        s->replicas[i] = replicas[i];
        s->leo[i] = -1;
        for (int32_t j = 0; j < nisr; j++)
            if (isr[j] == replicas[i])
                s->in_isr[i] = true;
        s->caught_up_ms[i] = s->in_isr[i] ? now_ms : -1;
    }
}

void risr_fini(risr_t *s)
{
    free(s->replicas);
    free(s->leo);
    free(s->caught_up_ms);
    free(s->in_isr);
    s->replicas = NULL, s->leo = NULL, s->caught_up_ms = NULL, s->in_isr = NULL;
    s->n = 0;
}

static int32_t idx(const risr_t *s, int32_t id)
{
    for (int32_t i = 0; i < s->n; i++)
        if (s->replicas[i] == id)
            return i;
    return -1;
}

int32_t risr_isr_size(const risr_t *s)
{
    int32_t k = 0;
    for (int32_t i = 0; i < s->n; i++)
        k += s->in_isr[i];
    return k;
}

bool risr_is_replica(const risr_t *s, int32_t id)
{
    return idx(s, id) >= 0;
}

int risr_follower_fetch(risr_t *s, int32_t replica, int64_t fetch_offset, int64_t leader_leo, int64_t now_ms)
{
    int32_t i = idx(s, replica);
    if (i < 0 || replica == s->self)
        return -1;
    s->leo[i] = fetch_offset;
    if (fetch_offset >= leader_leo)
        s->caught_up_ms[i] = now_ms;
    return 0;
}

int64_t risr_hw(const risr_t *s, int64_t leader_leo)
{
    int64_t hw = leader_leo;
    for (int32_t i = 0; i < s->n; i++) {
        if (!s->in_isr[i] || s->replicas[i] == s->self)
            continue;
        int64_t l = s->leo[i] < 0 ? 0 : s->leo[i];
        if (l < hw)
            hw = l;
    }
    return hw;
}

int32_t risr_out_of_sync(const risr_t *s, int64_t now_ms, int64_t lag_ms, int32_t *out)
{
    int32_t k = 0;
    for (int32_t i = 0; i < s->n; i++)
        if (s->in_isr[i] && s->replicas[i] != s->self && now_ms - s->caught_up_ms[i] > lag_ms)
            out[k++] = s->replicas[i];
    return k;
}

int32_t risr_caught_up(const risr_t *s, int64_t hw, int32_t *out)
{
    int32_t k = 0;
    for (int32_t i = 0; i < s->n; i++)
        if (!s->in_isr[i] && s->replicas[i] != s->self && s->leo[i] >= hw && s->leo[i] >= 0)
            out[k++] = s->replicas[i];
    return k;
}

int risr_set_isr(risr_t *s, int32_t id, bool in)
{
    int32_t i = idx(s, id);
    if (i < 0)
        return -1;
    s->in_isr[i] = in;
    return 0;
}
