/* Unit tests: coord/txnlog — round trip, group commit, rolls, torn tails of every kind,
 * corruption refusal, truncate, read_from, failed syncs, kill -9, and a throughput figure.
 * Every test works in its own directory under one temp root that main() removes. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "coord/txnlog.h"

static char g_root[] = "/tmp/gregor-test-txnlog-XXXXXX";

/* ------------------------------------------------------------------ helpers */

static size_t body_len(int64_t zxid)
{
    return 1 + (size_t)((uint64_t)zxid * 37 % 200);
}

static void body_fill(int64_t zxid, uint8_t *p)
{
    size_t n = body_len(zxid);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((uint64_t)zxid * 131 + i);
}

static size_t rec_size(int64_t zxid)
{
    return 17 + body_len(zxid);
}

typedef struct coll_s {
    int64_t *z;
    size_t n, cap;
    int bad_body;
} coll_t;

static int collect(void *ctx, int64_t zxid, const uint8_t *rec, size_t len)
{
    coll_t *c = ctx;
    uint8_t want[256];
    body_fill(zxid, want);
    if (len != body_len(zxid) || memcmp(rec, want, len) != 0)
        c->bad_body++;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->z = xrealloc(c->z, c->cap * sizeof *c->z);
    }
    c->z[c->n++] = zxid;
    return 0;
}

static void coll_reset(coll_t *c)
{
    c->n = 0;
    c->bad_body = 0;
}

static void coll_free(coll_t *c)
{
    free(c->z);
    memset(c, 0, sizeof *c);
}

/* c holds exactly from..to (inclusive; empty if to < from) with correct bodies */
static void expect_range(const coll_t *c, int64_t from, int64_t to)
{
    ck_assert_int_eq(c->bad_body, 0);
    size_t want = to >= from ? (size_t)(to - from + 1) : 0;
    ck_assert_uint_eq(c->n, want);
    for (size_t i = 0; i < c->n; i++)
        ck_assert_int_eq(c->z[i], from + (int64_t)i);
}

static char *tdir(const char *name)
{
    char *d = xasprintf("%s/%s", g_root, name);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    return d;
}

static char *logpath(const char *dir, int64_t zxid)
{
    return xasprintf("%s/version-2/log.%" PRIx64, dir, (uint64_t)zxid);
}

static txnlog_t *open_log(const char *dir, int64_t prealloc, int64_t roll, int64_t last)
{
    txnlog_opts_t o = {.dir = dir, .prealloc_bytes = prealloc, .force_sync = true, .roll_bytes = roll};
    txnlog_t *log = NULL;
    char err[256];
    ck_assert_msg(txnlog_open(&log, &o, last, err, sizeof err) == 0, "%s", err);
    return log;
}

/* Appends from..to, syncing every `batch` records (and at the end). */
static void append_range(txnlog_t *log, int64_t from, int64_t to, int batch)
{
    uint8_t b[256];
    char err[256];
    int inbatch = 0;
    for (int64_t z = from; z <= to; z++) {
        body_fill(z, b);
        ck_assert_int_eq(txnlog_append(log, z, b, body_len(z)), 0);
        if (++inbatch == batch) {
            ck_assert_msg(txnlog_sync(log, err, sizeof err) == 0, "%s", err);
            inbatch = 0;
        }
    }
    ck_assert_msg(txnlog_sync(log, err, sizeof err) == 0, "%s", err);
}

static void write_log(const char *dir, int64_t from, int64_t to)
{
    txnlog_t *log = open_log(dir, 0, 0, from - 1);
    append_range(log, from, to, 1000000);
    txnlog_close(log);
}

static int replay(const char *dir, int64_t after, coll_t *c, int64_t *last, char *err, size_t errlen)
{
    coll_reset(c);
    err[0] = '\0';
    return txnlog_replay(dir, after, collect, c, last, err, errlen);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = xmalloc((size_t)n + 1);
    ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void spit(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static int64_t fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static size_t nfiles(const char *dir)
{
    int64_t *z;
    size_t n;
    char err[256];
    ck_assert_int_eq(txnlog_list_files(dir, &z, &n, err, sizeof err), 0);
    free(z);
    return n;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static void rm_rf(const char *p)
{
    nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Empties <dir>/version-2. */
static void clear_logs(const char *dir)
{
    char *v2 = xasprintf("%s/version-2", dir);
    rm_rf(v2);
    free(v2);
}

/* After a repair, the log must accept the next record and replay everything. */
static void check_append_after(const char *dir, int64_t last)
{
    txnlog_t *log = open_log(dir, 0, 0, last);
    append_range(log, last + 1, last + 2, 10);
    txnlog_close(log);
    coll_t c = {0};
    char err[256];
    int64_t l2;
    ck_assert_msg(replay(dir, 0, &c, &l2, err, sizeof err) == 0, "%s", err);
    expect_range(&c, 1, last + 2);
    ck_assert_int_eq(l2, last + 2);
    coll_free(&c);
}

/* ------------------------------------------------------------------ tests */

START_TEST(round_trip)
{
    char *d = tdir("round_trip");
    txnlog_t *log = open_log(d, 0, 0, 0);
    ck_assert_int_eq(nfiles(d), 0); /* nothing on disk before the first sync */
    append_range(log, 1, 100, 7);
    ck_assert_int_eq(txnlog_durable_zxid(log), 100);
    ck_assert(!txnlog_broken(log));
    txnlog_close(log);
    ck_assert_int_eq(nfiles(d), 1);
    char *p = logpath(d, 1);
    size_t expect = 28;
    for (int64_t z = 1; z <= 100; z++)
        expect += rec_size(z);
    ck_assert_int_eq(fsize(p), (int64_t)expect);
    ck_assert_int_eq(txnlog_dir_bytes(d), (int64_t)expect);

    coll_t c = {0};
    char err[256];
    int64_t last = -5;
    ck_assert_msg(replay(d, 0, &c, &last, err, sizeof err) == 0, "%s", err);
    expect_range(&c, 1, 100);
    ck_assert_int_eq(last, 100);
    /* after_zxid filters */
    ck_assert_int_eq(replay(d, 60, &c, &last, err, sizeof err), 0);
    expect_range(&c, 61, 100);
    /* after beyond the log: nothing, last = after */
    ck_assert_int_eq(replay(d, 500, &c, &last, err, sizeof err), 0);
    expect_range(&c, 1, 0);
    ck_assert_int_eq(last, 500);
    /* empty directory: no records */
    char *e = tdir("round_trip_empty");
    ck_assert_int_eq(replay(e, 0, &c, &last, err, sizeof err), 0);
    ck_assert_int_eq(last, 0);
    ck_assert_int_eq(txnlog_dir_bytes(e), 0);
    coll_free(&c);
    free(p);
    free(e);
    free(d);
}
END_TEST

START_TEST(group_commit_one_sync)
{
    char *d = tdir("group_commit");
    txnlog_t *log = open_log(d, 1 << 20, 0, 0);
    uint8_t b[256];
    char err[256];
    for (int64_t z = 1; z <= 1000; z++) {
        body_fill(z, b);
        ck_assert_int_eq(txnlog_append(log, z, b, body_len(z)), 0);
    }
    ck_assert(txnlog_has_pending(log));
    ck_assert_int_eq(txnlog_last_zxid(log), 1000);
    ck_assert_int_eq(txnlog_durable_zxid(log), 0);
    ck_assert_int_eq(txnlog_sync(log, err, sizeof err), 0);
    ck_assert(!txnlog_has_pending(log));
    txnlog_stats_t st;
    txnlog_stats(log, &st);
    ck_assert_uint_eq(st.syncs, 1);
    ck_assert_uint_eq(st.records, 1000);
    ck_assert(st.bytes > 1000 * 17);
    ck_assert(st.last_sync_us >= 0 && st.max_sync_us >= st.last_sync_us);
    /* an empty sync is free */
    ck_assert_int_eq(txnlog_sync(log, err, sizeof err), 0);
    txnlog_stats(log, &st);
    ck_assert_uint_eq(st.syncs, 1);
    /* preallocated in 1 MiB chunks */
    char *p = logpath(d, 1);
    ck_assert_int_eq(fsize(p), 1 << 20);
    append_range(log, 1001, 1100, 10);
    txnlog_stats(log, &st);
    ck_assert_uint_eq(st.syncs, 11);
    ck_assert_uint_eq(st.records, 1100);
    txnlog_close(log);
    ck_assert(fsize(p) < (1 << 20)); /* close trims the preallocation */
    coll_t c = {0};
    int64_t last;
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), 0);
    expect_range(&c, 1, 1100);
    coll_free(&c);
    free(p);
    free(d);
}
END_TEST

START_TEST(append_rejects_bad_input)
{
    char *d = tdir("append_rejects");
    txnlog_t *log = open_log(d, 0, 0, 10);
    uint8_t b[4] = {1, 2, 3, 4};
    ck_assert_int_eq(txnlog_append(log, 10, b, 4), -1); /* not > last */
    ck_assert_int_eq(txnlog_append(log, 5, b, 4), -1);
    ck_assert_int_eq(txnlog_append(log, 11, b, 4), 0);
    ck_assert_int_eq(txnlog_append(log, 11, b, 4), -1);
    ck_assert_int_eq(txnlog_append(log, 12, b, (size_t)TXNLOG_MAX_RECORD + 1), -1);
    txnlog_opts_t o = {.dir = d, .prealloc_bytes = -1};
    txnlog_t *bad;
    char err[256];
    ck_assert_int_eq(txnlog_open(&bad, &o, 0, err, sizeof err), -1);
    txnlog_opts_t o2 = {.dir = "/proc/no-such-dir/x"};
    ck_assert_int_eq(txnlog_open(&bad, &o2, 0, err, sizeof err), -1);
    ck_assert(strstr(err, "cannot create") != NULL);
    txnlog_close(log); /* drops the unsynced record */
    coll_t c = {0};
    int64_t last;
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), 0);
    ck_assert_uint_eq(c.n, 0);
    coll_free(&c);
    free(d);
}
END_TEST

/* Cut the last record of a file at every byte offset. */
START_TEST(torn_last_record_every_offset)
{
    char *d = tdir("torn_every_offset");
    write_log(d, 1, 5);
    char *p = logpath(d, 1);
    size_t len;
    uint8_t *orig = slurp(p, &len);
    size_t start = len - rec_size(5);
    coll_t c = {0};
    char err[256];
    for (size_t cut = start; cut < len; cut++) {
        clear_logs(d);
        char *v2 = xasprintf("%s/version-2", d);
        mkdir(v2, 0755);
        free(v2);
        spit(p, orig, cut);
        int64_t last;
        ck_assert_msg(replay(d, 0, &c, &last, err, sizeof err) == 0, "cut %zu: %s", cut, err);
        expect_range(&c, 1, 4);
        ck_assert_int_eq(last, 4);
        ck_assert_int_eq(fsize(p), (int64_t)start);
        check_append_after(d, 4);
    }
    coll_free(&c);
    free(orig);
    free(p);
    free(d);
}
END_TEST

/* Flip bits in every byte of the last record. */
START_TEST(flipped_bits_in_last_record)
{
    char *d = tdir("flip_last");
    write_log(d, 1, 5);
    char *p = logpath(d, 1);
    size_t len;
    uint8_t *orig = slurp(p, &len);
    size_t start = len - rec_size(5);
    coll_t c = {0};
    char err[256];
    uint8_t *mod = xmalloc(len);
    for (size_t i = start; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            clear_logs(d);
            char *v2 = xasprintf("%s/version-2", d);
            mkdir(v2, 0755);
            free(v2);
            memcpy(mod, orig, len);
            mod[i] ^= (uint8_t)(1u << bit);
            spit(p, mod, len);
            int64_t last;
            ck_assert_msg(replay(d, 0, &c, &last, err, sizeof err) == 0, "byte %zu: %s", i, err);
            expect_range(&c, 1, 4);
            ck_assert_int_eq(fsize(p), (int64_t)start);
            if (i % 16 == 0)
                check_append_after(d, 4);
        }
    }
    free(mod);
    coll_free(&c);
    free(orig);
    free(p);
    free(d);
}
END_TEST

START_TEST(garbage_and_zero_tails)
{
    char *d = tdir("garbage_tail");
    write_log(d, 1, 5);
    char *p = logpath(d, 1);
    size_t len;
    uint8_t *orig = slurp(p, &len);
    static const size_t extra[] = {1, 15, 16, 17, 100, 5000, 70000};
    coll_t c = {0};
    char err[256];
    srand(7);
    for (int zero = 0; zero < 2; zero++) {
        for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
            uint8_t *mod = xmalloc(len + extra[k]);
            memcpy(mod, orig, len);
            for (size_t i = 0; i < extra[k]; i++)
                mod[len + i] = zero ? 0 : (uint8_t)(1 + rand() % 255);
            spit(p, mod, len + extra[k]);
            free(mod);
            int64_t last;
            ck_assert_msg(replay(d, 0, &c, &last, err, sizeof err) == 0, "%s", err);
            expect_range(&c, 1, 5);
            ck_assert_int_eq(last, 5);
            ck_assert_int_eq(fsize(p), (int64_t)len);
        }
    }
    check_append_after(d, 5);
    coll_free(&c);
    free(orig);
    free(p);
    free(d);
}
END_TEST

/* A crash image of a live preallocated log: the zero tail is trimmed at recovery. */
START_TEST(preallocated_tail_after_crash)
{
    char *d = tdir("prealloc_crash");
    txnlog_t *log = open_log(d, 64 << 10, 0, 0);
    append_range(log, 1, 50, 5);
    char *p = logpath(d, 1);
    ck_assert_int_eq(fsize(p), 64 << 10);
    size_t len;
    uint8_t *img = slurp(p, &len); /* what kill -9 would leave */
    txnlog_close(log);
    spit(p, img, len);
    coll_t c = {0};
    char err[256];
    int64_t last;
    ck_assert_msg(replay(d, 0, &c, &last, err, sizeof err) == 0, "%s", err);
    expect_range(&c, 1, 50);
    ck_assert(fsize(p) < (64 << 10));
    check_append_after(d, 50);
    coll_free(&c);
    free(img);
    free(p);
    free(d);
}
END_TEST

/* Damage in the middle of the newest file that is not a torn write: refuse, touch nothing. */
START_TEST(mid_file_corruption_refused)
{
    char *d = tdir("mid_corrupt");
    write_log(d, 1, 5);
    char *p = logpath(d, 1);
    size_t len;
    uint8_t *orig = slurp(p, &len);
    size_t rec2 = 28 + rec_size(1);
    orig[rec2 + 17] ^= 0x10; /* a body byte of record 2 */
    spit(p, orig, len);
    coll_t c = {0};
    char err[512];
    int64_t last;
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "corrupt") && strstr(err, "Refusing"), "%s", err);
    ck_assert_int_eq(fsize(p), (int64_t)len);
    size_t len2;
    uint8_t *now = slurp(p, &len2);
    ck_assert(len2 == len && memcmp(now, orig, len) == 0);
    free(now);
    coll_free(&c);
    free(orig);
    free(p);
    free(d);
}
END_TEST

/* A sector that never reached the disk in the middle of an unsynced batch: the records
 * after it were not acknowledged, so recovery cuts at the first damaged record. */
START_TEST(torn_sector_mid_file_truncated)
{
    char *d = tdir("torn_sector");
    write_log(d, 1, 40);
    char *p = logpath(d, 1);
    size_t len;
    uint8_t *img = slurp(p, &len);
    ck_assert(len > 3000);
    memset(img + 1024, 0, 512);
    spit(p, img, len);
    int64_t keep = 0;
    size_t off = 28;
    for (int64_t z = 1; z <= 40 && off + rec_size(z) <= 1024; z++) {
        off += rec_size(z);
        keep = z;
    }
    coll_t c = {0};
    char err[512];
    int64_t last;
    ck_assert_msg(replay(d, 0, &c, &last, err, sizeof err) == 0, "%s", err);
    expect_range(&c, 1, keep);
    ck_assert_int_eq(fsize(p), (int64_t)off);
    check_append_after(d, keep);
    coll_free(&c);
    free(img);
    free(p);
    free(d);
}
END_TEST

START_TEST(older_file_corruption_is_an_error)
{
    char *d = tdir("older_corrupt");
    txnlog_t *log = open_log(d, 0, 0, 0);
    append_range(log, 1, 5, 100);
    txnlog_roll(log);
    append_range(log, 6, 10, 100);
    txnlog_close(log);
    ck_assert_int_eq(nfiles(d), 2);
    char *a = logpath(d, 1);
    size_t len;
    uint8_t *orig = slurp(a, &len);
    coll_t c = {0};
    char err[512];
    int64_t last;

    /* bit flip in the last record of the older file */
    uint8_t *mod = xmalloc(len + 100);
    memcpy(mod, orig, len);
    mod[len - 3] ^= 1;
    spit(a, mod, len);
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "newer log files follow"), "%s", err);
    /* garbage after the older file's last record */
    memcpy(mod, orig, len);
    memset(mod + len, 0x5a, 100);
    spit(a, mod, len + 100);
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "newer log files follow"), "%s", err);
    /* a zeroed record followed by data */
    memcpy(mod, orig, len);
    memset(mod + 28, 0, 16);
    spit(a, mod, len);
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), -1);
    /* damaged file header */
    memcpy(mod, orig, len);
    mod[5] ^= 1;
    spit(a, mod, len);
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "header"), "%s", err);
    /* zeros after the last record (unused preallocation) are fine */
    memcpy(mod, orig, len);
    memset(mod + len, 0, 100);
    spit(a, mod, len + 100);
    ck_assert_msg(replay(d, 0, &c, &last, err, sizeof err) == 0, "%s", err);
    expect_range(&c, 1, 10);
    /* ...and a replay starting in the newer file does not read the older one */
    memcpy(mod, orig, len);
    mod[len - 3] ^= 1;
    spit(a, mod, len);
    ck_assert_int_eq(replay(d, 7, &c, &last, err, sizeof err), 0);
    expect_range(&c, 8, 10);
    free(mod);
    coll_free(&c);
    free(orig);
    free(a);
    free(d);
}
END_TEST

/* The newest file's header is neither intact nor a torn write of it: never removed. */
START_TEST(foreign_or_damaged_newest_header_refused)
{
    char *d = tdir("foreign");
    write_log(d, 1, 3);
    char *p = logpath(d, 1);
    size_t len;
    uint8_t *orig = slurp(p, &len);
    coll_t c = {0};
    char err[512];
    int64_t last;
    uint8_t *mod = xmalloc(len);
    /* a ZooKeeper log: magic "ZKLG" */
    memcpy(mod, orig, len);
    memcpy(mod, "ZKLG", 4);
    spit(p, mod, len);
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "foreign") && strstr(err, "bad magic"), "%s", err);
    ck_assert_int_eq(fsize(p), (int64_t)len);
    /* a bit flip in a synced header */
    memcpy(mod, orig, len);
    mod[20] ^= 4;
    spit(p, mod, len);
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), -1);
    ck_assert_int_eq(fsize(p), (int64_t)len);
    /* a header torn at creation (a zeroed sector) is a file nobody was told about */
    memcpy(mod, orig, len);
    memset(mod, 0, 28);
    spit(p, mod, len);
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), 0);
    ck_assert_uint_eq(c.n, 0);
    ck_assert_int_eq(fsize(p), -1);
    free(mod);
    coll_free(&c);
    free(orig);
    free(p);
    free(d);
}
END_TEST

/* A crash anywhere in the second file of a roll: every byte offset. */
START_TEST(crash_across_roll_every_offset)
{
    char *d = tdir("crash_roll");
    txnlog_t *log = open_log(d, 0, 0, 0);
    append_range(log, 1, 3, 100);
    txnlog_roll(log);
    append_range(log, 4, 6, 100);
    txnlog_close(log);
    char *b = logpath(d, 4);
    size_t len;
    uint8_t *orig = slurp(b, &len);
    coll_t c = {0};
    char err[256];
    for (size_t cut = 0; cut < len; cut++) {
        spit(b, orig, cut);
        /* remove files a previous iteration's append created */
        for (int64_t z = 5; z <= 9; z++) {
            char *x = logpath(d, z);
            unlink(x);
            free(x);
        }
        int64_t complete = 0;
        size_t off = 28;
        for (int64_t z = 4; z <= 6 && cut >= 28 && off + rec_size(z) <= cut; z++) {
            off += rec_size(z);
            complete++;
        }
        int64_t last;
        ck_assert_msg(replay(d, 0, &c, &last, err, sizeof err) == 0, "cut %zu: %s", cut, err);
        expect_range(&c, 1, 3 + complete);
        ck_assert_int_eq(last, 3 + complete);
        if (complete == 0)
            ck_assert_int_eq(fsize(b), -1); /* torn at creation: removed */
        else
            ck_assert_int_eq(fsize(b), (int64_t)off);
        if (cut % 13 == 0 || complete == 0)
            check_append_after(d, 3 + complete);
    }
    coll_free(&c);
    free(orig);
    free(b);
    free(d);
}
END_TEST

START_TEST(replay_order_across_files)
{
    char *d = tdir("order");
    txnlog_t *log = open_log(d, 4096, 0, 0);
    for (int f = 0; f < 5; f++) {
        append_range(log, f * 10 + 1, f * 10 + 10, 3);
        txnlog_roll(log);
    }
    txnlog_close(log);
    int64_t *z;
    size_t n;
    char err[256];
    ck_assert_int_eq(txnlog_list_files(d, &z, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 5);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(z[i], (int64_t)i * 10 + 1);
    free(z);
    /* names are lower-case hex, like ZooKeeper's */
    log = open_log(d, 0, 0, 0x1000000a0LL);
    append_range(log, 0x1000000a1LL, 0x1000000a1LL, 1);
    txnlog_close(log);
    char *hex = xasprintf("%s/version-2/log.1000000a1", d);
    ck_assert_int_ge(fsize(hex), 28);
    free(hex);
    coll_t c = {0};
    int64_t last;
    ck_assert_int_eq(txnlog_replay(d, 0, collect, &c, &last, err, sizeof err), 0);
    ck_assert_uint_eq(c.n, 51);
    for (size_t i = 0; i < 50; i++)
        ck_assert_int_eq(c.z[i], (int64_t)i + 1);
    ck_assert_int_eq(c.z[50], 0x1000000a1LL);
    ck_assert_int_eq(last, 0x1000000a1LL);
    coll_reset(&c);
    ck_assert_int_eq(txnlog_replay(d, 23, collect, &c, &last, err, sizeof err), 0);
    ck_assert_uint_eq(c.n, 51 - 23);
    ck_assert_int_eq(c.z[0], 24);
    coll_free(&c);
    free(d);
}
END_TEST

START_TEST(roll_bytes_and_roll_with_pending)
{
    char *d = tdir("roll_bytes");
    txnlog_t *log = open_log(d, 0, 1000, 0);
    append_range(log, 1, 100, 1);
    txnlog_close(log);
    ck_assert_uint_gt(nfiles(d), 5);
    coll_t c = {0};
    char err[256];
    int64_t last;
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), 0);
    expect_range(&c, 1, 100);

    char *d2 = tdir("roll_pending");
    log = open_log(d2, 0, 0, 0);
    uint8_t b[256];
    for (int64_t z = 1; z <= 3; z++) {
        body_fill(z, b);
        ck_assert_int_eq(txnlog_append(log, z, b, body_len(z)), 0);
    }
    txnlog_roll(log); /* pending: takes effect after the sync */
    body_fill(4, b);
    ck_assert_int_eq(txnlog_append(log, 4, b, body_len(4)), 0);
    ck_assert_int_eq(txnlog_sync(log, err, sizeof err), 0);
    append_range(log, 5, 6, 10);
    txnlog_close(log);
    int64_t *z;
    size_t n;
    ck_assert_int_eq(txnlog_list_files(d2, &z, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(z[0], 1);
    ck_assert_int_eq(z[1], 5);
    free(z);
    ck_assert_int_eq(replay(d2, 0, &c, &last, err, sizeof err), 0);
    expect_range(&c, 1, 6);
    /* reopening without appending creates nothing; a new run starts a new file */
    log = open_log(d2, 0, 0, 6);
    txnlog_close(log);
    ck_assert_uint_eq(nfiles(d2), 2);
    check_append_after(d2, 6);
    ck_assert_uint_eq(nfiles(d2), 3);
    coll_free(&c);
    free(d2);
    free(d);
}
END_TEST

START_TEST(truncate_removes_later_records)
{
    char *d = tdir("truncate");
    txnlog_t *log = open_log(d, 0, 0, 0);
    for (int f = 0; f < 3; f++) {
        append_range(log, f * 10 + 1, f * 10 + 10, 4);
        txnlog_roll(log);
    }
    txnlog_close(log);
    char err[256];
    coll_t c = {0};
    int64_t last;
    ck_assert_msg(txnlog_truncate(d, 15, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(nfiles(d), 2);
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), 0);
    expect_range(&c, 1, 15);
    ck_assert_int_eq(last, 15);
    /* truncating at the end is a no-op; then to the middle of the first file */
    ck_assert_int_eq(txnlog_truncate(d, 15, err, sizeof err), 0);
    ck_assert_int_eq(txnlog_truncate(d, 5, err, sizeof err), 0);
    ck_assert_uint_eq(nfiles(d), 1);
    ck_assert_int_eq(replay(d, 0, &c, &last, err, sizeof err), 0);
    expect_range(&c, 1, 5);
    check_append_after(d, 5);
    /* reads for DIFFs after a truncate */
    coll_reset(&c);
    ck_assert_int_eq(txnlog_read_from(d, 3, collect, &c, err, sizeof err), 0);
    expect_range(&c, 4, 7);
    /* below everything: all files go */
    ck_assert_int_eq(txnlog_truncate(d, 0, err, sizeof err), 0);
    ck_assert_uint_eq(nfiles(d), 0);
    coll_free(&c);
    free(d);
}
END_TEST

static int stop_at_7(void *ctx, int64_t zxid, const uint8_t *rec, size_t len)
{
    collect(ctx, zxid, rec, len);
    return zxid == 7 ? -42 : 0;
}

START_TEST(read_from_live_log_and_callback_stop)
{
    char *d = tdir("read_from");
    txnlog_t *log = open_log(d, 64 << 10, 0, 0);
    append_range(log, 1, 10, 4);
    uint8_t b[256];
    for (int64_t z = 11; z <= 12; z++) {
        body_fill(z, b);
        ck_assert_int_eq(txnlog_append(log, z, b, body_len(z)), 0);
    }
    coll_t c = {0};
    char err[256];
    ck_assert_int_eq(txnlog_read_from(d, 5, collect, &c, err, sizeof err), 0);
    expect_range(&c, 6, 10); /* pending records are not visible */
    ck_assert_int_eq(txnlog_sync(log, err, sizeof err), 0);
    coll_reset(&c);
    ck_assert_int_eq(txnlog_read_from(d, 5, collect, &c, err, sizeof err), 0);
    expect_range(&c, 6, 12);
    coll_reset(&c);
    ck_assert_int_eq(txnlog_read_from(d, 0, stop_at_7, &c, err, sizeof err), -42);
    expect_range(&c, 1, 7);
    txnlog_close(log);
    int64_t last;
    coll_reset(&c);
    ck_assert_int_eq(txnlog_replay(d, 0, stop_at_7, &c, &last, err, sizeof err), -42);
    ck_assert(strstr(err, "0x7") != NULL);
    coll_free(&c);
    free(d);
}
END_TEST

/* Write errors (EFBIG from RLIMIT_FSIZE stands in for ENOSPC): the batch is dropped,
 * the file is cut back, and the same zxids can be written once space is back.
 * RLIMIT_FSIZE limits every file the process writes (check's own files too), so the
 * scenario runs in a child that reports the first failed requirement's line. */
#define REQ(cond) do { if (!(cond)) return __LINE__; } while (0)

static int append_n(txnlog_t *log, int64_t from, int64_t to)
{
    uint8_t b[256];
    for (int64_t z = from; z <= to; z++) {
        body_fill(z, b);
        if (txnlog_append(log, z, b, body_len(z)) != 0)
            return -1;
    }
    return 0;
}

static int failed_sync_scenario(const char *d)
{
    struct rlimit old, lim;
    REQ(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    signal(SIGXFSZ, SIG_IGN);
    char err[256];
    txnlog_opts_t o = {.dir = d, .prealloc_bytes = 4096, .force_sync = true};
    txnlog_t *log;
    REQ(txnlog_open(&log, &o, 0, err, sizeof err) == 0);

    /* 1: the first batch of a new file fails: the file is removed */
    REQ(append_n(log, 1, 5) == 0);
    lim.rlim_cur = 10;
    REQ(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    REQ(txnlog_sync(log, err, sizeof err) == -1);
    REQ(setrlimit(RLIMIT_FSIZE, &old) == 0);
    REQ(strlen(err) > 0);
    REQ(!txnlog_has_pending(log) && !txnlog_broken(log));
    REQ(txnlog_last_zxid(log) == 0);
    REQ(nfiles(d) == 0);

    /* 2: a later batch fails part-way: cut back to the synced length */
    REQ(append_n(log, 1, 5) == 0);
    REQ(txnlog_sync(log, err, sizeof err) == 0);
    char *p = logpath(d, 1);
    REQ(fsize(p) == 4096); /* preallocated */
    lim.rlim_cur = 1500;   /* more preallocation fails, and so does the write */
    REQ(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    REQ(append_n(log, 6, 40) == 0);
    REQ(txnlog_sync(log, err, sizeof err) == -1);
    REQ(setrlimit(RLIMIT_FSIZE, &old) == 0);
    REQ(txnlog_durable_zxid(log) == 5 && txnlog_last_zxid(log) == 5);
    size_t data = 28;
    for (int64_t z = 1; z <= 5; z++)
        data += rec_size(z);
    REQ(fsize(p) == (int64_t)data);
    free(p);
    /* the same zxids again, now that there is room */
    REQ(append_n(log, 6, 8) == 0);
    REQ(txnlog_sync(log, err, sizeof err) == 0);
    txnlog_close(log);

    /* 3: a failed batch, then a crash without another sync */
    o.prealloc_bytes = 0;
    REQ(txnlog_open(&log, &o, 8, err, sizeof err) == 0);
    REQ(append_n(log, 9, 10) == 0);
    REQ(txnlog_sync(log, err, sizeof err) == 0);
    char *p9 = logpath(d, 9);
    lim.rlim_cur = (rlim_t)fsize(p9) + 30;
    free(p9);
    REQ(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    REQ(append_n(log, 11, 20) == 0);
    REQ(txnlog_sync(log, err, sizeof err) == -1);
    REQ(setrlimit(RLIMIT_FSIZE, &old) == 0);
    txnlog_close(log);
    return 0;
}

START_TEST(failed_sync_leaves_log_consistent)
{
    char *d = tdir("failed_sync");
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        log_set_level(LOG_OFF);
        int line = failed_sync_scenario(d);
        _exit(write(pfd[1], &line, sizeof line) == sizeof line ? 0 : 1);
    }
    close(pfd[1]);
    int status, line = -1;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(read(pfd[0], &line, sizeof line), sizeof line);
    close(pfd[0]);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(line == 0, "requirement at line %d failed", line);
    coll_t c = {0};
    char err[256];
    int64_t last;
    ck_assert_msg(replay(d, 0, &c, &last, err, sizeof err) == 0, "%s", err);
    expect_range(&c, 1, 10);
    coll_free(&c);
    free(d);
}
END_TEST

/* kill -9 a writer at a random point: every acknowledged record survives, the log
 * recovers and accepts appends. */
START_TEST(kill9_keeps_acknowledged_records)
{
    char *d = tdir("kill9");
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        txnlog_opts_t o = {.dir = d, .prealloc_bytes = 1 << 20, .force_sync = true, .roll_bytes = 64 << 10};
        txnlog_t *log;
        char err[256];
        if (txnlog_open(&log, &o, 0, err, sizeof err) != 0)
            _exit(2);
        uint8_t b[256];
        for (int64_t z = 1;;) {
            int n = 1 + (int)(z % 17);
            for (int i = 0; i < n; i++, z++) {
                body_fill(z, b);
                if (txnlog_append(log, z, b, body_len(z)) != 0)
                    _exit(3);
            }
            if (txnlog_sync(log, err, sizeof err) != 0)
                _exit(4);
            int64_t ack = z - 1;
            if (write(pfd[1], &ack, sizeof ack) != sizeof ack)
                _exit(5);
        }
    }
    close(pfd[1]);
    int64_t acked = 0, v;
    while (acked < 2000 && read(pfd[0], &v, sizeof v) == sizeof v)
        acked = v;
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status));
    while (read(pfd[0], &v, sizeof v) == sizeof v)
        acked = v;
    close(pfd[0]);
    coll_t c = {0};
    char err[256];
    int64_t last;
    ck_assert_msg(replay(d, 0, &c, &last, err, sizeof err) == 0, "%s", err);
    ck_assert_int_ge(last, acked);
    expect_range(&c, 1, last);
    ck_assert_uint_gt(nfiles(d), 1);
    check_append_after(d, last);
    coll_free(&c);
    free(d);
}
END_TEST

/* Not a pass/fail check: prints the throughput of a tight append+sync loop. */
START_TEST(measure_append_sync_rate)
{
    char *d = tdir("measure");
    txnlog_t *log = open_log(d, 64 << 20, 0, 0);
    uint8_t b[100];
    memset(b, 'x', sizeof b);
    char err[256];
    int64_t z = 1;
    static const int batches[] = {1, 10, 100};
    for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++) {
        int batch = batches[k];
        txnlog_stats_t s0, s1;
        txnlog_stats(log, &s0);
        int64_t t0 = clock_mono_us(), t1;
        do {
            for (int i = 0; i < batch; i++)
                ck_assert_int_eq(txnlog_append(log, z++, b, sizeof b), 0);
            ck_assert_int_eq(txnlog_sync(log, err, sizeof err), 0);
            t1 = clock_mono_us();
        } while (t1 - t0 < 300000);
        txnlog_stats(log, &s1);
        double secs = (double)(t1 - t0) / 1e6;
        printf("txnlog rate (%s, 100-byte records, %d per sync): %.0f records/s, %.0f fdatasyncs/s, "
               "max sync %" PRId64 " us\n", g_root, batch, (double)(s1.records - s0.records) / secs,
               (double)(s1.syncs - s0.syncs) / secs, s1.max_sync_us);
    }
    txnlog_close(log);
    free(d);
}
END_TEST

typedef struct seq_s {
    int64_t next;
    int bad;
} seq_t;

/* Records are zxid-contiguous from 1 and hold 1000 bytes of (zxid & 0xff). */
static int check_filled(void *ctx, int64_t zxid, const uint8_t *rec, size_t len)
{
    seq_t *q = ctx;
    if (zxid != q->next || len != 1000)
        q->bad++;
    for (size_t i = 0; i < len; i++)
        if (rec[i] != (uint8_t)(zxid & 0xff)) {
            q->bad++;
            break;
        }
    q->next = zxid + 1;
    return 0;
}

/* Real ENOSPC on a tiny filesystem. Runs only when GREGOR_TXNLOG_ENOSPC_DIR names an
 * empty directory on a small tmpfs (tests/fault/0060-txnlog-enospc.sh mounts one). */
START_TEST(enospc_on_full_disk)
{
    const char *dir = getenv("GREGOR_TXNLOG_ENOSPC_DIR");
    ck_assert_ptr_nonnull(dir);
    char *d = xasprintf("%s/log", dir);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    /* a filler file to free up later */
    char *filler = xasprintf("%s/filler", dir);
    uint8_t *junk = xcalloc(1, 256 << 10);
    FILE *f = fopen(filler, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(junk, 1, 256 << 10, f), 256 << 10);
    ck_assert_int_eq(fclose(f), 0);
    free(junk);

    txnlog_t *log = open_log(d, 64 << 10, 0, 0);
    uint8_t b[1000];
    char err[256];
    int64_t z = 1;
    int rc = 0;
    while (rc == 0 && z < 100000) { /* batches of 20 KiB until the disk is full */
        for (int i = 0; i < 20; i++, z++) {
            memset(b, (int)(z & 0xff), sizeof b);
            ck_assert_int_eq(txnlog_append(log, z, b, sizeof b), 0);
        }
        rc = txnlog_sync(log, err, sizeof err);
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "No space"), "%s", err);
    ck_assert(!txnlog_broken(log));
    int64_t durable = txnlog_durable_zxid(log);
    ck_assert_int_gt(durable, 0);
    ck_assert_int_eq(txnlog_last_zxid(log), durable);
    /* still full: fails again, cleanly */
    for (int64_t k = durable + 1; k <= durable + 20; k++)
        ck_assert_int_eq(txnlog_append(log, k, b, sizeof b), 0);
    ck_assert_int_eq(txnlog_sync(log, err, sizeof err), -1);
    ck_assert_int_eq(txnlog_durable_zxid(log), durable);
    /* space comes back: the same zxids go through */
    ck_assert_int_eq(unlink(filler), 0);
    for (int64_t k = durable + 1; k <= durable + 20; k++) {
        memset(b, (int)(k & 0xff), sizeof b);
        ck_assert_int_eq(txnlog_append(log, k, b, sizeof b), 0);
    }
    ck_assert_msg(txnlog_sync(log, err, sizeof err) == 0, "%s", err);
    int64_t end = durable + 20;
    /* fill up again, then "crash" with the disk full: recovery needs no space */
    z = end + 1;
    rc = 0;
    while (rc == 0) {
        for (int i = 0; i < 20; i++, z++) {
            memset(b, (int)(z & 0xff), sizeof b);
            ck_assert_int_eq(txnlog_append(log, z, b, sizeof b), 0);
        }
        rc = txnlog_sync(log, err, sizeof err);
        if (rc == 0)
            end = z - 1;
    }
    txnlog_close(log);
    seq_t q = {1, 0};
    int64_t last;
    ck_assert_msg(txnlog_replay(d, 0, check_filled, &q, &last, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(q.bad, 0);
    ck_assert_int_eq(last, end);
    ck_assert_int_eq(q.next, end + 1);
    free(filler);
    free(d);
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
    Suite *s = suite_create("txnlog");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, group_commit_one_sync);
    tcase_add_test(tc, append_rejects_bad_input);
    tcase_add_test(tc, torn_last_record_every_offset);
    tcase_add_test(tc, flipped_bits_in_last_record);
    tcase_add_test(tc, garbage_and_zero_tails);
    tcase_add_test(tc, preallocated_tail_after_crash);
    tcase_add_test(tc, mid_file_corruption_refused);
    tcase_add_test(tc, torn_sector_mid_file_truncated);
    tcase_add_test(tc, older_file_corruption_is_an_error);
    tcase_add_test(tc, foreign_or_damaged_newest_header_refused);
    tcase_add_test(tc, crash_across_roll_every_offset);
    tcase_add_test(tc, replay_order_across_files);
    tcase_add_test(tc, roll_bytes_and_roll_with_pending);
    tcase_add_test(tc, truncate_removes_later_records);
    tcase_add_test(tc, read_from_live_log_and_callback_stop);
    tcase_add_test(tc, failed_sync_leaves_log_consistent);
    tcase_add_test(tc, kill9_keeps_acknowledged_records);
    tcase_add_test(tc, measure_append_sync_rate);
    suite_add_tcase(s, tc);
    if (getenv("GREGOR_TXNLOG_ENOSPC_DIR")) {
        TCase *tf = tcase_create("enospc");
        tcase_add_test(tf, enospc_on_full_disk);
        suite_add_tcase(s, tf);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rm_rf(g_root);
    return failed ? 1 : 0;
}
