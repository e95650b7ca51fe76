/* test_kafka_util.h — hex helpers shared by the Kafka codec unit tests (header only). */
#ifndef GREGOR_TESTS_TEST_KAFKA_UTIL_H
#define GREGOR_TESTS_TEST_KAFKA_UTIL_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"

/* Appends the bytes written as hex in h (spaces ignored). */
static inline void hex(buf_t *b, const char *h)
{
    for (; *h; h++) {
        if (*h == ' ')
            continue;
        unsigned v;
        ck_assert(sscanf(h, "%2x", &v) == 1);
        buf_put_u8(b, (uint8_t)v);
        h++;
    }
}

static inline void hexdump(buf_t *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_printf(out, "%02x", p[i]);
}

/* Fails the test, showing both, unless p[0..n) are the bytes of want_hex. */
static inline void assert_bytes(const uint8_t *p, size_t n, const char *want_hex)
{
    buf_t w = BUF_INIT;
    hex(&w, want_hex);
    if (n != w.len || (n && memcmp(p, w.data, n))) {
        buf_t g = BUF_INIT;
        hexdump(&g, p, n);
        ck_abort_msg("got %s\nwant %s", buf_cstr(&g), want_hex);
    }
    buf_free(&w);
}

#endif
