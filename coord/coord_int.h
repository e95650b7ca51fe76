/* coord_int.h — private to gregor-coord: the node context shared by node.c (write
 * pipeline, recovery, timers), server.c (client connections) and fourlw.c.
 *
 * Threads: one. Everything here runs on the node's libevent loop. */
#ifndef GREGOR_COORD_INT_H
#define GREGOR_COORD_INT_H

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "common/buf.h"
#include "common/hmap.h"
#include "coord/acl.h"
#include "coord/config.h"
#include "coord/datatree.h"
#include "coord/prep.h"
#include "coord/txnlog.h"
#include "coord/watch.h"
#include "coord/zab.h"
#include "coord/zread.h"
#include "coord/zreq.h"

#define COORD_VERSION "3.8.0-gregor-0.1"

typedef struct conn_s conn_t;
typedef struct session_s session_t;
typedef struct coord_s coord_t;

/* A request of one connection, kept in arrival order until its reply is sent. */
typedef enum { REQ_QUEUED_READ, REQ_PENDING_WRITE, REQ_DONE } req_state_t;
typedef struct req_s {
    struct req_s *next;
    req_state_t state;
    int32_t xid;
    int32_t op;
    int64_t zxid;              /* pending write: the zxid of its txn */
    zreq_body_t req;           /* queued read: its decoded body */
    buf_t reply;               /* REQ_DONE: the whole framed reply */
    int64_t start_us;
    bool close_after;          /* closeSession: close the connection after the reply */
} req_t;

typedef enum { CONN_NEW, CONN_CONNECTING, CONN_CONNECTED, CONN_CLOSING } conn_state_t;

struct conn_s {
    conn_t *prev, *next;       /* all connections of the node */
    coord_t *coord;
    struct bufferevent *bev;
    conn_state_t state;
    session_t *sess;
    char ip[64];
    int port;
    bool had_readonly;         /* ConnectRequest carried the readOnly flag */
    req_t *head, *tail;        /* requests awaiting replies, in order */
    int nqueued;
    bool read_paused;
    /* stats for cons/stat */
    uint64_t recved, sent;
    int64_t established_ms;
    int64_t accepted_mono_ms;
    int32_t last_op;
    int32_t last_cxid;
    int64_t last_zxid;
    int64_t last_resp_ms;
    int64_t lat_min_us, lat_max_us, lat_sum_us, lat_n;
};

struct session_s {
    int64_t id;
    int32_t timeout;           /* negotiated, ms */
    int64_t expires_at_ms;     /* monotonic */
    conn_t *conn;              /* current connection, or NULL */
    acl_auth_t auth;
    bool closing;              /* a closeSession txn is in flight */
    bool committed;            /* its createSession txn has been applied */
};

/* A proposal in flight: logged and/or awaiting commit, applied in zxid order. */
typedef struct proposal_s {
    struct proposal_s *next;
    int64_t zxid;
    buf_t txn;
} proposal_t;

struct coord_s {
    coord_config_t *cfg;
    struct event_base *base;
    dt_t *dt;
    prep_t *prep;
    watchmgr_t *watches;
    zab_t *zab;
    txnlog_t *log;
    char *snap_dir;            /* <dataDir>/version-2 is made by snap/txnlog */
    hmap_t sessions;           /* id -> session_t* */
    hmap_t conns_per_ip;       /* ip -> (intptr_t) count */
    conn_t *conns;
    int nconns;
    int nclosed;               /* connections waiting for coord_server_reap */
    struct evconnlistener *listener;
    struct event *tick_ev;
    struct event *purge_ev;
    proposal_t *prop_head, *prop_tail;   /* proposed, not yet applied */
    int64_t last_logged;       /* highest zxid durably in the log */
    int64_t next_session_id;
    int64_t txns_since_snap;
    int64_t snap_threshold;
    int64_t last_container_check_ms;
    bool disk_error;           /* the last log sync failed */
    /* stats */
    uint64_t packets_received, packets_sent;
    int64_t lat_min_us, lat_max_us, lat_sum_us, lat_n;
    int64_t started_ms;
};

/* node.c */
int coord_node_open(coord_t *c, char *err, size_t errlen);
void coord_node_close(coord_t *c);
/* Proposes a txn built by prep (consumes txn). Returns the zxid, or -1 if not leading. */
int64_t coord_propose(coord_t *c, buf_t *txn);
/* Runs once per event-loop turn: syncs the log, commits and applies what can be. */
void coord_after_events(coord_t *c);
int64_t coord_last_zxid(const coord_t *c);
session_t *coord_session_new(coord_t *c, int64_t id, int32_t timeout, const char *ip);
void coord_session_touch(coord_t *c, session_t *s);
void coord_session_password(int64_t session_id, uint8_t out[16]);
/* Takes a snapshot now (also used at start-up after replay). */
int coord_snapshot(coord_t *c);

/* server.c */
int coord_server_listen(coord_t *c, char *err, size_t errlen);
void coord_server_close_all(coord_t *c);
void conn_close(conn_t *conn);
/* Closes connections that never completed the handshake (called from the tick). */
void coord_server_close_idle(coord_t *c, int64_t now_mono_ms);
/* Frees closed connections; called at the end of every loop turn. */
void coord_server_reap(coord_t *c);
/* Delivers a watch notification to a session's connection, if it has one. */
void coord_notify(void *ctx, int64_t session_id, int32_t type, const char *path);
/* A write the connection was waiting for has been applied. */
void conn_write_applied(conn_t *conn, int64_t zxid, int32_t err, const buf_t *body);
/* The createSession txn of conn's session has been applied. */
void conn_session_established(conn_t *conn);
/* The proposal could not be made durable: fail the waiting request. */
void conn_write_failed(conn_t *conn, int64_t zxid, int32_t err);

/* fourlw.c */
bool fourlw_is_command(const uint8_t *p);
void fourlw_execute(coord_t *c, conn_t *conn, const char *cmd, buf_t *out);
void coord_record_latency(coord_t *c, conn_t *conn, int64_t us);

#endif
