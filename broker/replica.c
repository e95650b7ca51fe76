/* replica.c — placeholder until the module lands (see replica.h). */
#include "broker/replica.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "proto/kafka_err.h"

struct brep_s {
    broker_t *b;
};

brep_t *brep_new(broker_t *b)
{
    brep_t *r = xcalloc(1, sizeof *r);
    r->b = b;
    return r;
}

void brep_free(brep_t *r)
{
    free(r);
}

void brep_append_internal(brep_t *r, const char *topic, int32_t partition, const uint8_t *batch, size_t len,
                          brep_append_cb cb, void *arg)
{
    (void)r, (void)topic, (void)partition, (void)batch, (void)len;
    cb(arg, KERR_NOT_LEADER_FOR_PARTITION, -1);
}

void brep_watch_leadership(brep_t *r, brep_leader_fn fn, void *arg)
{
    (void)r, (void)fn, (void)arg;
}

bool brep_is_leader(const brep_t *r, const char *topic, int32_t partition)
{
    (void)r, (void)topic, (void)partition;
    return false;
}

void brep_topic_config_changed(brep_t *r, const char *topic)
{
    (void)r, (void)topic;
}
