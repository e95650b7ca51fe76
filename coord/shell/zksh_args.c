/* zksh_args.c — how zkCli splits a line into words and parses a command's
 * options. The rules are those of ZooKeeperMain.MyCommandOptions (the regular
 * expression \s*([^"']\S*|"[^"]*"|'[^']*')\s* applied with find(), then one
 * pair of surrounding quotes removed) and of commons-cli 1.5's DefaultParser
 * (short options only, clustering "-sv", attached values "-v3", "-v=3",
 * "--" ends options, negative numbers accepted as option values). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "coord/shell/zksh_int.h"

/* Java's \s: [ \t\n\x0B\f\r] */
static bool jspace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

void zksh_argv_push(zksh_argv_t *a, const char *s)
{
    a->argv = xrealloc(a->argv, (size_t)(a->argc + 2) * sizeof *a->argv);
    a->argv[a->argc++] = xstrdup(s);
    a->argv[a->argc] = NULL;
}

void zksh_argv_free(zksh_argv_t *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
    free(a->argv);
    a->argv = NULL;
    a->argc = 0;
}

/* Tries the group ([^"']\S*|"[^"]*"|'[^']*') at s[i]; returns its end or -1. */
static long match_group(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return -1;
    char c = s[i];
    if (c == '"' || c == '\'') {
        const char *close = memchr(s + i + 1, c, n - i - 1);
        return close ? (long)(close - s) + 1 : -1;
    }
    size_t j = i + 1;
    while (j < n && !jspace(s[j]))
        j++;
    return (long)j;
}

int zksh_tokenize(const char *line, zksh_argv_t *out)
{
    out->argc = 0;
    out->argv = NULL;
    size_t n = strlen(line);
    size_t pos = 0;
    while (pos < n) {
        /* find(): try each start; at a start, \s* is greedy but may give back */
        size_t ws = 0;
        while (pos + ws < n && jspace(line[pos + ws]))
            ws++;
        long end = -1;
        size_t gstart = 0;
        for (long k = (long)ws; k >= 0; k--) {
            end = match_group(line, n, pos + (size_t)k);
            if (end >= 0) {
                gstart = pos + (size_t)k;
                break;
            }
        }
        if (end < 0) {
            pos++;
            continue;
        }
        size_t glen = (size_t)end - gstart;
        char *tok = xstrndup(line + gstart, glen);
        /* ^(['"])(.*)(\1)$ — '.' does not match line terminators */
        if (glen >= 2 && (tok[0] == '"' || tok[0] == '\'') && tok[glen - 1] == tok[0] &&
            !memchr(tok + 1, '\r', glen - 2) && !memchr(tok + 1, '\n', glen - 2)) {
            memmove(tok, tok + 1, glen - 2);
            tok[glen - 2] = '\0';
        }
        zksh_argv_push(out, tok);
        free(tok);
        pos = (size_t)end;
        while (pos < n && jspace(line[pos]))
            pos++;
    }
    if (!out->argv) {
        out->argv = xcalloc(1, sizeof *out->argv);
    }
    return out->argc;
}

/* ---- numbers, as Java parses them ---- */

static int parse_radix(const char *s, int radix, bool allow_sign, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return -1;
    bool neg = false;
    if (allow_sign && (*s == '-' || *s == '+')) {
        neg = *s == '-';
        s++;
        if (!*s)
            return -1;
    }
    /* accumulate negatively to reach MIN_VALUE */
    int64_t acc = 0;
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'z')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'Z')
            d = *s - 'A' + 10;
        else
            return -1;
        if (d >= radix)
            return -1;
        if (acc < (INT64_MIN + d) / radix)
            return -1;
        acc = acc * radix - d;
    }
    if (!neg) {
        if (acc == INT64_MIN)
            return -1;
        acc = -acc;
    }
    if (acc < min || acc > max)
        return -1;
    *out = acc;
    return 0;
}

int zksh_parse_int(const char *s, int32_t *out)
{
    int64_t v;
    if (parse_radix(s, 10, true, INT32_MIN, INT32_MAX, &v))
        return -1;
    *out = (int32_t)v;
    return 0;
}

int zksh_parse_long(const char *s, int64_t *out)
{
    return parse_radix(s, 10, true, INT64_MIN, INT64_MAX, out);
}

int zksh_decode_int(const char *s, int32_t *out)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    int radix = 10;
    if (!strncmp(p, "0x", 2) || !strncmp(p, "0X", 2)) {
        radix = 16;
        p += 2;
    } else if (*p == '#') {
        radix = 16;
        p++;
    } else if (*p == '0' && p[1]) {
        radix = 8;
        p++;
    }
    if (*p == '-' || *p == '+')
        return -1;
    int64_t v;
    if (parse_radix(p, radix, false, 0, (int64_t)INT32_MAX + 1, &v))
        return -1;
    if (neg)
        v = -v;
    if (v < INT32_MIN || v > INT32_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* Double.parseDouble accepts it (used by commons-cli to let "-1" be a value). */
static bool java_double(const char *s)
{
    while (*s && (unsigned char)*s <= ' ')
        s++;
    size_t n = strlen(s);
    while (n && (unsigned char)s[n - 1] <= ' ')
        n--;
    if (!n)
        return false;
    char *t = xstrndup(s, n);
    char *p = t;
    bool ok = false;
    if (*p == '+' || *p == '-')
        p++;
    if (!strcmp(p, "Infinity") || !strcmp(p, "NaN")) {
        ok = true;
    } else if (!strncmp(p, "0x", 2) || !strncmp(p, "0X", 2)) {
        ok = strchr(p, 'p') || strchr(p, 'P');   /* hex floats need an exponent */
        if (ok) {
            errno = 0;
            char *end;
            strtod(t, &end);
            if (*end == 'f' || *end == 'F' || *end == 'd' || *end == 'D')
                end++;
            ok = *end == '\0';
        }
    } else {
        bool digits = false;
        while (isdigit((unsigned char)*p))
            p++, digits = true;
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char)*p))
                p++, digits = true;
        }
        if (digits && (*p == 'e' || *p == 'E')) {
            p++;
            if (*p == '+' || *p == '-')
                p++;
            if (!isdigit((unsigned char)*p))
                digits = false;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (*p == 'f' || *p == 'F' || *p == 'd' || *p == 'D')
            p++;
        ok = digits && *p == '\0';
    }
    free(t);
    return ok;
}

/* ---- the option parser ---- */

typedef struct parser_s {
    const char *spec;
    zksh_cl_t *cl;
    int cur;            /* option waiting for its value, or -1 */
    bool skip;          /* after "--" */
    char *err;
    size_t errlen;
} parser_t;

static int opt_kind(const char *spec, char c)
{
    /* 0 = unknown, 1 = flag, 2 = takes a value */
    if (c == ':' || c == '\0')
        return 0;
    const char *p = strchr(spec, c);
    if (!p)
        return 0;
    return p[1] == ':' ? 2 : 1;
}

static void add_arg(parser_t *ps, const char *s)
{
    if (ps->cl->nargs < ZKSH_MAX_ARGS)
        ps->cl->args[ps->cl->nargs++] = s;
}

static int unknown_token(parser_t *ps, const char *tok)
{
    if (tok[0] == '-' && tok[1]) {
        snprintf(ps->err, ps->errlen,
                 "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: %s", tok);
        return -1;
    }
    add_arg(ps, tok);
    return 0;
}

static int check_required(parser_t *ps)
{
    if (ps->cur >= 0) {
        snprintf(ps->err, ps->errlen,
                 "org.apache.commons.cli.MissingArgumentException: Missing argument for option: %c", ps->cur);
        return -1;
    }
    return 0;
}

static void set_value(parser_t *ps, int opt, const char *v, size_t n)
{
    if (!ps->cl->val[opt])
        ps->cl->val[opt] = xstrndup(v, n);
}

static int handle_option(parser_t *ps, char c)
{
    if (check_required(ps))
        return -1;
    ps->cl->has[(unsigned char)c] = true;
    ps->cur = opt_kind(ps->spec, c) == 2 ? c : -1;
    return 0;
}

static bool is_short_option(parser_t *ps, const char *tok)
{
    if (tok[0] != '-' || !tok[1])
        return false;
    const char *name = tok + 1;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    if (len == 1 && opt_kind(ps->spec, name[0]))
        return true;
    return len > 0 && opt_kind(ps->spec, name[0]);
}

static int handle_concatenated(parser_t *ps, const char *tok)
{
    size_t n = strlen(tok);
    for (size_t i = 1; i < n; i++) {
        if (!opt_kind(ps->spec, tok[i]))
            return unknown_token(ps, tok);
        if (handle_option(ps, tok[i]))
            return -1;
        if (ps->cur >= 0 && n != i + 1) {
            set_value(ps, ps->cur, tok + i + 1, n - i - 1);
            ps->cur = -1;
            break;
        }
    }
    return 0;
}

static int handle_short(parser_t *ps, const char *tok)
{
    const char *t = tok[1] == '-' ? tok + 2 : tok + 1;
    const char *eq = strchr(t, '=');
    size_t tl = strlen(t);
    if (tl == 1) {
        if (opt_kind(ps->spec, t[0]))
            return handle_option(ps, t[0]);
        return unknown_token(ps, tok);
    }
    if (!eq)
        return handle_concatenated(ps, tok);
    size_t ol = (size_t)(eq - t);
    if (ol == 1 && opt_kind(ps->spec, t[0]) == 2) {
        if (handle_option(ps, t[0]))
            return -1;
        set_value(ps, t[0], eq + 1, strlen(eq + 1));
        ps->cur = -1;
        return 0;
    }
    return unknown_token(ps, tok);
}

/* Util.stripLeadingAndTrailingQuotes */
static void strip_quotes(const char *s, const char **v, size_t *n)
{
    size_t len = strlen(s);
    *v = s;
    *n = len;
    if (len > 1 && s[0] == '"' && s[len - 1] == '"' && !memchr(s + 1, '"', len - 2)) {
        *v = s + 1;
        *n = len - 2;
    }
}

int zksh_cl_parse(const char *spec, int argc, char **argv, zksh_cl_t *cl, char *err, size_t errlen)
{
    memset(cl, 0, sizeof *cl);
    parser_t ps = {spec, cl, -1, false, err, errlen};
    for (int i = 0; i < argc; i++) {
        const char *tok = argv[i];
        int rc = 0;
        if (ps.skip) {
            add_arg(&ps, tok);
        } else if (!strcmp(tok, "--")) {
            ps.skip = true;
        } else if (ps.cur >= 0 && (!is_short_option(&ps, tok) || java_double(tok))) {
            const char *v;
            size_t n;
            strip_quotes(tok, &v, &n);
            set_value(&ps, ps.cur, v, n);
            ps.cur = -1;
        } else if (!strncmp(tok, "--", 2)) {
            rc = unknown_token(&ps, tok);   /* no long options exist */
        } else if (tok[0] == '-' && tok[1]) {
            rc = handle_short(&ps, tok);
        } else {
            add_arg(&ps, tok);
        }
        if (rc) {
            zksh_cl_free(cl);
            return -1;
        }
    }
    if (check_required(&ps)) {
        zksh_cl_free(cl);
        return -1;
    }
    return 0;
}

void zksh_cl_free(zksh_cl_t *cl)
{
    for (int i = 0; i < 128; i++) {
        free(cl->val[i]);
        cl->val[i] = NULL;
    }
}
