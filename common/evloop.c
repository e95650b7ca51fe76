#include "common/evloop.h"

#include <signal.h>
#include <stdlib.h>

#include "common/alloc.h"

#define MAX_HOOKS 8

struct evloop_s {
    struct event_base *base;
    struct event *sigint, *sigterm;
    struct { evloop_hook_fn fn; void *ctx; } hooks[MAX_HOOKS];
    int nhooks;
    volatile bool stop;
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    evloop_stop(arg);
}

evloop_t *evloop_new(void)
{
    evloop_t *l = xcalloc(1, sizeof *l);
    signal(SIGPIPE, SIG_IGN);   /* a peer that went away is an error on write, not a signal */
    l->base = event_base_new();
    if (!l->base) {
        free(l);
        return NULL;
    }
    l->sigint = evsignal_new(l->base, SIGINT, on_signal, l);
    l->sigterm = evsignal_new(l->base, SIGTERM, on_signal, l);
    event_add(l->sigint, NULL);
    event_add(l->sigterm, NULL);
    return l;
}

void evloop_free(evloop_t *l)
{
    if (!l)
        return;
    event_free(l->sigint);
    event_free(l->sigterm);
    event_base_free(l->base);
    free(l);
}

struct event_base *evloop_base(evloop_t *l)
{
    return l->base;
}

void evloop_add_hook(evloop_t *l, evloop_hook_fn fn, void *ctx)
{
    if (l->nhooks < MAX_HOOKS) {
        l->hooks[l->nhooks].fn = fn;
        l->hooks[l->nhooks].ctx = ctx;
        l->nhooks++;
    } else {
        abort();   /* a fixed, small number of hooks is a design invariant */
    }
}

int evloop_run(evloop_t *l)
{
    while (!l->stop) {
        if (event_base_loop(l->base, EVLOOP_ONCE) < 0)
            return -1;
        for (int i = 0; i < l->nhooks; i++)
            l->hooks[i].fn(l->hooks[i].ctx);
    }
    return 0;
}

void evloop_stop(evloop_t *l)
{
    l->stop = true;
    event_base_loopbreak(l->base);
}

bool evloop_stopping(const evloop_t *l)
{
    return l->stop;
}
