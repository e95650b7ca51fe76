/* zkc_int.h — internals of the ZooKeeper client shared by zkc*.c and its unit
 * tests: the watch table and the path / connect-string helpers. All of it is
 * pure (no I/O, no clock). Not for use outside coord/ and tests/. */
#ifndef GREGOR_COORD_ZKC_INT_H
#define GREGOR_COORD_ZKC_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/hmap.h"
#include "coord/zkc.h"

/* ---- watch table (zkc_watch.c) ----
 * Five maps from client path to a set of watchers, as the Java client's
 * ZKWatchManager keeps them. A watcher is a (fn, ctx) pair; sets never hold the
 * same pair twice. */
enum zkc_wkind { ZKC_W_DATA, ZKC_W_EXIST, ZKC_W_CHILD, ZKC_W_PERSISTENT, ZKC_W_RECURSIVE, ZKC_W_NKINDS };

typedef struct zkc_wentry_s {
    zkc_watcher_fn fn;
    void *ctx;
} zkc_wentry_t;

typedef struct zkc_wset_s {
    int n, cap;
    zkc_wentry_t *v;
} zkc_wset_t;

typedef struct zkc_watches_s {
    hmap_t m[ZKC_W_NKINDS];   /* path -> zkc_wset_t* (owned) */
} zkc_watches_t;

void zkc_wset_add(zkc_wset_t *s, zkc_watcher_fn fn, void *ctx);   /* no-op if present */
void zkc_wset_free(zkc_wset_t *s);

void zkc_watches_init(zkc_watches_t *w);
void zkc_watches_fini(zkc_watches_t *w);
void zkc_watches_add(zkc_watches_t *w, int kind, const char *path, zkc_watcher_fn fn, void *ctx);
bool zkc_watches_empty(const zkc_watches_t *w);
size_t zkc_watches_count(const zkc_watches_t *w, int kind);   /* number of paths */
/* The watchers a server notification triggers (one-shot ones are removed),
 * added to out: Created/DataChanged take data+exist watches, ChildrenChanged
 * child watches, Deleted data+exist+child watches; all of them also take the
 * persistent watches on the path and the recursive ones on it and its parents. */
void zkc_watches_materialize(zkc_watches_t *w, int type, const char *path, zkc_wset_t *out);
/* Every registered watcher (session events). */
void zkc_watches_all(const zkc_watches_t *w, zkc_wset_t *out);
/* Java's ZKWatchManager.removeWatcher: removes watchers of wtype on path (all of
 * them if !one, else the (fn, ctx) one) given the server's rc. Removed watchers
 * are added to out[0] (children), out[1] (data), out[2] (persistent). Returns the
 * resulting rc: rc itself if the server failed and !local; ZNOWATCHER if nothing
 * matched; else ZOK. */
int zkc_watches_remove(zkc_watches_t *w, const char *path, int wtype, bool one, zkc_watcher_fn fn,
                       void *ctx, bool local, int rc, zkc_wset_t out[3]);
/* Appends the paths of one kind, each prefixed with chroot (may be NULL). */
void zkc_watches_paths(const zkc_watches_t *w, int kind, const char *chroot, jute_strvec_t *out);

/* True while one of the handle's callbacks runs (the sync layer refuses to
 * run the loop then). */
bool zkc_in_callback(const zkc_t *zk);

/* ---- paths and connect strings (zkc_path.c) ---- */

/* Java's prependChroot: "/" -> chroot, "/x" -> chroot + "/x". Caller frees. */
char *zkc_path_prepend(const char *chroot, const char *path);
/* Java's chroot stripping of server paths: chroot itself -> "/", chroot + "/x"
 * -> "/x"; anything else unchanged. Returns a pointer into path or a static "/". */
const char *zkc_path_strip(const char *chroot, const char *path);

typedef struct zkc_hostport_s {
    char *host;      /* without brackets for IPv6 */
    int port;
} zkc_hostport_t;

/* Parses "h1:p1,h2[:p2][/chroot]". Fills hosts (caller frees each host and the
 * array) and chroot (NULL if none or "/"). Returns 0 or ZBADARGUMENTS with a
 * reason in why. */
int zkc_connstr_parse(const char *s, zkc_hostport_t **hosts, int *nhosts, char **chroot, char *why,
                      size_t whylen);
void zkc_hostports_free(zkc_hostport_t *hosts, int n);

#endif
