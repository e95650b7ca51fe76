/* zab_msg.h — the messages quorum peers exchange, as C structs and as bytes.
 *
 * One flat record serves every message type; fields a type does not use are zero
 * (data: null). The vocabulary is ZooKeeper's (quorum/Leader.java), the encoding is
 * Gregor's own, written with the jute primitives of proto/jute.h:
 *
 *   message  = version:int      always ZAB_MSG_VERSION (1)
 *              type:int         zab_msg_type_t
 *              from:int         sender's server id (myid)
 *              to:int           receiver's server id
 *              flags:int        ZAB_MF_* bits
 *              nonce:long       learner session; 0 for VOTE
 *              seq:long         position in the session's stream, per direction, from 0
 *              zxid:long        see the table
 *              epoch:long       see the table (an unsigned 32-bit epoch)
 *              round:long       VOTE: the sender's election round (logical clock);
 *                               ACKEPOCH: the learner's log floor (snapshot zxid)
 *              state:int        VOTE: the sender's role (zab_role_t)
 *              leader:int       VOTE: the server id the sender votes for / follows
 *              data:buffer      txn / snapshot / client request bytes; null (-1) otherwise
 *
 * A peer connection (peer_net.c) carries these records each behind an int32 length.
 *
 *   type          direction          zxid                    epoch            data
 *   VOTE          any -> voter       voted zxid              voted peer epoch -
 *   FOLLOWERINFO  learner -> leader  learner's last zxid     accepted epoch   -    (flag OBSERVER)
 *   LEADERINFO    leader -> learner  -                       new epoch        -
 *   ACKEPOCH      learner -> leader  learner's last zxid     current epoch    -    (round: its snapshot
 *                                                                                      zxid; flag REPEAT)
 *   DIFF          leader -> learner  learner's last zxid     -                -
 *   TRUNC         leader -> learner  truncate to this zxid   -                -
 *   SNAP          leader -> learner  last zxid in snapshot   -                snapshot
 *   PROPOSAL      leader -> learner  txn zxid                -                txn
 *   NEWLEADER     leader -> learner  last zxid of the sync   new epoch        -
 *   ACK           learner -> leader  logged up to            -                -    (flag NEWLEADER)
 *   UPTODATE      leader -> learner  committed up to         -                -
 *   COMMIT        leader -> follower committed up to         -                -
 *   INFORM        leader -> observer txn zxid (committed)    -                txn
 *   PING          both ways          sender's committed zxid -                -
 *   REQUEST       learner -> leader  -                       -                client request
 *
 * Decoding never trusts the bytes: lengths are bounds-checked by jute, the version,
 * type, flags, state and the epoch/seq/round ranges are validated, and types that need
 * data must carry it. */
#ifndef GREGOR_COORD_ZAB_MSG_H
#define GREGOR_COORD_ZAB_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "proto/jute.h"

#define ZAB_MSG_VERSION 1

typedef enum {
    ZAB_MSG_VOTE = 1,
    ZAB_MSG_FOLLOWERINFO,
    ZAB_MSG_LEADERINFO,
    ZAB_MSG_ACKEPOCH,
    ZAB_MSG_DIFF,
    ZAB_MSG_TRUNC,
    ZAB_MSG_SNAP,
    ZAB_MSG_PROPOSAL,
    ZAB_MSG_NEWLEADER,
    ZAB_MSG_ACK,
    ZAB_MSG_UPTODATE,
    ZAB_MSG_COMMIT,
    ZAB_MSG_INFORM,
    ZAB_MSG_PING,
    ZAB_MSG_REQUEST,
    ZAB_MSG_TYPE_MAX = ZAB_MSG_REQUEST
} zab_msg_type_t;

#define ZAB_MF_OBSERVER  1   /* FOLLOWERINFO: the sender is an observer (OBSERVERINFO) */
#define ZAB_MF_NEWLEADER 2   /* ACK: acknowledges NEWLEADER */
#define ZAB_MF_REPEAT    4   /* ACKEPOCH: the epoch was accepted before (ZooKeeper sends
                                currentEpoch -1): it may sync, but does not count towards
                                the majority that establishes the epoch */
#define ZAB_MF_ALL       (ZAB_MF_OBSERVER | ZAB_MF_NEWLEADER | ZAB_MF_REPEAT)

typedef struct zab_msg_s {
    int32_t type;
    int32_t from;
    int32_t to;
    int32_t flags;
    int64_t nonce;
    int64_t seq;
    int64_t zxid;
    int64_t epoch;
    int64_t round;
    int32_t state;
    int32_t leader;
    jute_buf_t data;   /* owned by the message; data NULL / len -1 when absent */
} zab_msg_t;

/* Appends the encoding of msg to out. */
void zab_msg_encode(const zab_msg_t *msg, buf_t *out);
/* Decodes exactly len bytes into *msg (which then owns its data; release with
 * zab_msg_free). Returns 0, or -1 on malformed input (msg left empty). */
int zab_msg_decode(zab_msg_t *msg, const void *p, size_t len);
/* Releases msg->data and leaves msg zeroed. */
void zab_msg_free(zab_msg_t *msg);
/* Deep copy: dst gets its own copy of the data. */
void zab_msg_copy(zab_msg_t *dst, const zab_msg_t *src);
/* "PROPOSAL", ...; "?" for an unknown type. */
const char *zab_msg_type_name(int type);

#endif
