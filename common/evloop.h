/* evloop.h — the process's event loop: one libevent base, SIGINT/SIGTERM handling,
 * and an after-events hook that runs once per loop turn (Redis's beforeSleep).
 *
 * The hook is where work batched during a turn is finished: the coordinator syncs
 * its log once for all the writes read in that turn (group commit) and frees
 * connections closed during it. Threads: one; everything runs on the loop. */
#ifndef GREGOR_COMMON_EVLOOP_H
#define GREGOR_COMMON_EVLOOP_H

#include <event2/event.h>
#include <stdbool.h>

typedef struct evloop_s evloop_t;
typedef void (*evloop_hook_fn)(void *ctx);

evloop_t *evloop_new(void);
void evloop_free(evloop_t *l);
struct event_base *evloop_base(evloop_t *l);
/* Adds a hook run after every loop turn, in the order added. */
void evloop_add_hook(evloop_t *l, evloop_hook_fn fn, void *ctx);
/* Runs until evloop_stop or SIGINT/SIGTERM. Returns 0, or -1 if the loop failed. */
int evloop_run(evloop_t *l);
void evloop_stop(evloop_t *l);
bool evloop_stopping(const evloop_t *l);

#endif
