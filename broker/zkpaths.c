/* zkpaths.c — Kafka's znode paths and JSON payloads (see zkpaths.h).
 *
 * Decoding uses jansson; every accessor checks the JSON type before reading, so any
 * document a user can write is either accepted or rejected with -1. Encoding builds a
 * jansson object in Kafka's key order and dumps it compact (jansson keeps insertion order
 * and escapes like Jackson: \" \\ \b \f \n \r \t, other controls as \u00XX, '/' and
 * non-ASCII left as they are). */
#include "broker/zkpaths.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

const char *const zkpaths_persistent[] = {
    ZKPATHS_CONSUMERS,
    ZKPATHS_BROKER_IDS,
    ZKPATHS_TOPICS,
    ZKPATHS_CONFIG_CHANGES,
    ZKPATHS_DELETE_TOPICS,
    ZKPATHS_SEQID,
    ZKPATHS_ISR_CHANGE,
    ZKPATHS_PRODUCER_ID_BLOCK,
    ZKPATHS_LOG_DIR_EVENT,
    ZKPATHS_CONFIG_TOPICS,
    ZKPATHS_CONFIG_CLIENTS,
    ZKPATHS_CONFIG_USERS,
    ZKPATHS_CONFIG_BROKERS,
    ZKPATHS_CONFIG_IPS,
    NULL,
};

/* ---- paths ---- */

char *zkpaths_broker(int32_t id) { return xasprintf(ZKPATHS_BROKER_IDS "/%" PRId32, id); }
char *zkpaths_topic(const char *topic) { return xasprintf(ZKPATHS_TOPICS "/%s", topic); }
char *zkpaths_topic_partitions(const char *topic)
{
    return xasprintf(ZKPATHS_TOPICS "/%s/partitions", topic);
}
char *zkpaths_partition(const char *topic, int32_t partition)
{
    return xasprintf(ZKPATHS_TOPICS "/%s/partitions/%" PRId32, topic, partition);
}
char *zkpaths_partition_state(const char *topic, int32_t partition)
{
    return xasprintf(ZKPATHS_TOPICS "/%s/partitions/%" PRId32 "/state", topic, partition);
}
char *zkpaths_config_entity(const char *type, const char *name)
{
    return xasprintf(ZKPATHS_CONFIG "/%s/%s", type, name);
}
char *zkpaths_delete_topic(const char *topic) { return xasprintf(ZKPATHS_DELETE_TOPICS "/%s", topic); }
char *zkpaths_config_change_prefix(void)
{
    return xstrdup(ZKPATHS_CONFIG_CHANGES "/" ZKPATHS_CONFIG_CHANGE_PREFIX);
}
char *zkpaths_isr_change_prefix(void) { return xstrdup(ZKPATHS_ISR_CHANGE "/" ZKPATHS_ISR_CHANGE_PREFIX); }
char *zkpaths_log_dir_event_prefix(void)
{
    return xstrdup(ZKPATHS_LOG_DIR_EVENT "/" ZKPATHS_LOG_DIR_EVENT_PREFIX);
}
char *zkpaths_consumer_group(const char *group) { return xasprintf(ZKPATHS_CONSUMERS "/%s", group); }
char *zkpaths_consumer_ids(const char *group) { return xasprintf(ZKPATHS_CONSUMERS "/%s/ids", group); }
char *zkpaths_consumer_id(const char *group, const char *consumer_id)
{
    return xasprintf(ZKPATHS_CONSUMERS "/%s/ids/%s", group, consumer_id);
}
char *zkpaths_consumer_owner(const char *group, const char *topic, int32_t partition)
{
    return xasprintf(ZKPATHS_CONSUMERS "/%s/owners/%s/%" PRId32, group, topic, partition);
}
char *zkpaths_consumer_offset(const char *group, const char *topic, int32_t partition)
{
    return xasprintf(ZKPATHS_CONSUMERS "/%s/offsets/%s/%" PRId32, group, topic, partition);
}

/* Parses a decimal integer of [min, max] from s[0..n) with no sign other than a leading
 * '-' and no spaces; returns 0 or -1. */
static int parse_dec(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == n || n - i > 19)
        return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return -1;
    int64_t r = neg ? -(int64_t)v : (int64_t)v;
    if (r < min || r > max)
        return -1;
    *out = r;
    return 0;
}

bool zkpaths_topic_valid(const char *topic)
{
    size_t n = strlen(topic);
    if (n == 0 || n > 249 || strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = topic[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

int zkpaths_parse_broker_id(const char *child, int32_t *id)
{
    int64_t v;
    if (child[0] == '-' || parse_dec(child, strlen(child), 0, INT32_MAX, &v) < 0)
        return -1;
    *id = (int32_t)v;
    return 0;
}

int zkpaths_parse_partition_path(const char *path, char **topic, int32_t *partition)
{
    static const char pre[] = ZKPATHS_TOPICS "/";
    if (strncmp(path, pre, sizeof pre - 1) != 0)
        return -1;
    const char *t = path + sizeof pre - 1;
    const char *slash = strchr(t, '/');
    if (!slash || strncmp(slash, "/partitions/", 12) != 0)
        return -1;
    const char *p = slash + 12;
    const char *end = strchr(p, '/');
    if (end && strcmp(end, "/state") != 0)
        return -1;
    size_t plen = end ? (size_t)(end - p) : strlen(p);
    int64_t v;
    if (plen == 0 || p[0] == '-' || parse_dec(p, plen, 0, INT32_MAX, &v) < 0)
        return -1;
    char *name = xstrndup(t, (size_t)(slash - t));
    if (!zkpaths_topic_valid(name)) {
        free(name);
        return -1;
    }
    *topic = name;
    *partition = (int32_t)v;
    return 0;
}

int zkpaths_parse_seq(const char *child, const char *prefix, int64_t *seq)
{
    size_t pl = strlen(prefix);
    if (strncmp(child, prefix, pl) != 0)
        return -1;
    const char *d = child + pl;
    /* ZooKeeper writes %010d; a counter past INT32_MAX wraps to negative (still 10+ chars) */
    if (strlen(d) < 10)
        return -1;
    return parse_dec(d, strlen(d), INT32_MIN, INT64_MAX, seq);
}

/* ---- small helpers ---- */

void zkpaths_ilist_free(zkpaths_ilist_t *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

bool zkpaths_ilist_has(const zkpaths_ilist_t *l, int32_t v)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == v)
            return true;
    return false;
}

/* Dumps obj (consumed) compact into out. */
static int dump(json_t *obj, buf_t *out)
{
    if (!obj)
        return -1;
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (!s)
        return -1;
    buf_puts(out, s);
    free(s);
    return 0;
}

/* Adds key -> value (consumed); a NULL value (failed constructor) poisons obj. */
static bool put(json_t *obj, const char *key, json_t *val)
{
    if (!val)
        return false;
    return json_object_set_new(obj, key, val) == 0;
}

static json_t *jstr_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *jilist(const zkpaths_ilist_t *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_integer(l->v[i]));
    return a;
}

static json_t *jstr_int(int64_t v)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%" PRId64, v);
    return json_string(tmp);
}

/* Parses data as a JSON document; NULL if empty or malformed. Limits: jansson's own depth
 * limit (2048) keeps nesting off the C stack. */
static json_t *load(const void *data, size_t len)
{
    if (!data || len == 0)
        return NULL;
    json_error_t err;
    return json_loadb((const char *)data, len, 0, &err);
}

static int get_int(const json_t *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return -1;
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return -1;
    *out = x;
    return 0;
}

static int get_i32(const json_t *o, const char *key, int32_t *out)
{
    int64_t v;
    if (get_int(o, key, INT32_MIN, INT32_MAX, &v) < 0)
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* An int64 written as a JSON string ("timestamp":"123") — or, leniently, a number. */
static int get_long_str(const json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    return parse_dec(json_string_value(v), json_string_length(v), INT64_MIN, INT64_MAX, out);
}

/* Array of int32 into l (replacing). */
static int get_ilist(const json_t *a, zkpaths_ilist_t *l)
{
    if (!json_is_array(a))
        return -1;
    size_t n = json_array_size(a);
    int32_t *v = n ? xmalloc(n * sizeof *v) : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        if (!json_is_integer(e) || json_integer_value(e) < INT32_MIN || json_integer_value(e) > INT32_MAX) {
            free(v);
            return -1;
        }
        v[i] = (int32_t)json_integer_value(e);
    }
    free(l->v);
    l->v = v;
    l->n = n;
    return 0;
}

/* A string without NUL bytes (jansson allows \u0000 inside strings). */
static const char *get_cstr(const json_t *v)
{
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

/* ---- map orders ---- */

/* Java String.hashCode over the UTF-16 code units of a UTF-8 string (bytes that are not
 * valid UTF-8 count as one unit each, which never happens for the keys we write). */
static uint32_t java_hash(const char *s)
{
    uint32_t h = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int extra;
        if (*p < 0x80) { cp = *p; extra = 0; }
        else if ((*p & 0xE0) == 0xC0) { cp = *p & 0x1F; extra = 1; }
        else if ((*p & 0xF0) == 0xE0) { cp = *p & 0x0F; extra = 2; }
        else if ((*p & 0xF8) == 0xF0) { cp = *p & 0x07; extra = 3; }
        else { cp = *p; extra = 0; }
        int k = 1;
        for (; k <= extra; k++) {
            if ((p[k] & 0xC0) != 0x80)
                break;
            cp = cp << 6 | (p[k] & 0x3F);
        }
        if (k <= extra) { cp = *p; extra = 0; }
        p += 1 + extra;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xD800 + (cp >> 10));
            h = 31 * h + (0xDC00 + (cp & 0x3FF));
        } else {
            h = 31 * h + cp;
        }
    }
    return h;
}

static uint32_t bswap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);
}

/* Scala 2.12 mutable.HashTable.index for a table of 2^bits slots (seed fixed at 4: the
 * bit count of the initial table's mask, kept across resizes). */
static size_t scala_index(uint32_t hcode, unsigned bits)
{
    uint32_t i = hcode * 0x9e3775cdu;
    i = bswap32(i);
    i = i * 0x9e3775cdu;
    uint32_t rotated = (i >> 4) | (i << 28);
    return (size_t)(rotated >> (32 - bits));
}

/* Chained table emulation shared by both orders: slot heads and next links are indexes. */
typedef struct chain_s {
    size_t *head;   /* per slot, SIZE_MAX = empty */
    size_t *next;   /* per entry */
    size_t cap;
} chain_t;

static void chain_alloc(chain_t *c, size_t cap, size_t n)
{
    c->head = xmalloc(cap * sizeof *c->head);
    for (size_t i = 0; i < cap; i++)
        c->head[i] = SIZE_MAX;
    c->cap = cap;
    if (!c->next)
        c->next = xmalloc((n ? n : 1) * sizeof *c->next);
}

/* Iterates slots from the highest down, each chain from its head: both Scala's
 * entriesIterator and Hashtable's Enumerator do this. */
static size_t chain_emit(const chain_t *c, size_t *order)
{
    size_t k = 0;
    for (size_t s = c->cap; s-- > 0;)
        for (size_t e = c->head[s]; e != SIZE_MAX; e = c->next[e])
            order[k++] = e;
    return k;
}

static bool seen_before(const char *const *keys, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(keys[j], keys[i]) == 0)
            return true;
    return false;
}

size_t zkpaths_scala_order(const char *const *keys, size_t n, size_t *order)
{
    chain_t c = {0};
    unsigned bits = 4;
    size_t count = 0, threshold = 12;
    chain_alloc(&c, 16, n);
    for (size_t i = 0; i < n; i++) {
        if (seen_before(keys, i))
            continue;
        size_t h = scala_index(java_hash(keys[i]), bits);
        c.next[i] = c.head[h];
        c.head[h] = i;
        if (++count > threshold) {
            /* resize(2 * length): walk old slots high to low, prepend into the new table */
            size_t *old = c.head, oldcap = c.cap;
            bits++;
            chain_alloc(&c, oldcap * 2, n);
            for (size_t s = oldcap; s-- > 0;) {
                size_t e = old[s];
                while (e != SIZE_MAX) {
                    size_t nx = c.next[e];
                    size_t nh = scala_index(java_hash(keys[e]), bits);
                    c.next[e] = c.head[nh];
                    c.head[nh] = e;
                    e = nx;
                }
            }
            free(old);
            threshold = c.cap * 3 / 4;
        }
    }
    size_t k = chain_emit(&c, order);
    free(c.head);
    free(c.next);
    return k;
}

size_t zkpaths_hashtable_order(const char *const *keys, size_t n, size_t *order)
{
    chain_t c = {0};
    size_t count = 0, threshold = 8;
    chain_alloc(&c, 11, n);
    for (size_t i = 0; i < n; i++) {
        if (seen_before(keys, i))
            continue;
        if (count >= threshold) {
            /* rehash(): capacity*2+1, old slots high to low, prepend */
            size_t *old = c.head, oldcap = c.cap;
            chain_alloc(&c, oldcap * 2 + 1, n);
            for (size_t s = oldcap; s-- > 0;) {
                size_t e = old[s];
                while (e != SIZE_MAX) {
                    size_t nx = c.next[e];
                    size_t nh = (java_hash(keys[e]) & 0x7FFFFFFFu) % c.cap;
                    c.next[e] = c.head[nh];
                    c.head[nh] = e;
                    e = nx;
                }
            }
            free(old);
            threshold = (size_t)((double)c.cap * 0.75f);
        }
        size_t h = (java_hash(keys[i]) & 0x7FFFFFFFu) % c.cap;
        c.next[i] = c.head[h];
        c.head[h] = i;
        count++;
    }
    size_t k = chain_emit(&c, order);
    free(c.head);
    free(c.next);
    return k;
}

/* Builds an object from (keys[i], vals[i]) in Scala mutable.HashMap order. Consumes vals. */
static json_t *scala_object(const char *const *keys, json_t **vals, size_t n)
{
    size_t *order = xmalloc((n ? n : 1) * sizeof *order);
    size_t k = zkpaths_scala_order(keys, n, order);
    json_t *o = json_object();
    bool ok = true;
    for (size_t i = 0; i < k; i++) {
        ok = put(o, keys[order[i]], vals[order[i]]) && ok;
        vals[order[i]] = NULL;
    }
    for (size_t i = 0; i < n; i++)
        json_decref(vals[i]);   /* duplicates, if any */
    free(order);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- /brokers/ids/N ---- */

static const char *const known_protocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", NULL};

static bool known_protocol(const char *p)
{
    for (size_t i = 0; known_protocols[i]; i++)
        if (strcmp(p, known_protocols[i]) == 0)
            return true;
    return false;
}

int zkpaths_broker_encode(const zkpaths_broker_t *b, buf_t *out)
{
    if (b->version < 1 || b->version > 5)
        return -1;
    const zkpaths_endpoint_t *plain = NULL;
    for (size_t i = 0; i < b->n_endpoints && !plain; i++)
        if (b->endpoints[i].protocol && strcmp(b->endpoints[i].protocol, "PLAINTEXT") == 0)
            plain = &b->endpoints[i];
    const char *keys[9];
    json_t *vals[9];
    size_t n = 0;
    keys[n] = "version"; vals[n++] = json_integer(b->version);
    keys[n] = "host"; vals[n++] = jstr_or_null(plain ? plain->host : NULL);
    keys[n] = "port"; vals[n++] = json_integer(plain ? plain->port : -1);
    if (b->version >= 2) {
        json_t *eps = json_array();
        for (size_t i = 0; i < b->n_endpoints; i++) {
            const zkpaths_endpoint_t *ep = &b->endpoints[i];
            char *s = strchr(ep->host, ':') ? xasprintf("%s://[%s]:%" PRId32, ep->listener, ep->host, ep->port)
                                            : xasprintf("%s://%s:%" PRId32, ep->listener, ep->host, ep->port);
            json_array_append_new(eps, json_string(s));
            free(s);
        }
        keys[n] = "endpoints"; vals[n++] = eps;
    }
    keys[n] = "jmx_port"; vals[n++] = json_integer(b->jmx_port);
    keys[n] = "timestamp"; vals[n++] = jstr_int(b->timestamp);
    if (b->rack && b->version >= 3) {
        keys[n] = "rack"; vals[n++] = json_string(b->rack);
    }
    if (b->version >= 4) {
        /* an immutable Map built with .toMap: insertion order (up to 4 listeners) */
        json_t *m = json_object();
        for (size_t i = 0; i < b->n_endpoints; i++)
            put(m, b->endpoints[i].listener, json_string(b->endpoints[i].protocol));
        keys[n] = "listener_security_protocol_map"; vals[n++] = m;
    }
    if (b->version >= 5) {
        json_t *f = json_object();
        for (size_t i = 0; i < b->n_features; i++) {
            json_t *r = json_object();
            put(r, "min_version", json_integer(b->features[i].min_version));
            put(r, "max_version", json_integer(b->features[i].max_version));
            put(f, b->features[i].name, r);
        }
        keys[n] = "features"; vals[n++] = f;
    }
    return dump(scala_object(keys, vals, n), out);
}

void zkpaths_broker_free(zkpaths_broker_t *b)
{
    free(b->host);
    for (size_t i = 0; i < b->n_endpoints; i++) {
        free(b->endpoints[i].listener);
        free(b->endpoints[i].protocol);
        free(b->endpoints[i].host);
    }
    free(b->endpoints);
    free(b->rack);
    for (size_t i = 0; i < b->n_features; i++)
        free(b->features[i].name);
    free(b->features);
    memset(b, 0, sizeof *b);
}

/* "LISTENER://host:port" -> ep (listener, host, port; protocol left NULL). */
static int parse_endpoint(const char *s, zkpaths_endpoint_t *ep)
{
    const char *sep = strstr(s, "://");
    if (!sep || sep == s)
        return -1;
    const char *hp = sep + 3;
    const char *colon = strrchr(hp, ':');
    if (!colon)
        return -1;
    int64_t port;
    if (parse_dec(colon + 1, strlen(colon + 1), -1, 65535, &port) < 0)
        return -1;
    const char *h = hp, *he = colon;
    if (he > h && h[0] == '[' && he[-1] == ']') {
        h++;
        he--;
    }
    for (const char *c = s; c < sep; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '-' || *c == '.'))
            return -1;
    ep->listener = xstrndup(s, (size_t)(sep - s));
    ep->host = xstrndup(h, (size_t)(he - h));
    ep->port = (int32_t)port;
    return 0;
}

int zkpaths_broker_decode(const void *data, size_t len, zkpaths_broker_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *js = load(data, len);
    if (!json_is_object(js))
        goto bad;
    int32_t version;
    if (get_i32(js, "version", &version) < 0 || version < 1)
        goto bad;
    out->version = version;
    if (get_i32(js, "jmx_port", &out->jmx_port) < 0)
        out->jmx_port = -1;   /* Kafka requires it; be lenient: it is informational */
    int64_t ts;
    out->timestamp = get_long_str(js, "timestamp", &ts) == 0 ? ts : -1;
    json_t *host = json_object_get(js, "host");
    if (get_cstr(host))
        out->host = xstrdup(get_cstr(host));
    else if (host && !json_is_null(host))
        goto bad;
    if (get_i32(js, "port", &out->port) < 0)
        out->port = -1;
    if (version == 1) {
        if (!out->host || out->port < 0)
            goto bad;
        out->endpoints = xcalloc(1, sizeof *out->endpoints);
        out->n_endpoints = 1;
        out->endpoints[0].listener = xstrdup("PLAINTEXT");
        out->endpoints[0].protocol = xstrdup("PLAINTEXT");
        out->endpoints[0].host = xstrdup(out->host);
        out->endpoints[0].port = out->port;
    } else {
        json_t *eps = json_object_get(js, "endpoints");
        json_t *map = json_object_get(js, "listener_security_protocol_map");
        if (!json_is_array(eps) || (map && !json_is_null(map) && !json_is_object(map)))
            goto bad;
        size_t n = json_array_size(eps);
        out->endpoints = xcalloc(n ? n : 1, sizeof *out->endpoints);
        for (size_t i = 0; i < n; i++) {
            const char *s = get_cstr(json_array_get(eps, i));
            zkpaths_endpoint_t *ep = &out->endpoints[i];
            if (!s || parse_endpoint(s, ep) < 0)
                goto bad;
            out->n_endpoints++;
            const char *proto = ep->listener;
            if (json_is_object(map)) {
                proto = get_cstr(json_object_get(map, ep->listener));
                if (!proto)
                    goto bad;
            }
            if (!known_protocol(proto))
                goto bad;
            ep->protocol = xstrdup(proto);
        }
    }
    json_t *rack = json_object_get(js, "rack");
    if (get_cstr(rack))
        out->rack = xstrdup(get_cstr(rack));
    else if (rack && !json_is_null(rack))
        goto bad;
    json_t *feats = json_object_get(js, "features");
    if (json_is_object(feats) && json_object_size(feats) > 0) {
        out->features = xcalloc(json_object_size(feats), sizeof *out->features);
        const char *name;
        json_t *r;
        json_object_foreach(feats, name, r) {
            int64_t lo, hi;
            if (!json_is_object(r) || get_int(r, "min_version", INT16_MIN, INT16_MAX, &lo) < 0 ||
                get_int(r, "max_version", INT16_MIN, INT16_MAX, &hi) < 0)
                goto bad;
            zkpaths_feature_t *f = &out->features[out->n_features++];
            f->name = xstrdup(name);
            f->min_version = (int16_t)lo;
            f->max_version = (int16_t)hi;
        }
    } else if (feats && !json_is_object(feats) && !json_is_null(feats)) {
        goto bad;
    }
    json_decref(js);
    return 0;
bad:
    json_decref(js);
    zkpaths_broker_free(out);
    return -1;
}

const zkpaths_endpoint_t *zkpaths_broker_endpoint(const zkpaths_broker_t *b, const char *listener)
{
    for (size_t i = 0; i < b->n_endpoints; i++)
        if (strcmp(b->endpoints[i].listener, listener) == 0)
            return &b->endpoints[i];
    return NULL;
}

/* ---- /brokers/topics/T ---- */

/* {"<p>":[...],...} for the partitions whose list (selected by which) is non-empty (or all
 * for which == 0), keys in Scala mutable.HashMap order. */
static json_t *partition_map(const zkpaths_topic_t *t, int which)
{
    const char **keys = xmalloc((t->n_parts ? t->n_parts : 1) * sizeof *keys);
    json_t **vals = xmalloc((t->n_parts ? t->n_parts : 1) * sizeof *vals);
    size_t n = 0;
    for (size_t i = 0; i < t->n_parts; i++) {
        const zkpaths_passign_t *pa = &t->parts[i];
        const zkpaths_ilist_t *l = which == 0 ? &pa->replicas : which == 1 ? &pa->adding : &pa->removing;
        if (which != 0 && l->n == 0)
            continue;
        keys[n] = xasprintf("%" PRId32, pa->partition);
        vals[n++] = jilist(l);
    }
    json_t *o = scala_object(keys, vals, n);
    for (size_t i = 0; i < n; i++)
        free((char *)keys[i]);
    free(keys);
    free(vals);
    return o;
}

int zkpaths_topic_encode(const zkpaths_topic_t *t, buf_t *out)
{
    if (t->version != 1 && t->version != 2)
        return -1;
    json_t *o = json_object();
    bool ok = put(o, "version", json_integer(t->version));
    ok = put(o, "partitions", partition_map(t, 0)) && ok;
    if (t->version >= 2) {
        ok = put(o, "adding_replicas", partition_map(t, 1)) && ok;
        ok = put(o, "removing_replicas", partition_map(t, 2)) && ok;
    }
    if (!ok) {
        json_decref(o);
        return -1;
    }
    return dump(o, out);
}

void zkpaths_topic_free(zkpaths_topic_t *t)
{
    for (size_t i = 0; i < t->n_parts; i++) {
        zkpaths_ilist_free(&t->parts[i].replicas);
        zkpaths_ilist_free(&t->parts[i].adding);
        zkpaths_ilist_free(&t->parts[i].removing);
    }
    free(t->parts);
    free(t->topic_id);
    memset(t, 0, sizeof *t);
}

static int cmp_passign(const void *a, const void *b)
{
    int32_t x = ((const zkpaths_passign_t *)a)->partition, y = ((const zkpaths_passign_t *)b)->partition;
    return x < y ? -1 : x > y;
}

static int part_key(const char *k, int32_t *p)
{
    int64_t v;
    if (k[0] == '-' || parse_dec(k, strlen(k), 0, INT32_MAX, &v) < 0)
        return -1;
    *p = (int32_t)v;
    return 0;
}

int zkpaths_topic_decode(const void *data, size_t len, zkpaths_topic_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *js = load(data, len);
    json_t *parts = json_object_get(js, "partitions");
    if (!json_is_object(js) || !json_is_object(parts))
        goto bad;
    int32_t version;
    if (get_i32(js, "version", &version) < 0 || version < 1)
        goto bad;
    out->version = version;
    json_t *tid = json_object_get(js, "topic_id");
    if (get_cstr(tid))
        out->topic_id = xstrdup(get_cstr(tid));
    json_t *adding = json_object_get(js, "adding_replicas");
    json_t *removing = json_object_get(js, "removing_replicas");
    if ((adding && !json_is_object(adding)) || (removing && !json_is_object(removing)))
        goto bad;
    size_t n = json_object_size(parts);
    out->parts = xcalloc(n ? n : 1, sizeof *out->parts);
    const char *key;
    json_t *val;
    json_object_foreach(parts, key, val) {
        zkpaths_passign_t *pa = &out->parts[out->n_parts];
        if (part_key(key, &pa->partition) < 0 || get_ilist(val, &pa->replicas) < 0)
            goto bad;
        out->n_parts++;
        json_t *a = adding ? json_object_get(adding, key) : NULL;
        json_t *r = removing ? json_object_get(removing, key) : NULL;
        if ((a && get_ilist(a, &pa->adding) < 0) || (r && get_ilist(r, &pa->removing) < 0))
            goto bad;
    }
    qsort(out->parts, out->n_parts, sizeof *out->parts, cmp_passign);
    for (size_t i = 1; i < out->n_parts; i++)
        if (out->parts[i].partition == out->parts[i - 1].partition)
            goto bad;   /* "0" and "00" */
    json_decref(js);
    return 0;
bad:
    json_decref(js);
    zkpaths_topic_free(out);
    return -1;
}

const zkpaths_passign_t *zkpaths_topic_part(const zkpaths_topic_t *t, int32_t partition)
{
    zkpaths_passign_t key = {.partition = partition};
    return bsearch(&key, t->parts, t->n_parts, sizeof *t->parts, cmp_passign);
}

/* ---- partition state ---- */

int zkpaths_pstate_encode(const zkpaths_pstate_t *s, buf_t *out)
{
    json_t *o = json_object();
    put(o, "controller_epoch", json_integer(s->controller_epoch));
    put(o, "leader", json_integer(s->leader));
    put(o, "version", json_integer(1));
    put(o, "leader_epoch", json_integer(s->leader_epoch));
    put(o, "isr", jilist(&s->isr));
    return dump(o, out);
}

int zkpaths_pstate_decode(const void *data, size_t len, zkpaths_pstate_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *js = load(data, len);
    if (!json_is_object(js) || get_i32(js, "leader", &out->leader) < 0 ||
        get_i32(js, "leader_epoch", &out->leader_epoch) < 0 ||
        get_i32(js, "controller_epoch", &out->controller_epoch) < 0 ||
        get_ilist(json_object_get(js, "isr"), &out->isr) < 0) {
        json_decref(js);
        zkpaths_pstate_free(out);
        return -1;
    }
    json_decref(js);
    return 0;
}

void zkpaths_pstate_free(zkpaths_pstate_t *s)
{
    zkpaths_ilist_free(&s->isr);
}

/* ---- controller ---- */

int zkpaths_controller_encode(int32_t broker_id, int64_t timestamp, buf_t *out)
{
    json_t *o = json_object();
    put(o, "version", json_integer(1));
    put(o, "brokerid", json_integer(broker_id));
    put(o, "timestamp", jstr_int(timestamp));
    return dump(o, out);
}

int zkpaths_controller_decode(const void *data, size_t len, int32_t *broker_id)
{
    int64_t v;
    if (data && len > 0 && parse_dec(data, len, 0, INT32_MAX, &v) == 0) {
        *broker_id = (int32_t)v;   /* the pre-JSON format: just the id */
        return 0;
    }
    json_t *js = load(data, len);
    int rc = json_is_object(js) ? get_i32(js, "brokerid", broker_id) : -1;
    json_decref(js);
    return rc;
}

int zkpaths_epoch_encode(int32_t epoch, buf_t *out)
{
    buf_printf(out, "%" PRId32, epoch);
    return 0;
}

int zkpaths_epoch_decode(const void *data, size_t len, int32_t *epoch)
{
    int64_t v;
    if (!data || parse_dec(data, len, INT32_MIN, INT32_MAX, &v) < 0)
        return -1;
    *epoch = (int32_t)v;
    return 0;
}

/* ---- config ---- */

void zkpaths_config_free(zkpaths_config_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].key);
        free(c->v[i].value);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

const char *zkpaths_config_get(const zkpaths_config_t *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].key, key) == 0)
            return c->v[i].value;
    return NULL;
}

void zkpaths_config_set(zkpaths_config_t *c, const char *key, const char *value)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].key, key) == 0) {
            free(c->v[i].value);
            c->v[i].value = xstrdup(value);
            return;
        }
    c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
    c->v[c->n].key = xstrdup(key);
    c->v[c->n].value = xstrdup(value);
    c->n++;
}

int zkpaths_config_del(zkpaths_config_t *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].key, key) == 0) {
            free(c->v[i].key);
            free(c->v[i].value);
            memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof *c->v);
            c->n--;
            return 0;
        }
    return -1;
}

static json_t *hashtable_object(const zkpaths_config_t *c)
{
    const char **keys = xmalloc((c->n ? c->n : 1) * sizeof *keys);
    size_t *order = xmalloc((c->n ? c->n : 1) * sizeof *order);
    for (size_t i = 0; i < c->n; i++)
        keys[i] = c->v[i].key;
    size_t k = zkpaths_hashtable_order(keys, c->n, order);
    json_t *o = json_object();
    bool ok = true;
    for (size_t i = 0; i < k; i++)
        ok = put(o, c->v[order[i]].key, json_string(c->v[order[i]].value)) && ok;
    free(keys);
    free(order);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int zkpaths_config_encode(const zkpaths_config_t *c, buf_t *out)
{
    json_t *o = json_object();
    bool ok = put(o, "version", json_integer(1));
    ok = put(o, "config", hashtable_object(c)) && ok;
    if (!ok) {
        json_decref(o);
        return -1;
    }
    return dump(o, out);
}

/* Reads a {"k":"v"} object into c. */
static int get_str_map(const json_t *m, zkpaths_config_t *c)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)m, key, val) {
        const char *s = get_cstr(val);
        if (!s || strlen(key) == 0)
            return -1;
        zkpaths_config_set(c, key, s);
    }
    return 0;
}

int zkpaths_config_decode(const void *data, size_t len, zkpaths_config_t *out)
{
    memset(out, 0, sizeof *out);
    if (!data || len == 0)
        return 0;
    json_t *js = load(data, len);
    json_t *cfg = json_object_get(js, "config");
    int rc = -1;
    if (json_is_object(js) && (cfg == NULL || json_is_null(cfg)))
        rc = 0;
    else if (json_is_object(cfg))
        rc = get_str_map(cfg, out);
    json_decref(js);
    if (rc < 0)
        zkpaths_config_free(out);
    return rc;
}

int zkpaths_config_change_encode(int version, const char *entity_type, const char *entity_name, buf_t *out)
{
    json_t *o = json_object();
    bool ok = put(o, "version", json_integer(version));
    if (version == 1) {
        ok = put(o, "entity_type", json_string(entity_type)) && ok;
        ok = put(o, "entity_name", json_string(entity_name)) && ok;
    } else if (version == 2) {
        char *p = xasprintf("%s/%s", entity_type, entity_name);
        ok = put(o, "entity_path", json_string(p)) && ok;
        free(p);
    } else {
        ok = false;
    }
    if (!ok) {
        json_decref(o);
        return -1;
    }
    return dump(o, out);
}

int zkpaths_config_change_decode(const void *data, size_t len, char **entity_path)
{
    json_t *js = load(data, len);
    int32_t version;
    int rc = -1;
    if (!json_is_object(js) || get_i32(js, "version", &version) < 0)
        goto out;
    if (version == 1) {
        const char *t = get_cstr(json_object_get(js, "entity_type"));
        const char *n = get_cstr(json_object_get(js, "entity_name"));
        if (t && n && *t && *n) {
            *entity_path = xasprintf("%s/%s", t, n);
            rc = 0;
        }
    } else if (version == 2) {
        const char *p = get_cstr(json_object_get(js, "entity_path"));
        if (p && strchr(p, '/') && p[0] != '/') {
            *entity_path = xstrdup(p);
            rc = 0;
        }
    }
out:
    json_decref(js);
    return rc;
}

/* ---- (topic, partition) lists ---- */

int zkpaths_tplist_encode(const zkpaths_tplist_t *l, bool with_replicas, buf_t *out)
{
    json_t *o = json_object();
    json_t *a = json_array();
    bool ok = put(o, "version", json_integer(1));
    for (size_t i = 0; i < l->n; i++) {
        json_t *e = json_object();
        ok = put(e, "topic", json_string(l->v[i].topic)) && ok;
        ok = put(e, "partition", json_integer(l->v[i].partition)) && ok;
        if (with_replicas)
            ok = put(e, "replicas", jilist(&l->v[i].replicas)) && ok;
        json_array_append_new(a, e);
    }
    ok = put(o, "partitions", a) && ok;
    if (!ok) {
        json_decref(o);
        return -1;
    }
    return dump(o, out);
}

void zkpaths_tplist_free(zkpaths_tplist_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].topic);
        zkpaths_ilist_free(&l->v[i].replicas);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int zkpaths_tplist_decode(const void *data, size_t len, bool with_replicas, zkpaths_tplist_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *js = load(data, len);
    json_t *a = json_object_get(js, "partitions");
    if (!json_is_object(js) || !json_is_array(a))
        goto bad;
    size_t n = json_array_size(a);
    out->v = xcalloc(n ? n : 1, sizeof *out->v);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        zkpaths_tp_t *tp = &out->v[out->n];
        const char *t = get_cstr(json_object_get(e, "topic"));
        if (!json_is_object(e) || !t || !zkpaths_topic_valid(t) || get_i32(e, "partition", &tp->partition) < 0 ||
            tp->partition < 0)
            goto bad;
        if (with_replicas && get_ilist(json_object_get(e, "replicas"), &tp->replicas) < 0)
            goto bad;
        tp->topic = xstrdup(t);
        out->n++;
    }
    json_decref(js);
    return 0;
bad:
    json_decref(js);
    zkpaths_tplist_free(out);
    return -1;
}

/* ---- cluster id, producer id block, log dir events ---- */

int zkpaths_cluster_id_encode(const char *id, buf_t *out)
{
    json_t *o = json_object();
    put(o, "version", json_string("1"));
    if (!put(o, "id", json_string(id))) {
        json_decref(o);
        return -1;
    }
    return dump(o, out);
}

int zkpaths_cluster_id_decode(const void *data, size_t len, char **id)
{
    json_t *js = load(data, len);
    const char *s = json_is_object(js) ? get_cstr(json_object_get(js, "id")) : NULL;
    int rc = -1;
    if (s && *s) {
        *id = xstrdup(s);
        rc = 0;
    }
    json_decref(js);
    return rc;
}

int zkpaths_pid_block_encode(const zkpaths_pid_block_t *p, buf_t *out)
{
    json_t *o = json_object();
    put(o, "version", json_integer(1));
    put(o, "broker", json_integer(p->broker));
    put(o, "block_start", jstr_int(p->block_start));
    put(o, "block_end", jstr_int(p->block_end));
    return dump(o, out);
}

int zkpaths_pid_block_decode(const void *data, size_t len, zkpaths_pid_block_t *out)
{
    json_t *js = load(data, len);
    int rc = -1;
    if (json_is_object(js) && get_i32(js, "broker", &out->broker) == 0 &&
        get_long_str(js, "block_start", &out->block_start) == 0 &&
        get_long_str(js, "block_end", &out->block_end) == 0 && out->block_start >= 0 &&
        out->block_end >= out->block_start)
        rc = 0;
    json_decref(js);
    return rc;
}

int zkpaths_log_dir_event_encode(int32_t broker, int32_t event, buf_t *out)
{
    json_t *o = json_object();
    put(o, "version", json_integer(1));
    put(o, "broker", json_integer(broker));
    put(o, "event", json_integer(event));
    return dump(o, out);
}

int zkpaths_log_dir_event_decode(const void *data, size_t len, int32_t *broker, int32_t *event)
{
    json_t *js = load(data, len);
    int rc = json_is_object(js) && get_i32(js, "broker", broker) == 0 && get_i32(js, "event", event) == 0 ? 0 : -1;
    json_decref(js);
    return rc;
}

/* ---- old consumers ---- */

int zkpaths_consumer_encode(const zkpaths_consumer_t *c, buf_t *out)
{
    json_t *o = json_object();
    json_t *sub = json_object();
    bool ok = put(o, "version", json_integer(1));
    for (size_t i = 0; i < c->subscription.n; i++) {
        int64_t v;
        const char *s = c->subscription.v[i].value;
        if (parse_dec(s, strlen(s), 0, INT32_MAX, &v) < 0)
            ok = false;
        else
            ok = put(sub, c->subscription.v[i].key, json_integer(v)) && ok;
    }
    ok = put(o, "subscription", sub) && ok;
    ok = put(o, "pattern", json_string(c->pattern ? c->pattern : "white_list")) && ok;
    ok = put(o, "timestamp", jstr_int(c->timestamp)) && ok;
    if (!ok) {
        json_decref(o);
        return -1;
    }
    return dump(o, out);
}

void zkpaths_consumer_free(zkpaths_consumer_t *c)
{
    zkpaths_config_free(&c->subscription);
    free(c->pattern);
    memset(c, 0, sizeof *c);
}

int zkpaths_consumer_decode(const void *data, size_t len, zkpaths_consumer_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *js = load(data, len);
    json_t *sub = json_object_get(js, "subscription");
    const char *pat = json_is_object(js) ? get_cstr(json_object_get(js, "pattern")) : NULL;
    if (!json_is_object(sub) || !pat)
        goto bad;
    const char *key;
    json_t *val;
    json_object_foreach(sub, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) > INT32_MAX)
            goto bad;
        char tmp[16];
        snprintf(tmp, sizeof tmp, "%" PRId64, (int64_t)json_integer_value(val));
        zkpaths_config_set(&out->subscription, key, tmp);
    }
    out->pattern = xstrdup(pat);
    int64_t ts;
    out->timestamp = get_long_str(js, "timestamp", &ts) == 0 ? ts : -1;
    json_decref(js);
    return 0;
bad:
    json_decref(js);
    zkpaths_consumer_free(out);
    return -1;
}

int zkpaths_long_decode(const void *data, size_t len, int64_t *v)
{
    if (!data)
        return -1;
    return parse_dec(data, len, INT64_MIN, INT64_MAX, v);
}
