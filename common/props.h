/* props.h — Java-properties / zoo.cfg files: an ordered list of key=value pairs.
 *
 * Syntax accepted (as java.util.Properties): '#' or '!' comments, "key=value",
 * "key: value" or "key value", surrounding blanks trimmed, a trailing backslash
 * continues the line. Later duplicates override earlier ones. */
#ifndef GREGOR_COMMON_PROPS_H
#define GREGOR_COMMON_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct props_entry_s {
    char *key;
    char *value;
    int line;     /* line number in the file, 0 if set by code */
    bool used;    /* set by cfg_bind/props_take: unknown keys are the unused ones */
} props_entry_t;

typedef struct props_s {
    props_entry_t *v;
    size_t n, cap;
    char *path;   /* file it came from, for messages */
} props_t;

void props_init(props_t *p);
void props_free(props_t *p);
/* Returns 0, or -1 with a message in err (errlen bytes) if the file can't be read. */
int props_load_file(props_t *p, const char *path, char *err, size_t errlen);
int props_load_string(props_t *p, const char *text);
void props_set(props_t *p, const char *key, const char *value);
const char *props_get(const props_t *p, const char *key);
props_entry_t *props_find(props_t *p, const char *key);

/* Table-driven binding of properties to typed variables. */
enum cfg_type { CFG_INT, CFG_LONG, CFG_BOOL, CFG_STRING, CFG_DOUBLE };

typedef struct cfg_spec_s {
    const char *key;
    enum cfg_type type;
    void *target;       /* int*, int64_t*, bool*, char** (owned, freed by caller), double* */
    const char *def;    /* default as text, or NULL: leave target as is */
    int64_t min, max;   /* bounds for ints/longs (ignored when min > max) */
} cfg_spec_t;

/* Applies defaults, then values from p. Every matching entry is marked used.
 * Returns 0, or -1 with "invalid value for KEY (line N): ..." in err. */
int cfg_bind(props_t *p, const cfg_spec_t *spec, size_t nspec, char *err, size_t errlen);
/* Parses one value of the given type; 0 or -1. */
int cfg_parse_value(enum cfg_type type, const char *text, void *target, int64_t min, int64_t max,
                    char *why, size_t whylen);

#endif
