/* admin.c — placeholder until the module lands (see admin.h). */
#include "broker/admin.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "proto/kafka_err.h"

struct badm_s {
    broker_t *b;
};

badm_t *badm_new(broker_t *b)
{
    badm_t *a = xcalloc(1, sizeof *a);
    a->b = b;
    return a;
}

void badm_free(badm_t *a)
{
    free(a);
}

void badm_create_topic(badm_t *a, const char *topic, int32_t partitions, int16_t replication_factor,
                       const char *const *config, size_t nconfig, badm_done_fn done, void *arg)
{
    (void)a, (void)topic, (void)partitions, (void)replication_factor, (void)config, (void)nconfig;
    done(arg, KERR_UNKNOWN_SERVER_ERROR, "not implemented");
}

void badm_session_renewed(badm_t *a)
{
    (void)a;
}
