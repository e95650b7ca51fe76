/* zab.h — the quorum core: who may order writes, which zxid comes next, and when a
 * proposal is committed. A pure state machine: it never touches sockets, files or
 * clocks; the node driver feeds it events and carries out what it decides.
 *
 * zxid = epoch << 32 | counter, as ZooKeeper. A proposal commits once a majority of
 * voters has logged it durably; commits happen strictly in zxid order.
 *
 * This version implements the leader side and ack counting over the configured voter
 * set. A standalone server is a quorum of one voter: its own durable log write is the
 * majority. Election and learner synchronisation build on the same core. */
#ifndef GREGOR_COORD_ZAB_H
#define GREGOR_COORD_ZAB_H

#include <stdbool.h>
#include <stdint.h>

#define ZAB_MAX_VOTERS 64

typedef enum { ZAB_LOOKING, ZAB_LEADING, ZAB_FOLLOWING, ZAB_OBSERVING } zab_role_t;

#define ZXID_EPOCH(z) ((uint32_t)((uint64_t)(z) >> 32))
#define ZXID_COUNTER(z) ((uint32_t)(z))
#define ZXID_MAKE(e, c) ((int64_t)(((uint64_t)(e) << 32) | (uint32_t)(c)))

typedef struct zab_s zab_t;

typedef struct zab_config_s {
    int my_id;
    int voters[ZAB_MAX_VOTERS];
    int nvoters;
} zab_config_t;

/* last_logged: zxid of the last txn in the local log; accepted_epoch: the highest epoch
 * this server has promised (persisted by the driver). */
zab_t *zab_new(const zab_config_t *cfg, int64_t last_logged, uint32_t accepted_epoch);
void zab_free(zab_t *z);

/* Becomes leader of a new epoch when this server alone is a majority (quorum of one).
 * Returns the new epoch, which the driver must persist before serving, or 0 if this
 * server cannot lead on its own. */
uint32_t zab_lead_alone(zab_t *z);

zab_role_t zab_role(const zab_t *z);
const char *zab_role_name(const zab_t *z);   /* "leader", "follower", "observer", "standalone" */
uint32_t zab_epoch(const zab_t *z);

/* Leader: assigns the zxid for a new proposal. Returns -1 if not leading or the counter
 * is exhausted (a new epoch is needed). */
int64_t zab_propose(zab_t *z);
/* Leader: the last proposals (zxid > last logged) were never logged — forget them so
 * their zxids are reused (e.g. the log write failed). */
void zab_abandon_unlogged(zab_t *z);
/* A voter (possibly this server) has durably logged everything up to zxid. */
void zab_ack(zab_t *z, int voter_id, int64_t zxid);
int64_t zab_last_proposed(const zab_t *z);
int64_t zab_last_committed(const zab_t *z);
int zab_voter_count(const zab_t *z);

#endif
