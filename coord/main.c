/* gregor-coord — the ZooKeeper-compatible coordinator.
 *
 *   gregor-coord CONFIG        (CONFIG in zoo.cfg format)
 *
 * With server.N lines in CONFIG (and dataDir/myid) it is a member of an ensemble;
 * without, a standalone server (a quorum of one, same code path).
 *
 * One thread, one libevent loop. After every loop turn the node executes what the
 * quorum core decided, syncs its log once (group commit), applies what committed,
 * then frees closed connections. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/evloop.h"
#include "common/log.h"
#include "coord/coord_int.h"

static void after_events(void *arg)
{
    coord_t *c = arg;
    coord_after_events(c);
    coord_server_reap(c);
}

int main(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(argc == 2 ? stdout : stderr, "usage: gregor-coord CONFIG\n"
                                             "  CONFIG is a zoo.cfg-format file (tickTime, dataDir, clientPort, ...)\n");
        return argc == 2 ? 0 : 2;
    }
    srandom((unsigned)(clock_mono_us() ^ getpid()));
    coord_config_t cfg;
    char err[1024];
    if (coord_config_load(&cfg, argv[1], err, sizeof err)) {
        fprintf(stderr, "gregor-coord: %s\n", err);
        return 2;
    }
    evloop_t *loop = evloop_new();
    struct event_base *base = evloop_base(loop);
    coord_t c;
    memset(&c, 0, sizeof c);
    c.cfg = &cfg;
    c.base = base;
    int64_t t0 = clock_mono_ms();
    if (coord_node_open(&c, err, sizeof err) || coord_server_listen(&c, err, sizeof err)) {
        fprintf(stderr, "gregor-coord: %s\n", err);
        coord_server_close_all(&c);
        coord_node_close(&c);
        evloop_free(loop);
        coord_config_free(&cfg);
        return 1;
    }
    LOG_I("coord", "listening for clients on %s:%d (%s, dataDir %s) in %lld ms",
          cfg.client_port_address ? cfg.client_port_address : "0.0.0.0", cfg.client_port,
          coord_config_standalone(&cfg) ? "standalone" : "ensemble member", cfg.data_dir,
          (long long)(clock_mono_ms() - t0));
    evloop_add_hook(loop, after_events, &c);
    evloop_run(loop);
    LOG_I("coord", "shutting down");
    coord_server_close_all(&c);
    coord_node_close(&c);
    evloop_free(loop);
    coord_config_free(&cfg);
    return 0;
}
