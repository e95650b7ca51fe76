/* libFuzzer target: the jute decoder for every ZooKeeper record schema.
 * The first input byte picks the schema; the rest is decoded. A record that decodes
 * must re-encode to as many bytes as it consumed, and decoding that encoding must
 * give the same encoding again; nothing may leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/zk_proto.h"

static const jute_rec_t *const recs[] = {
    &zkp_Id_rec, &zkp_ACL_rec, &zkp_Stat_rec, &zkp_RequestHeader_rec, &zkp_ReplyHeader_rec,
    &zkp_MultiHeader_rec, &zkp_ConnectResponse_rec, &zkp_CreateRequest_rec, &zkp_CreateTTLRequest_rec,
    &zkp_CreateResponse_rec, &zkp_Create2Response_rec, &zkp_DeleteRequest_rec, &zkp_PathWatchRequest_rec,
    &zkp_PathRequest_rec, &zkp_StatResponse_rec, &zkp_GetDataResponse_rec, &zkp_SetDataRequest_rec,
    &zkp_GetACLResponse_rec, &zkp_SetACLRequest_rec, &zkp_GetChildrenResponse_rec,
    &zkp_GetChildren2Response_rec, &zkp_CheckVersionRequest_rec, &zkp_ErrorResponse_rec,
    &zkp_GetAllChildrenNumberResponse_rec, &zkp_GetEphemeralsResponse_rec, &zkp_SetWatches_rec,
    &zkp_SetWatches2_rec, &zkp_AddWatchRequest_rec, &zkp_RemoveWatchesRequest_rec, &zkp_AuthPacket_rec,
    &zkp_WatcherEvent_rec, &zkp_ClientInfo_rec, &zkp_WhoAmIResponse_rec, &zkp_ReconfigRequest_rec,
    &zkp_TxnHeader_rec, &zkp_CreateTxn_rec, &zkp_CreateContainerTxn_rec, &zkp_CreateTTLTxn_rec,
    &zkp_DeleteTxn_rec, &zkp_SetDataTxn_rec, &zkp_CheckVersionTxn_rec, &zkp_SetACLTxn_rec,
    &zkp_CreateSessionTxn_rec, &zkp_CloseSessionTxn_rec, &zkp_ErrorTxn_rec, &zkp_Txn_rec, &zkp_MultiTxn_rec,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t nrecs = sizeof recs / sizeof *recs;
    if (data[0] == 0xff) {
        jute_rd_t jr;
        jute_rd_init(&jr, data + 1, size - 1);
        zkp_ConnectRequest req;
        if (zkp_connect_req_decode(&req, &jr) == 0)
            free(req.passwd.data);
        return 0;
    }
    const jute_rec_t *rec = recs[data[0] % nrecs];
    void *obj = malloc(rec->size);
    jute_rd_t jr;
    jute_rd_init(&jr, data + 1, size - 1);
    if (jute_decode(rec, obj, &jr) == 0) {
        buf_t b = BUF_INIT;
        jute_encode(rec, obj, &b);
        /* strings with embedded NULs are shortened by the C representation */
        if (!jr.saw_nul && b.len != jr.r.pos)
            abort();
        void *again = malloc(rec->size);
        jute_rd_t jr2;
        jute_rd_init(&jr2, b.data, b.len);
        if (jute_decode(rec, again, &jr2) != 0)
            abort();
        buf_t b2 = BUF_INIT;
        jute_encode(rec, again, &b2);
        if (b2.len != b.len || memcmp(b2.data, b.data, b.len) != 0)
            abort();
        jute_free(rec, again);
        free(again);
        buf_free(&b2);
        buf_free(&b);
        jute_free(rec, obj);
    }
    free(obj);
    return 0;
}
