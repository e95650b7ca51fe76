/* Unit tests: zoo.cfg for ensembles (coord/config.h) — the server.N lines Apache
 * ZooKeeper accepts, myid, peerType, quorumListenOnAllIPs, and the mistakes that must
 * stop the server with a clear message. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "coord/config.h"

static char dir[256];

static void setup(void)
{
    log_set_level(LOG_ERROR);
    snprintf(dir, sizeof dir, "/tmp/gregor-cfgtest-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes zoo.cfg (body, with dataDir prepended) and myid (when id >= 0); loads it. */
static int load(coord_config_t *cfg, const char *body, int id, char *err, size_t errlen)
{
    char path[1024], data[512];
    snprintf(data, sizeof data, "%s/data", dir);
    mkdir(data, 0755);
    if (id >= 0) {
        snprintf(path, sizeof path, "%s/myid", data);
        FILE *f = fopen(path, "w");
        fprintf(f, "%d\n", id);
        fclose(f);
    } else {
        snprintf(path, sizeof path, "%s/myid", data);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/zoo.cfg", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "dataDir=%s\n%s", data, body);
    fclose(f);
    err[0] = '\0';
    return coord_config_load(cfg, path, err, errlen);
}

START_TEST(zookeeper_ensemble_config)
{
    coord_config_t cfg;
    char err[512];
    const char *body = "tickTime=2000\ninitLimit=10\nsyncLimit=5\nclientPort=2181\n"
                       "server.1=zk1.example:2888:3888\n"
                       "server.2=10.0.0.2:2888:3888:participant\n"
                       "server.3=[::1]:2888:3888;2183\n"
                       "server.4=zk4:2888:3888:observer;127.0.0.1:2184\n";
    ck_assert_msg(load(&cfg, body, 2, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cfg.nservers, 4);
    ck_assert_int_eq(cfg.my_id, 2);
    ck_assert(!coord_config_standalone(&cfg));
    ck_assert(cfg.quorum_listen_all);
    ck_assert_str_eq(cfg.servers[0].host, "zk1.example");
    ck_assert_int_eq(cfg.servers[0].quorum_port, 2888);
    ck_assert_int_eq(cfg.servers[0].election_port, 3888);
    ck_assert(!cfg.servers[1].observer);
    ck_assert_str_eq(cfg.servers[2].host, "::1");
    ck_assert_int_eq(cfg.servers[2].client_port, 2183);
    ck_assert(cfg.servers[3].observer);
    ck_assert_str_eq(cfg.servers[3].client_addr, "127.0.0.1");
    ck_assert_int_eq(cfg.init_limit, 10);
    ck_assert_int_eq(cfg.sync_limit, 5);
    coord_config_free(&cfg);

    /* the observer itself; quorumListenOnAllIPs=false honoured; clientPort from server.N */
    const char *obs = "peerType=observer\nquorumListenOnAllIPs=false\n"
                      "server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n"
                      "server.4=d:2888:3888:observer;2185\n";
    ck_assert_msg(load(&cfg, obs, 4, err, sizeof err) == 0, "%s", err);
    ck_assert(!cfg.quorum_listen_all);
    ck_assert_int_eq(cfg.client_port, 2185);
    ck_assert_str_eq(cfg.peer_type, "observer");
    coord_config_free(&cfg);

    /* one server line: standalone */
    ck_assert_msg(load(&cfg, "clientPort=2181\nserver.1=localhost:2888:3888\n", 1, err, sizeof err) == 0, "%s", err);
    ck_assert(coord_config_standalone(&cfg));
    coord_config_free(&cfg);
}
END_TEST

START_TEST(ensemble_mistakes_are_refused)
{
    coord_config_t cfg;
    char err[512];
    const char *three = "clientPort=2181\nserver.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n";
    /* no myid */
    ck_assert_int_eq(load(&cfg, three, -1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "myid"));
    /* myid not listed */
    ck_assert_int_eq(load(&cfg, three, 7, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not among the server.N lines"));
    /* a key given twice: the last one counts (Java properties, as ZooKeeper) */
    ck_assert_msg(load(&cfg, "clientPort=1\nserver.1=a:1:2\nserver.1=b:1:2\n", 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cfg.nservers, 1);
    ck_assert_str_eq(cfg.servers[0].host, "b");
    coord_config_free(&cfg);
    /* only observers */
    ck_assert_int_eq(load(&cfg, "clientPort=1\nserver.1=a:1:2:observer\nserver.2=b:1:2:observer\n", 1, err,
                          sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "observers"));
    /* malformed lines */
    const char *bad[] = {"server.1=a:2888\n", "server.1=a:x:3888\n", "server.1=a:2888:3888:witness\n",
                         "server.1=a:2888:70000\n", "server.x=a:1:2\n", "server.1=[::1:2888:3888\n",
                         "server.1=a:2888:3888;0\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[256];
        snprintf(body, sizeof body, "clientPort=2181\n%sserver.2=b:1:2\n", bad[i]);
        ck_assert_msg(load(&cfg, body, 2, err, sizeof err) == -1, "accepted: %s", bad[i]);
        ck_assert_msg(err[0] != '\0', "no message for %s", bad[i]);
    }
    ck_assert_int_eq(load(&cfg, "clientPort=1\nquorumListenOnAllIPs=maybe\n", 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "quorumListenOnAllIPs"));
    /* peerType disagreeing with the server list: accepted, the list wins */
    ck_assert_msg(load(&cfg, "clientPort=1\npeerType=observer\nserver.1=a:1:2\nserver.2=b:1:2\n", 1, err,
                       sizeof err) == 0, "%s", err);
    coord_config_free(&cfg);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("config");
    TCase *tc = tcase_create("ensemble");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, zookeeper_ensemble_config);
    tcase_add_test(tc, ensemble_mistakes_are_refused);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
