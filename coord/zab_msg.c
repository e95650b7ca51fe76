/* zab_msg.c — see zab_msg.h. Pure: bytes <-> structs. */
#include "coord/zab_msg.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct wire_s {
    int32_t version;
    zab_msg_t m;
} wire_t;

static const jute_field_t wire_fields[] = {
    JF(wire_t, JT_INT, version),
    JF(wire_t, JT_INT, m.type),
    JF(wire_t, JT_INT, m.from),
    JF(wire_t, JT_INT, m.to),
    JF(wire_t, JT_INT, m.flags),
    JF(wire_t, JT_LONG, m.nonce),
    JF(wire_t, JT_LONG, m.seq),
    JF(wire_t, JT_LONG, m.zxid),
    JF(wire_t, JT_LONG, m.epoch),
    JF(wire_t, JT_LONG, m.round),
    JF(wire_t, JT_INT, m.state),
    JF(wire_t, JT_INT, m.leader),
    JF(wire_t, JT_BUFFER, m.data),
};
static JREC(wire_rec, wire_t, wire_fields);

static bool needs_data(int type)
{
    return type == ZAB_MSG_SNAP || type == ZAB_MSG_PROPOSAL || type == ZAB_MSG_INFORM || type == ZAB_MSG_REQUEST;
}

void zab_msg_encode(const zab_msg_t *msg, buf_t *out)
{
    wire_t w;
    w.version = ZAB_MSG_VERSION;
    w.m = *msg;
    jute_encode(&wire_rec, &w, out);
}

int zab_msg_decode(zab_msg_t *msg, const void *p, size_t len)
{
    memset(msg, 0, sizeof *msg);
    msg->data.len = -1;
    jute_rd_t jr;
    jute_rd_init(&jr, p, len);
    wire_t w;
    if (jute_decode(&wire_rec, &w, &jr))
        return -1;
    const zab_msg_t *m = &w.m;
    bool ok = jute_left(&jr) == 0 && w.version == ZAB_MSG_VERSION && m->type >= ZAB_MSG_VOTE &&
              m->type <= ZAB_MSG_TYPE_MAX && (m->flags & ~ZAB_MF_ALL) == 0 && m->epoch >= 0 &&
              m->epoch <= (int64_t)UINT32_MAX && m->seq >= 0 && m->zxid >= -1 && m->round >= 0 &&
              m->round < INT64_MAX && m->state >= 0 && m->state <= 3 &&
              (!needs_data(m->type) || m->data.len >= 0);
    if (!ok) {
        jute_free(&wire_rec, &w);
        return -1;
    }
    *msg = w.m;
    return 0;
}

void zab_msg_free(zab_msg_t *msg)
{
    free(msg->data.data);
    memset(msg, 0, sizeof *msg);
    msg->data.len = -1;
}

void zab_msg_copy(zab_msg_t *dst, const zab_msg_t *src)
{
    *dst = *src;
    dst->data = jute_buf_dup(src->data.data, src->data.len);
}

const char *zab_msg_type_name(int type)
{
    static const char *const names[] = {
        "?", "VOTE", "FOLLOWERINFO", "LEADERINFO", "ACKEPOCH", "DIFF", "TRUNC", "SNAP", "PROPOSAL",
        "NEWLEADER", "ACK", "UPTODATE", "COMMIT", "INFORM", "PING", "REQUEST",
    };
    if (type < 1 || type > ZAB_MSG_TYPE_MAX)
        return "?";
    return names[type];
}
