/* Unit tests: watches — one-shot and persistent semantics, routing of tree events,
 * dedup per session, removeWatches/checkWatches, SetWatches after reconnect, and
 * the wchs/wchc/wchp texts (the quirks checked against a live ZooKeeper 3.8.0). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/watch.h"
#include "coord_harness.h"

#define S1 0x10000078a560008LL
#define S2 0x10000078a560009LL
#define S3 0x10000078a56000aLL

typedef struct got_s {
    int n;
    int64_t sid[64];
    int32_t type[64];
    char path[64][64];
} got_t;

static void collect(void *ctx, int64_t sid, int32_t type, const char *path)
{
    got_t *g = ctx;
    ck_assert_int_lt(g->n, 64);
    g->sid[g->n] = sid;
    g->type[g->n] = type;
    snprintf(g->path[g->n], sizeof g->path[g->n], "%s", path);
    g->n++;
}

static got_t fire(watchmgr_t *w, int32_t type, const char *path)
{
    got_t g;
    memset(&g, 0, sizeof g);
    watch_trigger(w, type, path, collect, &g);
    return g;
}

START_TEST(one_shot_data_and_exist)
{
    watchmgr_t *w = watch_new();
    watch_add(w, "/a", WATCH_DATA, S1);
    watch_add(w, "/b", WATCH_EXIST, S2);
    ck_assert_uint_eq(watch_count(w), 2);
    got_t g = fire(w, ZK_EVENT_CHANGED, "/a");
    ck_assert_int_eq(g.n, 1);
    ck_assert_int_eq(g.sid[0], S1);
    ck_assert_int_eq(g.type[0], ZK_EVENT_CHANGED);
    ck_assert_str_eq(g.path[0], "/a");
    g = fire(w, ZK_EVENT_CHANGED, "/a");
    ck_assert_int_eq(g.n, 0);   /* one-shot */
    g = fire(w, ZK_EVENT_CHILD, "/b");
    ck_assert_int_eq(g.n, 0);   /* an exist watch is a data-table watch */
    g = fire(w, ZK_EVENT_CREATED, "/b");
    ck_assert_int_eq(g.n, 1);
    ck_assert_uint_eq(watch_count(w), 0);
    watch_free(w);
}
END_TEST

START_TEST(child_watches_and_delete_dedup)
{
    watchmgr_t *w = watch_new();
    watch_add(w, "/p", WATCH_CHILD, S1);
    watch_add(w, "/p", WATCH_DATA, S1);
    watch_add(w, "/p", WATCH_CHILD, S2);
    got_t g = fire(w, ZK_EVENT_CHANGED, "/p");
    ck_assert_int_eq(g.n, 1);   /* data only */
    watch_add(w, "/p", WATCH_DATA, S1);
    /* deleting /p: data and child watch of S1 give one NodeDeleted; S2's child watch one more */
    g = fire(w, ZK_EVENT_DELETED, "/p");
    ck_assert_int_eq(g.n, 2);
    ck_assert_int_eq(g.sid[0], S1);
    ck_assert_int_eq(g.sid[1], S2);
    ck_assert_int_eq(g.type[1], ZK_EVENT_DELETED);
    ck_assert_uint_eq(watch_count(w), 0);
    watch_add(w, "/p", WATCH_CHILD, S3);
    watch_add(w, "/p", WATCH_CHILD, S1);
    g = fire(w, ZK_EVENT_CHILD, "/p");
    ck_assert_int_eq(g.n, 2);
    ck_assert_int_eq(g.sid[0], S1);   /* ascending session id */
    ck_assert_int_eq(g.sid[1], S3);
    g = fire(w, ZK_EVENT_CHILD, "/p");
    ck_assert_int_eq(g.n, 0);
    watch_free(w);
}
END_TEST

START_TEST(persistent_and_recursive)
{
    watchmgr_t *w = watch_new();
    watch_add(w, "/p", WATCH_PERSISTENT, S1);
    watch_add(w, "/", WATCH_PERSISTENT_RECURSIVE, S2);
    for (int i = 0; i < 2; i++) {
        got_t g = fire(w, ZK_EVENT_CHANGED, "/p");
        ck_assert_int_eq(g.n, 2);
        g = fire(w, ZK_EVENT_CHILD, "/p");
        ck_assert_int_eq(g.n, 1);   /* the recursive watch skips NodeChildrenChanged */
        ck_assert_int_eq(g.sid[0], S1);
        g = fire(w, ZK_EVENT_CREATED, "/p/q/r");
        ck_assert_int_eq(g.n, 1);
        ck_assert_int_eq(g.sid[0], S2);
        g = fire(w, ZK_EVENT_DELETED, "/p");
        ck_assert_int_eq(g.n, 2);
    }
    /* the latest add wins: a getData watch turns S1's persistent watch into a one-shot one */
    watch_add(w, "/p", WATCH_DATA, S1);
    got_t g = fire(w, ZK_EVENT_CHANGED, "/p");
    ck_assert_int_eq(g.n, 2);
    g = fire(w, ZK_EVENT_CHANGED, "/p");
    ck_assert_int_eq(g.n, 1);
    g = fire(w, ZK_EVENT_CHILD, "/p");
    ck_assert_int_eq(g.n, 1);   /* its child-table half is still persistent */
    watch_free(w);
}
END_TEST

START_TEST(events_from_apply)
{
    harness_t h;
    h_init(&h);
    watchmgr_t *w = watch_new();
    watch_add(w, "/x", WATCH_EXIST, S1);
    watch_add(w, "/", WATCH_CHILD, S2);
    zkp_CreateRequest req = {"/x", {NULL, -1}, {1, h_open_acl}, 0};
    dt_result_t res;
    h_run(&h, 0, ZOO_CREATE_OP, &req, &res);
    got_t g;
    memset(&g, 0, sizeof g);
    watch_trigger_result(w, &res, collect, &g);
    dt_result_free(&res);
    ck_assert_int_eq(g.n, 2);
    ck_assert_int_eq(g.type[0], ZK_EVENT_CREATED);
    ck_assert_int_eq(g.sid[0], S1);
    ck_assert_int_eq(g.type[1], ZK_EVENT_CHILD);
    ck_assert_str_eq(g.path[1], "/");
    watch_free(w);
    h_fini(&h);
}
END_TEST

START_TEST(remove_and_check_like_3_8)
{
    watchmgr_t *w = watch_new();
    watch_add(w, "/w", WATCH_DATA, S1);
    /* 3.8.0: checkWatches answers whether anyone watches the path */
    ck_assert_int_eq(watch_remove(w, S2, "/w", ZK_WATCHER_DATA, false, NULL, NULL), 0);
    ck_assert_int_eq(watch_remove(w, S2, "/w", ZK_WATCHER_CHILDREN, false, NULL, NULL), ZNOWATCHER);
    ck_assert_int_eq(watch_remove(w, S2, "/w", ZK_WATCHER_DATA, true, NULL, NULL), ZNOWATCHER);
    ck_assert_int_eq(watch_remove(w, S1, "/w", 9, false, NULL, NULL), ZMARSHALLINGERROR);
    watch_add(w, "/w", WATCH_CHILD, S1);
    buf_t b = BUF_INIT;
    watch_dump_summary(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "1 connections watching 1 paths\nTotal watches:1\n");
    buf_reset(&b);
    ck_assert_int_eq(watch_remove(w, S1, "/w", ZK_WATCHER_DATA, true, NULL, NULL), 0);
    watch_dump_summary(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "1 connections watching 0 paths\nTotal watches:0\n");
    buf_reset(&b);
    watch_dump_by_session(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "0x10000078a560008\n\n");
    buf_reset(&b);
    ck_assert_int_eq(watch_remove(w, S1, "/w", ZK_WATCHER_DATA, true, NULL, NULL), ZNOWATCHER);
    ck_assert_uint_eq(watch_count(w), 1);
    ck_assert_int_eq(watch_remove(w, S1, "/w", ZK_WATCHER_ANY, true, NULL, NULL), 0);
    ck_assert_uint_eq(watch_count(w), 0);
    /* a persistent watch has a data and a child half */
    watch_add(w, "/w", WATCH_PERSISTENT, S1);
    ck_assert_uint_eq(watch_count(w), 2);
    ck_assert_int_eq(watch_remove(w, S1, "/w", ZK_WATCHER_CHILDREN, true, NULL, NULL), 0);
    got_t g = fire(w, ZK_EVENT_CHANGED, "/w");
    ck_assert_int_eq(g.n, 1);
    g = fire(w, ZK_EVENT_CHILD, "/w");
    ck_assert_int_eq(g.n, 0);
    watch_remove_session(w, S1);
    ck_assert_uint_eq(watch_count(w), 0);
    ck_assert_uint_eq(watch_session_count(w), 0);
    buf_free(&b);
    watch_free(w);
}
END_TEST

/* The same steps as a live 3.8.0 session pair went through, with the same texts. */
START_TEST(four_letter_texts)
{
    watchmgr_t *w = watch_new();
    watch_add(w, "/w", WATCH_DATA, S1);
    watch_add(w, "/w", WATCH_CHILD, S1);
    buf_t b = BUF_INIT;
    watch_dump_by_session(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "0x10000078a560008\n\t/w\n\n");
    buf_reset(&b);
    watch_dump_by_path(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "/w\n\t0x10000078a560008\n\n");
    buf_reset(&b);
    ck_assert_int_eq(watch_remove(w, S1, "/w", ZK_WATCHER_DATA, true, NULL, NULL), 0);
    watch_add(w, "/w/c", WATCH_EXIST, S2);
    watch_add(w, "/w", WATCH_PERSISTENT_RECURSIVE, S1);
    watch_dump_summary(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "2 connections watching 2 paths\nTotal watches:2\n");
    buf_reset(&b);
    got_t g = fire(w, ZK_EVENT_DELETED, "/w/c");
    ck_assert_int_eq(g.n, 2);
    g = fire(w, ZK_EVENT_CHANGED, "/w");
    ck_assert_int_eq(g.n, 1);
    ck_assert_int_eq(g.sid[0], S1);
    watch_dump_summary(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "2 connections watching 1 paths\nTotal watches:1\n");
    buf_reset(&b);
    watch_dump_by_session(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "0x10000078a560008\n\t/w\n0x10000078a560009\n\n");
    buf_reset(&b);
    ck_assert_int_eq(watch_remove(w, S1, "/w", ZK_WATCHER_ANY, true, NULL, NULL), 0);
    watch_dump_summary(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "2 connections watching 0 paths\nTotal watches:0\n");
    buf_reset(&b);
    watch_dump_by_path(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "\n");
    /* negative ids print as Java's Long.toHexString does */
    buf_reset(&b);
    watch_add(w, "/n", WATCH_DATA, -2);
    watch_dump_by_path(w, &b);
    ck_assert_str_eq(buf_cstr(&b), "/n\n\t0xfffffffffffffffe\n\n");
    buf_free(&b);
    watch_free(w);
}
END_TEST

START_TEST(set_watches_after_reconnect)
{
    harness_t h;
    h_init(&h);
    ck_assert_int_eq(h_create(&h, 0, "/a", "", 0), 0);   /* zxid 1 */
    ck_assert_int_eq(h_create(&h, 0, "/b", "", 0), 0);   /* 2 */
    ck_assert_int_eq(h_set(&h, 0, "/a", "x", -1), 0);    /* 3 */
    ck_assert_int_eq(h_create(&h, 0, "/b/c", "", 0), 0); /* 4 */
    watchmgr_t *w = watch_new();
    char *data[] = {"/a", "/b", "/gone"};
    char *exist[] = {"/a", "/nope"};
    char *child[] = {"/b", "/a", "/gone"};
    char *pers[] = {"/p"};
    char *rec[] = {"/"};
    zkp_SetWatches2 sw = {2, {3, data}, {2, exist}, {3, child}, {1, pers}, {1, rec}};
    got_t g;
    memset(&g, 0, sizeof g);
    watch_set_watches(w, h.dt, S1, &sw, collect, &g);
    ck_assert_int_eq(g.n, 5);
    ck_assert_int_eq(g.type[0], ZK_EVENT_CHANGED);   /* /a: mzxid 3 > 2 */
    ck_assert_str_eq(g.path[0], "/a");
    ck_assert_int_eq(g.type[1], ZK_EVENT_DELETED);   /* /gone */
    ck_assert_int_eq(g.type[2], ZK_EVENT_CREATED);   /* exist watch on an existing node */
    ck_assert_str_eq(g.path[2], "/a");
    ck_assert_int_eq(g.type[3], ZK_EVENT_CHILD);     /* /b: pzxid 4 > 2 */
    ck_assert_int_eq(g.type[4], ZK_EVENT_DELETED);
    /* registered: data /b, exist /nope, child /a, persistent /p (2), recursive / (2) */
    ck_assert_uint_eq(watch_count(w), 7);
    g = fire(w, ZK_EVENT_CHANGED, "/b");
    ck_assert_int_eq(g.n, 1);
    g = fire(w, ZK_EVENT_CREATED, "/nope");
    ck_assert_int_eq(g.n, 1);
    watch_free(w);
    h_fini(&h);
}
END_TEST

static void count_ordered(void *ctx, int64_t sid, int32_t type, const char *path)
{
    int64_t *st = ctx;   /* st[0] count, st[1] last sid, st[2] out-of-order */
    st[2] |= sid <= st[1];
    st[1] = sid;
    st[0]++;
}

START_TEST(many_sessions)
{
    watchmgr_t *w = watch_new();
    for (int64_t s = 1000; s >= 1; s--) {
        watch_add(w, "/hot", WATCH_DATA, s);
        watch_add(w, "/hot", WATCH_CHILD, s);
        watch_add(w, "/hot/x", WATCH_EXIST, s);
    }
    ck_assert_uint_eq(watch_count(w), 3000);
    ck_assert_uint_eq(watch_session_count(w), 1000);
    ck_assert_uint_eq(watch_path_count(w), 2);
    for (int64_t s = 1; s <= 500; s += 2)
        watch_remove_session(w, s);
    int64_t st[3] = {0, 0, 0};
    watch_trigger(w, ZK_EVENT_DELETED, "/hot", count_ordered, st);
    ck_assert_int_eq(st[0], 750);   /* one NodeDeleted per session despite two watches each */
    ck_assert_int_eq(st[2], 0);
    ck_assert_uint_eq(watch_count(w), 750);
    watch_trigger(w, ZK_EVENT_DELETED, "/hot/x", NULL, NULL);
    ck_assert_uint_eq(watch_count(w), 0);
    watch_free(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("watch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, one_shot_data_and_exist);
    tcase_add_test(tc, child_watches_and_delete_dedup);
    tcase_add_test(tc, persistent_and_recursive);
    tcase_add_test(tc, events_from_apply);
    tcase_add_test(tc, remove_and_check_like_3_8);
    tcase_add_test(tc, four_letter_texts);
    tcase_add_test(tc, set_watches_after_reconnect);
    tcase_add_test(tc, many_sessions);
    suite_add_tcase(s, tc);
    return h_run_suite(s);
}
