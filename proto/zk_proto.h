/* zk_proto.h — ZooKeeper's client protocol and transaction records.
 *
 * Every record here has a C struct whose fields keep ZooKeeper's names, and a
 * schema (zkp_<Record>_rec) that drives jute_decode/jute_encode. Facts from
 * ZooKeeper 3.8's protocol (see docs/compatibility.md); the code is Gregor's.
 *
 * Framing: every packet is an int32 length followed by the payload. */
#ifndef GREGOR_PROTO_ZK_PROTO_H
#define GREGOR_PROTO_ZK_PROTO_H

#include "proto/jute.h"

/* ---- opcodes ---- */
enum zk_op {
    ZOO_NOTIFY_OP = 0,
    ZOO_CREATE_OP = 1,
    ZOO_DELETE_OP = 2,
    ZOO_EXISTS_OP = 3,
    ZOO_GETDATA_OP = 4,
    ZOO_SETDATA_OP = 5,
    ZOO_GETACL_OP = 6,
    ZOO_SETACL_OP = 7,
    ZOO_GETCHILDREN_OP = 8,
    ZOO_SYNC_OP = 9,
    ZOO_PING_OP = 11,
    ZOO_GETCHILDREN2_OP = 12,
    ZOO_CHECK_OP = 13,
    ZOO_MULTI_OP = 14,
    ZOO_CREATE2_OP = 15,
    ZOO_RECONFIG_OP = 16,
    ZOO_CHECKWATCHES_OP = 17,
    ZOO_REMOVEWATCHES_OP = 18,
    ZOO_CREATECONTAINER_OP = 19,
    ZOO_DELETECONTAINER_OP = 20,
    ZOO_CREATETTL_OP = 21,
    ZOO_MULTIREAD_OP = 22,
    ZOO_SETAUTH_OP = 100,
    ZOO_SETWATCHES_OP = 101,
    ZOO_SASL_OP = 102,
    ZOO_GETEPHEMERALS_OP = 103,
    ZOO_GETALLCHILDRENNUMBER_OP = 104,
    ZOO_SETWATCHES2_OP = 105,
    ZOO_ADDWATCH_OP = 106,
    ZOO_WHOAMI_OP = 107,
    ZOO_CREATESESSION_OP = -10,
    ZOO_CLOSE_OP = -11,
    ZOO_ERROR_OP = -1,
};

/* special xids */
#define ZK_XID_WATCH_EVENT (-1)
#define ZK_XID_PING (-2)
#define ZK_XID_AUTH (-4)
#define ZK_XID_SET_WATCHES (-8)

/* ---- error codes (KeeperException.Code) ---- */
enum zk_err {
    ZOK = 0,
    ZSYSTEMERROR = -1,
    ZRUNTIMEINCONSISTENCY = -2,
    ZDATAINCONSISTENCY = -3,
    ZCONNECTIONLOSS = -4,
    ZMARSHALLINGERROR = -5,
    ZUNIMPLEMENTED = -6,
    ZOPERATIONTIMEOUT = -7,
    ZBADARGUMENTS = -8,
    ZUNKNOWNSESSION = -12,
    ZNEWCONFIGNOQUORUM = -13,
    ZRECONFIGINPROGRESS = -14,
    ZAPIERROR = -100,
    ZNONODE = -101,
    ZNOAUTH = -102,
    ZBADVERSION = -103,
    ZNOCHILDRENFOREPHEMERALS = -108,
    ZNODEEXISTS = -110,
    ZNOTEMPTY = -111,
    ZSESSIONEXPIRED = -112,
    ZINVALIDCALLBACK = -113,
    ZINVALIDACL = -114,
    ZAUTHFAILED = -115,
    ZSESSIONMOVED = -118,
    ZNOTREADONLY = -119,
    ZEPHEMERALONLOCALSESSION = -120,
    ZNOWATCHER = -121,
    ZREQUESTTIMEOUT = -122,
    ZRECONFIGDISABLED = -123,
    ZSESSIONCLOSEDREQUIRESASLAUTH = -124,
    ZQUOTAEXCEEDED = -125,
    ZTHROTTLEDOP = -127,
};
const char *zk_err_name(int err);   /* "NONODE", ... */
const char *zk_op_name(int op);     /* "create", ... */

/* ---- create modes ---- */
enum zk_create_mode {
    ZK_PERSISTENT = 0,
    ZK_EPHEMERAL = 1,
    ZK_PERSISTENT_SEQUENTIAL = 2,
    ZK_EPHEMERAL_SEQUENTIAL = 3,
    ZK_CONTAINER = 4,
    ZK_PERSISTENT_WITH_TTL = 5,
    ZK_PERSISTENT_SEQUENTIAL_WITH_TTL = 6,
};

/* ephemeralOwner marks for special node types (ZooKeeper's EphemeralType) */
#define ZK_CONTAINER_EPHEMERAL_OWNER ((int64_t)0x8000000000000000ULL)
#define ZK_TTL_MASK ((int64_t)0xFF00000000000000ULL)
#define ZK_TTL_MAX ((int64_t)0x000000FFFFFFFFFFLL)

/* ---- permissions ---- */
enum zk_perm { ZK_PERM_READ = 1, ZK_PERM_WRITE = 2, ZK_PERM_CREATE = 4, ZK_PERM_DELETE = 8,
               ZK_PERM_ADMIN = 16, ZK_PERM_ALL = 31 };

/* ---- watcher events and states ---- */
enum zk_event_type {
    ZK_EVENT_NONE = -1,
    ZK_EVENT_CREATED = 1,
    ZK_EVENT_DELETED = 2,
    ZK_EVENT_CHANGED = 3,
    ZK_EVENT_CHILD = 4,
    ZK_EVENT_DATA_WATCH_REMOVED = 5,
    ZK_EVENT_CHILD_WATCH_REMOVED = 6,
    ZK_EVENT_PERSISTENT_WATCH_REMOVED = 7,
};
enum zk_state { ZK_STATE_DISCONNECTED = 0, ZK_STATE_SYNC_CONNECTED = 3, ZK_STATE_AUTH_FAILED = 4,
                ZK_STATE_CONNECTED_READONLY = 5, ZK_STATE_EXPIRED = -112, ZK_STATE_CLOSED = 7 };
/* watcher types for removeWatches / checkWatches */
enum zk_watcher_type { ZK_WATCHER_CHILDREN = 1, ZK_WATCHER_DATA = 2, ZK_WATCHER_ANY = 3 };
/* addWatch modes */
enum zk_addwatch_mode { ZK_ADDWATCH_PERSISTENT = 0, ZK_ADDWATCH_PERSISTENT_RECURSIVE = 1 };

/* ---- records ---- */
typedef struct zkp_Id_s { char *scheme; char *id; } zkp_Id;
typedef struct zkp_ACL_s { int32_t perms; zkp_Id id; } zkp_ACL;
typedef struct zkp_Stat_s {
    int64_t czxid, mzxid, ctime, mtime;
    int32_t version, cversion, aversion;
    int64_t ephemeralOwner;
    int32_t dataLength, numChildren;
    int64_t pzxid;
} zkp_Stat;

typedef struct zkp_RequestHeader_s { int32_t xid; int32_t type; } zkp_RequestHeader;
typedef struct zkp_ReplyHeader_s { int32_t xid; int64_t zxid; int32_t err; } zkp_ReplyHeader;
typedef struct zkp_MultiHeader_s { int32_t type; bool done; int32_t err; } zkp_MultiHeader;

/* ConnectRequest/Response: the trailing readOnly flag is optional on the wire
 * (old clients omit it); zkp_connect_req_decode handles that. */
typedef struct zkp_ConnectRequest_s {
    int32_t protocolVersion;
    int64_t lastZxidSeen;
    int32_t timeOut;
    int64_t sessionId;
    jute_buf_t passwd;
    bool readOnly;
    bool hasReadOnly;   /* not on the wire: whether readOnly was present */
} zkp_ConnectRequest;
typedef struct zkp_ConnectResponse_s {
    int32_t protocolVersion;
    int32_t timeOut;
    int64_t sessionId;
    jute_buf_t passwd;
    bool readOnly;
} zkp_ConnectResponse;

typedef struct zkp_CreateRequest_s { char *path; jute_buf_t data; jute_vec_t acl; int32_t flags; } zkp_CreateRequest;
typedef struct zkp_CreateTTLRequest_s {
    char *path; jute_buf_t data; jute_vec_t acl; int32_t flags; int64_t ttl;
} zkp_CreateTTLRequest;
typedef struct zkp_CreateResponse_s { char *path; } zkp_CreateResponse;
typedef struct zkp_Create2Response_s { char *path; zkp_Stat stat; } zkp_Create2Response;
typedef struct zkp_DeleteRequest_s { char *path; int32_t version; } zkp_DeleteRequest;
/* exists, getData, getChildren, getChildren2 requests share this shape */
typedef struct zkp_PathWatchRequest_s { char *path; bool watch; } zkp_PathWatchRequest;
/* sync, getACL, getAllChildrenNumber, getEphemerals, deleteContainer requests; sync response */
typedef struct zkp_PathRequest_s { char *path; } zkp_PathRequest;
typedef struct zkp_StatResponse_s { zkp_Stat stat; } zkp_StatResponse;
typedef struct zkp_GetDataResponse_s { jute_buf_t data; zkp_Stat stat; } zkp_GetDataResponse;
typedef struct zkp_SetDataRequest_s { char *path; jute_buf_t data; int32_t version; } zkp_SetDataRequest;
typedef struct zkp_GetACLResponse_s { jute_vec_t acl; zkp_Stat stat; } zkp_GetACLResponse;
typedef struct zkp_SetACLRequest_s { char *path; jute_vec_t acl; int32_t version; } zkp_SetACLRequest;
typedef struct zkp_GetChildrenResponse_s { jute_strvec_t children; } zkp_GetChildrenResponse;
typedef struct zkp_GetChildren2Response_s { jute_strvec_t children; zkp_Stat stat; } zkp_GetChildren2Response;
typedef struct zkp_CheckVersionRequest_s { char *path; int32_t version; } zkp_CheckVersionRequest;
typedef struct zkp_ErrorResponse_s { int32_t err; } zkp_ErrorResponse;
typedef struct zkp_GetAllChildrenNumberResponse_s { int32_t totalNumber; } zkp_GetAllChildrenNumberResponse;
typedef struct zkp_GetEphemeralsResponse_s { jute_strvec_t ephemerals; } zkp_GetEphemeralsResponse;
typedef struct zkp_SetWatches_s {
    int64_t relativeZxid;
    jute_strvec_t dataWatches, existWatches, childWatches;
} zkp_SetWatches;
typedef struct zkp_SetWatches2_s {
    int64_t relativeZxid;
    jute_strvec_t dataWatches, existWatches, childWatches, persistentWatches, persistentRecursiveWatches;
} zkp_SetWatches2;
typedef struct zkp_AddWatchRequest_s { char *path; int32_t mode; } zkp_AddWatchRequest;
typedef struct zkp_RemoveWatchesRequest_s { char *path; int32_t type; } zkp_RemoveWatchesRequest;
typedef struct zkp_AuthPacket_s { int32_t type; char *scheme; jute_buf_t auth; } zkp_AuthPacket;
typedef struct zkp_WatcherEvent_s { int32_t type; int32_t state; char *path; } zkp_WatcherEvent;
typedef struct zkp_ClientInfo_s { char *authScheme; char *user; } zkp_ClientInfo;
typedef struct zkp_WhoAmIResponse_s { jute_vec_t clientInfo; } zkp_WhoAmIResponse;
typedef struct zkp_ReconfigRequest_s {
    char *joiningServers; char *leavingServers; char *newMembers; int64_t curConfigId;
} zkp_ReconfigRequest;

/* ---- transaction records (the replicated log) ---- */
typedef struct zkp_TxnHeader_s {
    int64_t clientId;   /* session id */
    int32_t cxid;       /* client xid */
    int64_t zxid;
    int64_t time;       /* leader wall clock, ms */
    int32_t type;       /* opcode; ZOO_ERROR_OP for a failed write */
} zkp_TxnHeader;
typedef struct zkp_CreateTxn_s {
    char *path; jute_buf_t data; jute_vec_t acl; bool ephemeral; int32_t parentCVersion;
} zkp_CreateTxn;
typedef struct zkp_CreateContainerTxn_s {
    char *path; jute_buf_t data; jute_vec_t acl; int32_t parentCVersion;
} zkp_CreateContainerTxn;
typedef struct zkp_CreateTTLTxn_s {
    char *path; jute_buf_t data; jute_vec_t acl; int32_t parentCVersion; int64_t ttl;
} zkp_CreateTTLTxn;
typedef struct zkp_DeleteTxn_s { char *path; } zkp_DeleteTxn;
typedef struct zkp_SetDataTxn_s { char *path; jute_buf_t data; int32_t version; } zkp_SetDataTxn;
typedef struct zkp_CheckVersionTxn_s { char *path; int32_t version; } zkp_CheckVersionTxn;
typedef struct zkp_SetACLTxn_s { char *path; jute_vec_t acl; int32_t version; } zkp_SetACLTxn;
typedef struct zkp_CreateSessionTxn_s { int32_t timeOut; } zkp_CreateSessionTxn;
typedef struct zkp_CloseSessionTxn_s { jute_strvec_t paths2Delete; } zkp_CloseSessionTxn;
typedef struct zkp_ErrorTxn_s { int32_t err; } zkp_ErrorTxn;
typedef struct zkp_Txn_s { int32_t type; jute_buf_t data; } zkp_Txn;   /* one op inside a MultiTxn */
typedef struct zkp_MultiTxn_s { jute_vec_t txns; } zkp_MultiTxn;       /* of zkp_Txn */

extern const jute_rec_t zkp_Id_rec, zkp_ACL_rec, zkp_Stat_rec, zkp_RequestHeader_rec, zkp_ReplyHeader_rec,
    zkp_MultiHeader_rec, zkp_ConnectResponse_rec, zkp_CreateRequest_rec, zkp_CreateTTLRequest_rec,
    zkp_CreateResponse_rec, zkp_Create2Response_rec, zkp_DeleteRequest_rec, zkp_PathWatchRequest_rec,
    zkp_PathRequest_rec, zkp_StatResponse_rec, zkp_GetDataResponse_rec, zkp_SetDataRequest_rec,
    zkp_GetACLResponse_rec, zkp_SetACLRequest_rec, zkp_GetChildrenResponse_rec, zkp_GetChildren2Response_rec,
    zkp_CheckVersionRequest_rec, zkp_ErrorResponse_rec, zkp_GetAllChildrenNumberResponse_rec,
    zkp_GetEphemeralsResponse_rec, zkp_SetWatches_rec, zkp_SetWatches2_rec, zkp_AddWatchRequest_rec,
    zkp_RemoveWatchesRequest_rec, zkp_AuthPacket_rec, zkp_WatcherEvent_rec, zkp_ClientInfo_rec,
    zkp_WhoAmIResponse_rec, zkp_ReconfigRequest_rec, zkp_TxnHeader_rec, zkp_CreateTxn_rec,
    zkp_CreateContainerTxn_rec, zkp_CreateTTLTxn_rec, zkp_DeleteTxn_rec, zkp_SetDataTxn_rec,
    zkp_CheckVersionTxn_rec, zkp_SetACLTxn_rec, zkp_CreateSessionTxn_rec, zkp_CloseSessionTxn_rec,
    zkp_ErrorTxn_rec, zkp_Txn_rec, zkp_MultiTxn_rec;

/* ConnectRequest with its optional trailing readOnly byte. 0 / -1. */
int zkp_connect_req_decode(zkp_ConnectRequest *req, jute_rd_t *jr);
void zkp_connect_req_encode(const zkp_ConnectRequest *req, buf_t *b);
/* ConnectResponse; readOnly is written only when with_readonly. */
void zkp_connect_resp_encode(const zkp_ConnectResponse *resp, bool with_readonly, buf_t *b);
int zkp_connect_resp_decode(zkp_ConnectResponse *resp, jute_rd_t *jr);

/* The schema of a request body by opcode (NULL if the op has no body or is unknown). */
const jute_rec_t *zkp_request_rec(int op);

/* Starts a length-prefixed frame in b; zkp_frame_end fills in the length. */
size_t zkp_frame_begin(buf_t *b);
void zkp_frame_end(buf_t *b, size_t start);

#endif
