/* zread.h — read-only requests, served locally from the tree (ZooKeeper's
 * FinalRequestProcessor for reads).
 *
 * Pure: no I/O. Watches are not registered here; the caller is told which to register. */
#ifndef GREGOR_COORD_ZREAD_H
#define GREGOR_COORD_ZREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "coord/acl.h"
#include "coord/datatree.h"
#include "coord/prep.h"
#include "proto/zk_proto.h"

/* One watch to register on a path. */
typedef struct zread_watch_item_s {
    int kind;     /* WATCH_DATA, WATCH_EXIST, WATCH_CHILD */
    char *path;   /* owned */
} zread_watch_item_t;

/* What a read asks the server to register. For single reads: `kind` (0 none) on the request
 * path. For multiRead (several paths) the watches are in items[0..n) and kind is 0.
 * Release with zread_watch_free (needed only after multiRead; harmless otherwise). */
typedef struct zread_watch_s {
    int kind;   /* 0 none, WATCH_DATA, WATCH_EXIST, WATCH_CHILD */
    zread_watch_item_t *items;
    size_t n;
} zread_watch_t;
void zread_watch_free(zread_watch_t *w);

/* Executes a read op against the tree: exists, getData, getChildren, getChildren2, getACL,
 * getAllChildrenNumber, getEphemerals, multiRead, whoAmI, sync (reply = the path).
 * `req` is the struct of zkp_request_rec(op); a prep_multi_t for ZOO_MULTIREAD_OP; NULL for
 * whoAmI. Appends the jute-encoded reply body (no header) to out and returns the ZK error
 * (0 = ok; on error nothing is appended). multiRead returns 0 with per-op results (failures
 * do not abort). ACLs as 3.8: READ for getData/getChildren(2)/getAllChildrenNumber; getACL
 * needs READ or ADMIN, and without ADMIN digest ids come back as "user:x"; exists, sync and
 * getEphemerals need none. Watches: exists registers an exist watch even on NONODE; getData
 * and getChildren(2) only when the node exists and READ is allowed. *watch may be NULL.
 * Unknown ops return ZUNIMPLEMENTED. */
int zread_execute(const dt_t *dt, int64_t session_id, const acl_auth_t *auth, int op, const void *req,
                  buf_t *out, zread_watch_t *watch);

/* As zread_execute, for a request whose body held a string with a NUL byte
 * (jute_rd_t.saw_nul): exists then answers BADARGUMENTS, the other path reads NONODE
 * (no such path can exist), getEphemerals an empty list — as 3.8. For multiRead the
 * per-op flags in prep_multi_op_t.has_nul are used instead. */
int zread_execute_ex(const dt_t *dt, int64_t session_id, const acl_auth_t *auth, int op, const void *req,
                     bool saw_nul, buf_t *out, zread_watch_t *watch);

/* True for the ops zread_execute serves. */
bool zread_is_read(int op);

#endif
