/* zkc_watch.c — the client's watch table: which watchers wait on which path,
 * and which of them a notification or a removeWatches reply concerns. Pure data
 * structure, modelled on the Java client's ZKWatchManager. Keys are stored with
 * their NUL so iteration yields C strings. */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "coord/zkc_int.h"

void zkc_wset_add(zkc_wset_t *s, zkc_watcher_fn fn, void *ctx)
{
    for (int i = 0; i < s->n; i++)
        if (s->v[i].fn == fn && s->v[i].ctx == ctx)
            return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->v = xrealloc(s->v, (size_t)s->cap * sizeof *s->v);
    }
    s->v[s->n].fn = fn;
    s->v[s->n].ctx = ctx;
    s->n++;
}

static void wset_merge(zkc_wset_t *dst, const zkc_wset_t *src)
{
    if (!src)
        return;
    for (int i = 0; i < src->n; i++)
        zkc_wset_add(dst, src->v[i].fn, src->v[i].ctx);
}

/* Removes (fn, ctx); true if it was there. */
static bool wset_del(zkc_wset_t *s, zkc_watcher_fn fn, void *ctx)
{
    for (int i = 0; i < s->n; i++) {
        if (s->v[i].fn == fn && s->v[i].ctx == ctx) {
            memmove(&s->v[i], &s->v[i + 1], (size_t)(s->n - i - 1) * sizeof *s->v);
            s->n--;
            return true;
        }
    }
    return false;
}

static bool wset_has(const zkc_wset_t *s, zkc_watcher_fn fn, void *ctx)
{
    for (int i = 0; s && i < s->n; i++)
        if (s->v[i].fn == fn && s->v[i].ctx == ctx)
            return true;
    return false;
}

void zkc_wset_free(zkc_wset_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static void wset_destroy(void *p)
{
    zkc_wset_t *s = p;
    zkc_wset_free(s);
    free(s);
}

void zkc_watches_init(zkc_watches_t *w)
{
    for (int k = 0; k < ZKC_W_NKINDS; k++)
        hmap_init(&w->m[k]);
}

void zkc_watches_fini(zkc_watches_t *w)
{
    for (int k = 0; k < ZKC_W_NKINDS; k++)
        hmap_fini(&w->m[k], wset_destroy);
}

static zkc_wset_t *wget(const zkc_watches_t *w, int kind, const char *path)
{
    return hmap_get(&w->m[kind], path, strlen(path) + 1);
}

/* Detaches the set of path (caller owns it, may be NULL). */
static zkc_wset_t *wtake(zkc_watches_t *w, int kind, const char *path)
{
    return hmap_del(&w->m[kind], path, strlen(path) + 1);
}

void zkc_watches_add(zkc_watches_t *w, int kind, const char *path, zkc_watcher_fn fn, void *ctx)
{
    zkc_wset_t *s = wget(w, kind, path);
    if (!s) {
        s = xcalloc(1, sizeof *s);
        hmap_put(&w->m[kind], path, strlen(path) + 1, s);
    }
    zkc_wset_add(s, fn, ctx);
}

bool zkc_watches_empty(const zkc_watches_t *w)
{
    for (int k = 0; k < ZKC_W_NKINDS; k++)
        if (hmap_count(&w->m[k]))
            return false;
    return true;
}

size_t zkc_watches_count(const zkc_watches_t *w, int kind)
{
    return hmap_count(&w->m[kind]);
}

static void take_into(zkc_watches_t *w, int kind, const char *path, zkc_wset_t *out)
{
    zkc_wset_t *s = wtake(w, kind, path);
    if (s) {
        wset_merge(out, s);
        wset_destroy(s);
    }
}

static void add_persistent(zkc_watches_t *w, const char *path, zkc_wset_t *out)
{
    wset_merge(out, wget(w, ZKC_W_PERSISTENT, path));
    /* the path itself and every parent up to "/" */
    size_t n = strlen(path);
    char *p = xstrdup(path);
    for (;;) {
        wset_merge(out, wget(w, ZKC_W_RECURSIVE, p));
        if (n <= 1)
            break;
        char *slash = strrchr(p, '/');
        if (!slash)
            break;
        if (slash == p) {
            p[1] = '\0';
            n = 1;
        } else {
            *slash = '\0';
            n = (size_t)(slash - p);
        }
    }
    free(p);
}

void zkc_watches_materialize(zkc_watches_t *w, int type, const char *path, zkc_wset_t *out)
{
    switch (type) {
    case ZK_EVENT_CREATED:
    case ZK_EVENT_CHANGED:
        take_into(w, ZKC_W_DATA, path, out);
        take_into(w, ZKC_W_EXIST, path, out);
        break;
    case ZK_EVENT_CHILD:
        take_into(w, ZKC_W_CHILD, path, out);
        break;
    case ZK_EVENT_DELETED:
        take_into(w, ZKC_W_DATA, path, out);
        take_into(w, ZKC_W_EXIST, path, out);
        take_into(w, ZKC_W_CHILD, path, out);
        break;
    default:
        return;   /* unknown types trigger nothing */
    }
    add_persistent(w, path, out);
}

void zkc_watches_all(const zkc_watches_t *w, zkc_wset_t *out)
{
    for (int k = 0; k < ZKC_W_NKINDS; k++) {
        hmap_iter_t it;
        const void *key;
        size_t klen;
        void *val;
        hmap_iter_init(&w->m[k], &it);
        while (hmap_iter_next(&w->m[k], &it, &key, &klen, &val))
            wset_merge(out, val);
    }
}

/* One map's part of removeWatcher. Returns -1 when the server's failure must be
 * reported, else whether something was removed. */
static int remove_from(zkc_watches_t *w, int kind, const char *path, bool one, zkc_watcher_fn fn, void *ctx,
                       bool local, int rc, zkc_wset_t *removed)
{
    if (!local && rc != ZOK)
        return -1;
    zkc_wset_t *s = wget(w, kind, path);
    if (!s)
        return 0;
    if (!one) {
        s = wtake(w, kind, path);
        wset_merge(removed, s);
        wset_destroy(s);
        return 1;
    }
    if (!wset_del(s, fn, ctx))
        return 0;
    zkc_wset_add(removed, fn, ctx);
    if (s->n == 0)
        wset_destroy(wtake(w, kind, path));
    return 1;
}

static bool contains(const zkc_watches_t *w, int kind, const char *path, bool one, zkc_watcher_fn fn, void *ctx)
{
    zkc_wset_t *s = wget(w, kind, path);
    if (!s)
        return false;
    return one ? wset_has(s, fn, ctx) : true;
}

int zkc_watches_remove(zkc_watches_t *w, const char *path, int wtype, bool one, zkc_watcher_fn fn,
                       void *ctx, bool local, int rc, zkc_wset_t out[3])
{
    /* containsWatcher: children also looks at the persistent maps, data at
     * data/exist/persistent, any at all five (as the Java client does). */
    static const int look_child[] = {ZKC_W_CHILD, ZKC_W_PERSISTENT, ZKC_W_RECURSIVE, -1};
    static const int look_data[] = {ZKC_W_DATA, ZKC_W_EXIST, ZKC_W_PERSISTENT, ZKC_W_RECURSIVE, -1};
    static const int look_any[] = {ZKC_W_CHILD, ZKC_W_DATA, ZKC_W_EXIST, ZKC_W_PERSISTENT, ZKC_W_RECURSIVE, -1};
    const int *look = wtype == ZK_WATCHER_CHILDREN ? look_child : wtype == ZK_WATCHER_DATA ? look_data : look_any;
    bool found = false;
    for (int i = 0; look[i] >= 0; i++)
        found |= contains(w, look[i], path, one, fn, ctx);
    if (!found)
        return ZNOWATCHER;

    /* removal: children -> child map; data -> data + exist; any -> all five */
    struct { int kind; int out; } plan[5];
    int np = 0;
    if (wtype == ZK_WATCHER_CHILDREN) {
        plan[np].kind = ZKC_W_CHILD, plan[np++].out = 0;
    } else if (wtype == ZK_WATCHER_DATA) {
        plan[np].kind = ZKC_W_DATA, plan[np++].out = 1;
        plan[np].kind = ZKC_W_EXIST, plan[np++].out = 1;
    } else {
        plan[np].kind = ZKC_W_CHILD, plan[np++].out = 0;
        plan[np].kind = ZKC_W_DATA, plan[np++].out = 1;
        plan[np].kind = ZKC_W_EXIST, plan[np++].out = 1;
        plan[np].kind = ZKC_W_PERSISTENT, plan[np++].out = 2;
        plan[np].kind = ZKC_W_RECURSIVE, plan[np++].out = 2;
    }
    bool removed = false;
    for (int i = 0; i < np; i++) {
        int r = remove_from(w, plan[i].kind, path, one, fn, ctx, local, rc, &out[plan[i].out]);
        if (r < 0)
            return rc;
        removed |= r > 0;
    }
    return removed ? ZOK : ZNOWATCHER;
}

void zkc_watches_paths(const zkc_watches_t *w, int kind, const char *chroot, jute_strvec_t *out)
{
    hmap_iter_t it;
    const void *key;
    size_t klen;
    void *val;
    if (out->n < 0)
        out->n = 0;
    hmap_iter_init(&w->m[kind], &it);
    while (hmap_iter_next(&w->m[kind], &it, &key, &klen, &val)) {
        char *p = zkc_path_prepend(chroot, key);
        jute_strvec_push(out, p);
        free(p);
    }
}
