/* broker.h — one gregor-broker process: the modules it is made of and who owns what.
 *
 * Everything runs on one libevent loop (broker_t.base); nothing is thread-safe. main.c loads
 * the configuration and calls broker_start, which brings the modules up in this order:
 *
 *   logs    lmgr_t (logmgr.h)      every partition log under log.dirs
 *   zk      zkc_t (coord/zkc.h)    the session with the coordinator (the only way the broker
 *                                  talks to it)
 *   reg     bzk_t (bzk.h)          Kafka's persistent paths, /cluster/id, broker id generation,
 *                                  /brokers/ids/N (stale registrations, re-registration)
 *   meta    bmeta_t (meta.h)       metadata cache fed by UpdateMetadata; Metadata requests
 *   rep     brep_t (replica.h)     partitions this broker hosts: LeaderAndIsr, StopReplica,
 *                                  Produce, Fetch (purgatory), ListOffsets, DeleteRecords,
 *                                  OffsetForLeaderEpoch, idempotent-producer state
 *   admin   badm_t (admin.h)       topic administration through the coordinator (CreateTopics,
 *                                  DeleteTopics, CreatePartitions, Describe/AlterConfigs,
 *                                  auto-creation), /config/changes, InitProducerId
 *   groups  bgc_t (gcoord.h)       FindCoordinator and the group APIs over group.h, offsets in
 *                                  __consumer_offsets
 *   ctl     bctl_t (controller.h)  controller election through /controller and, when elected,
 *                                  the controller (ctrl_core.h) driven by coordinator watches,
 *                                  talking to brokers (itself included) over the Kafka protocol
 *   srv     bsrv_t (server.h)      the Kafka listeners; each module registers its handlers
 *
 * Each module has M_new(broker_t *) -> M_t * (NULL on failure, logged) and M_free. Modules
 * reach each other through broker_t and the functions their headers export; none keeps a
 * pointer into another's memory beyond one call. */
#ifndef GREGOR_BROKER_BROKER_H
#define GREGOR_BROKER_BROKER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/config.h"
#include "broker/logmgr.h"
#include "broker/server.h"
#include "coord/zkc.h"

typedef struct bzk_s bzk_t;
typedef struct bmeta_s bmeta_t;
typedef struct brep_s brep_t;
typedef struct badm_s badm_t;
typedef struct bgc_s bgc_t;
typedef struct bctl_s bctl_t;

typedef struct broker_s {
    bcfg_t *cfg;                 /* owned by main */
    struct event_base *base;     /* owned by main */
    int32_t id;                  /* broker.id, or the generated one once bzk has it */
    char *cluster_id;            /* from /cluster/id once bzk has it (owned) */
    const char *listener_name;   /* inter-broker listener name (points into cfg) */

    lmgr_t *logs;
    zkc_t *zk;
    bzk_t *reg;
    bmeta_t *meta;
    brep_t *rep;
    badm_t *admin;
    bgc_t *groups;
    bctl_t *ctl;
    bsrv_t *srv;

    struct event *tick_ev;       /* periodic lmgr_tick */
    bool zk_renewing;            /* a replacement session is connecting */
    bool stopping;
} broker_t;

/* Wall clock in ms (record timestamps, znode timestamps). */
int64_t broker_now_ms(void);
/* Monotonic ms (timeouts). */
int64_t broker_mono_ms(void);

/* Brings every module up (see above). 0, or -1 with a message in err. */
int broker_start(broker_t *b, char *err, size_t errlen);
/* Stops accepting, lets modules shut down (controlled: a clean log close), frees them. */
void broker_stop(broker_t *b);

#endif
