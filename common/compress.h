/* compress.h — the compression codecs a Kafka broker meets: none, gzip, snappy, lz4, zstd.
 *
 * Owns every use of zlib, libsnappy, liblz4 and libzstd in Gregor. Codec ids are numbered as in
 * Kafka's attribute bits (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) so callers can pass them
 * straight through; nothing else here knows about Kafka.
 *
 * Encoding appends a complete compressed stream to a buf_t. Decoding appends the decompressed
 * bytes to a buf_t and never produces more than `cap` bytes: the output grows only as data is
 * actually produced (or, for raw snappy, after its declared length was checked against the cap),
 * so a 1 KiB "compression bomb" that would expand to gigabytes costs at most about cap bytes of
 * memory and ends with COMPRESS_ETOOBIG. Errors are return codes, never aborts; on error the
 * output buffer keeps its old length (bytes appended by the failed call are dropped).
 *
 * Formats accepted on decode:
 *   gzip    one or more concatenated gzip members (trailing bytes that are not a gzip header are
 *           ignored, as Java's GZIPInputStream does); a zlib stream is accepted too.
 *   snappy  a raw snappy block (librdkafka) or the snappy-java "xerial" stream: magic
 *           82 'S' 'N' 'A' 'P' 'P' 'Y' 00, int32 version, int32 min-compatible version, then
 *           chunks of [int32 big-endian length][raw snappy block] (Java clients, kafka-python).
 *   lz4     LZ4 frames (concatenated frames too). The frame header checksum may be either the
 *           correct one or the one Kafka's magic-0 writers computed over magic+descriptor
 *           (KAFKA-3160); the latter is repaired before liblz4 sees it.
 *   zstd    one or more zstd frames, streamed; the window the decoder may allocate is limited by
 *           the cap as well.
 * Encoding: gzip = one gzip member (default level); snappy = raw, or xerial-framed (32 KiB
 * chunks) with COMPRESS_F_SNAPPY_XERIAL; lz4 = one frame as Kafka's Java writer makes it (64 KiB
 * independent blocks, no checksums, no content size) with the correct header checksum, or with
 * the broken KAFKA-3160 one under COMPRESS_F_LZ4_BROKEN_HC (for magic-0 readers); zstd = one
 * frame at level 3. */
#ifndef GREGOR_COMMON_COMPRESS_H
#define GREGOR_COMMON_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef enum compress_codec_e {
    COMPRESS_NONE = 0,
    COMPRESS_GZIP = 1,
    COMPRESS_SNAPPY = 2,
    COMPRESS_LZ4 = 3,
    COMPRESS_ZSTD = 4,
} compress_codec_t;
#define COMPRESS_NCODECS 5

/* Return codes (0 = success). */
#define COMPRESS_EINVAL   (-1)   /* unknown codec id */
#define COMPRESS_ECORRUPT (-2)   /* malformed or truncated compressed data */
#define COMPRESS_ETOOBIG  (-3)   /* decompressed data exceeds the cap */

/* Encoding flags. */
#define COMPRESS_F_SNAPPY_XERIAL 0x1u   /* snappy: snappy-java stream framing */
#define COMPRESS_F_LZ4_BROKEN_HC 0x2u   /* lz4: Kafka magic-0 header checksum (KAFKA-3160) */

/* One codec. encode appends the compressed form of in[0..len) to out; decode appends at most
 * cap decompressed bytes to out. Both return 0 or a COMPRESS_E* code and leave out->len as it
 * was on error. The caller owns out. */
typedef struct compress_vt_s {
    const char *name;          /* "none", "gzip", "snappy", "lz4", "zstd" */
    compress_codec_t id;
    int (*encode)(const uint8_t *in, size_t len, unsigned flags, buf_t *out);
    int (*decode)(const uint8_t *in, size_t len, size_t cap, buf_t *out);
} compress_vt_t;

/* The codec with this id, or NULL if unknown. */
const compress_vt_t *compress_vt(int codec);
/* The codec with this name ("gzip", ...; "uncompressed" and "none" both mean none), or NULL. */
const compress_vt_t *compress_vt_by_name(const char *name);

/* Shorthands through the table; COMPRESS_EINVAL for an unknown codec. */
int compress_encode(int codec, const void *in, size_t len, unsigned flags, buf_t *out);
int compress_decode(int codec, const void *in, size_t len, size_t cap, buf_t *out);

/* A short static description of a return code. */
const char *compress_strerror(int rc);

/* The xxHash32 of p[0..n) with a seed (used by the LZ4 frame format); exposed for tests. */
uint32_t compress_xxh32(const void *p, size_t n, uint32_t seed);

#endif
