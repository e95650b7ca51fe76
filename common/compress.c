/* compress.c — codec table over zlib, libsnappy, liblz4 and libzstd (see compress.h). */
#include "common/compress.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* ---- output growth under a cap ---------------------------------------------------------- */

/* Makes room for the next piece of decoder output and returns its size. The room never
 * exceeds what the cap still allows plus one byte, so a decoder that writes past the cap is
 * noticed (produced > cap) after at most one extra byte; the buffer grows geometrically with
 * what was really produced, never with what a header claims. */
static size_t out_room(buf_t *out, size_t start, size_t cap)
{
    size_t produced = out->len - start;
    size_t left = produced <= cap ? cap - produced : 0;
    size_t want = produced < 65536 ? 65536 : produced;
    if (want > left + 1)
        want = left + 1;
    buf_reserve(out, want);
    return want;
}

static int fail(buf_t *out, size_t start, int rc)
{
    out->len = start;
    return rc;
}

/* ---- none --------------------------------------------------------------------------------- */

static int none_encode(const uint8_t *in, size_t len, unsigned flags, buf_t *out)
{
    (void)flags;
    buf_put(out, in, len);
    return 0;
}

static int none_decode(const uint8_t *in, size_t len, size_t cap, buf_t *out)
{
    if (len > cap)
        return COMPRESS_ETOOBIG;
    buf_put(out, in, len);
    return 0;
}

/* ---- gzip --------------------------------------------------------------------------------- */

static int gzip_encode(const uint8_t *in, size_t len, unsigned flags, buf_t *out)
{
    (void)flags;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return COMPRESS_ECORRUPT;
    size_t start = out->len;
    int rc = 0;
    zs.next_in = (Bytef *)(uintptr_t)in;
    for (;;) {
        /* zlib counts in uInt: feed at most 1 GiB per call */
        if (zs.avail_in == 0 && len > 0) {
            size_t n = len > (1u << 30) ? (1u << 30) : len;
            zs.avail_in = (uInt)n;
            len -= n;
        }
        size_t room = deflateBound(&zs, zs.avail_in) + 64;
        buf_reserve(out, room);
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)room;
        int zr = deflate(&zs, len == 0 ? Z_FINISH : Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = fail(out, start, COMPRESS_ECORRUPT);
            break;
        }
    }
    deflateEnd(&zs);
    return rc;
}

static int gzip_decode(const uint8_t *in, size_t len, size_t cap, buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK)   /* gzip or zlib header, detected */
        return COMPRESS_ECORRUPT;
    size_t start = out->len;
    size_t in_left = len;
    int rc = 0;
    zs.next_in = (Bytef *)(uintptr_t)in;
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {
            size_t n = in_left > (1u << 30) ? (1u << 30) : in_left;
            zs.avail_in = (uInt)n;
            in_left -= n;
        }
        size_t room = out_room(out, start, cap);
        if (room > (1u << 30))
            room = 1u << 30;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)room;
        int zr = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if (out->len - start > cap) {
            rc = COMPRESS_ETOOBIG;
            break;
        }
        if (zr == Z_STREAM_END) {
            /* another gzip member may follow; anything else is ignored */
            if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            break;
        }
        if (zr == Z_OK && (zs.avail_in > 0 || in_left > 0 || zs.avail_out == 0))
            continue;
        if (zr == Z_BUF_ERROR && zs.avail_out == 0)
            continue;
        rc = COMPRESS_ECORRUPT;   /* error, or input ended inside the stream */
        break;
    }
    inflateEnd(&zs);
    return rc ? fail(out, start, rc) : 0;
}

/* ---- snappy ------------------------------------------------------------------------------- */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER 16
#define XERIAL_CHUNK (32 * 1024)

static void snappy_block(const uint8_t *in, size_t len, buf_t *out)
{
    size_t max = snappy_max_compressed_length(len);
    buf_reserve(out, max);
    size_t n = max;
    snappy_compress((const char *)in, len, (char *)out->data + out->len, &n);
    out->len += n;
}

static int snappy_encode(const uint8_t *in, size_t len, unsigned flags, buf_t *out)
{
    if (!(flags & COMPRESS_F_SNAPPY_XERIAL)) {
        snappy_block(in, len, out);
        return 0;
    }
    buf_put(out, xerial_magic, sizeof xerial_magic);
    buf_put_be32(out, 1);   /* version */
    buf_put_be32(out, 1);   /* minimum compatible version */
    for (size_t pos = 0; pos < len; pos += XERIAL_CHUNK) {
        size_t n = len - pos < XERIAL_CHUNK ? len - pos : XERIAL_CHUNK;
        size_t lenpos = out->len;
        buf_put_be32(out, 0);
        snappy_block(in + pos, n, out);
        buf_set_be32(out, lenpos, (uint32_t)(out->len - lenpos - 4));
    }
    return 0;
}

/* Decodes one raw snappy block, checking its declared length against what the cap allows. */
static int snappy_raw(const uint8_t *in, size_t len, size_t start, size_t cap, buf_t *out)
{
    size_t ulen;
    if (snappy_uncompressed_length((const char *)in, len, &ulen) != SNAPPY_OK)
        return COMPRESS_ECORRUPT;
    if (ulen > cap - (out->len - start))
        return COMPRESS_ETOOBIG;
    buf_reserve(out, ulen);
    size_t n = ulen;
    if (snappy_uncompress((const char *)in, len, (char *)out->data + out->len, &n) != SNAPPY_OK || n != ulen)
        return COMPRESS_ECORRUPT;
    out->len += n;
    return 0;
}

static int snappy_decode(const uint8_t *in, size_t len, size_t cap, buf_t *out)
{
    size_t start = out->len;
    if (len < XERIAL_HEADER || memcmp(in, xerial_magic, sizeof xerial_magic) != 0) {
        int rc = snappy_raw(in, len, start, cap, out);
        return rc ? fail(out, start, rc) : 0;
    }
    size_t pos = XERIAL_HEADER;
    while (pos < len) {
        if (len - pos < 4)
            return fail(out, start, COMPRESS_ECORRUPT);
        size_t clen = be32_get(in + pos);
        pos += 4;
        if (clen > len - pos)
            return fail(out, start, COMPRESS_ECORRUPT);
        int rc = snappy_raw(in + pos, clen, start, cap, out);
        if (rc)
            return fail(out, start, rc);
        pos += clen;
    }
    return 0;
}

/* ---- xxHash32 (the LZ4 frame header checksum) --------------------------------------------- */

#define XXP1 2654435761u
#define XXP2 2246822519u
#define XXP3 3266489917u
#define XXP4 668265263u
#define XXP5 374761393u

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
static inline uint32_t le32_get(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint32_t xxround(uint32_t acc, uint32_t in) { return rotl32(acc + in * XXP2, 13) * XXP1; }

uint32_t compress_xxh32(const void *data, size_t n, uint32_t seed)
{
    const uint8_t *p = data, *end = p + n;
    uint32_t h;
    if (n >= 16) {
        uint32_t v1 = seed + XXP1 + XXP2, v2 = seed + XXP2, v3 = seed, v4 = seed - XXP1;
        while ((size_t)(end - p) >= 16) {
            v1 = xxround(v1, le32_get(p));
            v2 = xxround(v2, le32_get(p + 4));
            v3 = xxround(v3, le32_get(p + 8));
            v4 = xxround(v4, le32_get(p + 12));
            p += 16;
        }
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = seed + XXP5;
    }
    h += (uint32_t)n;
    while ((size_t)(end - p) >= 4) {
        h = rotl32(h + le32_get(p) * XXP3, 17) * XXP4;
        p += 4;
    }
    while (p < end)
        h = rotl32(h + *p++ * XXP5, 11) * XXP1;
    h ^= h >> 15;
    h *= XXP2;
    h ^= h >> 13;
    h *= XXP3;
    h ^= h >> 16;
    return h;
}

/* ---- lz4 ---------------------------------------------------------------------------------- */

#define LZ4_FRAME_MAGIC 0x184D2204u
#define LZ4_SKIPPABLE_MASK 0xFFFFFFF0u
#define LZ4_SKIPPABLE_MAGIC 0x184D2A50u
#define LZ4_MAX_HEADER 19

static int lz4_encode(const uint8_t *in, size_t len, unsigned flags, buf_t *out)
{
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    size_t bound = LZ4F_compressFrameBound(len, &prefs);
    buf_reserve(out, bound);
    uint8_t *dst = out->data + out->len;
    size_t n = LZ4F_compressFrame(dst, bound, in, len, &prefs);
    if (LZ4F_isError(n) || n < 7)
        return COMPRESS_ECORRUPT;
    /* header: magic(4) FLG BD HC — no content size, no dictionary id */
    uint32_t over = (flags & COMPRESS_F_LZ4_BROKEN_HC) ? 0 : 4;
    dst[6] = (uint8_t)(compress_xxh32(dst + over, 6 - over, 0) >> 8);
    out->len += n;
    return 0;
}

/* Copies the frame header at p into hdr, repairing Kafka's broken header checksum (computed
 * over magic + descriptor instead of the descriptor alone). Returns the header length, or 0
 * if the header is truncated. A checksum that matches neither is left for liblz4 to reject. */
static size_t lz4_fix_header(const uint8_t *p, size_t len, uint8_t hdr[LZ4_MAX_HEADER])
{
    if (len < 7)
        return 0;
    uint8_t flg = p[4];
    size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
    size_t hlen = 4 + desc + 1;
    if (len < hlen)
        return 0;
    memcpy(hdr, p, hlen);
    uint8_t good = (uint8_t)(compress_xxh32(p + 4, desc, 0) >> 8);
    uint8_t broken = (uint8_t)(compress_xxh32(p, 4 + desc, 0) >> 8);
    if (p[4 + desc] != good && p[4 + desc] == broken)
        hdr[4 + desc] = good;
    return hlen;
}

/* Feeds src through the decompressor until it is consumed or the frame ends, appending output
 * under the cap. Returns LZ4F's hint (0 = frame finished), or a COMPRESS_E* code (negative,
 * distinguishable because the hint is a size_t we convert only when it is small). *used gets
 * the number of source bytes consumed. */
static int lz4_feed(LZ4F_dctx *d, const uint8_t *src, size_t len, size_t start, size_t cap, buf_t *out,
                    size_t *used, size_t *hint)
{
    size_t pos = 0;
    for (;;) {
        size_t room = out_room(out, start, cap);
        size_t dsz = room, ssz = len - pos;
        size_t r = LZ4F_decompress(d, out->data + out->len, &dsz, src + pos, &ssz, NULL);
        if (LZ4F_isError(r))
            return COMPRESS_ECORRUPT;
        pos += ssz;
        out->len += dsz;
        if (out->len - start > cap)
            return COMPRESS_ETOOBIG;
        if (r == 0 || (pos == len && dsz < room) || (ssz == 0 && dsz == 0)) {
            *used = pos;
            *hint = r;
            return 0;
        }
    }
}

static int lz4_decode(const uint8_t *in, size_t len, size_t cap, buf_t *out)
{
    LZ4F_dctx *d;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
        return COMPRESS_ECORRUPT;
    size_t start = out->len, pos = 0;
    int rc = 0, frames = 0;
    while (rc == 0) {
        if (len - pos < 4 || ((le32_get(in + pos) != LZ4_FRAME_MAGIC) &&
                              (le32_get(in + pos) & LZ4_SKIPPABLE_MASK) != LZ4_SKIPPABLE_MAGIC)) {
            if (frames == 0)
                rc = COMPRESS_ECORRUPT;
            break;   /* bytes after the last frame are ignored, as Kafka's reader does */
        }
        size_t used, hint = 1;
        if (le32_get(in + pos) == LZ4_FRAME_MAGIC) {
            uint8_t hdr[LZ4_MAX_HEADER];
            size_t hlen = lz4_fix_header(in + pos, len - pos, hdr);
            if (hlen == 0) {
                rc = COMPRESS_ECORRUPT;
                break;
            }
            if ((rc = lz4_feed(d, hdr, hlen, start, cap, out, &used, &hint)) != 0)
                break;
            if (used != hlen) {
                rc = COMPRESS_ECORRUPT;
                break;
            }
            pos += hlen;
        }
        if (hint != 0) {
            if ((rc = lz4_feed(d, in + pos, len - pos, start, cap, out, &used, &hint)) != 0)
                break;
            pos += used;
        }
        if (hint != 0)
            rc = COMPRESS_ECORRUPT;   /* input ended inside the frame */
        frames++;
    }
    LZ4F_freeDecompressionContext(d);
    return rc ? fail(out, start, rc) : 0;
}

/* ---- zstd --------------------------------------------------------------------------------- */

static int zstd_encode(const uint8_t *in, size_t len, unsigned flags, buf_t *out)
{
    (void)flags;
    size_t bound = ZSTD_compressBound(len);
    buf_reserve(out, bound);
    size_t n = ZSTD_compress(out->data + out->len, bound, in, len, 3);
    if (ZSTD_isError(n))
        return COMPRESS_ECORRUPT;
    out->len += n;
    return 0;
}

static int zstd_decode(const uint8_t *in, size_t len, size_t cap, buf_t *out)
{
    ZSTD_DCtx *ds = ZSTD_createDCtx();
    if (!ds)
        return COMPRESS_ECORRUPT;
    /* The window a frame may ask for: enough for the cap, at least 8 MiB (what common
     * compression levels use for unknown-size streams), at most libzstd's default limit. */
    int wlog = 23;
    while (wlog < 27 && ((size_t)1 << wlog) < cap)
        wlog++;
    ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, wlog);
    size_t start = out->len;
    ZSTD_inBuffer ib = {in, len, 0};
    int rc = 0;
    for (;;) {
        size_t room = out_room(out, start, cap);
        ZSTD_outBuffer ob = {out->data + out->len, room, 0};
        size_t r = ZSTD_decompressStream(ds, &ob, &ib);
        out->len += ob.pos;
        if (ZSTD_isError(r)) {
            rc = ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge ? COMPRESS_ETOOBIG
                                                                                   : COMPRESS_ECORRUPT;
            break;
        }
        if (out->len - start > cap) {
            rc = COMPRESS_ETOOBIG;
            break;
        }
        if (r == 0 && ib.pos == ib.size)
            break;   /* last frame complete */
        if (r != 0 && ib.pos == ib.size && ob.pos < ob.size) {
            rc = COMPRESS_ECORRUPT;   /* input ended inside a frame */
            break;
        }
    }
    ZSTD_freeDCtx(ds);
    return rc ? fail(out, start, rc) : 0;
}

/* ---- table -------------------------------------------------------------------------------- */

static const compress_vt_t codecs[COMPRESS_NCODECS] = {
    {"none", COMPRESS_NONE, none_encode, none_decode},
    {"gzip", COMPRESS_GZIP, gzip_encode, gzip_decode},
    {"snappy", COMPRESS_SNAPPY, snappy_encode, snappy_decode},
    {"lz4", COMPRESS_LZ4, lz4_encode, lz4_decode},
    {"zstd", COMPRESS_ZSTD, zstd_encode, zstd_decode},
};

const compress_vt_t *compress_vt(int codec)
{
    return codec >= 0 && codec < COMPRESS_NCODECS ? &codecs[codec] : NULL;
}

const compress_vt_t *compress_vt_by_name(const char *name)
{
    if (!name)
        return NULL;
    if (strcasecmp(name, "uncompressed") == 0)
        return &codecs[COMPRESS_NONE];
    for (int i = 0; i < COMPRESS_NCODECS; i++)
        if (strcasecmp(name, codecs[i].name) == 0)
            return &codecs[i];
    return NULL;
}

int compress_encode(int codec, const void *in, size_t len, unsigned flags, buf_t *out)
{
    const compress_vt_t *vt = compress_vt(codec);
    return vt ? vt->encode(in, len, flags, out) : COMPRESS_EINVAL;
}

int compress_decode(int codec, const void *in, size_t len, size_t cap, buf_t *out)
{
    const compress_vt_t *vt = compress_vt(codec);
    return vt ? vt->decode(in, len, cap, out) : COMPRESS_EINVAL;
}

const char *compress_strerror(int rc)
{
    switch (rc) {
    case 0: return "ok";
    case COMPRESS_EINVAL: return "unknown compression codec";
    case COMPRESS_ECORRUPT: return "corrupt compressed data";
    case COMPRESS_ETOOBIG: return "decompressed data exceeds the size limit";
    default: return "compression error";
    }
}
