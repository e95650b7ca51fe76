/* fwd.h — what servers of an ensemble tell each other about clients, outside the txn
 * stream: the payloads a learner forwards to the leader (zab_forward -> the leader's
 * ready.requests) and the few notes the leader's driver sends back to one learner.
 *
 * Pure codec: no I/O. The bytes travel as the data of a zab_msg_t (type REQUEST):
 *
 *   payload  = magic:int 'GRFW' | version:int 1 | kind:int | body
 *   WRITE           long sessionId | int cxid | int op | auth | buffer body
 *                   (body = the request bytes after the RequestHeader, as received)
 *   CREATE_SESSION  long sessionId | int timeout | auth
 *   TOUCH           int n { long sessionId | int timeout | bool attach }*
 *   SYNC            long sessionId | long syncId
 *   SYNC_REPLY      long syncId | long zxid        (leader -> learner: answer once applied)
 *   WRITE_FAILED    long sessionId | int cxid | int err  (leader -> learner)
 *   SESSION_MOVED   long sessionId                  (leader -> learner: another server has it)
 *   auth     = int n { ustring scheme | ustring id }*   (the session's identities, ip first)
 *
 * Decoding never trusts the bytes: every length is bounded by what is left, counts
 * are capped, unknown kinds and trailing bytes are errors. */
#ifndef GREGOR_COORD_FWD_H
#define GREGOR_COORD_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "coord/acl.h"
#include "proto/jute.h"

#define FWD_MAGIC 0x47524657   /* "GRFW" */
#define FWD_VERSION 1
#define FWD_MAX_TOUCH 1000000
#define FWD_MAX_IDENTS 1024

typedef enum {
    FWD_WRITE = 1,
    FWD_CREATE_SESSION,
    FWD_TOUCH,
    FWD_SYNC,
    FWD_SYNC_REPLY,
    FWD_WRITE_FAILED,
    FWD_SESSION_MOVED,
    FWD_KIND_MAX = FWD_SESSION_MOVED
} fwd_kind_t;

typedef struct fwd_touch_s {
    int64_t session_id;
    int32_t timeout;
    bool attach;       /* the session (re)connected to the sender: it owns it now */
} fwd_touch_t;

/* One payload. Fields a kind does not use are zero. After fwd_decode the struct owns
 * auth, body and touches (fwd_free); for fwd_encode the caller's pointers are only read. */
typedef struct fwd_s {
    int32_t kind;
    int64_t session_id;
    int32_t cxid;
    int32_t op;
    int32_t timeout;
    int32_t err;
    int64_t sync_id;
    int64_t zxid;
    acl_auth_t auth;
    jute_buf_t body;           /* WRITE; data NULL and len 0 when empty */
    fwd_touch_t *touches;
    size_t ntouches;
} fwd_t;

/* Appends the encoding of f to out. */
void fwd_encode(const fwd_t *f, buf_t *out);
/* Decodes exactly len bytes into *f. Returns 0, or -1 on malformed input (f left
 * empty; nothing to free). */
int fwd_decode(fwd_t *f, const void *p, size_t len);
/* True if the bytes start like a payload of this codec (magic). */
bool fwd_is_payload(const void *p, size_t len);
void fwd_free(fwd_t *f);
const char *fwd_kind_name(int kind);

#endif
