/* meta.c — placeholder until the module lands (see meta.h). */
#include "broker/meta.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "proto/kafka_err.h"

struct bmeta_s {
    broker_t *b;
};

bmeta_t *bmeta_new(broker_t *b)
{
    bmeta_t *m = xcalloc(1, sizeof *m);
    m->b = b;
    return m;
}

void bmeta_free(bmeta_t *m)
{
    free(m);
}

int bmeta_leader(const bmeta_t *m, const char *topic, int32_t partition, int32_t *leader, int32_t *leader_epoch)
{
    (void)m, (void)topic, (void)partition, (void)leader, (void)leader_epoch;
    return -KERR_UNKNOWN_TOPIC_OR_PARTITION;
}

int32_t bmeta_partition_count(const bmeta_t *m, const char *topic)
{
    (void)m, (void)topic;
    return -1;
}

int bmeta_endpoint(const bmeta_t *m, int32_t broker, const char *listener, const char **host, int32_t *port)
{
    (void)m, (void)broker, (void)listener, (void)host, (void)port;
    return -1;
}
