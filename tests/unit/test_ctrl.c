/* Unit tests: the controller's pure state machines (broker/ctrl_ctx.h, ctrl_psm.h,
 * ctrl_rsm.h, ctrl_core.h). A small fake coordinator (path -> data, version) carries out
 * each step's writes the way the driver does, so the tests check the znode contents Kafka
 * would have written as well as the requests. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/ctrl_core.h"
#include "common/alloc.h"
#include "common/hmap.h"

/* ---- fake coordinator ---- */

typedef struct znode_s {
    char *data;
    int32_t version;
} znode_t;

static hmap_t zk;

static void zn_free(void *v)
{
    znode_t *z = v;
    free(z->data);
    free(z);
}

static void zk_setup(void) { hmap_init(&zk); }
static void zk_teardown(void) { hmap_fini(&zk, zn_free); }

static void zk_put(const char *path, const char *data, int32_t version)
{
    znode_t *z = xcalloc(1, sizeof *z);
    z->data = xstrdup(data);
    z->version = version;
    znode_t *old = hmap_puts(&zk, path, z);
    if (old)
        zn_free(old);
}

static const char *zk_get(const char *path, int32_t *version)
{
    znode_t *z = hmap_gets(&zk, path);
    if (z && version)
        *version = z->version;
    return z ? z->data : NULL;
}

/* Carries out the writes; returns a bitmask of the indexes that failed. */
static unsigned apply(const ctrl_out_t *out)
{
    unsigned failed = 0;
    for (size_t i = 0; i < out->n_writes; i++) {
        const ctrl_zwrite_t *w = &out->writes[i];
        znode_t *z = hmap_gets(&zk, w->path);
        char *data = w->data.len ? xstrndup((const char *)w->data.data, w->data.len) : xstrdup("");
        switch (w->op) {
        case CTRL_ZOP_CREATE_STATE:
            if (z)
                failed |= 1u << i;
            else
                zk_put(w->path, data, 0);
            break;
        case CTRL_ZOP_SET_STATE:
            if (!z || z->version != w->expected_version) {
                failed |= 1u << i;
            } else {
                free(z->data);
                z->data = xstrdup(data);
                z->version++;
            }
            break;
        case CTRL_ZOP_DELETE: {
            znode_t *d = hmap_dels(&zk, w->path);
            if (d)
                zn_free(d);
            break;
        }
        case CTRL_ZOP_DELETE_TREE: {
            size_t pl = strlen(w->path);
            hmap_iter_t it;
            const void *key;
            size_t klen;
            void *val;
            hmap_iter_init(&zk, &it);
            while (hmap_iter_next(&zk, &it, &key, &klen, &val))
                if (klen >= pl && memcmp(key, w->path, pl) == 0 && (klen == pl || ((const char *)key)[pl] == '/')) {
                    zn_free(hmap_del(&zk, key, klen));
                }
            break;
        }
        }
        free(data);
    }
    return failed;
}

/* ---- helpers ---- */

static zkpaths_topic_t assignment(size_t n_parts, const int32_t (*reps)[3], size_t rf)
{
    zkpaths_topic_t t = {.version = 1, .n_parts = n_parts};
    t.parts = xcalloc(n_parts, sizeof *t.parts);
    for (size_t p = 0; p < n_parts; p++) {
        t.parts[p].partition = (int32_t)p;
        t.parts[p].replicas.v = xmemdup(reps[p], rf * sizeof(int32_t));
        t.parts[p].replicas.n = rf;
    }
    return t;
}

static void live(ctrl_ctx_t *ctx, const int32_t *ids, size_t n, ctrl_out_t *out)
{
    ctrl_core_brokers_changed(ctx, ids, NULL, n, out);
}

#define STATE_EQ(topic, p, want, want_version)                              \
    do {                                                                    \
        char *path_ = zkpaths_partition_state((topic), (p));                \
        int32_t v_ = -99;                                                   \
        const char *d_ = zk_get(path_, &v_);                                \
        ck_assert_msg(d_ != NULL, "no %s", path_);                          \
        ck_assert_str_eq(d_, (want));                                       \
        ck_assert_int_eq(v_, (want_version));                               \
        free(path_);                                                        \
    } while (0)

static void isr_eq(const zkpaths_ilist_t *l, const int32_t *want, size_t n)
{
    ck_assert_uint_eq(l->n, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(l->v[i], want[i]);
}

/* ---- scenarios ---- */

START_TEST(create_topic_one_broker)
{
    ctrl_ctx_t ctx;
    ctrl_ctx_init(&ctx, 0, 1, 1);
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t b0 = 0;
    live(&ctx, &b0, 1, &out);
    ctrl_out_fini(&out);

    static const int32_t r[3][3] = {{0}, {0}, {0}};
    zkpaths_topic_t t = assignment(3, r, 1);
    ctrl_out_init(&out);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "t1", &t, &out), 0);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "t1", &t, &out), -1);   /* known already */
    ck_assert_uint_eq(out.n_writes, 3);
    for (int p = 0; p < 3; p++)
        ck_assert_int_eq(out.writes[p].op, CTRL_ZOP_CREATE_STATE);
    ck_assert_uint_eq(apply(&out), 0);
    /* exactly what the observed 0.9 controller wrote */
    for (int p = 0; p < 3; p++)
        STATE_EQ("t1", p, "{\"controller_epoch\":1,\"leader\":0,\"version\":1,\"leader_epoch\":0,\"isr\":[0]}", 0);
    ck_assert_uint_eq(out.n_lai, 3);
    const ctrl_preq_t *l = ctrl_out_find_lai(&out, 0, "t1", 2);
    ck_assert_ptr_nonnull(l);
    ck_assert(l->is_new);
    ck_assert_int_eq(l->leader, 0);
    ck_assert_int_eq(l->zk_version, 0);
    ck_assert_int_eq(l->controller_epoch, 1);
    ck_assert_int_eq(l->dep, 2);
    ck_assert_uint_eq(out.n_um, 3);
    ck_assert_uint_eq(out.um_brokers.n, 1);
    ck_assert_int_eq(ctrl_ctx_part(&ctx, "t1", 1)->state, CTRL_P_ONLINE);
    ck_assert_int_eq(ctrl_part_replica(ctrl_ctx_part(&ctx, "t1", 1), 0, false)->state, CTRL_R_ONLINE);
    ctrl_out_fini(&out);
    zkpaths_topic_free(&t);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(create_topic_three_brokers)
{
    ctrl_ctx_t ctx;
    ctrl_ctx_init(&ctx, 1, 3, 3);
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t ids[3] = {2, 0, 1};
    int64_t epochs[3] = {200, 100, 150};
    ctrl_core_brokers_changed(&ctx, ids, epochs, 3, &out);
    ck_assert_int_eq(ctrl_ctx_broker_epoch(&ctx, 0), 100);
    ck_assert_int_eq(ctrl_ctx_broker_epoch(&ctx, 2), 200);
    ctrl_out_fini(&out);

    static const int32_t r[2][3] = {{1, 2, 0}, {2, 0, 1}};
    zkpaths_topic_t t = assignment(2, r, 3);
    ctrl_out_init(&out);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "orders", &t, &out), 0);
    ck_assert_uint_eq(apply(&out), 0);
    STATE_EQ("orders", 0, "{\"controller_epoch\":3,\"leader\":1,\"version\":1,\"leader_epoch\":0,\"isr\":[1,2,0]}", 0);
    STATE_EQ("orders", 1, "{\"controller_epoch\":3,\"leader\":2,\"version\":1,\"leader_epoch\":0,\"isr\":[2,0,1]}", 0);
    ck_assert_uint_eq(out.n_lai, 6);   /* each replica of each partition */
    zkpaths_ilist_t brokers;
    ctrl_out_lai_brokers(&out, &brokers);
    ck_assert_uint_eq(brokers.n, 3);
    zkpaths_ilist_free(&brokers);
    const ctrl_preq_t *l = ctrl_out_find_lai(&out, 0, "orders", 0);
    ck_assert_int_eq(l->leader, 1);
    static const int32_t rr[] = {1, 2, 0};
    isr_eq(&l->replicas, rr, 3);
    ctrl_out_fini(&out);

    /* a replica on a broker that is not alive: ISR = live replicas only */
    static const int32_t r2[1][3] = {{5, 0, 1}};
    zkpaths_topic_t t2 = assignment(1, r2, 3);
    ctrl_out_init(&out);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "gaps", &t2, &out), 0);
    ck_assert_uint_eq(apply(&out), 0);
    STATE_EQ("gaps", 0, "{\"controller_epoch\":3,\"leader\":0,\"version\":1,\"leader_epoch\":0,\"isr\":[0,1]}", 0);
    ck_assert_ptr_null(ctrl_out_find_lai(&out, 5, "gaps", 0));
    const ctrl_preq_t *um = ctrl_out_find_um(&out, "gaps", 0);
    ck_assert_uint_eq(um->offline.n, 1);
    ck_assert_int_eq(um->offline.v[0], 5);
    ctrl_out_fini(&out);

    /* no live replica at all: the partition stays New, nothing is written */
    static const int32_t r3[1][3] = {{7, 8, 9}};
    zkpaths_topic_t t3 = assignment(1, r3, 3);
    ctrl_out_init(&out);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "dead", &t3, &out), 0);
    ck_assert_uint_eq(out.n_writes, 0);
    ck_assert_int_eq(ctrl_ctx_part(&ctx, "dead", 0)->state, CTRL_P_NEW);
    ctrl_out_fini(&out);
    /* ... and comes online when one of its brokers registers */
    int32_t more[4] = {0, 1, 2, 8};
    ctrl_out_init(&out);
    live(&ctx, more, 4, &out);
    ck_assert_uint_eq(apply(&out), 0);
    STATE_EQ("dead", 0, "{\"controller_epoch\":3,\"leader\":8,\"version\":1,\"leader_epoch\":0,\"isr\":[8]}", 0);
    ctrl_out_fini(&out);

    zkpaths_topic_free(&t);
    zkpaths_topic_free(&t2);
    zkpaths_topic_free(&t3);
    ctrl_ctx_fini(&ctx);
}
END_TEST

/* Three brokers; "a": [0,1,2] led by 0; "b": [1,0,2] led by 1. Broker 0 dies. */
START_TEST(broker_failure_with_isr)
{
    ctrl_ctx_t ctx;
    ctrl_ctx_init(&ctx, 1, 1, 1);
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t ids[3] = {0, 1, 2};
    live(&ctx, ids, 3, &out);
    static const int32_t ra[1][3] = {{0, 1, 2}}, rb[1][3] = {{1, 0, 2}};
    zkpaths_topic_t a = assignment(1, ra, 3), b = assignment(1, rb, 3);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "a", &a, &out), 0);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "b", &b, &out), 0);
    ck_assert_uint_eq(apply(&out), 0);
    ctrl_out_fini(&out);

    int32_t left[2] = {1, 2};
    ctrl_out_init(&out);
    live(&ctx, left, 2, &out);
    ck_assert_uint_eq(apply(&out), 0);
    /* "a": first live in-ISR replica in assignment order = 1; the ISR loses 0 */
    STATE_EQ("a", 0, "{\"controller_epoch\":1,\"leader\":1,\"version\":1,\"leader_epoch\":1,\"isr\":[1,2]}", 1);
    /* "b": leader stays, 0 leaves the ISR, leader epoch bumps */
    STATE_EQ("b", 0, "{\"controller_epoch\":1,\"leader\":1,\"version\":1,\"leader_epoch\":1,\"isr\":[1,2]}", 1);
    ck_assert_ptr_null(ctrl_out_find_lai(&out, 0, "a", 0));   /* nothing to the dead broker */
    ck_assert_ptr_nonnull(ctrl_out_find_lai(&out, 2, "a", 0));
    ck_assert_ptr_null(ctrl_out_find_stop(&out, 0, "a", 0));
    const ctrl_preq_t *um = ctrl_out_find_um(&out, "a", 0);
    ck_assert_int_eq(um->leader, 1);
    ck_assert_uint_eq(um->offline.n, 1);
    ck_assert_int_eq(ctrl_part_replica(ctrl_ctx_part(&ctx, "a", 0), 0, false)->state, CTRL_R_OFFLINE);
    ck_assert_int_eq(ctrl_ctx_part(&ctx, "a", 0)->state, CTRL_P_ONLINE);
    ctrl_out_fini(&out);

    /* 0 returns: it gets LeaderAndIsr (follower) and full metadata; leaders stay */
    ctrl_out_init(&out);
    live(&ctx, ids, 3, &out);
    ck_assert_uint_eq(apply(&out), 0);
    const ctrl_preq_t *l = ctrl_out_find_lai(&out, 0, "a", 0);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(l->leader, 1);
    ck_assert_int_eq(ctrl_part_replica(ctrl_ctx_part(&ctx, "a", 0), 0, false)->state, CTRL_R_ONLINE);
    ck_assert_ptr_nonnull(ctrl_out_find_um(&out, "b", 0));
    ck_assert_uint_eq(out.um_brokers.n, 3);
    ctrl_out_fini(&out);

    /* 0 is back in the ISR (the leader said so); preferred election moves "a" back to 0 */
    zkpaths_pstate_t st = {1, 1, 1, {(int32_t[]){1, 2, 0}, 3}};
    ctrl_ctx_set_state(ctrl_ctx_part(&ctx, "a", 0), &st, 1);
    ctrl_tp_t tp = {"a", 0};
    ctrl_out_init(&out);
    ctrl_core_isr_changed(&ctx, &tp, 1, &out);
    ck_assert_uint_eq(out.n_um, 1);
    ck_assert_uint_eq(out.n_writes, 0);
    ck_assert_int_eq(ctrl_core_preferred_election(&ctx, NULL, 0, &out), 0);
    ck_assert_uint_eq(out.n_writes, 1);   /* only "a": "b" is led by its preferred replica */
    ck_assert_uint_eq(apply(&out), 0);
    STATE_EQ("a", 0, "{\"controller_epoch\":1,\"leader\":0,\"version\":1,\"leader_epoch\":2,\"isr\":[1,2,0]}", 2);
    ctrl_out_fini(&out);

    zkpaths_topic_free(&a);
    zkpaths_topic_free(&b);
    ctrl_ctx_fini(&ctx);
}
END_TEST

/* "p": [0,1] led by 0 with ISR [0] (1 fell behind). 0 dies. */
static void setup_out_of_sync(ctrl_ctx_t *ctx, bool unclean)
{
    ctrl_ctx_init(ctx, 1, 1, 1);
    ctx->unclean_default = unclean;
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t ids[2] = {0, 1};
    live(ctx, ids, 2, &out);
    static const int32_t r[1][3] = {{0, 1}};
    zkpaths_topic_t t = assignment(1, r, 2);
    ck_assert_int_eq(ctrl_core_topic_created(ctx, "p", &t, &out), 0);
    ck_assert_uint_eq(apply(&out), 0);
    ctrl_out_fini(&out);
    zkpaths_topic_free(&t);
    /* the leader shrank the ISR to itself (version 1) */
    zk_put("/brokers/topics/p/partitions/0/state",
           "{\"controller_epoch\":1,\"leader\":0,\"version\":1,\"leader_epoch\":0,\"isr\":[0]}", 1);
    zkpaths_pstate_t st = {1, 0, 0, {(int32_t[]){0}, 1}};
    ctrl_ctx_set_state(ctrl_ctx_part(ctx, "p", 0), &st, 1);
}

START_TEST(broker_failure_no_isr_unclean_disabled)
{
    ctrl_ctx_t ctx;
    setup_out_of_sync(&ctx, false);
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t one = 1;
    live(&ctx, &one, 1, &out);
    ck_assert_uint_eq(apply(&out), 0);
    /* offline: no leader, the last ISR member stays in the ISR */
    ck_assert_int_eq(ctrl_ctx_part(&ctx, "p", 0)->state, CTRL_P_OFFLINE);
    STATE_EQ("p", 0, "{\"controller_epoch\":1,\"leader\":-1,\"version\":1,\"leader_epoch\":1,\"isr\":[0]}", 2);
    const ctrl_preq_t *um = ctrl_out_find_um(&out, "p", 0);
    ck_assert_int_eq(um->leader, -1);
    ctrl_out_fini(&out);

    /* 0 comes back: it is the ISR, so it leads again (clean) */
    int32_t both[2] = {0, 1};
    ctrl_out_init(&out);
    live(&ctx, both, 2, &out);
    ck_assert_uint_eq(apply(&out), 0);
    ck_assert_int_eq(ctrl_ctx_part(&ctx, "p", 0)->state, CTRL_P_ONLINE);
    STATE_EQ("p", 0, "{\"controller_epoch\":1,\"leader\":0,\"version\":1,\"leader_epoch\":2,\"isr\":[0]}", 3);
    ck_assert_ptr_nonnull(ctrl_out_find_lai(&out, 1, "p", 0));
    ctrl_out_fini(&out);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(broker_failure_no_isr_unclean_enabled)
{
    ctrl_ctx_t ctx;
    setup_out_of_sync(&ctx, true);
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t one = 1;
    live(&ctx, &one, 1, &out);
    ck_assert_uint_eq(apply(&out), 0);
    STATE_EQ("p", 0, "{\"controller_epoch\":1,\"leader\":1,\"version\":1,\"leader_epoch\":1,\"isr\":[1]}", 2);
    ck_assert_int_eq(ctrl_ctx_part(&ctx, "p", 0)->state, CTRL_P_ONLINE);
    ctrl_out_fini(&out);
    /* the per-topic override wins over the cluster default */
    ctrl_ctx_topic(&ctx, "p")->unclean = 0;
    ck_assert(!ctrl_ctx_unclean(&ctx, ctrl_ctx_topic(&ctx, "p")));
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(conditional_write_fails)
{
    ctrl_ctx_t ctx;
    setup_out_of_sync(&ctx, false);
    /* the leader changed the ISR again behind the controller's back */
    zk_put("/brokers/topics/p/partitions/0/state",
           "{\"controller_epoch\":1,\"leader\":0,\"version\":1,\"leader_epoch\":0,\"isr\":[0,1]}", 2);
    ctrl_out_t out;
    ctrl_out_init(&out);
    ctrl_tp_t tp = {"p", 0};
    ctrl_core_controlled_shutdown(&ctx, 0, &out);   /* 0 is the only ISR member: nothing to move to */
    ck_assert_uint_eq(out.n_writes, 0);
    ctx.shutting_down.n = 0;
    /* elect with the stale version: the write fails; requests depending on it are dropped */
    zkpaths_pstate_t st = {1, 0, 0, {(int32_t[]){0, 1}, 2}};
    ctrl_ctx_set_state(ctrl_ctx_part(&ctx, "p", 0), &st, 1);   /* stale zkVersion 1 */
    ck_assert_int_eq(ctrl_psm_handle(&ctx, &tp, 1, CTRL_P_ONLINE, CTRL_ELECT_CONTROLLED_SHUTDOWN, &out), 0);
    ck_assert_uint_eq(out.n_writes, 1);
    ck_assert_int_eq(out.writes[0].expected_version, 1);
    ck_assert_uint_eq(apply(&out), 1u);
    ck_assert_int_eq(ctrl_out_find_lai(&out, 0, "p", 0)->dep, 0);
    ctrl_out_fini(&out);
    /* the driver re-reads the state and retries */
    ctrl_ctx_set_state(ctrl_ctx_part(&ctx, "p", 0), &st, 2);
    ctrl_out_init(&out);
    ck_assert_int_eq(ctrl_psm_handle(&ctx, &tp, 1, CTRL_P_ONLINE, CTRL_ELECT_OFFLINE, &out), 0);
    ck_assert_uint_eq(apply(&out), 0);
    STATE_EQ("p", 0, "{\"controller_epoch\":1,\"leader\":0,\"version\":1,\"leader_epoch\":1,\"isr\":[0,1]}", 3);
    ctrl_out_fini(&out);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(controlled_shutdown)
{
    ctrl_ctx_t ctx;
    ctrl_ctx_init(&ctx, 1, 1, 1);
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t ids[3] = {0, 1, 2};
    live(&ctx, ids, 3, &out);
    static const int32_t r[2][3] = {{0, 1, 2}, {1, 0, 2}};
    zkpaths_topic_t t = assignment(2, r, 3);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "cs", &t, &out), 0);
    ck_assert_uint_eq(apply(&out), 0);
    ctrl_out_fini(&out);
    ctrl_out_init(&out);
    ck_assert_int_eq(ctrl_core_controlled_shutdown(&ctx, 0, &out), 0);
    ck_assert_uint_eq(apply(&out), 0);
    STATE_EQ("cs", 0, "{\"controller_epoch\":1,\"leader\":1,\"version\":1,\"leader_epoch\":1,\"isr\":[1,2]}", 1);
    STATE_EQ("cs", 1, "{\"controller_epoch\":1,\"leader\":1,\"version\":1,\"leader_epoch\":1,\"isr\":[1,2]}", 1);
    ck_assert_ptr_nonnull(ctrl_out_find_stop(&out, 0, "cs", 1));   /* the follower replica stops */
    ck_assert(!ctrl_out_find_stop(&out, 0, "cs", 1)->delete_partition);
    ctrl_out_fini(&out);
    ctrl_out_init(&out);
    ck_assert_int_eq(ctrl_core_controlled_shutdown(&ctx, 9, &out), -1);
    ctrl_out_fini(&out);
    zkpaths_topic_free(&t);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(topic_deletion)
{
    ctrl_ctx_t ctx;
    ctrl_ctx_init(&ctx, 0, 1, 1);
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t b0 = 0;
    live(&ctx, &b0, 1, &out);
    static const int32_t r[2][3] = {{0}, {0}};
    zkpaths_topic_t t = assignment(2, r, 1);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "t2", &t, &out), 0);
    ck_assert_uint_eq(apply(&out), 0);
    ctrl_out_fini(&out);
    zk_put("/brokers/topics/t2", "{}", 0);
    zk_put("/config/topics/t2", "{\"version\":1,\"config\":{}}", 0);
    zk_put("/admin/delete_topics/t2", "", 0);

    const char *del[] = {"t2", "nosuch"};
    ctrl_out_init(&out);
    ctrl_core_delete_topics(&ctx, del, 2, &out);
    ck_assert_uint_eq(apply(&out), 0);
    ck_assert(ctrl_ctx_topic(&ctx, "t2")->deleting);
    ck_assert_int_eq(ctrl_ctx_part(&ctx, "t2", 0)->state, CTRL_P_NONEXISTENT);
    /* brokers learn leader -2, the replica is told to delete its log */
    ck_assert_int_eq(ctrl_out_find_um(&out, "t2", 1)->leader, CTRL_LEADER_DURING_DELETE);
    ck_assert(ctrl_out_find_stop(&out, 0, "t2", 0)->delete_partition);
    ck_assert(ctrl_out_find_stop(&out, 0, "t2", 1)->delete_partition);
    ck_assert_ptr_null(ctrl_out_find_lai(&out, 0, "t2", 0));
    STATE_EQ("t2", 0, "{\"controller_epoch\":1,\"leader\":-1,\"version\":1,\"leader_epoch\":1,\"isr\":[0]}", 1);
    ck_assert_ptr_nonnull(ctrl_out_find_write(&out, CTRL_ZOP_DELETE, "/admin/delete_topics/nosuch"));
    ctrl_out_fini(&out);
    /* again: already being deleted, nothing new */
    ctrl_out_init(&out);
    ctrl_core_delete_topics(&ctx, del, 1, &out);
    ck_assert_uint_eq(out.n_writes, 0);
    ctrl_out_fini(&out);

    ctrl_out_init(&out);
    ctrl_core_stop_replica_done(&ctx, 0, "t2", 0, 0, &out);
    ck_assert_uint_eq(out.n_writes, 0);   /* partition 1 not yet */
    ctrl_core_stop_replica_done(&ctx, 0, "t2", 1, 0, &out);
    ck_assert_uint_eq(out.n_writes, 3);
    ck_assert_int_eq(out.writes[0].op, CTRL_ZOP_DELETE_TREE);
    ck_assert_str_eq(out.writes[0].path, "/brokers/topics/t2");
    ck_assert_str_eq(out.writes[1].path, "/config/topics/t2");
    ck_assert_str_eq(out.writes[2].path, "/admin/delete_topics/t2");
    ck_assert_uint_eq(apply(&out), 0);
    ck_assert_ptr_null(zk_get("/brokers/topics/t2/partitions/0/state", NULL));
    ck_assert_ptr_null(zk_get("/brokers/topics/t2", NULL));
    ck_assert_ptr_null(zk_get("/admin/delete_topics/t2", NULL));
    ck_assert_ptr_null(ctrl_ctx_topic(&ctx, "t2"));
    ctrl_out_fini(&out);
    zkpaths_topic_free(&t);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(topic_deletion_waits_for_dead_broker)
{
    ctrl_ctx_t ctx;
    ctrl_ctx_init(&ctx, 0, 1, 1);
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t ids[2] = {0, 1};
    live(&ctx, ids, 2, &out);
    static const int32_t r[1][3] = {{0, 1}};
    zkpaths_topic_t t = assignment(1, r, 2);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "d", &t, &out), 0);
    int32_t b0 = 0;
    live(&ctx, &b0, 1, &out);   /* 1 dies */
    ck_assert_uint_eq(apply(&out), 0);
    ctrl_out_fini(&out);
    const char *del[] = {"d"};
    ctrl_out_init(&out);
    ctrl_core_delete_topics(&ctx, del, 1, &out);
    ck_assert_int_eq(ctrl_part_replica(ctrl_ctx_part(&ctx, "d", 0), 1, false)->state, CTRL_R_DELETION_INELIGIBLE);
    ck_assert_ptr_null(ctrl_out_find_stop(&out, 1, "d", 0));
    ctrl_core_stop_replica_done(&ctx, 0, "d", 0, 0, &out);
    ck_assert_ptr_nonnull(ctrl_ctx_topic(&ctx, "d"));   /* replica 1 still pending */
    ctrl_out_fini(&out);
    /* 1 returns: deletion resumes on it */
    ctrl_out_init(&out);
    live(&ctx, ids, 2, &out);
    ck_assert(ctrl_out_find_stop(&out, 1, "d", 0)->delete_partition);
    ck_assert_ptr_null(ctrl_out_find_lai(&out, 1, "d", 0));
    ctrl_core_stop_replica_done(&ctx, 1, "d", 0, 0, &out);
    ck_assert_ptr_null(ctrl_ctx_topic(&ctx, "d"));
    ctrl_out_fini(&out);
    zkpaths_topic_free(&t);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(deletion_disabled)
{
    ctrl_ctx_t ctx;
    ctrl_ctx_init(&ctx, 0, 1, 1);
    ctx.delete_enable = false;
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t b0 = 0;
    live(&ctx, &b0, 1, &out);
    static const int32_t r[1][3] = {{0}};
    zkpaths_topic_t t = assignment(1, r, 1);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "keep", &t, &out), 0);
    ctrl_out_fini(&out);
    const char *del[] = {"keep"};
    ctrl_out_init(&out);
    ctrl_core_delete_topics(&ctx, del, 1, &out);
    ck_assert_uint_eq(out.n_writes, 1);
    ck_assert_str_eq(out.writes[0].path, "/admin/delete_topics/keep");
    ck_assert_uint_eq(out.n_stop, 0);
    ck_assert(!ctrl_ctx_topic(&ctx, "keep")->deleting);
    ctrl_out_fini(&out);
    zkpaths_topic_free(&t);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(partitions_added)
{
    ctrl_ctx_t ctx;
    ctrl_ctx_init(&ctx, 0, 1, 1);
    ctrl_out_t out;
    ctrl_out_init(&out);
    int32_t b0 = 0;
    live(&ctx, &b0, 1, &out);
    static const int32_t r[3][3] = {{0}, {0}, {0}};
    zkpaths_topic_t one = assignment(1, r, 1), three = assignment(3, r, 1);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "grow", &one, &out), 0);
    ck_assert_uint_eq(apply(&out), 0);
    ctrl_out_fini(&out);
    ctrl_out_init(&out);
    ck_assert_int_eq(ctrl_core_partitions_added(&ctx, "grow", &three, &out), 2);
    ck_assert_uint_eq(out.n_writes, 2);
    ck_assert_str_eq(out.writes[0].path, "/brokers/topics/grow/partitions/1/state");
    ck_assert_str_eq(out.writes[1].path, "/brokers/topics/grow/partitions/2/state");
    ck_assert_uint_eq(apply(&out), 0);
    ck_assert(ctrl_out_find_lai(&out, 0, "grow", 2)->is_new);
    ck_assert_ptr_null(ctrl_out_find_lai(&out, 0, "grow", 0));
    ctrl_out_fini(&out);
    ctrl_out_init(&out);
    ck_assert_int_eq(ctrl_core_partitions_added(&ctx, "grow", &three, &out), 0);   /* no change */
    ck_assert_int_eq(ctrl_core_partitions_added(&ctx, "grow", &one, &out), -1);   /* shrinking */
    ck_assert_int_eq(ctrl_core_partitions_added(&ctx, "nosuch", &three, &out), -1);
    ck_assert_uint_eq(out.n_writes, 0);
    ctrl_out_fini(&out);
    zkpaths_topic_free(&one);
    zkpaths_topic_free(&three);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(failover_startup)
{
    /* a new controller (epoch 2) finds: "s" p0 led by 0 (alive), p1 led by 1 (dead), p2 with
     * no state znode yet */
    ctrl_ctx_t ctx;
    ctrl_ctx_init(&ctx, 0, 2, 2);
    int32_t b0 = 0;
    ctrl_ctx_set_live(&ctx, &b0, NULL, 1);
    static const int32_t r[3][3] = {{0, 1}, {1, 0}, {0, 1}};
    zkpaths_topic_t t = assignment(3, r, 2);
    ck_assert_ptr_nonnull(ctrl_ctx_add_topic(&ctx, "s", &t));
    zkpaths_pstate_t s0 = {1, 0, 3, {(int32_t[]){0, 1}, 2}}, s1 = {1, 1, 4, {(int32_t[]){1, 0}, 2}};
    ctrl_ctx_set_state(ctrl_ctx_part(&ctx, "s", 0), &s0, 5);
    ctrl_ctx_set_state(ctrl_ctx_part(&ctx, "s", 1), &s1, 6);
    zk_put("/brokers/topics/s/partitions/0/state", "x", 5);
    zk_put("/brokers/topics/s/partitions/1/state", "x", 6);
    ctrl_out_t out;
    ctrl_out_init(&out);
    ctrl_core_startup(&ctx, &out);
    ck_assert_uint_eq(apply(&out), 0);
    /* p0: 1 leaves the ISR; p1: 0 takes over (in ISR); p2 created with leader 0 */
    STATE_EQ("s", 0, "{\"controller_epoch\":2,\"leader\":0,\"version\":1,\"leader_epoch\":4,\"isr\":[0]}", 6);
    STATE_EQ("s", 1, "{\"controller_epoch\":2,\"leader\":0,\"version\":1,\"leader_epoch\":6,\"isr\":[0]}", 8);
    STATE_EQ("s", 2, "{\"controller_epoch\":2,\"leader\":0,\"version\":1,\"leader_epoch\":0,\"isr\":[0]}", 0);
    for (int p = 0; p < 3; p++)
        ck_assert_int_eq(ctrl_ctx_part(&ctx, "s", p)->state, CTRL_P_ONLINE);
    ck_assert_int_eq(ctrl_part_replica(ctrl_ctx_part(&ctx, "s", 0), 1, false)->state, CTRL_R_OFFLINE);
    ck_assert_uint_eq(out.um_brokers.n, 1);
    ck_assert_int_eq(ctrl_out_find_lai(&out, 0, "s", 1)->zk_version, 8);
    ctrl_out_fini(&out);
    zkpaths_topic_free(&t);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(state_machine_rules)
{
    ctrl_ctx_t ctx;
    ctrl_ctx_init(&ctx, 0, 1, 1);
    int32_t b0 = 0;
    ctrl_ctx_set_live(&ctx, &b0, NULL, 1);
    static const int32_t r[1][3] = {{0}};
    zkpaths_topic_t t = assignment(1, r, 1);
    ck_assert_ptr_nonnull(ctrl_ctx_add_topic(&ctx, "x", &t));
    ck_assert_ptr_null(ctrl_ctx_add_topic(&ctx, "x", &t));
    ctrl_out_t out;
    ctrl_out_init(&out);
    ctrl_tp_t tp = {"x", 0}, bad = {"x", 7}, unknown = {"y", 0};
    /* NonExistent -> Online / Offline are invalid; unknown partitions fail */
    ck_assert_int_eq(ctrl_psm_handle(&ctx, &tp, 1, CTRL_P_ONLINE, CTRL_ELECT_OFFLINE, &out), 1);
    ck_assert_int_eq(ctrl_psm_handle(&ctx, &tp, 1, CTRL_P_OFFLINE, CTRL_ELECT_OFFLINE, &out), 1);
    ck_assert_int_eq(ctrl_psm_handle(&ctx, &bad, 1, CTRL_P_NEW, CTRL_ELECT_OFFLINE, &out), 1);
    ck_assert_int_eq(ctrl_psm_handle(&ctx, &unknown, 1, CTRL_P_NEW, CTRL_ELECT_OFFLINE, &out), 1);
    ck_assert_int_eq(ctrl_psm_handle(&ctx, &tp, 1, CTRL_P_NEW, CTRL_ELECT_OFFLINE, &out), 0);
    ck_assert_int_eq(ctrl_psm_handle(&ctx, &tp, 1, CTRL_P_NONEXISTENT, CTRL_ELECT_OFFLINE, &out), 1);
    ck_assert_uint_eq(out.n_writes, 0);
    /* replicas: New -> DeletionStarted is invalid; Offline -> DeletionStarted is fine */
    ctrl_rep_t rep = {"x", 0, 0};
    ck_assert_int_eq(ctrl_rsm_handle(&ctx, &rep, 1, CTRL_R_ONLINE, &out), 1);
    ck_assert_int_eq(ctrl_rsm_handle(&ctx, &rep, 1, CTRL_R_NEW, &out), 0);
    ck_assert_int_eq(ctrl_rsm_handle(&ctx, &rep, 1, CTRL_R_DELETION_STARTED, &out), 1);
    ck_assert_int_eq(ctrl_rsm_handle(&ctx, &rep, 1, CTRL_R_OFFLINE, &out), 0);
    ck_assert_int_eq(ctrl_rsm_handle(&ctx, &rep, 1, CTRL_R_DELETION_STARTED, &out), 0);
    ck_assert_int_eq(ctrl_rsm_handle(&ctx, &rep, 1, CTRL_R_NONEXISTENT, &out), 1);
    ck_assert_int_eq(ctrl_rsm_handle(&ctx, &rep, 1, CTRL_R_DELETION_SUCCESSFUL, &out), 0);
    ck_assert_int_eq(ctrl_rsm_handle(&ctx, &rep, 1, CTRL_R_NONEXISTENT, &out), 0);
    ck_assert_uint_eq(ctrl_ctx_part(&ctx, "x", 0)->replicas.n, 0);
    ck_assert_str_eq(ctrl_pstate_name(CTRL_P_ONLINE), "OnlinePartition");
    ck_assert_str_eq(ctrl_rstate_name(CTRL_R_DELETION_INELIGIBLE), "ReplicaDeletionIneligible");
    ctrl_out_fini(&out);

    /* assignments the controller cannot use are refused, not crashed on */
    zkpaths_topic_t gap = assignment(1, r, 1);
    gap.parts[0].partition = 3;
    ctrl_out_init(&out);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "gap", &gap, &out), -1);
    ck_assert_int_eq(ctrl_core_topic_created(&ctx, "bad/name", &t, &out), -1);
    ck_assert_uint_eq(out.n_writes, 0);
    ctrl_out_fini(&out);
    zkpaths_topic_free(&gap);
    zkpaths_topic_free(&t);
    ctrl_ctx_fini(&ctx);
}
END_TEST

START_TEST(elections)
{
    int32_t a[] = {2, 0, 1}, isr[] = {0, 1}, lv[] = {0, 1, 2}, lv2[] = {2}, sh[] = {0};
    zkpaths_ilist_t as = {a, 3}, is = {isr, 2}, live = {lv, 3}, live2 = {lv2, 1}, shut = {sh, 1};
    bool u;
    ck_assert_int_eq(ctrl_elect_offline(&as, &is, &live, false, &u), 0);
    ck_assert(!u);
    ck_assert_int_eq(ctrl_elect_offline(&as, &is, &live2, false, &u), CTRL_NO_LEADER);
    ck_assert_int_eq(ctrl_elect_offline(&as, &is, &live2, true, &u), 2);
    ck_assert(u);
    ck_assert_int_eq(ctrl_elect_preferred(&as, &is, &live), CTRL_NO_LEADER);   /* 2 not in ISR */
    int32_t isr3[] = {1, 2};
    zkpaths_ilist_t is3 = {isr3, 2};
    ck_assert_int_eq(ctrl_elect_preferred(&as, &is3, &live), 2);
    ck_assert_int_eq(ctrl_elect_controlled_shutdown(&as, &is, &live, &shut), 1);
    ck_assert_int_eq(ctrl_elect_reassign(&as, &is3, &live), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctrl");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, zk_setup, zk_teardown);
    tcase_add_test(tc, create_topic_one_broker);
    tcase_add_test(tc, create_topic_three_brokers);
    tcase_add_test(tc, broker_failure_with_isr);
    tcase_add_test(tc, broker_failure_no_isr_unclean_disabled);
    tcase_add_test(tc, broker_failure_no_isr_unclean_enabled);
    tcase_add_test(tc, conditional_write_fails);
    tcase_add_test(tc, controlled_shutdown);
    tcase_add_test(tc, topic_deletion);
    tcase_add_test(tc, topic_deletion_waits_for_dead_broker);
    tcase_add_test(tc, deletion_disabled);
    tcase_add_test(tc, partitions_added);
    tcase_add_test(tc, failover_startup);
    tcase_add_test(tc, state_machine_rules);
    tcase_add_test(tc, elections);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
