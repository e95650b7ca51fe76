/* zkc_path.c — client-side path rules: validation with ZooKeeper's messages,
 * chroot prepend/strip, and connect-string parsing. Pure functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "coord/zkc_int.h"

/* Decodes one UTF-8 code point at s (n bytes left). Returns its length (>= 1);
 * *cp = 0xFFFD for a malformed sequence (consuming one byte), as Java's decoder
 * would have replaced it. */
static int utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    int len;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if ((size_t)len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = c;
    return len;
}

int zkc_validate_path(const char *path, char *why, size_t whylen)
{
    const char *reason = NULL;
    char rbuf[64];
    if (!path) {
        reason = "Path cannot be null";
        goto bad_plain;
    }
    size_t n = strlen(path);
    if (n == 0) {
        reason = "Path length must be > 0";
        goto bad_plain;
    }
    if (path[0] != '/') {
        reason = "Path must start with / character";
        goto bad_plain;
    }
    if (n == 1)
        return ZOK;
    if (path[n - 1] == '/') {
        reason = "Path must not end with / character";
        goto bad_plain;
    }
    /* Walk code points; positions are UTF-16 indexes, as Java reports them.
     * A supplementary character is a surrogate pair in Java, which the rule
     * against U+D800..U+F8FF rejects. */
    const unsigned char *s = (const unsigned char *)path;
    size_t i = 1;
    long idx = 1;
    unsigned last = '/', last2 = 0;
    while (i < n) {
        unsigned c;
        int len = utf8_next(s + i, n - i, &c);
        unsigned nextc = 0;
        if (i + (size_t)len < n)
            utf8_next(s + i + len, n - i - (size_t)len, &nextc);
        bool at_end = i + (size_t)len >= n;
        if (c == '/' && last == '/') {
            snprintf(rbuf, sizeof rbuf, "empty node name specified @%ld", idx);
            reason = rbuf;
        } else if (c == '.' && last == '.') {
            if (last2 == '/' && (at_end || nextc == '/')) {
                snprintf(rbuf, sizeof rbuf, "relative paths not allowed @%ld", idx);
                reason = rbuf;
            }
        } else if (c == '.') {
            if (last == '/' && (at_end || nextc == '/')) {
                snprintf(rbuf, sizeof rbuf, "relative paths not allowed @%ld", idx);
                reason = rbuf;
            }
        } else if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) ||
                   (c >= 0xfff0 && c <= 0xffff) || c > 0xffff) {
            snprintf(rbuf, sizeof rbuf, "invalid character @%ld", idx);
            reason = rbuf;
        }
        if (reason)
            break;
        last2 = last;
        last = c > 0xffff ? 0xdc00 : c;
        i += (size_t)len;
        idx += c > 0xffff ? 2 : 1;
    }
    if (!reason)
        return ZOK;
    if (why && whylen)
        snprintf(why, whylen, "Invalid path string \"%s\" caused by %s", path, reason);
    return ZBADARGUMENTS;
bad_plain:
    if (why && whylen)
        snprintf(why, whylen, "%s", reason);
    return ZBADARGUMENTS;
}

char *zkc_path_prepend(const char *chroot, const char *path)
{
    if (!chroot)
        return xstrdup(path);
    if (strcmp(path, "/") == 0)
        return xstrdup(chroot);
    return xasprintf("%s%s", chroot, path);
}

const char *zkc_path_strip(const char *chroot, const char *path)
{
    if (!chroot || !path)
        return path;
    size_t n = strlen(chroot);
    if (strcmp(path, chroot) == 0)
        return "/";
    if (strlen(path) > n && strncmp(path, chroot, n) == 0)
        return path + n;
    return path;
}

void zkc_hostports_free(zkc_hostport_t *hosts, int n)
{
    for (int i = 0; i < n; i++)
        free(hosts[i].host);
    free(hosts);
}

int zkc_connstr_parse(const char *s, zkc_hostport_t **hosts_out, int *n_out, char **chroot_out, char *why,
                      size_t whylen)
{
    *hosts_out = NULL;
    *n_out = 0;
    *chroot_out = NULL;
    if (!s || !*s) {
        snprintf(why, whylen, "empty connect string");
        return ZBADARGUMENTS;
    }
    const char *slash = strchr(s, '/');
    char *hostpart = slash ? xstrndup(s, (size_t)(slash - s)) : xstrdup(s);
    char *chroot = NULL;
    if (slash && strlen(slash) > 1) {
        char pwhy[256];
        if (zkc_validate_path(slash, pwhy, sizeof pwhy) != ZOK) {
            snprintf(why, whylen, "%s", pwhy);
            free(hostpart);
            return ZBADARGUMENTS;
        }
        chroot = xstrdup(slash);
    }
    zkc_hostport_t *hosts = NULL;
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(hostpart, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t tl = strlen(tok);
        while (tl && tok[tl - 1] == ' ')
            tok[--tl] = '\0';
        if (!tl)
            continue;
        char *host;
        const char *portstr = NULL;
        if (tok[0] == '[') {
            char *close = strchr(tok, ']');
            if (!close) {
                snprintf(why, whylen, "%s: missing ]", tok);
                goto fail;
            }
            host = xstrndup(tok + 1, (size_t)(close - tok - 1));
            if (close[1] == ':')
                portstr = close + 2;
            else if (close[1] != '\0') {
                free(host);
                snprintf(why, whylen, "%s: bad address", tok);
                goto fail;
            }
        } else {
            char *colon = strrchr(tok, ':');
            if (colon && strchr(tok, ':') != colon) {
                host = xstrdup(tok);   /* bare IPv6 literal, no port */
            } else if (colon) {
                host = xstrndup(tok, (size_t)(colon - tok));
                portstr = colon + 1;
            } else {
                host = xstrdup(tok);
            }
        }
        int port = 2181;
        if (portstr) {
            char *end;
            long p = strtol(portstr, &end, 10);
            if (!*portstr || *end || p <= 0 || p > 65535) {
                snprintf(why, whylen, "%s: bad port", tok);
                free(host);
                goto fail;
            }
            port = (int)p;
        }
        hosts = xrealloc(hosts, (size_t)(n + 1) * sizeof *hosts);
        hosts[n].host = host;
        hosts[n].port = port;
        n++;
    }
    if (n == 0) {
        snprintf(why, whylen, "no host in connect string");
        goto fail;
    }
    free(hostpart);
    *hosts_out = hosts;
    *n_out = n;
    *chroot_out = chroot;
    return ZOK;
fail:
    zkc_hostports_free(hosts, n);
    free(hostpart);
    free(chroot);
    return ZBADARGUMENTS;
}
