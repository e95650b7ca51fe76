/* zkc.h — Gregor's ZooKeeper client: asynchronous, on the caller's libevent loop.
 *
 * This is the only way the rest of Gregor (the broker, the tools, the `gregor zk`
 * shell) talks to a coordinator, and it speaks the plain ZooKeeper wire protocol,
 * so it works against Apache ZooKeeper as well as gregor-coord. It follows the
 * behaviour of ZooKeeper's own Java client (ClientCnxn/ZooKeeper.java) where
 * applications can observe it:
 *
 *  - Connect string "host:port,host:port[/chroot]" (port defaults to 2181,
 *    "[v6addr]:port" accepted). Every resolved address is a candidate; the list is
 *    shuffled and tried round-robin. The chroot is prepended to every path sent and
 *    stripped from paths received (created paths, watch events), as Java does.
 *  - Session: ConnectRequest with the requested timeout; the server's negotiated
 *    timeout T gives readTimeout = 2T/3 (connection declared lost after that long
 *    without hearing from the server), a ping when idle for readTimeout/2 (one
 *    second earlier once that is above a second, at most every 10 s), and a
 *    connect timeout of T / number-of-addresses per attempt.
 *  - On connection loss every outstanding request fails with ZCONNECTIONLOSS, the
 *    session watchers see Disconnected, and the client reconnects to the next
 *    address with the same session id and password. After the handshake it re-sends
 *    the auth data (addauth) and all watches (SetWatches, or SetWatches2 when
 *    persistent watches exist) relative to the last zxid seen, so no change is
 *    missed. The server decides expiry: a handshake answered with timeout 0 means
 *    Expired (the handle is then dead: state ZKC_CLOSED).
 *  - Requests are pipelined; replies are matched to requests in FIFO order by xid
 *    (a reply out of order is a protocol error and drops the connection). Watch
 *    notifications are delivered in stream order, so a notification the server
 *    sent before a reply reaches its watcher before that reply's callback.
 *  - Watches: one-shot data/exist/child watches are registered when the reply
 *    arrives (exists registers an exist-watch on NONODE), persistent and
 *    persistent-recursive ones via zkc_add_watch. A watcher is a (function, ctx)
 *    pair; the same pair registered twice on a path fires once. Session events
 *    (type ZK_EVENT_NONE) go to the default watcher and to every registered
 *    watcher, once each, and only when the session state changes.
 *
 * Threading: none. A zkc_t belongs to one event_base and must be used only from
 * the thread running that base. Callbacks run from inside the loop.
 *
 * Signals: as with any libevent socket code, the process should ignore SIGPIPE
 * (a write to a connection the server just dropped would otherwise kill it);
 * zkc reports such a write as a connection loss.
 *
 * Callback contract: a request function returning 0 calls its callback exactly
 * once (with the result, or with an error such as ZCONNECTIONLOSS,
 * ZSESSIONEXPIRED, ZAUTHFAILED). A request function returning non-zero (a
 * negative Z* code, e.g. ZBADARGUMENTS for an invalid path, ZSESSIONEXPIRED on a
 * dead handle) never calls it. Everything a zkc_result_t points to is valid only
 * during the callback; copy what you keep (zkc_reply_t does that). cb may be
 * NULL for any request (fire and forget).
 *
 * Callbacks may issue new requests, call zkc_close, and call zkc_free (the free
 * is then deferred until the callback returns).
 *
 * Typical use (e.g. a Kafka-style controller):
 *
 *   zkc_config_t cfg = {.connect = "zk1:2181,zk2:2181/kafka", .session_timeout_ms = 18000,
 *                       .watcher = on_session, .watcher_ctx = me};
 *   me->zk = zkc_new(base, &cfg, &err);
 *   // on_session gets ZK_STATE_SYNC_CONNECTED when usable, ZK_STATE_DISCONNECTED
 *   // while reconnecting (the session and its ephemerals/watches live on), and
 *   // ZK_STATE_EXPIRED when the session is gone for good: zkc_free the handle,
 *   // make a new one, re-create ephemerals and re-read state.
 *
 *   // Election: create the ephemeral /controller and bump /controller_epoch
 *   // atomically, fenced by the epoch's version.
 *   zkc_op_t ops[2] = {zkc_op_create("/controller", json, len, ZK_EPHEMERAL),
 *                      zkc_op_set_data("/controller_epoch", epoch, elen, epoch_version)};
 *   zkc_multi(me->zk, ops, 2, on_elected, me);   // rc ZNODEEXISTS: someone else won
 *
 *   // Watch a node (one-shot; re-arm in the watcher) or a subtree (persistent):
 *   zkc_exists(me->zk, "/controller", &(zkc_watch_t){on_controller_change, me}, on_exists, me);
 *   zkc_add_watch(me->zk, "/brokers/ids", ZK_ADDWATCH_PERSISTENT, &(zkc_watch_t){on_ids, me}, NULL, NULL);
 *
 * Tools that just want answers use the zkc_sync_* layer at the end of this file. */
#ifndef GREGOR_COORD_ZKC_H
#define GREGOR_COORD_ZKC_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/zk_proto.h"

struct event_base;

typedef struct zkc_s zkc_t;

/* Handle states, named as the Java client's ZooKeeper.States (zkc_state_name). */
typedef enum zkc_state {
    ZKC_CONNECTING = 0,
    ZKC_CONNECTED,
    ZKC_CONNECTEDREADONLY,
    ZKC_CLOSED,
    ZKC_AUTH_FAILED,
} zkc_state_t;

const char *zkc_state_name(zkc_state_t st);   /* "CONNECTING", "CONNECTED", ... */
static inline bool zkc_state_alive(zkc_state_t st) { return st != ZKC_CLOSED && st != ZKC_AUTH_FAILED; }

/* A watch notification or a session event. path is NULL for session events. */
typedef struct zkc_event_s {
    int type;            /* enum zk_event_type */
    int state;           /* enum zk_state (KeeperState) */
    const char *path;    /* client path (chroot removed) */
} zkc_event_t;

typedef void (*zkc_watcher_fn)(zkc_t *zk, const zkc_event_t *ev, void *ctx);

/* Names as printed by ZooKeeper's WatchedEvent.toString ("SyncConnected", "NodeDataChanged"). */
const char *zkc_keeper_state_name(int state);
const char *zkc_event_type_name(int type);

/* How a read sets a watch: pass NULL for none, ZKC_WATCH for the session's
 * default watcher, or &(zkc_watch_t){fn, ctx} for a specific one (copied). */
typedef struct zkc_watch_s {
    zkc_watcher_fn fn;
    void *ctx;
} zkc_watch_t;
extern const zkc_watch_t zkc_watch_default;
#define ZKC_WATCH (&zkc_watch_default)

typedef struct zkc_config_s {
    const char *connect;          /* "host:port[,host:port...][/chroot]" (required) */
    int session_timeout_ms;       /* requested; 0 = 30000 */
    bool read_only;               /* allow read-only servers (zkCli -r) */
    zkc_watcher_fn watcher;       /* default watcher (may be NULL) */
    void *watcher_ctx;
    int64_t session_id;           /* non-zero: resume this session ... */
    const uint8_t *passwd;        /* ... with this 16-byte password */
    int max_packet;               /* largest frame accepted; 0 = 0xfffff (jute.maxbuffer) */
    bool no_shuffle;              /* try addresses in the given order */
} zkc_config_t;

/* Creates a handle and starts connecting. Returns NULL and sets *err (ZBADARGUMENTS
 * for a malformed connect string or chroot, ZCONNECTIONLOSS if no host resolves)
 * on failure. The caller owns the handle: zkc_close it, then zkc_free it. */
zkc_t *zkc_new(struct event_base *base, const zkc_config_t *cfg, int *err);

/* Destroys the handle at once: the connection is dropped without closing the
 * session (the server expires it later), outstanding requests' callbacks are
 * called with ZCONNECTIONLOSS (ZSESSIONEXPIRED if the handle was already dead),
 * then everything is freed. Requests issued from those callbacks are refused.
 * Safe to call from a callback (deferred until it returns). NULL is ignored. */
void zkc_free(zkc_t *zk);

zkc_state_t zkc_state(const zkc_t *zk);
int64_t zkc_session_id(const zkc_t *zk);           /* 0 before the first handshake */
const uint8_t *zkc_session_passwd(const zkc_t *zk); /* 16 bytes */
int zkc_session_timeout(const zkc_t *zk);          /* negotiated, or requested before that */
int64_t zkc_last_zxid(const zkc_t *zk);
const char *zkc_chroot(const zkc_t *zk);           /* NULL if none */
/* "127.0.0.1:2181" of the current connection, or NULL. */
const char *zkc_current_server(const zkc_t *zk);
struct event_base *zkc_base(const zkc_t *zk);

/* Checks a client path as ZooKeeper's PathUtils.validatePath does. Returns 0, or
 * ZBADARGUMENTS with Java's message ("Path must start with / character", ...)
 * written to why (if non-NULL). */
int zkc_validate_path(const char *path, char *why, size_t whylen);

/* ---- results ---- */

/* One op's outcome inside a multi. */
typedef struct zkc_op_result_s {
    int type;             /* opcode of the result, ZOO_ERROR_OP for an error record */
    int err;              /* ZOK or the op's error (ZRUNTIMEINCONSISTENCY for rolled-back ops) */
    const char *path;     /* create: the created path (client path) */
    zkp_Stat stat;        /* create2/createContainer/createTTL/setData */
    bool has_stat;
} zkc_op_result_t;

typedef struct zkc_result_s {
    int rc;                           /* ZOK or a Z* error */
    int op;                           /* opcode of the request */
    int64_t zxid;                     /* reply header zxid; -1 if no reply */
    const char *path;                 /* create*: created path; sync: the path; else the request path */
    const zkp_Stat *stat;             /* exists, getData, setData, getChildren2, getACL, setACL, create2... */
    const uint8_t *data;              /* getData; datalen -1 = null */
    int32_t datalen;
    const jute_strvec_t *strings;     /* getChildren(2): children; getEphemerals: paths */
    const zkp_ACL *acl;               /* getACL */
    int nacl;
    const zkp_ClientInfo *who;        /* whoAmI */
    int nwho;
    int32_t count;                    /* getAllChildrenNumber */
    const zkc_op_result_t *results;   /* multi: one per op (rc = first failing op's error) */
    int nresults;
} zkc_result_t;

typedef void (*zkc_cb)(zkc_t *zk, const zkc_result_t *res, void *ctx);

/* ---- requests (all asynchronous; see the callback contract above) ---- */

/* ACL lists: a pointer to nacl entries. NULL with nacl 0 means ZKC_OPEN_ACL_UNSAFE
 * for create. An empty list is refused with ZINVALIDACL (as Java does). */
extern const zkp_ACL zkc_open_acl_unsafe[1];   /* world:anyone:cdrwa */
extern const zkp_ACL zkc_creator_all_acl[1];   /* auth::cdrwa */
extern const zkp_ACL zkc_read_acl_unsafe[1];   /* world:anyone:r */

typedef struct zkc_create_s {
    const char *path;
    const void *data;
    int32_t len;             /* -1 = null data */
    const zkp_ACL *acl;      /* NULL = open ACL */
    int nacl;
    int mode;                /* enum zk_create_mode */
    int64_t ttl;             /* for the TTL modes, in ms (1..ZK_TTL_MAX) */
    bool with_stat;          /* ask for the Stat too (create2) */
} zkc_create_t;

/* create (1) / create2 (15) for the plain modes, createContainer (19) for
 * ZK_CONTAINER, createTTL (21) for the TTL modes. Result: path (+ stat). */
int zkc_create(zkc_t *zk, const zkc_create_t *req, zkc_cb cb, void *ctx);
int zkc_delete(zkc_t *zk, const char *path, int32_t version, zkc_cb cb, void *ctx);
/* Result: stat, or rc ZNONODE (an exist-watch is still set when asked for). */
int zkc_exists(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_cb cb, void *ctx);
int zkc_get_data(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_cb cb, void *ctx);
int zkc_set_data(zkc_t *zk, const char *path, const void *data, int32_t len, int32_t version,
                 zkc_cb cb, void *ctx);
/* getChildren (8): strings. */
int zkc_get_children(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_cb cb, void *ctx);
/* getChildren2 (12): strings + stat. */
int zkc_get_children2(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_cb cb, void *ctx);
int zkc_get_acl(zkc_t *zk, const char *path, zkc_cb cb, void *ctx);
int zkc_set_acl(zkc_t *zk, const char *path, const zkp_ACL *acl, int nacl, int32_t version,
                zkc_cb cb, void *ctx);
int zkc_sync(zkc_t *zk, const char *path, zkc_cb cb, void *ctx);
/* getEphemerals (103): server paths of this session's ephemerals under prefix
 * (NULL = all). Like Java, the returned paths are not chroot-stripped. */
int zkc_get_ephemerals(zkc_t *zk, const char *prefix, zkc_cb cb, void *ctx);
int zkc_get_all_children_number(zkc_t *zk, const char *path, zkc_cb cb, void *ctx);
int zkc_whoami(zkc_t *zk, zkc_cb cb, void *ctx);
/* addauth: remembered and re-sent after every reconnect. The callback gets ZOK or
 * ZAUTHFAILED (the handle is then dead: state ZKC_AUTH_FAILED). cb may be NULL. */
int zkc_add_auth(zkc_t *zk, const char *scheme, const void *auth, int32_t len, zkc_cb cb, void *ctx);
/* addWatch (106): mode ZK_ADDWATCH_PERSISTENT or ZK_ADDWATCH_PERSISTENT_RECURSIVE.
 * w NULL means the default watcher. The watch stays until removed (or the
 * session ends) and is re-registered after reconnects (SetWatches2). */
int zkc_add_watch(zkc_t *zk, const char *path, int mode, const zkc_watch_t *w, zkc_cb cb, void *ctx);
/* removeWatches: w NULL removes every watcher of wtype (enum zk_watcher_type) on
 * path (op 18, removeAllWatches); otherwise just that watcher (op 17). local =
 * remove locally even if the server cannot be reached or says NOWATCHER. The
 * removed watchers get DataWatchRemoved / ChildWatchRemoved /
 * PersistentWatchRemoved events. rc ZNOWATCHER if nothing matched. */
int zkc_remove_watches(zkc_t *zk, const char *path, int wtype, const zkc_watch_t *w, bool local,
                       zkc_cb cb, void *ctx);

/* ---- multi ---- */
typedef struct zkc_op_s {
    int type;                /* ZOO_CREATE_OP, ZOO_DELETE_OP, ZOO_SETDATA_OP, ZOO_CHECK_OP */
    const char *path;
    const void *data;        /* create, setData */
    int32_t len;
    const zkp_ACL *acl;      /* create; NULL = open ACL */
    int nacl;
    int mode;                /* create: enum zk_create_mode (picks create/createContainer/createTTL) */
    int64_t ttl;
    int32_t version;         /* delete, setData, check */
} zkc_op_t;

static inline zkc_op_t zkc_op_create(const char *path, const void *data, int32_t len, int mode)
{
    zkc_op_t op = {ZOO_CREATE_OP, path, data, len, NULL, 0, mode, 0, -1};
    return op;
}
static inline zkc_op_t zkc_op_delete(const char *path, int32_t version)
{
    zkc_op_t op = {ZOO_DELETE_OP, path, NULL, -1, NULL, 0, 0, 0, version};
    return op;
}
static inline zkc_op_t zkc_op_set_data(const char *path, const void *data, int32_t len, int32_t version)
{
    zkc_op_t op = {ZOO_SETDATA_OP, path, data, len, NULL, 0, 0, 0, version};
    return op;
}
static inline zkc_op_t zkc_op_check(const char *path, int32_t version)
{
    zkc_op_t op = {ZOO_CHECK_OP, path, NULL, -1, NULL, 0, 0, 0, version};
    return op;
}

/* multi (14), all-or-nothing. rc is ZOK, or the first failing op's error; the
 * results array has one entry per op either way (when the server answered). */
int zkc_multi(zkc_t *zk, const zkc_op_t *ops, int nops, zkc_cb cb, void *ctx);

/* Closes the session: sends closeSession, and when it is answered (or the
 * connection fails) the handle becomes ZKC_CLOSED, watchers see Closed, and cb
 * (may be NULL) is called with ZOK. Requests issued before still complete first.
 * While a connection attempt is under way the close waits for its outcome (like
 * the Java client); a handle with no session and no attempt under way closes at
 * once (from the loop). Returns
 * ZSESSIONEXPIRED if the handle is already dead. */
int zkc_close(zkc_t *zk, zkc_cb cb, void *ctx);

/* ---- synchronous layer ----
 * For tools and the shell: runs the handle's event loop (event_base_loop with
 * EVLOOP_ONCE) until the request completes. Must not be called from inside a
 * callback running on that loop (returns ZSYSTEMERROR). Other callbacks (watches)
 * keep running while it waits. */

/* An owned copy of a result. */
typedef struct zkc_reply_s {
    int rc;
    int64_t zxid;
    char *path;
    zkp_Stat stat;
    bool has_stat;
    jute_buf_t data;               /* len -1 = null */
    jute_strvec_t strings;
    jute_vec_t acl;                /* of zkp_ACL */
    jute_vec_t who;                /* of zkp_ClientInfo */
    int32_t count;
    zkc_op_result_t *results;      /* paths owned */
    int nresults;
} zkc_reply_t;

void zkc_reply_free(zkc_reply_t *r);

/* A pending synchronous request: pass zkc_capture_cb and a zkc_pending_t as
 * (cb, ctx) to any request function, then zkc_wait on it. */
typedef struct zkc_pending_s {
    bool done;
    zkc_reply_t reply;
} zkc_pending_t;
void zkc_capture_cb(zkc_t *zk, const zkc_result_t *res, void *ctx);
/* Runs the loop until p->done. Returns p->reply.rc (or ZSYSTEMERROR if the loop
 * cannot run). The reply in p is the caller's to zkc_reply_free. */
int zkc_wait(zkc_t *zk, zkc_pending_t *p);
/* Runs the loop until the handle is connected (or dead), at most timeout_ms
 * (<0: no limit). Returns ZOK, ZOPERATIONTIMEOUT, or ZSESSIONEXPIRED/ZAUTHFAILED. */
int zkc_wait_connected(zkc_t *zk, int timeout_ms);

/* Each returns the rc; out (may be NULL where noted) receives the owned reply
 * and must be zkc_reply_free'd even on error. */
int zkc_sync_create(zkc_t *zk, const zkc_create_t *req, zkc_reply_t *out);
int zkc_sync_delete(zkc_t *zk, const char *path, int32_t version);
int zkc_sync_exists(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_reply_t *out);
int zkc_sync_get_data(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_reply_t *out);
int zkc_sync_set_data(zkc_t *zk, const char *path, const void *data, int32_t len, int32_t version,
                      zkc_reply_t *out);
int zkc_sync_get_children(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_reply_t *out);
int zkc_sync_get_children2(zkc_t *zk, const char *path, const zkc_watch_t *w, zkc_reply_t *out);
int zkc_sync_get_acl(zkc_t *zk, const char *path, zkc_reply_t *out);
int zkc_sync_set_acl(zkc_t *zk, const char *path, const zkp_ACL *acl, int nacl, int32_t version,
                     zkc_reply_t *out);
int zkc_sync_sync(zkc_t *zk, const char *path);
int zkc_sync_multi(zkc_t *zk, const zkc_op_t *ops, int nops, zkc_reply_t *out);
int zkc_sync_close(zkc_t *zk);

#endif
