/* ctrl_assign.h — replica assignment for new topics and added partitions, as Kafka's
 * AdminUtils.assignReplicasToBrokers (rack-unaware round robin with a random start index
 * and a random replica shift, or rack-aware over a rack-alternated broker list).
 *
 * Pure: the two random draws Kafka makes (rand.nextInt(nBrokers), twice) are inputs, so
 * the same inputs give Kafka's assignment. */
#ifndef GREGOR_BROKER_CTRL_ASSIGN_H
#define GREGOR_BROKER_CTRL_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "broker/zkpaths.h"

typedef struct ctrl_assign_broker_s {
    int32_t id;
    const char *rack;   /* NULL = no rack */
} ctrl_assign_broker_t;

typedef struct ctrl_assign_opts_s {
    int32_t fixed_start_index;  /* >= 0: used for both start index and shift (added
                                 * partitions); -1: use the random draws below */
    int32_t start_partition_id; /* first partition id to assign (existing count when adding) */
    uint32_t rand_start;        /* Kafka's first rand.nextInt(n): taken modulo n */
    uint32_t rand_shift;        /* Kafka's second rand.nextInt(n) */
} ctrl_assign_opts_t;

enum ctrl_assign_err {
    CTRL_ASSIGN_OK = 0,
    CTRL_ASSIGN_BAD_PARTITIONS = -1,    /* InvalidPartitionsException */
    CTRL_ASSIGN_BAD_RF = -2,            /* InvalidReplicationFactorException */
    CTRL_ASSIGN_RACK_MISMATCH = -3,     /* AdminOperationException: some brokers lack a rack */
};

/* Assigns n_partitions partitions of replication_factor replicas over brokers (any order;
 * sorted by id internally, as Kafka's callers do). On success out[i] (i < n_partitions)
 * holds the replicas of partition start_partition_id + i, first = preferred leader; the
 * caller frees each with zkpaths_ilist_free. On error nothing is allocated, and *msg (if
 * msg) points to Kafka's message text, a static string. rack_aware = 0 ignores racks
 * (kafka-topics --disable-rack-aware). */
int ctrl_assign_replicas(const ctrl_assign_broker_t *brokers, size_t n_brokers, int32_t n_partitions,
                         int32_t replication_factor, const ctrl_assign_opts_t *opts, int rack_aware,
                         zkpaths_ilist_t *out, const char **msg);

/* The fixed start index Kafka uses when adding partitions: the position in the sorted
 * broker list of the first broker id >= partition 0's first replica (0 if none). */
int32_t ctrl_assign_added_start_index(const ctrl_assign_broker_t *brokers, size_t n_brokers,
                                      int32_t p0_first_replica);

#endif
