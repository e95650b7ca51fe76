/* datatree.h — the coordinator's replicated state: the znode tree and sessions.
 *
 * Pure: no I/O, no clock, no globals. Every replica applies the same serialized
 * transactions (zkp_TxnHeader followed by the body record, as produced by prep.h)
 * with dt_apply, so the result depends only on the txn bytes and the tree state.
 *
 * Stat semantics are ZooKeeper 3.8's: czxid/ctime at create, mzxid/mtime/version
 * on setData, cversion+pzxid on child create and delete, aversion on setACL,
 * ephemeralOwner = session id (containers ZK_CONTAINER_EPHEMERAL_OWNER, TTL nodes
 * ZK_TTL_MASK | ttl), dataLength, numChildren.
 *
 * Txn vocabulary (TxnHeader.type -> body):
 *   ZOO_CREATE_OP, ZOO_CREATE2_OP           CreateTxn  (header type = request op, so the
 *                                                       reply is path or path+Stat)
 *   ZOO_CREATECONTAINER_OP                  CreateContainerTxn
 *   ZOO_CREATETTL_OP                        CreateTTLTxn
 *   ZOO_DELETE_OP, ZOO_DELETECONTAINER_OP   DeleteTxn
 *   ZOO_SETDATA_OP                          SetDataTxn
 *   ZOO_SETACL_OP                           SetACLTxn
 *   ZOO_CHECK_OP                            CheckVersionTxn (inside multi only)
 *   ZOO_MULTI_OP                            MultiTxn of Txn{type, data}
 *   ZOO_CREATESESSION_OP                    CreateSessionTxn
 *   ZOO_CLOSE_OP                            CloseSessionTxn
 *   ZOO_ERROR_OP                            ErrorTxn
 *
 * Memory: the tree owns every node; the const views handed out (dt_get) stay
 * valid until the next dt_apply / dt_free. */
#ifndef GREGOR_COORD_DATATREE_H
#define GREGOR_COORD_DATATREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "proto/zk_proto.h"

typedef struct dt_s dt_t;
typedef struct dt_node_s dt_node_t;

/* A fresh tree as ZooKeeper 3.8 starts: "/", "/zookeeper", "/zookeeper/quota",
 * "/zookeeper/config" (with 3.8's quirks: /zookeeper cversion -2, /zookeeper/config
 * aversion -1 and its READ-only world ACL). Free with dt_free. */
dt_t *dt_new(void);
void dt_free(dt_t *dt);

int64_t dt_last_zxid(const dt_t *dt);   /* zxid of the last applied txn (0 for a new tree) */
size_t dt_node_count(const dt_t *dt);   /* all nodes, "/" included */

/* ---- reads (const views; valid until the next apply) ---- */
const dt_node_t *dt_get(const dt_t *dt, const char *path);
/* The Stat a client sees: cversion = 2 * creations - numChildren (3.8's translation),
 * ephemeralOwner 0 for containers and TTL nodes. */
void dt_node_stat(const dt_node_t *n, zkp_Stat *out);
/* The stored form: cversion = child creations (the sequential counter), raw ephemeralOwner
 * (ZK_CONTAINER_EPHEMERAL_OWNER, ZK_TTL_MASK | ttl, or a session id). */
void dt_node_stat_persisted(const dt_node_t *n, zkp_Stat *out);
const char *dt_node_path(const dt_node_t *n);
/* *len = -1 and NULL for null data (a client created it with a null buffer; 3.8 returns null). */
const uint8_t *dt_node_data(const dt_node_t *n, int32_t *len);
const zkp_ACL *dt_node_acl(const dt_node_t *n, int32_t *count);
/* Children names (not full paths), sorted, appended to out; caller frees with jute_strvec_free.
 * out must be initialised ({0, NULL}). */
void dt_node_children(const dt_node_t *n, jute_strvec_t *out);
int32_t dt_node_num_children(const dt_node_t *n);
int64_t dt_node_ephemeral_owner(const dt_node_t *n);
/* Number of nodes below n (n itself excluded). Iterative. */
int32_t dt_node_descendants(const dt_node_t *n);

/* ---- sessions (replicated state: created/closed by txns, kept in snapshots) ---- */
bool dt_session_exists(const dt_t *dt, int64_t session_id);
int32_t dt_session_timeout(const dt_t *dt, int64_t session_id);   /* 0 if unknown */
size_t dt_session_count(const dt_t *dt);
/* Calls fn for every live session (order: ascending session id). */
void dt_sessions_foreach(const dt_t *dt, void (*fn)(void *ctx, int64_t sid, int32_t timeout), void *ctx);
/* Paths of the ephemerals the session owns, sorted, appended to out (caller frees). */
void dt_session_ephemerals(const dt_t *dt, int64_t session_id, jute_strvec_t *out);

/* ---- apply ---- */
/* A watch event produced by apply: fire `type` (ZK_EVENT_CREATED / DELETED / CHANGED / CHILD) on `path`.
 * Create emits (CREATED, path), (CHILD, parent); delete (DELETED, path), (CHILD, parent);
 * setData (CHANGED, path). watch_trigger maps event type -> watch kinds. */
typedef struct dt_event_s {
    int32_t type;
    char *path;
} dt_event_t;

typedef struct dt_result_s {
    int64_t zxid;
    int64_t session_id;   /* TxnHeader.clientId */
    int32_t cxid;
    int32_t type;         /* txn type (request opcode or ZOO_ERROR_OP) */
    int32_t err;          /* reply header err: 0, or the ZK error. 0 for a failed multi (the per-op
                             results in `reply` carry the errors, as ZooKeeper answers). */
    int32_t txn_err;      /* first error of the txn, multi included (0 if none); for logs/metrics */
    int64_t time;         /* TxnHeader.time */
    buf_t reply;          /* jute-encoded reply body for the originating request (empty on error):
                             create: path; create2/createContainer/createTTL: path + Stat;
                             setData/setACL: Stat; delete/check/closeSession/createSession: empty;
                             multi: the full multi response incl. the {-1,true,-1} end marker
                             (per op as 3.8: create -> path; create2/TTL/container -> a create2-typed
                             result with path + Stat; setData -> Stat; failures -> {-1,false,err}+err). */
    dt_event_t *events;   /* watch events to fire, in order */
    size_t nevents;
    bool close_connection; /* a standalone check: 3.8 cannot encode its reply and drops the
                              connection instead of answering */
} dt_result_t;

/* Applies one serialized txn (TxnHeader + body) and records its zxid as the last one.
 * Returns 0, or -1 if the bytes are malformed (tree unchanged, res zeroed: nothing to free,
 * though dt_result_free is harmless). On 0 the result owns its memory: dt_result_free.
 * A txn that does not fit the tree (e.g. create under a missing parent) is not malformed:
 * it returns 0 with res->err set and leaves the tree as ZooKeeper would. */
int dt_apply(dt_t *dt, const uint8_t *txn, size_t len, dt_result_t *res);
void dt_result_free(dt_result_t *res);

/* ---- snapshots ---- */
/* The whole replicated state (nodes with stats/data/ACLs, sessions, last zxid), appended to out.
 * Format (all big-endian, jute primitives):
 *   int magic 'GRDT' | int version 1 | long lastZxid
 *   int nsessions { long sid | int timeout }*
 *   long nnodes { ustring path | Stat stat (68 B) | buffer data | vector<ACL> acl }*   (parents first)
 *   long digest (dt_digest of the tree, verified on load) */
void dt_serialize(const dt_t *dt, buf_t *out);
/* Sets /zookeeper/config to the ensemble membership (as ZooKeeper does at start, outside
 * the txn log: every member sets the same text, so trees stay identical). Its Stat shows
 * version -1, as 3.8's. */
void dt_set_config_node(dt_t *dt, const uint8_t *data, int32_t len);
/* Builds a new tree from dt_serialize output. 0 and *out set (caller frees), or -1 on corrupt input. */
int dt_deserialize(dt_t **out, const uint8_t *p, size_t len);
/* Order-independent digest of all nodes (path, stat, data, ACL); maintained incrementally. */
uint64_t dt_digest(const dt_t *dt);

/* ---- container / TTL expiry (3.8's ContainerManager candidates) ---- */
/* Appends (sorted) paths of nodes due for deletion at now_ms: containers with no children whose
 * cversion > 0 (had a child once), and TTL nodes with no children whose ttl has elapsed since
 * mtime (now - mtime > ttl). Caller frees. */
void dt_expired_nodes(const dt_t *dt, int64_t now_ms, jute_strvec_t *out);
/* As dt_expired_nodes, also taking never-used containers (cversion 0) older than
 * max_never_used_ms since mtime (3.8's znode.container.maxNeverUsedIntervalMs; 0 = off). */
void dt_expired_nodes_ex(const dt_t *dt, int64_t now_ms, int64_t max_never_used_ms, jute_strvec_t *out);

/* ---- numbers for 4lw ---- */
size_t dt_data_bytes(const dt_t *dt);        /* sum of data lengths + path lengths, as 3.8's approximateDataSize */
size_t dt_ephemeral_count(const dt_t *dt);   /* ephemeral nodes owned by sessions */

#endif
