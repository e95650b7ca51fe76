/* libFuzzer target: txn log recovery (txnlog_replay) on hostile files.
 *
 * Input: one mode byte, then raw bytes. The mode picks the layout written to a scratch
 * dataLogDir (under /dev/shm when available, so repairs' fdatasyncs stay cheap):
 *   bit 0     the bytes are the whole of log.1 (else they follow writer-made records)
 *   bits 4-6  how many valid records the real writer puts first (0-7)
 *   bit 2     the bytes are split (at the second byte's value) between an older file and
 *             a newer file, each starting with writer-made records
 * Invariants checked (a violation traps):
 *   - delivered zxids strictly increase, and writer-made records come back intact, first;
 *   - on success a second replay delivers exactly the same records (the repair is
 *     complete) and the log accepts and replays one more record;
 *   - a refused single-file log is left byte-for-byte unchanged;
 *   - txnlog_read_from never crashes on the same files. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "coord/txnlog.h"

#define MAX_SEEN 4096

static char g_dir[64];
static char g_v2[96];

typedef struct seen_s {
    int64_t z[MAX_SEEN];
    size_t n;
    int64_t last;
    size_t prefix; /* writer-made records expected first, zxids 1..prefix */
} seen_t;

static void gen_body(int64_t zxid, uint8_t *b, size_t *len)
{
    *len = 1 + (size_t)(zxid % 23);
    for (size_t i = 0; i < *len; i++)
        b[i] = (uint8_t)(zxid * 7 + (int64_t)i);
}

static int on_rec(void *ctx, int64_t zxid, const uint8_t *rec, size_t len)
{
    seen_t *s = ctx;
    if (s->n > 0 && zxid <= s->last)
        __builtin_trap();
    s->last = zxid;
    if (s->n < s->prefix) {
        uint8_t b[32];
        size_t bl;
        gen_body(zxid, b, &bl);
        if (zxid != (int64_t)s->n + 1 || len != bl || memcmp(b, rec, bl) != 0)
            __builtin_trap();
    }
    if (s->n < MAX_SEEN)
        s->z[s->n] = zxid;
    s->n++;
    return 0;
}

static void clear_dir(void)
{
    DIR *d = opendir(g_v2);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", g_v2, de->d_name);
        unlink(p);
    }
    closedir(d);
}

/* Writes records first..first+n-1 with the real writer (one file starting at first). */
static void writer_records(int64_t first, size_t n)
{
    txnlog_opts_t o = {.dir = g_dir, .force_sync = false};
    txnlog_t *log;
    char err[256];
    if (txnlog_open(&log, &o, first - 1, err, sizeof err) != 0)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        uint8_t b[32];
        size_t bl;
        gen_body(first + (int64_t)i, b, &bl);
        if (txnlog_append(log, first + (int64_t)i, b, bl) != 0)
            __builtin_trap();
    }
    if (txnlog_sync(log, err, sizeof err) != 0)
        __builtin_trap();
    txnlog_close(log);
}

static void append_raw(int64_t zxid, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/log.%" PRIx64, g_v2, (uint64_t)zxid);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        __builtin_trap();
    if (n && write(fd, p, n) != (ssize_t)n)
        __builtin_trap();
    close(fd);
}

static uint8_t *slurp(int64_t zxid, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/log.%" PRIx64, g_v2, (uint64_t)zxid);
    FILE *f = fopen(path, "rb");
    if (!f) {
        *len = (size_t)-1;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = xmalloc((size_t)n + 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n)
        __builtin_trap();
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void remove_scratch(void)
{
    clear_dir();
    rmdir(g_v2);
    rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_OFF);
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/gregor-fuzz-txnlog-XXXXXX", base);
    if (!mkdtemp(g_dir))
        abort();
    snprintf(g_v2, sizeof g_v2, "%s/version-2", g_dir);
    mkdir(g_v2, 0755);
    atexit(remove_scratch);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    clear_dir();
    mkdir(g_v2, 0755);

    static seen_t s1, s2;
    memset(&s1, 0, sizeof s1);
    size_t prefix = (mode >> 4) & 7;
    bool raw = mode & 1;
    bool split = (mode & 4) && !raw && size >= 1;
    if (raw) {
        append_raw(1, data, size);
    } else if (!split) {
        if (prefix)
            writer_records(1, prefix);
        else
            append_raw(1, NULL, 0);
        append_raw(1, data, size);
        s1.prefix = prefix;
    } else {
        size_t cut = data[0] < size ? data[0] : size;
        size_t p1 = prefix ? prefix : 1;
        writer_records(1, p1);
        append_raw(1, data + 1, cut > 0 ? cut - 1 : 0);
        writer_records((int64_t)p1 + 1, 2);
        append_raw((int64_t)p1 + 1, data + cut, size - cut);
        s1.prefix = p1;
    }

    size_t before_len = 0;
    uint8_t *before = split ? NULL : slurp(1, &before_len);

    char err[512];
    int64_t last = -1;
    int rc = txnlog_replay(g_dir, 0, on_rec, &s1, &last, err, sizeof err);
    if (rc == 0) {
        if (s1.n > 0 && last != s1.last)
            __builtin_trap();
        if (s1.n == 0 && last != 0)
            __builtin_trap();
        if (s1.n < s1.prefix)
            __builtin_trap();
        /* a second recovery finds a clean log with the same records */
        memset(&s2, 0, sizeof s2);
        int64_t last2;
        if (txnlog_replay(g_dir, 0, on_rec, &s2, &last2, err, sizeof err) != 0)
            __builtin_trap();
        if (s2.n != s1.n || last2 != last ||
            memcmp(s1.z, s2.z, (s1.n < MAX_SEEN ? s1.n : MAX_SEEN) * sizeof s1.z[0]) != 0)
            __builtin_trap();
        /* and accepts the next record */
        if (last < INT64_MAX - 1) {
            txnlog_opts_t o = {.dir = g_dir, .force_sync = false};
            txnlog_t *log;
            if (txnlog_open(&log, &o, last, err, sizeof err) != 0)
                __builtin_trap();
            uint8_t b[32];
            size_t bl;
            gen_body(last + 1, b, &bl);
            if (txnlog_append(log, last + 1, b, bl) != 0 || txnlog_sync(log, err, sizeof err) != 0)
                __builtin_trap();
            txnlog_close(log);
            memset(&s2, 0, sizeof s2);
            if (txnlog_replay(g_dir, 0, on_rec, &s2, &last2, err, sizeof err) != 0)
                __builtin_trap();
            if (s2.n != s1.n + 1 || last2 != last + 1)
                __builtin_trap();
        }
    } else if (before) {
        size_t after_len;
        uint8_t *after = slurp(1, &after_len);
        if (!after || after_len != before_len || memcmp(before, after, before_len) != 0)
            __builtin_trap();
        free(after);
    }
    free(before);

    /* the DIFF reader on whatever is there */
    seen_t *s3 = &s2;
    memset(s3, 0, sizeof *s3);
    (void)txnlog_read_from(g_dir, 0, on_rec, s3, err, sizeof err);
    return 0;
}
