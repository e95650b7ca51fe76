/* peer_net.h — the TCP links between the servers of an ensemble.
 *
 * Owns: the listeners on this server's quorum and election ports, one outgoing link per
 * peer (dialled to the peer's quorum port, redialled with backoff 50 ms -> 1 s), the
 * incoming links peers dialled to us, the framing, and the per-peer reachability table
 * that is logged at start and whenever it changes.
 *
 * Traffic: every server sends to a peer only on the link it dialled itself and reads
 * from the links peers dialled to it, so all messages from A to B travel in order on one
 * TCP connection (the leader's driver relies on that: a note it sends after a PROPOSAL
 * arrives after it). A message for a peer whose link is down is dropped; the quorum core
 * tolerates loss. Either listening port accepts the same traffic.
 *
 * Framing (both ports):
 *   frame = length:int32 (big-endian, 1..PEER_NET_MAX_FRAME) | bytes
 *   the first frame on a link is the hello:  magic:int 'GRQP' | version:int 1 | sender id:int
 *                                            | receiver id:int
 *   every later frame is one zab_msg_encode record (zab_msg.h) whose `from` is the
 *   sender named in the hello.
 * Hostile input: a hello from an unknown id, for another receiver, or not a hello at all
 * closes that link; so does a frame length out of range or a message that does not
 * decode. Nothing else is affected. An outgoing link whose unsent bytes exceed
 * PEER_NET_MAX_OUT is reset (its messages are lost, as on a broken connection).
 *
 * Threads: one; everything runs on the event base given to peer_net_new. */
#ifndef GREGOR_COORD_PEER_NET_H
#define GREGOR_COORD_PEER_NET_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "coord/zab_msg.h"

#define PEER_NET_MAGIC 0x47525150   /* "GRQP" */
#define PEER_NET_VERSION 1
#define PEER_NET_MAX_FRAME (512u << 20)   /* a snapshot travels in one frame */
#define PEER_NET_MAX_OUT (64u << 20)      /* unsent bytes on one link before it is reset */
#define PEER_NET_MAX_PEERS 128

typedef struct peer_net_s peer_net_t;

typedef struct peer_net_peer_s {
    int id;
    const char *host;       /* name or address to dial */
    int quorum_port;
    int election_port;
} peer_net_peer_t;

typedef struct peer_net_opts_s {
    int my_id;
    const peer_net_peer_t *peers;   /* every member, this server included (copied) */
    int npeers;
    bool listen_all;                /* bind 0.0.0.0 / :: (quorumListenOnAllIPs, default on);
                                       false: bind this server's configured host */
    int connect_timeout_ms;         /* 0 = 2000 */
    int user_timeout_ms;            /* TCP_USER_TIMEOUT on links (unacknowledged data); 0 = off */
    /* Called for every message received (the message is freed after the call). */
    void (*recv)(void *ctx, const zab_msg_t *msg);
    /* Optional: called when a link with peer id that was up goes down (our dialled link,
     * or one the peer dialled to us after its hello). */
    void (*down)(void *ctx, int id);
    void *ctx;
} peer_net_opts_t;

/* Binds the listeners and starts dialling. Returns NULL with a message in err when a
 * port cannot be bound or the configuration is invalid. Free with peer_net_free. */
peer_net_t *peer_net_new(struct event_base *base, const peer_net_opts_t *opts, char *err, size_t errlen);
void peer_net_free(peer_net_t *pn);

/* Queues msg for peer msg->to. Returns 0 if queued, -1 if dropped (link down, unknown
 * peer, or the link was reset because its output was full). */
int peer_net_send(peer_net_t *pn, const zab_msg_t *msg);
/* Writes what is queued on every outgoing link to its socket now, as far as the socket
 * takes it without blocking (the rest goes out from the event loop as usual). The
 * driver calls it before it blocks in an fsync, so peers work meanwhile. */
void peer_net_flush(peer_net_t *pn);
/* True when the outgoing link to id is up. */
bool peer_net_connected(const peer_net_t *pn, int id);
/* Appends the reachability table (one line per peer) to out. */
void peer_net_table(const peer_net_t *pn, buf_t *out);

/* ---- framing (pure; exposed for tests) ---- */

/* Appends a hello frame (length included). */
void peer_frame_hello(buf_t *out, int from, int to);
/* Parses a hello body (without the length). Returns 0 and the sender and receiver ids, or -1. */
int peer_parse_hello(const uint8_t *p, size_t len, int *from, int *to);
/* Appends msg as a frame (length included). */
void peer_frame_msg(buf_t *out, const zab_msg_t *msg);
/* Looks at the first bytes of a stream: returns the body length of the first frame
 * when avail >= 4 (then *ok says whether it is within 1..max), or -1 when fewer than 4
 * bytes are there. */
int64_t peer_frame_len(const uint8_t *p, size_t avail, uint32_t max, bool *ok);

#endif
