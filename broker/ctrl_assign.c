/* ctrl_assign.c — Kafka's replica assignment (see ctrl_assign.h). */
#include "broker/ctrl_assign.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static int cmp_broker(const void *a, const void *b)
{
    int32_t x = ((const ctrl_assign_broker_t *)a)->id, y = ((const ctrl_assign_broker_t *)b)->id;
    return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Kafka's replicaIndex: the j-th follower after the first replica, shifted. */
static size_t replica_index(size_t first, int64_t shift, size_t j, size_t n)
{
    int64_t s = 1 + (shift + (int64_t)j) % (int64_t)(n - 1);
    return (first + (size_t)s) % n;
}

static bool has(const int32_t *v, size_t n, int32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

int32_t ctrl_assign_added_start_index(const ctrl_assign_broker_t *brokers, size_t n_brokers,
                                      int32_t p0_first_replica)
{
    ctrl_assign_broker_t *s = xmemdup(brokers, (n_brokers ? n_brokers : 1) * sizeof *s);
    qsort(s, n_brokers, sizeof *s, cmp_broker);
    int32_t idx = 0;
    for (size_t i = 0; i < n_brokers; i++)
        if (s[i].id >= p0_first_replica) {
            idx = (int32_t)i;
            break;
        }
    free(s);
    return idx;
}

/* Kafka's getRackAlternatedBrokerList: racks sorted by name, brokers of each rack sorted
 * by id, then one broker per rack in turn. rack_of[i] is the rack of arranged[i]. */
static void rack_alternate(const ctrl_assign_broker_t *sorted, size_t n, int32_t *arranged, const char **rack_of,
                           size_t *n_racks)
{
    const char **racks = xmalloc(n * sizeof *racks);
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t r = 0; r < nr && !seen; r++)
            seen = strcmp(racks[r], sorted[i].rack) == 0;
        if (!seen)
            racks[nr++] = sorted[i].rack;
    }
    qsort(racks, nr, sizeof *racks, cmp_str);
    size_t *next = xcalloc(nr, sizeof *next);   /* per rack: index into sorted to resume from */
    size_t k = 0, r = 0;
    while (k < n) {
        for (size_t i = next[r]; i < n; i++) {
            if (strcmp(sorted[i].rack, racks[r]) == 0) {
                arranged[k] = sorted[i].id;
                rack_of[k++] = sorted[i].rack;
                next[r] = i + 1;
                break;
            }
            next[r] = n;
        }
        r = (r + 1) % nr;
    }
    *n_racks = nr;
    free(next);
    free(racks);
}

int ctrl_assign_replicas(const ctrl_assign_broker_t *brokers, size_t n_brokers, int32_t n_partitions,
                         int32_t replication_factor, const ctrl_assign_opts_t *opts, int rack_aware,
                         zkpaths_ilist_t *out, const char **msg)
{
    const char *dummy;
    if (!msg)
        msg = &dummy;
    if (n_partitions <= 0) {
        *msg = "Number of partitions must be larger than 0.";
        return CTRL_ASSIGN_BAD_PARTITIONS;
    }
    if (replication_factor <= 0) {
        *msg = "Replication factor must be larger than 0.";
        return CTRL_ASSIGN_BAD_RF;
    }
    if ((size_t)replication_factor > n_brokers) {
        *msg = "Replication factor larger than available brokers.";
        return CTRL_ASSIGN_BAD_RF;
    }
    size_t with_rack = 0;
    for (size_t i = 0; i < n_brokers; i++)
        with_rack += brokers[i].rack != NULL;
    bool racks = rack_aware && with_rack > 0;
    if (racks && with_rack != n_brokers) {
        *msg = "Not all brokers have rack information for replica rack aware assignment.";
        return CTRL_ASSIGN_RACK_MISMATCH;
    }
    size_t n = n_brokers;
    ctrl_assign_broker_t *sorted = xmemdup(brokers, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_broker);
    int32_t *arr = xmalloc(n * sizeof *arr);
    const char **rack_of = xcalloc(n, sizeof *rack_of);
    size_t n_racks = 1;
    if (racks) {
        rack_alternate(sorted, n, arr, rack_of, &n_racks);
    } else {
        for (size_t i = 0; i < n; i++)
            arr[i] = sorted[i].id;
    }
    bool fixed = opts->fixed_start_index >= 0;
    size_t start = fixed ? (size_t)opts->fixed_start_index : opts->rand_start % n;
    int64_t shift = fixed ? opts->fixed_start_index : (int64_t)(opts->rand_shift % n);
    int64_t pid = opts->start_partition_id > 0 ? opts->start_partition_id : 0;
    for (int32_t p = 0; p < n_partitions; p++, pid++) {
        if (pid > 0 && pid % (int64_t)n == 0)
            shift++;
        size_t first = (size_t)((pid + (int64_t)start) % (int64_t)n);
        int32_t *reps = xmalloc((size_t)replication_factor * sizeof *reps);
        size_t nr = 0;
        reps[nr++] = arr[first];
        if (!racks) {
            for (size_t j = 0; j + 1 < (size_t)replication_factor; j++)
                reps[nr++] = arr[replica_index(first, shift, j, n)];
        } else {
            /* racks / brokers already holding a replica of this partition */
            const char **used_racks = xmalloc(n * sizeof *used_racks);
            size_t n_used_racks = 0;
            used_racks[n_used_racks++] = rack_of[first];
            size_t k = 0;
            for (size_t j = 0; j + 1 < (size_t)replication_factor; j++) {
                for (;;) {
                    size_t bi = replica_index(first, shift * (int64_t)n_racks, k++, n);
                    bool rack_used = false;
                    for (size_t u = 0; u < n_used_racks && !rack_used; u++)
                        rack_used = strcmp(used_racks[u], rack_of[bi]) == 0;
                    bool broker_used = has(reps, nr, arr[bi]);
                    if ((!rack_used || n_used_racks == n_racks) && (!broker_used || nr == n)) {
                        reps[nr++] = arr[bi];
                        if (!rack_used)
                            used_racks[n_used_racks++] = rack_of[bi];
                        break;
                    }
                }
            }
            free(used_racks);
        }
        out[p].v = reps;
        out[p].n = nr;
    }
    free(rack_of);
    free(arr);
    free(sorted);
    *msg = NULL;
    return CTRL_ASSIGN_OK;
}
