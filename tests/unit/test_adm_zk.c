/* Unit tests: badm_create_topic (the auto-creation entry point Metadata and FindCoordinator
 * use) and the admin module's life cycle, against a real gregor-coord spawned from the same
 * build (build/bin next to this test's directory) on a free loopback port. Checks the
 * znodes written, Kafka's errors and messages, "done exactly once", the producer id block
 * claimed at start, and that badm_free with a create in flight still calls back exactly once
 * and leaks nothing (run under valgrind by `make valgrind`). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/admin.h"
#include "broker/config.h"
#include "common/clock.h"
#include "common/log.h"

static pid_t coord_pid = -1;
static char coord_dir[PATH_MAX];
static int coord_port;

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

static void coord_stop(void)
{
    if (coord_pid > 0) {
        kill(coord_pid, SIGKILL);
        waitpid(coord_pid, NULL, 0);
        coord_pid = -1;
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", coord_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", coord_dir);
    }
}

/* Starts build/bin/gregor-coord (found from /proc/self/exe). false if it is not built. */
static bool coord_start(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *s = strrchr(exe, '/');
    *s = '\0';                          /* build/tests */
    s = strrchr(exe, '/');
    *s = '\0';                          /* build */
    char bin[PATH_MAX + 32];
    snprintf(bin, sizeof bin, "%s/bin/gregor-coord", exe);
    if (access(bin, X_OK) != 0)
        return false;
    snprintf(coord_dir, sizeof coord_dir, "/tmp/test_adm_zk.XXXXXX");
    if (!mkdtemp(coord_dir))
        return false;
    coord_port = free_port();
    char cfg[PATH_MAX + 16];
    snprintf(cfg, sizeof cfg, "%s/zoo.cfg", coord_dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f, "tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n", coord_dir,
            coord_port);
    fclose(f);
    coord_pid = fork();
    if (coord_pid == 0) {
        int fd = open("/dev/null", 1);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bin, bin, cfg, (char *)NULL);
        _exit(127);
    }
    return coord_pid > 0;
}

typedef struct env_s {
    bcfg_t cfg;
    struct event_base *base;
    broker_t b;
} env_t;

static void env_open(env_t *e)
{
    memset(e, 0, sizeof *e);
    char text[256], err[256];
    snprintf(text, sizeof text, "zookeeper.connect=127.0.0.1:%d\nnum.partitions=3\nbroker.id=0\n", coord_port);
    bcfg_src_t src = {.text = text, .hostname = "localhost"};
    ck_assert_int_eq(bcfg_load(&e->cfg, &src, err, sizeof err), 0);
    e->base = event_base_new();
    e->b.cfg = &e->cfg;
    e->b.base = e->base;
    e->b.id = 0;
    zkc_config_t zc = {.connect = e->cfg.zookeeper_connect, .session_timeout_ms = 6000};
    int zerr = 0;
    for (int i = 0; i < 100; i++) {   /* the coordinator may still be starting */
        e->b.zk = zkc_new(e->base, &zc, &zerr);
        if (e->b.zk && zkc_wait_connected(e->b.zk, 200) == ZOK)
            break;
        zkc_free(e->b.zk);
        e->b.zk = NULL;
    }
    ck_assert_ptr_nonnull(e->b.zk);
}

static void env_close(env_t *e)
{
    zkc_sync_close(e->b.zk);
    zkc_free(e->b.zk);
    event_base_free(e->base);
    bcfg_free(&e->cfg);
}

static void create_path(env_t *e, const char *path, const char *data, int mode)
{
    zkc_create_t c = {.path = path, .data = data, .len = data ? (int32_t)strlen(data) : -1, .mode = mode};
    zkc_reply_t r;
    int rc = zkc_sync_create(e->b.zk, &c, &r);
    zkc_reply_free(&r);
    ck_assert(rc == ZOK || rc == ZNODEEXISTS);
}

/* The znode's data as a string ("" if null), or NULL if it does not exist. */
static char *get(env_t *e, const char *path)
{
    zkc_reply_t r;
    int rc = zkc_sync_get_data(e->b.zk, path, NULL, &r);
    char *s = NULL;
    if (rc == ZOK)
        s = strndup(r.data.len > 0 ? (const char *)r.data.data : "", r.data.len > 0 ? (size_t)r.data.len : 0);
    zkc_reply_free(&r);
    return s;
}

typedef struct outcome_s {
    int calls;
    int16_t err;
    char msg[256];
} outcome_t;

static void on_done(void *arg, int16_t error, const char *message)
{
    outcome_t *o = arg;
    o->calls++;
    o->err = error;
    snprintf(o->msg, sizeof o->msg, "%s", message ? message : "");
}

static void wait_done(env_t *e, outcome_t *o)
{
    int64_t end = clock_mono_ms() + 10000;
    while (o->calls == 0 && clock_mono_ms() < end)
        event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    ck_assert_int_eq(o->calls, 1);
}

START_TEST(create_topic_api)
{
    if (!coord_start()) {
        fprintf(stderr, "gregor-coord not built: test skipped\n");
        return;
    }
    env_t e;
    env_open(&e);
    create_path(&e, "/brokers", NULL, 0);
    create_path(&e, "/brokers/ids", NULL, 0);
    create_path(&e, "/brokers/ids/0", "{\"version\":4,\"host\":\"127.0.0.1\",\"port\":9092,\"jmx_port\":-1,"
                "\"timestamp\":\"1\",\"endpoints\":[\"PLAINTEXT://127.0.0.1:9092\"],"
                "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"}}", ZK_EPHEMERAL);
    badm_t *a = badm_new(&e.b);
    ck_assert_ptr_nonnull(a);

    outcome_t o = {0};
    badm_create_topic(a, "auto1", 0, 0, NULL, 0, on_done, &o);
    wait_done(&e, &o);
    ck_assert_int_eq(o.err, 0);
    char *s = get(&e, "/brokers/topics/auto1");
    ck_assert_str_eq(s, "{\"version\":2,\"partitions\":{\"2\":[0],\"1\":[0],\"0\":[0]},"
                        "\"adding_replicas\":{},\"removing_replicas\":{}}");
    free(s);
    s = get(&e, "/config/topics/auto1");
    ck_assert_str_eq(s, "{\"version\":1,\"config\":{}}");
    free(s);

    memset(&o, 0, sizeof o);
    badm_create_topic(a, "auto1", 1, 1, NULL, 0, on_done, &o);
    wait_done(&e, &o);
    ck_assert_int_eq(o.err, 36);
    ck_assert_str_eq(o.msg, "Topic 'auto1' already exists.");

    const char *cfg[] = {"cleanup.policy", "compact", "segment.bytes", "104857600"};
    memset(&o, 0, sizeof o);
    badm_create_topic(a, "__consumer_offsets", 2, 1, cfg, 2, on_done, &o);
    wait_done(&e, &o);
    ck_assert_int_eq(o.err, 0);
    s = get(&e, "/config/topics/__consumer_offsets");
    ck_assert_str_eq(s, "{\"version\":1,\"config\":{\"segment.bytes\":\"104857600\",\"cleanup.policy\":\"compact\"}}");
    free(s);

    memset(&o, 0, sizeof o);
    badm_create_topic(a, "bad name", 1, 1, NULL, 0, on_done, &o);   /* answered before returning */
    ck_assert_int_eq(o.calls, 1);
    ck_assert_int_eq(o.err, 17);

    memset(&o, 0, sizeof o);
    badm_create_topic(a, "rf2", 1, 2, NULL, 0, on_done, &o);
    wait_done(&e, &o);
    ck_assert_int_eq(o.err, 38);
    ck_assert_str_eq(o.msg, "Replication factor: 2 larger than available brokers: 1.");

    /* the producer id block claimed at start */
    int64_t end = clock_mono_ms() + 5000;
    while (!(s = get(&e, "/latest_producer_id_block")) || !*s) {
        free(s);
        ck_assert(clock_mono_ms() < end);
        event_base_loop(e.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
    ck_assert_str_eq(s, "{\"version\":1,\"broker\":0,\"block_start\":\"0\",\"block_end\":\"999\"}");
    free(s);

    /* the config change listener: /config/changes does not exist yet (exist-watch) */
    ck_assert_int_eq(badm_last_config_change(a), -1);
    create_path(&e, "/config", NULL, 0);
    create_path(&e, "/config/changes", NULL, 0);
    create_path(&e, "/config/changes/config_change_", "{\"version\":2,\"entity_path\":\"topics/auto1\"}",
                ZK_PERSISTENT_SEQUENTIAL);
    end = clock_mono_ms() + 5000;
    while (badm_last_config_change(a) != 0 && clock_mono_ms() < end)
        event_base_loop(e.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    ck_assert_int_eq(badm_last_config_change(a), 0);
    /* a new session (after an expiry): the watch is set again */
    zkc_t *old = e.b.zk;
    zkc_config_t zc = {.connect = e.cfg.zookeeper_connect, .session_timeout_ms = 6000};
    int zerr = 0;
    e.b.zk = zkc_new(e.base, &zc, &zerr);
    ck_assert_int_eq(zkc_wait_connected(e.b.zk, 5000), ZOK);
    zkc_sync_close(old);
    zkc_free(old);
    badm_session_renewed(a);
    create_path(&e, "/config/changes/config_change_", "{\"version\":1,\"entity_type\":\"topics\","
                "\"entity_name\":\"auto1\"}", ZK_PERSISTENT_SEQUENTIAL);
    end = clock_mono_ms() + 5000;
    while (badm_last_config_change(a) != 1 && clock_mono_ms() < end)
        event_base_loop(e.base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    ck_assert_int_eq(badm_last_config_change(a), 1);
    /* old notifications are deleted when the next change is processed */
    badm_set_config_change_expiry(a, 0);
    usleep(20000);
    create_path(&e, "/config/changes/config_change_", "{\"version\":2,\"entity_path\":\"clients/c\"}",
                ZK_PERSISTENT_SEQUENTIAL);
    end = clock_mono_ms() + 5000;
    for (;;) {
        zkc_reply_t r;
        ck_assert_int_eq(zkc_sync_get_children(e.b.zk, "/config/changes", NULL, &r), ZOK);
        int32_t n = r.strings.n;
        zkc_reply_free(&r);
        if (n <= 1 && badm_last_config_change(a) == 2)
            break;   /* 0 and 1 are gone (2 may be too once it is old enough) */
        ck_assert(clock_mono_ms() < end);
        event_base_loop(e.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
    s = get(&e, "/config/changes/config_change_0000000000");
    ck_assert_ptr_null(s);

    /* freed with a create in flight: called back once, with an error, no leak */
    memset(&o, 0, sizeof o);
    badm_create_topic(a, "late", 1, 1, NULL, 0, on_done, &o);
    badm_free(a);
    wait_done(&e, &o);
    ck_assert_int_eq(o.err, -1);
    env_close(&e);
    coord_stop();
}
END_TEST

int main(void)
{
    log_set_level(LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("adm_zk");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, create_topic_api);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    coord_stop();
    return failed ? 1 : 0;
}
