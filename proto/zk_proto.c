/* zk_proto.c — the schemas of ZooKeeper's records, as data. */
#include "proto/zk_proto.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const jute_field_t Id_f[] = {JF(zkp_Id, JT_USTRING, scheme), JF(zkp_Id, JT_USTRING, id)};
JREC(zkp_Id_rec, zkp_Id, Id_f);

static const jute_field_t ACL_f[] = {JF(zkp_ACL, JT_INT, perms), JFR(zkp_ACL, JT_RECORD, id, &zkp_Id_rec)};
JREC(zkp_ACL_rec, zkp_ACL, ACL_f);

static const jute_field_t Stat_f[] = {
    JF(zkp_Stat, JT_LONG, czxid),         JF(zkp_Stat, JT_LONG, mzxid),    JF(zkp_Stat, JT_LONG, ctime),
    JF(zkp_Stat, JT_LONG, mtime),         JF(zkp_Stat, JT_INT, version),   JF(zkp_Stat, JT_INT, cversion),
    JF(zkp_Stat, JT_INT, aversion),       JF(zkp_Stat, JT_LONG, ephemeralOwner),
    JF(zkp_Stat, JT_INT, dataLength),     JF(zkp_Stat, JT_INT, numChildren), JF(zkp_Stat, JT_LONG, pzxid),
};
JREC(zkp_Stat_rec, zkp_Stat, Stat_f);

static const jute_field_t RequestHeader_f[] = {JF(zkp_RequestHeader, JT_INT, xid),
                                               JF(zkp_RequestHeader, JT_INT, type)};
JREC(zkp_RequestHeader_rec, zkp_RequestHeader, RequestHeader_f);

static const jute_field_t ReplyHeader_f[] = {JF(zkp_ReplyHeader, JT_INT, xid), JF(zkp_ReplyHeader, JT_LONG, zxid),
                                             JF(zkp_ReplyHeader, JT_INT, err)};
JREC(zkp_ReplyHeader_rec, zkp_ReplyHeader, ReplyHeader_f);

static const jute_field_t MultiHeader_f[] = {JF(zkp_MultiHeader, JT_INT, type), JF(zkp_MultiHeader, JT_BOOL, done),
                                             JF(zkp_MultiHeader, JT_INT, err)};
JREC(zkp_MultiHeader_rec, zkp_MultiHeader, MultiHeader_f);

static const jute_field_t ConnectResponse_f[] = {
    JF(zkp_ConnectResponse, JT_INT, protocolVersion), JF(zkp_ConnectResponse, JT_INT, timeOut),
    JF(zkp_ConnectResponse, JT_LONG, sessionId), JF(zkp_ConnectResponse, JT_BUFFER, passwd)};
JREC(zkp_ConnectResponse_rec, zkp_ConnectResponse, ConnectResponse_f);

static const jute_field_t CreateRequest_f[] = {
    JF(zkp_CreateRequest, JT_USTRING, path), JF(zkp_CreateRequest, JT_BUFFER, data),
    JFR(zkp_CreateRequest, JT_VEC_RECORD, acl, &zkp_ACL_rec), JF(zkp_CreateRequest, JT_INT, flags)};
JREC(zkp_CreateRequest_rec, zkp_CreateRequest, CreateRequest_f);

static const jute_field_t CreateTTLRequest_f[] = {
    JF(zkp_CreateTTLRequest, JT_USTRING, path), JF(zkp_CreateTTLRequest, JT_BUFFER, data),
    JFR(zkp_CreateTTLRequest, JT_VEC_RECORD, acl, &zkp_ACL_rec), JF(zkp_CreateTTLRequest, JT_INT, flags),
    JF(zkp_CreateTTLRequest, JT_LONG, ttl)};
JREC(zkp_CreateTTLRequest_rec, zkp_CreateTTLRequest, CreateTTLRequest_f);

static const jute_field_t CreateResponse_f[] = {JF(zkp_CreateResponse, JT_USTRING, path)};
JREC(zkp_CreateResponse_rec, zkp_CreateResponse, CreateResponse_f);

static const jute_field_t Create2Response_f[] = {JF(zkp_Create2Response, JT_USTRING, path),
                                                 JFR(zkp_Create2Response, JT_RECORD, stat, &zkp_Stat_rec)};
JREC(zkp_Create2Response_rec, zkp_Create2Response, Create2Response_f);

static const jute_field_t DeleteRequest_f[] = {JF(zkp_DeleteRequest, JT_USTRING, path),
                                               JF(zkp_DeleteRequest, JT_INT, version)};
JREC(zkp_DeleteRequest_rec, zkp_DeleteRequest, DeleteRequest_f);

static const jute_field_t PathWatchRequest_f[] = {JF(zkp_PathWatchRequest, JT_USTRING, path),
                                                  JF(zkp_PathWatchRequest, JT_BOOL, watch)};
JREC(zkp_PathWatchRequest_rec, zkp_PathWatchRequest, PathWatchRequest_f);

static const jute_field_t PathRequest_f[] = {JF(zkp_PathRequest, JT_USTRING, path)};
JREC(zkp_PathRequest_rec, zkp_PathRequest, PathRequest_f);

static const jute_field_t StatResponse_f[] = {JFR(zkp_StatResponse, JT_RECORD, stat, &zkp_Stat_rec)};
JREC(zkp_StatResponse_rec, zkp_StatResponse, StatResponse_f);

static const jute_field_t GetDataResponse_f[] = {JF(zkp_GetDataResponse, JT_BUFFER, data),
                                                 JFR(zkp_GetDataResponse, JT_RECORD, stat, &zkp_Stat_rec)};
JREC(zkp_GetDataResponse_rec, zkp_GetDataResponse, GetDataResponse_f);

static const jute_field_t SetDataRequest_f[] = {JF(zkp_SetDataRequest, JT_USTRING, path),
                                                JF(zkp_SetDataRequest, JT_BUFFER, data),
                                                JF(zkp_SetDataRequest, JT_INT, version)};
JREC(zkp_SetDataRequest_rec, zkp_SetDataRequest, SetDataRequest_f);

static const jute_field_t GetACLResponse_f[] = {JFR(zkp_GetACLResponse, JT_VEC_RECORD, acl, &zkp_ACL_rec),
                                                JFR(zkp_GetACLResponse, JT_RECORD, stat, &zkp_Stat_rec)};
JREC(zkp_GetACLResponse_rec, zkp_GetACLResponse, GetACLResponse_f);

static const jute_field_t SetACLRequest_f[] = {JF(zkp_SetACLRequest, JT_USTRING, path),
                                               JFR(zkp_SetACLRequest, JT_VEC_RECORD, acl, &zkp_ACL_rec),
                                               JF(zkp_SetACLRequest, JT_INT, version)};
JREC(zkp_SetACLRequest_rec, zkp_SetACLRequest, SetACLRequest_f);

static const jute_field_t GetChildrenResponse_f[] = {JF(zkp_GetChildrenResponse, JT_VEC_USTRING, children)};
JREC(zkp_GetChildrenResponse_rec, zkp_GetChildrenResponse, GetChildrenResponse_f);

static const jute_field_t GetChildren2Response_f[] = {JF(zkp_GetChildren2Response, JT_VEC_USTRING, children),
                                                      JFR(zkp_GetChildren2Response, JT_RECORD, stat, &zkp_Stat_rec)};
JREC(zkp_GetChildren2Response_rec, zkp_GetChildren2Response, GetChildren2Response_f);

static const jute_field_t CheckVersionRequest_f[] = {JF(zkp_CheckVersionRequest, JT_USTRING, path),
                                                     JF(zkp_CheckVersionRequest, JT_INT, version)};
JREC(zkp_CheckVersionRequest_rec, zkp_CheckVersionRequest, CheckVersionRequest_f);

static const jute_field_t ErrorResponse_f[] = {JF(zkp_ErrorResponse, JT_INT, err)};
JREC(zkp_ErrorResponse_rec, zkp_ErrorResponse, ErrorResponse_f);

static const jute_field_t GetAllChildrenNumberResponse_f[] = {
    JF(zkp_GetAllChildrenNumberResponse, JT_INT, totalNumber)};
JREC(zkp_GetAllChildrenNumberResponse_rec, zkp_GetAllChildrenNumberResponse, GetAllChildrenNumberResponse_f);

static const jute_field_t GetEphemeralsResponse_f[] = {JF(zkp_GetEphemeralsResponse, JT_VEC_USTRING, ephemerals)};
JREC(zkp_GetEphemeralsResponse_rec, zkp_GetEphemeralsResponse, GetEphemeralsResponse_f);

static const jute_field_t SetWatches_f[] = {
    JF(zkp_SetWatches, JT_LONG, relativeZxid), JF(zkp_SetWatches, JT_VEC_USTRING, dataWatches),
    JF(zkp_SetWatches, JT_VEC_USTRING, existWatches), JF(zkp_SetWatches, JT_VEC_USTRING, childWatches)};
JREC(zkp_SetWatches_rec, zkp_SetWatches, SetWatches_f);

static const jute_field_t SetWatches2_f[] = {
    JF(zkp_SetWatches2, JT_LONG, relativeZxid), JF(zkp_SetWatches2, JT_VEC_USTRING, dataWatches),
    JF(zkp_SetWatches2, JT_VEC_USTRING, existWatches), JF(zkp_SetWatches2, JT_VEC_USTRING, childWatches),
    JF(zkp_SetWatches2, JT_VEC_USTRING, persistentWatches),
    JF(zkp_SetWatches2, JT_VEC_USTRING, persistentRecursiveWatches)};
JREC(zkp_SetWatches2_rec, zkp_SetWatches2, SetWatches2_f);

static const jute_field_t AddWatchRequest_f[] = {JF(zkp_AddWatchRequest, JT_USTRING, path),
                                                 JF(zkp_AddWatchRequest, JT_INT, mode)};
JREC(zkp_AddWatchRequest_rec, zkp_AddWatchRequest, AddWatchRequest_f);

static const jute_field_t RemoveWatchesRequest_f[] = {JF(zkp_RemoveWatchesRequest, JT_USTRING, path),
                                                      JF(zkp_RemoveWatchesRequest, JT_INT, type)};
JREC(zkp_RemoveWatchesRequest_rec, zkp_RemoveWatchesRequest, RemoveWatchesRequest_f);

static const jute_field_t AuthPacket_f[] = {JF(zkp_AuthPacket, JT_INT, type), JF(zkp_AuthPacket, JT_USTRING, scheme),
                                            JF(zkp_AuthPacket, JT_BUFFER, auth)};
JREC(zkp_AuthPacket_rec, zkp_AuthPacket, AuthPacket_f);

static const jute_field_t WatcherEvent_f[] = {JF(zkp_WatcherEvent, JT_INT, type), JF(zkp_WatcherEvent, JT_INT, state),
                                              JF(zkp_WatcherEvent, JT_USTRING, path)};
JREC(zkp_WatcherEvent_rec, zkp_WatcherEvent, WatcherEvent_f);

static const jute_field_t ClientInfo_f[] = {JF(zkp_ClientInfo, JT_USTRING, authScheme),
                                            JF(zkp_ClientInfo, JT_USTRING, user)};
JREC(zkp_ClientInfo_rec, zkp_ClientInfo, ClientInfo_f);

static const jute_field_t WhoAmIResponse_f[] = {JFR(zkp_WhoAmIResponse, JT_VEC_RECORD, clientInfo, &zkp_ClientInfo_rec)};
JREC(zkp_WhoAmIResponse_rec, zkp_WhoAmIResponse, WhoAmIResponse_f);

static const jute_field_t ReconfigRequest_f[] = {
    JF(zkp_ReconfigRequest, JT_USTRING, joiningServers), JF(zkp_ReconfigRequest, JT_USTRING, leavingServers),
    JF(zkp_ReconfigRequest, JT_USTRING, newMembers), JF(zkp_ReconfigRequest, JT_LONG, curConfigId)};
JREC(zkp_ReconfigRequest_rec, zkp_ReconfigRequest, ReconfigRequest_f);

static const jute_field_t TxnHeader_f[] = {JF(zkp_TxnHeader, JT_LONG, clientId), JF(zkp_TxnHeader, JT_INT, cxid),
                                           JF(zkp_TxnHeader, JT_LONG, zxid), JF(zkp_TxnHeader, JT_LONG, time),
                                           JF(zkp_TxnHeader, JT_INT, type)};
JREC(zkp_TxnHeader_rec, zkp_TxnHeader, TxnHeader_f);

static const jute_field_t CreateTxn_f[] = {
    JF(zkp_CreateTxn, JT_USTRING, path), JF(zkp_CreateTxn, JT_BUFFER, data),
    JFR(zkp_CreateTxn, JT_VEC_RECORD, acl, &zkp_ACL_rec), JF(zkp_CreateTxn, JT_BOOL, ephemeral),
    JF(zkp_CreateTxn, JT_INT, parentCVersion)};
JREC(zkp_CreateTxn_rec, zkp_CreateTxn, CreateTxn_f);

static const jute_field_t CreateContainerTxn_f[] = {
    JF(zkp_CreateContainerTxn, JT_USTRING, path), JF(zkp_CreateContainerTxn, JT_BUFFER, data),
    JFR(zkp_CreateContainerTxn, JT_VEC_RECORD, acl, &zkp_ACL_rec), JF(zkp_CreateContainerTxn, JT_INT, parentCVersion)};
JREC(zkp_CreateContainerTxn_rec, zkp_CreateContainerTxn, CreateContainerTxn_f);

static const jute_field_t CreateTTLTxn_f[] = {
    JF(zkp_CreateTTLTxn, JT_USTRING, path), JF(zkp_CreateTTLTxn, JT_BUFFER, data),
    JFR(zkp_CreateTTLTxn, JT_VEC_RECORD, acl, &zkp_ACL_rec), JF(zkp_CreateTTLTxn, JT_INT, parentCVersion),
    JF(zkp_CreateTTLTxn, JT_LONG, ttl)};
JREC(zkp_CreateTTLTxn_rec, zkp_CreateTTLTxn, CreateTTLTxn_f);

static const jute_field_t DeleteTxn_f[] = {JF(zkp_DeleteTxn, JT_USTRING, path)};
JREC(zkp_DeleteTxn_rec, zkp_DeleteTxn, DeleteTxn_f);

static const jute_field_t SetDataTxn_f[] = {JF(zkp_SetDataTxn, JT_USTRING, path), JF(zkp_SetDataTxn, JT_BUFFER, data),
                                            JF(zkp_SetDataTxn, JT_INT, version)};
JREC(zkp_SetDataTxn_rec, zkp_SetDataTxn, SetDataTxn_f);

static const jute_field_t CheckVersionTxn_f[] = {JF(zkp_CheckVersionTxn, JT_USTRING, path),
                                                 JF(zkp_CheckVersionTxn, JT_INT, version)};
JREC(zkp_CheckVersionTxn_rec, zkp_CheckVersionTxn, CheckVersionTxn_f);

static const jute_field_t SetACLTxn_f[] = {JF(zkp_SetACLTxn, JT_USTRING, path),
                                           JFR(zkp_SetACLTxn, JT_VEC_RECORD, acl, &zkp_ACL_rec),
                                           JF(zkp_SetACLTxn, JT_INT, version)};
JREC(zkp_SetACLTxn_rec, zkp_SetACLTxn, SetACLTxn_f);

static const jute_field_t CreateSessionTxn_f[] = {JF(zkp_CreateSessionTxn, JT_INT, timeOut)};
JREC(zkp_CreateSessionTxn_rec, zkp_CreateSessionTxn, CreateSessionTxn_f);

static const jute_field_t CloseSessionTxn_f[] = {JF(zkp_CloseSessionTxn, JT_VEC_USTRING, paths2Delete)};
JREC(zkp_CloseSessionTxn_rec, zkp_CloseSessionTxn, CloseSessionTxn_f);

static const jute_field_t ErrorTxn_f[] = {JF(zkp_ErrorTxn, JT_INT, err)};
JREC(zkp_ErrorTxn_rec, zkp_ErrorTxn, ErrorTxn_f);

static const jute_field_t Txn_f[] = {JF(zkp_Txn, JT_INT, type), JF(zkp_Txn, JT_BUFFER, data)};
JREC(zkp_Txn_rec, zkp_Txn, Txn_f);

static const jute_field_t MultiTxn_f[] = {JFR(zkp_MultiTxn, JT_VEC_RECORD, txns, &zkp_Txn_rec)};
JREC(zkp_MultiTxn_rec, zkp_MultiTxn, MultiTxn_f);

int zkp_connect_req_decode(zkp_ConnectRequest *req, jute_rd_t *jr)
{
    memset(req, 0, sizeof *req);
    req->protocolVersion = jute_get_int(jr);
    req->lastZxidSeen = jute_get_long(jr);
    req->timeOut = jute_get_int(jr);
    req->sessionId = jute_get_long(jr);
    if (jute_get_buffer(jr, &req->passwd) || !jute_ok(jr)) {
        free(req->passwd.data);
        req->passwd.data = NULL;
        return -1;
    }
    if (jute_left(jr) >= 1) {
        req->readOnly = jute_get_bool(jr);
        req->hasReadOnly = true;
    }
    return 0;
}

void zkp_connect_req_encode(const zkp_ConnectRequest *req, buf_t *b)
{
    jute_put_int(b, req->protocolVersion);
    jute_put_long(b, req->lastZxidSeen);
    jute_put_int(b, req->timeOut);
    jute_put_long(b, req->sessionId);
    jute_put_buffer(b, req->passwd.data, req->passwd.len);
    jute_put_bool(b, req->readOnly);
}

void zkp_connect_resp_encode(const zkp_ConnectResponse *resp, bool with_readonly, buf_t *b)
{
    jute_encode(&zkp_ConnectResponse_rec, resp, b);
    if (with_readonly)
        jute_put_bool(b, resp->readOnly);
}

int zkp_connect_resp_decode(zkp_ConnectResponse *resp, jute_rd_t *jr)
{
    if (jute_decode(&zkp_ConnectResponse_rec, resp, jr))
        return -1;
    resp->readOnly = jute_left(jr) >= 1 ? jute_get_bool(jr) : false;
    return 0;
}

const jute_rec_t *zkp_request_rec(int op)
{
    switch (op) {
    case ZOO_CREATE_OP:
    case ZOO_CREATE2_OP:
    case ZOO_CREATECONTAINER_OP: return &zkp_CreateRequest_rec;
    case ZOO_CREATETTL_OP: return &zkp_CreateTTLRequest_rec;
    case ZOO_DELETE_OP: return &zkp_DeleteRequest_rec;
    case ZOO_EXISTS_OP:
    case ZOO_GETDATA_OP:
    case ZOO_GETCHILDREN_OP:
    case ZOO_GETCHILDREN2_OP: return &zkp_PathWatchRequest_rec;
    case ZOO_SETDATA_OP: return &zkp_SetDataRequest_rec;
    case ZOO_GETACL_OP:
    case ZOO_SYNC_OP:
    case ZOO_GETALLCHILDRENNUMBER_OP:
    case ZOO_GETEPHEMERALS_OP:
    case ZOO_DELETECONTAINER_OP: return &zkp_PathRequest_rec;
    case ZOO_SETACL_OP: return &zkp_SetACLRequest_rec;
    case ZOO_CHECK_OP: return &zkp_CheckVersionRequest_rec;
    case ZOO_SETWATCHES_OP: return &zkp_SetWatches_rec;
    case ZOO_SETWATCHES2_OP: return &zkp_SetWatches2_rec;
    case ZOO_ADDWATCH_OP: return &zkp_AddWatchRequest_rec;
    case ZOO_REMOVEWATCHES_OP:
    case ZOO_CHECKWATCHES_OP: return &zkp_RemoveWatchesRequest_rec;
    case ZOO_SETAUTH_OP: return &zkp_AuthPacket_rec;
    case ZOO_RECONFIG_OP: return &zkp_ReconfigRequest_rec;
    default: return NULL;
    }
}

size_t zkp_frame_begin(buf_t *b)
{
    size_t start = b->len;
    buf_put_be32(b, 0);
    return start;
}

void zkp_frame_end(buf_t *b, size_t start)
{
    buf_set_be32(b, start, (uint32_t)(b->len - start - 4));
}

const char *zk_err_name(int err)
{
    switch (err) {
    case ZOK: return "OK";
    case ZSYSTEMERROR: return "SYSTEMERROR";
    case ZRUNTIMEINCONSISTENCY: return "RUNTIMEINCONSISTENCY";
    case ZDATAINCONSISTENCY: return "DATAINCONSISTENCY";
    case ZCONNECTIONLOSS: return "CONNECTIONLOSS";
    case ZMARSHALLINGERROR: return "MARSHALLINGERROR";
    case ZUNIMPLEMENTED: return "UNIMPLEMENTED";
    case ZOPERATIONTIMEOUT: return "OPERATIONTIMEOUT";
    case ZBADARGUMENTS: return "BADARGUMENTS";
    case ZUNKNOWNSESSION: return "UNKNOWNSESSION";
    case ZNEWCONFIGNOQUORUM: return "NEWCONFIGNOQUORUM";
    case ZRECONFIGINPROGRESS: return "RECONFIGINPROGRESS";
    case ZAPIERROR: return "APIERROR";
    case ZNONODE: return "NONODE";
    case ZNOAUTH: return "NOAUTH";
    case ZBADVERSION: return "BADVERSION";
    case ZNOCHILDRENFOREPHEMERALS: return "NOCHILDRENFOREPHEMERALS";
    case ZNODEEXISTS: return "NODEEXISTS";
    case ZNOTEMPTY: return "NOTEMPTY";
    case ZSESSIONEXPIRED: return "SESSIONEXPIRED";
    case ZINVALIDCALLBACK: return "INVALIDCALLBACK";
    case ZINVALIDACL: return "INVALIDACL";
    case ZAUTHFAILED: return "AUTHFAILED";
    case ZSESSIONMOVED: return "SESSIONMOVED";
    case ZNOTREADONLY: return "NOTREADONLY";
    case ZEPHEMERALONLOCALSESSION: return "EPHEMERALONLOCALSESSION";
    case ZNOWATCHER: return "NOWATCHER";
    case ZREQUESTTIMEOUT: return "REQUESTTIMEOUT";
    case ZRECONFIGDISABLED: return "RECONFIGDISABLED";
    case ZSESSIONCLOSEDREQUIRESASLAUTH: return "SESSIONCLOSEDREQUIRESASLAUTH";
    case ZQUOTAEXCEEDED: return "QUOTAEXCEEDED";
    case ZTHROTTLEDOP: return "THROTTLEDOP";
    default: return "UNKNOWN";
    }
}

const char *zk_op_name(int op)
{
    switch (op) {
    case ZOO_NOTIFY_OP: return "notification";
    case ZOO_CREATE_OP: return "create";
    case ZOO_DELETE_OP: return "delete";
    case ZOO_EXISTS_OP: return "exists";
    case ZOO_GETDATA_OP: return "getData";
    case ZOO_SETDATA_OP: return "setData";
    case ZOO_GETACL_OP: return "getACL";
    case ZOO_SETACL_OP: return "setACL";
    case ZOO_GETCHILDREN_OP: return "getChildren";
    case ZOO_SYNC_OP: return "sync";
    case ZOO_PING_OP: return "ping";
    case ZOO_GETCHILDREN2_OP: return "getChildren2";
    case ZOO_CHECK_OP: return "check";
    case ZOO_MULTI_OP: return "multi";
    case ZOO_CREATE2_OP: return "create2";
    case ZOO_RECONFIG_OP: return "reconfig";
    case ZOO_CHECKWATCHES_OP: return "checkWatches";
    case ZOO_REMOVEWATCHES_OP: return "removeWatches";
    case ZOO_CREATECONTAINER_OP: return "createContainer";
    case ZOO_DELETECONTAINER_OP: return "deleteContainer";
    case ZOO_CREATETTL_OP: return "createTTL";
    case ZOO_MULTIREAD_OP: return "multiRead";
    case ZOO_SETAUTH_OP: return "auth";
    case ZOO_SETWATCHES_OP: return "setWatches";
    case ZOO_SASL_OP: return "sasl";
    case ZOO_GETEPHEMERALS_OP: return "getEphemerals";
    case ZOO_GETALLCHILDRENNUMBER_OP: return "getAllChildrenNumber";
    case ZOO_SETWATCHES2_OP: return "setWatches2";
    case ZOO_ADDWATCH_OP: return "addWatch";
    case ZOO_WHOAMI_OP: return "whoAmI";
    case ZOO_CREATESESSION_OP: return "createSession";
    case ZOO_CLOSE_OP: return "closeSession";
    case ZOO_ERROR_OP: return "error";
    default: return "unknown";
    }
}
