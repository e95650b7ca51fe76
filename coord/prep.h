/* prep.h — turns decoded client write requests into deterministic transactions
 * (ZooKeeper's PrepRequestProcessor).
 *
 * Pure: no I/O, no clock (time and zxid come in prep_ctx_t). Output is a serialized
 * txn (zkp_TxnHeader + body, see datatree.h for the vocabulary) that every replica
 * applies with dt_apply.
 *
 * Prep keeps the "outstanding changes" of txns proposed but not yet applied, so
 * consecutive pipelined writes validate against the tree as it WILL be (ZooKeeper's
 * ChangeRecord list). The caller must hand out strictly increasing zxids, apply the
 * txns in that order, and call prep_applied after each apply.
 *
 * A failed validation still produces a txn: TxnHeader.type ZOO_ERROR_OP with
 * ErrorTxn{err} (ZooKeeper logs failed writes; they consume a zxid). A failed multi
 * is a ZOO_MULTI_OP txn whose entries are all ErrorTxn: ops before the failing one
 * err 0, the failing one its code, later ones ZRUNTIMEINCONSISTENCY. */
#ifndef GREGOR_COORD_PREP_H
#define GREGOR_COORD_PREP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "coord/acl.h"
#include "coord/datatree.h"
#include "proto/zk_proto.h"

typedef struct prep_s prep_t;

/* The tree is read (never written) by prep; it must outlive prep. Free with prep_free. */
prep_t *prep_new(const dt_t *dt);
void prep_free(prep_t *p);

typedef struct prep_ctx_s {
    int64_t session_id;
    const acl_auth_t *auth;
    int64_t zxid;        /* the zxid this txn will get (assigned by the caller) */
    int64_t now_ms;      /* wall clock, becomes TxnHeader.time / ctime / mtime */
    int32_t cxid;        /* client xid */
    int32_t max_ttl_ok;  /* unused placeholder */
    bool saw_nul;        /* the request body held a string with a NUL byte (jute_rd_t.saw_nul):
                            its path is then invalid (BADARGUMENTS), as in 3.8 */
} prep_ctx_t;

/* Multi: the request is a list of ops. prep_multi_decode reads the wire form (a sequence of
 * MultiHeader + op record, ended by a header with done = true). Each op's req is a heap
 * struct of zkp_request_rec(type). Accepted op types: create, create2, createContainer,
 * createTTL, delete, setData, check, getData, getChildren (the last two for multiRead).
 * Returns 0, or -1 on malformed input / unknown op type (out left empty). Free with
 * prep_multi_free. On -1, 3.8 answers a multi with an error txn ZMARSHALLINGERROR (use
 * prep_error: it takes a zxid) and a multiRead with err ZMARSHALLINGERROR (no zxid). */
typedef struct prep_multi_op_s {
    int32_t type;
    void *req;
    bool has_nul;   /* a string of this op held a NUL byte */
} prep_multi_op_t;
typedef struct prep_multi_s {
    prep_multi_op_t *ops;
    size_t n;
} prep_multi_t;
int prep_multi_decode(jute_rd_t *jr, prep_multi_t *out);
void prep_multi_free(prep_multi_t *m);
/* Encodes a multi request (for tests and clients). */
void prep_multi_encode(const prep_multi_t *m, buf_t *out);

/* TTL nodes need ZooKeeper's extendedTypesEnabled (zookeeper.extendedTypesEnabled=true);
 * off by default as in 3.8, where createTTL then fails with UNIMPLEMENTED. */
void prep_set_extended_types(prep_t *p, bool enabled);

/* Turns a decoded request into a txn appended to `out`. `req` is the struct of
 * zkp_request_rec(op), or a prep_multi_t for ZOO_MULTI_OP, or NULL for ZOO_CLOSE_OP.
 * Always produces a txn (an error txn on validation failure; ZUNIMPLEMENTED for ops that
 * are not writes). Handles create / create2 / createContainer / createTTL, delete, setData,
 * setACL, check, multi and closeSession (paths2Delete = the session's ephemerals,
 * outstanding creates included, sorted).
 * Ephemeral creates need a live session: one the tree knows or whose createSession was
 * prepared, and whose closeSession was not (else SESSIONEXPIRED, as 3.8's session
 * tracker answers). Other session checks are the server's.
 * A standalone check (op 13 outside multi) is prepared as 3.8 does (a check txn, or an error
 * txn); see dt_result_t.close_connection for what 3.8 then does with it.
 * A multi op that is not a write (getData/getChildren) makes the whole request an error txn
 * with ZMARSHALLINGERROR, as in 3.8. Create ops inside a multi are rebuilt from their flags
 * as Debian's 3.8.0 does (create2 -> create, flags 4 -> createContainer, a createTTL op
 * with non-TTL flags -> create without ttl; TTL flags on a create/create2 op ->
 * ZMARSHALLINGERROR for the whole request). reconfig -> RECONFIGDISABLED (3.8's default).
 * Returns the error recorded in the txn (0 if the txn is a success; for a multi the
 * failing op's code). */
int prep_request(prep_t *p, const prep_ctx_t *ctx, int op, const void *req, buf_t *out);
/* createSession txn (TxnHeader.clientId = ctx->session_id). */
void prep_create_session(prep_t *p, const prep_ctx_t *ctx, int32_t timeout, buf_t *out);
/* Server-internal delete of an expired container/TTL node (ZOO_DELETECONTAINER_OP with
 * DeleteTxn); an error txn if the node is no longer eligible (NONODE, NOTEMPTY, or
 * BADVERSION when it is not a container/TTL node). Returns the error recorded. */
int prep_delete_container(prep_t *p, const prep_ctx_t *ctx, const char *path, buf_t *out);
/* An error txn with the given code. 3.8 logs ZMARSHALLINGERROR this way when a write's body
 * (or a multi's op list, see prep_multi_decode) does not decode: the failed write consumes
 * a zxid and the client gets err -5. */
void prep_error(prep_t *p, const prep_ctx_t *ctx, int32_t err, buf_t *out);

/* Called after the txn with this zxid was applied to the tree: drops outstanding records <= zxid. */
void prep_applied(prep_t *p, int64_t zxid);
/* Drops all outstanding changes (e.g. after a leader change). */
void prep_reset(prep_t *p);
/* Number of outstanding change records (for tests / metrics). */
size_t prep_outstanding(const prep_t *p);

/* ZooKeeper's path validation (PathUtils.validatePath): 0 or ZBADARGUMENTS.
 * `sequential` allows a trailing '/' (the suffix is appended later). */
int prep_validate_path(const char *path, bool sequential);

#endif
