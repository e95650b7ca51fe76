/* Unit tests: common/compress — round trips, data made by other implementations (python gzip,
 * python-snappy, kafka-python's xerial/lz4/old-kafka-lz4/zstd encoders), Kafka's broken LZ4
 * header checksum, output caps against compression bombs, truncated and damaged input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/compress.h"
#include "tests/unit/krec_vectors.h"

/* The plain text behind the codec-*.hex vectors (made by the same formula in Python). */
static void plain_text(buf_t *b)
{
    for (int i = 0; i < 1800; i++)
        buf_printf(b, "record %05d value %d\n", i, i * i % 977);
}

static void pseudo_random(buf_t *b, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        buf_put_u8(b, (uint8_t)(seed >> 16));
    }
}

START_TEST(xxh32_known_values)
{
    /* reference values from the python xxhash package */
    ck_assert_uint_eq(compress_xxh32("", 0, 0), 0x02cc5d05u);
    ck_assert_uint_eq(compress_xxh32("abc", 3, 0), 0x32d153ffu);
    uint8_t r[100];
    for (int i = 0; i < 100; i++)
        r[i] = (uint8_t)i;
    ck_assert_uint_eq(compress_xxh32(r, 100, 7), 0xaa1c3769u);
}
END_TEST

START_TEST(table_lookup)
{
    ck_assert_ptr_null(compress_vt(-1));
    ck_assert_ptr_null(compress_vt(5));
    ck_assert_str_eq(compress_vt(COMPRESS_ZSTD)->name, "zstd");
    ck_assert_int_eq(compress_vt_by_name("SNAPPY")->id, COMPRESS_SNAPPY);
    ck_assert_int_eq(compress_vt_by_name("uncompressed")->id, COMPRESS_NONE);
    ck_assert_ptr_null(compress_vt_by_name("brotli"));
    ck_assert_ptr_null(compress_vt_by_name(NULL));
    buf_t b = BUF_INIT;
    ck_assert_int_eq(compress_encode(7, "x", 1, 0, &b), COMPRESS_EINVAL);
    ck_assert_int_eq(compress_decode(7, "x", 1, 10, &b), COMPRESS_EINVAL);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(compress_strerror(COMPRESS_ETOOBIG), "decompressed data exceeds the size limit");
}
END_TEST

START_TEST(roundtrip_all_codecs)
{
    static const size_t sizes[] = {0, 1, 100, 40000, 200000};
    for (int codec = 0; codec < COMPRESS_NCODECS; codec++) {
        for (unsigned flags = 0; flags < 4; flags++) {
            for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
                buf_t plain = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
                /* half compressible text, half noise */
                pseudo_random(&plain, sizes[si] / 2, (uint32_t)si);
                while (plain.len < sizes[si])
                    buf_puts(&plain, "kafka ");
                plain.len = sizes[si];
                buf_puts(&enc, "pre");   /* both calls append */
                ck_assert_int_eq(compress_encode(codec, plain.data, plain.len, flags, &enc), 0);
                buf_puts(&dec, "x");
                int rc = compress_decode(codec, enc.data + 3, enc.len - 3, sizes[si], &dec);
                ck_assert_msg(rc == 0, "codec %d flags %u size %zu: %d", codec, flags, sizes[si], rc);
                ck_assert_uint_eq(dec.len, plain.len + 1);
                ck_assert(plain.len == 0 || memcmp(dec.data + 1, plain.data, plain.len) == 0);
                /* one byte less room than needed: too big, output untouched */
                if (sizes[si] > 0) {
                    dec.len = 1;
                    ck_assert_int_eq(compress_decode(codec, enc.data + 3, enc.len - 3, sizes[si] - 1, &dec),
                                     COMPRESS_ETOOBIG);
                    ck_assert_uint_eq(dec.len, 1);
                }
                buf_free(&plain);
                buf_free(&enc);
                buf_free(&dec);
            }
        }
    }
}
END_TEST

START_TEST(foreign_encodings_decode)
{
    static const struct {
        const char *file;
        int codec;
    } v[] = {
        {"codec-gzip-python.hex", COMPRESS_GZIP},
        {"codec-snappy-raw-python.hex", COMPRESS_SNAPPY},
        {"codec-snappy-xerial-kafkapython.hex", COMPRESS_SNAPPY},
        {"codec-lz4-kafkapython.hex", COMPRESS_LZ4},          /* proper HC, content size set */
        {"codec-lz4-brokenhc-kafkapython.hex", COMPRESS_LZ4}, /* KAFKA-3160 header checksum */
        {"codec-zstd-kafkapython.hex", COMPRESS_ZSTD},
    };
    buf_t plain = BUF_INIT;
    plain_text(&plain);
    ck_assert_uint_eq(plain.len, 41191);
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        buf_t in = BUF_INIT, out = BUF_INIT;
        vec_load_hex(v[i].file, &in);
        int rc = compress_decode(v[i].codec, in.data, in.len, 1 << 20, &out);
        ck_assert_msg(rc == 0, "%s: %d", v[i].file, rc);
        ck_assert_uint_eq(out.len, plain.len);
        ck_assert(memcmp(out.data, plain.data, plain.len) == 0);
        buf_free(&in);
        buf_free(&out);
    }
    buf_free(&plain);
}
END_TEST

START_TEST(our_encodings_match_kafka_framing)
{
    buf_t plain = BUF_INIT, x = BUF_INIT;
    plain_text(&plain);
    /* lz4 as Kafka's Java writer: FLG 0x60 (v1, independent blocks), BD 0x40 (64 KiB) */
    ck_assert_int_eq(compress_encode(COMPRESS_LZ4, plain.data, plain.len, 0, &x), 0);
    static const uint8_t good_hdr[] = {0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82};
    ck_assert(memcmp(x.data, good_hdr, sizeof good_hdr) == 0);
    buf_reset(&x);
    ck_assert_int_eq(compress_encode(COMPRESS_LZ4, plain.data, plain.len, COMPRESS_F_LZ4_BROKEN_HC, &x), 0);
    /* the same header kafka-python's lz4_encode_old_kafka writes */
    static const uint8_t broken_hdr[] = {0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x1a};
    ck_assert(memcmp(x.data, broken_hdr, sizeof broken_hdr) == 0);
    /* a header checksum that is neither the right nor the broken one is refused */
    x.data[6] ^= 0x55;
    buf_t out = BUF_INIT;
    ck_assert_int_eq(compress_decode(COMPRESS_LZ4, x.data, x.len, 1 << 20, &out), COMPRESS_ECORRUPT);
    ck_assert_uint_eq(out.len, 0);
    /* xerial: magic, version 1, compatible 1, two 32 KiB chunks */
    buf_reset(&x);
    ck_assert_int_eq(compress_encode(COMPRESS_SNAPPY, plain.data, plain.len, COMPRESS_F_SNAPPY_XERIAL, &x), 0);
    static const uint8_t xer[] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    ck_assert(memcmp(x.data, xer, sizeof xer) == 0);
    size_t chunks = 0;
    for (size_t pos = 16; pos < x.len; pos += 4 + be32_get(x.data + pos))
        chunks++;
    ck_assert_uint_eq(chunks, 2);
    /* gzip: a gzip member */
    buf_reset(&x);
    ck_assert_int_eq(compress_encode(COMPRESS_GZIP, plain.data, plain.len, 0, &x), 0);
    ck_assert(x.data[0] == 0x1f && x.data[1] == 0x8b && x.data[2] == 8);
    buf_free(&plain);
    buf_free(&x);
    buf_free(&out);
}
END_TEST

START_TEST(concatenated_streams)
{
    buf_t a = BUF_INIT, b = BUF_INIT, out = BUF_INIT;
    for (int codec = COMPRESS_GZIP; codec <= COMPRESS_ZSTD; codec++) {
        if (codec == COMPRESS_SNAPPY)
            continue;   /* raw snappy has no members */
        buf_reset(&a);
        buf_reset(&out);
        ck_assert_int_eq(compress_encode(codec, "hello ", 6, 0, &a), 0);
        ck_assert_int_eq(compress_encode(codec, "world", 5, 0, &a), 0);
        ck_assert_int_eq(compress_decode(codec, a.data, a.len, 100, &out), 0);
        ck_assert_uint_eq(out.len, 11);
        ck_assert(memcmp(out.data, "hello world", 11) == 0);
    }
    /* gzip and lz4 ignore trailing bytes after the last member/frame, as Kafka's readers do;
     * zstd does not */
    buf_reset(&a);
    compress_encode(COMPRESS_GZIP, "abc", 3, 0, &a);
    buf_put(&a, "\0\0junk", 6);
    buf_reset(&out);
    ck_assert_int_eq(compress_decode(COMPRESS_GZIP, a.data, a.len, 100, &out), 0);
    ck_assert_uint_eq(out.len, 3);
    buf_reset(&a);
    compress_encode(COMPRESS_ZSTD, "abc", 3, 0, &a);
    buf_put(&a, "junk", 4);
    buf_reset(&out);
    ck_assert_int_eq(compress_decode(COMPRESS_ZSTD, a.data, a.len, 100, &out), COMPRESS_ECORRUPT);
    buf_free(&a);
    buf_free(&b);
    buf_free(&out);
}
END_TEST

/* A zstd frame of RLE blocks: 4 input bytes per 128 KiB of output (ratio 32768:1). */
static void zstd_rle_bomb(buf_t *b, size_t blocks)
{
    static const uint8_t hdr[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38};   /* no FCS, window 128 KiB */
    buf_put(b, hdr, sizeof hdr);
    for (size_t i = 0; i < blocks; i++) {
        uint32_t bh = (131072u << 3) | (1u << 1) | (i + 1 == blocks ? 1u : 0u);
        uint8_t blk[4] = {(uint8_t)bh, (uint8_t)(bh >> 8), (uint8_t)(bh >> 16), 'A'};
        buf_put(b, blk, 4);
    }
}

static void check_bomb(int codec, const buf_t *bomb, size_t cap)
{
    buf_t out = BUF_INIT;
    buf_puts(&out, "keep");
    int rc = compress_decode(codec, bomb->data, bomb->len, cap, &out);
    ck_assert_msg(rc == COMPRESS_ETOOBIG, "codec %d: %d", codec, rc);
    ck_assert_uint_eq(out.len, 4);
    ck_assert_msg(out.cap <= 4 * cap + 4096, "codec %d grew to %zu bytes", codec, out.cap);
    buf_free(&out);
}

START_TEST(compression_bombs_stop_at_cap)
{
    const size_t cap = 1 << 20;
    buf_t bomb = BUF_INIT, out = BUF_INIT;

    /* zstd: 32 KiB of input that would expand to 1 GiB */
    zstd_rle_bomb(&bomb, 8192);
    ck_assert_uint_lt(bomb.len, 33 * 1024);
    check_bomb(COMPRESS_ZSTD, &bomb, cap);
    /* the same frame with 4 blocks decodes fine: the crafted format is right */
    buf_reset(&bomb);
    zstd_rle_bomb(&bomb, 4);
    ck_assert_int_eq(compress_decode(COMPRESS_ZSTD, bomb.data, bomb.len, cap, &out), 0);
    ck_assert_uint_eq(out.len, 4 * 131072);
    ck_assert(out.data[0] == 'A' && out.data[out.len - 1] == 'A');

    /* zstd frame asking for a 2 GiB window (no content size): refused, nothing allocated */
    static const uint8_t bigwin[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 0x01, 0x00, 0x00};
    buf_t w = {(uint8_t *)bigwin, sizeof bigwin, sizeof bigwin};
    check_bomb(COMPRESS_ZSTD, &w, cap);

    /* snappy: a raw block declaring 4 GiB; and a xerial stream of many 1 MiB-ish chunks */
    static const uint8_t snap4g[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x41};
    buf_t s = {(uint8_t *)snap4g, sizeof snap4g, sizeof snap4g};
    check_bomb(COMPRESS_SNAPPY, &s, cap);
    buf_t zeros = BUF_INIT;
    buf_reserve(&zeros, 16 << 20);
    memset(zeros.data, 0, 16 << 20);
    zeros.len = 16 << 20;
    buf_reset(&bomb);
    ck_assert_int_eq(compress_encode(COMPRESS_SNAPPY, zeros.data, zeros.len, COMPRESS_F_SNAPPY_XERIAL, &bomb), 0);
    check_bomb(COMPRESS_SNAPPY, &bomb, cap);

    /* gzip and lz4: 16 MiB of zeros */
    buf_reset(&bomb);
    ck_assert_int_eq(compress_encode(COMPRESS_GZIP, zeros.data, zeros.len, 0, &bomb), 0);
    ck_assert_uint_lt(bomb.len, 20 * 1024);
    check_bomb(COMPRESS_GZIP, &bomb, cap);
    buf_reset(&bomb);
    ck_assert_int_eq(compress_encode(COMPRESS_LZ4, zeros.data, zeros.len, 0, &bomb), 0);
    check_bomb(COMPRESS_LZ4, &bomb, cap);

    buf_free(&zeros);
    buf_free(&bomb);
    buf_free(&out);
}
END_TEST

/* Every prefix of a valid stream either fails (leaving the output as it was) or yields a
 * prefix of the plain text (xerial snappy has no end marker, so a cut between chunks is a
 * shorter valid stream). */
START_TEST(truncated_input_never_crashes)
{
    buf_t plain = BUF_INIT;
    plain_text(&plain);
    plain.len = 3000;
    for (int codec = COMPRESS_GZIP; codec <= COMPRESS_ZSTD; codec++) {
        for (unsigned flags = 0; flags < 4; flags++) {
            buf_t enc = BUF_INIT, out = BUF_INIT;
            ck_assert_int_eq(compress_encode(codec, plain.data, plain.len, flags, &enc), 0);
            for (size_t cut = 0; cut < enc.len; cut++) {
                buf_reset(&out);
                uint8_t *copy = xmemdup(enc.data, cut ? cut : 1);   /* exact-size copy for ASan */
                int rc = compress_decode(codec, copy, cut, 1 << 20, &out);
                free(copy);
                if (rc == 0) {
                    ck_assert_msg(codec == COMPRESS_SNAPPY && (flags & COMPRESS_F_SNAPPY_XERIAL),
                                  "codec %d flags %u: prefix %zu of %zu accepted", codec, flags, cut, enc.len);
                    ck_assert(out.len <= plain.len && memcmp(out.data, plain.data, out.len) == 0);
                } else {
                    ck_assert_int_eq(rc, COMPRESS_ECORRUPT);
                    ck_assert_uint_eq(out.len, 0);
                }
            }
            buf_free(&enc);
            buf_free(&out);
        }
    }
    buf_free(&plain);
}
END_TEST

START_TEST(damaged_input_never_crashes)
{
    buf_t plain = BUF_INIT;
    plain_text(&plain);
    plain.len = 2000;
    for (int codec = COMPRESS_GZIP; codec <= COMPRESS_ZSTD; codec++) {
        buf_t enc = BUF_INIT, out = BUF_INIT;
        ck_assert_int_eq(compress_encode(codec, plain.data, plain.len, COMPRESS_F_SNAPPY_XERIAL, &enc), 0);
        for (size_t i = 0; i < enc.len; i++) {
            for (int bit = 0; bit < 8; bit += 3) {
                enc.data[i] ^= (uint8_t)(1u << bit);
                buf_reset(&out);
                int rc = compress_decode(codec, enc.data, enc.len, 4096, &out);
                ck_assert(rc == 0 || rc == COMPRESS_ECORRUPT || rc == COMPRESS_ETOOBIG);
                ck_assert(rc != 0 || out.len <= 4096);
                ck_assert(rc == 0 || out.len == 0);
                enc.data[i] ^= (uint8_t)(1u << bit);
            }
        }
        buf_free(&enc);
        buf_free(&out);
    }
    buf_free(&plain);
}
END_TEST

START_TEST(empty_and_garbage_input)
{
    buf_t out = BUF_INIT;
    for (int codec = COMPRESS_GZIP; codec <= COMPRESS_ZSTD; codec++) {
        ck_assert_int_eq(compress_decode(codec, "", 0, 100, &out), COMPRESS_ECORRUPT);
        ck_assert_int_eq(compress_decode(codec, "garbage!", 8, 1000, &out), COMPRESS_ECORRUPT);
    }
    ck_assert_int_eq(compress_decode(COMPRESS_NONE, "", 0, 100, &out), 0);
    ck_assert_int_eq(compress_decode(COMPRESS_NONE, "abc", 3, 2, &out), COMPRESS_ETOOBIG);
    ck_assert_uint_eq(out.len, 0);
    /* xerial header followed by a chunk whose length runs past the end */
    static const uint8_t x[] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2};
    ck_assert_int_eq(compress_decode(COMPRESS_SNAPPY, x, sizeof x, 100, &out), COMPRESS_ECORRUPT);
    buf_free(&out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, xxh32_known_values);
    tcase_add_test(tc, table_lookup);
    tcase_add_test(tc, roundtrip_all_codecs);
    tcase_add_test(tc, foreign_encodings_decode);
    tcase_add_test(tc, our_encodings_match_kafka_framing);
    tcase_add_test(tc, concatenated_streams);
    tcase_add_test(tc, compression_bombs_stop_at_cap);
    tcase_add_test(tc, truncated_input_never_crashes);
    tcase_add_test(tc, damaged_input_never_crashes);
    tcase_add_test(tc, empty_and_garbage_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
