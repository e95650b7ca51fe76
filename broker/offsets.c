/* offsets.c — __consumer_offsets keys and values, the offsets table and the partition
 * loader. Formats: see offsets.h. */
#include "broker/offsets.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "proto/kafka_records.h"

/* ---- Java's String.hashCode over UTF-8 ------------------------------------------------------- */

#define REPL 0xfffdu

static inline bool is_cont(uint8_t b) { return (b & 0xc0) == 0x80; }

/* The JDK's UTF-8 -> UTF-16 decoding with replacement (String(byte[], UTF_8)), feeding each
 * UTF-16 unit into h = 31*h + unit. Truncated sequences at the end of the input produce one
 * U+FFFD and end the decoding, as the JDK does. */
int32_t offsets_java_hash(const void *utf8, size_t len)
{
    const uint8_t *s = utf8;
    uint32_t h = 0;
#define PUT(u) (h = 31u * h + (uint32_t)(u))
    size_t i = 0;
    while (i < len) {
        uint8_t b1 = s[i++];
        if (b1 < 0x80) {
            PUT(b1);
        } else if (b1 >= 0xc2 && b1 <= 0xdf) {
            if (i < len) {
                uint8_t b2 = s[i++];
                if (!is_cont(b2)) {
                    PUT(REPL);
                    i--;
                } else {
                    PUT(((b1 & 0x1fu) << 6) | (b2 & 0x3fu));
                }
                continue;
            }
            PUT(REPL);
            break;
        } else if ((b1 & 0xf0) == 0xe0) {
            if (i + 1 < len) {
                uint8_t b2 = s[i], b3 = s[i + 1];
                bool bad2 = (b1 == 0xe0 && (b2 & 0xe0) == 0x80) || !is_cont(b2);
                if (bad2 || !is_cont(b3)) {
                    PUT(REPL);
                    i += bad2 ? 0 : 1;   /* malformed length 1 or 2 */
                } else {
                    uint32_t c = ((b1 & 0x0fu) << 12) | ((b2 & 0x3fu) << 6) | (b3 & 0x3fu);
                    PUT(c >= 0xd800 && c <= 0xdfff ? REPL : c);
                    i += 2;
                }
                continue;
            }
            if (i < len && ((b1 == 0xe0 && (s[i] & 0xe0) == 0x80) || !is_cont(s[i]))) {
                PUT(REPL);
                continue;
            }
            PUT(REPL);
            break;
        } else if ((b1 & 0xf8) == 0xf0) {
            if (i + 2 < len) {
                uint8_t b2 = s[i], b3 = s[i + 1], b4 = s[i + 2];
                uint32_t uc = ((b1 & 0x07u) << 18) | ((b2 & 0x3fu) << 12) | ((b3 & 0x3fu) << 6) | (b4 & 0x3fu);
                if (!is_cont(b2) || !is_cont(b3) || !is_cont(b4) || uc < 0x10000 || uc > 0x10ffff) {
                    PUT(REPL);
                    /* malformed length 1, 2 or 3 */
                    if (b1 > 0xf4 || (b1 == 0xf0 && (b2 < 0x90 || b2 > 0xbf)) ||
                        (b1 == 0xf4 && (b2 & 0xf0) != 0x80) || !is_cont(b2))
                        ;
                    else if (!is_cont(b3))
                        i += 1;
                    else
                        i += 2;
                } else {
                    uc -= 0x10000;
                    PUT(0xd800u + (uc >> 10));
                    PUT(0xdc00u + (uc & 0x3ffu));
                    i += 3;
                }
                continue;
            }
            if (b1 > 0xf4 ||
                (i < len && ((b1 == 0xf0 && (s[i] < 0x90 || s[i] > 0xbf)) || (b1 == 0xf4 && (s[i] & 0xf0) != 0x80) ||
                             !is_cont(s[i])))) {
                PUT(REPL);
                continue;
            }
            i++;
            PUT(REPL);
            if (i < len && !is_cont(s[i]))
                continue;
            break;
        } else {
            PUT(REPL);
        }
    }
#undef PUT
    return (int32_t)h;
}

int32_t offsets_partition_for(const void *group, size_t len, int32_t num_partitions)
{
    int32_t h = offsets_java_hash(group, len);
    int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return num_partitions > 0 ? a % num_partitions : 0;
}

/* ---- primitive writers/readers (Kafka's classic Struct types) -------------------------------- */

static void put_str(buf_t *b, kp_str_t s)
{
    if (s.len < 0) {
        buf_put_be16(b, 0xffff);
        return;
    }
    buf_put_be16(b, (uint16_t)s.len);
    buf_put(b, s.p, (size_t)s.len);
}

static void put_bytes(buf_t *b, kp_bytes_t s)
{
    int32_t n = s.len < 0 ? 0 : s.len;
    buf_put_be32(b, (uint32_t)n);
    buf_put(b, s.p, (size_t)n);
}

static bool str_ok(kp_str_t s, bool nullable)
{
    return s.len < 0 ? nullable : s.len <= 32767;
}

/* Reads a STRING / NULLABLE_STRING; sets r->err on a bad length. */
static kp_str_t get_str(rd_t *r, bool nullable)
{
    kp_str_t s = {NULL, -1};
    int16_t n = (int16_t)rd_be16(r);
    if (r->err)
        return s;
    if (n < 0) {
        if (!nullable || n != -1)
            r->err = 1;
        return s;
    }
    s.p = rd_bytes(r, (size_t)n);
    s.len = r->err ? -1 : n;
    if (!s.p && n == 0 && !r->err)
        s.p = (const uint8_t *)"";
    return s;
}

static kp_bytes_t get_bytes(rd_t *r)
{
    kp_bytes_t s = {NULL, -1};
    int32_t n = (int32_t)rd_be32(r);
    if (r->err)
        return s;
    if (n < 0) {
        r->err = 1;
        return s;
    }
    s.p = rd_bytes(r, (size_t)n);
    s.len = r->err ? -1 : n;
    return s;
}

/* ---- keys ------------------------------------------------------------------------------------ */

void offsets_commit_key_write(buf_t *out, kp_str_t group, kp_str_t topic, int32_t partition)
{
    buf_put_be16(out, OFFSETS_KEY_COMMIT_VERSION);
    put_str(out, group.len < 0 ? kp_str("") : group);
    put_str(out, topic.len < 0 ? kp_str("") : topic);
    buf_put_be32(out, (uint32_t)partition);
}

void offsets_group_key_write(buf_t *out, kp_str_t group)
{
    buf_put_be16(out, OFFSETS_KEY_GROUP_VERSION);
    put_str(out, group.len < 0 ? kp_str("") : group);
}

int offsets_key_decode(const uint8_t *p, size_t len, offsets_key_t *key)
{
    rd_t r;
    rd_init(&r, p, len);
    memset(key, 0, sizeof *key);
    key->version = (int16_t)rd_be16(&r);
    if (r.err)
        return OFFSETS_EMALFORMED;
    if (key->version == 0 || key->version == 1) {
        key->kind = OFFSETS_KEY_COMMIT;
        key->group = get_str(&r, false);
        key->topic = get_str(&r, false);
        key->partition = (int32_t)rd_be32(&r);
    } else if (key->version == 2) {
        key->kind = OFFSETS_KEY_GROUP;
        key->group = get_str(&r, false);
        key->topic = (kp_str_t){NULL, -1};
        key->partition = -1;
    } else {
        return OFFSETS_EVERSION;
    }
    return r.err ? OFFSETS_EMALFORMED : 0;
}

/* ---- offset commit values --------------------------------------------------------------------- */

int offsets_commit_value_version(const offsets_commit_t *c)
{
    return c->expire_ts >= 0 ? 1 : OFFSETS_COMMIT_VALUE_VERSION;
}

int offsets_commit_value_write(buf_t *out, int version, const offsets_commit_t *c)
{
    if (version < 0 || version > 3)
        return OFFSETS_EVERSION;
    kp_str_t md = c->metadata.len < 0 ? kp_str("") : c->metadata;
    if (!str_ok(md, false))
        return OFFSETS_EMALFORMED;
    buf_put_be16(out, (uint16_t)version);
    buf_put_be64(out, (uint64_t)c->offset);
    if (version == 3)
        buf_put_be32(out, (uint32_t)(c->leader_epoch < 0 ? -1 : c->leader_epoch));
    put_str(out, md);
    buf_put_be64(out, (uint64_t)c->commit_ts);
    if (version == 1)
        buf_put_be64(out, (uint64_t)c->expire_ts);
    return 0;
}

int offsets_commit_value_decode(const uint8_t *p, size_t len, offsets_commit_t *c)
{
    rd_t r;
    rd_init(&r, p, len);
    memset(c, 0, sizeof *c);
    int16_t v = (int16_t)rd_be16(&r);
    if (r.err)
        return OFFSETS_EMALFORMED;
    if (v < 0 || v > 3)
        return OFFSETS_EVERSION;
    c->offset = (int64_t)rd_be64(&r);
    c->leader_epoch = -1;
    if (v == 3) {
        int32_t e = (int32_t)rd_be32(&r);
        c->leader_epoch = e < 0 ? -1 : e;
    }
    c->metadata = get_str(&r, false);
    c->commit_ts = (int64_t)rd_be64(&r);
    c->expire_ts = -1;
    if (v == 1)
        c->expire_ts = (int64_t)rd_be64(&r);
    return r.err ? OFFSETS_EMALFORMED : 0;
}

/* ---- group metadata values -------------------------------------------------------------------- */

int offsets_group_value_write(buf_t *out, int version, const offsets_group_t *g)
{
    if (version < 0 || version > 3)
        return OFFSETS_EVERSION;
    kp_str_t pt = g->protocol_type.len < 0 ? kp_str("") : g->protocol_type;
    if (!str_ok(pt, false) || !str_ok(g->protocol, true) || !str_ok(g->leader, true))
        return OFFSETS_EMALFORMED;
    for (int32_t i = 0; i < g->member_count; i++) {
        const offsets_member_t *m = &g->members[i];
        if (!str_ok(m->member_id, false) || !str_ok(m->client_id, false) || !str_ok(m->client_host, false) ||
            !str_ok(m->group_instance_id, true))
            return OFFSETS_EMALFORMED;
    }
    buf_put_be16(out, (uint16_t)version);
    put_str(out, pt);
    buf_put_be32(out, (uint32_t)g->generation);
    put_str(out, g->protocol);
    put_str(out, g->leader);
    if (version >= 2)
        buf_put_be64(out, (uint64_t)g->current_state_ts);
    buf_put_be32(out, (uint32_t)g->member_count);
    for (int32_t i = 0; i < g->member_count; i++) {
        const offsets_member_t *m = &g->members[i];
        put_str(out, m->member_id);
        if (version >= 3)
            put_str(out, m->group_instance_id);
        put_str(out, m->client_id);
        put_str(out, m->client_host);
        if (version >= 1)
            buf_put_be32(out, (uint32_t)m->rebalance_timeout);
        buf_put_be32(out, (uint32_t)m->session_timeout);
        put_bytes(out, m->subscription);
        put_bytes(out, m->assignment);
    }
    return 0;
}

int offsets_group_value_decode(const uint8_t *p, size_t len, arena_t *a, offsets_group_t *g)
{
    rd_t r;
    rd_init(&r, p, len);
    memset(g, 0, sizeof *g);
    int16_t v = (int16_t)rd_be16(&r);
    if (r.err)
        return OFFSETS_EMALFORMED;
    if (v < 0 || v > 3)
        return OFFSETS_EVERSION;
    g->version = v;
    g->protocol_type = get_str(&r, false);
    g->generation = (int32_t)rd_be32(&r);
    g->protocol = get_str(&r, true);
    g->leader = get_str(&r, true);
    g->current_state_ts = v >= 2 ? (int64_t)rd_be64(&r) : -1;
    int32_t n = (int32_t)rd_be32(&r);
    /* the smallest member is 3 empty strings + 2 ints + 2 empty byte arrays = 22 bytes */
    if (r.err || n < 0 || (size_t)n > rd_left(&r) / 22)
        return OFFSETS_EMALFORMED;
    g->member_count = n;
    g->members = n ? arena_alloc(a, (size_t)n * sizeof *g->members) : NULL;
    for (int32_t i = 0; i < n && !r.err; i++) {
        offsets_member_t *m = &g->members[i];
        m->member_id = get_str(&r, false);
        m->group_instance_id = v >= 3 ? get_str(&r, true) : (kp_str_t){NULL, -1};
        m->client_id = get_str(&r, false);
        m->client_host = get_str(&r, false);
        int32_t rt = v >= 1 ? (int32_t)rd_be32(&r) : 0;
        m->session_timeout = (int32_t)rd_be32(&r);
        m->rebalance_timeout = v >= 1 ? rt : m->session_timeout;
        m->subscription = get_bytes(&r);
        m->assignment = get_bytes(&r);
    }
    return r.err ? OFFSETS_EMALFORMED : 0;
}

/* ---- batches ---------------------------------------------------------------------------------- */

int offsets_batch_build(buf_t *out, const offsets_kv_t *recs, size_t n, int64_t now_ms)
{
    krec_build_t o;
    krec_build_init(&o, KREC_MAGIC_V2, 0);
    krec_writer_t w;
    krec_writer_begin(&w, &o, out);
    for (size_t i = 0; i < n; i++) {
        krec_record_t rec;
        memset(&rec, 0, sizeof rec);
        rec.offset = (int64_t)i;
        rec.timestamp = now_ms;
        rec.key = recs[i].key;
        rec.key_len = (int32_t)recs[i].key_len;
        rec.value = recs[i].value_len < 0 ? NULL : recs[i].value;
        rec.value_len = recs[i].value_len < 0 ? -1 : recs[i].value_len;
        if (krec_writer_add(&w, &rec))
            break;
    }
    return krec_writer_finish(&w);
}

/* ---- offsets table ---------------------------------------------------------------------------- */

static size_t tp_key(uint8_t *k, kp_str_t topic, int32_t partition)
{
    size_t n = topic.len > 0 ? (size_t)topic.len : 0;
    if (n)
        memcpy(k, topic.p, n);
    k[n] = 0;
    be32_put(k + n + 1, (uint32_t)partition);
    return n + 5;
}

/* Key buffers: topics are at most 32767 bytes (int16 strings) but a table key is made from
 * whatever the caller passes, so long keys go to the heap. */
#define TPK_STACK 512

static void entry_free(void *v)
{
    offsets_entry_t *e = v;
    if (!e)
        return;
    free(e->topic);
    free((void *)e->c.metadata.p);
    free(e);
}

void offsets_table_init(offsets_table_t *t)
{
    hmap_init(&t->map);
}

void offsets_table_fini(offsets_table_t *t)
{
    hmap_fini(&t->map, entry_free);
}

offsets_entry_t *offsets_table_get(const offsets_table_t *t, kp_str_t topic, int32_t partition)
{
    uint8_t st[TPK_STACK];
    size_t need = (topic.len > 0 ? (size_t)topic.len : 0) + 5;
    uint8_t *k = need <= sizeof st ? st : xmalloc(need);
    size_t kl = tp_key(k, topic, partition);
    offsets_entry_t *e = hmap_get(&t->map, k, kl);
    if (k != st)
        free(k);
    return e;
}

bool offsets_table_put(offsets_table_t *t, kp_str_t topic, int32_t partition, const offsets_commit_t *c,
                       int64_t log_offset)
{
    offsets_entry_t *old = offsets_table_get(t, topic, partition);
    if (old && old->log_offset > log_offset)
        return false;
    offsets_entry_t *e = xcalloc(1, sizeof *e);
    size_t tl = topic.len > 0 ? (size_t)topic.len : 0;
    e->topic = xstrndup(tl ? (const char *)topic.p : "", tl);
    e->partition = partition;
    e->c = *c;
    size_t ml = c->metadata.len > 0 ? (size_t)c->metadata.len : 0;
    e->c.metadata.p = (const uint8_t *)xstrndup(ml ? (const char *)c->metadata.p : "", ml);
    e->c.metadata.len = (int32_t)ml;
    e->log_offset = log_offset;
    uint8_t st[TPK_STACK];
    uint8_t *k = tl + 5 <= sizeof st ? st : xmalloc(tl + 5);
    size_t kl = tp_key(k, topic, partition);
    entry_free(hmap_put(&t->map, k, kl, e));
    if (k != st)
        free(k);
    return true;
}

bool offsets_table_del(offsets_table_t *t, kp_str_t topic, int32_t partition)
{
    uint8_t st[TPK_STACK];
    size_t need = (topic.len > 0 ? (size_t)topic.len : 0) + 5;
    uint8_t *k = need <= sizeof st ? st : xmalloc(need);
    size_t kl = tp_key(k, topic, partition);
    offsets_entry_t *e = hmap_del(&t->map, k, kl);
    if (k != st)
        free(k);
    entry_free(e);
    return e != NULL;
}

void offsets_table_move(offsets_table_t *dst, offsets_table_t *src)
{
    hmap_iter_t it;
    const void *k;
    size_t kl;
    void *v;
    hmap_iter_init(&src->map, &it);
    while (hmap_iter_next(&src->map, &it, &k, &kl, &v)) {
        offsets_entry_t *e = v;
        offsets_entry_t *old = hmap_get(&dst->map, k, kl);
        if (old && old->log_offset > e->log_offset) {
            entry_free(e);
        } else {
            entry_free(hmap_put(&dst->map, k, kl, e));
        }
        hmap_del(&src->map, k, kl);
    }
}

static int entry_cmp(const void *a, const void *b)
{
    const offsets_entry_t *x = *(offsets_entry_t *const *)a, *y = *(offsets_entry_t *const *)b;
    int c = strcmp(x->topic, y->topic);
    if (c)
        return c;
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

offsets_entry_t **offsets_table_sorted(const offsets_table_t *t, size_t *n)
{
    size_t cnt = hmap_count(&t->map), i = 0;
    offsets_entry_t **v = xmalloc((cnt ? cnt : 1) * sizeof *v);
    hmap_iter_t it;
    const void *k;
    size_t kl;
    void *val;
    hmap_iter_init(&t->map, &it);
    while (hmap_iter_next(&t->map, &it, &k, &kl, &val))
        v[i++] = val;
    qsort(v, i, sizeof *v, entry_cmp);
    *n = i;
    return v;
}

/* ---- loader ----------------------------------------------------------------------------------- */

static void loaded_free(void *v)
{
    offsets_loaded_t *g = v;
    if (!g)
        return;
    free(g->group);
    free(g->meta);
    offsets_table_fini(&g->offsets);
    free(g);
}

void offsets_loader_init(offsets_loader_t *l)
{
    memset(l, 0, sizeof *l);
    hmap_init(&l->groups);
}

void offsets_loader_fini(offsets_loader_t *l)
{
    hmap_fini(&l->groups, loaded_free);
}

static offsets_loaded_t *loaded_get(offsets_loader_t *l, kp_str_t group)
{
    size_t n = group.len > 0 ? (size_t)group.len : 0;
    offsets_loaded_t *g = hmap_get(&l->groups, n ? group.p : (const uint8_t *)"", n);
    if (!g) {
        g = xcalloc(1, sizeof *g);
        g->group = xstrndup(n ? (const char *)group.p : "", n);
        offsets_table_init(&g->offsets);
        hmap_put(&l->groups, g->group, n, g);
    }
    return g;
}

void offsets_loader_record(offsets_loader_t *l, const uint8_t *key, int32_t key_len, const uint8_t *value,
                           int32_t value_len, int64_t offset)
{
    l->records++;
    offsets_key_t k;
    if (!key || key_len < 0 || offsets_key_decode(key, (size_t)key_len, &k) != 0) {
        l->skipped++;
        return;
    }
    bool tomb = !value || value_len < 0;
    if (k.kind == OFFSETS_KEY_COMMIT) {
        offsets_commit_t c;
        if (!tomb && offsets_commit_value_decode(value, (size_t)value_len, &c) != 0) {
            l->skipped++;
            return;
        }
        offsets_loaded_t *g = loaded_get(l, k.group);
        if (tomb)
            offsets_table_del(&g->offsets, k.topic, k.partition);
        else
            offsets_table_put(&g->offsets, k.topic, k.partition, &c, offset);
    } else {
        if (!tomb) {
            arena_t a;
            arena_init(&a);
            offsets_group_t gv;
            int rc = offsets_group_value_decode(value, (size_t)value_len, &a, &gv);
            arena_free(&a);
            if (rc != 0) {
                l->skipped++;
                return;
            }
        }
        offsets_loaded_t *g = loaded_get(l, k.group);
        free(g->meta);
        g->meta = NULL;
        g->meta_len = 0;
        g->meta_deleted = tomb;
        if (!tomb) {
            g->meta = xmemdup(value, (size_t)value_len ? (size_t)value_len : 1);
            g->meta_len = (size_t)value_len;
        }
    }
}

int offsets_loader_feed(offsets_loader_t *l, const uint8_t *data, size_t len)
{
    krec_iter_t it;
    krec_record_t rec;
    int rc;
    krec_iter_init(&it, data, len, 0, KREC_F_NO_CRC);
    while ((rc = krec_iter_next(&it, &rec)) == 1) {
        if (it.batch.control)
            continue;
        offsets_loader_record(l, rec.key, rec.key_len, rec.value, rec.value_len, rec.offset);
    }
    krec_iter_free(&it);
    return rc < 0 ? rc : 0;
}

bool offsets_loader_next(const offsets_loader_t *l, hmap_iter_t *it, offsets_loaded_t **out)
{
    const void *k;
    size_t kl;
    void *v;
    if (!hmap_iter_next(&l->groups, it, &k, &kl, &v))
        return false;
    *out = v;
    return true;
}
