/* alloc.h — allocation wrappers that abort on exhaustion.
 *
 * Gregor never tries to limp on after malloc fails: every caller would need an
 * error path that is never tested. Memory is bounded instead by configured limits
 * (jute.maxbuffer, socket.request.max.bytes, ...), checked before allocating. */
#ifndef GREGOR_COMMON_ALLOC_H
#define GREGOR_COMMON_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* printf into a new heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
