/* adm_pid.c — producer id blocks (see adm_pid.h). */
#include "broker/adm_pid.h"

#include <string.h>

int adm_pid_next_block(const void *data, size_t len, int32_t broker, zkpaths_pid_block_t *next)
{
    memset(next, 0, sizeof *next);
    next->broker = broker;
    if (!data || len == 0) {
        next->block_start = 0;
        next->block_end = ADM_PID_BLOCK_SIZE - 1;
        return 0;
    }
    zkpaths_pid_block_t cur;
    if (zkpaths_pid_block_decode(data, len, &cur))
        return -1;
    if (cur.block_end < -1 || cur.block_end > INT64_MAX - ADM_PID_BLOCK_SIZE)
        return -2;
    next->block_start = cur.block_end + 1;
    next->block_end = cur.block_end + ADM_PID_BLOCK_SIZE;
    return 0;
}

void adm_pid_set_block(adm_pid_t *p, const zkpaths_pid_block_t *b)
{
    p->have = true;
    p->block = *b;
    p->next = b->block_start;
}

int adm_pid_take(adm_pid_t *p, int64_t *id)
{
    if (!p->have || p->next > p->block.block_end) {
        p->have = false;
        return -1;
    }
    *id = p->next++;
    return 0;
}
