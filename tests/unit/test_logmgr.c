/* Unit tests: broker/logmgr — many partitions over two log dirs, checkpoint files and the clean
 * shutdown marker, reopen after a clean and an unclean stop, a torn tail found at reopen, the
 * directory lock, meta.properties checks, deletion and "-delete" leftovers, periodic jobs as
 * functions of now, and a child process killed with SIGKILL between acknowledged appends. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/log.h"
#include "broker/logckpt.h"
#include "broker/logmgr.h"
#include "common/alloc.h"
#include "common/log.h"
#include "proto/kafka_err.h"
#include "tests/unit/test_log_util.h"

#define NOW 1700000000000LL

static lmgr_t *open_mgr(const char *const *dirs, size_t n, int64_t now)
{
    lmgr_config_t c;
    lmgr_config_default(&c);
    c.dirs = dirs;
    c.ndirs = n;
    c.defaults.segment_bytes = 8000;
    c.defaults.index_interval_bytes = 512;
    lmgr_t *m;
    char err[512];
    int rc = lmgr_open(&c, now, &m, err, sizeof err);
    ck_assert_msg(rc == 0, "lmgr_open: %s", err);
    return m;
}

static bool exists(const char *dir, const char *name)
{
    char *p = xasprintf("%s/%s", dir, name);
    struct stat st;
    bool r = stat(p, &st) == 0;
    free(p);
    return r;
}

static int ckpt_count(const char *dir, const char *name)
{
    char *p = xasprintf("%s/%s", dir, name);
    lckpt_t c;
    lckpt_init(&c);
    char err[256];
    ck_assert_int_eq(lckpt_read(p, &c, err, sizeof err), 0);
    int n = (int)c.n;
    lckpt_free(&c);
    free(p);
    return n;
}

START_TEST(many_partitions_two_dirs_round_trip)
{
    char *d1 = tl_newdir(), *d2 = tl_newdir();
    const char *dirs[] = {d1, d2};
    lmgr_t *m = open_mgr(dirs, 2, NOW);
    char err[512];
    ck_assert_int_eq(lmgr_check_meta(m, 3, "clusterA", err, sizeof err), 0);
    const int NT = 20, NP = 10;
    for (int t = 0; t < NT; t++) {
        char topic[32];
        snprintf(topic, sizeof topic, "topic-%d", t);
        for (int p = 0; p < NP; p++) {
            plog_t *l;
            ck_assert_int_eq(lmgr_get_or_create(m, topic, p, NULL, NOW, &l), 0);
            int64_t leo = tl_fill(l, 1 + (t + p) % 5, 3, NOW, 120, NOW);
            plog_set_high_watermark(l, leo - 1);
        }
    }
    ck_assert_int_eq((long)lmgr_count(m), NT * NP);
    ck_assert_int_eq(lmgr_close(m, true), 0);
    ck_assert(exists(d1, ".kafka_cleanshutdown"));
    ck_assert(exists(d2, ".kafka_cleanshutdown"));
    ck_assert(exists(d1, "meta.properties"));
    int n1 = ckpt_count(d1, LCKPT_RECOVERY), n2 = ckpt_count(d2, LCKPT_RECOVERY);
    ck_assert_int_eq(n1 + n2, NT * NP);
    ck_assert_int_eq(n1, n2);              /* the emptier dir gets each new log */
    ck_assert_int_eq(ckpt_count(d1, LCKPT_REPLICATION) + ckpt_count(d2, LCKPT_REPLICATION), NT * NP);
    ck_assert_int_eq(ckpt_count(d1, LCKPT_LOG_START) + ckpt_count(d2, LCKPT_LOG_START), NT * NP);

    m = open_mgr(dirs, 2, NOW);
    ck_assert(!exists(d1, ".kafka_cleanshutdown"));     /* consumed at open */
    ck_assert_int_eq((long)lmgr_count(m), NT * NP);
    for (int t = 0; t < NT; t++) {
        char topic[32];
        snprintf(topic, sizeof topic, "topic-%d", t);
        for (int p = 0; p < NP; p++) {
            plog_t *l = lmgr_get(m, topic, p);
            ck_assert_ptr_nonnull(l);
            int64_t leo = 3 * (1 + (t + p) % 5);
            ck_assert_int_eq(plog_end_offset(l), leo);
            ck_assert_int_eq(plog_high_watermark(l), leo - 1);
            ck_assert_int_eq(plog_recovery_point(l), leo);
            ck_assert_int_eq(tl_read_all(l, 0, leo, 1 << 20, 120, true), leo);
        }
    }
    ck_assert_ptr_null(lmgr_get(m, "topic-0", NP));
    /* meta.properties: a different broker.id or cluster is refused */
    ck_assert_int_eq(lmgr_check_meta(m, 3, "clusterA", err, sizeof err), 0);
    ck_assert_int_eq(lmgr_check_meta(m, 4, "clusterA", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "doesn't match stored broker.id 3"));
    ck_assert_int_eq(lmgr_check_meta(m, 3, "clusterB", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "clusterA"));
    /* a second manager on the same dir is refused */
    lmgr_config_t c;
    lmgr_config_default(&c);
    c.dirs = dirs;
    c.ndirs = 1;
    lmgr_t *m2;
    ck_assert_int_eq(lmgr_open(&c, NOW, &m2, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ".lock"));
    ck_assert_int_eq(lmgr_close(m, true), 0);
    free(d1);
    free(d2);
}
END_TEST

START_TEST(unclean_stop_recovers_torn_tail)
{
    char *d = tl_newdir();
    const char *dirs[] = {d};
    lmgr_t *m = open_mgr(dirs, 1, NOW);
    plog_t *l;
    ck_assert_int_eq(lmgr_get_or_create(m, "t", 0, NULL, NOW, &l), 0);
    tl_fill(l, 10, 3, NOW, 200, NOW);
    ck_assert_int_eq(lmgr_checkpoint(m, LMGR_DUE_ALL_CKPT), 0);
    tl_fill(l, 30, 3, NOW, 200, NOW);          /* several rolls after the checkpoint */
    ck_assert_int_ge((long)plog_segment_count(l), 3);
    char *pd = xstrdup(plog_dir(l));
    ck_assert_int_eq(lmgr_close(m, false), 0);  /* as a crash leaves it: no marker */
    ck_assert(!exists(d, ".kafka_cleanshutdown"));
    /* tear the newest segment's last batch */
    DIR *dd = opendir(pd);
    struct dirent *e;
    char newest[256] = "";
    while ((e = readdir(dd)) != NULL)
        if (strlen(e->d_name) == 24 && strcmp(e->d_name + 20, ".log") == 0 && strcmp(e->d_name, newest) > 0)
            snprintf(newest, sizeof newest, "%s", e->d_name);
    closedir(dd);
    char *lp = xasprintf("%s/%s", pd, newest);
    ck_assert_int_eq(truncate(lp, tl_file_size(lp) - 20), 0);
    m = open_mgr(dirs, 1, NOW);
    l = lmgr_get(m, "t", 0);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(plog_end_offset(l), 117);
    ck_assert_int_eq(tl_read_all(l, 0, 117, 1 << 20, 200, true), 117);
    ck_assert_int_eq(lmgr_close(m, true), 0);
    free(lp);
    free(pd);
    free(d);
}
END_TEST

START_TEST(delete_and_leftovers)
{
    char *d = tl_newdir();
    const char *dirs[] = {d};
    lmgr_t *m = open_mgr(dirs, 1, NOW);
    plog_t *l;
    ck_assert_int_eq(lmgr_get_or_create(m, "doomed", 2, NULL, NOW, &l), 0);
    tl_fill(l, 5, 3, NOW, 200, NOW);
    ck_assert_int_eq(lmgr_delete(m, "doomed", 2), 0);
    ck_assert_int_eq(lmgr_delete(m, "doomed", 2), -KERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert(!exists(d, "doomed-2"));
    ck_assert_int_eq((long)lmgr_count(m), 0);
    ck_assert_int_eq(lmgr_close(m, true), 0);
    /* a deletion interrupted by a crash leaves a -delete dir: removed at open */
    char *left = xasprintf("%s/old-0.0123456789abcdef0123456789abcdef-delete", d);
    ck_assert_int_eq(mkdir(left, 0755), 0);
    char *f = xasprintf("%s/00000000000000000000.log", left);
    ck_assert_int_eq(lckpt_write_atomic(f, "x", 1, false), 0);
    m = open_mgr(dirs, 1, NOW);
    struct stat st;
    ck_assert_int_ne(stat(left, &st), 0);
    ck_assert_int_eq((long)lmgr_count(m), 0);
    ck_assert_int_eq(lmgr_close(m, true), 0);
    free(f);
    free(left);
    free(d);
}
END_TEST

START_TEST(periodic_jobs_by_now)
{
    char *d = tl_newdir();
    const char *dirs[] = {d};
    lmgr_config_t c;
    lmgr_config_default(&c);
    c.dirs = dirs;
    c.ndirs = 1;
    c.defaults.segment_bytes = 4000;
    c.defaults.retention_ms = 60000;
    lmgr_t *m;
    char err[256];
    ck_assert_int_eq(lmgr_open(&c, NOW, &m, err, sizeof err), 0);
    ck_assert_uint_eq(lmgr_due(m, NOW), 0);
    ck_assert_uint_eq(lmgr_due(m, NOW + 999), 0);
    ck_assert_uint_eq(lmgr_due(m, NOW + 1000), LMGR_DUE_FLUSH);
    ck_assert_uint_eq(lmgr_due(m, NOW + 5000), LMGR_DUE_FLUSH | LMGR_DUE_HW);
    ck_assert_uint_eq(lmgr_due(m, NOW + 15000), LMGR_DUE_FLUSH | LMGR_DUE_HW | LMGR_DUE_CLEANER);
    ck_assert_uint_eq(lmgr_due(m, NOW + 300000), 0x3fu);
    plog_t *l;
    ck_assert_int_eq(lmgr_get_or_create(m, "r", 0, NULL, NOW, &l), 0);
    tl_fill(l, 40, 3, NOW, 200, NOW);           /* record times NOW.. */
    plog_set_high_watermark(l, plog_end_offset(l));
    size_t nseg = plog_segment_count(l);
    ck_assert_int_gt((long)nseg, 3);
    /* the flush of rolled segments comes at the first flush check */
    int64_t next = lmgr_tick(m, NOW + 1000);
    ck_assert_int_eq(next, NOW + 2000);
    ck_assert_int_eq(plog_recovery_point(l), plog_end_offset(l));
    /* HW checkpoint at 5 s */
    ck_assert(!exists(d, LCKPT_REPLICATION));
    lmgr_tick(m, NOW + 5000);
    ck_assert(exists(d, LCKPT_REPLICATION));
    ck_assert(!exists(d, LCKPT_RECOVERY));
    /* retention at 300 s: all data is older than 60 s by record time */
    lmgr_tick(m, NOW + 300000);
    ck_assert_int_eq((long)plog_segment_count(l), 1);
    ck_assert_int_eq(plog_start_offset(l), plog_end_offset(l));
    ck_assert(exists(d, LCKPT_RECOVERY));
    ck_assert_int_eq(lmgr_close(m, true), 0);
    free(d);
}
END_TEST

/* The child appends and reports each acknowledged LEO through a pipe; the parent kills it
 * with SIGKILL at some point and checks that every acknowledged record is there. */
START_TEST(kill9_keeps_acknowledged_appends)
{
    for (int round = 0; round < 3; round++) {
        char *d = tl_newdir();
        const char *dirs[] = {d};
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            lmgr_t *m = open_mgr(dirs, 1, NOW);
            plog_t *l;
            if (lmgr_get_or_create(m, "k9", 0, NULL, NOW, &l) != 0)
                _exit(2);
            buf_t b = BUF_INIT;
            for (;;) {
                buf_reset(&b);
                int64_t base = plog_end_offset(l);
                tl_batch(&b, base, 4, NOW + base, 200);
                if (plog_append(l, b.data, b.len, NOW, NULL) != 0)
                    _exit(3);
                int64_t leo = plog_end_offset(l);
                if (write(fds[1], &leo, sizeof leo) != sizeof leo)
                    _exit(4);
            }
        }
        close(fds[1]);
        int64_t acked = 0, v;
        int64_t stop_at = 500 + round * 700;
        while (acked < stop_at && read(fds[0], &v, sizeof v) == sizeof v)
            acked = v;
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        while (read(fds[0], &v, sizeof v) == sizeof v)   /* acks sent before the kill */
            acked = v;
        close(fds[0]);
        ck_assert(WIFSIGNALED(status));
        lmgr_t *m = open_mgr(dirs, 1, NOW);
        plog_t *l = lmgr_get(m, "k9", 0);
        ck_assert_ptr_nonnull(l);
        ck_assert_int_ge(plog_end_offset(l), acked);
        ck_assert_int_eq(tl_read_all(l, 0, plog_end_offset(l), 1 << 20, 200, true), plog_end_offset(l));
        ck_assert_int_eq(lmgr_close(m, true), 0);
        free(d);
    }
}
END_TEST

int main(void)
{
    if (!getenv("GREGOR_LOG"))
        log_set_level(LOG_OFF);
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("logmgr");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, many_partitions_two_dirs_round_trip);
    tcase_add_test(tc, unclean_stop_recovers_torn_tail);
    tcase_add_test(tc, delete_and_leftovers);
    tcase_add_test(tc, periodic_jobs_by_now);
    tcase_add_test(tc, kill9_keeps_acknowledged_appends);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tl_cleanup();
    return failed ? 1 : 0;
}
