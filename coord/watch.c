/* watch.c — 3.8's two watch tables (data, child) with per-(session, path) modes.
 *
 * Each table keeps path -> entries {session, mode} and session -> set of paths
 * (3.8's watchTable / watch2Paths). As in 3.8 a session's entry in watch2Paths
 * stays (possibly empty) after its one-shot watches fired, until the session's
 * watches are dropped; wchs counts such sessions. */
#include "coord/watch.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hmap.h"

enum wmode { WM_STANDARD = 0, WM_PERSISTENT = 1, WM_RECURSIVE = 2 };

typedef struct went_s {
    int64_t sid;
    uint8_t mode;
} went_t;

typedef struct wpath_s {
    went_t *v;
    size_t n, cap;
} wpath_t;

typedef struct wtable_s {
    hmap_t paths;      /* path -> wpath_t* */
    hmap_t sessions;   /* sid -> hmap_t* (set of paths) */
    size_t nrecursive; /* entries in WM_RECURSIVE */
    size_t nwatches;   /* all entries */
} wtable_t;

struct watchmgr_s {
    wtable_t data, child;
};

/* A small ordered set of session ids. */
typedef struct sidset_s {
    int64_t *v;
    size_t n, cap;
} sidset_t;

/* Appends; sidset_finish sorts and drops duplicates. */
static void sidset_add(sidset_t *s, int64_t sid)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = sid;
}

static int cmp_sid(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void sidset_finish(sidset_t *s)
{
    if (s->n < 2)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_sid);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i] != s->v[k - 1])
            s->v[k++] = s->v[i];
    s->n = k;
}

/* s must be finished (sorted). */
static bool sidset_has(const sidset_t *s, int64_t sid)
{
    return s && s->n && bsearch(&sid, s->v, s->n, sizeof *s->v, cmp_sid) != NULL;
}

/* ---- tables ---- */

static void table_init(wtable_t *t)
{
    hmap_init(&t->paths);
    hmap_init(&t->sessions);
    t->nrecursive = t->nwatches = 0;
}

static void free_wpath(void *p)
{
    wpath_t *wp = p;
    free(wp->v);
    free(wp);
}

static void free_set(void *p)
{
    hmap_fini(p, NULL);
    free(p);
}

static void table_fini(wtable_t *t)
{
    hmap_fini(&t->paths, free_wpath);
    hmap_fini(&t->sessions, free_set);
}

static hmap_t *session_paths(wtable_t *t, int64_t sid, bool create)
{
    hmap_t *set = hmap_get64(&t->sessions, (uint64_t)sid);
    if (!set && create) {
        set = xcalloc(1, sizeof *set);
        hmap_init(set);
        hmap_put64(&t->sessions, (uint64_t)sid, set);
    }
    return set;
}

static void table_add(wtable_t *t, const char *path, int64_t sid, enum wmode mode)
{
    wpath_t *wp = hmap_gets(&t->paths, path);
    if (!wp) {
        wp = xcalloc(1, sizeof *wp);
        hmap_puts(&t->paths, path, wp);
    }
    went_t *e = NULL;
    for (size_t i = 0; i < wp->n && !e; i++)
        if (wp->v[i].sid == sid)
            e = &wp->v[i];
    if (e) {
        t->nrecursive -= e->mode == WM_RECURSIVE;
    } else {
        if (wp->n == wp->cap) {
            wp->cap = wp->cap ? wp->cap * 2 : 2;
            wp->v = xrealloc(wp->v, wp->cap * sizeof *wp->v);
        }
        e = &wp->v[wp->n++];
        e->sid = sid;
        t->nwatches++;
    }
    e->mode = (uint8_t)mode;   /* the latest add wins, as 3.8's WatcherModeManager */
    t->nrecursive += mode == WM_RECURSIVE;
    hmap_puts(session_paths(t, sid, true), path, (void *)1);
}

/* Drops entry i of wp (at `path`); deletes the path when it has no watches left. */
static void wpath_drop(wtable_t *t, const char *path, wpath_t *wp, size_t i)
{
    t->nrecursive -= wp->v[i].mode == WM_RECURSIVE;
    t->nwatches--;
    wp->v[i] = wp->v[--wp->n];
    if (!wp->n)
        free_wpath(hmap_dels(&t->paths, path));
}

/* 3.8's WatchManager.removeWatcher(path, watcher). */
static bool table_remove(wtable_t *t, const char *path, int64_t sid)
{
    hmap_t *set = session_paths(t, sid, false);
    if (!set || !hmap_dels(set, path))
        return false;
    wpath_t *wp = hmap_gets(&t->paths, path);
    if (!wp)
        return false;
    for (size_t i = 0; i < wp->n; i++)
        if (wp->v[i].sid == sid) {
            wpath_drop(t, path, wp, i);
            return true;
        }
    return false;
}

static void table_remove_session(wtable_t *t, int64_t sid)
{
    hmap_t *set = hmap_del64(&t->sessions, (uint64_t)sid);
    if (!set)
        return;
    hmap_iter_t it;
    const void *key;
    size_t klen;
    hmap_iter_init(set, &it);
    while (hmap_iter_next(set, &it, &key, &klen, NULL)) {
        wpath_t *wp = hmap_get(&t->paths, key, klen);
        if (!wp)
            continue;
        for (size_t i = 0; i < wp->n; i++)
            if (wp->v[i].sid == sid) {
                t->nrecursive -= wp->v[i].mode == WM_RECURSIVE;
                t->nwatches--;
                wp->v[i] = wp->v[--wp->n];
                break;
            }
        if (!wp->n)
            free_wpath(hmap_del(&t->paths, key, klen));
    }
    free_set(set);
}

/* 3.8's WatchManager.triggerWatch: collects the sessions to notify into `out`. */
static void table_trigger(wtable_t *t, int32_t type, const char *path, sidset_t *out)
{
    size_t plen = strlen(path);
    char *local = xstrdup(path);
    bool at_parent = false;
    for (;;) {
        wpath_t *wp = hmap_gets(&t->paths, local);
        for (size_t i = 0; wp && i < wp->n;) {
            went_t *e = &wp->v[i];
            if (e->mode == WM_RECURSIVE) {
                if (type != ZK_EVENT_CHILD)
                    sidset_add(out, e->sid);
            } else if (!at_parent) {
                sidset_add(out, e->sid);
                if (e->mode == WM_STANDARD) {
                    hmap_t *set = session_paths(t, e->sid, false);
                    if (set)
                        hmap_dels(set, local);
                    bool last = wp->n == 1;
                    wpath_drop(t, local, wp, i);
                    if (last)
                        break;   /* wp was freed */
                    continue;
                }
            }
            i++;
        }
        if (!t->nrecursive || strcmp(local, "/") == 0 || plen == 0)
            break;
        char *slash = strrchr(local, '/');
        if (!slash)
            break;
        if (slash == local)
            local[1] = '\0';
        else
            *slash = '\0';
        at_parent = true;
    }
    free(local);
}

/* ---- public ---- */

watchmgr_t *watch_new(void)
{
    watchmgr_t *w = xcalloc(1, sizeof *w);
    table_init(&w->data);
    table_init(&w->child);
    return w;
}

void watch_free(watchmgr_t *w)
{
    if (!w)
        return;
    table_fini(&w->data);
    table_fini(&w->child);
    free(w);
}

void watch_add(watchmgr_t *w, const char *path, enum watch_kind kind, int64_t session_id)
{
    switch (kind) {
    case WATCH_DATA:
    case WATCH_EXIST: table_add(&w->data, path, session_id, WM_STANDARD); break;
    case WATCH_CHILD: table_add(&w->child, path, session_id, WM_STANDARD); break;
    case WATCH_PERSISTENT:
        table_add(&w->data, path, session_id, WM_PERSISTENT);
        table_add(&w->child, path, session_id, WM_PERSISTENT);
        break;
    case WATCH_PERSISTENT_RECURSIVE:
        table_add(&w->data, path, session_id, WM_RECURSIVE);
        table_add(&w->child, path, session_id, WM_RECURSIVE);
        break;
    }
}

static void deliver(sidset_t *s, const sidset_t *suppress, int32_t type, const char *path, watch_deliver_fn fn,
                    void *ctx)
{
    sidset_finish(s);
    for (size_t i = 0; i < s->n; i++)
        if (!sidset_has(suppress, s->v[i]) && fn)
            fn(ctx, s->v[i], type, path);
}

void watch_trigger(watchmgr_t *w, int32_t type, const char *path, watch_deliver_fn fn, void *ctx)
{
    sidset_t a = {NULL, 0, 0}, b = {NULL, 0, 0};
    switch (type) {
    case ZK_EVENT_CREATED:
    case ZK_EVENT_CHANGED:
        table_trigger(&w->data, type, path, &a);
        deliver(&a, NULL, type, path, fn, ctx);
        break;
    case ZK_EVENT_DELETED:
        table_trigger(&w->data, type, path, &a);
        deliver(&a, NULL, type, path, fn, ctx);
        table_trigger(&w->child, type, path, &b);
        deliver(&b, &a, type, path, fn, ctx);
        break;
    case ZK_EVENT_CHILD:
        table_trigger(&w->child, type, path, &a);
        deliver(&a, NULL, type, path, fn, ctx);
        break;
    default: break;
    }
    free(a.v);
    free(b.v);
}

void watch_trigger_result(watchmgr_t *w, const dt_result_t *res, watch_deliver_fn fn, void *ctx)
{
    for (size_t i = 0; i < res->nevents; i++)
        watch_trigger(w, res->events[i].type, res->events[i].path, fn, ctx);
}

void watch_remove_session(watchmgr_t *w, int64_t session_id)
{
    table_remove_session(&w->data, session_id);
    table_remove_session(&w->child, session_id);
}

int watch_remove(watchmgr_t *w, int64_t session_id, const char *path, int32_t type, bool remove,
                 watch_deliver_fn fn, void *ctx)
{
    (void)fn;
    (void)ctx;
    if (type != ZK_WATCHER_CHILDREN && type != ZK_WATCHER_DATA && type != ZK_WATCHER_ANY)
        return ZMARSHALLINGERROR;
    if (!path)
        return ZNOWATCHER;
    bool child = type == ZK_WATCHER_CHILDREN || type == ZK_WATCHER_ANY;
    bool data = type == ZK_WATCHER_DATA || type == ZK_WATCHER_ANY;
    bool found = false;
    if (!remove) {
        /* 3.8's containsWatcher answers whether anyone watches the exact path */
        found = (child && hmap_gets(&w->child.paths, path)) || (data && hmap_gets(&w->data.paths, path));
    } else {
        if (child && table_remove(&w->child, path, session_id))
            found = true;
        if (data && table_remove(&w->data, path, session_id))
            found = true;
    }
    return found ? ZOK : ZNOWATCHER;
}

void watch_set_watches(watchmgr_t *w, const dt_t *dt, int64_t session_id, const zkp_SetWatches2 *sw,
                       watch_deliver_fn fn, void *ctx)
{
    zkp_Stat st;
    for (int32_t i = 0; i < sw->dataWatches.n; i++) {
        const char *p = sw->dataWatches.v[i];
        const dt_node_t *n = p ? dt_get(dt, p) : NULL;
        if (!p)
            continue;
        if (!n) {
            if (fn)
                fn(ctx, session_id, ZK_EVENT_DELETED, p);
            continue;
        }
        dt_node_stat(n, &st);
        if (st.mzxid > sw->relativeZxid) {
            if (fn)
                fn(ctx, session_id, ZK_EVENT_CHANGED, p);
        } else {
            table_add(&w->data, p, session_id, WM_STANDARD);
        }
    }
    for (int32_t i = 0; i < sw->existWatches.n; i++) {
        const char *p = sw->existWatches.v[i];
        if (!p)
            continue;
        if (dt_get(dt, p)) {
            if (fn)
                fn(ctx, session_id, ZK_EVENT_CREATED, p);
        } else {
            table_add(&w->data, p, session_id, WM_STANDARD);
        }
    }
    for (int32_t i = 0; i < sw->childWatches.n; i++) {
        const char *p = sw->childWatches.v[i];
        const dt_node_t *n = p ? dt_get(dt, p) : NULL;
        if (!p)
            continue;
        if (!n) {
            if (fn)
                fn(ctx, session_id, ZK_EVENT_DELETED, p);
            continue;
        }
        dt_node_stat(n, &st);
        if (st.pzxid > sw->relativeZxid) {
            if (fn)
                fn(ctx, session_id, ZK_EVENT_CHILD, p);
        } else {
            table_add(&w->child, p, session_id, WM_STANDARD);
        }
    }
    for (int32_t i = 0; i < sw->persistentWatches.n; i++)
        if (sw->persistentWatches.v[i])
            watch_add(w, sw->persistentWatches.v[i], WATCH_PERSISTENT, session_id);
    for (int32_t i = 0; i < sw->persistentRecursiveWatches.n; i++)
        if (sw->persistentRecursiveWatches.v[i])
            watch_add(w, sw->persistentRecursiveWatches.v[i], WATCH_PERSISTENT_RECURSIVE, session_id);
}

/* ---- stats ---- */

size_t watch_count(const watchmgr_t *w)
{
    return w->data.nwatches + w->child.nwatches;
}

size_t watch_path_count(const watchmgr_t *w)
{
    return hmap_count(&w->data.paths);
}

size_t watch_session_count(const watchmgr_t *w)
{
    return hmap_count(&w->data.sessions);
}

void watch_dump_summary(const watchmgr_t *w, buf_t *out)
{
    size_t total = 0;
    hmap_iter_t it;
    void *val;
    hmap_iter_init(&w->data.sessions, &it);
    while (hmap_iter_next(&w->data.sessions, &it, NULL, NULL, &val))
        total += hmap_count(val);
    buf_printf(out, "%zu connections watching %zu paths\nTotal watches:%zu\n", hmap_count(&w->data.sessions),
               hmap_count(&w->data.paths), total);
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted copies of the keys of a string-keyed map; caller frees with jute_strvec_free. */
static void sorted_keys(const hmap_t *m, jute_strvec_t *out)
{
    hmap_iter_t it;
    const void *key;
    size_t klen;
    hmap_iter_init(m, &it);
    while (hmap_iter_next(m, &it, &key, &klen, NULL)) {
        char *s = xstrndup(key, klen);
        jute_strvec_push(out, s);
        free(s);
    }
    if (out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_cstr);
}

void watch_dump_by_session(const watchmgr_t *w, buf_t *out)
{
    const wtable_t *t = &w->data;
    size_t n = hmap_count(&t->sessions), k = 0;
    int64_t *sids = xmalloc((n ? n : 1) * sizeof *sids);
    hmap_iter_t it;
    const void *key;
    hmap_iter_init(&t->sessions, &it);
    while (hmap_iter_next(&t->sessions, &it, &key, NULL, NULL))
        memcpy(&sids[k++], key, sizeof(int64_t));
    qsort(sids, n, sizeof *sids, cmp_sid);
    for (size_t i = 0; i < n; i++) {
        buf_printf(out, "0x%" PRIx64 "\n", (uint64_t)sids[i]);
        jute_strvec_t paths = {0, NULL};
        sorted_keys(hmap_get64(&t->sessions, (uint64_t)sids[i]), &paths);
        for (int32_t j = 0; j < paths.n; j++)
            buf_printf(out, "\t%s\n", paths.v[j]);
        jute_strvec_free(&paths);
    }
    free(sids);
    buf_puts(out, "\n");
}

void watch_dump_by_path(const watchmgr_t *w, buf_t *out)
{
    const wtable_t *t = &w->data;
    jute_strvec_t paths = {0, NULL};
    sorted_keys(&t->paths, &paths);
    for (int32_t i = 0; i < paths.n; i++) {
        buf_printf(out, "%s\n", paths.v[i]);
        const wpath_t *wp = hmap_gets(&t->paths, paths.v[i]);
        int64_t *sids = xmalloc((wp->n ? wp->n : 1) * sizeof *sids);
        for (size_t j = 0; j < wp->n; j++)
            sids[j] = wp->v[j].sid;
        qsort(sids, wp->n, sizeof *sids, cmp_sid);
        for (size_t j = 0; j < wp->n; j++)
            buf_printf(out, "\t0x%" PRIx64 "\n", (uint64_t)sids[j]);
        free(sids);
    }
    jute_strvec_free(&paths);
    buf_puts(out, "\n");
}
