/* libFuzzer target: Kafka record data (proto/kafka_records) and the codecs under it.
 *
 * Input: byte 0 picks the entry point, byte 1 its options, the rest is the record data
 * (seeds: the real client captures in tests/unit/vectors/records). Besides "no crash, no
 * leak, no read out of bounds, no unbounded allocation" it checks that the pieces agree:
 *   - data that validates as producer data appends without error (unless up-conversion made
 *     a batch too large), and what was appended reads back, CRCs intact, with as many records
 *     at consecutive offsets;
 *   - appended (v2) data down-converts to magic 0 and 1 (unless zstd) and reads back with the
 *     same number of records;
 *   - any byte string either iterates to the end or fails with a Kafka error code.
 * Decompression is capped at 1 MiB so bombs are found cheaply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/compress.h"
#include "proto/kafka_records.h"

#define CAP (1u << 20)

static void check(int ok)
{
    if (!ok)
        abort();
}

static int is_kafka_error(int rc)
{
    return rc == -KREC_ERR_CORRUPT_MESSAGE || rc == -KREC_ERR_MESSAGE_TOO_LARGE ||
           rc == -KREC_ERR_INVALID_RECORD || rc == -KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE ||
           rc == -KREC_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
}

/* Reads every record; returns the count or the error. Checks offsets increase within a batch
 * when `consecutive` asks for base, base+1, ... */
static int read_all(const uint8_t *p, size_t n, unsigned flags, int64_t base, int consecutive)
{
    krec_iter_t it;
    krec_record_t r;
    krec_iter_init(&it, p, n, CAP, flags);
    int count = 0, rc;
    while ((rc = krec_iter_next(&it, &r)) == 1) {
        if (consecutive)
            check(r.offset == base + count);
        check(r.key_len >= -1 && r.value_len >= -1 && r.header_count >= 0);
        check((r.key_len < 0) == (r.key == NULL));
        check((r.value_len < 0) == (r.value == NULL));
        count++;
    }
    krec_iter_free(&it);
    check(rc <= 0);
    check(rc == 0 || is_kafka_error(rc));
    return rc < 0 ? rc : count;
}

static void produce_path(const uint8_t *p, size_t n, uint8_t opt)
{
    krec_limits_t lim = {0, CAP, (int)(opt & 0x0f) - 1, (opt & 0x10) != 0};
    if (lim.produce_version > 8)
        lim.produce_version = -1;
    krec_info_t info;
    int rc = krec_validate_produce(p, n, &lim, &info, NULL);
    check(rc == 0 || is_kafka_error(rc));
    krec_append_t a = {.base_offset = 1000, .partition_leader_epoch = 2,
                       .ts_type = (opt & 0x20) ? KREC_TS_LOG_APPEND : KREC_TS_CREATE, .now_ms = 1700000000000LL,
                       .target_codec = (opt & 0x40) ? (opt >> 7) * 2 + 1 : -1};   /* gzip or lz4 */
    buf_t log = BUF_INIT;
    int arc = krec_append_prepare(p, n, &lim, &a, &log, NULL);
    if (rc != 0) {
        check(arc == rc);
        check(log.len == 0);
        buf_free(&log);
        return;
    }
    if (arc != 0) {
        /* only conversion can fail after validation: a rebuilt batch over the size limit */
        check(arc == -KREC_ERR_MESSAGE_TOO_LARGE && a.converted && log.len == 0);
        buf_free(&log);
        return;
    }
    check(a.last_offset == 1000 + (int64_t)info.record_count - 1);
    check(read_all(log.data, log.len, 0, 1000, 1) == info.record_count);
    /* every stored batch is v2 with a valid CRC */
    size_t pos = 0;
    krec_batch_t b;
    int r, zstd = 0;
    while ((r = krec_batch_next(log.data, log.len, &pos, &b, NULL)) == KREC_BATCH_OK) {
        check(b.magic == 2 && krec_batch_crc_ok(&b) && b.partition_leader_epoch == 2);
        zstd |= b.codec == COMPRESS_ZSTD;
    }
    check(r == KREC_BATCH_END);
    for (int magic = 0; magic <= 1; magic++) {
        buf_t old = BUF_INIT;
        size_t used = 0;
        int drc = krec_down_convert(log.data, log.len, magic, 0, CAP, &old, &used, NULL);
        if (zstd) {
            check(drc == -KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE);
        } else {
            check(drc == 0 && used == log.len);
            check(read_all(old.data, old.len, 0, 1000, 1) == info.record_count);
        }
        buf_free(&old);
    }
    buf_free(&log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t mode = data[0], opt = data[1];
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    switch (mode % 4) {
    case 0:
        produce_path(p, n, opt);
        break;
    case 1: {   /* stored / fetched data: any bytes read without harm */
        read_all(p, n, (opt & 1) ? KREC_F_NO_CRC : 0, 0, 0);
        buf_t out = BUF_INIT;
        int rc = krec_down_convert(p, n, opt >> 7, (opt >> 1) & 0x3f, CAP, &out, NULL, NULL);
        check(rc == 0 || is_kafka_error(rc));
        check(rc == 0 || out.len == 0);
        buf_free(&out);
        break;
    }
    case 2: {   /* the raw codecs */
        buf_t out = BUF_INIT;
        int rc = compress_decode(opt % COMPRESS_NCODECS, p, n, 1u << 16, &out);
        check(rc == 0 || rc == COMPRESS_ECORRUPT || rc == COMPRESS_ETOOBIG);
        check(rc != 0 || out.len <= (1u << 16));
        check(rc == 0 || out.len == 0);
        buf_free(&out);
        break;
    }
    default: {  /* builder round trip: bytes become record values */
        krec_build_t o;
        int magic = opt % 3, codec = (opt / 3) % COMPRESS_NCODECS;
        krec_build_init(&o, magic, codec);
        o.base_offset = 5;
        krec_record_t recs[8];
        size_t nrec = 0, chunk = n / 8 + 1;
        for (size_t off = 0; off < n && nrec < 8; off += chunk, nrec++) {
            memset(&recs[nrec], 0, sizeof recs[nrec]);
            recs[nrec].offset = 5 + (int64_t)nrec;
            recs[nrec].timestamp = (int64_t)nrec;
            recs[nrec].value = p + off;
            recs[nrec].value_len = (int32_t)(n - off < chunk ? n - off : chunk);
            recs[nrec].key_len = -1;
        }
        buf_t out = BUF_INIT;
        int rc = krec_build(&out, &o, recs, nrec);
        if (codec == COMPRESS_ZSTD && magic < 2) {
            check(rc == -KREC_ERR_UNSUPPORTED_COMPRESSION_TYPE);
        } else {
            check(rc == 0);
            check(read_all(out.data, out.len, 0, 5, 1) == (int)nrec);
        }
        buf_free(&out);
        break;
    }
    }
    return 0;
}
