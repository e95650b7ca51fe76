/* adm_tcfg.c — Kafka 2.4's topic config definitions, validation and config entries
 * (see adm_tcfg.h). */
#include "broker/adm_tcfg.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

enum vkind { V_NONE, V_ATLEAST, V_BETWEEN, V_IN, V_LIST_IN, V_VERSION, V_THROTTLED };

typedef struct tdef_s {
    adm_tcfg_def_t d;
    int vk;
    double lo, hi;                 /* V_ATLEAST / V_BETWEEN */
    const char *const *in;         /* V_IN / V_LIST_IN, NULL-terminated */
} tdef_t;

static const char *const compression_opts[] = {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer", NULL};
static const char *const ts_types[] = {"CreateTime", "LogAppendTime", NULL};
static const char *const policies[] = {"compact", "delete", NULL};

/* LogConfig.configDef, in its definition order. */
static const tdef_t defs[] = {
    {{"segment.bytes", ADM_CT_INT, "log.segment.bytes"}, V_ATLEAST, 14, 0, NULL},
    {{"segment.ms", ADM_CT_LONG, "log.roll.ms"}, V_ATLEAST, 1, 0, NULL},
    {{"segment.jitter.ms", ADM_CT_LONG, "log.roll.jitter.ms"}, V_ATLEAST, 0, 0, NULL},
    {{"segment.index.bytes", ADM_CT_INT, "log.index.size.max.bytes"}, V_ATLEAST, 0, 0, NULL},
    {{"flush.messages", ADM_CT_LONG, "log.flush.interval.messages"}, V_ATLEAST, 0, 0, NULL},
    {{"flush.ms", ADM_CT_LONG, "log.flush.interval.ms"}, V_ATLEAST, 0, 0, NULL},
    {{"retention.bytes", ADM_CT_LONG, "log.retention.bytes"}, V_NONE, 0, 0, NULL},
    {{"retention.ms", ADM_CT_LONG, "log.retention.ms"}, V_ATLEAST, -1, 0, NULL},
    {{"max.message.bytes", ADM_CT_INT, "message.max.bytes"}, V_ATLEAST, 0, 0, NULL},
    {{"index.interval.bytes", ADM_CT_INT, "log.index.interval.bytes"}, V_ATLEAST, 0, 0, NULL},
    {{"delete.retention.ms", ADM_CT_LONG, "log.cleaner.delete.retention.ms"}, V_ATLEAST, 0, 0, NULL},
    {{"min.compaction.lag.ms", ADM_CT_LONG, "log.cleaner.min.compaction.lag.ms"}, V_ATLEAST, 0, 0, NULL},
    {{"max.compaction.lag.ms", ADM_CT_LONG, "log.cleaner.max.compaction.lag.ms"}, V_ATLEAST, 1, 0, NULL},
    {{"file.delete.delay.ms", ADM_CT_LONG, "log.segment.delete.delay.ms"}, V_ATLEAST, 0, 0, NULL},
    {{"min.cleanable.dirty.ratio", ADM_CT_DOUBLE, "log.cleaner.min.cleanable.ratio"}, V_BETWEEN, 0, 1, NULL},
    {{"cleanup.policy", ADM_CT_LIST, "log.cleanup.policy"}, V_LIST_IN, 0, 0, policies},
    {{"unclean.leader.election.enable", ADM_CT_BOOL, "unclean.leader.election.enable"}, V_NONE, 0, 0, NULL},
    {{"min.insync.replicas", ADM_CT_INT, "min.insync.replicas"}, V_ATLEAST, 1, 0, NULL},
    {{"compression.type", ADM_CT_STRING, "compression.type"}, V_IN, 0, 0, compression_opts},
    {{"preallocate", ADM_CT_BOOL, "log.preallocate"}, V_NONE, 0, 0, NULL},
    {{"message.format.version", ADM_CT_STRING, "log.message.format.version"}, V_VERSION, 0, 0, NULL},
    {{"message.timestamp.type", ADM_CT_STRING, "log.message.timestamp.type"}, V_IN, 0, 0, ts_types},
    {{"message.timestamp.difference.max.ms", ADM_CT_LONG, "log.message.timestamp.difference.max.ms"},
     V_ATLEAST, 0, 0, NULL},
    {{"leader.replication.throttled.replicas", ADM_CT_LIST, NULL}, V_THROTTLED, 0, 0, NULL},
    {{"follower.replication.throttled.replicas", ADM_CT_LIST, NULL}, V_THROTTLED, 0, 0, NULL},
    {{"message.downconversion.enable", ADM_CT_BOOL, "log.message.downconversion.enable"}, V_NONE, 0, 0, NULL},
};
#define NDEFS (sizeof defs / sizeof defs[0])

size_t adm_tcfg_count(void)
{
    return NDEFS;
}

const adm_tcfg_def_t *adm_tcfg_at(size_t i)
{
    return i < NDEFS ? &defs[i].d : NULL;
}

const adm_tcfg_def_t *adm_tcfg_find(const char *name)
{
    for (size_t i = 0; i < NDEFS; i++)
        if (strcmp(defs[i].d.name, name) == 0)
            return &defs[i].d;
    return NULL;
}

static const tdef_t *tdef_of(const adm_tcfg_def_t *d)
{
    return (const tdef_t *)d;
}

/* ---- value parsing (ConfigDef.parseType + validators) ---- */

void adm_java_double(double d, char *out, size_t outlen)
{
    if (isnan(d)) {
        snprintf(out, outlen, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(out, outlen, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    double ad = fabs(d);
    char tmp[64];
    if (d == 0 || (ad >= 1e-3 && ad < 1e7)) {
        /* shortest plain decimal that reads back as d, with at least one fractional digit */
        for (int p = 1; p <= 17; p++) {
            snprintf(tmp, sizeof tmp, "%.*f", p, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
        /* trim trailing zeros but keep one digit after the point */
        char *dot = strchr(tmp, '.');
        if (dot) {
            char *e = tmp + strlen(tmp) - 1;
            while (e > dot + 1 && *e == '0')
                *e-- = '\0';
        }
        snprintf(out, outlen, "%s", tmp);
        return;
    }
    /* scientific: mantissa with at least one fractional digit, "E" exponent */
    int p;
    for (p = 0; p <= 16; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    char *e = strchr(tmp, 'e');
    int exp10 = e ? atoi(e + 1) : 0;
    if (e)
        *e = '\0';
    if (!strchr(tmp, '.'))
        strcat(tmp, ".0");
    snprintf(out, outlen, "%sE%d", tmp, exp10);
}

/* Java String.trim for what matters here. */
static void trim_copy(const char *s, char *out, size_t outlen)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static int parse_long(const char *s, int64_t lo, int64_t hi, int64_t *v)
{
    if (!*s)
        return -1;
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return -1;
    *v = x;
    return 0;
}

static bool one_of(const char *s, const char *const *in)
{
    for (size_t i = 0; in[i]; i++)
        if (strcmp(s, in[i]) == 0)
            return true;
    return false;
}

static void join_in(const char *const *in, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; in[i]; i++)
        o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0, "%s%s", i ? ", " : "", in[i]);
}

/* ApiVersion names Kafka 2.4 accepts for message.format.version: "0.8.0" .. "2.4", with an
 * optional "-IVn" suffix (ApiVersion.apply takes the first two or three numbers). */
static bool valid_version(const char *s)
{
    static const char *const known[] = {"0.8.0", "0.8.1", "0.8.2", "0.9.0", "0.10.0", "0.10.1", "0.10.2",
                                        "0.11.0", "1.0", "1.1", "2.0", "2.1", "2.2", "2.3", "2.4", NULL};
    for (size_t i = 0; known[i]; i++) {
        size_t n = strlen(known[i]);
        if (strncmp(s, known[i], n) != 0)
            continue;
        const char *r = s + n;
        if (*r == '\0')
            return true;
        if (r[0] == '-' && r[1] == 'I' && r[2] == 'V' && isdigit((unsigned char)r[3])) {
            const char *q = r + 3;
            while (isdigit((unsigned char)*q))
                q++;
            if (!*q)
                return true;
        }
        if (r[0] == '.' && isdigit((unsigned char)r[1])) {   /* "0.10.0.1", "2.4.1" */
            const char *q = r + 1;
            while (isdigit((unsigned char)*q))
                q++;
            if (!*q)
                return true;
        }
    }
    return false;
}

/* Splits a LIST value as ConfigDef does ("\\s*,\\s*" after trim; "" = empty list). Items are
 * written NUL-separated into buf; returns the count. */
static size_t split_list(const char *v, char *buf, size_t buflen, const char **items, size_t max)
{
    trim_copy(v, buf, buflen);
    if (!buf[0])
        return 0;
    size_t n = 0;
    char *s = buf;
    while (n < max) {
        char *c = strchr(s, ',');
        if (c)
            *c = '\0';
        char *b = s;
        while (*b && isspace((unsigned char)*b))
            b++;
        char *e = b + strlen(b);
        while (e > b && isspace((unsigned char)e[-1]))
            *--e = '\0';
        items[n++] = b;
        if (!c)
            break;
        s = c + 1;
    }
    return n;
}

int adm_tcfg_check_value(const adm_tcfg_def_t *def, const char *value, char *msg, size_t msglen, char *norm,
                         size_t normlen)
{
    const tdef_t *t = tdef_of(def);
    char v[1024], why[1400], shown[1100];
    trim_copy(value, v, sizeof v);
    why[0] = '\0';
    snprintf(shown, sizeof shown, "%s", v);
    char out[1100];
    out[0] = '\0';
    int bad = 0;
    switch (def->type) {
    case ADM_CT_INT:
    case ADM_CT_LONG: {
        int64_t x;
        bool isint = def->type == ADM_CT_INT;
        if (parse_long(v, isint ? INT32_MIN : INT64_MIN, isint ? INT32_MAX : INT64_MAX, &x)) {
            snprintf(why, sizeof why, "Not a number of type %s", isint ? "INT" : "LONG");
            snprintf(shown, sizeof shown, "%s", value);
            bad = 1;
            break;
        }
        snprintf(out, sizeof out, "%" PRId64, x);
        snprintf(shown, sizeof shown, "%s", out);
        if (t->vk == V_ATLEAST && (double)x < t->lo) {
            snprintf(why, sizeof why, "Value must be at least %" PRId64, (int64_t)t->lo);
            bad = 1;
        }
        break;
    }
    case ADM_CT_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (!v[0] || *end || errno == ERANGE || isnan(d)) {
            snprintf(why, sizeof why, "Not a number of type DOUBLE");
            snprintf(shown, sizeof shown, "%s", value);
            bad = 1;
            break;
        }
        adm_java_double(d, out, sizeof out);
        snprintf(shown, sizeof shown, "%s", out);
        if (t->vk == V_BETWEEN && d < t->lo) {
            snprintf(why, sizeof why, "Value must be at least %g", t->lo);
            bad = 1;
        } else if (t->vk == V_BETWEEN && d > t->hi) {
            snprintf(why, sizeof why, "Value must be no more than %g", t->hi);
            bad = 1;
        }
        break;
    }
    case ADM_CT_BOOL:
        if (strcasecmp(v, "true") == 0)
            snprintf(out, sizeof out, "true");
        else if (strcasecmp(v, "false") == 0)
            snprintf(out, sizeof out, "false");
        else {
            snprintf(why, sizeof why, "Expected value to be either true or false");
            snprintf(shown, sizeof shown, "%s", value);
            bad = 1;
        }
        break;
    case ADM_CT_STRING:
        snprintf(out, sizeof out, "%s", v);
        if (t->vk == V_IN && !one_of(v, t->in)) {
            char list[256];
            join_in(t->in, list, sizeof list);
            snprintf(why, sizeof why, "String must be one of: %s", list);
            bad = 1;
        } else if (t->vk == V_VERSION && !valid_version(v)) {
            snprintf(why, sizeof why, "Version `%s` is not a valid version", v);
            bad = 1;
        }
        break;
    case ADM_CT_LIST: {
        char buf[1024];
        const char *items[128];
        size_t n = split_list(value, buf, sizeof buf, items, 128);
        size_t o = 0;
        for (size_t i = 0; i < n; i++)
            o += (size_t)snprintf(out + o, o < sizeof out ? sizeof out - o : 0, "%s%s", i ? "," : "", items[i]);
        for (size_t i = 0; !bad && i < n; i++) {
            if (t->vk == V_LIST_IN && !one_of(items[i], t->in)) {
                char list[256];
                join_in(t->in, list, sizeof list);
                snprintf(why, sizeof why, "String must be one of: %s", list);
                snprintf(shown, sizeof shown, "%s", items[i]);
                bad = 1;
            } else if (t->vk == V_THROTTLED) {
                /* "*" alone, or partition:broker pairs */
                const char *s = items[i];
                bool ok;
                if (strcmp(s, "*") == 0)
                    ok = n == 1;
                else {
                    const char *c = strchr(s, ':');
                    int64_t x;
                    char p1[64];
                    ok = c && (size_t)(c - s) < sizeof p1;
                    if (ok) {
                        memcpy(p1, s, (size_t)(c - s));
                        p1[c - s] = '\0';
                        ok = parse_long(p1, 0, INT32_MAX, &x) == 0 && parse_long(c + 1, 0, INT32_MAX, &x) == 0;
                    }
                }
                if (!ok) {
                    snprintf(why, sizeof why, "%s must be the literal '*' or a list of replicas in the following "
                             "format: [partitionId]:[brokerId],[partitionId]:[brokerId],...", def->name);
                    snprintf(shown, sizeof shown, "[%.1000s]", out);
                    bad = 1;
                }
            }
        }
        if (bad && t->vk == V_THROTTLED) {
            /* the whole list is shown */
        }
        break;
    }
    }
    if (bad) {
        if (msg)
            snprintf(msg, msglen, "Invalid value %s for configuration %s: %s", shown, def->name, why);
        return -1;
    }
    if (norm)
        snprintf(norm, normlen, "%s", out);
    return 0;
}

int adm_tcfg_validate(const zkpaths_config_t *c, char *msg, size_t msglen)
{
    for (size_t i = 0; i < c->n; i++) {
        if (!adm_tcfg_find(c->v[i].key)) {
            snprintf(msg, msglen, "Unknown topic config name: %s", c->v[i].key);
            return ADM_TCFG_UNKNOWN;
        }
        if (!c->v[i].value) {
            snprintf(msg, msglen, "Null value not supported for topic configs : %s", c->v[i].key);
            return ADM_TCFG_NULL;
        }
    }
    for (size_t d = 0; d < NDEFS; d++) {
        const char *v = zkpaths_config_get(c, defs[d].d.name);
        if (v && adm_tcfg_check_value(&defs[d].d, v, msg, msglen, NULL, 0))
            return ADM_TCFG_BADVALUE;
    }
    char a[64] = "0", b[64] = "9223372036854775807";
    const char *mn = zkpaths_config_get(c, "min.compaction.lag.ms");
    const char *mx = zkpaths_config_get(c, "max.compaction.lag.ms");
    if (mn)
        adm_tcfg_check_value(adm_tcfg_find("min.compaction.lag.ms"), mn, NULL, 0, a, sizeof a);
    if (mx)
        adm_tcfg_check_value(adm_tcfg_find("max.compaction.lag.ms"), mx, NULL, 0, b, sizeof b);
    if (strtoll(a, NULL, 10) > strtoll(b, NULL, 10)) {
        snprintf(msg, msglen, "conflict topic config setting min.compaction.lag.ms (%s) > max.compaction.lag.ms (%s)",
                 a, b);
        return ADM_TCFG_CONFLICT;
    }
    return ADM_TCFG_OK;
}

/* ---- the broker's values for topics ---- */

static void set_long(zkpaths_config_t *out, const char *k, int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, v);
    zkpaths_config_set(out, k, s);
}

static void set_eff(zkpaths_config_t *out, const bcfg_t *c, const char *k, const char *bkey, const char *dflt)
{
    const char *v = props_get(&c->effective, bkey);
    if (!v || strcmp(v, "null") == 0)
        v = dflt;
    const adm_tcfg_def_t *d = adm_tcfg_find(k);
    char norm[1100];
    if (d && adm_tcfg_check_value(d, v, NULL, 0, norm, sizeof norm) == 0)
        zkpaths_config_set(out, k, norm);
    else
        zkpaths_config_set(out, k, v);
}

void adm_tcfg_broker_values(const bcfg_t *c, zkpaths_config_t *out)
{
    zkpaths_config_free(out);
    memset(out, 0, sizeof *out);
    set_long(out, "segment.bytes", c->log_segment_bytes);
    set_long(out, "segment.ms", c->log_roll_ms);
    set_long(out, "segment.jitter.ms", c->log_roll_jitter_ms);
    set_long(out, "segment.index.bytes", c->log_index_size_max_bytes);
    set_long(out, "flush.messages", c->log_flush_interval_messages);
    set_long(out, "flush.ms", c->log_flush_interval_ms);
    set_long(out, "retention.bytes", c->log_retention_bytes);
    set_long(out, "retention.ms", c->log_retention_ms);
    set_long(out, "max.message.bytes", c->message_max_bytes);
    set_long(out, "index.interval.bytes", c->log_index_interval_bytes);
    set_long(out, "delete.retention.ms", c->log_cleaner_delete_retention_ms);
    set_long(out, "min.compaction.lag.ms", c->log_cleaner_min_compaction_lag_ms);
    set_eff(out, c, "max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "9223372036854775807");
    set_long(out, "file.delete.delay.ms", c->log_segment_delete_delay_ms);
    char d[64];
    adm_java_double(c->log_cleaner_min_cleanable_ratio, d, sizeof d);
    zkpaths_config_set(out, "min.cleanable.dirty.ratio", d);
    set_eff(out, c, "cleanup.policy", "log.cleanup.policy", "delete");
    zkpaths_config_set(out, "unclean.leader.election.enable", c->unclean_leader_election_enable ? "true" : "false");
    set_long(out, "min.insync.replicas", c->min_insync_replicas);
    set_eff(out, c, "compression.type", "compression.type", "producer");
    zkpaths_config_set(out, "preallocate", c->log_preallocate ? "true" : "false");
    set_eff(out, c, "message.format.version", "log.message.format.version", "2.4-IV1");
    set_eff(out, c, "message.timestamp.type", "log.message.timestamp.type", "CreateTime");
    set_long(out, "message.timestamp.difference.max.ms", c->log_message_timestamp_difference_max_ms);
    zkpaths_config_set(out, "leader.replication.throttled.replicas", "");
    zkpaths_config_set(out, "follower.replication.throttled.replicas", "");
    set_eff(out, c, "message.downconversion.enable", "log.message.downconversion.enable", "true");
}

/* ---- config entries ---- */

size_t adm_cfg_broker_synonyms(const char *key, const char **names)
{
    static const char *const groups[][4] = {
        {"log.roll.ms", "log.roll.hours", NULL, NULL},
        {"log.roll.jitter.ms", "log.roll.jitter.hours", NULL, NULL},
        {"log.flush.interval.ms", "log.flush.scheduler.interval.ms", NULL, NULL},
        {"log.retention.ms", "log.retention.minutes", "log.retention.hours", NULL},
    };
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        bool member = false;
        for (size_t i = 0; groups[g][i]; i++)
            if (strcmp(groups[g][i], key) == 0)
                member = true;
        /* log.flush.scheduler.interval.ms is only a synonym of log.flush.interval.ms */
        if (member && g == 2 && strcmp(key, "log.flush.interval.ms") != 0)
            member = false;
        if (member) {
            size_t n = 0;
            for (size_t i = 0; groups[g][i]; i++)
                names[n++] = groups[g][i];
            return n;
        }
    }
    names[0] = key;
    return 1;
}

static const char *val_or_null(const char *v)
{
    return v && strcmp(v, "null") != 0 ? v : NULL;
}

/* The value key has in server.properties, or NULL if it was left at its default. */
static const char *static_value(const adm_bprops_t *bp, const char *key)
{
    const char *e = val_or_null(props_get(bp->eff, key));
    const char *d = bp->dflt ? val_or_null(props_get(bp->dflt, key)) : NULL;
    if (!e)
        return NULL;
    if (d && strcmp(d, e) == 0)
        return NULL;
    return e;
}

static const char *default_value(const adm_bprops_t *bp, const char *key)
{
    return bp->dflt ? val_or_null(props_get(bp->dflt, key)) : NULL;
}

size_t adm_cfg_synonyms(const adm_bprops_t *bp, const char *name, const char *const *syns, size_t nsyn,
                        adm_csyn_t *out)
{
    adm_csyn_t all[ADM_MAX_SYN];
    size_t n = 0;
    for (size_t i = 0; i < nsyn && n < ADM_MAX_SYN; i++) {
        const char *v = static_value(bp, syns[i]);
        if (v)
            all[n++] = (adm_csyn_t){syns[i], v, ADM_SRC_STATIC_BROKER};
    }
    for (size_t i = 0; i < nsyn && n < ADM_MAX_SYN; i++) {
        const char *v = default_value(bp, syns[i]);
        if (v)
            all[n++] = (adm_csyn_t){syns[i], v, ADM_SRC_DEFAULT};
    }
    size_t first = 0;
    while (first < n && strcmp(all[first].name, name) != 0)
        first++;
    size_t k = 0;
    for (size_t i = first; i < n; i++)
        out[k++] = all[i];
    return k;
}

static bool wanted(const char *name, const char *const *names, size_t nnames)
{
    if (!names)
        return true;
    for (size_t i = 0; i < nnames; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

static int cmp_def_name(const void *x, const void *y)
{
    const adm_tcfg_def_t *const *a = x, *const *b = y;
    return strcmp((*a)->name, (*b)->name);
}

size_t adm_tcfg_describe(const adm_bprops_t *bp, const zkpaths_config_t *base, const zkpaths_config_t *overrides,
                         const char *const *names, size_t nnames, arena_t *a, adm_centry_t **out)
{
    const adm_tcfg_def_t *sorted[NDEFS];
    for (size_t i = 0; i < NDEFS; i++)
        sorted[i] = &defs[i].d;
    qsort(sorted, NDEFS, sizeof sorted[0], cmp_def_name);
    adm_centry_t *v = arena_alloc(a, NDEFS * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < NDEFS; i++) {
        const adm_tcfg_def_t *d = sorted[i];
        if (!wanted(d->name, names, nnames))
            continue;
        adm_centry_t *e = &v[n++];
        e->name = d->name;
        const char *ov = overrides ? zkpaths_config_get(overrides, d->name) : NULL;
        const char *val = NULL;
        if (ov) {
            char norm[1100];
            if (adm_tcfg_check_value(d, ov, NULL, 0, norm, sizeof norm) == 0)
                val = arena_strndup(a, norm, strlen(norm));
            else
                val = ov;
        } else {
            val = base ? zkpaths_config_get(base, d->name) : NULL;
        }
        e->value = val;
        e->nsyn = 0;
        if (ov)
            e->syn[e->nsyn++] = (adm_csyn_t){d->name, val, ADM_SRC_TOPIC};
        if (d->broker_key) {
            const char *syns[3];
            size_t ns = adm_cfg_broker_synonyms(d->broker_key, syns);
            e->nsyn += adm_cfg_synonyms(bp, d->broker_key, syns, ns, e->syn + e->nsyn);
        }
        e->source = e->nsyn ? e->syn[0].source : ADM_SRC_DEFAULT;
        e->read_only = false;
        e->sensitive = false;
        e->is_default = e->source == ADM_SRC_DEFAULT;
    }
    *out = v;
    return n;
}

/* Kafka 2.4's dynamic broker configs (DynamicBrokerConfig.AllDynamicConfigs) among the keys
 * Gregor accepts: the others are read-only. */
static bool dynamic_key(const char *key)
{
    static const char *const dyn[] = {
        "log.cleaner.threads", "log.cleaner.dedupe.buffer.size", "log.cleaner.io.buffer.load.factor",
        "log.cleaner.io.buffer.size", "log.cleaner.io.max.bytes.per.second", "log.cleaner.backoff.ms",
        "num.network.threads", "num.io.threads", "num.replica.fetchers", "num.recovery.threads.per.data.dir",
        "background.threads", "advertised.listeners", "listeners", "listener.security.protocol.map",
        "max.connections.per.ip", "max.connections.per.ip.overrides", "max.connections", NULL};
    for (size_t i = 0; dyn[i]; i++)
        if (strcmp(dyn[i], key) == 0)
            return true;
    for (size_t i = 0; i < NDEFS; i++) {
        const char *bk = defs[i].d.broker_key;
        if (bk && strcmp(bk, "log.message.format.version") != 0 && strcmp(bk, key) == 0)
            return true;
    }
    return false;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

size_t adm_bcfg_describe(const adm_bprops_t *bp, const char *const *names, size_t nnames, arena_t *a,
                         adm_centry_t **out)
{
    size_t nk = bp->eff->n;
    const char **keys = arena_alloc(a, (nk ? nk : 1) * sizeof *keys);
    for (size_t i = 0; i < nk; i++)
        keys[i] = bp->eff->v[i].key;
    qsort(keys, nk, sizeof *keys, cmp_str);
    adm_centry_t *v = arena_alloc(a, (nk ? nk : 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < nk; i++) {
        if (!wanted(keys[i], names, nnames))
            continue;
        adm_centry_t *e = &v[n++];
        e->name = keys[i];
        e->value = val_or_null(props_get(bp->eff, keys[i]));
        const char *syns[3];
        size_t ns = adm_cfg_broker_synonyms(keys[i], syns);
        e->nsyn = adm_cfg_synonyms(bp, keys[i], syns, ns, e->syn);
        e->source = e->nsyn ? e->syn[0].source : ADM_SRC_DEFAULT;
        bool dyn = false;
        for (size_t s = 0; s < ns; s++)
            dyn = dyn || dynamic_key(syns[s]);
        e->read_only = !dyn;
        e->sensitive = strstr(keys[i], "password") != NULL;
        if (e->sensitive) {
            e->value = NULL;
            for (size_t s = 0; s < e->nsyn; s++)
                e->syn[s].value = NULL;
        }
        e->is_default = e->source == ADM_SRC_DEFAULT;
    }
    *out = v;
    return n;
}
