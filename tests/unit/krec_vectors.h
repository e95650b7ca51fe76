/* krec_vectors.h — loading the hex test vectors under tests/unit/vectors/records/ for the
 * compression and Kafka record unit tests. Header-only (static functions) so each test binary
 * stays self-contained.
 *
 * A .hex file holds hex digits; whitespace and '#' comments (to end of line) are ignored.
 * The directory is found relative to the working directory (make unit runs from the top of
 * the tree) or, failing that, relative to the test binary (build/tests/..). */
#ifndef GREGOR_TESTS_KREC_VECTORS_H
#define GREGOR_TESTS_KREC_VECTORS_H

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"

/* Opens tests/unit/vectors/records/<name>, or returns NULL. */
static inline FILE *vec_open(const char *name)
{
    char path[2 * PATH_MAX + 64];
    snprintf(path, sizeof path, "tests/unit/vectors/records/%s", name);
    FILE *f = fopen(path, "r");
    if (f)
        return f;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    snprintf(path, sizeof path, "%s/../../tests/unit/vectors/records/%s", exe, name);
    return fopen(path, "r");
}

static inline int vec_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads a .hex vector into b (appended; caller frees). Fails the test if it is missing. */
static inline void vec_load_hex(const char *name, buf_t *b)
{
    FILE *f = vec_open(name);
    ck_assert_msg(f != NULL, "vector %s not found", name);
    int c, hi = -1;
    while ((c = fgetc(f)) != EOF) {
        if (c == '#') {
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        int v = vec_hexval(c);
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            buf_put_u8(b, (uint8_t)(hi << 4 | v));
            hi = -1;
        }
    }
    fclose(f);
    ck_assert_msg(hi < 0, "vector %s has an odd number of hex digits", name);
}

#endif
