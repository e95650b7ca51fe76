/* acl.c — ZooKeeper 3.8 identities, addauth and permission checks.
 *
 * Facts followed (ZooKeeper 3.8 server behaviour, confirmed against a live 3.8 server):
 *  - digest: identity "user:BASE64(SHA1(user:password))"; any credential is accepted
 *    (no ':' just makes the whole string the user); an ACL id is valid iff it splits
 *    into exactly two fields on ':' (Java split, trailing empty fields dropped).
 *  - ip: IPv4 only, "a.b.c.d[/bits]"; IPv6 ids are invalid and never match.
 *  - world: only "anyone" is valid.
 *  - perms are not range-checked (a live 3.8 stores perms 127 as given).
 *  - A session's identities form a Java hash set; whoAmI and the "auth" expansion list
 *    them in that set's iteration order, which acl_auth_order reproduces. */
#include "coord/acl.h"

#include <sha1.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/base64.h"

/* ---- identities ---- */

void acl_auth_init(acl_auth_t *a, const char *client_ip)
{
    a->v = NULL;
    a->n = 0;
    a->super = false;
    if (client_ip && *client_ip)
        acl_auth_add(a, "ip", client_ip);
}

void acl_auth_free(acl_auth_t *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].scheme);
        free(a->v[i].id);
    }
    free(a->v);
    a->v = NULL;
    a->n = 0;
    a->super = false;
}

void acl_auth_add(acl_auth_t *a, const char *scheme, const char *id)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].scheme, scheme) == 0 && strcmp(a->v[i].id, id) == 0)
            return;
    a->v = xrealloc(a->v, (a->n + 1) * sizeof *a->v);
    a->v[a->n].scheme = xstrdup(scheme);
    a->v[a->n].id = xstrdup(id);
    a->n++;
    if (strcmp(scheme, "super") == 0)
        a->super = true;
}

/* Java's String.hashCode over the UTF-16 code units of a UTF-8 string. */
static uint32_t java_string_hash(const char *s)
{
    uint32_t h = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int extra;
        if (*p < 0x80) {
            cp = *p;
            extra = 0;
        } else if ((*p & 0xe0) == 0xc0) {
            cp = *p & 0x1f;
            extra = 1;
        } else if ((*p & 0xf0) == 0xe0) {
            cp = *p & 0x0f;
            extra = 2;
        } else if ((*p & 0xf8) == 0xf0) {
            cp = *p & 0x07;
            extra = 3;
        } else {
            cp = 0xfffd;
            extra = 0;
        }
        p++;
        for (int k = 0; k < extra; k++) {
            if ((*p & 0xc0) != 0x80) {
                cp = 0xfffd;
                break;
            }
            cp = cp << 6 | (*p++ & 0x3f);
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return h;
}

/* Bucket of an Id{scheme,id} in a ConcurrentHashMap of `nbuckets` buckets. */
static uint32_t java_id_bucket(const acl_ident_t *id, uint32_t nbuckets)
{
    uint32_t h = 17;
    h = 37 * h + java_string_hash(id->scheme);
    h = 37 * h + java_string_hash(id->id);
    h = (h ^ (h >> 16)) & 0x7fffffff;
    return h & (nbuckets - 1);
}

void acl_auth_order(const acl_auth_t *a, size_t *idx)
{
    /* ConcurrentHashMap: 16 buckets, doubled once the count reaches 3/4 of them; within a
     * bucket, insertion order. (After a resize Java may reorder a bucket; sessions with
     * more than 11 identities are not worth modelling further.) */
    uint32_t nb = 16;
    while (a->n >= (size_t)nb - nb / 4)
        nb *= 2;
    size_t k = 0;
    for (uint32_t b = 0; b < nb; b++)
        for (size_t i = 0; i < a->n; i++)
            if (java_id_bucket(&a->v[i], nb) == b)
                idx[k++] = i;
}

/* ---- digest ---- */

char *acl_digest(const char *user_colon_password)
{
    uint8_t md[SHA1_DIGEST_LENGTH];
    size_t len = strlen(user_colon_password);
    SHA1_CTX sha;
    SHA1Init(&sha);
    SHA1Update(&sha, (const uint8_t *)user_colon_password, len);
    SHA1Final(md, &sha);
    char b64[base64_len(SHA1_DIGEST_LENGTH) + 1];
    size_t n = base64_encode(md, sizeof md, b64);
    const char *colon = strchr(user_colon_password, ':');
    size_t ulen = colon ? (size_t)(colon - user_colon_password) : len;
    char *out = xmalloc(ulen + 1 + (size_t)n + 1);
    memcpy(out, user_colon_password, ulen);
    out[ulen] = ':';
    memcpy(out + ulen + 1, b64, (size_t)n);
    out[ulen + 1 + (size_t)n] = '\0';
    return out;
}

int acl_add_auth(acl_auth_t *a, const char *scheme, const uint8_t *auth, int32_t len, const char *super_digest)
{
    if (!scheme)
        return ZAUTHFAILED;
    if (strcmp(scheme, "digest") == 0) {
        char *cred = xstrndup(auth ? (const char *)auth : "", len > 0 ? (size_t)len : 0);
        char *id = acl_digest(cred);
        free(cred);
        if (super_digest && strcmp(id, super_digest) == 0)
            acl_auth_add(a, "super", "");
        acl_auth_add(a, "digest", id);
        free(id);
        return ZOK;
    }
    if (strcmp(scheme, "ip") == 0) {
        /* 3.8's ip provider accepts any credential and adds the connection's address,
         * which the session already holds. */
        return ZOK;
    }
    return ZAUTHFAILED;
}

/* ---- ip ---- */

/* Java Integer.parseInt: optional sign, decimal digits, fits in int32. */
static bool java_parse_int(const char *s, size_t n, long *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i >= n)
        return false;
    long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
        if (v > 2147483648L)
            return false;
    }
    if (neg)
        v = -v;
    if (v > 2147483647L)
        return false;
    *out = v;
    return true;
}

static bool v4_parse(const char *s, size_t n, uint8_t out[4])
{
    size_t start = 0;
    int part = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            long v;
            if (part >= 4 || !java_parse_int(s + start, i - start, &v) || v < 0 || v > 255)
                return false;
            out[part++] = (uint8_t)v;
            start = i + 1;
        }
    }
    return part == 4;
}

/* Splits "addr[/bits]"; bits defaults to 32. */
static bool ip_pattern(const char *pattern, uint8_t addr[4], int *bits)
{
    const char *slash = strchr(pattern, '/');
    size_t alen = slash ? (size_t)(slash - pattern) : strlen(pattern);
    if (!v4_parse(pattern, alen, addr))
        return false;
    *bits = 32;
    if (slash) {
        long b;
        if (!java_parse_int(slash + 1, strlen(slash + 1), &b) || b < 0 || b > 32)
            return false;
        *bits = (int)b;
    }
    return true;
}

static void mask_bits(uint8_t b[4], int bits)
{
    for (int i = 0; i < 4; i++) {
        int keep = bits - 8 * i;
        if (keep >= 8)
            continue;
        b[i] = keep <= 0 ? 0 : (uint8_t)(b[i] & (0xff << (8 - keep)));
    }
}

bool acl_ip_valid(const char *pattern)
{
    uint8_t a[4];
    int bits;
    return pattern && ip_pattern(pattern, a, &bits);
}

bool acl_ip_match(const char *pattern, const char *addr)
{
    uint8_t p[4], r[4];
    int bits;
    if (!pattern || !addr || !ip_pattern(pattern, p, &bits) || !v4_parse(addr, strlen(addr), r))
        return false;
    mask_bits(p, bits);
    mask_bits(r, bits);
    return memcmp(p, r, 4) == 0;
}

/* ---- checks ---- */

/* Java's id.split(":").length (trailing empty fields dropped; "" gives 1). */
static int java_split_colon_count(const char *s)
{
    if (!*s)
        return 1;
    int fields = 0, last_nonempty = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == ':' || *p == '\0') {
            fields++;
            if (p > start)
                last_nonempty = fields;
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    return last_nonempty;
}

bool acl_digest_id_valid(const char *id)
{
    return id && java_split_colon_count(id) == 2;
}

bool acl_check(const zkp_ACL *acl, int32_t n, int32_t perm, const acl_auth_t *a)
{
    if (!acl || n <= 0)
        return true;
    if (a && a->super)
        return true;
    for (int32_t i = 0; i < n; i++) {
        const zkp_ACL *e = &acl[i];
        if (!(e->perms & perm) || !e->id.scheme || !e->id.id)
            continue;
        if (strcmp(e->id.scheme, "world") == 0 && strcmp(e->id.id, "anyone") == 0)
            return true;
        if (!a)
            continue;
        bool is_ip = strcmp(e->id.scheme, "ip") == 0;
        bool is_digest = strcmp(e->id.scheme, "digest") == 0;
        if (!is_ip && !is_digest)
            continue;   /* no provider for the scheme: never matches */
        for (size_t k = 0; k < a->n; k++) {
            if (strcmp(a->v[k].scheme, e->id.scheme) != 0)
                continue;
            if (is_digest ? strcmp(a->v[k].id, e->id.id) == 0 : acl_ip_match(e->id.id, a->v[k].id))
                return true;
        }
    }
    return false;
}

static bool acl_equal(const zkp_ACL *x, const zkp_ACL *y)
{
    return x->perms == y->perms && ((!x->id.scheme && !y->id.scheme) ||
                                    (x->id.scheme && y->id.scheme && strcmp(x->id.scheme, y->id.scheme) == 0)) &&
           ((!x->id.id && !y->id.id) || (x->id.id && y->id.id && strcmp(x->id.id, y->id.id) == 0));
}

static void vec_push(jute_vec_t *v, int32_t perms, const char *scheme, const char *id)
{
    v->v = xrealloc(v->v, (size_t)(v->n + 1) * sizeof(zkp_ACL));
    zkp_ACL *e = &((zkp_ACL *)v->v)[v->n++];
    e->perms = perms;
    e->id.scheme = xstrdup(scheme);
    e->id.id = xstrdup(id ? id : "");
}

void acl_vec_free(jute_vec_t *v)
{
    for (int32_t i = 0; i < v->n; i++)
        jute_free(&zkp_ACL_rec, &((zkp_ACL *)v->v)[i]);
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

int acl_fixup(const zkp_ACL *in, int32_t n, const acl_auth_t *a, jute_vec_t *out)
{
    out->n = 0;
    out->v = NULL;
    if (!in || n <= 0)
        return ZINVALIDACL;
    for (int32_t i = 0; i < n; i++) {
        const zkp_ACL *e = &in[i];
        bool dup = false;
        for (int32_t k = 0; k < i && !dup; k++)
            dup = acl_equal(&in[k], e);
        if (dup)
            continue;
        const char *scheme = e->id.scheme, *id = e->id.id;
        if (!scheme)
            goto invalid;
        if (strcmp(scheme, "world") == 0 && id && strcmp(id, "anyone") == 0) {
            vec_push(out, e->perms, scheme, id);
        } else if (strcmp(scheme, "auth") == 0) {
            bool any = false;
            if (a && a->n) {
                size_t order[a->n];
                acl_auth_order(a, order);
                for (size_t k = 0; k < a->n; k++) {
                    const acl_ident_t *who = &a->v[order[k]];
                    if (strcmp(who->scheme, "digest") == 0) {
                        vec_push(out, e->perms, who->scheme, who->id);
                        any = true;
                    }
                }
            }
            if (!any)
                goto invalid;
        } else if (strcmp(scheme, "digest") == 0) {
            if (!acl_digest_id_valid(id))
                goto invalid;
            vec_push(out, e->perms, scheme, id);
        } else if (strcmp(scheme, "ip") == 0) {
            if (!acl_ip_valid(id))
                goto invalid;
            vec_push(out, e->perms, scheme, id);
        } else {
            goto invalid;
        }
    }
    return ZOK;
invalid:
    acl_vec_free(out);
    return ZINVALIDACL;
}

char *acl_user_name(const char *scheme, const char *id)
{
    if (strcmp(scheme, "digest") == 0) {
        const char *colon = strchr(id, ':');
        return xstrndup(id, colon ? (size_t)(colon - id) : strlen(id));
    }
    if (strcmp(scheme, "ip") == 0)
        return xstrdup(id);
    return xstrdup("");   /* no provider (super): 3.8 reports an empty user */
}
