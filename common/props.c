#include "common/props.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/buf.h"

void props_init(props_t *p)
{
    memset(p, 0, sizeof *p);
}

void props_free(props_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].value);
    }
    free(p->v);
    free(p->path);
    props_init(p);
}

props_entry_t *props_find(props_t *p, const char *key)
{
    for (size_t i = p->n; i-- > 0;)
        if (strcmp(p->v[i].key, key) == 0)
            return &p->v[i];
    return NULL;
}

const char *props_get(const props_t *p, const char *key)
{
    props_entry_t *e = props_find((props_t *)p, key);
    return e ? e->value : NULL;
}

static void props_set_line(props_t *p, const char *key, const char *value, int line)
{
    props_entry_t *e = props_find(p, key);
    if (e) {
        free(e->value);
        e->value = xstrdup(value);
        e->line = line;
        return;
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = xrealloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n++] = (props_entry_t){xstrdup(key), xstrdup(value), line, false};
}

void props_set(props_t *p, const char *key, const char *value)
{
    props_set_line(p, key, value, 0);
}

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static void parse_logical_line(props_t *p, char *s, int line)
{
    s = trim(s);
    if (!*s || *s == '#' || *s == '!')
        return;
    char *sep = s;
    while (*sep && *sep != '=' && *sep != ':' && !isspace((unsigned char)*sep))
        sep++;
    char *val = sep;
    if (*sep) {
        *val++ = (*sep == '=' || *sep == ':') ? '\0' : (*sep = '\0', '\0');
        val = trim(val);
        if (*val == '=' || *val == ':')
            val = trim(val + 1);
    }
    props_set_line(p, trim(s), val, line);
}

int props_load_string(props_t *p, const char *text)
{
    buf_t logical = BUF_INIT;
    int line = 0, start = 0;
    const char *s = text;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        line++;
        if (logical.len == 0)
            start = line;
        size_t m = n;
        if (m && s[m - 1] == '\r')
            m--;
        bool cont = m && s[m - 1] == '\\';
        const char *t = s;
        if (logical.len) /* a continuation line: leading blanks are dropped */
            while (t < s + m && (*t == ' ' || *t == '\t'))
                t++;
        buf_put(&logical, t, (size_t)(s + (cont ? m - 1 : m) - t));
        if (!cont) {
            parse_logical_line(p, buf_cstr(&logical), start);
            buf_reset(&logical);
        }
        s += n + (nl ? 1 : 0);
    }
    if (logical.len)
        parse_logical_line(p, buf_cstr(&logical), start);
    buf_free(&logical);
    return 0;
}

int props_load_file(props_t *p, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    buf_t b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_put(&b, chunk, n);
    fclose(f);
    free(p->path);
    p->path = xstrdup(path);
    props_load_string(p, buf_cstr(&b));
    buf_free(&b);
    return 0;
}

int cfg_parse_value(enum cfg_type type, const char *text, void *target, int64_t min, int64_t max,
                    char *why, size_t whylen)
{
    switch (type) {
    case CFG_INT:
    case CFG_LONG: {
        errno = 0;
        char *end;
        long long v = strtoll(text, &end, 10);
        if (errno || end == text || *end) {
            snprintf(why, whylen, "'%s' is not a whole number", text);
            return -1;
        }
        if (type == CFG_INT && (v < -2147483648LL || v > 2147483647LL)) {
            snprintf(why, whylen, "'%s' is out of range for a 32-bit number", text);
            return -1;
        }
        if (min <= max && (v < min || v > max)) {
            snprintf(why, whylen, "%lld is outside [%lld, %lld]", v, (long long)min, (long long)max);
            return -1;
        }
        if (type == CFG_INT)
            *(int *)target = (int)v;
        else
            *(int64_t *)target = v;
        return 0;
    }
    case CFG_BOOL:
        if (!strcasecmp(text, "true") || !strcasecmp(text, "yes") || !strcmp(text, "1"))
            *(bool *)target = true;
        else if (!strcasecmp(text, "false") || !strcasecmp(text, "no") || !strcmp(text, "0"))
            *(bool *)target = false;
        else {
            snprintf(why, whylen, "'%s' is not true or false", text);
            return -1;
        }
        return 0;
    case CFG_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(text, &end);
        if (errno || end == text || *end) {
            snprintf(why, whylen, "'%s' is not a number", text);
            return -1;
        }
        *(double *)target = d;
        return 0;
    }
    case CFG_STRING: {
        char **sp = target;
        free(*sp);
        *sp = xstrdup(text);
        return 0;
    }
    }
    return -1;
}

int cfg_bind(props_t *p, const cfg_spec_t *spec, size_t nspec, char *err, size_t errlen)
{
    char why[256];
    for (size_t i = 0; i < nspec; i++) {
        const cfg_spec_t *s = &spec[i];
        if (s->def && cfg_parse_value(s->type, s->def, s->target, s->min, s->max, why, sizeof why)) {
            snprintf(err, errlen, "internal: bad default for %s: %s", s->key, why);
            return -1;
        }
        props_entry_t *e = props_find(p, s->key);
        if (!e)
            continue;
        e->used = true;
        if (cfg_parse_value(s->type, e->value, s->target, s->min, s->max, why, sizeof why)) {
            if (e->line)
                snprintf(err, errlen, "invalid value for %s (%s line %d): %s", s->key,
                         p->path ? p->path : "config", e->line, why);
            else
                snprintf(err, errlen, "invalid value for %s: %s", s->key, why);
            return -1;
        }
    }
    return 0;
}
