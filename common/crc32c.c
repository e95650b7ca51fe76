/* crc32c.c — CRC-32C and CRC-32/IEEE (see crc32c.h). Tables are built once; the hardware
 * paths are picked once at run time (__builtin_cpu_supports), so one binary runs anywhere. */
#include "common/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC_X86 1
#include <immintrin.h>
#endif

/* Slicing-by-8 tables: [0] CRC-32C, [1] CRC-32/IEEE (both reflected). */
static uint32_t tab[2][8][256];
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;
static bool have_sse42, have_pclmul;

/* CRC-32C three streams at a time (the crc32 instruction has a latency of 3 and a throughput
 * of 1): streams of LONG or SHORT bytes are combined by "appending LONG/SHORT zero bytes" to
 * the register, a linear map kept as byte tables. */
#define CRC_LONG  8192
#define CRC_SHORT 256
static uint32_t zeros_long[4][256], zeros_short[4][256];

static void zeros_table(uint32_t z[4][256], size_t n)
{
    uint32_t col[32];
    for (int i = 0; i < 32; i++) {
        uint32_t c = 1u << i;
        for (size_t k = 0; k < n; k++)
            c = (c >> 8) ^ tab[0][0][c & 0xff];
        col[i] = c;
    }
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int j = 0; j < 8; j++)
                if (b >> j & 1)
                    v ^= col[8 * k + j];
            z[k][b] = v;
        }
}

static inline uint32_t zeros_shift(uint32_t z[4][256], uint32_t c)
{
    return z[0][c & 0xff] ^ z[1][(c >> 8) & 0xff] ^ z[2][(c >> 16) & 0xff] ^ z[3][c >> 24];
}

static void build(void)
{
    static const uint32_t poly[2] = {0x82F63B78u, 0xEDB88320u};
    for (int k = 0; k < 2; k++) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int j = 0; j < 8; j++)
                c = c & 1 ? (c >> 1) ^ poly[k] : c >> 1;
            tab[k][0][i] = c;
        }
        for (uint32_t i = 0; i < 256; i++)
            for (int t = 1; t < 8; t++)
                tab[k][t][i] = (tab[k][t - 1][i] >> 8) ^ tab[k][0][tab[k][t - 1][i] & 0xff];
    }
    zeros_table(zeros_long, CRC_LONG);
    zeros_table(zeros_short, CRC_SHORT);
#ifdef CRC_X86
    __builtin_cpu_init();
    have_sse42 = __builtin_cpu_supports("sse4.2");
    have_pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
}

/* crc is the internal (already inverted) register. */
static uint32_t slice8(uint32_t t[8][256], uint32_t crc, const uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][p[4]] ^
              t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
    return crc;
}

uint32_t crc32c_update_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&tab_once, build);
    return ~slice8(tab[0], ~crc, data, n);
}

uint32_t crc32_ieee_update_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&tab_once, build);
    return ~slice8(tab[1], ~crc, data, n);
}

bool crc32c_hw(void)
{
    pthread_once(&tab_once, build);
    return have_sse42;
}

#ifdef CRC_X86
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = crc;
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    while (n >= 3 * CRC_LONG) {
        uint64_t c1 = 0, c2 = 0, v0, v1, v2;
        for (size_t i = 0; i < CRC_LONG; i += 8) {
            memcpy(&v0, p + i, 8);
            memcpy(&v1, p + CRC_LONG + i, 8);
            memcpy(&v2, p + 2 * CRC_LONG + i, 8);
            c = _mm_crc32_u64(c, v0);
            c1 = _mm_crc32_u64(c1, v1);
            c2 = _mm_crc32_u64(c2, v2);
        }
        c = zeros_shift(zeros_long, (uint32_t)c) ^ (uint32_t)c1;
        c = zeros_shift(zeros_long, (uint32_t)c) ^ (uint32_t)c2;
        p += 3 * CRC_LONG;
        n -= 3 * CRC_LONG;
    }
    while (n >= 3 * CRC_SHORT) {
        uint64_t c1 = 0, c2 = 0, v0, v1, v2;
        for (size_t i = 0; i < CRC_SHORT; i += 8) {
            memcpy(&v0, p + i, 8);
            memcpy(&v1, p + CRC_SHORT + i, 8);
            memcpy(&v2, p + 2 * CRC_SHORT + i, 8);
            c = _mm_crc32_u64(c, v0);
            c1 = _mm_crc32_u64(c1, v1);
            c2 = _mm_crc32_u64(c2, v2);
        }
        c = zeros_shift(zeros_short, (uint32_t)c) ^ (uint32_t)c1;
        c = zeros_shift(zeros_short, (uint32_t)c) ^ (uint32_t)c2;
        p += 3 * CRC_SHORT;
        n -= 3 * CRC_SHORT;
    }
    while (n >= 32) {
        uint64_t v[4];
        memcpy(v, p, sizeof v);
        c = _mm_crc32_u64(c, v[0]);
        c = _mm_crc32_u64(c, v[1]);
        c = _mm_crc32_u64(c, v[2]);
        c = _mm_crc32_u64(c, v[3]);
        p += 32;
        n -= 32;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return (uint32_t)c;
}

/* CRC-32/IEEE by carry-less multiplication folding (Intel, "Fast CRC Computation for Generic
 * Polynomials Using PCLMULQDQ", 2009), reflected form; the constants are x^k mod P for the
 * fold distances 512+64/512 (k1/k2) and 128+64/128 (k3/k4), and the Barrett pair. Takes
 * n >= 16 and the internal register; returns the internal register. */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc32_pclmul(uint32_t crc, const uint8_t *p, size_t n)
{
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i k5k0 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    __m128i t, x1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128((int)crc));
    if (n < 64) {
        p += 16;
        n -= 16;
        goto by16;
    }
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 0x10));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 0x20));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(p + 0x30));
    p += 64;
    n -= 64;
    while (n >= 64) {
        __m128i t1 = _mm_clmulepi64_si128(x1, k1k2, 0x00), t2 = _mm_clmulepi64_si128(x2, k1k2, 0x00);
        __m128i t3 = _mm_clmulepi64_si128(x3, k1k2, 0x00), t4 = _mm_clmulepi64_si128(x4, k1k2, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k1k2, 0x11);
        x2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
        x3 = _mm_clmulepi64_si128(x3, k1k2, 0x11);
        x4 = _mm_clmulepi64_si128(x4, k1k2, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, t1), _mm_loadu_si128((const __m128i *)(p + 0x00)));
        x2 = _mm_xor_si128(_mm_xor_si128(x2, t2), _mm_loadu_si128((const __m128i *)(p + 0x10)));
        x3 = _mm_xor_si128(_mm_xor_si128(x3, t3), _mm_loadu_si128((const __m128i *)(p + 0x20)));
        x4 = _mm_xor_si128(_mm_xor_si128(x4, t4), _mm_loadu_si128((const __m128i *)(p + 0x30)));
        p += 64;
        n -= 64;
    }
    /* fold the four into one */
    t = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), t), x2);
    t = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), t), x3);
    t = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), t), x4);
by16:
    while (n >= 16) {
        t = _mm_clmulepi64_si128(x1, k3k4, 0x00);
        x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), t),
                           _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    if (n) {
        /* a partial block of n bytes: the stream is state(16) tail(n) = [0^(16-n) state[0..n)]
         * folded over [state[n..16) tail] — leading zero bytes do not change the polynomial */
        uint8_t s[16], hi[16] = {0}, lo[16];
        _mm_storeu_si128((__m128i *)s, x1);
        memcpy(hi + 16 - n, s, n);
        memcpy(lo, s + n, 16 - n);
        memcpy(lo + 16 - n, p, n);
        x1 = _mm_loadu_si128((const __m128i *)hi);
        t = _mm_clmulepi64_si128(x1, k3k4, 0x00);
        x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), t),
                           _mm_loadu_si128((const __m128i *)lo));
    }
    /* 128 -> 64 bits */
    x2 = _mm_clmulepi64_si128(x1, k3k4, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
    /* 64 -> 32 bits */
    x2 = _mm_srli_si128(x1, 4);
    x1 = _mm_and_si128(x1, mask32);
    x1 = _mm_clmulepi64_si128(x1, k5k0, 0x00);
    x1 = _mm_xor_si128(x1, x2);
    /* Barrett reduction */
    x2 = _mm_and_si128(x1, mask32);
    x2 = _mm_clmulepi64_si128(x2, poly, 0x10);
    x2 = _mm_and_si128(x2, mask32);
    x2 = _mm_clmulepi64_si128(x2, poly, 0x00);
    x1 = _mm_xor_si128(x1, x2);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}
#endif

uint32_t crc32c_update(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&tab_once, build);
#ifdef CRC_X86
    if (have_sse42)
        return ~crc32c_sse42(~crc, data, n);
#endif
    return ~slice8(tab[0], ~crc, data, n);
}

uint32_t crc32_ieee_update(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&tab_once, build);
    const uint8_t *p = data;
    uint32_t c = ~crc;
#ifdef CRC_X86
    if (have_pclmul && n >= 16)
        return ~crc32_pclmul(c, p, n);
#endif
    return ~slice8(tab[1], c, p, n);
}
