/* broker.c — brings a gregor-broker's modules up and down (see broker.h), owns the
 * coordinator session (replaced after an expiry, modules told) and the log manager's timer. */
#include "broker/broker.h"

#include <string.h>

#include "broker/admin.h"
#include "broker/bzk.h"
#include "broker/controller.h"
#include "broker/gcoord.h"
#include "broker/meta.h"
#include "broker/replica.h"
#include <stdlib.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

int64_t broker_now_ms(void)
{
    return clock_wall_ms();
}

int64_t broker_mono_ms(void)
{
    return clock_mono_ms();
}

/* ---- log manager timer ---- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    broker_t *b = arg;
    int64_t now = broker_now_ms();
    int64_t next = lmgr_tick(b->logs, now);
    int64_t wait = next - now;
    if (wait < 10)
        wait = 10;
    if (wait > 1000)
        wait = 1000;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
    evtimer_add(b->tick_ev, &tv);
}

/* ---- the coordinator session ---- */

static void zk_watcher(zkc_t *zk, const zkc_event_t *ev, void *ctx);

static zkc_t *zk_connect(broker_t *b)
{
    zkc_config_t zc;
    memset(&zc, 0, sizeof zc);
    zc.connect = b->cfg->zookeeper_connect;
    zc.session_timeout_ms = b->cfg->zookeeper_session_timeout_ms;
    zc.watcher = zk_watcher;
    zc.watcher_ctx = b;
    int err = 0;
    zkc_t *zk = zkc_new(b->base, &zc, &err);
    if (!zk)
        LOG_E("broker", "zookeeper.connect=%s: cannot connect (error %d)", b->cfg->zookeeper_connect, err);
    return zk;
}

static void zk_renewed(broker_t *b)
{
    LOG_I("broker", "new coordinator session 0x%llx", (unsigned long long)zkc_session_id(b->zk));
    if (b->reg)
        bzk_session_renewed(b->reg);
    if (b->admin)
        badm_session_renewed(b->admin);
    if (b->ctl)
        bctl_session_renewed(b->ctl);
}

static void zk_replace_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    broker_t *b = arg;
    if (b->stopping)
        return;
    zkc_t *old = b->zk;
    b->zk = zk_connect(b);
    if (old)
        zkc_free(old);
    if (!b->zk) {
        struct timeval tv = {1, 0};
        event_base_once(b->base, -1, EV_TIMEOUT, zk_replace_cb, b, &tv);
    }
    b->zk_renewing = true;
}

static void zk_watcher(zkc_t *zk, const zkc_event_t *ev, void *ctx)
{
    broker_t *b = ctx;
    if (ev->path || zk != b->zk)
        return;
    if (ev->state == ZK_STATE_EXPIRED) {
        LOG_W("broker", "coordinator session expired: starting a new one");
        struct timeval tv = {0, 0};
        event_base_once(b->base, -1, EV_TIMEOUT, zk_replace_cb, b, &tv);
    } else if (ev->state == ZK_STATE_SYNC_CONNECTED && b->zk_renewing) {
        b->zk_renewing = false;
        zk_renewed(b);
    }
}

/* ---- start and stop ---- */

int broker_start(broker_t *b, char *err, size_t errlen)
{
    bcfg_t *c = b->cfg;
    b->id = c->broker_id;
    b->listener_name = c->inter_broker_listener;

    lmgr_config_t lc;
    bcfg_lmgr_config(c, &lc);
    if (lmgr_open(&lc, broker_now_ms(), &b->logs, err, errlen))
        return -1;

    bsrv_config_t sc;
    memset(&sc, 0, sizeof sc);
    sc.listeners = c->listeners_raw;
    sc.max_request_bytes = c->socket_request_max_bytes;
    sc.idle_ms = c->connections_max_idle_ms;
    sc.max_connections = c->max_connections;
    bsrv_handlers_t h;
    memset(&h, 0, sizeof h);
    b->srv = bsrv_new(b->base, &sc, &h);
    if (!b->srv) {
        snprintf(err, errlen, "cannot listen on listeners=%s (see the log above)", c->listeners_raw);
        return -1;
    }
    bsrv_set_accepting(b->srv, false);   /* until every handler is registered */

    b->zk = zk_connect(b);
    if (!b->zk) {
        snprintf(err, errlen, "zookeeper.connect=%s is not usable", c->zookeeper_connect);
        return -1;
    }
    int rc = zkc_wait_connected(b->zk, c->zookeeper_connection_timeout_ms);
    if (rc != ZOK) {
        snprintf(err, errlen, "timed out after %d ms connecting to the coordinator at %s "
                 "(zookeeper.connect; zookeeper.connection.timeout.ms)",
                 c->zookeeper_connection_timeout_ms, c->zookeeper_connect);
        return -1;
    }

    if (!(b->reg = bzk_new(b))) {
        snprintf(err, errlen, "registration in the coordinator failed (see the log above)");
        return -1;
    }
    if (!(b->meta = bmeta_new(b)) || !(b->rep = brep_new(b)) || !(b->admin = badm_new(b)) ||
        !(b->groups = bgc_new(b)) || !(b->ctl = bctl_new(b))) {
        snprintf(err, errlen, "start-up failed (see the log above)");
        return -1;
    }
    bsrv_set_accepting(b->srv, true);
    if (bzk_register(b->reg)) {
        snprintf(err, errlen, "registration in the coordinator failed (see the log above)");
        return -1;
    }

    b->tick_ev = evtimer_new(b->base, tick_cb, b);
    struct timeval tv = {0, 100000};
    evtimer_add(b->tick_ev, &tv);
    return 0;
}

void broker_stop(broker_t *b)
{
    b->stopping = true;
    if (b->srv)
        bsrv_free(b->srv);
    b->srv = NULL;
    if (b->ctl)
        bctl_free(b->ctl);
    if (b->groups)
        bgc_free(b->groups);
    if (b->admin)
        badm_free(b->admin);
    if (b->rep)
        brep_free(b->rep);
    if (b->meta)
        bmeta_free(b->meta);
    if (b->reg)
        bzk_free(b->reg);
    b->ctl = NULL, b->groups = NULL, b->admin = NULL, b->rep = NULL, b->meta = NULL, b->reg = NULL;
    if (b->zk) {
        if (zkc_state_alive(zkc_state(b->zk)))
            zkc_sync_close(b->zk);
        zkc_free(b->zk);
        b->zk = NULL;
    }
    if (b->tick_ev)
        event_free(b->tick_ev);
    b->tick_ev = NULL;
    if (b->logs)
        lmgr_close(b->logs, true);
    b->logs = NULL;
    free(b->cluster_id);
    b->cluster_id = NULL;
}
