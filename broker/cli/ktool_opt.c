/* ktool_opt.c — option parsing, CommandLineUtils checks and topic-config validation shared by
 * the Kafka tools (see ktool.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cli/ktool.h"
#include "common/alloc.h"

static ssize_t find_def(const ktool_opts_t *o, const char *name, size_t len, bool *ambiguous)
{
    ssize_t hit = -1;
    *ambiguous = false;
    for (size_t i = 0; i < o->ndefs; i++) {
        if (strlen(o->defs[i].name) == len && !strncmp(o->defs[i].name, name, len))
            return (ssize_t)i;
    }
    /* joptsimple accepts any unambiguous abbreviation */
    for (size_t i = 0; i < o->ndefs; i++) {
        if (!strncmp(o->defs[i].name, name, len)) {
            if (hit >= 0)
                *ambiguous = true;
            hit = (ssize_t)i;
        }
    }
    return *ambiguous ? -1 : hit;
}

static ssize_t def_index(const ktool_opts_t *o, const char *name)
{
    for (size_t i = 0; i < o->ndefs; i++)
        if (!strcmp(o->defs[i].name, name))
            return (ssize_t)i;
    return -1;
}

int ktool_opts_parse(ktool_opts_t *o, const ktool_optdef_t *defs, size_t ndefs, const char *header,
                     int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->defs = defs;
    o->ndefs = ndefs;
    o->header = header;
    o->count = xcalloc(ndefs ? ndefs : 1, sizeof *o->count);
    o->vals = xcalloc(ndefs ? ndefs : 1, sizeof *o->vals);
    o->nvals = xcalloc(ndefs ? ndefs : 1, sizeof *o->nvals);
    o->rest = xcalloc((size_t)argc + 1, sizeof *o->rest);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            for (i++; i < argc; i++)
                o->rest[o->nrest++] = argv[i];
            break;
        }
        if (a[0] != '-' || a[1] == 0) {
            o->rest[o->nrest++] = argv[i];
            continue;
        }
        const char *name = a + (a[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        bool amb;
        ssize_t d = find_def(o, name, len, &amb);
        if (d < 0) {
            if (amb)
                fprintf(stderr, "Exception in thread \"main\" joptsimple.OptionException: Option '%.*s' is "
                                "ambiguous\n", (int)len, name);
            else
                fprintf(stderr, "Exception in thread \"main\" joptsimple.UnrecognizedOptionException: %.*s is "
                                "not a recognized option\n", (int)len, name);
            return -1;
        }
        o->count[d]++;
        if (!defs[d].arg) {
            if (eq) {
                fprintf(stderr, "Exception in thread \"main\" joptsimple.UnrecognizedOptionException: "
                                "%s is not a recognized option\n", name);
                return -1;
            }
            continue;
        }
        const char *val;
        if (eq)
            val = eq + 1;
        else if (defs[d].arg == 2 && (i + 1 >= argc || argv[i + 1][0] == '-'))
            continue;   /* optional argument not given */
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            fprintf(stderr, "Exception in thread \"main\" joptsimple.OptionMissingRequiredArgumentException: "
                            "Option %s requires an argument\n", defs[d].name);
            return -1;
        }
        o->vals[d] = xrealloc(o->vals[d], (o->nvals[d] + 1) * sizeof(char *));
        o->vals[d][o->nvals[d]++] = (char *)val;
    }
    return 0;
}

void ktool_opts_free(ktool_opts_t *o)
{
    if (o->vals)
        for (size_t i = 0; i < o->ndefs; i++)
            free(o->vals[i]);
    free(o->vals);
    free(o->nvals);
    free(o->count);
    free(o->rest);
    memset(o, 0, sizeof *o);
}

bool ktool_has(const ktool_opts_t *o, const char *name)
{
    ssize_t d = def_index(o, name);
    return d >= 0 && o->count[d] > 0;
}

const char *ktool_val(const ktool_opts_t *o, const char *name)
{
    ssize_t d = def_index(o, name);
    if (d < 0 || o->nvals[d] == 0)
        return NULL;
    return o->vals[d][o->nvals[d] - 1];
}

char **ktool_vals(const ktool_opts_t *o, const char *name, size_t *n)
{
    ssize_t d = def_index(o, name);
    *n = d < 0 ? 0 : o->nvals[d];
    return d < 0 ? NULL : o->vals[d];
}

/* Wraps text at width columns into the description column. */
static void print_wrapped(FILE *f, const char *text, size_t indent, size_t width)
{
    size_t col = indent;
    const char *p = text;
    bool first = true;
    while (*p) {
        const char *sp = p;
        while (*sp && *sp != ' ' && *sp != '\n')
            sp++;
        size_t wl = (size_t)(sp - p);
        if (!first && (col + 1 + wl > indent + width)) {
            fprintf(f, "\n%*s", (int)indent, "");
            col = indent;
            first = true;
        }
        if (!first) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, wl, f);
        col += wl;
        first = false;
        if (*sp == '\n') {
            fprintf(f, "\n%*s", (int)indent, "");
            col = indent;
            first = true;
            sp++;
        }
        p = sp;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

void ktool_print_help(const ktool_opts_t *o, FILE *f)
{
    if (o->header)
        fprintf(f, "%s\n", o->header);
    fprintf(f, "%-40s %s\n%-40s %s\n", "Option", "Description", "------", "-----------");
    for (size_t i = 0; i < o->ndefs; i++) {
        char left[200];
        if (o->defs[i].arg)
            snprintf(left, sizeof left, "--%s <%s>", o->defs[i].name,
                     o->defs[i].argname ? o->defs[i].argname : "String");
        else
            snprintf(left, sizeof left, "--%s", o->defs[i].name);
        if (strlen(left) > 40)
            fprintf(f, "%s\n%-40s ", left, "");
        else
            fprintf(f, "%-40s ", left);
        print_wrapped(f, o->defs[i].help ? o->defs[i].help : "", 41, 39);
    }
}

int ktool_usage_die(const ktool_opts_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    ktool_print_help(o, stderr);
    return 1;
}

int ktool_require(const ktool_opts_t *o, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (!ktool_has(o, names[i]))
            return ktool_usage_die(o, "Missing required argument \"[%s]\"", names[i]);
    return 0;
}

int ktool_invalid_with(const ktool_opts_t *o, const char *used, const char *const *bad)
{
    if (!ktool_has(o, used))
        return 0;
    buf_t b = BUF_INIT;
    for (size_t i = 0; bad[i]; i++) {
        if (ktool_has(o, bad[i]))
            buf_printf(&b, "%s[%s]", b.len ? "," : "", bad[i]);
    }
    if (!b.len)
        return 0;
    ktool_usage_die(o, "Option \"[%s]\" can't be used with option \"%s\"", used, buf_cstr(&b));
    buf_free(&b);
    return 1;
}

int ktool_long_arg(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || isspace((unsigned char)*s))
        return -1;
    *out = v;
    return 0;
}

int ktool_int_arg(const ktool_opts_t *o, const char *name, int32_t *out)
{
    const char *s = ktool_val(o, name);
    int64_t v;
    if (ktool_long_arg(s, &v) < 0 || v < INT32_MIN || v > INT32_MAX) {
        fprintf(stderr, "Exception in thread \"main\" joptsimple.OptionArgumentConversionException: "
                        "Cannot parse argument '%s' of option %s\n", s ? s : "", name);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

static char *trim_dup(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *r = xmalloc(n + 1);
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

int ktool_split_kv(const char *s, char **k, char **v)
{
    const char *eq = strchr(s, '=');
    if (!eq || strchr(eq + 1, '='))
        return -1;
    *k = trim_dup(s, (size_t)(eq - s));
    *v = trim_dup(eq + 1, strlen(eq + 1));
    return 0;
}

/* ---- topic configs ---- */

enum tc_type { TC_LONG, TC_INT, TC_BOOL, TC_DOUBLE, TC_STRING, TC_LIST, TC_POLICY, TC_CODEC, TC_TSTYPE };

static const struct tc_def {
    const char *name;
    enum tc_type type;
    int64_t min;
} tc_defs[] = {
    {"cleanup.policy", TC_POLICY, 0},
    {"compression.type", TC_CODEC, 0},
    {"delete.retention.ms", TC_LONG, 0},
    {"file.delete.delay.ms", TC_LONG, 0},
    {"flush.messages", TC_LONG, 0},
    {"flush.ms", TC_LONG, 0},
    {"follower.replication.throttled.replicas", TC_LIST, 0},
    {"index.interval.bytes", TC_INT, 0},
    {"leader.replication.throttled.replicas", TC_LIST, 0},
    {"max.compaction.lag.ms", TC_LONG, 1},
    {"max.message.bytes", TC_INT, 0},
    {"message.downconversion.enable", TC_BOOL, 0},
    {"message.format.version", TC_STRING, 0},
    {"message.timestamp.difference.max.ms", TC_LONG, 0},
    {"message.timestamp.type", TC_TSTYPE, 0},
    {"min.cleanable.dirty.ratio", TC_DOUBLE, 0},
    {"min.compaction.lag.ms", TC_LONG, 0},
    {"min.insync.replicas", TC_INT, 1},
    {"preallocate", TC_BOOL, 0},
    {"retention.bytes", TC_LONG, INT64_MIN},
    {"retention.ms", TC_LONG, -1},
    {"segment.bytes", TC_INT, 14},
    {"segment.index.bytes", TC_INT, 0},
    {"segment.jitter.ms", TC_LONG, 0},
    {"segment.ms", TC_LONG, 1},
    {"unclean.leader.election.enable", TC_BOOL, 0},
};

bool ktool_topic_config_known(const char *key)
{
    for (size_t i = 0; i < sizeof tc_defs / sizeof tc_defs[0]; i++)
        if (!strcmp(tc_defs[i].name, key))
            return true;
    return false;
}

static bool one_of(const char *v, const char *const *set)
{
    for (size_t i = 0; set[i]; i++)
        if (!strcmp(v, set[i]))
            return true;
    return false;
}

int ktool_topic_config_validate(const char *key, const char *value, char *why, size_t whylen)
{
    const struct tc_def *d = NULL;
    for (size_t i = 0; i < sizeof tc_defs / sizeof tc_defs[0]; i++)
        if (!strcmp(tc_defs[i].name, key))
            d = &tc_defs[i];
    if (!d) {
        snprintf(why, whylen, "Unknown topic config name: %s", key);
        return -1;
    }
    int64_t v;
    switch (d->type) {
    case TC_LONG:
    case TC_INT:
        if (ktool_long_arg(value, &v) < 0 ||
            (d->type == TC_INT && (v < INT32_MIN || v > INT32_MAX))) {
            snprintf(why, whylen, "Invalid value %s for configuration %s: Not a number of type %s", value, key,
                     d->type == TC_INT ? "INT" : "LONG");
            return -1;
        }
        if (v < d->min) {
            snprintf(why, whylen, "Invalid value %s for configuration %s: Value must be at least %lld", value,
                     key, (long long)d->min);
            return -1;
        }
        return 0;
    case TC_BOOL:
        if (strcasecmp(value, "true") && strcasecmp(value, "false")) {
            snprintf(why, whylen, "Invalid value %s for configuration %s: Expected value to be either true or false",
                     value, key);
            return -1;
        }
        return 0;
    case TC_DOUBLE: {
        char *end;
        double dv = strtod(value, &end);
        if (!*value || *end) {
            snprintf(why, whylen, "Invalid value %s for configuration %s: Not a number of type DOUBLE", value, key);
            return -1;
        }
        if (dv < 0 || dv > 1) {
            snprintf(why, whylen, "Invalid value %s for configuration %s: Value must be %s", value, key,
                     dv < 0 ? "at least 0" : "no more than 1");
            return -1;
        }
        return 0;
    }
    case TC_POLICY: {
        char *copy = xstrdup(value), *save = NULL;
        int rc = 0;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            while (isspace((unsigned char)*t))
                t++;
            size_t n = strlen(t);
            while (n && isspace((unsigned char)t[n - 1]))
                t[--n] = 0;
            if (strcmp(t, "delete") && strcmp(t, "compact")) {
                snprintf(why, whylen, "Invalid value %s for configuration %s: String must be one of: compact, delete",
                         t, key);
                rc = -1;
                break;
            }
        }
        free(copy);
        return rc;
    }
    case TC_CODEC: {
        static const char *const codecs[] = {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer", NULL};
        if (!one_of(value, codecs)) {
            snprintf(why, whylen, "Invalid value %s for configuration %s: String must be one of: "
                     "uncompressed, zstd, lz4, snappy, gzip, producer", value, key);
            return -1;
        }
        return 0;
    }
    case TC_TSTYPE: {
        static const char *const types[] = {"CreateTime", "LogAppendTime", NULL};
        if (!one_of(value, types)) {
            snprintf(why, whylen, "Invalid value %s for configuration %s: String must be one of: "
                     "CreateTime, LogAppendTime", value, key);
            return -1;
        }
        return 0;
    }
    case TC_STRING:
    case TC_LIST:
        return 0;
    }
    return 0;
}

bool ktool_topic_internal(const char *topic)
{
    return !strcmp(topic, "__consumer_offsets") || !strcmp(topic, "__transaction_state");
}

int ktool_topic_name_check(const char *topic, char *why, size_t whylen)
{
    size_t n = strlen(topic);
    if (n == 0) {
        snprintf(why, whylen, "Topic name is illegal, it can't be empty");
        return -1;
    }
    if (!strcmp(topic, ".") || !strcmp(topic, "..")) {
        snprintf(why, whylen, "Topic name cannot be \".\" or \"..\"");
        return -1;
    }
    if (n > 249) {
        snprintf(why, whylen, "Topic name is illegal, it can't be longer than 249 characters, topic name: %s", topic);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = topic[i];
        if (!(isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-')) {
            snprintf(why, whylen, "Topic name \"%s\" is illegal, it contains a character other than "
                     "ASCII alphanumerics, '.', '_' and '-'", topic);
            return -1;
        }
    }
    return 0;
}

bool ktool_topic_has_collision_chars(const char *topic)
{
    return strchr(topic, '.') || strchr(topic, '_');
}
