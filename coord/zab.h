/* zab.h — the quorum core (Zab): who may order writes, which zxid comes next, when a
 * proposal is committed, and how servers that join or lag are brought up to date.
 *
 * A pure state machine, in the manner of etcd's raft: it never touches sockets, files
 * or clocks. The driver (coord/node.c + peer_net.c) feeds it inputs and carries out
 * what it decides.
 *
 * Inputs
 *   zab_step(z, msg)         a message from a peer (zab_msg.h)
 *   zab_tick(z, now_ms)      time passes (monotonic ms; call at least every tick_ms/2)
 *   zab_persisted(z, zxid)   the driver made every txn it was asked to append, up to
 *                            zxid, durable (fsync done)
 *   zab_log_floor(z, zxid)   the driver's log holds every txn after zxid (after a purge)
 *   zab_propose + zab_submit a client write was prepped as txn bytes (leader)
 *   zab_forward(z, req)      a client write to pass to the leader (follower/observer)
 *
 * Output: a ready batch (zab_ready), which the driver executes in this order, then
 * calls zab_advance:
 *   1. persist: accepted/current epoch (durably, before anything is sent); truncate the
 *      log; install a snapshot; append txns to the log (durability is reported later
 *      with zab_persisted — acknowledgements wait for it);
 *   2. send: messages to peers;
 *   3. apply: committed txns, in zxid order, to the data tree; a txn is handed out for
 *      apply only once it is committed AND durable in the local log;
 *   4. requests (leader): client writes forwarded by learners, to prep in this order;
 *   5. role: the role after the batch; when role_changed, a server that stopped serving
 *      fails its clients' outstanding requests.
 *
 * The core also reads (never writes) the driver's storage through zab_storage_t, as
 * etcd's raft reads its Storage: old txns from the log for a DIFF, and a snapshot of
 * the applied state for a SNAP. Both are called only from inside zab_step/zab_tick.
 *
 * Protocol (ZooKeeper's Zab phases):
 *   election     voters exchange VOTEs (fast leader election): highest (current epoch,
 *                last zxid, server id) wins once a majority agrees -- at once when every
 *                voter not known to be down (zab_peer_down) agrees, else after elect_ms
 *                (ZooKeeper's finalize wait); a server that finds an established leader
 *                (a majority reports it) follows it. Observers never vote; they ask the
 *                voters whom to follow. A server that decides tells every peer (a VOTE
 *                with its new state), so observers and late voters join at once.
 *   discovery    learners send FOLLOWERINFO(accepted epoch) -- again after elect_ms,
 *                doubling up to tick_ms, while unanswered, and at once when the leader
 *                announces that it leads (it dropped one that came too early); with a
 *                majority the leader
 *                picks epoch = max + 1 (LEADERINFO); learners promise it durably
 *                (ACKEPOCH with their current epoch and last zxid). A leader that finds
 *                a voter ahead of itself gives up.
 *   sync         per learner: DIFF (missing txns), TRUNC (drop a divergent tail, then
 *                the missing txns) or SNAP (whole state, then txns), then NEWLEADER; the
 *                learner logs it all, takes the epoch as current and ACKs. When a
 *                majority of voters has, the leader's history is committed and it serves;
 *                learners get UPTODATE.
 *   broadcast    leader: PROPOSAL to followers, counts ACKs (its own log counts), COMMIT
 *                once a majority of voters has the txn durable; observers get INFORM
 *                with the committed txn and never vote.
 *
 * Every leader<->learner session has a nonce and per-direction sequence numbers, so the
 * core tolerates dropped, duplicated, delayed and reordered messages: duplicates are
 * ignored, a short reordering is repaired, a loss ends the session (the learner goes
 * back to LOOKING and re-syncs). A leader that has not heard from a majority within
 * syncLimit ticks, or a learner that has not heard from its leader, goes back to
 * LOOKING; neither ever acknowledges a write on its own.
 *
 * zxid = epoch << 32 | counter. A standalone server is a quorum of one voter and takes
 * the same path: its own durable log write is the majority. */
#ifndef GREGOR_COORD_ZAB_H
#define GREGOR_COORD_ZAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "coord/zab_msg.h"

#define ZAB_MAX_VOTERS 64
#define ZAB_MAX_OBSERVERS 64

typedef enum { ZAB_LOOKING, ZAB_LEADING, ZAB_FOLLOWING, ZAB_OBSERVING } zab_role_t;

#define ZXID_EPOCH(z) ((uint32_t)((uint64_t)(z) >> 32))
#define ZXID_COUNTER(z) ((uint32_t)(z))
#define ZXID_MAKE(e, c) ((int64_t)(((uint64_t)(e) << 32) | (uint32_t)(c)))

typedef struct zab_s zab_t;

/* Called for each txn read from the log; a non-zero return stops the read. */
typedef int (*zab_txn_fn)(void *arg, int64_t zxid, const uint8_t *data, size_t len);

typedef struct zab_storage_s {
    void *ctx;
    /* Calls fn, in zxid order, for every logged txn with zxid > after (it may stop
     * early when fn returns non-zero). Returns 0, or -1 if the log cannot be read.
     * NULL: the core serves DIFFs from the txns it holds in memory only. */
    int (*read_log)(void *ctx, int64_t after, zab_txn_fn fn, void *arg);
    /* Appends a snapshot of the applied state (everything the driver has applied) to
     * out and sets *zxid to the last zxid it includes. Returns 0 or -1. Needed by a
     * leader to bring up a learner that is too far behind. */
    int (*snapshot)(void *ctx, buf_t *out, int64_t *zxid);
} zab_storage_t;

typedef struct zab_config_s {
    int my_id;
    int voters[ZAB_MAX_VOTERS];
    int nvoters;
    int observers[ZAB_MAX_OBSERVERS];   /* non-voting members */
    int nobservers;
    int tick_ms;          /* tickTime; 0 = 2000 */
    int init_limit;       /* ticks to connect and sync to a leader; 0 = 10 */
    int sync_limit;       /* ticks a learner may be silent; 0 = 5 */
    int elect_ms;         /* vote resend interval and finalize wait; 0 = 200 */
    int cache_txns;       /* committed txns kept in memory for DIFFs; 0 = 500 */
    uint64_t nonce;       /* distinct per process start (e.g. random); seeds session nonces */
    zab_storage_t storage;
    /* Optional debug trace, one line per call (no newline). */
    void (*trace)(void *ctx, const char *line);
    void *trace_ctx;
} zab_config_t;

/* What the driver recovered from disk. */
typedef struct zab_state_s {
    int64_t last_logged;      /* zxid of the last txn in the log (or snapshot), 0 if none */
    uint32_t accepted_epoch;  /* acceptedEpoch file */
    uint32_t current_epoch;   /* currentEpoch file */
    int64_t log_floor;        /* the log holds every txn with zxid > log_floor */
} zab_state_t;

/* A txn in a ready batch: data belongs to the core and stays valid until zab_advance. */
typedef struct zab_txn_s {
    int64_t zxid;
    const uint8_t *data;
    size_t len;
} zab_txn_t;

/* A client write forwarded by a learner (leader only); data valid until zab_advance. */
typedef struct zab_request_s {
    int from;
    const uint8_t *data;
    size_t len;
} zab_request_t;

typedef struct zab_ready_s {
    /* 1. persist */
    bool epochs_changed;            /* write both epoch files before sending */
    uint32_t accepted_epoch;
    uint32_t current_epoch;
    int64_t truncate_to;            /* -1: none. Else drop logged txns with zxid > truncate_to
                                       and, if the applied state is beyond it (txns replayed
                                       tentatively at start-up), rebuild it as of that zxid
                                       (never below the log floor: the snapshot stays valid) */
    bool has_snapshot;              /* replace state and log with this snapshot */
    int64_t snapshot_zxid;
    const uint8_t *snapshot;
    size_t snapshot_len;
    const zab_txn_t *append;        /* append to the log, in order */
    size_t nappend;
    /* 2. send */
    const zab_msg_t *msgs;          /* msgs[i].to is the destination */
    size_t nmsgs;
    /* 3. apply */
    const zab_txn_t *apply;
    size_t napply;
    /* 4. prep (leader) */
    const zab_request_t *requests;
    size_t nrequests;
    /* 5. role after this batch */
    bool role_changed;              /* role, leader or serving changed during the batch */
    zab_role_t role;
    bool serving;
    int leader;                     /* -1 when none */
    uint32_t epoch;
} zab_ready_t;

/* mntr / srvr figures. */
typedef struct zab_stats_s {
    zab_role_t role;
    bool serving;
    int leader;                 /* -1 when none */
    uint32_t epoch;
    int learners;               /* leader: connected learner sessions */
    int synced_followers;       /* leader: voters that completed sync and are alive */
    int synced_observers;       /* leader: observers that completed sync */
    int pending_syncs;          /* leader: sessions being synced */
    int64_t last_proposed;
    int64_t last_logged;
    int64_t last_committed;
    int64_t last_applied;
    int64_t election_round;
} zab_stats_t;

/* Creates the core in LOOKING; the election starts at the first zab_tick (or
 * zab_lead_alone). cfg is copied. Returns NULL if the configuration is invalid (my_id
 * not a member, duplicate ids, no voters, too many members). zab_free releases it. */
zab_t *zab_open(const zab_config_t *cfg, const zab_state_t *st);
/* Shorthand kept for the standalone driver: current epoch taken as the epoch of
 * last_logged, log floor = last_logged. */
zab_t *zab_new(const zab_config_t *cfg, int64_t last_logged, uint32_t accepted_epoch);
void zab_free(zab_t *z);

/* ---- inputs ---- */

/* A message from peer msg->from (the core copies what it keeps). Returns 0, or -1 if it
 * was dropped as invalid (unknown sender, not addressed to us, malformed). */
int zab_step(zab_t *z, const zab_msg_t *msg);
void zab_tick(zab_t *z, int64_t now_ms);
/* Every txn handed out in an append up to zxid is durable. */
void zab_persisted(zab_t *z, int64_t zxid);
/* The log holds every txn with zxid > zxid (older ones were purged). */
void zab_log_floor(zab_t *z, int64_t zxid);
/* The driver's connection to peer id broke: messages to or from it may have been lost.
 * A learner whose leader that is goes back to LOOKING at once (as a ZooKeeper follower
 * whose leader socket closes) instead of waiting syncLimit ticks. The peer counts as
 * down until a message from it arrives: an election does not wait for its vote. */
void zab_peer_down(zab_t *z, int id);

/* Leader: assigns the zxid for a new proposal. Returns -1 if not serving as leader, if
 * the counter is exhausted (a new epoch is needed), or if the previous zxid was not
 * yet submitted while peers are configured. */
int64_t zab_propose(zab_t *z);
/* Leader: the txn bytes for the zxid just assigned by zab_propose (copied). They are
 * appended locally and proposed to the followers. Returns 0 or -1. A standalone driver
 * that logs txns itself may skip this and report durability with zab_ack. */
int zab_submit(zab_t *z, int64_t zxid, const void *txn, size_t len);
/* Follower/observer while serving: sends a client write to the leader, which preps it
 * (it reaches the leader's ready.requests in the order forwarded). Returns 0, or -1 if
 * there is no serving leader (fail the request). */
int zab_forward(zab_t *z, const void *req, size_t len);

/* ---- output ---- */

/* Fills rd with what the driver must do now; false if there is nothing. The batch
 * stays valid (pointers included) until zab_advance; inputs may arrive in between and
 * go into the next batch. */
bool zab_ready(zab_t *z, zab_ready_t *rd);
/* The batch from zab_ready has been executed; releases it. */
void zab_advance(zab_t *z);

/* ---- standalone driver API (quorum of one) ---- */

/* Becomes leader of a new epoch when this server alone is a majority. Returns the new
 * epoch, which the driver must persist (accepted and current) before serving, or 0 if
 * this server cannot lead on its own. */
uint32_t zab_lead_alone(zab_t *z);
/* Leader: the last proposals (zxid > last logged) were never logged — forget them so
 * their zxids are reused (e.g. the log write failed). If any of them already went to
 * a follower, the zxids cannot be reused: the leader steps down instead. */
void zab_abandon_unlogged(zab_t *z);
/* A voter has durably logged everything up to zxid. For this server it is the same as
 * zab_persisted; for another voter it counts as that voter's ACK. */
void zab_ack(zab_t *z, int voter_id, int64_t zxid);

/* ---- queries ---- */

zab_role_t zab_role(const zab_t *z);
/* "leader", "follower", "observer", "standalone" (sole voter, no observers), "looking" */
const char *zab_role_name(const zab_t *z);
/* Epoch of the current leadership: a leader's once a majority promised it, a learner's
 * once its leader announced it; 0 otherwise. */
uint32_t zab_epoch(const zab_t *z);
int zab_leader(const zab_t *z);           /* leader's id, -1 if none */
bool zab_serving(const zab_t *z);         /* may serve clients (leader established / learner up to date) */
int64_t zab_last_proposed(const zab_t *z);
int64_t zab_last_committed(const zab_t *z);
int64_t zab_last_logged(const zab_t *z);
int zab_voter_count(const zab_t *z);
void zab_stats(const zab_t *z, zab_stats_t *st);

#endif
