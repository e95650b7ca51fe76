/* bzk.h — the broker's registration in the coordinator, exactly as Kafka 2.x does it in
 * ZooKeeper (kafka-zk-layout.md): the persistent paths every broker ensures at start,
 * /cluster/id (created by the first broker), broker.id generation through /brokers/seqid,
 * meta.properties agreement, and the ephemeral /brokers/ids/N (a registration left by this
 * broker's previous, not yet expired session is waited for or removed instead of failing;
 * re-registered after a session expiry). Prefix bzk_. */
#ifndef GREGOR_BROKER_BZK_H
#define GREGOR_BROKER_BZK_H

#include "broker/broker.h"

/* Runs at start with b->zk connected (may run the loop while waiting for replies): creates
 * the chroot if missing, ensures the persistent paths, sets b->cluster_id and b->id, checks
 * meta.properties (lmgr_check_meta). Does not register yet. NULL on failure (logged, with
 * what to fix). */
bzk_t *bzk_new(broker_t *b);
/* Registers /brokers/ids/N with the advertised endpoints (ports of listeners bound to port 0
 * taken from b->srv), once every module is up; handles a stale registration of this broker's
 * previous session. May run the loop. 0, or -1 (logged). */
int bzk_register(bzk_t *r);
void bzk_free(bzk_t *r);
/* The coordinator session was replaced (b->zk is a new handle): register again. */
void bzk_session_renewed(bzk_t *r);
/* True once /brokers/ids/N is registered by the current session. */
bool bzk_registered(const bzk_t *r);
/* The czxid of our registration (Kafka's broker epoch), -1 if not registered. */
int64_t bzk_broker_epoch(const bzk_t *r);

#endif
