/* adm_pid.h — producer ids for idempotent producers, as Kafka 2.4's ProducerIdManager: blocks
 * of 1000 ids reserved in /latest_producer_id_block ({"version":1,"broker":N,
 * "block_start":"S","block_end":"E"}, inclusive) with a version-checked setData, handed out
 * one by one.
 *
 * Pure: the coordinator reads and writes are the caller's (admin.c); this decides what to
 * write and which id comes next. Prefix adm_pid_. */
#ifndef GREGOR_BROKER_ADM_PID_H
#define GREGOR_BROKER_ADM_PID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/zkpaths.h"

#define ADM_PID_BLOCK_SIZE 1000

/* The block to claim after the one the znode holds. data/len: the znode's data (NULL or
 * empty: no block yet, the first one is 0..999). Returns 0 with *next filled (broker set),
 * -1 if the data is not a producer id block, -2 if the ids are exhausted. */
int adm_pid_next_block(const void *data, size_t len, int32_t broker, zkpaths_pid_block_t *next);

typedef struct adm_pid_s {
    bool have;                   /* a block is held */
    zkpaths_pid_block_t block;
    int64_t next;                /* next id to hand out */
} adm_pid_t;

/* A block was claimed: ids come from it from now on. */
void adm_pid_set_block(adm_pid_t *p, const zkpaths_pid_block_t *b);
/* The next id: 0 with *id, or -1 if a new block must be claimed first. */
int adm_pid_take(adm_pid_t *p, int64_t *id);

#endif
