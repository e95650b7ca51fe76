#include "coord/zreq.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "coord/prep.h"
#include "proto/zk_proto.h"

enum zreq_class zreq_classify(int op)
{
    switch (op) {
    case ZOO_EXISTS_OP: case ZOO_GETDATA_OP: case ZOO_GETCHILDREN_OP: case ZOO_GETCHILDREN2_OP:
    case ZOO_GETACL_OP: case ZOO_GETALLCHILDRENNUMBER_OP: case ZOO_GETEPHEMERALS_OP:
    case ZOO_MULTIREAD_OP: case ZOO_WHOAMI_OP: case ZOO_SYNC_OP: case ZOO_PING_OP:
    case ZOO_SETWATCHES_OP: case ZOO_SETWATCHES2_OP: case ZOO_ADDWATCH_OP:
    case ZOO_REMOVEWATCHES_OP: case ZOO_CHECKWATCHES_OP:
        return ZREQ_READ;
    case ZOO_CREATE_OP: case ZOO_CREATE2_OP: case ZOO_CREATECONTAINER_OP: case ZOO_CREATETTL_OP:
    case ZOO_DELETE_OP: case ZOO_SETDATA_OP: case ZOO_SETACL_OP: case ZOO_CHECK_OP: case ZOO_MULTI_OP:
    case ZOO_DELETECONTAINER_OP:
        return ZREQ_WRITE;
    case ZOO_SETAUTH_OP: case ZOO_SASL_OP: case ZOO_CREATESESSION_OP: case ZOO_RECONFIG_OP: case ZOO_CLOSE_OP:
        return ZREQ_SPECIAL;
    default:
        return ZREQ_UNKNOWN;
    }
}

int zreq_decode(int op, jute_rd_t *jr, zreq_body_t *out)
{
    out->body = NULL;
    out->rec = NULL;
    out->is_multi = false;
    out->saw_nul = false;
    if (op == ZOO_MULTI_OP || op == ZOO_MULTIREAD_OP) {
        prep_multi_t *m = xcalloc(1, sizeof *m);
        if (prep_multi_decode(jr, m)) {
            free(m);
            return ZMARSHALLINGERROR;
        }
        out->body = m;
        out->is_multi = true;
        out->saw_nul = jr->saw_nul;
        return 0;
    }
    const jute_rec_t *rec = zkp_request_rec(op);
    if (!rec)
        return 0;   /* ping, whoAmI: no body */
    void *body = xmalloc(rec->size);
    if (jute_decode(rec, body, jr)) {
        free(body);
        return ZMARSHALLINGERROR;
    }
    out->saw_nul = jr->saw_nul;
    out->body = body;
    out->rec = rec;
    return 0;
}

void zreq_body_free(zreq_body_t *b)
{
    if (!b->body)
        return;
    if (b->is_multi)
        prep_multi_free(b->body);
    else
        jute_free(b->rec, b->body);
    free(b->body);
    b->body = NULL;
}
