/* kafka_records.c — message sets v0/v1 and record batches v2 (see kafka_records.h). */
#include "proto/kafka_records.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/compress.h"
#include "common/crc32c.h"
#include "common/varint.h"

#define CORRUPT   KREC_ERR_CORRUPT_MESSAGE
#define TOO_LARGE KREC_ERR_MESSAGE_TOO_LARGE
#define INVALID   KREC_ERR_INVALID_RECORD
#define BAD_CODEC KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE

/* Smallest encoded v2 record: length, attributes, timestampDelta, offsetDelta, keyLength,
 * valueLength, headerCount — one byte each. */
#define V2_MIN_RECORD 7

static int bad(const char **why, const char *msg, int code)
{
    if (why)
        *why = msg;
    return -code;
}

const char *krec_err_name(int code)
{
    switch (code) {
    case 0: return "NONE";
    case KREC_ERR_CORRUPT_MESSAGE: return "CORRUPT_MESSAGE";
    case KREC_ERR_MESSAGE_TOO_LARGE: return "MESSAGE_TOO_LARGE";
    case KREC_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT: return "UNSUPPORTED_FOR_MESSAGE_FORMAT";
    case KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE: return "UNSUPPORTED_COMPRESSION_TYPE";
    case KREC_ERR_INVALID_RECORD: return "INVALID_RECORD";
    default: return "UNKNOWN_SERVER_ERROR";
    }
}

static inline uint16_t be16_get(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Timestamps are added with wrap-around instead of signed overflow (hostile deltas). */
static inline int64_t ts_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t ts_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }

/* ---- batch headers ------------------------------------------------------------------------ */

static int parse_legacy(const uint8_t *p, size_t total, krec_batch_t *b, const char **why)
{
    size_t off = 18;
    b->attributes = p[17];
    b->codec = p[17] & KREC_ATTR_CODEC_MASK;
    b->crc = be32_get(p + 12);
    b->base_offset = b->last_offset = (int64_t)be64_get(p);
    b->last_offset_delta = 0;
    b->partition_leader_epoch = -1;
    b->producer_id = -1;
    b->producer_epoch = -1;
    b->base_sequence = -1;
    b->record_count = b->codec ? -1 : 1;
    if (b->magic == KREC_MAGIC_V1) {
        b->first_timestamp = b->max_timestamp = (int64_t)be64_get(p + 18);
        b->ts_type = (p[17] & KREC_ATTR_LOG_APPEND) ? KREC_TS_LOG_APPEND : KREC_TS_CREATE;
        off = 26;
    } else {
        b->first_timestamp = b->max_timestamp = -1;
        b->ts_type = KREC_TS_NONE;
    }
    int32_t klen = (int32_t)be32_get(p + off);
    off += 4;
    if (klen < -1 || (klen > 0 && (size_t)klen > total - off - 4))
        return bad(why, "message key length out of range", CORRUPT);
    b->key = klen >= 0 ? p + off : NULL;
    b->key_len = klen;
    off += klen > 0 ? (size_t)klen : 0;
    int32_t vlen = (int32_t)be32_get(p + off);
    off += 4;
    if (vlen < -1 || (size_t)(vlen < 0 ? 0 : vlen) != total - off)
        return bad(why, "message size does not match its key and value", CORRUPT);
    b->value_len = vlen;
    b->payload = vlen >= 0 ? p + off : NULL;
    b->payload_len = vlen > 0 ? (size_t)vlen : 0;
    return 0;
}

static void parse_v2(const uint8_t *p, size_t total, krec_batch_t *b)
{
    b->base_offset = (int64_t)be64_get(p);
    b->partition_leader_epoch = (int32_t)be32_get(p + 12);
    b->crc = be32_get(p + 17);
    b->attributes = (int16_t)be16_get(p + 21);
    b->codec = b->attributes & KREC_ATTR_CODEC_MASK;
    b->ts_type = (b->attributes & KREC_ATTR_LOG_APPEND) ? KREC_TS_LOG_APPEND : KREC_TS_CREATE;
    b->transactional = (b->attributes & KREC_ATTR_TRANSACTIONAL) != 0;
    b->control = (b->attributes & KREC_ATTR_CONTROL) != 0;
    b->last_offset_delta = (int32_t)be32_get(p + 23);
    b->last_offset = ts_add(b->base_offset, b->last_offset_delta);
    b->first_timestamp = (int64_t)be64_get(p + 27);
    b->max_timestamp = (int64_t)be64_get(p + 35);
    b->producer_id = (int64_t)be64_get(p + 43);
    b->producer_epoch = (int16_t)be16_get(p + 51);
    b->base_sequence = (int32_t)be32_get(p + 53);
    b->record_count = (int32_t)be32_get(p + 57);
    b->payload = p + KREC_V2_HEADER_SIZE;
    b->payload_len = total - KREC_V2_HEADER_SIZE;
    b->key = NULL;
    b->key_len = b->value_len = -1;
}

int krec_batch_next(const uint8_t *data, size_t len, size_t *pos, krec_batch_t *b, const char **why)
{
    if (*pos >= len)
        return KREC_BATCH_END;
    const uint8_t *p = data + *pos;
    size_t left = len - *pos;
    if (left < KREC_LOG_OVERHEAD)
        return KREC_BATCH_TRUNCATED;
    int32_t size = (int32_t)be32_get(p + 8);
    if (size < 0)
        return bad(why, "negative batch size", CORRUPT);
    size_t total = KREC_LOG_OVERHEAD + (size_t)size;
    if (left < KREC_V2_CRC_OFFSET) {   /* the magic byte is not here yet */
        if (total <= left)
            return bad(why, "batch smaller than any message", CORRUPT);
        return KREC_BATCH_TRUNCATED;
    }
    int8_t magic = (int8_t)p[16];
    if (magic < 0 || magic > KREC_MAGIC_V2)
        return bad(why, "unknown magic byte", CORRUPT);
    size_t min = magic == 2 ? KREC_V2_HEADER_SIZE - KREC_LOG_OVERHEAD : magic == 1 ? KREC_V1_MIN_SIZE : KREC_V0_MIN_SIZE;
    if ((size_t)size < min)
        return bad(why, "batch size below the minimum for its magic", CORRUPT);
    if (left < total)
        return KREC_BATCH_TRUNCATED;
    memset(b, 0, sizeof *b);
    b->data = p;
    b->len = total;
    b->magic = magic;
    if (magic == KREC_MAGIC_V2) {
        parse_v2(p, total, b);
    } else {
        int rc = parse_legacy(p, total, b, why);
        if (rc)
            return rc;
    }
    *pos += total;
    return KREC_BATCH_OK;
}

bool krec_batch_crc_ok(const krec_batch_t *b)
{
    if (b->magic == KREC_MAGIC_V2)
        return crc32c(b->data + KREC_V2_ATTR_OFFSET, b->len - KREC_V2_ATTR_OFFSET) == b->crc;
    return crc32_ieee(b->data + 16, b->len - 16) == b->crc;
}

/* ---- records of one batch ----------------------------------------------------------------- */

static int recs_fail(krec_recs_t *r, const char *msg, int code)
{
    r->why = msg;
    return -code;
}

static int decompress(krec_recs_t *r, const uint8_t *p, size_t n)
{
    int rc = compress_decode(r->batch->codec, p, n, r->max_decompressed, &r->inflated);
    if (rc == COMPRESS_ETOOBIG)
        return recs_fail(r, "decompressed batch exceeds the size limit", TOO_LARGE);
    if (rc)
        return recs_fail(r, "corrupt compressed data", CORRUPT);
    return 0;
}

int krec_recs_open(krec_recs_t *r, const krec_batch_t *b, size_t max_decompressed, unsigned flags)
{
    memset(r, 0, sizeof *r);
    r->batch = b;
    r->flags = flags;
    r->max_decompressed = max_decompressed ? max_decompressed : KREC_DEFAULT_MAX_DECOMPRESSED;
    buf_init(&r->inflated);
    if (!(flags & KREC_F_NO_CRC) && !krec_batch_crc_ok(b))
        return recs_fail(r, "CRC mismatch", CORRUPT);
    if (b->codec >= COMPRESS_NCODECS)
        return recs_fail(r, "unknown compression codec", CORRUPT);
    if (b->magic == KREC_MAGIC_V2) {
        if (b->record_count < 0)
            return recs_fail(r, "negative record count", CORRUPT);
        if (b->codec == COMPRESS_NONE) {
            rd_init(&r->rd, b->payload, b->payload_len);
        } else {
            int rc = decompress(r, b->payload, b->payload_len);
            if (rc)
                return rc;
            rd_init(&r->rd, r->inflated.data, r->inflated.len);
        }
        if ((size_t)b->record_count > rd_left(&r->rd) / V2_MIN_RECORD)
            return recs_fail(r, "record count larger than the records", CORRUPT);
        if ((flags & KREC_F_CLIENT) && (int64_t)b->last_offset_delta + 1 != b->record_count)
            return recs_fail(r, "record count does not match lastOffsetDelta", CORRUPT);
        r->count = b->record_count;
        return 0;
    }
    if (b->codec == COMPRESS_NONE) {
        r->single = true;
        r->count = 1;
        return 0;
    }
    if (b->codec == COMPRESS_ZSTD)
        return recs_fail(r, "zstd needs record batches (magic 2)", BAD_CODEC);
    if (b->value_len < 0)
        return recs_fail(r, "compressed message without a value", CORRUPT);
    int rc = decompress(r, b->payload, b->payload_len);
    if (rc)
        return rc;
    /* walk the inner entries once: count them and find the last offset (magic 1 offsets are
     * relative to the wrapper's, which is the last one's absolute offset) */
    size_t pos = 0;
    int64_t last = 0;
    int32_t n = 0;
    while (pos < r->inflated.len) {
        size_t left = r->inflated.len - pos;
        if (left < KREC_LOG_OVERHEAD)
            return recs_fail(r, "truncated inner message", CORRUPT);
        int32_t size = (int32_t)be32_get(r->inflated.data + pos + 8);
        if (size < 0 || (size_t)size > left - KREC_LOG_OVERHEAD)
            return recs_fail(r, "truncated inner message", CORRUPT);
        last = (int64_t)be64_get(r->inflated.data + pos);
        pos += KREC_LOG_OVERHEAD + (size_t)size;
        n++;
    }
    if (n == 0)
        return recs_fail(r, "compressed message with no inner messages", CORRUPT);
    r->count = n;
    /* as Kafka's and kafka-python's readers: producers that leave the wrapper offset at 0
     * (kafka-python, kafkajs) get their inner offsets as they are */
    r->abs_base = b->magic == KREC_MAGIC_V1 ? ts_sub(b->base_offset, last) : 0;
    if (r->abs_base < 0)
        r->abs_base = 0;
    rd_init(&r->rd, r->inflated.data, r->inflated.len);
    return 0;
}

/* Reads a varint length that may be -1 (null) and takes that many bytes. */
static bool read_bytes(rd_t *br, const uint8_t **p, int32_t *n, bool nullable)
{
    int32_t len = varint_get_s32(br);
    if (br->err || len < (nullable ? -1 : 0) || (len > 0 && (size_t)len > rd_left(br)))
        return false;
    *n = len;
    *p = len >= 0 ? rd_bytes(br, (size_t)len) : NULL;
    if (len >= 0 && !*p)
        *p = (const uint8_t *)"";   /* zero-length at the very end */
    return !br->err;
}

static int next_v2(krec_recs_t *r, krec_record_t *rec)
{
    const krec_batch_t *b = r->batch;
    int32_t rlen = varint_get_s32(&r->rd);
    if (r->rd.err || rlen < 0 || (size_t)rlen > rd_left(&r->rd))
        return recs_fail(r, "record length runs past the batch", CORRUPT);
    rd_t br;
    rd_init(&br, rd_bytes(&r->rd, (size_t)rlen), (size_t)rlen);
    rec->attributes = (int8_t)rd_u8(&br);
    int64_t ts_delta = varint_get_s64(&br);
    int32_t off_delta = varint_get_s32(&br);
    if (br.err)
        return recs_fail(r, "truncated record", CORRUPT);
    if (off_delta < 0 || ((r->flags & KREC_F_CLIENT) && off_delta != r->index))
        return recs_fail(r, "record offset delta out of sequence", CORRUPT);
    if (!read_bytes(&br, &rec->key, &rec->key_len, true) || !read_bytes(&br, &rec->value, &rec->value_len, true))
        return recs_fail(r, "record key or value length out of range", CORRUPT);
    int32_t hcount = varint_get_s32(&br);
    if (br.err || hcount < 0 || (size_t)hcount > rd_left(&br) / 2)
        return recs_fail(r, "record header count out of range", CORRUPT);
    if ((size_t)hcount > r->hdrs_cap) {
        r->hdrs_cap = (size_t)hcount;
        r->hdrs = xrealloc(r->hdrs, r->hdrs_cap * sizeof *r->hdrs);
    }
    for (int32_t i = 0; i < hcount; i++) {
        krec_header_t *h = &r->hdrs[i];
        if (!read_bytes(&br, &h->key, &h->key_len, false) || !read_bytes(&br, &h->value, &h->value_len, true))
            return recs_fail(r, "record header length out of range", CORRUPT);
    }
    if (rd_left(&br) != 0)
        return recs_fail(r, "record length does not match its contents", CORRUPT);
    rec->headers = hcount ? r->hdrs : NULL;
    rec->header_count = hcount;
    rec->offset = ts_add(b->base_offset, off_delta);
    rec->ts_type = b->ts_type;
    rec->timestamp = b->ts_type == KREC_TS_LOG_APPEND ? b->max_timestamp : ts_add(b->first_timestamp, ts_delta);
    return 1;
}

static void legacy_record(const krec_batch_t *m, krec_record_t *rec)
{
    rec->offset = m->base_offset;
    rec->timestamp = m->first_timestamp;
    rec->ts_type = m->ts_type;
    rec->attributes = (int8_t)m->attributes;
    rec->key = m->key;
    rec->key_len = m->key_len;
    rec->value = m->value_len >= 0 ? m->payload : NULL;
    rec->value_len = m->value_len;
    rec->headers = NULL;
    rec->header_count = 0;
}

static int next_inner(krec_recs_t *r, krec_record_t *rec)
{
    const krec_batch_t *w = r->batch;
    krec_batch_t m;
    size_t pos = r->rd.pos;
    const char *why = NULL;
    int rc = krec_batch_next(r->rd.p, r->rd.len, &pos, &m, &why);
    if (rc != KREC_BATCH_OK)
        return recs_fail(r, rc < 0 ? why : "truncated inner message", CORRUPT);
    r->rd.pos = pos;
    if (m.magic != w->magic)
        return recs_fail(r, "inner message magic differs from the wrapper's", CORRUPT);
    if (m.codec != COMPRESS_NONE)
        return recs_fail(r, "compressed message inside a compressed message", CORRUPT);
    if (!(r->flags & KREC_F_NO_CRC) && !krec_batch_crc_ok(&m))
        return recs_fail(r, "inner message CRC mismatch", CORRUPT);
    legacy_record(&m, rec);
    if (w->magic == KREC_MAGIC_V1) {
        rec->offset = ts_add(r->abs_base, m.base_offset);
        if (w->ts_type == KREC_TS_LOG_APPEND) {
            rec->timestamp = w->first_timestamp;
            rec->ts_type = KREC_TS_LOG_APPEND;
        } else {
            rec->ts_type = KREC_TS_CREATE;
        }
    }
    return 1;
}

int krec_recs_next(krec_recs_t *r, krec_record_t *rec)
{
    if (r->index >= r->count) {
        if (r->batch->magic == KREC_MAGIC_V2 && rd_left(&r->rd) != 0)
            return recs_fail(r, "bytes left after the last record", CORRUPT);
        return 0;
    }
    int rc;
    if (r->single) {
        legacy_record(r->batch, rec);
        rc = 1;
    } else if (r->batch->magic == KREC_MAGIC_V2) {
        rc = next_v2(r, rec);
    } else {
        rc = next_inner(r, rec);
    }
    if (rc == 1)
        r->index++;
    return rc;
}

void krec_recs_close(krec_recs_t *r)
{
    buf_free(&r->inflated);
    free(r->hdrs);
    r->hdrs = NULL;
    r->hdrs_cap = 0;
}

/* ---- iterator over many batches ----------------------------------------------------------- */

void krec_iter_init(krec_iter_t *it, const void *data, size_t len, size_t max_decompressed, unsigned flags)
{
    memset(it, 0, sizeof *it);
    it->data = data;
    it->len = len;
    it->max_decompressed = max_decompressed;
    it->flags = flags;
}

int krec_iter_next(krec_iter_t *it, krec_record_t *rec)
{
    if (it->err)
        return it->err;
    for (;;) {
        if (!it->open) {
            int rc = krec_batch_next(it->data, it->len, &it->pos, &it->batch, &it->why);
            if (rc == KREC_BATCH_END)
                return 0;
            if (rc == KREC_BATCH_TRUNCATED) {
                it->truncated = true;
                return 0;
            }
            if (rc < 0)
                return it->err = rc;
            it->open = true;
            rc = krec_recs_open(&it->recs, &it->batch, it->max_decompressed, it->flags);
            if (rc < 0) {
                it->why = it->recs.why;
                return it->err = rc;
            }
        }
        int rc = krec_recs_next(&it->recs, rec);
        if (rc != 0) {
            if (rc < 0) {
                it->why = it->recs.why;
                it->err = rc;
            }
            return rc;
        }
        krec_recs_close(&it->recs);
        it->open = false;
    }
}

void krec_iter_free(krec_iter_t *it)
{
    if (it->open)
        krec_recs_close(&it->recs);
    it->open = false;
}

/* ---- produce validation ------------------------------------------------------------------- */

static void limits_or_default(const krec_limits_t *in, krec_limits_t *out)
{
    if (in)
        *out = *in;
    else
        *out = (krec_limits_t){0, 0, -1, false};
    if (!out->max_message_bytes)
        out->max_message_bytes = KREC_DEFAULT_MAX_MESSAGE_BYTES;
    if (!out->max_decompressed)
        out->max_decompressed = KREC_DEFAULT_MAX_DECOMPRESSED;
}

/* Checks one top-level batch against the produce rules; returns its record count (>= 0) and
 * largest record timestamp, or a negated error code. */
static int check_batch(const krec_batch_t *b, const krec_limits_t *lim, int64_t *max_ts, const char **why)
{
    if (b->len > lim->max_message_bytes)
        return bad(why, "batch larger than the maximum message size", TOO_LARGE);
    if (b->codec >= COMPRESS_NCODECS)
        return bad(why, "unknown compression codec", CORRUPT);
    if (b->codec == COMPRESS_ZSTD) {
        if (b->magic < KREC_MAGIC_V2)
            return bad(why, "zstd needs record batches (magic 2)", BAD_CODEC);
        if (lim->produce_version >= 0 && lim->produce_version < 7)
            return bad(why, "zstd needs Produce v7 or later", BAD_CODEC);
    }
    if (b->magic == KREC_MAGIC_V2) {
        if (b->record_count <= 0)
            return bad(why, "record batch without records", INVALID);
        if (b->control)
            return bad(why, "clients may not write control batches", INVALID);
        if (b->producer_id >= 0 && b->base_sequence < 0)
            return bad(why, "batch with a producer id but no sequence number", INVALID);
    }
    krec_recs_t r;
    int rc = krec_recs_open(&r, b, lim->max_decompressed, KREC_F_CLIENT);
    int32_t n = 0;
    krec_record_t rec;
    while (rc == 0) {
        rc = krec_recs_next(&r, &rec);
        if (rc != 1)
            break;
        rc = 0;
        n++;
        if (lim->compacted && rec.key_len < 0) {
            r.why = "compacted topics need a key on every record";
            rc = -INVALID;
        }
        if (rec.timestamp > *max_ts)
            *max_ts = rec.timestamp;
    }
    if (rc < 0 && why)
        *why = r.why;
    krec_recs_close(&r);
    return rc < 0 ? rc : n;
}

/* The validation pass shared by krec_validate_produce and krec_append_prepare; appends each
 * batch's largest record timestamp (int64, host order) to batch_ts when given. */
static int validate(const uint8_t *data, size_t len, const krec_limits_t *lim, krec_info_t *info, buf_t *batch_ts,
                    const char **why)
{
    memset(info, 0, sizeof *info);
    info->magic = -1;
    info->max_timestamp = -1;
    info->producer_id = -1;
    info->producer_epoch = -1;
    info->base_sequence = -1;
    if (lim->produce_version >= 3 && len == 0)
        return bad(why, "Produce v3+ needs one record batch", INVALID);
    size_t pos = 0;
    for (;;) {
        krec_batch_t b;
        int rc = krec_batch_next(data, len, &pos, &b, why);
        if (rc == KREC_BATCH_END)
            break;
        if (rc == KREC_BATCH_TRUNCATED)
            return bad(why, "truncated batch", CORRUPT);
        if (rc < 0)
            return rc;
        if (info->batches == 0) {
            info->magic = b.magic;
            if (b.magic == KREC_MAGIC_V2) {
                info->producer_id = b.producer_id;
                info->producer_epoch = b.producer_epoch;
                info->base_sequence = b.base_sequence;
                info->transactional = b.transactional;
            }
        } else if (b.magic != info->magic) {
            return bad(why, "batches of different magic in one request", INVALID);
        }
        info->batches++;
        if (lim->produce_version >= 0) {
            if (lim->produce_version < 3 && b.magic == KREC_MAGIC_V2)
                return bad(why, "record batches (magic 2) need Produce v3 or later", INVALID);
            if (lim->produce_version >= 3 && b.magic != KREC_MAGIC_V2)
                return bad(why, "Produce v3+ only takes record batches (magic 2)", INVALID);
            if (lim->produce_version >= 3 && info->batches > 1)
                return bad(why, "Produce v3+ takes exactly one record batch", INVALID);
        }
        int64_t max_ts = -1;
        rc = check_batch(&b, lim, &max_ts, why);
        if (rc < 0)
            return rc;
        if ((int64_t)info->record_count + rc > INT32_MAX)
            return bad(why, "too many records", CORRUPT);
        info->record_count += rc;
        if (b.codec && !info->codec)
            info->codec = b.codec;
        if (max_ts > info->max_timestamp)
            info->max_timestamp = max_ts;
        if (batch_ts)
            buf_put(batch_ts, &max_ts, sizeof max_ts);
    }
    return 0;
}

int krec_validate_produce(const uint8_t *data, size_t len, const krec_limits_t *lim, krec_info_t *info,
                          const char **why)
{
    krec_limits_t l;
    krec_info_t dummy;
    limits_or_default(lim, &l);
    return validate(data, len, &l, info ? info : &dummy, NULL, why);
}

/* ---- writers ------------------------------------------------------------------------------ */

void krec_build_init(krec_build_t *o, int magic, int codec)
{
    memset(o, 0, sizeof *o);
    o->magic = (int8_t)magic;
    o->codec = codec;
    o->ts_type = KREC_TS_CREATE;
    o->log_append_time = -1;
    o->partition_leader_epoch = -1;
    o->producer_id = -1;
    o->producer_epoch = -1;
    o->base_sequence = -1;
}

void krec_writer_begin(krec_writer_t *w, const krec_build_t *o, buf_t *out)
{
    memset(w, 0, sizeof *w);
    w->o = *o;
    w->out = out;
    w->start = out->len;
    buf_init(&w->scratch);
    w->max_ts = -1;
    w->first_ts = -1;
    w->last_offset = o->base_offset - 1;
    if (o->magic < 0 || o->magic > KREC_MAGIC_V2 || o->codec < 0 || o->codec >= COMPRESS_NCODECS)
        w->err = -INVALID;
    else if (o->codec == COMPRESS_ZSTD && o->magic < KREC_MAGIC_V2)
        w->err = -BAD_CODEC;
    else if (o->magic == KREC_MAGIC_V2) {
        static const uint8_t zero[KREC_V2_HEADER_SIZE];
        buf_put(out, zero, sizeof zero);   /* header, filled in by finish */
    }
}

/* Appends one legacy message (log entry) with its size and CRC: one reserve, then direct stores. */
static void legacy_put(buf_t *b, int magic, int64_t offset, uint8_t attr, int64_t ts, const uint8_t *key,
                       int32_t klen, const uint8_t *value, int32_t vlen)
{
    size_t kn = klen > 0 ? (size_t)klen : 0, vn = vlen > 0 ? (size_t)vlen : 0;
    size_t total = KREC_LOG_OVERHEAD + (magic == KREC_MAGIC_V1 ? KREC_V1_MIN_SIZE : KREC_V0_MIN_SIZE) + kn + vn;
    buf_reserve(b, total);
    uint8_t *m = b->data + b->len, *q = m + 16;
    be64_put(m, (uint64_t)offset);
    be32_put(m + 8, (uint32_t)(total - KREC_LOG_OVERHEAD));
    *q++ = (uint8_t)magic;
    *q++ = attr;
    if (magic == KREC_MAGIC_V1) {
        be64_put(q, (uint64_t)ts);
        q += 8;
    }
    be32_put(q, (uint32_t)klen);
    q += 4;
    if (kn)
        memcpy(q, key, kn);
    q += kn;
    be32_put(q, (uint32_t)vlen);
    q += 4;
    if (vn)
        memcpy(q, value, vn);
    be32_put(m + 12, crc32_ieee(m + 16, total - 16));
    b->len += total;
}

/* Zigzag varints straight into memory (the caller reserved room). */
static inline uint8_t *vput_u64(uint8_t *q, uint64_t v)
{
    while (v >= 0x80) {
        *q++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *q++ = (uint8_t)v;
    return q;
}

static inline uint8_t *vput_s64(uint8_t *q, int64_t v)
{
    return vput_u64(q, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline uint8_t *vput_bytes(uint8_t *q, const uint8_t *p, int32_t n)
{
    q = vput_s64(q, n);
    if (n > 0) {
        memcpy(q, p, (size_t)n);
        q += n;
    }
    return q;
}

static int vsize_bytes(int32_t n)
{
    return varint_size_s64(n) + (n > 0 ? n : 0);
}

int krec_writer_add(krec_writer_t *w, const krec_record_t *rec)
{
    if (w->err)
        return w->err;
    const krec_build_t *o = &w->o;
    /* legacy formats have no base offset: start from the first record if it lies below */
    if (o->magic < KREC_MAGIC_V2 && w->count == 0 && rec->offset < o->base_offset)
        w->o.base_offset = rec->offset;
    int64_t delta = ts_sub(rec->offset, o->base_offset);
    if (rec->offset < o->base_offset || (w->count > 0 && rec->offset <= w->last_offset) || delta > INT32_MAX ||
        rec->key_len < -1 || rec->value_len < -1 || rec->header_count < 0 || w->count == INT32_MAX)
        return w->err = -INVALID;
    int64_t ts = o->ts_type == KREC_TS_LOG_APPEND && o->magic < KREC_MAGIC_V2 ? o->log_append_time : rec->timestamp;
    if (w->count == 0)
        w->first_ts = ts;
    if (ts > w->max_ts)
        w->max_ts = ts;
    buf_t *dst = o->codec ? &w->scratch : w->out;
    if (o->magic == KREC_MAGIC_V2) {
        int64_t tsd = ts_sub(ts, w->first_ts);
        int64_t size = 1 + varint_size_s64(tsd) + varint_size_s64(delta) + vsize_bytes(rec->key_len) +
                       vsize_bytes(rec->value_len) + varint_size_s64(rec->header_count);
        for (int32_t i = 0; i < rec->header_count; i++) {
            if (rec->headers[i].key_len < 0 || rec->headers[i].value_len < -1)
                return w->err = -INVALID;
            size += vsize_bytes(rec->headers[i].key_len) + vsize_bytes(rec->headers[i].value_len);
        }
        if (size > INT32_MAX)
            return w->err = -INVALID;
        buf_reserve(dst, (size_t)size + 5);
        uint8_t *q = dst->data + dst->len;
        q = vput_s64(q, (int32_t)size);
        *q++ = (uint8_t)rec->attributes;
        q = vput_s64(q, tsd);
        q = vput_s64(q, (int32_t)delta);
        q = vput_bytes(q, rec->key, rec->key_len);
        q = vput_bytes(q, rec->value, rec->value_len);
        q = vput_s64(q, rec->header_count);
        for (int32_t i = 0; i < rec->header_count; i++) {
            q = vput_bytes(q, rec->headers[i].key, rec->headers[i].key_len);
            q = vput_bytes(q, rec->headers[i].value, rec->headers[i].value_len);
        }
        dst->len = (size_t)(q - dst->data);
    } else {
        /* inner offsets: absolute in magic 0, relative to the base in magic 1 */
        int64_t off = o->codec && o->magic == KREC_MAGIC_V1 ? delta : rec->offset;
        uint8_t attr = o->magic == KREC_MAGIC_V1 && o->ts_type == KREC_TS_LOG_APPEND ? KREC_ATTR_LOG_APPEND : 0;
        legacy_put(dst, o->magic, off, attr, ts, rec->key, rec->key_len, rec->value, rec->value_len);
    }
    w->count++;
    w->last_offset = rec->offset;
    return 0;
}

void krec_writer_abort(krec_writer_t *w)
{
    w->out->len = w->start;
    buf_free(&w->scratch);
}

static unsigned encode_flags(int magic, int codec)
{
    /* Kafka's Java writers frame snappy as snappy-java streams for every magic; magic 0
     * readers expect the KAFKA-3160 lz4 header checksum */
    if (codec == COMPRESS_SNAPPY)
        return COMPRESS_F_SNAPPY_XERIAL;
    if (codec == COMPRESS_LZ4 && magic == KREC_MAGIC_V0)
        return COMPRESS_F_LZ4_BROKEN_HC;
    return 0;
}

static int finish_v2(krec_writer_t *w)
{
    const krec_build_t *o = &w->o;
    buf_t *out = w->out;
    if (o->codec && compress_encode(o->codec, w->scratch.data, w->scratch.len, encode_flags(2, o->codec), out))
        return -CORRUPT;
    size_t total = out->len - w->start;
    if (total - KREC_LOG_OVERHEAD > INT32_MAX)
        return -TOO_LARGE;
    uint8_t *p = out->data + w->start;
    uint16_t attr = (uint16_t)(o->codec | (o->ts_type == KREC_TS_LOG_APPEND ? KREC_ATTR_LOG_APPEND : 0) |
                               (o->transactional ? KREC_ATTR_TRANSACTIONAL : 0) |
                               (o->control ? KREC_ATTR_CONTROL : 0));
    be64_put(p, (uint64_t)o->base_offset);
    be32_put(p + 8, (uint32_t)(total - KREC_LOG_OVERHEAD));
    be32_put(p + 12, (uint32_t)o->partition_leader_epoch);
    p[16] = KREC_MAGIC_V2;
    be16_put(p + 21, attr);
    be32_put(p + 23, (uint32_t)(w->count ? ts_sub(w->last_offset, o->base_offset) : 0));
    be64_put(p + 27, (uint64_t)(w->count ? w->first_ts : -1));
    be64_put(p + 35, (uint64_t)(o->ts_type == KREC_TS_LOG_APPEND ? o->log_append_time : w->count ? w->max_ts : -1));
    be64_put(p + 43, (uint64_t)o->producer_id);
    be16_put(p + 51, (uint16_t)o->producer_epoch);
    be32_put(p + 53, (uint32_t)o->base_sequence);
    be32_put(p + 57, (uint32_t)w->count);
    be32_put(p + KREC_V2_CRC_OFFSET, crc32c(p + KREC_V2_ATTR_OFFSET, total - KREC_V2_ATTR_OFFSET));
    return 0;
}

static int finish_wrapper(krec_writer_t *w)
{
    const krec_build_t *o = &w->o;
    if (w->count == 0)
        return 0;
    buf_t c = BUF_INIT;
    if (compress_encode(o->codec, w->scratch.data, w->scratch.len, encode_flags(o->magic, o->codec), &c)) {
        buf_free(&c);
        return -CORRUPT;
    }
    if (c.len > INT32_MAX - 64) {
        buf_free(&c);
        return -TOO_LARGE;
    }
    uint8_t attr = (uint8_t)o->codec;
    int64_t ts = w->max_ts;
    if (o->magic == KREC_MAGIC_V1 && o->ts_type == KREC_TS_LOG_APPEND) {
        attr |= KREC_ATTR_LOG_APPEND;
        ts = o->log_append_time;
    }
    legacy_put(w->out, o->magic, w->last_offset, attr, ts, NULL, -1, c.data, (int32_t)c.len);
    buf_free(&c);
    return 0;
}

int krec_writer_finish(krec_writer_t *w)
{
    int rc = w->err;
    if (rc == 0) {
        if (w->o.magic == KREC_MAGIC_V2)
            rc = finish_v2(w);
        else if (w->o.codec)
            rc = finish_wrapper(w);
    }
    if (rc)
        w->out->len = w->start;
    buf_free(&w->scratch);
    return rc;
}

int krec_build(buf_t *out, const krec_build_t *o, const krec_record_t *recs, size_t n)
{
    krec_writer_t w;
    krec_writer_begin(&w, o, out);
    for (size_t i = 0; i < n; i++)
        if (krec_writer_add(&w, &recs[i]))
            break;
    return krec_writer_finish(&w);
}

/* ---- append ------------------------------------------------------------------------------- */

/* Re-encodes the records of data into v2 batches under o (offsets from *next on): one batch
 * for legacy data, one per batch for v2 data (keeping its producer fields). */
static int rebuild(const uint8_t *data, size_t len, const krec_limits_t *lim, const krec_build_t *tmpl, int64_t *next,
                   buf_t *out, const char **why)
{
    size_t pos = 0;
    krec_batch_t b;
    krec_writer_t w;
    bool writing = false;
    int rc = 0;
    while (rc == 0 && krec_batch_next(data, len, &pos, &b, why) == KREC_BATCH_OK) {
        if (!writing || b.magic == KREC_MAGIC_V2) {
            if (writing && (rc = krec_writer_finish(&w)) != 0)
                return rc;
            krec_build_t o = *tmpl;
            o.base_offset = *next;
            if (b.magic == KREC_MAGIC_V2) {
                o.producer_id = b.producer_id;
                o.producer_epoch = b.producer_epoch;
                o.base_sequence = b.base_sequence;
                o.transactional = b.transactional;
            }
            krec_writer_begin(&w, &o, out);
            writing = true;
        }
        krec_recs_t r;
        krec_record_t rec;
        rc = krec_recs_open(&r, &b, lim->max_decompressed, KREC_F_NO_CRC);
        while (rc == 0 && (rc = krec_recs_next(&r, &rec)) == 1) {
            rec.offset = (*next)++;
            if (b.magic == KREC_MAGIC_V0)
                rec.timestamp = -1;
            rc = krec_writer_add(&w, &rec);
        }
        krec_recs_close(&r);
    }
    if (!writing)
        return rc;
    if (rc < 0) {
        krec_writer_abort(&w);
        return rc;
    }
    return krec_writer_finish(&w);
}

/* The common old-client case in one pass: a run of uncompressed magic 0 or magic 1 messages
 * (Produce v0-v2) stored uncompressed. Each message is checked (framing, lengths, CRC, the
 * limits) and written straight into one preallocated v2 batch, with exactly the bytes
 * rebuild() and the writer make. Returns 1 when it did the whole append, or 0 (out->len as it
 * was) for anything else: another format or codec, or any check failing; the general path
 * then redoes the work and reports the error exactly as before. */
static int append_legacy_fast(const uint8_t *data, size_t len, const krec_limits_t *l, krec_append_t *a,
                              buf_t *out)
{
    if (len < KREC_LOG_OVERHEAD + KREC_V0_MIN_SIZE || (l->produce_version >= 3) ||
        (a->target_codec != -1 && a->target_codec != COMPRESS_NONE) || a->base_offset < 0 ||
        a->base_offset > INT64_MAX - INT32_MAX)
        return 0;
    int magic = data[16];
    if (magic != KREC_MAGIC_V0 && magic != KREC_MAGIC_V1)
        return 0;
    bool log_append = a->ts_type == KREC_TS_LOG_APPEND;
    size_t start = out->len;
    /* a v2 record is at most 6 bytes longer than the legacy message it comes from (>= 26 bytes) */
    buf_reserve(out, KREC_V2_HEADER_SIZE + len + len / 4 + 16);
    uint8_t *hdr = out->data + start, *q = hdr + KREC_V2_HEADER_SIZE;
    size_t pos = 0, hsize = magic == KREC_MAGIC_V1 ? 26 : 18;
    size_t min = magic == KREC_MAGIC_V1 ? KREC_V1_MIN_SIZE : KREC_V0_MIN_SIZE;
    int32_t count = 0;
    int64_t first_ts = -1, max_ts = -1;
    while (pos < len) {
        const uint8_t *m = data + pos;
        size_t left = len - pos;
        if (left < KREC_LOG_OVERHEAD + min)
            return 0;
        int32_t size = (int32_t)be32_get(m + 8);
        if (size < 0 || (size_t)size < min || (size_t)size > left - KREC_LOG_OVERHEAD || m[16] != magic ||
            (m[17] & KREC_ATTR_CODEC_MASK) != COMPRESS_NONE)
            return 0;
        size_t total = KREC_LOG_OVERHEAD + (size_t)size;
        if (total > l->max_message_bytes || count == INT32_MAX)
            return 0;
        int64_t ts = magic == KREC_MAGIC_V1 ? (int64_t)be64_get(m + 18) : -1;
        size_t off = hsize;
        int32_t klen = (int32_t)be32_get(m + off);
        off += 4;
        if (klen < -1 || (klen > 0 && (size_t)klen > total - off - 4) || (l->compacted && klen < 0))
            return 0;
        const uint8_t *key = m + off;
        off += klen > 0 ? (size_t)klen : 0;
        int32_t vlen = (int32_t)be32_get(m + off);
        off += 4;
        if (vlen < -1 || (size_t)(vlen < 0 ? 0 : vlen) != total - off)
            return 0;
        if (crc32_ieee(m + 16, total - 16) != be32_get(m + 12))
            return 0;
        /* the record, as krec_writer_add writes it */
        if (count == 0)
            first_ts = ts;
        if (ts > max_ts)
            max_ts = ts;
        int64_t tsd = ts_sub(ts, first_ts);
        int64_t rsize = 1 + varint_size_s64(tsd) + varint_size_s64(count) + vsize_bytes(klen) + vsize_bytes(vlen) + 1;
        q = vput_s64(q, rsize);
        *q++ = m[17];
        q = vput_s64(q, tsd);
        q = vput_s64(q, count);
        q = vput_bytes(q, key, klen);
        q = vput_bytes(q, m + off, vlen);
        *q++ = 0;   /* no headers */
        count++;
        pos += total;
    }
    size_t btotal = (size_t)(q - hdr);
    if (btotal > l->max_message_bytes)
        return 0;
    int64_t bmax = log_append ? a->now_ms : max_ts;
    be64_put(hdr, (uint64_t)a->base_offset);
    be32_put(hdr + 8, (uint32_t)(btotal - KREC_LOG_OVERHEAD));
    be32_put(hdr + 12, (uint32_t)a->partition_leader_epoch);
    hdr[16] = KREC_MAGIC_V2;
    be16_put(hdr + 21, log_append ? KREC_ATTR_LOG_APPEND : 0);
    be32_put(hdr + 23, (uint32_t)(count - 1));
    be64_put(hdr + 27, (uint64_t)first_ts);
    be64_put(hdr + 35, (uint64_t)bmax);
    be64_put(hdr + 43, (uint64_t)-1);
    be16_put(hdr + 51, (uint16_t)-1);
    be32_put(hdr + 53, (uint32_t)-1);
    be32_put(hdr + 57, (uint32_t)count);
    be32_put(hdr + KREC_V2_CRC_OFFSET, crc32c(hdr + KREC_V2_ATTR_OFFSET, btotal - KREC_V2_ATTR_OFFSET));
    out->len = start + btotal;
    memset(&a->info, 0, sizeof a->info);
    a->info.magic = (int8_t)magic;
    a->info.batches = count;
    a->info.record_count = count;
    a->info.max_timestamp = max_ts;
    a->info.producer_id = -1;
    a->info.producer_epoch = -1;
    a->info.base_sequence = -1;
    a->converted = true;
    a->log_append_time = log_append ? a->now_ms : -1;
    a->max_timestamp = bmax > -1 ? bmax : -1;
    a->last_offset = a->base_offset + count - 1;
    return 1;
}

int krec_append_prepare(const uint8_t *data, size_t len, const krec_limits_t *lim, krec_append_t *a, buf_t *out,
                        const char **why)
{
    krec_limits_t l;
    limits_or_default(lim, &l);
    if (append_legacy_fast(data, len, &l, a, out))
        return 0;
    buf_t batch_ts = BUF_INIT;
    int rc = validate(data, len, &l, &a->info, &batch_ts, why);
    size_t start = out->len;
    bool log_append = a->ts_type == KREC_TS_LOG_APPEND;
    int64_t next = a->base_offset;
    a->converted = false;
    a->log_append_time = log_append ? a->now_ms : -1;
    a->max_timestamp = -1;
    if (rc == 0 && a->info.record_count > 0) {
        bool recode = a->info.magic < KREC_MAGIC_V2;
        size_t pos = 0;
        krec_batch_t b;
        while (!recode && krec_batch_next(data, len, &pos, &b, NULL) == KREC_BATCH_OK)
            recode = a->target_codec >= 0 && b.codec != a->target_codec;
        if (recode) {
            krec_build_t o;
            krec_build_init(&o, KREC_MAGIC_V2, a->target_codec >= 0 ? a->target_codec : a->info.codec);
            o.ts_type = log_append ? KREC_TS_LOG_APPEND : KREC_TS_CREATE;
            o.log_append_time = a->now_ms;
            o.partition_leader_epoch = a->partition_leader_epoch;
            rc = rebuild(data, len, &l, &o, &next, out, why);
            a->converted = true;
            /* conversion may have grown a batch past the limit */
            for (size_t p = start; rc == 0 && krec_batch_next(out->data, out->len, &p, &b, NULL) == KREC_BATCH_OK;)
                if (b.len > l.max_message_bytes)
                    rc = bad(why, "converted batch larger than the maximum message size", TOO_LARGE);
            pos = start;
            while (rc == 0 && krec_batch_next(out->data, out->len, &pos, &b, NULL) == KREC_BATCH_OK)
                if (b.max_timestamp > a->max_timestamp)
                    a->max_timestamp = b.max_timestamp;
        } else {
            pos = 0;
            for (size_t i = 0; krec_batch_next(data, len, &pos, &b, NULL) == KREC_BATCH_OK; i++) {
                size_t off = out->len;
                buf_put(out, b.data, b.len);
                uint8_t *p = out->data + off;
                int64_t max_ts;
                memcpy(&max_ts, batch_ts.data + i * sizeof max_ts, sizeof max_ts);
                uint16_t attr = be16_get(p + KREC_V2_ATTR_OFFSET);
                uint16_t new_attr = log_append ? (attr | KREC_ATTR_LOG_APPEND) : (attr & ~KREC_ATTR_LOG_APPEND);
                int64_t new_max = log_append ? a->now_ms : max_ts;
                be64_put(p, (uint64_t)next);
                be32_put(p + 12, (uint32_t)a->partition_leader_epoch);
                if (new_attr != attr || (int64_t)be64_get(p + 35) != new_max) {
                    be16_put(p + KREC_V2_ATTR_OFFSET, new_attr);
                    be64_put(p + 35, (uint64_t)new_max);
                    be32_put(p + KREC_V2_CRC_OFFSET, crc32c(p + KREC_V2_ATTR_OFFSET, b.len - KREC_V2_ATTR_OFFSET));
                }
                next = ts_add(next, (int64_t)b.last_offset_delta + 1);
                if (new_max > a->max_timestamp)
                    a->max_timestamp = new_max;
            }
        }
    }
    buf_free(&batch_ts);
    if (rc) {
        out->len = start;
        return rc;
    }
    a->last_offset = next - 1;
    return 0;
}

/* ---- down-conversion ---------------------------------------------------------------------- */

/* Varints read straight from memory, with exactly common/varint.c's rules (at most maxb
 * bytes; a 32-bit value must fit). false = malformed or past end. */
static inline bool vget(const uint8_t **pp, const uint8_t *end, int maxb, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int i = 0; i < maxb; i++) {
        if (p == end)
            return false;
        uint8_t c = *p++;
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *pp = p;
            *out = v;
            return maxb == 10 || v <= 0xffffffffu;
        }
    }
    return false;
}

static inline bool vget_s32(const uint8_t **pp, const uint8_t *end, int32_t *out)
{
    uint64_t u;
    if (!vget(pp, end, 5, &u))
        return false;
    *out = (int32_t)((uint32_t)u >> 1) ^ -(int32_t)(u & 1);
    return true;
}

static inline bool vget_s64(const uint8_t **pp, const uint8_t *end, int64_t *out)
{
    uint64_t u;
    if (!vget(pp, end, 10, &u))
        return false;
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return true;
}

/* Takes a varint length (-1 = null when nullable) and that many bytes. */
static inline bool vget_bytes(const uint8_t **pp, const uint8_t *end, bool nullable, const uint8_t **bp,
                              int32_t *n)
{
    if (!vget_s32(pp, end, n) || *n < (nullable ? -1 : 0) || (*n > 0 && (size_t)*n > (size_t)(end - *pp)))
        return false;
    *bp = *pp;
    if (*n > 0)
        *pp += *n;
    return true;
}

/* Down-converts one uncompressed v2 batch to uncompressed legacy messages in one pass, with
 * exactly the bytes the record reader + legacy writer make. Returns 1 when done, 0 (out->len
 * as it was) for anything irregular: the general path then redoes it and reports errors. */
static int down_v2_plain(const krec_batch_t *b, int to_magic, buf_t *out)
{
    if (b->magic != KREC_MAGIC_V2 || b->codec != COMPRESS_NONE || b->control || b->record_count < 0 ||
        (size_t)b->record_count > b->payload_len / V2_MIN_RECORD || !krec_batch_crc_ok(b))
        return 0;
    size_t start = out->len;
    const uint8_t *p = b->payload, *end = b->payload + b->payload_len;
    bool log_append = b->ts_type == KREC_TS_LOG_APPEND;
    uint8_t attr = to_magic == KREC_MAGIC_V1 && log_append ? KREC_ATTR_LOG_APPEND : 0;
    int64_t last = 0;
    buf_reserve(out, b->payload_len + (size_t)b->record_count * (KREC_LOG_OVERHEAD + KREC_V1_MIN_SIZE));
    for (int32_t i = 0; i < b->record_count; i++) {
        int32_t rlen, off_delta, klen, vlen, hcount;
        int64_t ts_delta;
        const uint8_t *key, *value;
        if (!vget_s32(&p, end, &rlen) || rlen < 0 || (size_t)rlen > (size_t)(end - p))
            goto irregular;
        const uint8_t *rend = p + rlen;
        if (p == rend)
            goto irregular;
        p++;   /* record attributes: not carried into legacy messages */
        if (!vget_s64(&p, rend, &ts_delta) || !vget_s32(&p, rend, &off_delta) || off_delta < 0 ||
            !vget_bytes(&p, rend, true, &key, &klen) || !vget_bytes(&p, rend, true, &value, &vlen) ||
            !vget_s32(&p, rend, &hcount) || hcount < 0 || (size_t)hcount > (size_t)(rend - p) / 2)
            goto irregular;
        for (int32_t h = 0; h < hcount; h++) {
            const uint8_t *hp;
            int32_t hn;
            if (!vget_bytes(&p, rend, false, &hp, &hn) || !vget_bytes(&p, rend, true, &hp, &hn))
                goto irregular;
        }
        if (p != rend)
            goto irregular;
        int64_t off = ts_add(b->base_offset, off_delta);
        if (off < b->base_offset || (i > 0 && off <= last))
            goto irregular;
        last = off;
        int64_t ts = log_append ? b->max_timestamp : ts_add(b->first_timestamp, ts_delta);
        legacy_put(out, to_magic, off, attr, ts, klen >= 0 ? key : NULL, klen, vlen >= 0 ? value : NULL, vlen);
    }
    if (p != end)
        goto irregular;
    return 1;
irregular:
    out->len = start;
    return 0;
}

int krec_down_convert(const uint8_t *data, size_t len, int to_magic, size_t max_bytes, size_t max_decompressed,
                      buf_t *out, size_t *consumed, const char **why)
{
    size_t start = out->len, pos = 0;
    int rc = 0;
    if (to_magic < KREC_MAGIC_V0 || to_magic > KREC_MAGIC_V2)
        return bad(why, "no such magic", INVALID);
    while (rc == 0) {
        if (max_bytes && out->len - start >= max_bytes)
            break;
        size_t here = pos;
        krec_batch_t b;
        int r = krec_batch_next(data, len, &pos, &b, why);
        if (r == KREC_BATCH_END || r == KREC_BATCH_TRUNCATED) {
            pos = here;
            break;
        }
        if (r < 0) {
            rc = r;
            break;
        }
        if (b.magic <= to_magic) {
            buf_put(out, b.data, b.len);
            continue;
        }
        if (b.control)
            continue;
        if (b.codec == COMPRESS_ZSTD) {
            rc = bad(why, "zstd data cannot be read by this fetch version", BAD_CODEC);
            break;
        }
        if (b.codec == COMPRESS_NONE && down_v2_plain(&b, to_magic, out))
            continue;
        krec_build_t o;
        krec_build_init(&o, to_magic, b.codec);
        o.base_offset = b.base_offset;
        if (b.ts_type == KREC_TS_LOG_APPEND) {
            o.ts_type = KREC_TS_LOG_APPEND;
            o.log_append_time = b.max_timestamp;
        }
        krec_writer_t w;
        krec_recs_t recs;
        krec_record_t rec;
        krec_writer_begin(&w, &o, out);
        rc = krec_recs_open(&recs, &b, max_decompressed, 0);
        while (rc == 0 && (rc = krec_recs_next(&recs, &rec)) == 1)
            rc = krec_writer_add(&w, &rec);
        if (rc < 0 && why)
            *why = recs.why ? recs.why : "record offsets out of order";
        krec_recs_close(&recs);
        if (rc < 0)
            krec_writer_abort(&w);
        else
            rc = krec_writer_finish(&w);
    }
    if (rc) {
        out->len = start;
        return rc;
    }
    if (consumed)
        *consumed = pos;
    return 0;
}
