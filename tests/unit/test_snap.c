/* Unit tests: coord/snap — atomic write, streamed write, verified load with fallback to an
 * older snapshot, purge of snapshots and txn logs (recovery still possible afterwards). */
#include <check.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "coord/snap.h"
#include "coord/txnlog.h"

static char g_root[] = "/tmp/gregor-test-snap-XXXXXX";

static char *tdir(const char *name)
{
    char *d = xasprintf("%s/%s", g_root, name);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    return d;
}

static char *snappath(const char *dir, int64_t zxid)
{
    return xasprintf("%s/version-2/snapshot.%" PRIx64, dir, (uint64_t)zxid);
}

static int64_t fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = xmalloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 2654435761u >> 13 ^ seed);
    return p;
}

static void put_snap(const char *dir, int64_t zxid, size_t len)
{
    uint8_t *p = pattern(len, (unsigned)zxid);
    char err[256];
    ck_assert_msg(snap_write(dir, zxid, p, len, err, sizeof err) == 0, "%s", err);
    free(p);
}

/* Loads the latest snapshot and checks it is zxid with the pattern for len bytes. */
static void expect_latest(const char *dir, int64_t zxid, size_t len)
{
    int64_t z = -1;
    uint8_t *data = NULL;
    size_t n = 0;
    char err[512];
    ck_assert_msg(snap_load_latest(dir, &z, &data, &n, err, sizeof err) == 1, "%s", err);
    ck_assert_int_eq(z, zxid);
    ck_assert_uint_eq(n, len);
    uint8_t *want = pattern(len, (unsigned)zxid);
    ck_assert(memcmp(data, want, len) == 0);
    free(want);
    free(data);
}

static void flip_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    if (off < 0)
        fseek(f, off, SEEK_END);
    else
        fseek(f, off, SEEK_SET);
    long pos = ftell(f);
    int c = fgetc(f);
    ck_assert_int_ne(c, EOF);
    fseek(f, pos, SEEK_SET);
    fputc(c ^ 0x20, f);
    ck_assert_int_eq(fclose(f), 0);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static size_t count_entries(const char *dir)
{
    char *v2 = xasprintf("%s/version-2", dir);
    char *cmd = xasprintf("ls -A %s | wc -l", v2);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = 0;
    ck_assert_int_eq(fscanf(f, "%zu", &n), 1);
    pclose(f);
    free(cmd);
    free(v2);
    return n;
}

START_TEST(write_and_load_round_trip)
{
    char *d = tdir("round_trip");
    int64_t z;
    uint8_t *data = (uint8_t *)"x";
    size_t n;
    char err[256];
    ck_assert_int_eq(snap_load_latest(d, &z, &data, &n, err, sizeof err), 0); /* none */
    ck_assert_ptr_null(data);
    put_snap(d, 0x100000005LL, 1000);
    put_snap(d, 0x100000009LL, 0); /* an empty body is legal */
    put_snap(d, 0x10000000aLL, 70000);
    expect_latest(d, 0x10000000aLL, 70000);
    /* ZooKeeper-style names; no temp files left behind */
    char *p = xasprintf("%s/version-2/snapshot.10000000a", d);
    ck_assert_int_eq(fsize(p), 28 + 70000 + 16);
    ck_assert_uint_eq(count_entries(d), 3);
    ck_assert_int_eq(snap_dir_bytes(d), (28 + 16) * 3 + 1000 + 0 + 70000);
    int64_t *zs;
    ck_assert_int_eq(snap_list_files(d, &zs, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(zs[0], 0x100000005LL);
    free(zs);
    /* rewriting the same zxid replaces the file atomically */
    put_snap(d, 0x10000000aLL, 10);
    expect_latest(d, 0x10000000aLL, 10);
    /* a path that is not a directory */
    ck_assert_int_eq(snap_write(p, 1, "a", 1, err, sizeof err), -1);
    ck_assert(strlen(err) > 0);
    free(p);
    free(d);
}
END_TEST

START_TEST(streamed_write_large)
{
    char *d = tdir("streamed");
    size_t total = 20u << 20;
    uint8_t *p = pattern(total, 77);
    snap_writer_t *w;
    char err[256];
    ck_assert_int_eq(snap_writer_begin(&w, d, 77, err, sizeof err), 0);
    size_t off = 0, step = 1;
    while (off < total) { /* pieces from 1 byte to several MiB */
        size_t n = step < total - off ? step : total - off;
        ck_assert_int_eq(snap_writer_write(w, p + off, n, err, sizeof err), 0);
        off += n;
        step = step * 3 + 1;
        if (step > (4u << 20))
            step = 7;
    }
    /* not visible until committed */
    int64_t z;
    uint8_t *data;
    size_t n;
    ck_assert_int_eq(snap_load_latest(d, &z, &data, &n, err, sizeof err), 0);
    ck_assert_int_eq(snap_writer_commit(w, err, sizeof err), 0);
    expect_latest(d, 77, total);
    /* an aborted writer leaves nothing */
    ck_assert_int_eq(snap_writer_begin(&w, d, 99, err, sizeof err), 0);
    ck_assert_int_eq(snap_writer_write(w, p, 100, err, sizeof err), 0);
    snap_writer_abort(w);
    ck_assert_uint_eq(count_entries(d), 1);
    expect_latest(d, 77, total);
    free(p);
    free(d);
}
END_TEST

START_TEST(damaged_newest_falls_back)
{
    char *d = tdir("fallback");
    put_snap(d, 10, 5000);
    put_snap(d, 20, 5000);
    put_snap(d, 30, 5000);
    char *p30 = snappath(d, 30), *p20 = snappath(d, 20), *p10 = snappath(d, 10);
    flip_byte(p30, 2000); /* body */
    expect_latest(d, 20, 5000);
    truncate(p20, 3000); /* cut short */
    expect_latest(d, 10, 5000);
    /* the variants: trailer, header, emptied, header zxid that disagrees with the name */
    put_snap(d, 40, 100);
    char *p40 = snappath(d, 40);
    flip_byte(p40, -2);
    expect_latest(d, 10, 5000);
    put_snap(d, 50, 100);
    char *p50 = snappath(d, 50);
    flip_byte(p50, 1);
    expect_latest(d, 10, 5000);
    put_snap(d, 60, 100);
    char *p60 = snappath(d, 60);
    truncate(p60, 0);
    expect_latest(d, 10, 5000);
    char *p70 = snappath(d, 70);
    ck_assert_int_eq(rename(p10, p70), 0); /* snapshot.46 (0x46 = 70) holds zxid 10 */
    int64_t z;
    uint8_t *data = NULL;
    size_t n;
    char err[512];
    /* nothing intact: an error, not an empty tree */
    ck_assert_int_eq(snap_load_latest(d, &z, &data, &n, err, sizeof err), -1);
    ck_assert_ptr_null(data);
    ck_assert_msg(strstr(err, "intact") && strstr(err, "snapshot.46"), "%s", err);
    free(p10);
    free(p20);
    free(p30);
    free(p40);
    free(p50);
    free(p60);
    free(p70);
    free(d);
}
END_TEST

/* Writes log files whose first zxids are `starts` (ending at `end`). */
static void write_logs(const char *dir, const int64_t *starts, size_t n, int64_t end)
{
    txnlog_opts_t o = {.dir = dir, .force_sync = false};
    txnlog_t *log;
    char err[256];
    ck_assert_int_eq(txnlog_open(&log, &o, starts[0] - 1, err, sizeof err), 0);
    size_t next = 1;
    for (int64_t z = starts[0]; z <= end; z++) {
        if (next < n && z == starts[next]) {
            ck_assert_int_eq(txnlog_sync(log, err, sizeof err), 0);
            txnlog_roll(log);
            next++;
        }
        uint8_t b[8];
        memcpy(b, &z, sizeof b);
        ck_assert_int_eq(txnlog_append(log, z, b, sizeof b), 0);
    }
    ck_assert_int_eq(txnlog_sync(log, err, sizeof err), 0);
    txnlog_close(log);
}

typedef struct chk_s {
    int64_t next;
    int bad;
} chk_t;

static int check_seq(void *ctx, int64_t zxid, const uint8_t *rec, size_t len)
{
    chk_t *c = ctx;
    int64_t v;
    if (len != sizeof v)
        c->bad++;
    memcpy(&v, rec, sizeof v);
    if (zxid != c->next || v != zxid)
        c->bad++;
    c->next = zxid + 1;
    return 0;
}

/* After purge, recovery from each retained snapshot still finds every later txn. */
static void expect_recoverable(const char *log_dir, int64_t snap_zxid, int64_t end)
{
    chk_t c = {snap_zxid + 1, 0};
    int64_t last;
    char err[256];
    ck_assert_msg(txnlog_replay(log_dir, snap_zxid, check_seq, &c, &last, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c.bad, 0);
    ck_assert_int_eq(c.next, end + 1);
    ck_assert_int_eq(last, end);
}

START_TEST(purge_keeps_what_is_needed)
{
    char *sd = tdir("purge_snap");
    char *ld = tdir("purge_log");
    static const int64_t starts[] = {1, 15, 25, 35, 45, 55};
    write_logs(ld, starts, 6, 64);
    for (int64_t z = 10; z <= 60; z += 10)
        put_snap(sd, z, 100);
    char err[256];
    /* retain below the minimum counts as 3: keep snapshots 40, 50, 60; logs 35, 45, 55 */
    ck_assert_int_eq(snap_purge(sd, ld, 1, err, sizeof err), 6);
    int64_t *z;
    size_t n;
    ck_assert_int_eq(snap_list_files(sd, &z, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert(z[0] == 40 && z[1] == 50 && z[2] == 60);
    free(z);
    ck_assert_int_eq(txnlog_list_files(ld, &z, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert(z[0] == 35 && z[1] == 45 && z[2] == 55);
    free(z);
    for (int64_t s = 40; s <= 60; s += 10)
        expect_recoverable(ld, s, 64);
    /* nothing more to do */
    ck_assert_int_eq(snap_purge(sd, ld, 3, err, sizeof err), 0);
    /* newer snapshots move the oldest retained one into the last log file */
    put_snap(sd, 55, 100);
    put_snap(sd, 62, 100);
    put_snap(sd, 63, 100);
    /* retained: 63, 62, 60 -> oldest 60 lies in log 55: 35 and 45 go, and snapshots 40..55 */
    ck_assert_int_eq(snap_purge(sd, ld, 3, err, sizeof err), 5);
    expect_recoverable(ld, 60, 64);
    ck_assert_int_eq(txnlog_list_files(ld, &z, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 1);
    free(z);
    ck_assert_int_gt(txnlog_dir_bytes(ld), 0);
    free(sd);
    free(ld);
}
END_TEST

START_TEST(purge_with_damaged_snapshot_and_no_snapshots)
{
    char *sd = tdir("purge2_snap");
    char *ld = tdir("purge2_log");
    static const int64_t starts[] = {1, 11, 21, 31, 41};
    write_logs(ld, starts, 5, 50);
    char err[256];
    /* no snapshot: logs are the only copy, nothing may go */
    ck_assert_int_eq(snap_purge(sd, ld, 3, err, sizeof err), 0);
    ck_assert_int_eq(txnlog_dir_bytes(ld) > 0, 1);
    for (int64_t z = 10; z <= 50; z += 10)
        put_snap(sd, z, 100);
    char *p50 = snappath(sd, 50);
    truncate(p50, 50); /* damaged newest: does not count, and is not removed */
    /* intact kept: 40, 30, 20 -> snapshot 10 goes; logs needed from 20: 11, 21, 31, 41 */
    ck_assert_int_eq(snap_purge(sd, ld, 3, err, sizeof err), 2);
    ck_assert_int_ge(fsize(p50), 0);
    expect_recoverable(ld, 20, 50);
    int64_t z;
    uint8_t *data;
    size_t n;
    ck_assert_int_eq(snap_load_latest(sd, &z, &data, &n, err, sizeof err), 1);
    ck_assert_int_eq(z, 40);
    free(data);
    free(p50);
    free(sd);
    free(ld);
}
END_TEST

START_TEST(purge_removes_stale_temp_files_only)
{
    char *sd = tdir("purge_tmp");
    put_snap(sd, 5, 10);
    /* a temp file of a writer that has exited */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(0);
    int st;
    waitpid(pid, &st, 0);
    char *dead = xasprintf("%s/version-2/snapshot.6.tmp-%ld", sd, (long)pid);
    char *live = xasprintf("%s/version-2/snapshot.7.tmp-%ld", sd, (long)getppid());
    FILE *f = fopen(dead, "w");
    fclose(f);
    f = fopen(live, "w");
    fclose(f);
    char err[256];
    /* a ZooKeeper snapshot and log under Gregor's names, older than everything kept */
    char *zks = xasprintf("%s/version-2/snapshot.1", sd);
    char *zkl = xasprintf("%s/version-2/log.1", sd);
    f = fopen(zks, "w");
    fputs("ZKSN\0\0\0\2", f);
    fclose(f);
    f = fopen(zkl, "w");
    fputs("ZKLG\0\0\0\2", f);
    fclose(f);
    put_snap(sd, 8, 10);
    put_snap(sd, 9, 10);
    char *log2 = xasprintf("%s/version-2/log.2", sd);
    char *log3 = xasprintf("%s/version-2/log.3", sd);
    f = fopen(log2, "w");
    fputs("GZLG", f);
    fclose(f);
    f = fopen(log3, "w");
    fputs("GZLG", f);
    fclose(f);
    /* kept snapshots 9, 8, 5; log.3 holds zxid 6 on; removed: the dead temp file, log.2 */
    ck_assert_int_eq(snap_purge(sd, sd, 3, err, sizeof err), 2);
    ck_assert_int_eq(fsize(dead), -1);
    ck_assert_int_eq(fsize(log2), -1);
    ck_assert_int_eq(fsize(log3), 4);
    ck_assert_int_eq(fsize(zks), 4); /* fputs stops at the NUL: "ZKSN" */
    ck_assert_int_eq(fsize(zkl), 4);
    free(zks);
    free(zkl);
    free(log2);
    free(log3);
    ck_assert_int_eq(fsize(live), 0);
    expect_latest(sd, 9, 10); /* temp files are never loaded */
    free(dead);
    free(live);
    free(sd);
}
END_TEST

int main(void)
{
    if (!getenv("GREGOR_LOG"))
        log_set_level(LOG_ERROR);
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("snap");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, write_and_load_round_trip);
    tcase_add_test(tc, streamed_write_large);
    tcase_add_test(tc, damaged_newest_falls_back);
    tcase_add_test(tc, purge_keeps_what_is_needed);
    tcase_add_test(tc, purge_with_damaged_snapshot_and_no_snapshots);
    tcase_add_test(tc, purge_removes_stale_temp_files_only);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(g_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return failed ? 1 : 0;
}
