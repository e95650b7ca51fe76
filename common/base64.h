/* base64.h — standard base64 (RFC 4648, with padding), as ZooKeeper's digest ids use. */
#ifndef GREGOR_COMMON_BASE64_H
#define GREGOR_COMMON_BASE64_H

#include <stddef.h>

/* Writes the encoding of n bytes and a NUL to out, which must hold base64_len(n) + 1
 * bytes. Returns the encoded length. */
size_t base64_encode(const void *p, size_t n, char *out);
static inline size_t base64_len(size_t n) { return 4 * ((n + 2) / 3); }

#endif
