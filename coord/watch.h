/* watch.h — ZooKeeper 3.8 watch bookkeeping; the server owns delivery.
 *
 * As in 3.8 there are two tables: the data table (getData and exists watches share it)
 * and the child table (getChildren). A persistent watch (addWatch mode 0) sits in both
 * tables; a persistent-recursive one (mode 1) only in the data table and fires for the
 * path and every descendant, never for NodeChildrenChanged. One-shot watches are removed
 * when they fire; persistent ones stay. A (session, path, table) holds one mode, and the
 * latest add wins (as 3.8's WatcherModeManager).
 *
 * Event routing (the tree emits these, see datatree.h):
 *   NodeCreated, NodeDataChanged -> data table on path (+ recursive watches on ancestors)
 *   NodeDeleted                  -> data table on path (+ recursive ancestors), then child
 *                                   table on path
 *   NodeChildrenChanged          -> child table on path
 * A session is told at most once per watch_trigger call. Delivery order: ascending session id.
 *
 * Watches belong to a connection in ZooKeeper: the server should call watch_remove_session
 * when a session's connection closes (the client re-registers with SetWatches). */
#ifndef GREGOR_COORD_WATCH_H
#define GREGOR_COORD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "coord/datatree.h"
#include "proto/zk_proto.h"

enum watch_kind { WATCH_DATA = 1, WATCH_EXIST = 2, WATCH_CHILD = 3, WATCH_PERSISTENT = 4,
                  WATCH_PERSISTENT_RECURSIVE = 5 };

typedef struct watchmgr_s watchmgr_t;

watchmgr_t *watch_new(void);
void watch_free(watchmgr_t *w);

/* Registers a watch (path copied). */
void watch_add(watchmgr_t *w, const char *path, enum watch_kind kind, int64_t session_id);

/* Called once per (session, event); path is only valid during the call. */
typedef void (*watch_deliver_fn)(void *ctx, int64_t session_id, int32_t type, const char *path);

/* Fires event `type` (ZK_EVENT_*) on `path` as described above. */
void watch_trigger(watchmgr_t *w, int32_t type, const char *path, watch_deliver_fn fn, void *ctx);
/* Convenience: triggers every event of an apply result, in order. */
void watch_trigger_result(watchmgr_t *w, const dt_result_t *res, watch_deliver_fn fn, void *ctx);

/* Drops every watch of the session. */
void watch_remove_session(watchmgr_t *w, int64_t session_id);

/* removeWatches / checkWatches (type ZK_WATCHER_CHILDREN / DATA / ANY). Returns 0, or
 * ZNOWATCHER if the session has no watch of that type on path. When remove is true the
 * watches are removed and fn receives the events 3.8 sends the client
 * (ZK_EVENT_CHILD_WATCH_REMOVED and/or ZK_EVENT_DATA_WATCH_REMOVED); fn may be NULL.
 * Persistent watches count as both data and child watches (recursive: data only). */
int watch_remove(watchmgr_t *w, int64_t session_id, const char *path, int32_t type, bool remove,
                 watch_deliver_fn fn, void *ctx);

/* SetWatches / SetWatches2 after a reconnect, as 3.8's DataTree.setWatches:
 *   data watches:  node gone -> NodeDeleted; mzxid > relativeZxid -> NodeDataChanged; else register
 *   exist watches: node exists -> NodeCreated; else register
 *   child watches: node gone -> NodeDeleted; pzxid > relativeZxid -> NodeChildrenChanged; else register
 *   persistent / persistent-recursive: register.
 * Events are delivered through fn immediately (in that order). Use zkp_SetWatches by filling
 * the last two vectors with {0, NULL}. */
void watch_set_watches(watchmgr_t *w, const dt_t *dt, int64_t session_id, const zkp_SetWatches2 *sw,
                       watch_deliver_fn fn, void *ctx);

/* ---- stats for 4lw ---- */
size_t watch_count(const watchmgr_t *w);          /* data + child watches (mntr zk_watch_count) */
size_t watch_path_count(const watchmgr_t *w);     /* distinct watched paths in the data table */
size_t watch_session_count(const watchmgr_t *w);  /* sessions with data-table watches */
/* wchs: "<n> connections watching <m> paths\nTotal watches:<k>\n" (data table, as 3.8). */
void watch_dump_summary(const watchmgr_t *w, buf_t *out);
/* wchc: per session "0x<sid hex>\n" then "\t<path>\n" lines; data table then child table. */
void watch_dump_by_session(const watchmgr_t *w, buf_t *out);
/* wchp: per path "<path>\n" then "\t0x<sid hex>\n" lines; data table then child table. */
void watch_dump_by_path(const watchmgr_t *w, buf_t *out);

#endif
