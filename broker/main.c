/* gregor-broker — the Kafka-compatible broker.
 *
 *   gregor-broker server.properties [--override key=value ...]
 *
 * Configuration from the file, then KAFKA_* environment variables, then --override (see
 * broker/config.h). One thread, one libevent loop; SIGTERM/SIGINT stop it cleanly (logs
 * flushed and checkpointed, registration removed with the session). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/clock.h"
#include "common/evloop.h"
#include "common/log.h"

extern char **environ;

static evloop_t *g_loop;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what, (void)arg;
    LOG_I("broker", "signal %d: shutting down", (int)sig);
    evloop_stop(g_loop);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: gregor-broker server.properties [--override key=value ...]\n");
        return 0;
    }
    const char *path = NULL;
    props_t overrides;
    props_init(&overrides);
    char err[1024];
    if (bcfg_parse_args(argc, argv, &path, &overrides, err, sizeof err)) {
        fprintf(stderr, "gregor-broker: %s\n", err);
        props_free(&overrides);
        return 2;
    }
    bcfg_t cfg;
    bcfg_src_t src;
    memset(&src, 0, sizeof src);
    src.path = path;
    src.envp = environ;
    src.overrides = &overrides;
    if (bcfg_load(&cfg, &src, err, sizeof err)) {
        fprintf(stderr, "gregor-broker: %s\n", err);
        props_free(&overrides);
        return 2;
    }
    props_free(&overrides);
    for (size_t i = 0; i < cfg.nwarnings; i++)
        LOG_W("broker", "%s", cfg.warnings[i]);
    buf_t dump;
    buf_init(&dump);
    bcfg_dump(&cfg, &dump);
    LOG_D("broker", "%.*s", (int)dump.len, (const char *)dump.data);
    buf_free(&dump);

    srandom((unsigned)(clock_mono_us() ^ getpid()));
    signal(SIGPIPE, SIG_IGN);
    g_loop = evloop_new();
    struct event_base *base = evloop_base(g_loop);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, NULL);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);

    broker_t b;
    memset(&b, 0, sizeof b);
    b.cfg = &cfg;
    b.base = base;
    int64_t t0 = clock_mono_ms();
    int rc = 0;
    if (broker_start(&b, err, sizeof err)) {
        fprintf(stderr, "gregor-broker: %s\n", err);
        rc = 1;
    } else {
        LOG_I("broker", "[KafkaServer id=%d] started in %lld ms (cluster %s, listeners %s)", b.id,
              (long long)(clock_mono_ms() - t0), b.cluster_id ? b.cluster_id : "?", cfg.listeners_raw);
        evloop_run(g_loop);
    }
    broker_stop(&b);
    event_free(sigterm);
    event_free(sigint);
    evloop_free(g_loop);
    bcfg_free(&cfg);
    return rc;
}
