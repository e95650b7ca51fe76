/* kbench.c — a produce / consume / latency load tool for Kafka-compatible brokers.
 *
 * The client is librdkafka, so Apache Kafka and gregor-broker are measured with exactly the
 * same client code and configuration (for Kafka 0.9 pass -X api.version.request=false
 * -X broker.version.fallback=0.9.0, and give gregor the same to compare like with like).
 *
 * Modes (-m):
 *   produce  N records of S bytes (no key) to topic T, round-robin over its partitions, acks=1
 *            by default; librdkafka batches them (linger.ms and batch.num.messages below,
 *            the same for every broker). One untimed record per partition goes first, so the
 *            connections are up; then timed from the first produce call until the last
 *            delivery report: records/s and MiB/s of record values.
 *   consume  reads every partition of T from the beginning (legacy per-partition consumer: no
 *            group, no offset commits) until every partition reported end-of-partition, or
 *            N records when -n is given (which spares the last, empty fetch that a broker
 *            holds for fetch.wait.max.ms): records/s and MiB/s of record values, timed from
 *            the first record received (connection set-up is not part of the figure).
 *   latency  produces one record at a time (linger.ms=0) and waits for its delivery report:
 *            p50 / p90 / p99 / max over N records, after W unmeasured warm-up records.
 *   wait     polls Metadata (librdkafka) until T exists with -P partitions (any number when
 *            -P is 0), each with a leader; prints how long it took.
 *   ready    opens a raw TCP connection and sends Metadata v0 (all topics) every 2 ms until
 *            the broker answers one listing at least one broker; prints the time since
 *            --since-ms (a wall-clock epoch in ms, e.g. `date +%s%3N` before the launch), so
 *            the script measures launch -> first served request (the retry interval grows to
 *            10 ms after 1 s and 50 ms after 5 s; a broker that keeps closing connections
 *            without an answer for 10 s fails the wait at once). Encoded and decoded with
 *            proto/kafka_api.h, no librdkafka (its reconnect backoff would blur the figure).
 *
 * With --pid PID (the broker process; for Kafka the java process) load modes also report the
 * broker's CPU seconds, its VmRSS at the end and its largest VmRSS sampled every 100 ms, and
 * the CPU that other processes used meanwhile (busy_cores / other_cores), and how long the
 * broker's threads waited on a run queue (server_runq_wait_s; server_wait_per_cpu = that
 * wait per second of broker CPU, summed over its threads), so results from a shared machine
 * can be judged.
 *
 * Output: one machine-readable line on stdout, e.g.
 *   mode=produce records=1000000 bytes=100000000 secs=0.712 records_per_s=1404494
 *   mib_per_s=133.9 errors=0 size=100 partitions=8 ...
 * and a human summary on stderr unless -q. Exit status 0 only when the run completed without
 * errors (every record delivered / read).
 *
 * Memory: the payload, the latency samples and librdkafka's handles are owned by main and
 * released before it returns. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/clock.h"
#include "proto/kafka_api.h"

#if defined(__has_include)
#if __has_include(<librdkafka/rdkafka.h>)
#define KB_HAVE_RDKAFKA 1
#include <librdkafka/rdkafka.h>
#endif
#endif

enum kb_mode { KB_PRODUCE, KB_CONSUME, KB_LATENCY, KB_WAIT, KB_READY };
static const char *const kb_mode_names[] = {"produce", "consume", "latency", "wait", "ready"};

#define KB_MAX_PROPS 64

typedef struct kb_opts_s {
    const char *brokers;
    const char *topic;
    enum kb_mode mode;
    long long records;        /* -n: produce/latency count; consume: expected count (0 = until EOF) */
    int size;                 /* -s: record value bytes */
    int partitions;           /* -P: wait: expected count; produce: 0 = all the topic has */
    const char *acks;
    int linger_ms;
    int batch_msgs;
    int warmup;               /* latency: unmeasured records first */
    double timeout_s;         /* whole run bound */
    int64_t since_ms;         /* ready: wall-clock start of the launch */
    int pid;                  /* the broker process, 0 = none */
    bool quiet;
    int nprops;
    char *props[KB_MAX_PROPS];   /* "key=value", applied last (they win) */
} kb_opts_t;

static volatile sig_atomic_t kb_stop;

static void kb_on_signal(int sig)
{
    (void)sig;
    kb_stop = 1;
}

/* ---------------------------------------------------------------- /proc */

static double kb_proc_cpu_s(int pid)
{
    char path[64], st[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *p = strrchr(st, ')');
    unsigned long long ut, stime;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) != 2)
        return -1;
    return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
}

static bool kb_pid_alive(int pid)
{
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *rp = strrchr(st, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* VmRSS of pid in kB, -1 if unknown. */
static long kb_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Time all threads of pid spent waiting on a run queue (runnable, not running), from
 * /proc/PID/task/TID/schedstat (on-CPU ns, run-queue wait ns, slices). Seconds; -1 if
 * unknown. Threads that exit during the run take their share with them. */
static double kb_proc_runq_wait_s(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    double sum = 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char p2[128];
        snprintf(p2, sizeof p2, "/proc/%d/task/%.20s/schedstat", pid, e->d_name);
        FILE *f = fopen(p2, "r");
        if (!f)
            continue;
        unsigned long long run, wait;
        if (fscanf(f, "%llu %llu", &run, &wait) == 2) {
            sum += (double)wait / 1e9;
            n++;
        }
        fclose(f);
    }
    closedir(d);
    return n ? sum : -1;
}

static double kb_machine_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return -1;
    /* user nice system [idle iowait] irq softirq steal */
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double kb_self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU and memory accounting over the measured phase. A sampler thread reads the broker's
 * VmRSS every 100 ms and keeps the largest value. */
typedef struct kb_watch_s {
    int pid;
    double wall0, self0, server0, busy0, runq0;
    atomic_long rss_max_kb;
    atomic_bool stop;
    pthread_t thr;
    bool thr_running;
} kb_watch_t;

static void *kb_watch_thread(void *arg)
{
    kb_watch_t *w = arg;
    while (!atomic_load(&w->stop)) {
        long kb = kb_rss_kb(w->pid);
        if (kb > atomic_load(&w->rss_max_kb))
            atomic_store(&w->rss_max_kb, kb);
        poll(NULL, 0, 100);
    }
    return NULL;
}

static void kb_watch_start(kb_watch_t *w, int pid)
{
    memset(w, 0, sizeof *w);
    w->pid = pid;
    atomic_init(&w->rss_max_kb, -1);
    atomic_init(&w->stop, false);
    w->wall0 = (double)clock_mono_us() / 1e6;
    w->self0 = kb_self_cpu_s();
    w->server0 = pid ? kb_proc_cpu_s(pid) : -1;
    w->runq0 = pid ? kb_proc_runq_wait_s(pid) : -1;
    w->busy0 = kb_machine_busy_s();
    if (pid && pthread_create(&w->thr, NULL, kb_watch_thread, w) == 0)
        w->thr_running = true;
}

/* Stops the sampler and prints the accounting fields (continuing the stdout line). */
static void kb_watch_report(kb_watch_t *w, long long ops)
{
    double wall = (double)clock_mono_us() / 1e6 - w->wall0;
    double self = kb_self_cpu_s() - w->self0;
    double server = -1;
    if (w->thr_running) {
        atomic_store(&w->stop, true);
        pthread_join(w->thr, NULL);
        w->thr_running = false;
    }
    printf(" client_cpu_s=%.2f", self);
    if (w->pid) {
        double s1 = kb_proc_cpu_s(w->pid);
        long rss = kb_rss_kb(w->pid), mx = atomic_load(&w->rss_max_kb);
        if (rss > mx)
            mx = rss;
        if (w->server0 >= 0 && s1 >= 0) {
            server = s1 - w->server0;
            printf(" server_cpu_s=%.2f server_us_per_record=%.2f", server, ops > 0 ? server * 1e6 / (double)ops : 0);
        }
        printf(" server_rss_kb=%ld server_rss_max_kb=%ld", rss, mx);
        /* how long the broker was runnable but not running: a starved broker on a busy machine */
        double q1 = kb_proc_runq_wait_s(w->pid);
        if (w->runq0 >= 0 && q1 >= 0) {
            printf(" server_runq_wait_s=%.3f", q1 - w->runq0 > 0 ? q1 - w->runq0 : 0);
            if (server > 0)
                printf(" server_wait_per_cpu=%.2f", (q1 - w->runq0 > 0 ? q1 - w->runq0 : 0) / server);
        }
    }
    double busy1 = kb_machine_busy_s();
    if (w->busy0 >= 0 && busy1 >= 0 && wall > 0) {
        double busy = busy1 - w->busy0, other = busy - self - (server > 0 ? server : 0);
        double ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN) * wall;   /* clock ticks blur short runs */
        if (busy > ncpu)
            busy = ncpu;
        if (other > ncpu)
            other = ncpu;
        if (other < 0)
            other = 0;
        printf(" busy_cores=%.2f other_cores=%.2f", busy / wall, other / wall);
    }
}

/* ---------------------------------------------------------------- ready (raw Metadata v0) */

/* Splits the first "host:port" of a comma-separated list. 0 or -1. */
static int kb_first_broker(const char *list, char *host, size_t hlen, char *port, size_t plen)
{
    const char *end = strchr(list, ',');
    size_t n = end ? (size_t)(end - list) : strlen(list);
    const char *colon = memrchr(list, ':', n);
    if (!colon || colon == list || (size_t)(colon - list) >= hlen || n - (size_t)(colon - list) - 1 >= plen ||
        n - (size_t)(colon - list) - 1 == 0)
        return -1;
    memcpy(host, list, (size_t)(colon - list));
    host[colon - list] = '\0';
    memcpy(port, colon + 1, n - (size_t)(colon - list) - 1);
    port[n - (size_t)(colon - list) - 1] = '\0';
    return 0;
}

static int kb_read_full(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r > 0)
            got += (size_t)r;
        else if (r < 0 && errno == EINTR)
            continue;
        else
            return -1;
    }
    return 0;
}

/* One attempt: connect, Metadata v0 for all topics, read the answer. Returns the number of
 * brokers it lists (>= 0), -1 with err set, or -2 when the broker accepted the connection and
 * closed it without an answer. */
static int kb_metadata_probe(const struct addrinfo *ai, int64_t deadline_ms, char *err, size_t elen)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, elen, "socket: %s", strerror(errno));
        return -1;
    }
    int64_t left = deadline_ms - clock_mono_ms();
    if (left < 1)
        left = 1;
    if (left > 1000)
        left = 1000;
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int n = -1;
    buf_t out;
    buf_init(&out);
    arena_t a;
    arena_init(&a);
    uint8_t *frame = NULL;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, elen, "connect: %s", strerror(errno));
        goto done;
    }
    kp_MetadataRequest req;
    kp_init(&kp_MetadataRequest_schema, &req);   /* v0: an empty topic list means all topics */
    kp_req_hdr_t h = {.api_key = KP_METADATA, .api_version = 0, .correlation_id = 1,
                      .client_id = kp_str("kbench"), .version = 1};
    if (kp_request_encode(&out, &h, &req) != KP_OK) {
        snprintf(err, elen, "cannot encode Metadata v0");
        goto done;
    }
    if (write(fd, out.data, out.len) != (ssize_t)out.len) {
        snprintf(err, elen, "write: %s", strerror(errno));
        goto done;
    }
    uint8_t sz[4];
    errno = 0;
    if (kb_read_full(fd, sz, 4) != 0) {
        snprintf(err, elen, "no Metadata answer (%s)", errno ? strerror(errno) : "connection closed");
        if (errno == 0 || errno == ECONNRESET)
            n = -2;
        goto done;
    }
    uint32_t len = be32_get(sz);
    if (len > 64u << 20) {
        snprintf(err, elen, "Metadata answer of %u bytes", len);
        goto done;
    }
    frame = xmalloc(len ? len : 1);
    if (kb_read_full(fd, frame, len) != 0) {
        snprintf(err, elen, "truncated Metadata answer");
        goto done;
    }
    int32_t corr;
    void *body;
    if (kp_response_decode(frame, len, KP_METADATA, 0, &a, &corr, &body) != KP_OK || corr != 1) {
        snprintf(err, elen, "malformed Metadata answer");
        goto done;
    }
    n = ((kp_MetadataResponse *)body)->Brokers.n;
    if (n < 1)
        snprintf(err, elen, "Metadata answer lists no broker yet");
done:
    free(frame);
    arena_free(&a);
    buf_free(&out);
    close(fd);
    return n;
}

static int kb_ready(const kb_opts_t *o)
{
    char host[256], port[16], err[256] = "no attempt finished";
    if (kb_first_broker(o->brokers, host, sizeof host, port, sizeof port) != 0) {
        fprintf(stderr, "kbench: -b wants host:port, got '%s'\n", o->brokers);
        return 2;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "kbench: %s:%s: %s\n", host, port, gai_strerror(gai));
        return 2;
    }
    int64_t start = clock_mono_ms(), deadline = start + (int64_t)(o->timeout_s * 1000);
    int64_t closing_since = -1;   /* first of an unbroken series of connections closed unanswered */
    int attempts = 0, rc = 1;
    while (!kb_stop) {
        attempts++;
        int n = kb_metadata_probe(ai, deadline, err, sizeof err);
        if (n == -2 && closing_since < 0)
            closing_since = clock_mono_ms();
        else if (n != -2)
            closing_since = -1;
        if (n >= 1) {
            int64_t ms = o->since_ms ? clock_wall_ms() - o->since_ms : clock_mono_ms() - start;
            printf("mode=ready ok=1 ready_ms=%" PRId64 " attempts=%d\n", ms, attempts);
            if (!o->quiet)
                fprintf(stderr, "kbench: %s:%s answered Metadata after %" PRId64 " ms (%d attempts)\n", host, port,
                        ms, attempts);
            rc = 0;
            break;
        }
        if (o->pid && !kb_pid_alive(o->pid)) {
            printf("mode=ready ok=0 ready_ms=-1 attempts=%d server_exited=1\n", attempts);
            fprintf(stderr, "kbench: broker process %d exited before answering (%s)\n", o->pid, err);
            break;
        }
        if (closing_since >= 0 && clock_mono_ms() - closing_since >= 10000) {
            printf("mode=ready ok=0 ready_ms=-1 attempts=%d closes_unanswered=1\n", attempts);
            fprintf(stderr, "kbench: %s:%s has closed every connection without answering Metadata for 10 s\n",
                    host, port);
            break;
        }
        if (clock_mono_ms() >= deadline) {
            printf("mode=ready ok=0 ready_ms=-1 attempts=%d\n", attempts);
            fprintf(stderr, "kbench: %s:%s did not answer Metadata within %.0f s: %s\n", host, port, o->timeout_s,
                    err);
            break;
        }
        /* every 2 ms at first; a slow starter is polled less often (and its log spared) */
        int64_t since = clock_mono_ms() - start;
        poll(NULL, 0, since < 1000 ? 2 : since < 5000 ? 10 : 50);
    }
    freeaddrinfo(ai);
    return rc;
}

#ifdef KB_HAVE_RDKAFKA
/* ---------------------------------------------------------------- librdkafka */

typedef struct kb_run_s {
    const kb_opts_t *o;
    long long delivered;      /* delivery reports without error */
    long long failed;         /* delivery reports with an error */
    char first_err[256];
} kb_run_t;

static void kb_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    kb_run_t *r = opaque;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        r->delivered++;
    } else {
        if (!r->failed)
            snprintf(r->first_err, sizeof r->first_err, "%s", rd_kafka_err2str(m->err));
        r->failed++;
    }
}

static void kb_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *msg)
{
    (void)rk;
    if (level <= 4)
        fprintf(stderr, "kbench: librdkafka %s: %s\n", fac, msg);
}

static int kb_set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kbench: %s=%s: %s\n", k, v, err);
        return -1;
    }
    return 0;
}

/* A configured handle of the given type (NULL on error; the caller destroys it). */
static rd_kafka_t *kb_client(const kb_opts_t *o, rd_kafka_type_t type, kb_run_t *run)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char num[32];
    int bad = 0;
    bad |= kb_set(c, "bootstrap.servers", o->brokers);
    bad |= kb_set(c, "client.id", "kbench");
    rd_kafka_conf_set_log_cb(c, kb_log_cb);
    if (type == RD_KAFKA_PRODUCER) {
        bad |= kb_set(c, "acks", o->acks);
        snprintf(num, sizeof num, "%d", o->mode == KB_LATENCY ? 0 : o->linger_ms);
        bad |= kb_set(c, "linger.ms", num);
        snprintf(num, sizeof num, "%d", o->batch_msgs);
        bad |= kb_set(c, "batch.num.messages", num);
        bad |= kb_set(c, "compression.codec", "none");
        rd_kafka_conf_set_dr_msg_cb(c, kb_dr_cb);
        rd_kafka_conf_set_opaque(c, run);
    } else {
        bad |= kb_set(c, "enable.partition.eof", "true");
        bad |= kb_set(c, "enable.auto.commit", "false");
        bad |= kb_set(c, "enable.auto.offset.store", "false");
    }
    for (int i = 0; i < o->nprops; i++) {
        char *eq = strchr(o->props[i], '=');
        *eq = '\0';
        bad |= kb_set(c, o->props[i], eq + 1);
        *eq = '=';
    }
    if (bad) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kbench: rd_kafka_new: %s\n", err);
        rd_kafka_conf_destroy(c);
    }
    return rk;
}

/* Metadata of topic: the partition count if it exists and every partition has a leader,
 * 0 if not (yet), -1 on a request failure. */
static int kb_topic_ready(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int timeout_ms, char *why, size_t wlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (e) {
        snprintf(why, wlen, "Metadata: %s", rd_kafka_err2str(e));
        return -1;
    }
    int n = 0;
    if (md->topic_cnt < 1) {
        snprintf(why, wlen, "topic not in the Metadata answer");
    } else if (md->topics[0].err) {
        snprintf(why, wlen, "topic: %s", rd_kafka_err2str(md->topics[0].err));
    } else {
        n = md->topics[0].partition_cnt;
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
            if (md->topics[0].partitions[i].leader < 0 || md->topics[0].partitions[i].err) {
                snprintf(why, wlen, "partition %d: no leader (%s)", md->topics[0].partitions[i].id,
                         rd_kafka_err2str(md->topics[0].partitions[i].err));
                n = 0;
                break;
            }
        if (n == 0 && md->topics[0].partition_cnt == 0)
            snprintf(why, wlen, "topic has no partitions yet");
    }
    rd_kafka_metadata_destroy(md);
    return n;
}

/* Waits until the topic has partitions with leaders (want > 0: exactly want of them). Returns
 * the partition count, or -1 on timeout / interrupt. */
static int kb_await_topic(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int want, int64_t deadline_ms, char *why,
                          size_t wlen)
{
    while (!kb_stop) {
        int left = (int)(deadline_ms - clock_mono_ms());
        if (left <= 0)
            break;
        int n = kb_topic_ready(rk, rkt, left < 2000 ? left : 2000, why, wlen);
        if (n > 0 && (want <= 0 || n == want))
            return n;
        if (n > 0)
            snprintf(why, wlen, "%d partitions, waiting for %d", n, want);
        poll(NULL, 0, 50);
    }
    return -1;
}

static int kb_wait(const kb_opts_t *o)
{
    kb_run_t run = {.o = o};
    rd_kafka_t *rk = kb_client(o, RD_KAFKA_PRODUCER, &run);
    if (!rk)
        return 2;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    char why[256] = "interrupted";
    int64_t t0 = clock_mono_ms();
    int n = kb_await_topic(rk, rkt, o->partitions, t0 + (int64_t)(o->timeout_s * 1000), why, sizeof why);
    int64_t ms = clock_mono_ms() - t0;
    if (n > 0) {
        printf("mode=wait ok=1 topic=%s partitions=%d wait_ms=%" PRId64 "\n", o->topic, n, ms);
    } else {
        printf("mode=wait ok=0 topic=%s wait_ms=%" PRId64 "\n", o->topic, ms);
        fprintf(stderr, "kbench: topic %s not ready after %.0f s: %s\n", o->topic, o->timeout_s, why);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return n > 0 ? 0 : 1;
}

static int kb_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t kb_quantile(const int64_t *v, long long n, double q)
{
    if (n <= 0)
        return 0;
    long long i = (long long)(q * (double)n + 0.999999) - 1;   /* nearest rank */
    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return v[i];
}

/* produce and latency modes. */
static int kb_produce(const kb_opts_t *o)
{
    kb_run_t run = {.o = o};
    rd_kafka_t *rk = kb_client(o, RD_KAFKA_PRODUCER, &run);
    if (!rk)
        return 2;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    int64_t deadline = clock_mono_ms() + (int64_t)(o->timeout_s * 1000);
    char why[256] = "interrupted";
    int nparts = kb_await_topic(rk, rkt, o->partitions, deadline, why, sizeof why);
    int rc = 1;
    char *payload = NULL;
    int64_t *lat = NULL;
    if (nparts <= 0) {
        fprintf(stderr, "kbench: topic %s is not ready: %s\n", o->topic, why);
        goto out;
    }
    payload = xmalloc((size_t)o->size + 1);
    for (int i = 0; i < o->size; i++)
        payload[i] = (char)('a' + i % 26);
    long long total = o->records + (o->mode == KB_LATENCY ? o->warmup : 0);
    if (o->mode == KB_LATENCY)
        lat = xmalloc(sizeof *lat * (size_t)(o->records > 0 ? o->records : 1));
    /* Not timed: one record to every partition, delivered, so that the connection to each
     * leader is up before the clock starts (a latency run has its own warm-up records). */
    if (o->mode == KB_PRODUCE) {
        for (int p = 0; p < nparts; p++)
            if (rd_kafka_produce(rkt, p, 0, payload, (size_t)o->size, NULL, 0, NULL) != 0)
                break;
        rd_kafka_flush(rk, (int)(deadline - clock_mono_ms()));
        if (run.failed || run.delivered != nparts) {
            fprintf(stderr, "kbench: the warm-up records were not delivered: %s\n",
                    run.failed ? run.first_err : "timed out");
            goto out;
        }
        run.delivered = 0;
    }
    kb_watch_t w;
    int64_t t0 = clock_mono_us();
    bool warm_done = o->mode != KB_LATENCY || o->warmup == 0;
    if (warm_done)
        kb_watch_start(&w, o->pid);
    long long sent = 0, nlat = 0;
    for (long long i = 0; i < total && !kb_stop; i++) {
        if (!warm_done && i == o->warmup) {
            warm_done = true;
            kb_watch_start(&w, o->pid);
            t0 = clock_mono_us();
        }
        int64_t s0 = clock_mono_us();
        for (;;) {
            /* flags 0: librdkafka neither copies nor frees the payload, which outlives the run */
            if (rd_kafka_produce(rkt, (int32_t)(i % nparts), 0, payload, (size_t)o->size, NULL, 0, NULL) == 0)
                break;
            rd_kafka_resp_err_t e = rd_kafka_last_error();
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "kbench: produce: %s\n", rd_kafka_err2str(e));
                goto drain;
            }
            rd_kafka_poll(rk, 1);
            if (clock_mono_ms() > deadline || kb_stop)
                goto drain;
        }
        sent++;
        if (o->mode == KB_LATENCY) {
            long long want = sent;
            while (run.delivered + run.failed < want && !kb_stop && clock_mono_ms() < deadline)
                rd_kafka_poll(rk, 100);
            if (run.delivered + run.failed < want)
                goto drain;
            if (i >= o->warmup)
                lat[nlat++] = clock_mono_us() - s0;
        } else if ((i & 1023) == 0) {
            rd_kafka_poll(rk, 0);
        }
    }
drain:
    while (run.delivered + run.failed < sent && !kb_stop) {
        int left = (int)(deadline - clock_mono_ms());
        if (left <= 0)
            break;
        rd_kafka_flush(rk, left < 500 ? left : 500);
        rd_kafka_poll(rk, 0);
    }
    int64_t t1 = clock_mono_us();
    if (!warm_done) {   /* never got past the warm-up */
        kb_watch_start(&w, o->pid);
        t0 = t1;
    }
    double secs = (double)(t1 - t0) / 1e6;
    long long measured = run.delivered - (o->mode == KB_LATENCY ? (o->warmup < run.delivered ? o->warmup : run.delivered) : 0);
    long long lost = total - run.delivered - run.failed;
    double bytes = (double)measured * (double)o->size;
    printf("mode=%s records=%lld bytes=%.0f secs=%.3f records_per_s=%.0f mib_per_s=%.2f errors=%lld "
           "undelivered=%lld size=%d partitions=%d acks=%s",
           kb_mode_names[o->mode], measured, bytes, secs, secs > 0 ? (double)measured / secs : 0,
           secs > 0 ? bytes / secs / 1048576.0 : 0, run.failed, lost, o->size, nparts, o->acks);
    if (o->mode == KB_LATENCY) {
        qsort(lat, (size_t)nlat, sizeof *lat, kb_cmp_i64);
        double sum = 0;
        for (long long i = 0; i < nlat; i++)
            sum += (double)lat[i];
        printf(" p50_us=%" PRId64 " p90_us=%" PRId64 " p99_us=%" PRId64 " max_us=%" PRId64 " mean_us=%.0f",
               kb_quantile(lat, nlat, 0.50), kb_quantile(lat, nlat, 0.90), kb_quantile(lat, nlat, 0.99),
               nlat ? lat[nlat - 1] : 0, nlat ? sum / (double)nlat : 0);
    } else {
        printf(" linger_ms=%d batch_msgs=%d", o->linger_ms, o->batch_msgs);
    }
    kb_watch_report(&w, measured);
    printf("\n");
    fflush(stdout);
    rc = (run.failed == 0 && lost == 0 && run.delivered == total) ? 0 : 1;
    if (!o->quiet) {
        fprintf(stderr, "kbench: %s %lld x %d B to %s (%d partitions, acks=%s): %.0f records/s, %.1f MiB/s in %.3f s",
                kb_mode_names[o->mode], measured, o->size, o->topic, nparts, o->acks,
                secs > 0 ? (double)measured / secs : 0, secs > 0 ? bytes / secs / 1048576.0 : 0, secs);
        if (o->mode == KB_LATENCY)
            fprintf(stderr, "; p50 %" PRId64 " us, p99 %" PRId64 " us", kb_quantile(lat, nlat, 0.50),
                    kb_quantile(lat, nlat, 0.99));
        fprintf(stderr, "\n");
    }
    if (run.failed)
        fprintf(stderr, "kbench: %lld records failed, the first with: %s\n", run.failed, run.first_err);
    if (lost)
        fprintf(stderr, "kbench: %lld records were not delivered in time\n", lost);
out:
    free(lat);
    free(payload);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return rc;
}

static int kb_consume(const kb_opts_t *o)
{
    rd_kafka_t *rk = kb_client(o, RD_KAFKA_CONSUMER, NULL);
    if (!rk)
        return 2;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    int64_t deadline = clock_mono_ms() + (int64_t)(o->timeout_s * 1000);
    char why[256] = "interrupted";
    int nparts = kb_await_topic(rk, rkt, o->partitions, deadline, why, sizeof why);
    if (nparts <= 0) {
        fprintf(stderr, "kbench: topic %s is not ready: %s\n", o->topic, why);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        return 1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    bool *eof = xcalloc((size_t)nparts, sizeof *eof);
    rd_kafka_message_t *msgs[1024];
    long long count = 0, errors = 0;
    double bytes = 0;
    int neof = 0, started = 0;
    char first_err[256] = "";
    kb_watch_t w;   /* started with the first record */
    int64_t t0 = clock_mono_us();
    for (int p = 0; p < nparts; p++) {
        if (rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, q) != 0) {
            fprintf(stderr, "kbench: consume_start %s[%d]: %s\n", o->topic, p, rd_kafka_err2str(rd_kafka_last_error()));
            errors++;
            break;
        }
        started++;
    }
    while (!errors && !kb_stop && neof < nparts && !(o->records > 0 && count >= o->records)) {
        int left = (int)(deadline - clock_mono_ms());
        if (left <= 0)
            break;
        ssize_t n = rd_kafka_consume_batch_queue(q, left < 200 ? left : 200, msgs, 1024);
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (m->partition >= 0 && m->partition < nparts && !eof[m->partition]) {
                    eof[m->partition] = true;
                    neof++;
                }
            } else if (m->err) {
                if (!errors)
                    snprintf(first_err, sizeof first_err, "%s", rd_kafka_message_errstr(m));
                errors++;
            } else {
                if (count == 0) {   /* the clock starts with the first record */
                    kb_watch_start(&w, o->pid);
                    t0 = clock_mono_us();
                }
                count++;
                bytes += (double)m->len;
            }
            rd_kafka_message_destroy(m);
        }
    }
    int64_t t1 = clock_mono_us();
    if (count == 0)
        kb_watch_start(&w, o->pid);
    double secs = (double)(t1 - t0) / 1e6;
    bool complete = o->records > 0 ? count >= o->records : neof == nparts;
    printf("mode=consume records=%lld bytes=%.0f secs=%.3f records_per_s=%.0f mib_per_s=%.2f errors=%lld "
           "complete=%d partitions=%d",
           count, bytes, secs, secs > 0 ? (double)count / secs : 0, secs > 0 ? bytes / secs / 1048576.0 : 0, errors,
           complete, nparts);
    kb_watch_report(&w, count);
    printf("\n");
    fflush(stdout);
    if (!o->quiet)
        fprintf(stderr, "kbench: consumed %lld records (%.1f MiB) from %s in %.3f s: %.1f MiB/s\n", count,
                bytes / 1048576.0, o->topic, secs, secs > 0 ? bytes / secs / 1048576.0 : 0);
    if (errors)
        fprintf(stderr, "kbench: %lld consume errors, the first: %s\n", errors, first_err);
    if (!complete)
        fprintf(stderr, "kbench: stopped before the end (%lld records read, %d of %d partitions at their end)\n",
                count, neof, nparts);
    for (int p = 0; p < started; p++)
        rd_kafka_consume_stop(rkt, p);
    free(eof);
    rd_kafka_queue_destroy(q);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return errors == 0 && complete ? 0 : 1;
}
#endif /* KB_HAVE_RDKAFKA */

/* ---------------------------------------------------------------- main */

static void kb_usage(FILE *f)
{
    fprintf(f,
            "usage: kbench -b HOST:PORT[,..] -m MODE [options]\n"
            "  -m produce|consume|latency|wait|ready\n"
            "  -t TOPIC           topic (produce, consume, latency, wait)\n"
            "  -n N               produce/latency: records (default 100000 / 1000);\n"
            "                     consume: stop after N records (default: at the end of every partition)\n"
            "  -s BYTES           record value size (default 100)\n"
            "  -P N               the topic's partition count to wait for (default: whatever it has)\n"
            "  -a ACKS            producer acks (default 1)\n"
            "  --linger-ms MS     producer linger.ms (default 5, librdkafka's; latency mode uses 0)\n"
            "  --batch-msgs N     producer batch.num.messages (default 10000, librdkafka's)\n"
            "  -w N               latency: unmeasured warm-up records first (default 100)\n"
            "  -X KEY=VALUE       any librdkafka property, applied last (repeatable), e.g.\n"
            "                     -X api.version.request=false -X broker.version.fallback=0.9.0\n"
            "  -T SECS            give up after this long (default 120; ready: 60)\n"
            "  --pid PID          the broker process: report its CPU and VmRSS (peak sampled every 100 ms);\n"
            "                     ready: stop at once when it exits\n"
            "  --since-ms MS      ready: report the time since this wall-clock epoch in ms\n"
            "  -q                 no human summary on stderr\n"
            "Output: one key=value line on stdout. Exit 0 only when the run was complete and error-free.\n");
}

int main(int argc, char **argv)
{
    kb_opts_t o = {.size = 100, .acks = "1", .linger_ms = 5, .batch_msgs = 10000, .warmup = 100,
                   .timeout_s = -1, .records = -1};
    const char *mode = NULL;
    enum { O_LINGER = 256, O_BATCH, O_PID, O_SINCE };
    static const struct option lopts[] = {
        {"linger-ms", required_argument, NULL, O_LINGER}, {"batch-msgs", required_argument, NULL, O_BATCH},
        {"pid", required_argument, NULL, O_PID},          {"since-ms", required_argument, NULL, O_SINCE},
        {"help", no_argument, NULL, 'h'},                 {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "b:m:t:n:s:P:a:w:X:T:qh", lopts, NULL)) != -1) {
        switch (c) {
        case 'b': o.brokers = optarg; break;
        case 'm': mode = optarg; break;
        case 't': o.topic = optarg; break;
        case 'n': o.records = atoll(optarg); break;
        case 's': o.size = atoi(optarg); break;
        case 'P': o.partitions = atoi(optarg); break;
        case 'a': o.acks = optarg; break;
        case 'w': o.warmup = atoi(optarg); break;
        case 'T': o.timeout_s = atof(optarg); break;
        case 'q': o.quiet = true; break;
        case O_LINGER: o.linger_ms = atoi(optarg); break;
        case O_BATCH: o.batch_msgs = atoi(optarg); break;
        case O_PID: o.pid = atoi(optarg); break;
        case O_SINCE: o.since_ms = atoll(optarg); break;
        case 'X':
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                fprintf(stderr, "kbench: -X wants KEY=VALUE, got '%s'\n", optarg);
                return 2;
            }
            if (o.nprops == KB_MAX_PROPS) {
                fprintf(stderr, "kbench: too many -X\n");
                return 2;
            }
            o.props[o.nprops++] = optarg;
            break;
        case 'h': kb_usage(stdout); return 0;
        default: kb_usage(stderr); return 2;
        }
    }
    if (optind < argc || !o.brokers || !mode) {
        kb_usage(stderr);
        return 2;
    }
    int m;
    for (m = 0; m <= KB_READY; m++)
        if (strcmp(mode, kb_mode_names[m]) == 0)
            break;
    if (m > KB_READY) {
        fprintf(stderr, "kbench: unknown mode '%s'\n", mode);
        return 2;
    }
    o.mode = (enum kb_mode)m;
    if (o.timeout_s <= 0)
        o.timeout_s = o.mode == KB_READY ? 60 : 120;
    if (o.records < 0)
        o.records = o.mode == KB_PRODUCE ? 100000 : o.mode == KB_LATENCY ? 1000 : 0;
    if (o.size < 0 || o.size > (64 << 20) || o.warmup < 0 || o.partitions < 0 || o.linger_ms < 0 ||
        o.batch_msgs < 1) {
        fprintf(stderr, "kbench: a size, count or time is out of range\n");
        return 2;
    }
    if (o.mode != KB_READY && !o.topic) {
        fprintf(stderr, "kbench: -m %s needs -t TOPIC\n", mode);
        return 2;
    }
    struct sigaction sa = {.sa_handler = kb_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (o.mode == KB_READY)
        return kb_ready(&o);
#ifdef KB_HAVE_RDKAFKA
    switch (o.mode) {
    case KB_PRODUCE:
    case KB_LATENCY: return kb_produce(&o);
    case KB_CONSUME: return kb_consume(&o);
    case KB_WAIT: return kb_wait(&o);
    default: return 2;
    }
#else
    fprintf(stderr, "kbench: built without librdkafka (apt-get install librdkafka-dev, then make); only -m ready works\n");
    return 77;
#endif
}
