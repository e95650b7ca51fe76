/* gcoord.c — the group coordinator on the broker's loop (see gcoord.h): gc_drv.h's driver
 * plugged into the server (handlers, responses), the replica manager (appends to and
 * leadership of __consumer_offsets), the metadata cache (partitions, leaders, endpoints),
 * admin (creating __consumer_offsets), the log manager (loading) and a libevent timer. */
#include "broker/gcoord.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/admin.h"
#include "broker/gc_drv.h"
#include "broker/meta.h"
#include "broker/offsets.h"
#include "broker/replica.h"
#include "broker/zkpaths.h"
#include "common/alloc.h"
#include "common/log.h"

#define SUB "groups"

struct bgc_s {
    broker_t *b;
    gcd_t *d;
    struct event *timer;
};

static const int group_apis[] = {
    KP_FIND_COORDINATOR, KP_JOIN_GROUP, KP_SYNC_GROUP, KP_HEARTBEAT, KP_LEAVE_GROUP, KP_OFFSET_COMMIT,
    KP_OFFSET_FETCH, KP_DESCRIBE_GROUPS, KP_LIST_GROUPS, KP_DELETE_GROUPS,
};

/* ---- the environment of the driver ---- */

static void env_respond(void *arg, void *ctx, const void *resp)
{
    (void)arg;
    bsrv_respond(ctx, resp);
}

static void env_drop(void *arg, void *ctx)
{
    (void)arg;
    bsrv_close(ctx);
}

static void env_append(void *arg, int32_t partition, const uint8_t *batch, size_t len, gcd_append_cb cb, void *cbarg)
{
    bgc_t *g = arg;
    brep_append_internal(g->b->rep, OFFSETS_TOPIC, partition, batch, len, cb, cbarg);
}

static int32_t env_partition_count(void *arg, const char *topic)
{
    bgc_t *g = arg;
    return bmeta_partition_count(g->b->meta, topic);
}

static int env_leader(void *arg, const char *topic, int32_t partition, int32_t *leader)
{
    bgc_t *g = arg;
    int32_t epoch;
    return bmeta_leader(g->b->meta, topic, partition, leader, &epoch);
}

static int env_endpoint(void *arg, int32_t broker, int listener, const char **host, int32_t *port)
{
    bgc_t *g = arg;
    const bcfg_t *c = g->b->cfg;
    if (listener < 0 || (size_t)listener >= c->nlisteners)
        return -1;
    return bmeta_endpoint(g->b->meta, broker, c->listeners[listener].name, host, port);
}

static void env_create_topic(void *arg, const char *topic, int32_t partitions, int16_t rf, const char *const *config,
                             size_t nconfig, gcd_create_cb cb, void *cbarg)
{
    bgc_t *g = arg;
    badm_create_topic(g->b->admin, topic, partitions, rf, config, nconfig, cb, cbarg);
}

static plog_t *env_log_get(void *arg, int32_t partition)
{
    bgc_t *g = arg;
    return lmgr_get(g->b->logs, OFFSETS_TOPIC, partition);
}

static int64_t env_now(void *arg)
{
    (void)arg;
    return broker_now_ms();
}

/* Arms the timer for the driver's next deadline. */
static void env_wake(void *arg)
{
    bgc_t *g = arg;
    if (!g->timer || !g->d)
        return;
    int64_t at = gcd_next_deadline(g->d);
    if (at == INT64_MAX) {
        evtimer_del(g->timer);
        return;
    }
    int64_t wait = at - broker_now_ms();
    if (wait < 0)
        wait = 0;
    if (wait > 3600000)
        wait = 3600000;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
    evtimer_add(g->timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bgc_t *g = arg;
    gcd_tick(g->d);
    env_wake(g);
}

/* ---- server and replica manager hooks ---- */

static void on_request(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    bgc_t *g = arg;
    if (gcd_request(g->d, ctx, req, bsrv_ctx_listener(ctx), bsrv_ctx_peer(ctx)) < 0)
        bsrv_close(ctx);
}

/* The listener's argument is the broker, not the module: replica.h cannot unregister a
 * listener, so it reaches the module through b->groups, which bgc_free clears. */
static void on_leadership(void *arg, const char *topic, int32_t partition, bool leader, int32_t leader_epoch)
{
    (void)leader_epoch;
    broker_t *b = arg;
    if (!b->groups || !b->groups->d || strcmp(topic, OFFSETS_TOPIC) != 0)
        return;
    gcd_leadership(b->groups->d, partition, leader);
}

/* ---- life ---- */

/* Kafka's GroupMetadataManager maps groups over the partitions __consumer_offsets has, and
 * offsets.topic.num.partitions only when it does not exist yet. -1 if it does not (or cannot
 * be read: the configured count then applies). Read once at start-up, as Kafka does. */
static int32_t offsets_topic_partitions(broker_t *b)
{
    if (!b->zk)
        return -1;
    char *path = zkpaths_topic(OFFSETS_TOPIC);
    zkc_reply_t rep;
    memset(&rep, 0, sizeof rep);
    int rc = zkc_sync_get_data(b->zk, path, NULL, &rep);
    free(path);
    int32_t n = -1;
    zkpaths_topic_t t;
    if (rc == ZOK && rep.data.len > 0 && zkpaths_topic_decode(rep.data.data, (size_t)rep.data.len, &t) == 0) {
        n = t.n_parts > 0 && t.n_parts <= INT32_MAX ? (int32_t)t.n_parts : -1;
        zkpaths_topic_free(&t);
    } else if (rc != ZOK && rc != ZNONODE) {
        LOG_W(SUB, "cannot read the partition count of %s (error %d): using offsets.topic.num.partitions",
              OFFSETS_TOPIC, rc);
    }
    zkc_reply_free(&rep);
    return n;
}

bgc_t *bgc_new(broker_t *b)
{
    bgc_t *g = xcalloc(1, sizeof *g);
    g->b = b;
    const bcfg_t *c = b->cfg;

    gcd_config_t cfg;
    gcd_config_defaults(&cfg);
    bcfg_group_config(c, &cfg.group);
    int32_t existing = offsets_topic_partitions(b);
    if (existing > 0 && existing != cfg.group.num_partitions) {
        LOG_W(SUB, "%s has %d partitions: groups are mapped over them (offsets.topic.num.partitions=%d "
              "applies only when it is created)", OFFSETS_TOPIC, (int)existing, (int)cfg.group.num_partitions);
        cfg.group.num_partitions = existing;
    }
    cfg.group.seed = (uint64_t)broker_now_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)broker_mono_ms() ^
                     ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)g;
    cfg.replication_factor = (int16_t)c->offsets_topic_replication_factor;
    cfg.segment_bytes = c->offsets_topic_segment_bytes;

    gcd_env_t env = {
        .arg = g,
        .respond = env_respond,
        .drop = env_drop,
        .append = env_append,
        .partition_count = env_partition_count,
        .leader = env_leader,
        .endpoint = env_endpoint,
        .create_topic = env_create_topic,
        .log_get = env_log_get,
        .now = env_now,
        .wake = env_wake,
    };
    g->d = gcd_new(&cfg, &env);
    g->timer = evtimer_new(b->base, timer_cb, g);
    if (!g->timer) {
        LOG_E(SUB, "cannot create the group coordinator's timer");
        bgc_free(g);
        return NULL;
    }
    for (size_t i = 0; i < sizeof group_apis / sizeof group_apis[0]; i++)
        bsrv_set_handler(b->srv, group_apis[i], on_request, g);
    brep_watch_leadership(b->rep, on_leadership, b);
    if (c->offsets_topic_replication_factor > 1)
        LOG_I(SUB, "offsets.topic.replication.factor=%d: __consumer_offsets is created once that many brokers are "
              "live (a single broker needs offsets.topic.replication.factor=1)", c->offsets_topic_replication_factor);
    env_wake(g);
    return g;
}

void bgc_free(bgc_t *g)
{
    if (!g)
        return;
    if (g->b->srv)
        for (size_t i = 0; i < sizeof group_apis / sizeof group_apis[0]; i++)
            bsrv_set_handler(g->b->srv, group_apis[i], NULL, NULL);
    if (g->b->groups == g)
        g->b->groups = NULL;   /* see on_leadership */
    gcd_t *d = g->d;
    g->d = NULL;
    gcd_free(d);
    if (g->timer)
        event_free(g->timer);
    free(g);
}
