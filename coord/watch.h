/* watch.h — ZooKeeper 3.8 watch bookkeeping; the server owns delivery.
 *
 * As in 3.8 there are two tables: the data table (getData and exists watches share it)
 * and the child table (getChildren). addWatch puts a persistent (mode 0) or
 * persistent-recursive (mode 1) watch in both tables; a recursive one fires for the path
 * and every descendant, never for NodeChildrenChanged. One-shot watches are removed when
 * they fire; persistent ones stay. A (session, path, table) holds one mode, and the
 * latest add wins (as 3.8's WatcherModeManager: a getData watch on a persistently
 * watched path turns it into a one-shot watch there).
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

/* removeWatches (remove = true) / checkWatches (remove = false), type ZK_WATCHER_CHILDREN /
 * DATA / ANY, exactly as 3.8's server:
 *  - remove: drops this session's watch on path from the child table, the data table, or
 *    both; ZNOWATCHER if nothing was dropped. (A persistent watch lives in both tables, so
 *    type DATA leaves its child-table half, as 3.8 does.)
 *  - check: 3.8's containsWatcher answers whether ANY session watches the exact path in
 *    that table (a 3.8 quirk, kept); ZNOWATCHER otherwise.
 *  - a type outside 1..3 -> ZMARSHALLINGERROR (3.8 fails to convert it).
 * 3.8's server sends NO notification for removed watches (the client library raises
 * DataWatchRemoved/ChildWatchRemoved locally), so fn is never called; it is kept for the
 * agreed signature and may be NULL. The reply to a successful removeWatches/checkWatches
 * has an empty body. */
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
size_t watch_session_count(const watchmgr_t *w);  /* sessions in the data table (wchs "connections") */
/* The three 4lw texts, complete (3.8 dumps only the data table, which holds getData,
 * exists, persistent and recursive watches; the command then prints one more newline).
 * Sessions and paths are sorted (3.8 prints hash order).
 * wchs: "<n> connections watching <m> paths\nTotal watches:<k>\n" */
void watch_dump_summary(const watchmgr_t *w, buf_t *out);
/* wchc: per session "0x<sid hex>\n" then "\t<path>\n" lines, then "\n". */
void watch_dump_by_session(const watchmgr_t *w, buf_t *out);
/* wchp: per path "<path>\n" then "\t0x<sid hex>\n" lines, then "\n". */
void watch_dump_by_path(const watchmgr_t *w, buf_t *out);

#endif
