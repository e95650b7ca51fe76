/* Unit tests: proto/kafka_records — real producer captures (kcat/librdkafka, kafka-python,
 * kafkajs, Kafka 0.9 Java; see vectors/records/capture.py) read exactly as kafka-python's own
 * reader reads them; produce validation, offset assignment, LogAppendTime, up- and
 * down-conversion, builders; hostile input (bad CRCs, inconsistent headers, truncation at
 * every offset, varint overruns, compression bombs) ending in Kafka error codes. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/compress.h"
#include "common/crc32c.h"
#include "common/varint.h"
#include "proto/kafka_records.h"
#include "tests/unit/krec_vectors.h"

static const char *const vectors[] = {
    "kcat-v2-none", "kcat-v2-gzip", "kcat-v2-snappy", "kcat-v2-lz4", "kcat-v2-zstd",
    "kcat-v1-none", "kcat-v1-gzip", "kcat-v1-snappy", "kcat-v1-lz4",
    "kcat-v0-none", "kcat-v0-gzip", "kcat-v0-snappy", "kcat-v0-lz4",
    "kafkapython-v0-none", "kafkapython-v0-gzip", "kafkapython-v0-snappy", "kafkapython-v0-lz4",
    "kafkapython-v1-none", "kafkapython-v1-gzip", "kafkapython-v1-snappy", "kafkapython-v1-lz4",
    "kafkapython-v2-none", "kafkapython-v2-gzip", "kafkapython-v2-snappy", "kafkapython-v2-lz4",
    "kafkapython-v2-zstd",
    "kafkajs-v2-none", "kafkajs-v2-gzip", "kafkajs-v1-gzip", "kafkajs-v0-none",
    "java09-v0-none", "java09-v0-gzip", "java09-v0-snappy", "java09-v0-lz4", "java09old-v0-snappy",
};
#define NVEC (sizeof vectors / sizeof *vectors)

/* ---- helpers ------------------------------------------------------------------------------ */

static void put_hexfield(buf_t *b, const uint8_t *p, int32_t n)
{
    if (n < 0) {
        buf_puts(b, " -");
        return;
    }
    buf_puts(b, " =");
    for (int32_t i = 0; i < n; i++)
        buf_printf(b, "%02x", p[i]);
}

/* A record in the .expect line format. */
static void fmt_record(buf_t *b, const krec_record_t *r)
{
    buf_printf(b, "R %" PRId64 " %" PRId64 " %d", r->offset, r->timestamp, r->ts_type);
    put_hexfield(b, r->key, r->key_len);
    put_hexfield(b, r->value, r->value_len);
    buf_printf(b, " %d", r->header_count);
    for (int32_t i = 0; i < r->header_count; i++) {
        put_hexfield(b, r->headers[i].key, r->headers[i].key_len);
        put_hexfield(b, r->headers[i].value, r->headers[i].value_len);
    }
    buf_put_u8(b, '\n');
}

static void fmt_batch(buf_t *b, const krec_batch_t *x)
{
    buf_printf(b, "B 2 %d %" PRId64 " %" PRId64 " %d %d %" PRId64 " %" PRId64 " %d %d %d\n", x->codec,
               x->base_offset, x->last_offset, x->record_count, x->ts_type, x->max_timestamp, x->producer_id,
               x->producer_epoch, x->base_sequence, x->transactional ? 1 : 0);
}

/* Reads a whole file (non-comment lines) into b. */
static void load_expect(const char *name, buf_t *b)
{
    char fn[256];
    snprintf(fn, sizeof fn, "%s.expect", name);
    FILE *f = vec_open(fn);
    ck_assert_msg(f != NULL, "%s missing", fn);
    char line[65536];
    while (fgets(line, sizeof line, f))
        if (line[0] != '#')
            buf_puts(b, line);
    fclose(f);
}

/* Every record of data in the .expect format (B lines for v2 batches). Returns the iterator's
 * final status. */
static int dump(const uint8_t *data, size_t len, unsigned flags, buf_t *out, bool batches)
{
    krec_iter_t it;
    krec_record_t r;
    krec_iter_init(&it, data, len, 0, flags);
    const uint8_t *last_batch = NULL;
    int rc;
    while ((rc = krec_iter_next(&it, &r)) == 1) {
        if (batches && it.batch.data != last_batch && it.batch.magic == 2)
            fmt_batch(out, &it.batch);
        last_batch = it.batch.data;
        fmt_record(out, &r);
    }
    krec_iter_free(&it);
    return rc;
}

static int count_records(const uint8_t *data, size_t len)
{
    krec_iter_t it;
    krec_record_t r;
    krec_iter_init(&it, data, len, 0, 0);
    int n = 0, rc;
    while ((rc = krec_iter_next(&it, &r)) == 1)
        n++;
    krec_iter_free(&it);
    return rc < 0 ? rc : n;
}

static void fix_v2_crc(uint8_t *batch, size_t len)
{
    be32_put(batch + KREC_V2_CRC_OFFSET, crc32c(batch + KREC_V2_ATTR_OFFSET, len - KREC_V2_ATTR_OFFSET));
}

static void fix_legacy_crc(uint8_t *m, size_t len)
{
    be32_put(m + 12, (uint32_t)crc32(0, m + 16, (uInt)(len - 16)));
}

static int validate(const buf_t *b, int produce_version)
{
    krec_limits_t lim = {0, 0, produce_version, false};
    krec_info_t info;
    return krec_validate_produce(b->data, b->len, &lim, &info, NULL);
}

static krec_record_t mkrec(int64_t off, int64_t ts, const char *key, const char *value)
{
    krec_record_t r;
    memset(&r, 0, sizeof r);
    r.offset = off;
    r.timestamp = ts;
    r.key = (const uint8_t *)key;
    r.key_len = key ? (int32_t)strlen(key) : -1;
    r.value = (const uint8_t *)value;
    r.value_len = value ? (int32_t)strlen(value) : -1;
    return r;
}

/* ---- golden vectors from real clients --------------------------------------------------- */

START_TEST(real_clients_read_like_kafka_python)
{
    const char *name = vectors[_i];
    char fn[256];
    snprintf(fn, sizeof fn, "%s.hex", name);
    buf_t data = BUF_INIT, want = BUF_INIT, got = BUF_INIT;
    vec_load_hex(fn, &data);
    load_expect(name, &want);
    ck_assert_int_eq(dump(data.data, data.len, 0, &got, true), 0);
    ck_assert_msg(got.len == want.len && memcmp(got.data, want.data, got.len) == 0, "%s:\nwant:\n%s\ngot:\n%s", name,
                  buf_cstr(&want), buf_cstr(&got));

    /* valid producer data under the Produce version its client used */
    krec_batch_t b;
    size_t pos = 0;
    ck_assert_int_eq(krec_batch_next(data.data, data.len, &pos, &b, NULL), KREC_BATCH_OK);
    krec_limits_t lim = {0, 0, b.magic == 2 ? 7 : 2, false};
    krec_info_t info;
    const char *why = NULL;
    ck_assert_msg(krec_validate_produce(data.data, data.len, &lim, &info, &why) == 0, "%s: %s", name, why);
    ck_assert_int_eq(info.magic, b.magic);
    ck_assert_int_eq(info.record_count, count_records(data.data, data.len));
    buf_free(&data);
    buf_free(&want);
    buf_free(&got);
}
END_TEST

/* Append (offsets from 1000, CreateTime), then read back and down-convert to magic 1 and 0:
 * the same keys, values (and headers where the format has them) at the assigned offsets. */
START_TEST(real_clients_append_and_convert)
{
    const char *name = vectors[_i];
    char fn[256];
    snprintf(fn, sizeof fn, "%s.hex", name);
    buf_t data = BUF_INIT, log = BUF_INIT;
    vec_load_hex(fn, &data);
    krec_append_t a = {.base_offset = 1000, .partition_leader_epoch = 7, .ts_type = KREC_TS_CREATE,
                       .now_ms = 1800000000000LL, .target_codec = -1};
    const char *why = NULL;
    ck_assert_msg(krec_append_prepare(data.data, data.len, NULL, &a, &log, &why) == 0, "%s: %s", name, why);
    int n = count_records(data.data, data.len);
    ck_assert_int_eq(a.last_offset, 1000 + n - 1);
    ck_assert_int_eq(a.log_append_time, -1);
    ck_assert(a.converted == (a.info.magic < 2));

    /* the log holds v2 batches only, valid CRCs, offsets 1000.. */
    size_t pos = 0;
    krec_batch_t b;
    ck_assert_int_eq(krec_batch_next(log.data, log.len, &pos, &b, NULL), KREC_BATCH_OK);
    ck_assert_int_eq(b.magic, 2);
    ck_assert_int_eq(b.base_offset, 1000);
    ck_assert_int_eq(b.partition_leader_epoch, 7);
    ck_assert_int_eq(b.codec, a.info.codec);
    ck_assert(krec_batch_crc_ok(&b));
    ck_assert_int_eq(pos, log.len);

    krec_iter_t src, dst;
    krec_record_t rs, rd;
    krec_iter_init(&src, data.data, data.len, 0, 0);
    krec_iter_init(&dst, log.data, log.len, 0, 0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(krec_iter_next(&src, &rs), 1);
        ck_assert_int_eq(krec_iter_next(&dst, &rd), 1);
        ck_assert_int_eq(rd.offset, 1000 + i);
        ck_assert_int_eq(rd.timestamp, a.info.magic == 0 ? -1 : rs.timestamp);
        ck_assert_int_eq(rd.ts_type, KREC_TS_CREATE);
        ck_assert_int_eq(rd.key_len, rs.key_len);
        ck_assert_int_eq(rd.value_len, rs.value_len);
        ck_assert(rs.key_len <= 0 || memcmp(rd.key, rs.key, (size_t)rs.key_len) == 0);
        ck_assert(rs.value_len <= 0 || memcmp(rd.value, rs.value, (size_t)rs.value_len) == 0);
        ck_assert_int_eq(rd.header_count, rs.header_count);
        if (rd.timestamp > a.max_timestamp)
            ck_abort_msg("max timestamp %" PRId64 " below a record's %" PRId64, a.max_timestamp, rd.timestamp);
    }
    ck_assert_int_eq(krec_iter_next(&dst, &rd), 0);
    krec_iter_free(&src);
    krec_iter_free(&dst);

    /* down-conversion for old fetchers */
    for (int magic = 0; magic <= 1; magic++) {
        buf_t old = BUF_INIT;
        size_t used = 0;
        int rc = krec_down_convert(log.data, log.len, magic, 0, 0, &old, &used, &why);
        if (b.codec == COMPRESS_ZSTD) {
            ck_assert_int_eq(rc, -KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE);
            ck_assert_uint_eq(old.len, 0);
            buf_free(&old);
            continue;
        }
        ck_assert_msg(rc == 0, "%s to magic %d: %s", name, magic, why);
        ck_assert_uint_eq(used, log.len);
        krec_iter_init(&src, log.data, log.len, 0, 0);
        krec_iter_init(&dst, old.data, old.len, 0, 0);
        for (int i = 0; i < n; i++) {
            ck_assert_int_eq(krec_iter_next(&src, &rs), 1);
            ck_assert_int_eq(krec_iter_next(&dst, &rd), 1);
            ck_assert_int_eq(dst.batch.magic, magic);
            ck_assert_int_eq(dst.batch.codec, b.codec);
            ck_assert_int_eq(rd.offset, rs.offset);
            ck_assert_int_eq(rd.timestamp, magic == 0 ? -1 : rs.timestamp);
            ck_assert_int_eq(rd.key_len, rs.key_len);
            ck_assert_int_eq(rd.value_len, rs.value_len);
            ck_assert(rs.value_len <= 0 || memcmp(rd.value, rs.value, (size_t)rs.value_len) == 0);
        }
        ck_assert_int_eq(krec_iter_next(&dst, &rd), 0);
        krec_iter_free(&src);
        krec_iter_free(&dst);
        buf_free(&old);
    }
    buf_free(&data);
    buf_free(&log);
}
END_TEST

START_TEST(log_append_time)
{
    buf_t data = BUF_INIT, log = BUF_INIT;
    static const char *const names[] = {"kafkajs-v2-gzip", "kcat-v2-none", "kafkapython-v1-snappy", "java09-v0-lz4"};
    char fn[64];
    snprintf(fn, sizeof fn, "%s.hex", names[_i]);
    vec_load_hex(fn, &data);
    krec_append_t a = {.base_offset = 5, .partition_leader_epoch = 1, .ts_type = KREC_TS_LOG_APPEND,
                       .now_ms = 1800000000123LL, .target_codec = -1};
    ck_assert_int_eq(krec_append_prepare(data.data, data.len, NULL, &a, &log, NULL), 0);
    ck_assert_int_eq(a.log_append_time, 1800000000123LL);
    ck_assert_int_eq(a.max_timestamp, 1800000000123LL);
    size_t pos = 0;
    krec_batch_t b;
    ck_assert_int_eq(krec_batch_next(log.data, log.len, &pos, &b, NULL), KREC_BATCH_OK);
    ck_assert_int_eq(b.ts_type, KREC_TS_LOG_APPEND);
    ck_assert_int_eq(b.max_timestamp, 1800000000123LL);
    ck_assert(krec_batch_crc_ok(&b));
    krec_iter_t it;
    krec_record_t r;
    krec_iter_init(&it, log.data, log.len, 0, 0);
    int n = 0;
    while (krec_iter_next(&it, &r) == 1) {
        ck_assert_int_eq(r.timestamp, 1800000000123LL);
        ck_assert_int_eq(r.ts_type, KREC_TS_LOG_APPEND);
        ck_assert_int_eq(r.offset, 5 + n);
        n++;
    }
    ck_assert_int_eq(it.err, 0);
    krec_iter_free(&it);
    /* down-converted to magic 1: LogAppendTime on the wrapper / messages, same time */
    buf_t old = BUF_INIT;
    ck_assert_int_eq(krec_down_convert(log.data, log.len, 1, 0, 0, &old, NULL, NULL), 0);
    krec_iter_init(&it, old.data, old.len, 0, 0);
    while (krec_iter_next(&it, &r) == 1) {
        ck_assert_int_eq(r.timestamp, 1800000000123LL);
        ck_assert_int_eq(r.ts_type, KREC_TS_LOG_APPEND);
        ck_assert(it.batch.attributes & KREC_ATTR_LOG_APPEND);
    }
    ck_assert_int_eq(it.err, 0);
    krec_iter_free(&it);
    buf_free(&old);
    buf_free(&data);
    buf_free(&log);
}
END_TEST

START_TEST(v2_append_patches_in_place)
{
    buf_t data = BUF_INIT, log = BUF_INIT;
    vec_load_hex("kcat-v2-snappy.hex", &data);
    krec_append_t a = {.base_offset = 42, .partition_leader_epoch = 3, .ts_type = KREC_TS_CREATE, .target_codec = -1};
    ck_assert_int_eq(krec_append_prepare(data.data, data.len, NULL, &a, &log, NULL), 0);
    ck_assert_uint_eq(log.len, data.len);
    /* only baseOffset and partitionLeaderEpoch differ; the CRC still holds */
    ck_assert(memcmp(log.data + 16, data.data + 16, data.len - 16) == 0);
    ck_assert_int_eq((int64_t)be64_get(log.data), 42);
    ck_assert_int_eq(be32_get(log.data + 12), 3);
    ck_assert_int_eq(a.last_offset, 45);
    ck_assert_int_eq(a.info.producer_id, -1);
    ck_assert_int_eq(a.info.codec, COMPRESS_SNAPPY);

    /* a wrong maxTimestamp from the producer is corrected, with a new CRC */
    buf_reset(&log);
    be64_put(data.data + 35, 5);
    fix_v2_crc(data.data, data.len);
    ck_assert_int_eq(krec_append_prepare(data.data, data.len, NULL, &a, &log, NULL), 0);
    krec_batch_t b;
    size_t pos = 0;
    ck_assert_int_eq(krec_batch_next(log.data, log.len, &pos, &b, NULL), KREC_BATCH_OK);
    ck_assert_int_eq(b.max_timestamp, a.info.max_timestamp);
    ck_assert_int_ne(b.max_timestamp, 5);
    ck_assert(krec_batch_crc_ok(&b));

    /* a topic codec other than the producer's recompresses */
    buf_reset(&log);
    a.target_codec = COMPRESS_ZSTD;
    ck_assert_int_eq(krec_append_prepare(data.data, data.len, NULL, &a, &log, NULL), 0);
    ck_assert(a.converted);
    pos = 0;
    ck_assert_int_eq(krec_batch_next(log.data, log.len, &pos, &b, NULL), KREC_BATCH_OK);
    ck_assert_int_eq(b.codec, COMPRESS_ZSTD);
    ck_assert_int_eq(b.base_offset, 42);
    ck_assert_int_eq(count_records(log.data, log.len), 4);
    buf_free(&data);
    buf_free(&log);
}
END_TEST

START_TEST(idempotent_fields_reported)
{
    krec_build_t o;
    krec_build_init(&o, 2, COMPRESS_LZ4);
    o.producer_id = 4000;
    o.producer_epoch = 3;
    o.base_sequence = 17;
    o.transactional = true;
    krec_record_t recs[3] = {mkrec(0, 10, "a", "1"), mkrec(1, 12, NULL, "2"), mkrec(2, 11, "c", NULL)};
    buf_t b = BUF_INIT, log = BUF_INIT;
    ck_assert_int_eq(krec_build(&b, &o, recs, 3), 0);
    krec_append_t a = {.base_offset = 100, .ts_type = KREC_TS_CREATE, .target_codec = -1};
    krec_limits_t lim = {0, 0, 7, false};
    ck_assert_int_eq(krec_append_prepare(b.data, b.len, &lim, &a, &log, NULL), 0);
    ck_assert_int_eq(a.info.producer_id, 4000);
    ck_assert_int_eq(a.info.producer_epoch, 3);
    ck_assert_int_eq(a.info.base_sequence, 17);
    ck_assert(a.info.transactional);
    ck_assert_int_eq(a.info.record_count, 3);
    ck_assert_int_eq(a.info.max_timestamp, 12);
    ck_assert_int_eq(a.last_offset, 102);
    ck_assert_int_eq(a.max_timestamp, 12);
    /* compacted topic: the null key is refused */
    lim.compacted = true;
    buf_reset(&log);
    ck_assert_int_eq(krec_append_prepare(b.data, b.len, &lim, &a, &log, NULL), -KREC_ERR_INVALID_RECORD);
    ck_assert_uint_eq(log.len, 0);
    buf_free(&b);
    buf_free(&log);
}
END_TEST

/* ---- builders ----------------------------------------------------------------------------- */

START_TEST(build_roundtrip_all_formats)
{
    krec_header_t h[2] = {{(const uint8_t *)"k", 1, (const uint8_t *)"v", 1}, {(const uint8_t *)"n", 1, NULL, -1}};
    krec_record_t recs[4] = {mkrec(10, 1000, "a", "one"), mkrec(11, 990, NULL, "two"), mkrec(15, 1005, "", NULL),
                             mkrec(16, 1001, "d", "")};
    recs[0].headers = h;
    recs[0].header_count = 2;
    for (int magic = 0; magic <= 2; magic++) {
        for (int codec = 0; codec < COMPRESS_NCODECS; codec++) {
            krec_build_t o;
            krec_build_init(&o, magic, codec);
            o.base_offset = 10;
            buf_t b = BUF_INIT;
            int rc = krec_build(&b, &o, recs, 4);
            if (codec == COMPRESS_ZSTD && magic < 2) {
                ck_assert_int_eq(rc, -KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE);
                ck_assert_uint_eq(b.len, 0);
                continue;
            }
            ck_assert_int_eq(rc, 0);
            krec_iter_t it;
            krec_record_t r;
            krec_iter_init(&it, b.data, b.len, 0, 0);
            for (int i = 0; i < 4; i++) {
                ck_assert_msg(krec_iter_next(&it, &r) == 1, "magic %d codec %d: %s", magic, codec, it.why);
                ck_assert_int_eq(it.batch.magic, magic);
                ck_assert_int_eq(it.batch.codec, codec);
                ck_assert_int_eq(r.offset, recs[i].offset);
                ck_assert_int_eq(r.timestamp, magic == 0 ? -1 : recs[i].timestamp);
                ck_assert_int_eq(r.key_len, recs[i].key_len);
                ck_assert_int_eq(r.value_len, recs[i].value_len);
                ck_assert(r.key_len <= 0 || memcmp(r.key, recs[i].key, (size_t)r.key_len) == 0);
                ck_assert(r.value_len <= 0 || memcmp(r.value, recs[i].value, (size_t)r.value_len) == 0);
                ck_assert_int_eq(r.header_count, magic == 2 ? recs[i].header_count : 0);
            }
            if (magic == 2) {
                ck_assert_int_eq(it.batch.max_timestamp, 1005);
                ck_assert_int_eq(it.batch.first_timestamp, 1000);
                ck_assert_int_eq(it.batch.last_offset, 16);
                ck_assert_int_eq(it.batch.record_count, 4);
            }
            ck_assert_int_eq(krec_iter_next(&it, &r), 0);
            krec_iter_free(&it);
            /* headers of the first record survived (v2 only) */
            if (magic == 2) {
                krec_iter_init(&it, b.data, b.len, 0, 0);
                ck_assert_int_eq(krec_iter_next(&it, &r), 1);
                ck_assert_int_eq(r.headers[0].key_len, 1);
                ck_assert(r.headers[0].key[0] == 'k' && r.headers[0].value[0] == 'v');
                ck_assert_int_eq(r.headers[1].value_len, -1);
                ck_assert_ptr_null(r.headers[1].value);
                krec_iter_free(&it);
            }
            buf_free(&b);
        }
    }
}
END_TEST

START_TEST(build_rejects_bad_offsets_and_formats)
{
    krec_record_t recs[2] = {mkrec(5, 0, "a", "b"), mkrec(5, 0, "a", "b")};
    krec_build_t o;
    buf_t b = BUF_INIT;
    buf_puts(&b, "prefix");
    krec_build_init(&o, 2, 0);
    ck_assert_int_eq(krec_build(&b, &o, recs, 2), -KREC_ERR_INVALID_RECORD);   /* offset repeats */
    o.base_offset = 6;
    ck_assert_int_eq(krec_build(&b, &o, recs, 1), -KREC_ERR_INVALID_RECORD);   /* below the base */
    krec_build_init(&o, 3, 0);
    ck_assert_int_eq(krec_build(&b, &o, recs, 1), -KREC_ERR_INVALID_RECORD);
    krec_build_init(&o, 2, 6);
    ck_assert_int_eq(krec_build(&b, &o, recs, 1), -KREC_ERR_INVALID_RECORD);
    ck_assert_uint_eq(b.len, 6);
    /* an empty v2 batch is legal (Kafka keeps them for producer state); legacy writes nothing */
    krec_build_init(&o, 2, COMPRESS_GZIP);
    ck_assert_int_eq(krec_build(&b, &o, NULL, 0), 0);
    ck_assert_uint_eq(b.len, 6 + KREC_V2_HEADER_SIZE + 20);   /* header + an empty gzip member */
    krec_build_init(&o, 1, COMPRESS_GZIP);
    size_t was = b.len;
    ck_assert_int_eq(krec_build(&b, &o, NULL, 0), 0);
    ck_assert_uint_eq(b.len, was);
    buf_free(&b);
}
END_TEST

START_TEST(control_batch_build_and_iterate)
{
    /* a commit marker as the transaction coordinator writes it: key = version 0, type 1 */
    static const uint8_t key[4] = {0, 0, 0, 1};
    static const uint8_t val[6] = {0, 0, 0, 0, 0, 0};
    krec_record_t r;
    memset(&r, 0, sizeof r);
    r.offset = 7;
    r.timestamp = 99;
    r.key = key;
    r.key_len = 4;
    r.value = val;
    r.value_len = 6;
    krec_build_t o;
    krec_build_init(&o, 2, 0);
    o.base_offset = 7;
    o.control = o.transactional = true;
    o.producer_id = 1;
    o.producer_epoch = 0;
    buf_t b = BUF_INIT, old = BUF_INIT;
    ck_assert_int_eq(krec_build(&b, &o, &r, 1), 0);
    krec_iter_t it;
    krec_record_t got;
    krec_iter_init(&it, b.data, b.len, 0, 0);
    ck_assert_int_eq(krec_iter_next(&it, &got), 1);
    ck_assert(it.batch.control && it.batch.transactional);
    krec_iter_free(&it);
    /* clients may not send it; old fetchers never see it */
    ck_assert_int_eq(validate(&b, 7), -KREC_ERR_INVALID_RECORD);
    size_t used;
    ck_assert_int_eq(krec_down_convert(b.data, b.len, 1, 0, 0, &old, &used, NULL), 0);
    ck_assert_uint_eq(old.len, 0);
    ck_assert_uint_eq(used, b.len);
    buf_free(&b);
    buf_free(&old);
}
END_TEST

/* ---- down-conversion details -------------------------------------------------------------- */

START_TEST(down_convert_framing_and_limits)
{
    krec_record_t recs[3] = {mkrec(0, 1, "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), mkrec(1, 2, "b", "bb"), mkrec(2, 3, "c", "c")};
    buf_t log = BUF_INIT, out = BUF_INIT;
    krec_build_t o;
    /* three batches: lz4, snappy, none (offsets 0-2, 3-5, 6-8) */
    static const int codecs[3] = {COMPRESS_LZ4, COMPRESS_SNAPPY, COMPRESS_NONE};
    for (int i = 0; i < 3; i++) {
        krec_build_init(&o, 2, codecs[i]);
        o.base_offset = 3 * i;
        for (int k = 0; k < 3; k++)
            recs[k].offset = 3 * i + k;
        ck_assert_int_eq(krec_build(&log, &o, recs, 3), 0);
    }
    size_t used;
    ck_assert_int_eq(krec_down_convert(log.data, log.len, 0, 0, 0, &out, &used, NULL), 0);
    ck_assert_uint_eq(used, log.len);
    /* lz4 wrapper for magic 0 carries the KAFKA-3160 header checksum; snappy is xerial-framed */
    krec_batch_t b;
    size_t pos = 0;
    ck_assert_int_eq(krec_batch_next(out.data, out.len, &pos, &b, NULL), KREC_BATCH_OK);
    ck_assert_int_eq(b.codec, COMPRESS_LZ4);
    ck_assert_int_eq(b.base_offset, 2);   /* wrapper offset = last inner */
    ck_assert_uint_eq(b.payload[6], (uint8_t)(compress_xxh32(b.payload, 6, 0) >> 8));
    ck_assert_int_eq(krec_batch_next(out.data, out.len, &pos, &b, NULL), KREC_BATCH_OK);
    ck_assert_int_eq(b.codec, COMPRESS_SNAPPY);
    ck_assert(memcmp(b.payload, "\x82SNAPPY", 7) == 0);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(krec_batch_next(out.data, out.len, &pos, &b, NULL), KREC_BATCH_OK);
        ck_assert_int_eq(b.codec, 0);
        ck_assert_int_eq(b.base_offset, 6 + k);
    }
    ck_assert_int_eq(krec_batch_next(out.data, out.len, &pos, &b, NULL), KREC_BATCH_END);
    ck_assert_int_eq(count_records(out.data, out.len), 9);

    /* magic 1: the lz4 header checksum is the correct one */
    buf_reset(&out);
    ck_assert_int_eq(krec_down_convert(log.data, log.len, 1, 0, 0, &out, NULL, NULL), 0);
    pos = 0;
    ck_assert_int_eq(krec_batch_next(out.data, out.len, &pos, &b, NULL), KREC_BATCH_OK);
    ck_assert_uint_eq(b.payload[6], (uint8_t)(compress_xxh32(b.payload + 4, 2, 0) >> 8));
    ck_assert_int_eq(b.max_timestamp, 3);   /* CreateTime wrapper: the largest inner timestamp */

    /* max_bytes: stops after the batch that crosses it, never returns nothing */
    buf_reset(&out);
    ck_assert_int_eq(krec_down_convert(log.data, log.len, 0, 1, 0, &out, &used, NULL), 0);
    ck_assert_int_eq(count_records(out.data, out.len), 3);
    pos = 0;
    krec_batch_next(log.data, log.len, &pos, &b, NULL);
    ck_assert_uint_eq(used, pos);

    /* a truncated last batch is left out and not counted as consumed */
    buf_reset(&out);
    ck_assert_int_eq(krec_down_convert(log.data, log.len - 5, 0, 0, 0, &out, &used, NULL), 0);
    ck_assert_int_eq(count_records(out.data, out.len), 6);
    ck_assert_uint_lt(used, log.len - 5);

    /* already old enough: copied byte for byte */
    buf_t again = BUF_INIT;
    ck_assert_int_eq(krec_down_convert(out.data, out.len, 1, 0, 0, &again, NULL, NULL), 0);
    ck_assert(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);

    /* legacy magic 1 (wrapper offset = last inner) down to magic 0: absolute inner offsets */
    buf_t v1 = BUF_INIT, v0 = BUF_INIT, t1 = BUF_INIT, t0 = BUF_INIT;
    ck_assert_int_eq(krec_down_convert(log.data, log.len, 1, 0, 0, &v1, NULL, NULL), 0);
    pos = 0;
    ck_assert_int_eq(krec_batch_next(v1.data, v1.len, &pos, &b, NULL), KREC_BATCH_OK);
    ck_assert_int_eq(b.base_offset, 2);   /* the lz4 wrapper: offset of its last message */
    ck_assert_int_eq(krec_down_convert(v1.data, v1.len, 0, 0, 0, &v0, NULL, NULL), 0);
    ck_assert_int_eq(dump(v1.data, v1.len, 0, &t1, false), 0);
    ck_assert_int_eq(dump(v0.data, v0.len, 0, &t0, false), 0);
    ck_assert_int_eq(count_records(v0.data, v0.len), 9);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&t0), "R 0 -1 -1 =61 ="));
    ck_assert_ptr_nonnull(strstr(buf_cstr(&t0), "R 8 -1 -1 =63 =63 0"));
    pos = 0;
    ck_assert_int_eq(krec_batch_next(v0.data, v0.len, &pos, &b, NULL), KREC_BATCH_OK);
    ck_assert_int_eq(b.magic, 0);
    ck_assert_int_eq(b.codec, COMPRESS_LZ4);
    buf_free(&v1);
    buf_free(&v0);
    buf_free(&t1);
    buf_free(&t0);

    /* a damaged batch fails the whole call, leaving the output as it was */
    log.data[log.len - 1] ^= 1;
    buf_reset(&again);
    buf_puts(&again, "x");
    ck_assert_int_eq(krec_down_convert(log.data, log.len, 0, 0, 0, &again, NULL, NULL), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_uint_eq(again.len, 1);
    buf_free(&again);
    buf_free(&log);
    buf_free(&out);
}
END_TEST

/* ---- hostile input ------------------------------------------------------------------------ */

/* A small uncompressed v2 batch of 3 records to damage. */
static void sample_v2(buf_t *b, int codec)
{
    krec_header_t h = {(const uint8_t *)"hk", 2, (const uint8_t *)"hv", 2};
    krec_record_t recs[3] = {mkrec(0, 100, "k1", "v1"), mkrec(1, 101, "k2", "v2"), mkrec(2, 102, "k3", "v3")};
    recs[1].headers = &h;
    recs[1].header_count = 1;
    krec_build_t o;
    krec_build_init(&o, 2, codec);
    ck_assert_int_eq(krec_build(b, &o, recs, 3), 0);
}

START_TEST(bad_crc)
{
    buf_t b = BUF_INIT;
    sample_v2(&b, 0);
    ck_assert_int_eq(validate(&b, 7), 0);
    b.data[b.len - 1] ^= 0x40;
    ck_assert_int_eq(validate(&b, 7), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(count_records(b.data, b.len), -KREC_ERR_CORRUPT_MESSAGE);
    /* the CRC does not cover baseOffset/partitionLeaderEpoch, but covers attributes */
    b.data[b.len - 1] ^= 0x40;
    b.data[3] ^= 1;
    b.data[13] ^= 1;
    ck_assert_int_eq(validate(&b, 7), 0);
    b.data[KREC_V2_ATTR_OFFSET + 1] ^= KREC_ATTR_LOG_APPEND;
    ck_assert_int_eq(validate(&b, 7), -KREC_ERR_CORRUPT_MESSAGE);
    /* legacy CRC-32 */
    buf_t l = BUF_INIT;
    vec_load_hex("kcat-v1-gzip.hex", &l);
    l.data[40] ^= 1;
    ck_assert_int_eq(validate(&l, 2), -KREC_ERR_CORRUPT_MESSAGE);
    buf_free(&l);
    buf_free(&b);
}
END_TEST

START_TEST(inconsistent_v2_headers)
{
    buf_t b = BUF_INIT;
    const char *why = NULL;
    krec_limits_t lim = {0, 0, 7, false};
    /* record count one more / one less than the records (CRC fixed so the count is what fails) */
    for (int d = -1; d <= 1; d += 2) {
        buf_reset(&b);
        sample_v2(&b, 0);
        be32_put(b.data + 57, (uint32_t)(3 + d));
        be32_put(b.data + 23, (uint32_t)(2 + d));
        fix_v2_crc(b.data, b.len);
        ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    }
    /* count and lastOffsetDelta disagree */
    buf_reset(&b);
    sample_v2(&b, 0);
    be32_put(b.data + 23, 5);
    fix_v2_crc(b.data, b.len);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "record count does not match lastOffsetDelta");
    /* huge record count with tiny records: refused before anything is allocated */
    buf_reset(&b);
    sample_v2(&b, 0);
    be32_put(b.data + 57, 0x7fffffff);
    be32_put(b.data + 23, 0x7ffffffe);
    fix_v2_crc(b.data, b.len);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "record count larger than the records");
    /* negative count */
    be32_put(b.data + 57, 0xffffffff);
    fix_v2_crc(b.data, b.len);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_INVALID_RECORD);
    /* batchLength larger than the bytes: truncated; smaller: records run past its end */
    buf_reset(&b);
    sample_v2(&b, 0);
    be32_put(b.data + 8, (uint32_t)(b.len - 12 + 1));
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "truncated batch");
    be32_put(b.data + 8, (uint32_t)(b.len - 12 - 3));
    fix_v2_crc(b.data, b.len - 3);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    /* batchLength below the header size, negative, magic 3 */
    be32_put(b.data + 8, 48);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    be32_put(b.data + 8, 0x80000000u);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    buf_reset(&b);
    sample_v2(&b, 0);
    b.data[16] = 3;
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "unknown magic byte");
    /* bytes after the last record (batchLength and CRC cover them) */
    buf_reset(&b);
    sample_v2(&b, 0);
    buf_put_u8(&b, 0);
    be32_put(b.data + 8, (uint32_t)(b.len - 12));
    fix_v2_crc(b.data, b.len);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "bytes left after the last record");
    buf_free(&b);
}
END_TEST

/* Replaces the records of a v2 batch (header kept, count set) with raw bytes. */
static void v2_with_records(buf_t *b, int32_t count, const uint8_t *recs, size_t n)
{
    buf_reset(b);
    sample_v2(b, 0);
    b->len = KREC_V2_HEADER_SIZE;
    buf_put(b, recs, n);
    be32_put(b->data + 8, (uint32_t)(b->len - 12));
    be32_put(b->data + 23, (uint32_t)(count - 1));
    be32_put(b->data + 57, (uint32_t)count);
    fix_v2_crc(b->data, b->len);
}

START_TEST(hostile_records)
{
    buf_t b = BUF_INIT;
    const char *why;
    krec_limits_t lim = {0, 0, 7, false};
    /* well-formed baseline: len 8: attr, ts, off 0, key "a", value "b", no headers */
    static const uint8_t ok[] = {0x10, 0, 0, 0, 2, 'a', 2, 'b', 0};
    v2_with_records(&b, 1, ok, sizeof ok);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), 0);
    /* record length past the batch end */
    static const uint8_t longlen[] = {0x7e, 0, 0, 0, 2, 'a', 2, 'b', 0};
    v2_with_records(&b, 1, longlen, sizeof longlen);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    /* negative record length */
    static const uint8_t neglen[] = {0x01, 0, 0, 0, 2, 'a', 2, 'b', 0};
    v2_with_records(&b, 1, neglen, sizeof neglen);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    /* varint that never ends (11 continuation bytes) */
    static const uint8_t endless[] = {0x10, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    v2_with_records(&b, 1, endless, sizeof endless);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    /* key length -2, key length past the record, value length -3 */
    static const uint8_t negkey[] = {0x10, 0, 0, 0, 3, 'a', 2, 'b', 0};
    v2_with_records(&b, 1, negkey, sizeof negkey);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    static const uint8_t bigkey[] = {0x10, 0, 0, 0, 0x40, 'a', 2, 'b', 0};
    v2_with_records(&b, 1, bigkey, sizeof bigkey);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    static const uint8_t negval[] = {0x10, 0, 0, 0, 2, 'a', 5, 'b', 0};
    v2_with_records(&b, 1, negval, sizeof negval);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    /* header count huge; header with a null key */
    static const uint8_t manyhdr[] = {0x10, 0, 0, 0, 2, 'a', 2, 'b', 0x7e};
    v2_with_records(&b, 1, manyhdr, sizeof manyhdr);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "record header count out of range");
    static const uint8_t nullhk[] = {0x14, 0, 0, 0, 2, 'a', 2, 'b', 2, 1, 0};
    v2_with_records(&b, 1, nullhk, sizeof nullhk);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    /* record length shorter than its contents */
    static const uint8_t shortlen[] = {0x0e, 0, 0, 0, 2, 'a', 2, 'b', 0};
    v2_with_records(&b, 1, shortlen, sizeof shortlen);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    /* negative offset delta; out-of-sequence delta from a client (fine for stored data) */
    static const uint8_t negoff[] = {0x10, 0, 0, 1, 2, 'a', 2, 'b', 0};
    v2_with_records(&b, 1, negoff, sizeof negoff);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(count_records(b.data, b.len), -KREC_ERR_CORRUPT_MESSAGE);
    static const uint8_t gap[] = {0x10, 0, 0, 4, 2, 'a', 2, 'b', 0};
    v2_with_records(&b, 1, gap, sizeof gap);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "record offset delta out of sequence");
    ck_assert_int_eq(count_records(b.data, b.len), 1);
    buf_free(&b);
}
END_TEST

START_TEST(truncated_at_every_offset)
{
    for (size_t v = 0; v < NVEC; v++) {
        char fn[256];
        snprintf(fn, sizeof fn, "%s.hex", vectors[v]);
        buf_t data = BUF_INIT;
        vec_load_hex(fn, &data);
        int full = count_records(data.data, data.len);
        for (size_t cut = 0; cut < data.len; cut++) {
            uint8_t *p = xmemdup(data.data, cut ? cut : 1);   /* exact size so ASan sees overreads */
            krec_limits_t lim = {0, 0, -1, false};
            int rc = krec_validate_produce(p, cut, &lim, NULL, NULL);
            /* an empty legacy set is valid; any other prefix is corrupt (a cut between two
             * legacy messages is a shorter valid set) */
            if (rc == 0) {
                size_t pos = 0;
                krec_batch_t b;
                memset(&b, 0, sizeof b);
                int r;
                while ((r = krec_batch_next(p, cut, &pos, &b, NULL)) == KREC_BATCH_OK)
                    ;
                ck_assert_msg(r == KREC_BATCH_END && (cut == 0 || b.magic < 2), "%s cut %zu accepted", vectors[v], cut);
            } else {
                ck_assert_msg(rc == -KREC_ERR_CORRUPT_MESSAGE, "%s cut %zu: %d", vectors[v], cut, rc);
            }
            /* a reader of fetched data stops cleanly before the partial batch */
            krec_iter_t it;
            krec_record_t r;
            krec_iter_init(&it, p, cut, 0, 0);
            int n = 0, irc;
            while ((irc = krec_iter_next(&it, &r)) == 1)
                n++;
            ck_assert_int_eq(irc, 0);
            ck_assert(n <= full);
            krec_iter_free(&it);
            free(p);
        }
        buf_free(&data);
    }
}
END_TEST

START_TEST(damaged_bytes_never_crash)
{
    /* flip every byte of some compressed captures, with CRCs recomputed so the damage reaches
     * the decompressors and record parsers */
    static const char *const names[] = {"kcat-v2-zstd.hex", "kafkapython-v2-snappy.hex", "kcat-v1-lz4.hex",
                                        "java09-v0-lz4.hex", "kafkajs-v2-gzip.hex", "kcat-v2-none.hex"};
    for (size_t v = 0; v < sizeof names / sizeof *names; v++) {
        buf_t data = BUF_INIT, log = BUF_INIT;
        vec_load_hex(names[v], &data);
        for (size_t i = 0; i < data.len; i++) {
            for (int mask = 1; mask < 256; mask <<= 3) {
                data.data[i] ^= (uint8_t)mask;
                if (data.data[16] == 2 && data.len >= KREC_V2_HEADER_SIZE)
                    fix_v2_crc(data.data, data.len);
                else if (data.len > 16)
                    fix_legacy_crc(data.data, data.len);
                krec_append_t a = {.base_offset = 0, .ts_type = KREC_TS_CREATE, .target_codec = -1};
                krec_limits_t lim = {0, 1 << 16, -1, false};
                int rc = krec_append_prepare(data.data, data.len, &lim, &a, &log, NULL);
                ck_assert(rc == 0 || rc == -KREC_ERR_CORRUPT_MESSAGE || rc == -KREC_ERR_MESSAGE_TOO_LARGE ||
                          rc == -KREC_ERR_INVALID_RECORD || rc == -KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE);
                ck_assert(rc == 0 || log.len == 0);
                if (rc == 0)
                    ck_assert_int_ge(count_records(log.data, log.len), 0);
                buf_reset(&log);
                data.data[i] ^= (uint8_t)mask;
            }
        }
        buf_free(&data);
        buf_free(&log);
    }
}
END_TEST

/* A zstd frame of RLE blocks (4 bytes per 128 KiB). */
static void zstd_bomb(buf_t *b, size_t blocks)
{
    static const uint8_t hdr[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38};
    buf_put(b, hdr, sizeof hdr);
    for (size_t i = 0; i < blocks; i++) {
        uint32_t bh = (131072u << 3) | (1u << 1) | (i + 1 == blocks ? 1u : 0u);
        uint8_t blk[4] = {(uint8_t)bh, (uint8_t)(bh >> 8), (uint8_t)(bh >> 16), 0};
        buf_put(b, blk, 4);
    }
}

START_TEST(compression_bombs)
{
    const char *why = NULL;
    buf_t b = BUF_INIT, bomb = BUF_INIT;
    /* v2 batch claiming 1 record whose zstd payload would expand to 1 GiB */
    zstd_bomb(&bomb, 8192);
    sample_v2(&b, 0);
    b.len = KREC_V2_HEADER_SIZE;
    buf_put(&b, bomb.data, bomb.len);
    be32_put(b.data + 8, (uint32_t)(b.len - 12));
    b.data[KREC_V2_ATTR_OFFSET + 1] = COMPRESS_ZSTD;
    be32_put(b.data + 23, 0);
    be32_put(b.data + 57, 1);
    fix_v2_crc(b.data, b.len);
    krec_limits_t lim = {0, 1 << 20, 7, false};
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_MESSAGE_TOO_LARGE);
    ck_assert_str_eq(why, "decompressed batch exceeds the size limit");
    /* the same through the reader */
    krec_iter_t it;
    krec_record_t r;
    krec_iter_init(&it, b.data, b.len, 1 << 20, 0);
    ck_assert_int_eq(krec_iter_next(&it, &r), -KREC_ERR_MESSAGE_TOO_LARGE);
    krec_iter_free(&it);

    /* legacy magic 1 wrapper with a gzip value of 32 MiB of zeros */
    buf_t zeros = BUF_INIT, gz = BUF_INIT;
    buf_reserve(&zeros, 32 << 20);
    memset(zeros.data, 0, 32 << 20);
    zeros.len = 32 << 20;
    ck_assert_int_eq(compress_encode(COMPRESS_GZIP, zeros.data, zeros.len, 0, &gz), 0);
    buf_reset(&b);
    buf_put_be64(&b, 0);
    buf_put_be32(&b, 0);
    buf_put_be32(&b, 0);
    buf_put_u8(&b, 1);
    buf_put_u8(&b, COMPRESS_GZIP);
    buf_put_be64(&b, 0);
    buf_put_be32(&b, 0xffffffff);
    buf_put_be32(&b, (uint32_t)gz.len);
    buf_put(&b, gz.data, gz.len);
    be32_put(b.data + 8, (uint32_t)(b.len - 12));
    fix_legacy_crc(b.data, b.len);
    lim.produce_version = 2;
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_MESSAGE_TOO_LARGE);
    buf_free(&zeros);
    buf_free(&gz);
    buf_free(&b);
    buf_free(&bomb);
}
END_TEST

START_TEST(size_and_codec_limits)
{
    buf_t b = BUF_INIT;
    const char *why = NULL;
    sample_v2(&b, 0);
    krec_limits_t lim = {b.len - 1, 0, 7, false};
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_MESSAGE_TOO_LARGE);
    lim.max_message_bytes = b.len;
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), 0);
    /* unknown codec 5 */
    b.data[KREC_V2_ATTR_OFFSET + 1] = 5;
    fix_v2_crc(b.data, b.len);
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(count_records(b.data, b.len), -KREC_ERR_CORRUPT_MESSAGE);
    /* zstd before Produce v7 */
    buf_reset(&b);
    sample_v2(&b, COMPRESS_ZSTD);
    lim = (krec_limits_t){0, 0, 6, false};
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), -KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    lim.produce_version = 7;
    ck_assert_int_eq(krec_validate_produce(b.data, b.len, &lim, NULL, &why), 0);
    /* zstd codec bits in a legacy message */
    buf_t l = BUF_INIT;
    vec_load_hex("kafkapython-v1-gzip.hex", &l);
    l.data[17] = (uint8_t)((l.data[17] & ~7) | COMPRESS_ZSTD);
    fix_legacy_crc(l.data, l.len);
    lim.produce_version = 2;
    ck_assert_int_eq(krec_validate_produce(l.data, l.len, &lim, NULL, &why), -KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    /* an up-converted batch larger than the limit (v0 messages, each small) */
    buf_reset(&l);
    vec_load_hex("kafkapython-v0-none.hex", &l);
    buf_t log = BUF_INIT;
    krec_append_t a = {.base_offset = 0, .ts_type = KREC_TS_CREATE, .target_codec = -1};
    size_t biggest = 0, pos = 0;
    krec_batch_t e;
    while (krec_batch_next(l.data, l.len, &pos, &e, NULL) == KREC_BATCH_OK)
        biggest = e.len > biggest ? e.len : biggest;
    lim = (krec_limits_t){biggest, 0, 2, false};
    ck_assert_int_eq(krec_validate_produce(l.data, l.len, &lim, NULL, &why), 0);
    ck_assert_int_eq(krec_append_prepare(l.data, l.len, &lim, &a, &log, &why), -KREC_ERR_MESSAGE_TOO_LARGE);
    ck_assert_uint_eq(log.len, 0);
    buf_free(&log);
    buf_free(&l);
    buf_free(&b);
}
END_TEST

START_TEST(produce_version_rules)
{
    buf_t v2 = BUF_INIT, v1 = BUF_INIT, two = BUF_INIT;
    sample_v2(&v2, 0);
    vec_load_hex("kcat-v1-none.hex", &v1);
    ck_assert_int_eq(validate(&v2, 2), -KREC_ERR_INVALID_RECORD);   /* magic 2 in Produce v2 */
    ck_assert_int_eq(validate(&v1, 3), -KREC_ERR_INVALID_RECORD);   /* magic 1 in Produce v3 */
    ck_assert_int_eq(validate(&v1, 2), 0);
    buf_put(&two, v2.data, v2.len);
    buf_put(&two, v2.data, v2.len);
    ck_assert_int_eq(validate(&two, 7), -KREC_ERR_INVALID_RECORD);  /* two batches */
    ck_assert_int_eq(validate(&two, -1), 0);
    buf_put(&two, v1.data, v1.len);
    ck_assert_int_eq(validate(&two, -1), -KREC_ERR_INVALID_RECORD); /* mixed magic */
    buf_t empty = BUF_INIT;
    ck_assert_int_eq(validate(&empty, 7), -KREC_ERR_INVALID_RECORD);
    ck_assert_int_eq(validate(&empty, 1), 0);
    /* producer id without a sequence */
    be64_put(v2.data + 43, 5);
    fix_v2_crc(v2.data, v2.len);
    ck_assert_int_eq(validate(&v2, 7), -KREC_ERR_INVALID_RECORD);
    /* an empty legacy append appends nothing */
    buf_t log = BUF_INIT;
    krec_append_t a = {.base_offset = 9, .ts_type = KREC_TS_CREATE, .target_codec = -1};
    ck_assert_int_eq(krec_append_prepare(empty.data, 0, NULL, &a, &log, NULL), 0);
    ck_assert_int_eq(a.last_offset, 8);
    ck_assert_uint_eq(log.len, 0);
    ck_assert_str_eq(krec_err_name(KREC_ERR_INVALID_RECORD), "INVALID_RECORD");
    buf_free(&v2);
    buf_free(&v1);
    buf_free(&two);
}
END_TEST

START_TEST(hostile_legacy_wrappers)
{
    const char *why = NULL;
    krec_record_t inner[2] = {mkrec(0, 1, "a", "x"), mkrec(1, 2, "b", "y")};
    buf_t msgs = BUF_INIT, gz = BUF_INIT, w = BUF_INIT;
    krec_build_t o;
    /* a wrapper whose inner set holds a compressed message */
    krec_build_init(&o, 1, COMPRESS_GZIP);
    ck_assert_int_eq(krec_build(&msgs, &o, inner, 2), 0);   /* a gzip wrapper ... */
    ck_assert_int_eq(compress_encode(COMPRESS_GZIP, msgs.data, msgs.len, 0, &gz), 0);
    /* ... hand-wrap it again */
    buf_reset(&w);
    buf_put_be64(&w, 0);
    buf_put_be32(&w, 0);
    buf_put_be32(&w, 0);
    buf_put_u8(&w, 1);
    buf_put_u8(&w, COMPRESS_GZIP);
    buf_put_be64(&w, 0);
    buf_put_be32(&w, 0xffffffff);
    buf_put_be32(&w, (uint32_t)gz.len);
    buf_put(&w, gz.data, gz.len);
    be32_put(w.data + 8, (uint32_t)(w.len - 12));
    fix_legacy_crc(w.data, w.len);
    ck_assert_int_eq(validate(&w, 2), -KREC_ERR_CORRUPT_MESSAGE);
    krec_limits_t lim = {0, 0, 2, false};
    krec_validate_produce(w.data, w.len, &lim, NULL, &why);
    ck_assert_str_eq(why, "compressed message inside a compressed message");

    /* inner messages of magic 0 in a magic 1 wrapper */
    buf_reset(&msgs);
    krec_build_init(&o, 0, 0);
    ck_assert_int_eq(krec_build(&msgs, &o, inner, 2), 0);
    buf_reset(&gz);
    compress_encode(COMPRESS_GZIP, msgs.data, msgs.len, 0, &gz);
    w.len = 34;   /* keep the header up to the value length */
    be32_put(w.data + 30, (uint32_t)gz.len);
    buf_put(&w, gz.data, gz.len);
    be32_put(w.data + 8, (uint32_t)(w.len - 12));
    fix_legacy_crc(w.data, w.len);
    ck_assert_int_eq(krec_validate_produce(w.data, w.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "inner message magic differs from the wrapper's");

    /* empty inner set, null value, inner message cut short */
    buf_reset(&gz);
    compress_encode(COMPRESS_GZIP, "", 0, 0, &gz);
    w.len = 34;
    be32_put(w.data + 30, (uint32_t)gz.len);
    buf_put(&w, gz.data, gz.len);
    be32_put(w.data + 8, (uint32_t)(w.len - 12));
    fix_legacy_crc(w.data, w.len);
    ck_assert_int_eq(krec_validate_produce(w.data, w.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "compressed message with no inner messages");
    w.len = 34;
    be32_put(w.data + 30, 0xffffffff);
    be32_put(w.data + 8, (uint32_t)(w.len - 12));
    fix_legacy_crc(w.data, w.len);
    ck_assert_int_eq(krec_validate_produce(w.data, w.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "compressed message without a value");
    buf_reset(&msgs);
    krec_build_init(&o, 1, 0);
    krec_build(&msgs, &o, inner, 2);
    buf_reset(&gz);
    compress_encode(COMPRESS_GZIP, msgs.data, msgs.len - 1, 0, &gz);
    w.len = 34;
    be32_put(w.data + 30, (uint32_t)gz.len);
    buf_put(&w, gz.data, gz.len);
    be32_put(w.data + 8, (uint32_t)(w.len - 12));
    fix_legacy_crc(w.data, w.len);
    ck_assert_int_eq(krec_validate_produce(w.data, w.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    ck_assert_str_eq(why, "truncated inner message");

    /* key/value lengths that do not add up to the message size */
    buf_t m = BUF_INIT;
    krec_build_init(&o, 0, 0);
    krec_build(&m, &o, inner, 1);
    be32_put(m.data + 18, 2);   /* key length 2 instead of 1 */
    fix_legacy_crc(m.data, m.len);
    ck_assert_int_eq(krec_validate_produce(m.data, m.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    be32_put(m.data + 18, 0xfffffffe);   /* -2 */
    ck_assert_int_eq(krec_validate_produce(m.data, m.len, &lim, NULL, &why), -KREC_ERR_CORRUPT_MESSAGE);
    buf_free(&m);
    buf_free(&msgs);
    buf_free(&gz);
    buf_free(&w);
}
END_TEST

START_TEST(mixed_log_iteration)
{
    /* a fetch-style byte range: every capture back to back, then half a batch */
    buf_t all = BUF_INIT;
    int total = 0;
    for (size_t v = 0; v < NVEC; v++) {
        char fn[256];
        snprintf(fn, sizeof fn, "%s.hex", vectors[v]);
        size_t was = all.len;
        vec_load_hex(fn, &all);
        total += count_records(all.data + was, all.len - was);
    }
    size_t whole = all.len;
    uint8_t head[30];
    memcpy(head, all.data, sizeof head);
    buf_put(&all, head, sizeof head);
    krec_iter_t it;
    krec_record_t r;
    krec_iter_init(&it, all.data, all.len, 0, 0);
    int n = 0;
    while (krec_iter_next(&it, &r) == 1)
        n++;
    ck_assert_int_eq(it.err, 0);
    ck_assert(it.truncated);
    ck_assert_int_eq(n, total);
    ck_assert_uint_eq(it.pos, whole);
    krec_iter_free(&it);
    /* an iterator abandoned in the middle of a compressed batch frees its buffers */
    krec_iter_init(&it, all.data, all.len, 0, 0);
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(krec_iter_next(&it, &r), 1);
    krec_iter_free(&it);
    buf_free(&all);
}
END_TEST


/* ---- material for crosscheck.py (only when KREC_CROSSCHECK_DIR is set) ------------------- */

static void write_file(const char *dir, const char *name, const char *ext, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Writes NAME.bin (the records) and NAME.expect (what our reader finds in them). */
static void emit(const char *dir, const char *name, const buf_t *data)
{
    buf_t txt = BUF_INIT;
    ck_assert_int_eq(dump(data->data, data->len, 0, &txt, true), 0);
    write_file(dir, name, "bin", data->data, data->len);
    write_file(dir, name, "expect", txt.data, txt.len);
    buf_free(&txt);
}

START_TEST(emit_for_crosscheck)
{
    const char *dir = getenv("KREC_CROSSCHECK_DIR");
    if (!dir)
        return;
    static const char *const cname[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    krec_header_t h[2] = {{(const uint8_t *)"trace", 5, (const uint8_t *)"abc", 3}, {(const uint8_t *)"e", 1, NULL, -1}};
    char big[3000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('a' + i % 7);
    big[sizeof big - 1] = 0;
    krec_record_t recs[5] = {mkrec(100, 1700000000000LL, "k1", "hello"), mkrec(101, 1700000000005LL, NULL, big),
                             mkrec(102, 1700000000002LL, "k3", NULL), mkrec(103, 1700000000009LL, "", ""),
                             mkrec(105, 1700000000010LL, "k5", "after a gap")};
    recs[0].headers = h;
    recs[0].header_count = 2;
    for (int codec = 0; codec < COMPRESS_NCODECS; codec++) {
        for (int lat = 0; lat <= 1; lat++) {
            krec_build_t o;
            krec_build_init(&o, 2, codec);
            o.base_offset = 100;
            o.producer_id = 77;
            o.producer_epoch = 1;
            o.base_sequence = 5;
            if (lat) {
                o.ts_type = KREC_TS_LOG_APPEND;
                o.log_append_time = 1800000000000LL;
            }
            buf_t v2 = BUF_INIT;
            ck_assert_int_eq(krec_build(&v2, &o, recs, 5), 0);
            char name[64];
            snprintf(name, sizeof name, "v2-%s%s", cname[codec], lat ? "-logappend" : "");
            emit(dir, name, &v2);
            for (int magic = 0; magic <= 1 && codec != COMPRESS_ZSTD; magic++) {
                buf_t old = BUF_INIT;
                ck_assert_int_eq(krec_down_convert(v2.data, v2.len, magic, 0, 0, &old, NULL, NULL), 0);
                snprintf(name, sizeof name, "down-v%d-%s%s", magic, cname[codec], lat ? "-logappend" : "");
                emit(dir, name, &old);
                buf_free(&old);
            }
            buf_free(&v2);
        }
    }
    /* every real capture as the log stores it (appended from offset 1000) */
    for (size_t v = 0; v < NVEC; v++) {
        char fn[256];
        snprintf(fn, sizeof fn, "%s.hex", vectors[v]);
        buf_t data = BUF_INIT, log = BUF_INIT;
        vec_load_hex(fn, &data);
        krec_append_t a = {.base_offset = 1000, .ts_type = KREC_TS_CREATE, .target_codec = -1};
        ck_assert_int_eq(krec_append_prepare(data.data, data.len, NULL, &a, &log, NULL), 0);
        char name[300];
        snprintf(name, sizeof name, "log-%s", vectors[v]);
        emit(dir, name, &log);
        buf_free(&data);
        buf_free(&log);
    }
}
END_TEST

/* The one-pass append of uncompressed magic 0/1 messages (krec_append_prepare's fast path)
 * writes exactly what the general path writes: the v2 writer fed with the records as the
 * iterator reads them, offsets from the base on, magic 0 timestamps -1. Real clients' vectors
 * and generated message runs, CreateTime and LogAppendTime, target codec "producer" and none. */
static void expect_like_writer(const buf_t *in, int ts_type, int target)
{
    krec_append_t a = {.base_offset = 1000, .partition_leader_epoch = 7, .ts_type = ts_type,
                       .now_ms = 1700000000123LL, .target_codec = target};
    buf_t got = BUF_INIT, want = BUF_INIT;
    buf_puts(&got, "pre");
    ck_assert_int_eq(krec_append_prepare(in->data, in->len, NULL, &a, &got, NULL), 0);
    krec_build_t o;
    krec_build_init(&o, KREC_MAGIC_V2, 0);
    o.base_offset = 1000;
    o.partition_leader_epoch = 7;
    o.ts_type = ts_type;
    o.log_append_time = 1700000000123LL;
    krec_writer_t w;
    krec_writer_begin(&w, &o, &want);
    krec_iter_t it;
    krec_record_t r;
    krec_iter_init(&it, in->data, in->len, 0, 0);
    int64_t next = 1000, max_ts = -1;
    int rc;
    while ((rc = krec_iter_next(&it, &r)) == 1) {
        r.offset = next++;
        if (it.batch.magic == KREC_MAGIC_V0)
            r.timestamp = -1;
        if (r.timestamp > max_ts)
            max_ts = r.timestamp;
        ck_assert_int_eq(krec_writer_add(&w, &r), 0);
    }
    ck_assert_int_eq(rc, 0);
    krec_iter_free(&it);
    ck_assert_int_eq(krec_writer_finish(&w), 0);
    ck_assert_uint_eq(got.len, want.len + 3);
    ck_assert(memcmp(got.data, "pre", 3) == 0);
    ck_assert(memcmp(got.data + 3, want.data, want.len) == 0);
    ck_assert_int_eq(a.last_offset, next - 1);
    ck_assert_int_eq(a.info.record_count, next - 1000);
    ck_assert_int_eq(a.info.max_timestamp, max_ts);
    ck_assert_int_eq(a.max_timestamp, ts_type == KREC_TS_LOG_APPEND ? 1700000000123LL : max_ts);
    ck_assert_int_eq(a.log_append_time, ts_type == KREC_TS_LOG_APPEND ? 1700000000123LL : -1);
    ck_assert(a.converted);
    buf_free(&got);
    buf_free(&want);
}

START_TEST(legacy_one_pass_append_matches_writer)
{
    static const char *const vecs[] = {"java09-v0-none.hex",      "kafkajs-v0-none.hex", "kafkapython-v0-none.hex",
                                       "kafkapython-v1-none.hex", "kcat-v0-none.hex",    "kcat-v1-none.hex"};
    for (size_t v = 0; v < sizeof vecs / sizeof vecs[0]; v++) {
        buf_t in = BUF_INIT;
        vec_load_hex(vecs[v], &in);
        for (int ts = KREC_TS_CREATE; ts <= KREC_TS_LOG_APPEND; ts++) {
            expect_like_writer(&in, ts, -1);
            expect_like_writer(&in, ts, 0);
        }
        buf_free(&in);
    }
    /* generated: both magics, null and empty keys and values, timestamps up and down, long values */
    static uint8_t pool[3000];
    for (size_t i = 0; i < sizeof pool; i++)
        pool[i] = (uint8_t)(i * 7 + 3);
    for (int magic = 0; magic <= 1; magic++)
        for (int n = 1; n <= 40; n += 13) {
            buf_t in = BUF_INIT;
            for (int i = 0; i < n; i++) {
                krec_record_t r = mkrec(i, 1600000000000LL + (i % 3 ? i * 1000 : -i * 77), NULL, NULL);
                r.key = i % 4 ? pool + i : NULL;
                r.key_len = i % 4 ? i % 9 : -1;
                r.value = i % 5 ? pool + 2 * i : NULL;
                r.value_len = i % 5 ? (i % 7 == 0 ? 2000 : i * 3) : -1;
                krec_build_t o;
                krec_build_init(&o, magic, 0);
                if (magic == 1 && i % 6 == 5) {   /* a message marked LogAppendTime by its producer */
                    o.ts_type = KREC_TS_LOG_APPEND;
                    o.log_append_time = 1600000000555LL;
                }
                ck_assert_int_eq(krec_build(&in, &o, &r, 1), 0);
            }
            for (int ts = KREC_TS_CREATE; ts <= KREC_TS_LOG_APPEND; ts++) {
                expect_like_writer(&in, ts, -1);
                expect_like_writer(&in, ts, 0);
            }
            buf_free(&in);
        }
}
END_TEST

/* The one-pass down-conversion of uncompressed v2 batches writes exactly what the legacy
 * writer makes from the records as the reader returns them (headers dropped, LogAppendTime
 * batches stamped with their maxTimestamp). */
static void expect_down_like_writer(const buf_t *log)
{
    for (int magic = 0; magic <= 1; magic++) {
        buf_t got = BUF_INIT, want = BUF_INIT;
        size_t used = 0;
        ck_assert_int_eq(krec_down_convert(log->data, log->len, magic, 0, 0, &got, &used, NULL), 0);
        ck_assert_uint_eq(used, log->len);
        size_t pos = 0;
        krec_batch_t b;
        while (krec_batch_next(log->data, log->len, &pos, &b, NULL) == KREC_BATCH_OK) {
            ck_assert_int_eq(b.magic, 2);
            krec_build_t o;
            krec_build_init(&o, magic, 0);
            o.base_offset = b.base_offset;
            if (b.ts_type == KREC_TS_LOG_APPEND) {
                o.ts_type = KREC_TS_LOG_APPEND;
                o.log_append_time = b.max_timestamp;
            }
            krec_writer_t w;
            krec_writer_begin(&w, &o, &want);
            krec_recs_t r;
            krec_record_t rec;
            int rc;
            ck_assert_int_eq(krec_recs_open(&r, &b, 0, 0), 0);
            while ((rc = krec_recs_next(&r, &rec)) == 1)
                ck_assert_int_eq(krec_writer_add(&w, &rec), 0);
            ck_assert_int_eq(rc, 0);
            krec_recs_close(&r);
            ck_assert_int_eq(krec_writer_finish(&w), 0);
        }
        ck_assert_uint_eq(got.len, want.len);
        ck_assert(memcmp(got.data, want.data, want.len) == 0);
        buf_free(&got);
        buf_free(&want);
    }
}

START_TEST(v2_one_pass_down_convert_matches_writer)
{
    static const char *const vecs[] = {"java09-v0-none.hex", "kafkajs-v2-none.hex", "kafkapython-v1-none.hex",
                                       "kcat-v0-none.hex",   "kcat-v1-none.hex"};
    for (size_t v = 0; v < sizeof vecs / sizeof vecs[0]; v++)
        for (int ts = KREC_TS_CREATE; ts <= KREC_TS_LOG_APPEND; ts++) {
            buf_t in = BUF_INIT, log = BUF_INIT;
            vec_load_hex(vecs[v], &in);
            krec_append_t a = {.base_offset = 77, .ts_type = ts, .now_ms = 1700000000999LL, .target_codec = 0};
            ck_assert_int_eq(krec_append_prepare(in.data, in.len, NULL, &a, &log, NULL), 0);
            expect_down_like_writer(&log);
            buf_free(&in);
            buf_free(&log);
        }
    /* generated v2 batches: headers, null keys/values, timestamps going back, offset gaps */
    static const uint8_t pool[600] = {1, 2, 3};
    krec_header_t hd[2] = {{(const uint8_t *)"h1", 2, (const uint8_t *)"v", 1}, {(const uint8_t *)"", 0, NULL, -1}};
    buf_t log = BUF_INIT;
    for (int bi = 0; bi < 4; bi++) {
        krec_record_t recs[20];
        for (int i = 0; i < 20; i++) {
            recs[i] = mkrec(1000 + bi * 100 + i * (bi + 1), 1600000000000LL + (i % 2 ? -i : i) * 1000, NULL, NULL);
            recs[i].key = i % 3 ? pool : NULL;
            recs[i].key_len = i % 3 ? i : -1;
            recs[i].value = i % 4 ? pool + i : NULL;
            recs[i].value_len = i % 4 ? i * 25 : -1;
            recs[i].headers = i % 2 ? hd : NULL;
            recs[i].header_count = i % 2 ? 2 : 0;
        }
        krec_build_t o;
        krec_build_init(&o, KREC_MAGIC_V2, 0);
        o.base_offset = 1000 + bi * 100;
        if (bi == 2) {
            o.ts_type = KREC_TS_LOG_APPEND;
            o.log_append_time = 1600000000777LL;
        }
        ck_assert_int_eq(krec_build(&log, &o, recs, 20), 0);
    }
    expect_down_like_writer(&log);
    buf_free(&log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kafka_records");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, real_clients_read_like_kafka_python, 0, NVEC);
    tcase_add_loop_test(tc, real_clients_append_and_convert, 0, NVEC);
    tcase_add_loop_test(tc, log_append_time, 0, 4);
    tcase_add_test(tc, v2_append_patches_in_place);
    tcase_add_test(tc, idempotent_fields_reported);
    tcase_add_test(tc, build_roundtrip_all_formats);
    tcase_add_test(tc, build_rejects_bad_offsets_and_formats);
    tcase_add_test(tc, control_batch_build_and_iterate);
    tcase_add_test(tc, down_convert_framing_and_limits);
    tcase_add_test(tc, bad_crc);
    tcase_add_test(tc, inconsistent_v2_headers);
    tcase_add_test(tc, hostile_records);
    tcase_add_test(tc, truncated_at_every_offset);
    tcase_add_test(tc, damaged_bytes_never_crash);
    tcase_add_test(tc, compression_bombs);
    tcase_add_test(tc, size_and_codec_limits);
    tcase_add_test(tc, produce_version_rules);
    tcase_add_test(tc, hostile_legacy_wrappers);
    tcase_add_test(tc, mixed_log_iteration);
    tcase_add_test(tc, emit_for_crosscheck);
    tcase_add_test(tc, legacy_one_pass_append_matches_writer);
    tcase_add_test(tc, v2_one_pass_down_convert_matches_writer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
