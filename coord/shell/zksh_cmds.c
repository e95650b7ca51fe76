/* zksh_cmds.c — zkCli's commands: the table (names, option strings as printed
 * by usage, option letters) and one function per command reproducing what
 * ZooKeeper 3.8's cli/XxxCommand.java classes prints, on which stream, and with which
 * exit status. The dispatcher zksh_process follows ZooKeeperMain.processZKCmd,
 * quirks included ("history" on a closed session also prints "Not connected";
 * "redo" always leaves exit status 0). */
#include <ctype.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "coord/shell/zksh_int.h"

#define ZKSH_CLI_VERSION "3.8.0-gregor"

typedef struct cmd_s cmd_t;
typedef int (*cmd_fn)(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl);

struct cmd_s {
    const char *name;
    const char *opts;   /* option string as usage prints it */
    const char *spec;   /* option letters for the parser; NULL = not parsed */
    cmd_fn fn;          /* NULL: handled by zksh_process itself */
};

static int c_addwatch(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_addauth(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_close(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_config(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_create(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_delete(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_deleteall(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_unsupported(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_get(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_getacl(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_getallchildren(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_getephemerals(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_ls(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_removewatches(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_set(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_setacl(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_stat(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_sync(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_version(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);
static int c_whoami(zksh_t *, const cmd_t *, int, char **, zksh_cl_t *);

/* Sorted as zkCli's usage sorts them (String order: upper case first). */
static const cmd_t commands[] = {
    {"addWatch",
     "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
     "m:", c_addwatch},
    {"addauth", "scheme auth", "", c_addauth},
    {"close", "", NULL, c_close},
    {"config", "[-c] [-w] [-s]", "swc", c_config},
    {"connect", "host:port", NULL, NULL},
    {"create", "[-s] [-e] [-c] [-t ttl] path [data] [acl]", "esct:", c_create},
    {"delete", "[-v version] path", "v:", c_delete},
    {"deleteall", "path [-b batch size]", "b:", c_deleteall},
    {"delquota", "[-n|-b|-N|-B] path", "nbNB", c_unsupported},
    {"get", "[-s] [-w] path", "sw", c_get},
    {"getAcl", "[-s] path", "s", c_getacl},
    {"getAllChildrenNumber", "path", "", c_getallchildren},
    {"getEphemerals", "path", "", c_getephemerals},
    {"history", "", NULL, NULL},
    {"listquota", "path", "", c_unsupported},
    {"ls", "[-s] [-w] [-R] path", "?swR", c_ls},
    {"printwatches", "on|off", NULL, NULL},
    {"quit", "", NULL, NULL},
    {"reconfig",
     "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | "
     "[-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]",
     NULL, c_unsupported},
    {"redo", "cmdno", NULL, NULL},
    {"removewatches", "path [-c|-d|-a] [-l]", "cdal", c_removewatches},
    {"set", "[-s] [-v version] path data", "sv:", c_set},
    {"setAcl", "[-s] [-v version] [-R] path acl", "sv:R", c_setacl},
    {"setquota", "-n|-b|-N|-B val path", "n:b:N:B:", c_unsupported},
    {"stat", "[-w] path", "w", c_stat},
    {"sync", "path", "", c_sync},
    {"version", "", "", c_version},
    {"whoami", "", NULL, c_whoami},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const cmd_t *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

bool zksh_is_command(const char *name)
{
    return find_cmd(name) != NULL;
}

const char *const *zksh_command_names(void)
{
    static const char *names[NCOMMANDS + 1];
    if (!names[0])
        for (size_t i = 0; i < NCOMMANDS; i++)
            names[i] = commands[i].name;
    return names;
}

void zksh_usage(zksh_t *sh)
{
    fprintf(sh->err, "ZooKeeper -server host:port -client-configuration properties-file cmd args\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(sh->err, "\t%s %s\n", commands[i].name, commands[i].opts);
}

/* ---- helpers ---- */

static int usage_error(zksh_t *sh, const cmd_t *c)
{
    fprintf(sh->err, "%s %s\n", c->name, c->opts);
    return 1;
}

/* An exception zkCli does not catch: it prints this and the JVM exits. */
static int fatal(zksh_t *sh, const char *exc, const char *msg)
{
    fprintf(sh->err, "Exception in thread \"main\" %s: %s\n", exc, msg);
    return ZKSH_FATAL;
}

static int number_error(zksh_t *sh, const char *s)
{
    char msg[512];
    snprintf(msg, sizeof msg, "For input string: \"%s\"", s ? s : "null");
    return fatal(sh, "java.lang.NumberFormatException", msg);
}

/* Path check with zkCli's MalformedPathException message; 0 if fine. */
static int bad_path(zksh_t *sh, const char *path)
{
    char why[512];
    if (zkc_validate_path(path, why, sizeof why) == ZOK)
        return 0;
    fprintf(sh->err, "%s\n", why);
    return 1;
}

/* CliWrapperException for a KeeperException on path. */
static int keeper_error(zksh_t *sh, int rc, const char *path)
{
    char msg[600];
    zksh_cli_message(rc, path, msg, sizeof msg);
    fprintf(sh->err, "%s\n", msg);
    return 1;
}

/* The -v option as Integer.parseInt reads it; -1 when absent. */
static int get_version(zksh_t *sh, zksh_cl_t *cl, int32_t *version)
{
    *version = -1;
    if (!cl->has['v'])
        return 0;
    if (zksh_parse_int(cl->val['v'], version))
        return number_error(sh, cl->val['v']);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Java's List.toString: "[a, b]". */
static void print_list(zksh_t *sh, char **v, int n)
{
    fputc('[', sh->out);
    for (int i = 0; i < n; i++) {
        if (i)
            fputs(", ", sh->out);
        zksh_put_utf8(sh->out, v[i], strlen(v[i]));
    }
    fputs("]\n", sh->out);
}

/* Re-parses after retainCompatibility rewrote the words. */
static int reparse(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    char err[512];
    zksh_cl_free(cl);
    if (zksh_cl_parse(c->spec, argc, argv, cl, err, sizeof err)) {
        fprintf(sh->err, "%s\n", err);
        return 1;
    }
    return 0;
}

/* "get path watch" style: the third word becomes -w. */
static int compat_watch(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl, const char *msg)
{
    if (cl->nargs <= 2)
        return 0;
    fprintf(sh->err, "%s\n", msg);
    char **copy = xcalloc((size_t)argc + 1, sizeof *copy);
    for (int i = 0; i < argc; i++)
        copy[i] = argv[i];
    copy[2] = "-w";
    int rc = reparse(sh, c, argc, copy, cl);
    free(copy);
    return rc;
}

/* ZKUtil.visitSubTreeDFS: the path itself (after a getData that must
 * succeed), then each node's sorted children, then recursively into each.
 * visit returns non-zero to stop. */
typedef int (*visit_fn)(zksh_t *sh, const char *path, void *ctx);

static int dfs_helper(zksh_t *sh, const char *path, bool watch, visit_fn visit, void *ctx)
{
    zkc_reply_t r;
    int rc = zkc_sync_get_children2(sh->zk, path, watch ? ZKC_WATCH : NULL, &r);
    if (rc == ZNONODE) {
        zkc_reply_free(&r);
        return 0;
    }
    if (rc != ZOK) {
        zkc_reply_free(&r);
        return keeper_error(sh, rc, path);
    }
    int n = r.strings.n > 0 ? r.strings.n : 0;
    if (n > 1)
        qsort(r.strings.v, (size_t)n, sizeof *r.strings.v, cmp_str);
    bool root = strlen(path) == 1;
    char **kids = xcalloc((size_t)n + 1, sizeof *kids);
    for (int i = 0; i < n; i++)
        kids[i] = xasprintf("%s%s%s", path, root ? "" : "/", r.strings.v[i]);
    zkc_reply_free(&r);
    int out = 0;
    for (int i = 0; i < n && !out; i++)
        out = visit(sh, kids[i], ctx);
    for (int i = 0; i < n && !out; i++)
        out = dfs_helper(sh, kids[i], watch, visit, ctx);
    for (int i = 0; i < n; i++)
        free(kids[i]);
    free(kids);
    return out;
}

static int visit_dfs(zksh_t *sh, const char *path, bool watch, visit_fn visit, void *ctx)
{
    if (bad_path(sh, path))
        return 1;
    zkc_reply_t r;
    int rc = zkc_sync_get_data(sh->zk, path, watch ? ZKC_WATCH : NULL, &r);
    zkc_reply_free(&r);
    if (rc != ZOK)
        return keeper_error(sh, rc, path);
    int out = visit(sh, path, ctx);
    if (out)
        return out;
    return dfs_helper(sh, path, watch, visit, ctx);
}

/* ---- commands ---- */

static int print_path_visit(zksh_t *sh, const char *path, void *ctx)
{
    (void)ctx;
    fprintf(sh->out, "%s\n", path);
    return 0;
}

static int c_ls(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    if (cl->has['?'])
        fprintf(sh->out, "usage: ls [options] path\n -?   help\n -R   recurse\n -s   stat\n -w   watch\n");
    if (compat_watch(sh, c, argc, argv, cl, "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead."))
        return 1;
    if (cl->nargs < 2)
        return usage_error(sh, c);
    const char *path = cl->args[1];
    bool watch = cl->has['w'];
    if (cl->has['R'])
        return visit_dfs(sh, path, watch, print_path_visit, NULL);
    if (bad_path(sh, path))
        return 1;
    zkc_reply_t r;
    int rc = zkc_sync_get_children2(sh->zk, path, watch ? ZKC_WATCH : NULL, &r);
    if (rc != ZOK) {
        zkc_reply_free(&r);
        return keeper_error(sh, rc, path);
    }
    int n = r.strings.n > 0 ? r.strings.n : 0;
    if (n > 1)
        qsort(r.strings.v, (size_t)n, sizeof *r.strings.v, cmp_str);
    print_list(sh, r.strings.v, n);
    if (cl->has['s'])
        zksh_print_stat(sh->out, &r.stat);
    zkc_reply_free(&r);
    return 0;
}

/* The argument prologue of get and stat: a path, the deprecated trailing [watch] form,
 * and path validation. Returns -1 with *path set, or the exit status to return. */
static int path_arg_with_watch(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl,
                               const char *deprecation, const char **path)
{
    if (cl->nargs < 2)
        return usage_error(sh, c);
    if (compat_watch(sh, c, argc, argv, cl, deprecation))
        return 1;
    if (cl->nargs < 2)
        return usage_error(sh, c);
    *path = cl->args[1];
    if (bad_path(sh, *path))
        return 1;
    return -1;
}

static int c_get(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    const char *path;
    int status = path_arg_with_watch(sh, c, argc, argv, cl, "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.", &path);
    if (status >= 0)
        return status;
    zkc_reply_t r;
    int rc = zkc_sync_get_data(sh->zk, path, cl->has['w'] ? ZKC_WATCH : NULL, &r);
    if (rc != ZOK) {
        zkc_reply_free(&r);
        return keeper_error(sh, rc, path);
    }
    if (r.data.len < 0)
        fputs("null", sh->out);
    else
        zksh_put_utf8(sh->out, r.data.data, (size_t)r.data.len);
    fputc('\n', sh->out);
    if (cl->has['s'])
        zksh_print_stat(sh->out, &r.stat);
    zkc_reply_free(&r);
    return 0;
}

static int c_set(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs < 3)
        return usage_error(sh, c);
    const char *path = cl->args[1], *data = cl->args[2];
    int32_t version;
    int rc = get_version(sh, cl, &version);
    if (rc)
        return rc;
    if (bad_path(sh, path))
        return 1;
    zkc_reply_t r;
    rc = zkc_sync_set_data(sh->zk, path, data, (int32_t)strlen(data), version, &r);
    if (rc != ZOK) {
        zkc_reply_free(&r);
        return keeper_error(sh, rc, path);
    }
    if (cl->has['s'])
        zksh_print_stat(sh->out, &r.stat);
    zkc_reply_free(&r);
    return 0;
}

static int c_create(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs < 2)
        return usage_error(sh, c);
    bool e = cl->has['e'], s = cl->has['s'], con = cl->has['c'], t = cl->has['t'];
    if (con && (e || s)) {
        fprintf(sh->err, "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.\n");
        return 1;
    }
    int64_t ttl = 0;
    if (t && zksh_parse_long(cl->val['t'], &ttl)) {
        fprintf(sh->err, "-t argument must be a long value\n");
        return 1;
    }
    if (t && e) {
        fprintf(sh->err, "TTLs cannot be used with Ephemeral znodes\n");
        return 1;
    }
    if (t && con) {
        fprintf(sh->err, "TTLs cannot be used with Container znodes\n");
        return 1;
    }
    int mode;
    if (e && s)
        mode = ZK_EPHEMERAL_SEQUENTIAL;
    else if (e)
        mode = ZK_EPHEMERAL;
    else if (s)
        mode = t ? ZK_PERSISTENT_SEQUENTIAL_WITH_TTL : ZK_PERSISTENT_SEQUENTIAL;
    else if (con)
        mode = ZK_CONTAINER;
    else
        mode = t ? ZK_PERSISTENT_WITH_TTL : ZK_PERSISTENT;
    if (t && (ttl <= 0 || ttl > ZK_TTL_MAX)) {
        fprintf(sh->err, "ttl must be positive and cannot be larger than: %lld\n", (long long)ZK_TTL_MAX);
        return 1;
    }
    const char *path = cl->args[1];
    const char *data = cl->nargs > 2 ? cl->args[2] : NULL;
    zkp_ACL *acl = NULL;
    int nacl = 0;
    bool own_acl = false;
    if (cl->nargs > 3) {
        nacl = zksh_acl_parse(cl->args[3], sh->err, &acl);
        own_acl = true;
    }
    /* ZooKeeper.create checks the path (sequential: path + "1"), then the ACL */
    char why[512];
    bool seq = mode == ZK_PERSISTENT_SEQUENTIAL || mode == ZK_EPHEMERAL_SEQUENTIAL ||
               mode == ZK_PERSISTENT_SEQUENTIAL_WITH_TTL;
    char *check = seq ? xasprintf("%s1", path) : xstrdup(path);
    int v = zkc_validate_path(check, why, sizeof why);
    free(check);
    if (v != ZOK) {
        if (seq) {
            /* Java reports the path it checked, i.e. with the "1" */
            fprintf(sh->err, "%s\n", why);
        } else {
            fprintf(sh->err, "%s\n", why);
        }
        if (own_acl)
            zksh_acl_free(acl, nacl);
        return 1;
    }
    char msg[600];
    if (own_acl && nacl == 0) {
        zksh_keeper_message(ZINVALIDACL, NULL, msg, sizeof msg);
        fprintf(sh->err, "%s\n", msg);
        zksh_cli_message(ZINVALIDACL, NULL, msg, sizeof msg);
        fprintf(sh->err, "%s\n", msg);
        zksh_acl_free(acl, nacl);
        return 1;
    }
    zkc_create_t req = {path, data, data ? (int32_t)strlen(data) : -1, own_acl ? acl : NULL, nacl, mode, ttl, t};
    zkc_reply_t r;
    int rc = zkc_sync_create(sh->zk, &req, &r);
    if (own_acl)
        zksh_acl_free(acl, nacl);
    if (rc != ZOK) {
        if (rc == ZINVALIDACL) {
            zksh_keeper_message(rc, path, msg, sizeof msg);
            fprintf(sh->err, "%s\n", msg);
        } else if (rc == ZEPHEMERALONLOCALSESSION) {
            fprintf(sh->err, "Unable to create ephemeral node on a local session\n");
        }
        zkc_reply_free(&r);
        return keeper_error(sh, rc, path);
    }
    fprintf(sh->err, "Created %s\n", r.path ? r.path : path);
    zkc_reply_free(&r);
    return 0;
}

static int c_delete(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    if (cl->nargs < 2)
        return usage_error(sh, c);
    if (cl->nargs > 2) {
        fprintf(sh->err, "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' "
                         "instead.\n");
        if (reparse(sh, c, argc, argv, cl))
            return 1;
    }
    const char *path = cl->args[1];
    int32_t version;
    int rc = get_version(sh, cl, &version);
    if (rc)
        return rc;
    if (bad_path(sh, path))
        return 1;
    rc = zkc_sync_delete(sh->zk, path, version);
    if (rc != ZOK)
        return keeper_error(sh, rc, path);
    return 0;
}

/* deleteall: the subtree breadth-first (getChildren), then multi deletes from
 * the deepest end in batches, up to 10 batches in flight (ZKUtil). */
typedef struct delall_s {
    int inflight;
    bool success;
} delall_t;

static void delall_cb(zkc_t *zk, const zkc_result_t *res, void *ctx)
{
    (void)zk;
    delall_t *d = ctx;
    d->inflight--;
    if (res->rc != ZOK)
        d->success = false;
}

static int c_deleteall(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs < 2)
        return usage_error(sh, c);
    int32_t batch = 1000;
    if (cl->has['b'] && zksh_parse_int(cl->val['b'], &batch)) {
        fprintf(sh->err, "-b argument must be an int value\n");
        return 1;
    }
    const char *root = cl->args[1];
    if (bad_path(sh, root))
        return 1;
    zksh_argv_t tree = {0, NULL};
    zksh_argv_push(&tree, root);
    for (int qi = 0; qi < tree.argc; qi++) {
        char *node = xstrdup(tree.argv[qi]);
        zkc_reply_t r;
        int rc = zkc_sync_get_children(sh->zk, node, NULL, &r);
        if (rc != ZOK) {
            zkc_reply_free(&r);
            zksh_argv_free(&tree);
            int out = keeper_error(sh, rc, node);
            free(node);
            return out;
        }
        for (int i = 0; i < r.strings.n; i++) {
            char *child = xasprintf("%s/%s", strcmp(node, "/") ? node : "", r.strings.v[i]);
            zksh_argv_push(&tree, child);
            free(child);
        }
        zkc_reply_free(&r);
        free(node);
    }
    delall_t d = {0, true};
    zkc_op_t *ops = xcalloc((size_t)tree.argc, sizeof *ops);
    int nops = 0;
    struct event_base *base = zkc_base(sh->zk);
    for (int i = tree.argc - 1; i >= 0; i--) {
        ops[nops++] = zkc_op_delete(tree.argv[i], -1);
        if (nops == batch || i == 0) {
            if (!d.success)
                break;
            while (d.inflight >= 10)
                event_base_loop(base, EVLOOP_ONCE);
            if (zkc_multi(sh->zk, ops, nops, delall_cb, &d) == ZOK)
                d.inflight++;
            else
                d.success = false;
            nops = 0;
        }
    }
    while (d.inflight > 0)
        event_base_loop(base, EVLOOP_ONCE);
    free(ops);
    zksh_argv_free(&tree);
    if (!d.success)
        fprintf(sh->err, "Failed to delete some node(s) in the subtree!\n");
    return 0;
}

static int c_stat(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    const char *path;
    int status = path_arg_with_watch(sh, c, argc, argv, cl, "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.", &path);
    if (status >= 0)
        return status;
    zkc_reply_t r;
    int rc = zkc_sync_exists(sh->zk, path, cl->has['w'] ? ZKC_WATCH : NULL, &r);
    if (rc != ZOK) {
        zkc_reply_free(&r);
        return keeper_error(sh, rc, path);
    }
    zksh_print_stat(sh->out, &r.stat);
    zkc_reply_free(&r);
    return 0;
}

static int c_getacl(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs < 2)
        return usage_error(sh, c);
    const char *path = cl->args[1];
    if (bad_path(sh, path))
        return 1;
    zkc_reply_t r;
    int rc = zkc_sync_get_acl(sh->zk, path, &r);
    if (rc != ZOK) {
        zkc_reply_free(&r);
        return keeper_error(sh, rc, path);
    }
    zkp_ACL *acl = r.acl.v;
    for (int i = 0; i < r.acl.n; i++) {
        char perms[8];
        zksh_perm_string(acl[i].perms, perms);
        zksh_print_id(sh->out, &acl[i].id);
        fprintf(sh->out, ": %s\n", perms);
    }
    if (cl->has['s'])
        zksh_print_stat(sh->out, &r.stat);
    zkc_reply_free(&r);
    return 0;
}

typedef struct setacl_ctx_s {
    zkp_ACL *acl;
    int nacl;
    int32_t version;
} setacl_ctx_t;

static int setacl_visit(zksh_t *sh, const char *path, void *ctx)
{
    setacl_ctx_t *s = ctx;
    int rc = zkc_sync_set_acl(sh->zk, path, s->acl, s->nacl, s->version, NULL);
    if (rc != ZOK) {
        /* zkCli prints the KeeperException message without a newline */
        char msg[600];
        zksh_keeper_message(rc, path, msg, sizeof msg);
        fputs(msg, sh->out);
    }
    return 0;
}

static int c_setacl(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs < 3)
        return usage_error(sh, c);
    const char *path = cl->args[1];
    zkp_ACL *acl = NULL;
    int nacl = zksh_acl_parse(cl->args[2], sh->err, &acl);
    int32_t version;
    int rc = get_version(sh, cl, &version);
    if (rc) {
        zksh_acl_free(acl, nacl);
        return rc;
    }
    if (cl->has['R']) {
        setacl_ctx_t s = {acl, nacl, version};
        if (nacl == 0) {
            /* every setACL would fail the client-side ACL check */
            if (bad_path(sh, path)) {
                zksh_acl_free(acl, nacl);
                return 1;
            }
        }
        rc = visit_dfs(sh, path, false, setacl_visit, &s);
        zksh_acl_free(acl, nacl);
        return rc;
    }
    if (bad_path(sh, path)) {
        zksh_acl_free(acl, nacl);
        return 1;
    }
    if (nacl == 0) {
        zksh_acl_free(acl, nacl);
        return keeper_error(sh, ZINVALIDACL, NULL);
    }
    zkc_reply_t r;
    rc = zkc_sync_set_acl(sh->zk, path, acl, nacl, version, &r);
    zksh_acl_free(acl, nacl);
    if (rc != ZOK) {
        zkc_reply_free(&r);
        return keeper_error(sh, rc, path);
    }
    if (cl->has['s'])
        zksh_print_stat(sh->out, &r.stat);
    zkc_reply_free(&r);
    return 0;
}

static int c_sync(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs < 2)
        return usage_error(sh, c);
    const char *path = cl->args[1];
    if (bad_path(sh, path))
        return 1;
    int rc = zkc_sync_sync(sh->zk, path);
    if (rc == ZOK)
        fprintf(sh->out, "Sync is OK\n");
    else
        fprintf(sh->out, "Sync has failed. rc=%d\n", rc);
    return 0;
}

static int c_getephemerals(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)c;
    (void)argc;
    (void)argv;
    const char *path = cl->nargs < 2 ? "/" : cl->args[1];
    if (bad_path(sh, path))
        return 1;
    zkc_pending_t p;
    memset(&p, 0, sizeof p);
    int rc = zkc_get_ephemerals(sh->zk, path, zkc_capture_cb, &p);
    if (rc == ZOK)
        rc = zkc_wait(sh->zk, &p);
    if (rc != ZOK) {
        zkc_reply_free(&p.reply);
        return keeper_error(sh, rc, path);
    }
    print_list(sh, p.reply.strings.v, p.reply.strings.n > 0 ? p.reply.strings.n : 0);
    zkc_reply_free(&p.reply);
    return 0;
}

static int c_getallchildren(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs < 2)
        return usage_error(sh, c);
    const char *path = cl->args[1];
    if (bad_path(sh, path))
        return 1;
    zkc_pending_t p;
    memset(&p, 0, sizeof p);
    int rc = zkc_get_all_children_number(sh->zk, path, zkc_capture_cb, &p);
    if (rc == ZOK)
        rc = zkc_wait(sh->zk, &p);
    if (rc != ZOK) {
        zkc_reply_free(&p.reply);
        return keeper_error(sh, rc, path);
    }
    fprintf(sh->out, "%d\n", p.reply.count);
    zkc_reply_free(&p.reply);
    return 0;
}

static int c_whoami(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)c;
    (void)argc;
    (void)argv;
    (void)cl;
    zkc_pending_t p;
    memset(&p, 0, sizeof p);
    int rc = zkc_whoami(sh->zk, zkc_capture_cb, &p);
    if (rc == ZOK)
        rc = zkc_wait(sh->zk, &p);
    if (rc != ZOK) {
        zkc_reply_free(&p.reply);
        return keeper_error(sh, rc, NULL);
    }
    fprintf(sh->out, "Auth scheme: User\n");
    zkp_ClientInfo *ci = p.reply.who.v;
    for (int i = 0; i < p.reply.who.n; i++)
        fprintf(sh->out, "%s: %s\n", ci[i].authScheme ? ci[i].authScheme : "null",
                ci[i].user ? ci[i].user : "null");
    zkc_reply_free(&p.reply);
    return 0;
}

static int c_addauth(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs < 2)
        return usage_error(sh, c);
    const char *auth = cl->nargs >= 3 ? cl->args[2] : NULL;
    /* fire and forget, as ZooKeeper.addAuthInfo; a failure shows up as an
     * AuthFailed session event */
    zkc_add_auth(sh->zk, cl->args[1], auth, auth ? (int32_t)strlen(auth) : -1, NULL, NULL);
    return 0;
}

static int c_addwatch(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs != 2)
        return usage_error(sh, c);
    int mode = ZK_ADDWATCH_PERSISTENT_RECURSIVE;
    if (cl->has['m']) {
        char *m = xstrdup(cl->val['m']);
        for (char *p = m; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        if (!strcmp(m, "PERSISTENT"))
            mode = ZK_ADDWATCH_PERSISTENT;
        else if (!strcmp(m, "PERSISTENT_RECURSIVE"))
            mode = ZK_ADDWATCH_PERSISTENT_RECURSIVE;
        else
            mode = -1;
        free(m);
        if (mode < 0)
            return usage_error(sh, c);
    }
    const char *path = cl->args[1];
    char why[512];
    if (zkc_validate_path(path, why, sizeof why) != ZOK)
        return fatal(sh, "java.lang.IllegalArgumentException", why);   /* not caught by AddWatchCommand */
    zkc_pending_t p;
    memset(&p, 0, sizeof p);
    int rc = zkc_add_watch(sh->zk, path, mode, ZKC_WATCH, zkc_capture_cb, &p);
    if (rc == ZOK)
        rc = zkc_wait(sh->zk, &p);
    zkc_reply_free(&p.reply);
    if (rc != ZOK)
        return keeper_error(sh, rc, path);
    return 0;
}

static int c_removewatches(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs < 2)
        return usage_error(sh, c);
    const char *path = cl->args[1];
    int wtype = ZK_WATCHER_ANY;
    if (cl->has['c'])
        wtype = ZK_WATCHER_CHILDREN;
    else if (cl->has['d'])
        wtype = ZK_WATCHER_DATA;
    if (bad_path(sh, path))
        return 1;
    zkc_pending_t p;
    memset(&p, 0, sizeof p);
    int rc = zkc_remove_watches(sh->zk, path, wtype, NULL, cl->has['l'], zkc_capture_cb, &p);
    if (rc == ZOK)
        rc = zkc_wait(sh->zk, &p);
    zkc_reply_free(&p.reply);
    if (rc != ZOK)
        return keeper_error(sh, rc, path);
    return 0;
}

static int c_close(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)c;
    (void)argc;
    (void)argv;
    (void)cl;
    zksh_close_zk(sh);
    return 0;
}

static int c_version(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    if (cl->nargs > 1)
        return usage_error(sh, c);
    fprintf(sh->out, "ZooKeeper CLI version: %s\n", ZKSH_CLI_VERSION);
    return 0;
}

static int c_config(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)c;
    (void)argc;
    (void)argv;
    zkc_reply_t r;
    const char *path = "/zookeeper/config";
    int rc = zkc_sync_get_data(sh->zk, path, cl->has['w'] ? ZKC_WATCH : NULL, &r);
    if (rc != ZOK) {
        zkc_reply_free(&r);
        return keeper_error(sh, rc, path);
    }
    if (r.data.len < 0) {
        fputs("null\n", sh->out);
    } else if (cl->has['c']) {
        /* "version=N" and the client addresses of the server.N lines */
        char *text = xstrndup((const char *)r.data.data, (size_t)r.data.len);
        char *version = NULL;
        buf_t servers = BUF_INIT;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *eq = strchr(line, '=');
            if (!eq)
                continue;
            *eq = '\0';
            if (!strcmp(line, "version")) {
                version = eq + 1;
            } else if (!strncmp(line, "server.", 7)) {
                char *semi = strchr(eq + 1, ';');
                if (servers.len)
                    buf_puts(&servers, ",");
                if (semi) {
                    char *cp = semi + 1;
                    if (!strchr(cp, ':'))
                        buf_printf(&servers, "0.0.0.0:%s", cp);
                    else
                        buf_puts(&servers, cp);
                }
            }
        }
        fprintf(sh->out, "%s %s\n", version ? version : "", servers.len ? buf_cstr(&servers) : "");
        buf_free(&servers);
        free(text);
    } else {
        zksh_put_utf8(sh->out, r.data.data, (size_t)r.data.len);
        fputc('\n', sh->out);
    }
    if (cl->has['s'])
        zksh_print_stat(sh->out, &r.stat);
    zkc_reply_free(&r);
    return 0;
}

static int c_unsupported(zksh_t *sh, const cmd_t *c, int argc, char **argv, zksh_cl_t *cl)
{
    (void)argc;
    (void)argv;
    (void)cl;
    fprintf(sh->err, "%s: not supported by gregor zk\n", c->name);
    return 1;
}

/* ---- dispatch ---- */

static int run_cli(zksh_t *sh, const cmd_t *c, int argc, char **argv)
{
    zksh_cl_t cl;
    char err[512];
    if (!c->spec) {
        memset(&cl, 0, sizeof cl);
        for (int i = 0; i < argc && i < ZKSH_MAX_ARGS; i++)
            cl.args[cl.nargs++] = argv[i];
    } else if (zksh_cl_parse(c->spec, argc, argv, &cl, err, sizeof err)) {
        fprintf(sh->err, "%s\n", err);
        return 1;
    }
    int rc = c->fn(sh, c, argc, argv, &cl);
    zksh_cl_free(&cl);
    return rc;
}

int zksh_process(zksh_t *sh, int argc, char **argv)
{
    if (argc < 1) {
        zksh_usage(sh);
        fprintf(sh->err, "No command entered\n");
        return 1;
    }
    const char *cmd = argv[0];
    const cmd_t *c = find_cmd(cmd);
    if (!c) {
        zksh_usage(sh);
        fprintf(sh->err, "Command not found: Command not found %s\n", cmd);
        return 127;
    }
    if (!strcmp(cmd, "quit")) {
        zksh_quit(sh);
    } else if (!strcmp(cmd, "redo") && argc >= 2) {
        int32_t i;
        if (zksh_decode_int(argv[1], &i))
            return number_error(sh, argv[1]);
        if (sh->command_count <= i || i < 0) {
            fprintf(sh->err, "Command index out of range\n");
            return 1;
        }
        const char *line = zksh_history_get(sh, i);
        zksh_argv_t words;
        zksh_tokenize(line ? line : "", &words);
        if (words.argc > 0 && !strcmp(words.argv[0], "redo")) {
            zksh_argv_free(&words);
            fprintf(sh->err, "No redoing redos\n");
            return 1;
        }
        char *copy = xstrdup(line ? line : "");
        zksh_history_set(sh, sh->command_count, copy);
        free(copy);
        int rc = zksh_process(sh, words.argc, words.argv);
        zksh_argv_free(&words);
        if (rc == ZKSH_FATAL)
            return rc;
        sh->exit_code = rc;
    } else if (!strcmp(cmd, "history")) {
        for (int i = sh->command_count - 10; i <= sh->command_count; i++) {
            if (i < 0)
                continue;
            const char *h = zksh_history_get(sh, i);
            fprintf(sh->out, "%d - %s\n", i, h ? h : "null");
        }
    } else if (!strcmp(cmd, "printwatches")) {
        if (argc == 1)
            fprintf(sh->out, "printwatches is %s\n", sh->print_watches ? "on" : "off");
        else
            sh->print_watches = !strcmp(argv[1], "on");
    } else if (!strcmp(cmd, "connect")) {
        int rc = zksh_connect(sh, argc >= 2 ? argv[1] : sh->host);
        if (rc == ZKSH_FATAL)
            return rc;
    }
    if (!sh->zk || !zkc_state_alive(zkc_state(sh->zk))) {
        fprintf(sh->out, "Not connected\n");
        return 0;
    }
    if (c->fn)
        return run_cli(sh, c, argc, argv);
    return 0;
}
