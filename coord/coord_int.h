/* coord_int.h — private to gregor-coord: the node context shared by node.c (the
 * driver of the quorum core: recovery, the ready loop, the leader's request handling,
 * sessions and timers), server.c (client connections) and fourlw.c.
 *
 * A standalone server is a quorum of one and takes the same path as an ensemble member.
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
#include "coord/fwd.h"
#include "coord/peer_net.h"
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
typedef enum { REQ_QUEUED_READ, REQ_PENDING_WRITE, REQ_PENDING_SYNC, REQ_DONE } req_state_t;
typedef struct req_s {
    struct req_s *next;
    req_state_t state;
    int32_t xid;
    int32_t op;
    int64_t zxid;              /* pending sync: answer once this zxid is applied (-1: not
                                  known yet, the leader has not answered) */
    int64_t sync_id;           /* pending sync forwarded to the leader */
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
    bool touched;              /* learner: activity since the last TOUCH to the leader */
    bool attached;             /* learner: (re)connected here since the last TOUCH */
    int owner;                 /* leader: the server its client is connected to (-1 unknown) */
};

/* Leader: a proposal this server made, until it is applied (to fail its request if
 * the log write fails). */
typedef struct inflight_s {
    struct inflight_s *next;
    int64_t zxid;
    int64_t session_id;
    int32_t cxid;
    int32_t op;
    int from;                  /* server whose client sent it */
} inflight_t;

/* Leader: a request that waits until the tree holds the history the leader started
 * its epoch with (so prep validates against the right state). */
typedef struct deferred_s {
    struct deferred_s *next;
    int from;
    buf_t payload;             /* fwd_encode bytes */
} deferred_t;

struct coord_s {
    coord_config_t *cfg;
    struct event_base *base;
    dt_t *dt;
    prep_t *prep;
    watchmgr_t *watches;
    zab_t *zab;
    peer_net_t *net;           /* NULL for a standalone server */
    txnlog_t *log;
    char *snap_dir;            /* <dataDir>/version-2 is made by snap/txnlog */
    hmap_t sessions;           /* id -> session_t* */
    hmap_t conns_per_ip;       /* ip -> (intptr_t) count */
    conn_t *conns;
    int nconns;
    int nclosed;               /* connections waiting for coord_server_reap */
    struct evconnlistener *listener;
    struct event *tick_ev;
    struct event *zab_ev;
    struct event *purge_ev;
    inflight_t *inflight_head, *inflight_tail;   /* leader: proposed, not yet applied */
    deferred_t *deferred_head, *deferred_tail;   /* leader: requests waiting for lead_floor */
    int64_t lead_floor;        /* leader: prep only once the tree is at least here */
    int64_t next_session_id;
    int64_t next_sync_id;
    int npending_syncs;        /* requests in REQ_PENDING_SYNC, all connections */
    /* the role the driver last acted on */
    zab_role_t role;
    bool serving;
    int leader;
    uint32_t epoch;
    uint32_t disk_accepted;    /* what the acceptedEpoch / currentEpoch files hold */
    uint32_t disk_current;
    bool ensemble;             /* more than one member configured */
    int64_t txns_since_snap;
    int64_t snap_threshold;
    int64_t last_container_check_ms;
    bool disk_error;           /* the last log sync failed */
    bool in_after_events;      /* coord_after_events is running (it may run the loop) */
    int snap_pid;              /* > 0: a child process is writing a snapshot */
    int64_t snap_bg_zxid;      /* ... as of this zxid */
    int64_t snap_bg_start_us;
    /* stats */
    uint64_t packets_received, packets_sent;
    int64_t lat_min_us, lat_max_us, lat_sum_us, lat_n;
    int64_t started_ms;
};

/* node.c */
/* Recovers the state from dataDir, opens the quorum core (and, in an ensemble, the
 * peer links), and runs the first ready loop (a standalone server is leader then). */
int coord_node_open(coord_t *c, char *err, size_t errlen);
void coord_node_close(coord_t *c);
/* Runs once per event-loop turn: executes what the quorum core decided, syncs the log
 * once (group commit), reports durability and executes again (apply -> replies). */
void coord_after_events(coord_t *c);
int64_t coord_last_zxid(const coord_t *c);
/* May this server take client sessions and requests now? */
bool coord_serving(const coord_t *c);
session_t *coord_session_new(coord_t *c, int64_t id, int32_t timeout, const char *ip);
void coord_session_touch(coord_t *c, session_t *s);
/* A client request that goes through the leader: f->kind is FWD_WRITE (closeSession
 * included), FWD_CREATE_SESSION or FWD_SYNC. On the leader it is prepped and proposed
 * (or deferred); on a learner it is forwarded. f is only read. Returns 0, or a ZooKeeper
 * error code (ZCONNECTIONLOSS when there is no serving leader) to answer at once. */
int coord_submit(coord_t *c, const fwd_t *f);
/* A session (re)connected to this server (reconnect with its id): tell the leader. */
void coord_session_attached(coord_t *c, session_t *s);
void coord_session_password(int64_t session_id, uint8_t out[16]);
/* Takes a snapshot now (also used at start-up after replay). */
int coord_snapshot(coord_t *c);
/* Starts a snapshot in a child process (fork: the child serializes its copy of the tree
 * and writes it while this process goes on serving); falls back to coord_snapshot when
 * fork fails. Completion is picked up by coord_snapshot_reap. */
void coord_snapshot_bg(coord_t *c);
/* Reaps a finished snapshot child (wait: block until it is done). */
void coord_snapshot_reap(coord_t *c, bool wait);

/* server.c */
int coord_server_listen(coord_t *c, char *err, size_t errlen);
void coord_server_close_all(coord_t *c);
void conn_close(conn_t *conn);
/* Closes connections that never completed the handshake (called from the tick). */
void coord_server_close_idle(coord_t *c, int64_t now_mono_ms);
/* Frees closed connections; called at the end of every loop turn. */
void coord_server_reap(coord_t *c);
/* Writes the replies queued on client connections to their sockets now (without
 * blocking); called before the loop blocks in an fsync. */
void coord_server_flush(coord_t *c);
/* Delivers a watch notification to a session's connection, if it has one. */
void coord_notify(void *ctx, int64_t session_id, int32_t type, const char *path);
/* A write of conn's session has been applied: it answers the first pending write of the
 * connection if its xid is cxid (writes of one session commit in order). */
void conn_write_applied(conn_t *conn, int32_t cxid, int64_t zxid, int32_t err, const buf_t *body);
/* The createSession txn of conn's session has been applied. */
void conn_session_established(conn_t *conn);
/* The write with xid cxid will not be applied: answer it with err. */
void conn_write_failed(conn_t *conn, int32_t cxid, int32_t err);
/* The leader answered a forwarded sync: the request waits for zxid to be applied. */
void coord_sync_target(coord_t *c, int64_t sync_id, int64_t zxid);
/* Answers every pending sync whose zxid has been applied (after each apply). */
void coord_server_syncs_applied(coord_t *c);
/* Stops serving: closes every client connection (clients move to another server). */
void coord_server_drop_clients(coord_t *c, const char *why);

/* fourlw.c */
bool fourlw_is_command(const uint8_t *p);
void fourlw_execute(coord_t *c, conn_t *conn, const char *cmd, buf_t *out);
void coord_record_latency(coord_t *c, conn_t *conn, int64_t us);

#endif
