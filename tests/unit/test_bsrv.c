/* Unit tests: the broker's Kafka server and dispatch (broker/server.h, broker/dispatch.h),
 * run in-process on 127.0.0.1 with stub handlers; the client side is a plain blocking socket
 * and the loop is pumped until the expected bytes (or EOF) arrive.
 *
 * Also a serve mode for the integration tests: `test_bsrv --serve PORT [--no-handlers]`
 * runs the server with stub handlers for every API (default-valued responses, no answer to
 * acks=0 Produce) — or with none, so that only ApiVersions is served — until SIGTERM. */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/dispatch.h"
#include "broker/server.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/kafka_api.h"
#include "tests/unit/test_kafka_util.h"

#define VEC_DIR "tests/unit/vectors/kafka"

/* ---- the server under test ---- */

static struct event_base *base;
static bsrv_t *srv;
static bsrv_handlers_t handlers;
static bsrv_config_t cfg;

/* async handler: contexts parked here until the test answers them */
#define MAXPARK 64
static bsrv_ctx_t *parked[MAXPARK];
static int nparked;
static int handled;      /* handler calls */
static int file_fd = -1; /* region handler's file */

/* Answers with the API's response at its defaults (acks=0 Produce: no answer). */
static void stub_handler(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    (void)arg;
    handled++;
    if (!kp_request_wants_response(req)) {
        bsrv_respond_none(ctx);
        return;
    }
    void *resp = kp_new(bsrv_ctx_arena(ctx), req->api->resp);
    int rc = bsrv_respond(ctx, resp);
    if (arg == NULL)
        ck_assert_int_eq(rc, 0);
}

static void park_handler(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    (void)req;
    (void)arg;
    handled++;
    ck_assert_int_lt(nparked, MAXPARK);
    parked[nparked++] = ctx;
}

/* Body: "AB" + bytes 3..7 of the file + "CD". */
static void region_handler(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    (void)req;
    (void)arg;
    handled++;
    int fd = dup(file_fd);
    bsrv_part_t parts[3] = {{"AB", 2, -1, 0}, {NULL, 5, fd, 3}, {"CD", 2, -1, 0}};
    ck_assert_int_eq(bsrv_respond_parts(ctx, parts, 3), 0);
    close(fd);     /* the server holds its own */
}

/* 1 MiB of 'x' as the body, to fill the output and the kernel's socket buffers. */
static void big_handler(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    (void)req;
    (void)arg;
    handled++;
    static char big[1024 * 1024];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(bsrv_respond_bytes(ctx, big, sizeof big), 0);
}

/* arg: NULL in tests (a failure is the test's), non-NULL in serve mode */
static void register_all_arg(bsrv_handler_fn fn, void *arg)
{
    for (size_t i = 0; i < KP_API_COUNT; i++)
        if (kp_api_table[i].key != KP_API_VERSIONS) {
            handlers.by_key[kp_api_table[i].key].fn = fn;
            handlers.by_key[kp_api_table[i].key].arg = arg;
        }
}

static void register_all(bsrv_handler_fn fn)
{
    register_all_arg(fn, NULL);
}

static void start(void)
{
    ck_assert_ptr_nonnull(base = event_base_new());
    cfg.listeners = "PLAINTEXT://127.0.0.1:0";
    ck_assert_ptr_nonnull(srv = bsrv_new(base, &cfg, &handlers));
    ck_assert_int_gt(bsrv_port(srv, 0), 0);
}

static void setup(void)
{
    memset(&handlers, 0, sizeof handlers);
    memset(&cfg, 0, sizeof cfg);
    nparked = 0;
    handled = 0;
    log_set_level(LOG_ERROR);
}

static void teardown(void)
{
    bsrv_free(srv);
    srv = NULL;
    for (int i = 0; i < nparked; i++)
        if (parked[i])
            bsrv_respond_none(parked[i]);   /* orphans: answering frees them */
    nparked = 0;
    if (base)
        event_base_free(base);
    base = NULL;
    if (file_fd >= 0)
        close(file_fd);
    file_fd = -1;
}

/* ---- the client side ---- */

static int connect_srv(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)bsrv_port(srv, 0))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_base_loop(base, EVLOOP_NONBLOCK);
            continue;
        }
        ck_assert_int_gt(w, 0);
        b += w;
        n -= (size_t)w;
    }
}

/* Runs the loop once and waits up to 2 ms for the client socket. */
static void pump(int fd)
{
    event_base_loop(base, EVLOOP_NONBLOCK);
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 2);
    event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Client-side read buffers, per fd. */
static buf_t inbuf[1024];

/* Reads one response frame (size prefix included) into out: 1, or 0 at EOF; fails after 5 s. */
static int recv_frame(int fd, buf_t *out)
{
    buf_t *in = &inbuf[fd];
    int64_t end = clock_mono_ms() + 5000;
    for (;;) {
        if (in->len >= 4 && in->len >= 4 + (size_t)be32_get(in->data)) {
            size_t n = 4 + be32_get(in->data);
            buf_reset(out);
            buf_put(out, in->data, n);
            memmove(in->data, in->data + n, in->len - n);
            in->len -= n;
            return 1;
        }
        uint8_t tmp[65536];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r > 0) {
            buf_put(in, tmp, (size_t)r);
            continue;
        }
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return 0;
        ck_assert_msg(clock_mono_ms() < end, "no response within 5 s");
        pump(fd);
    }
}

static void client_close(int fd)
{
    buf_free(&inbuf[fd]);
    close(fd);
}

/* Asserts that the server closes fd without sending anything more. */
static void expect_closed(int fd)
{
    buf_t f = BUF_INIT;
    ck_assert_msg(recv_frame(fd, &f) == 0, "expected the connection to be closed");
    buf_free(&f);
    client_close(fd);
}

/* Appends a request frame for key/version with body (a kp_<Api>Request) at corr. */
static void req_frame(buf_t *b, int key, int version, int32_t corr, const void *body)
{
    kp_req_hdr_t h = {.api_key = (int16_t)key, .api_version = (int16_t)version, .correlation_id = corr,
                      .client_id = kp_str("test"), .version = (int8_t)kp_req_hdr_version(key, version)};
    ck_assert_int_eq(kp_request_encode(b, &h, body), KP_OK);
}

static void *new_req(arena_t *a, int key)
{
    return kp_new(a, kp_api_find(key)->req);
}

static int32_t frame_corr(const buf_t *f)
{
    ck_assert_uint_ge(f->len, 8);
    return (int32_t)be32_get(f->data + 4);
}

/* Loads the bytes of a capture. */
static void vec_bytes(const char *name, buf_t *out)
{
    const char *top = getenv("GREGOR_TOP");
    char path[1024];
    snprintf(path, sizeof path, "%s%s%s/%s", top ? top : "", top ? "/" : "", VEC_DIR, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        for (char *c = line; c[0] && c[1]; c += 2) {
            unsigned x;
            if (c[0] == '\n' || sscanf(c, "%2x", &x) != 1)
                break;
            buf_put_u8(out, (uint8_t)x);
        }
    }
    fclose(f);
    ck_assert_uint_gt(out->len, 4);
}

static void assert_same(const buf_t *got, const buf_t *want, const char *what)
{
    if (got->len != want->len || memcmp(got->data, want->data, got->len)) {
        buf_t g = BUF_INIT, w = BUF_INIT;
        hexdump(&g, got->data, got->len);
        hexdump(&w, want->data, want->len);
        ck_abort_msg("%s:\ngot  %s\nwant %s", what, buf_cstr(&g), buf_cstr(&w));
    }
}

/* ---- ApiVersions ---- */

START_TEST(api_versions_captures_byte_exact)
{
    register_all(stub_handler);
    start();
    static const char *pairs[][2] = {
        {"kpyauto-ApiVersions-v0-request.hex", "kpyauto-ApiVersions-v0-response.hex"},
        {"kpyadmin-ApiVersions-v0-request.hex", "kpyadmin-ApiVersions-v0-response.hex"},
        {"kafkajs-ApiVersions-v2-request.hex", "kafkajs-ApiVersions-v2-response.hex"},
        {"kcat-ApiVersions-v3-request.hex", "kcat-ApiVersions-v3-response.hex"},
        {"ck-ApiVersions-v3-request.hex", "ck-ApiVersions-v3-response.hex"},
    };
    int fd = connect_srv();
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        buf_t q = BUF_INIT, want = BUF_INIT, got = BUF_INIT;
        vec_bytes(pairs[i][0], &q);
        vec_bytes(pairs[i][1], &want);
        send_all(fd, q.data, q.len);
        ck_assert_int_eq(recv_frame(fd, &got), 1);
        assert_same(&got, &want, pairs[i][1]);
        buf_free(&q);
        buf_free(&want);
        buf_free(&got);
    }
    client_close(fd);
    ck_assert_int_eq(handled, 0);    /* dispatch answered them itself */
    ck_assert_uint_eq(bsrv_stats(srv)->api[KP_API_VERSIONS].requests, 5);
}
END_TEST

START_TEST(api_versions_v1_and_v4)
{
    register_all(stub_handler);
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    /* v1: what kp_api_versions_respond writes */
    buf_t q = BUF_INIT, want = BUF_INIT, got = BUF_INIT;
    req_frame(&q, KP_API_VERSIONS, 1, 7, new_req(&a, KP_API_VERSIONS));
    kp_request_t req;
    ck_assert_int_eq(kp_request_decode(q.data + 4, q.len - 4, &a, &req), KP_OK);
    kp_api_versions_respond(&req, 0, &a, &want);
    send_all(fd, q.data, q.len);
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    assert_same(&got, &want, "ApiVersions v1");

    /* v4 (flexible header v2, unknown body): error 35, v0 layout, only ApiVersions 0-3 */
    buf_reset(&q);
    hex(&q, "00000012 0012 0004 0000002a 0004 74657374 00 01 00 00");
    ck_assert_uint_eq(q.len, 4 + 0x12);
    send_all(fd, q.data, q.len);
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    assert_bytes(got.data, got.len, "00000010 0000002a 0023 00000001 0012 0000 0003");
    /* the connection stays usable */
    buf_reset(&q);
    vec_bytes("kcat-ApiVersions-v3-request.hex", &q);
    send_all(fd, q.data, q.len);
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    buf_reset(&want);
    vec_bytes("kcat-ApiVersions-v3-response.hex", &want);
    assert_same(&got, &want, "v3 after v4");
    client_close(fd);
    buf_free(&q);
    buf_free(&want);
    buf_free(&got);
    arena_free(&a);
}
END_TEST

START_TEST(api_versions_lists_only_registered)
{
    handlers.by_key[KP_METADATA].fn = stub_handler;
    handlers.by_key[KP_FETCH].fn = stub_handler;
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT, got = BUF_INIT;
    req_frame(&q, KP_API_VERSIONS, 2, 3, new_req(&a, KP_API_VERSIONS));
    send_all(fd, q.data, q.len);
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    int32_t corr;
    void *body;
    ck_assert_int_eq(kp_response_decode(got.data + 4, got.len - 4, KP_API_VERSIONS, 2, &a, &corr, &body), KP_OK);
    kp_ApiVersionsResponse *r = body;
    ck_assert_int_eq(corr, 3);
    ck_assert_int_eq(r->ErrorCode, 0);
    ck_assert_int_eq(r->ApiKeys.n, 3);
    ck_assert_int_eq(r->ApiKeys.v[0].ApiKey, KP_FETCH);
    ck_assert_int_eq(r->ApiKeys.v[0].MaxVersion, kp_api_find(KP_FETCH)->max_ver);
    ck_assert_int_eq(r->ApiKeys.v[1].ApiKey, KP_METADATA);
    ck_assert_int_eq(r->ApiKeys.v[2].ApiKey, KP_API_VERSIONS);
    /* an API without a handler closes the connection */
    buf_reset(&q);
    req_frame(&q, KP_LIST_GROUPS, 0, 4, new_req(&a, KP_LIST_GROUPS));
    send_all(fd, q.data, q.len);
    expect_closed(fd);
    ck_assert_uint_eq(bsrv_stats(srv)->protocol_closes, 1);
    buf_free(&q);
    buf_free(&got);
    arena_free(&a);
}
END_TEST

/* ---- hostile framing and requests ---- */

/* Sends raw hex on a fresh connection and expects it to be closed. */
static void expect_close_on(const char *h)
{
    int fd = connect_srv();
    buf_t q = BUF_INIT;
    hex(&q, h);
    send_all(fd, q.data, q.len);
    expect_closed(fd);
    buf_free(&q);
}

START_TEST(bad_frames_close_only_that_connection)
{
    register_all(stub_handler);
    cfg.max_request_bytes = 1000;
    start();
    int bystander = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT, got = BUF_INIT;

    expect_close_on("00000000");                       /* size 0 */
    expect_close_on("00000007 00030000000000");        /* below the smallest header */
    expect_close_on("ffffffff");                       /* negative */
    expect_close_on("000003e9");                       /* max + 1: closed before the body arrives */
    expect_close_on("7fffffff 0003");                  /* 2 GiB claimed: nothing allocated */
    expect_close_on("0000000a 03e7 0000 00000001 ffff"); /* unknown api key 999 */
    expect_close_on("0000000a 002c 0000 00000001 ffff"); /* key 44: Kafka's, not ours */
    expect_close_on("0000000a 0003 0063 00000001 ffff"); /* Metadata v99 */
    expect_close_on("0000000c 0003 0001 00000001 ffff 0000"); /* Metadata v1 body cut short */
    expect_close_on("0000000a 0003 0001 00000001 0010"); /* client id longer than the frame */
    uint64_t closes = bsrv_stats(srv)->protocol_closes;
    ck_assert_uint_eq(closes, 10);

    /* a request of exactly max bytes is fine */
    req_frame(&q, KP_METADATA, 1, 1, new_req(&a, KP_METADATA));
    ck_assert_uint_lt(q.len, 1000);
    size_t pad = 1000 - (q.len - 4);
    buf_put(&q, (char[1000]){0}, pad);   /* trailing bytes: ignored as Kafka does */
    buf_set_be32(&q, 0, 1000);
    send_all(bystander, q.data, q.len);
    ck_assert_int_eq(recv_frame(bystander, &got), 1);
    ck_assert_int_eq(frame_corr(&got), 1);
    client_close(bystander);
    ck_assert_int_eq(handled, 1);
    buf_free(&q);
    buf_free(&got);
    arena_free(&a);
}
END_TEST

START_TEST(slow_frame_is_assembled)
{
    register_all(stub_handler);
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT, got = BUF_INIT;
    req_frame(&q, KP_METADATA, 4, 9, new_req(&a, KP_METADATA));
    for (size_t i = 0; i < q.len; i++) {    /* one byte at a time */
        send_all(fd, q.data + i, 1);
        pump(fd);
        ck_assert_int_eq(handled, i + 1 == q.len ? 1 : 0);
    }
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    ck_assert_int_eq(frame_corr(&got), 9);
    client_close(fd);
    buf_free(&q);
    buf_free(&got);
    arena_free(&a);
}
END_TEST

/* ---- ordering, async answers, acks=0 ---- */

START_TEST(one_in_flight_and_in_order)
{
    handlers.by_key[KP_METADATA].fn = park_handler;
    handlers.by_key[KP_LIST_GROUPS].fn = stub_handler;
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT, got = BUF_INIT;
    /* pipelined: Metadata(1), ListGroups(2), Metadata(3) */
    req_frame(&q, KP_METADATA, 1, 1, new_req(&a, KP_METADATA));
    req_frame(&q, KP_LIST_GROUPS, 0, 2, new_req(&a, KP_LIST_GROUPS));
    req_frame(&q, KP_METADATA, 1, 3, new_req(&a, KP_METADATA));
    send_all(fd, q.data, q.len);
    int64_t end = clock_mono_ms() + 5000;
    while (nparked < 1 && clock_mono_ms() < end)
        pump(fd);
    for (int i = 0; i < 20; i++)
        pump(fd);
    ck_assert_int_eq(nparked, 1);          /* the rest waits behind it */
    ck_assert_int_eq(handled, 1);
    ck_assert(!bsrv_ctx_closed(parked[0]));
    ck_assert_int_eq(bsrv_ctx_request(parked[0])->hdr.correlation_id, 1);

    /* answered later, from outside any server callback */
    ck_assert_int_eq(bsrv_respond(parked[0], kp_new(bsrv_ctx_arena(parked[0]), kp_api_find(KP_METADATA)->resp)), 0);
    parked[0] = NULL;
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    ck_assert_int_eq(frame_corr(&got), 1);
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    ck_assert_int_eq(frame_corr(&got), 2);
    while (nparked < 2 && clock_mono_ms() < end)
        pump(fd);
    ck_assert_int_eq(nparked, 2);
    ck_assert_int_eq(bsrv_ctx_request(parked[1])->hdr.correlation_id, 3);
    ck_assert_int_eq(bsrv_respond(parked[1], kp_new(bsrv_ctx_arena(parked[1]), kp_api_find(KP_METADATA)->resp)), 0);
    parked[1] = NULL;
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    ck_assert_int_eq(frame_corr(&got), 3);
    ck_assert_int_eq(handled, 3);
    client_close(fd);
    buf_free(&q);
    buf_free(&got);
    arena_free(&a);
}
END_TEST

START_TEST(client_gone_while_in_flight)
{
    handlers.by_key[KP_METADATA].fn = park_handler;
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT;
    req_frame(&q, KP_METADATA, 1, 1, new_req(&a, KP_METADATA));
    send_all(fd, q.data, q.len);
    int64_t end = clock_mono_ms() + 5000;
    while (nparked < 1 && clock_mono_ms() < end)
        pump(fd);
    ck_assert_int_eq(nparked, 1);
    client_close(fd);
    /* the server only notices when it writes; answering then must be harmless */
    ck_assert_int_eq(bsrv_respond(parked[0], kp_new(bsrv_ctx_arena(parked[0]), kp_api_find(KP_METADATA)->resp)), 0);
    parked[0] = NULL;
    while (bsrv_stats(srv)->open > 0 && clock_mono_ms() < end)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    ck_assert_uint_eq(bsrv_stats(srv)->open, 0);
    buf_free(&q);
    arena_free(&a);
}
END_TEST

START_TEST(orphan_after_server_free)
{
    handlers.by_key[KP_METADATA].fn = park_handler;
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT;
    req_frame(&q, KP_METADATA, 1, 1, new_req(&a, KP_METADATA));
    send_all(fd, q.data, q.len);
    int64_t end = clock_mono_ms() + 5000;
    while (nparked < 1 && clock_mono_ms() < end)
        pump(fd);
    ck_assert_int_eq(nparked, 1);
    bsrv_free(srv);
    srv = NULL;
    ck_assert(bsrv_ctx_closed(parked[0]));
    ck_assert_int_eq(bsrv_respond(parked[0], kp_new(bsrv_ctx_arena(parked[0]), kp_api_find(KP_METADATA)->resp)), -1);
    parked[0] = NULL;
    client_close(fd);
    buf_free(&q);
    arena_free(&a);
}
END_TEST

START_TEST(handler_closes_connection)
{
    handlers.by_key[KP_METADATA].fn = park_handler;
    handlers.by_key[KP_LIST_GROUPS].fn = stub_handler;
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT, got = BUF_INIT;
    req_frame(&q, KP_LIST_GROUPS, 0, 1, new_req(&a, KP_LIST_GROUPS));
    req_frame(&q, KP_METADATA, 1, 2, new_req(&a, KP_METADATA));
    req_frame(&q, KP_LIST_GROUPS, 0, 3, new_req(&a, KP_LIST_GROUPS));
    send_all(fd, q.data, q.len);
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    ck_assert_int_eq(frame_corr(&got), 1);
    int64_t end = clock_mono_ms() + 5000;
    while (nparked < 1 && clock_mono_ms() < end)
        pump(fd);
    ck_assert_int_eq(nparked, 1);
    bsrv_close(parked[0]);          /* asynchronously: no answer, and request 3 is never read */
    parked[0] = NULL;
    expect_closed(fd);
    ck_assert_int_eq(handled, 2);
    ck_assert_uint_eq(bsrv_stats(srv)->open, 0);
    buf_free(&q);
    buf_free(&got);
    arena_free(&a);
}
END_TEST

START_TEST(acks0_produce_gets_no_response)
{
    register_all(stub_handler);
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT, got = BUF_INIT;
    kp_ProduceRequest *p = new_req(&a, KP_PRODUCE);
    p->Acks = 0;
    req_frame(&q, KP_PRODUCE, 3, 5, p);
    kp_ProduceRequest *p1 = new_req(&a, KP_PRODUCE);
    p1->Acks = 1;
    req_frame(&q, KP_PRODUCE, 3, 6, p1);
    send_all(fd, q.data, q.len);
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    ck_assert_int_eq(frame_corr(&got), 6);
    ck_assert_int_eq(handled, 2);
    ck_assert_uint_eq(bsrv_stats(srv)->no_response, 1);
    ck_assert_uint_eq(bsrv_stats(srv)->api[KP_PRODUCE].requests, 2);
    client_close(fd);
    buf_free(&q);
    buf_free(&got);
    arena_free(&a);
}
END_TEST

/* ---- response encoding ---- */

START_TEST(flexible_response_header)
{
    register_all(stub_handler);
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT, got = BUF_INIT, want = BUF_INIT;
    /* DeleteGroups v2 is flexible: response header v1 (corr + empty tags) */
    req_frame(&q, KP_DELETE_GROUPS, 2, 77, new_req(&a, KP_DELETE_GROUPS));
    send_all(fd, q.data, q.len);
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    ck_assert_int_eq(kp_response_encode(&want, KP_DELETE_GROUPS, 2, 77, kp_new(&a, kp_api_find(KP_DELETE_GROUPS)->resp)), KP_OK);
    assert_same(&got, &want, "DeleteGroups v2");
    assert_bytes(got.data, got.len, "0000000b 0000004d 00 00000000 01 00");
    client_close(fd);
    buf_free(&q);
    buf_free(&got);
    buf_free(&want);
    arena_free(&a);
}
END_TEST

START_TEST(file_region_response)
{
    char path[] = "/tmp/test_bsrv_XXXXXX";
    file_fd = mkstemp(path);
    ck_assert_int_ge(file_fd, 0);
    unlink(path);
    ck_assert_int_eq(write(file_fd, "0123456789", 10), 10);
    handlers.by_key[KP_FETCH].fn = region_handler;
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT, got = BUF_INIT;
    req_frame(&q, KP_FETCH, 4, 0x11, new_req(&a, KP_FETCH));
    req_frame(&q, KP_FETCH, 11, 0x12, new_req(&a, KP_FETCH));
    send_all(fd, q.data, q.len);
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    /* size 13 = corr 4 + "AB" + "34567" + "CD" */
    assert_bytes(got.data, got.len, "0000000d 00000011 4142 3334353637 4344");
    ck_assert_int_eq(recv_frame(fd, &got), 1);
    assert_bytes(got.data, got.len, "0000000d 00000012 4142 3334353637 4344");
    ck_assert_uint_eq(bsrv_stats(srv)->api[KP_FETCH].bytes_out, 34);
    client_close(fd);
    buf_free(&q);
    buf_free(&got);
    arena_free(&a);
}
END_TEST

/* ---- idle expiry and backpressure ---- */

START_TEST(idle_connection_closed)
{
    handlers.by_key[KP_METADATA].fn = park_handler;
    cfg.idle_ms = 40;
    start();
    int idle = connect_srv();
    int busy = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT;
    req_frame(&q, KP_METADATA, 1, 1, new_req(&a, KP_METADATA));
    send_all(busy, q.data, q.len);
    int64_t t0 = clock_mono_ms();
    expect_closed(idle);
    ck_assert_int_ge(clock_mono_ms() - t0, 30);
    ck_assert_uint_eq(bsrv_stats(srv)->idle_closes, 1);
    /* a connection waiting for its answer is not idle */
    ck_assert_int_eq(nparked, 1);
    ck_assert(!bsrv_ctx_closed(parked[0]));
    ck_assert_int_eq(bsrv_respond(parked[0], kp_new(bsrv_ctx_arena(parked[0]), kp_api_find(KP_METADATA)->resp)), 0);
    parked[0] = NULL;
    buf_t got = BUF_INIT;
    ck_assert_int_eq(recv_frame(busy, &got), 1);
    expect_closed(busy);   /* and idle once answered */
    buf_free(&got);
    buf_free(&q);
    arena_free(&a);
}
END_TEST

START_TEST(output_backpressure)
{
    handlers.by_key[KP_METADATA].fn = big_handler;
    cfg.out_high_bytes = 64 * 1024;
    start();
    int fd = connect_srv();
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT, got = BUF_INIT;
    for (int i = 0; i < 40; i++)
        req_frame(&q, KP_METADATA, 1, i, new_req(&a, KP_METADATA));
    send_all(fd, q.data, q.len);
    for (int i = 0; i < 200; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    /* the client reads nothing: the server stops once the kernel's buffers are full and its
     * own output passed the bound (loopback buffers take a few MiB) */
    ck_assert_int_ge(handled, 1);
    ck_assert_int_le(handled, 16);
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(recv_frame(fd, &got), 1);
        ck_assert_int_eq(frame_corr(&got), i);
        ck_assert_uint_eq(got.len, 8 + 1024 * 1024);
    }
    ck_assert_int_eq(handled, 40);
    client_close(fd);
    buf_free(&q);
    buf_free(&got);
    arena_free(&a);
}
END_TEST

/* ---- configuration ---- */

START_TEST(listeners_parsing)
{
    log_set_level(LOG_OFF);    /* the refusals are logged as errors */
    ck_assert_ptr_nonnull(base = event_base_new());
    const char *bad[] = {"", "127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000", "PLAINTEXT://:", "[::1:9092"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.listeners = bad[i];
        ck_assert_msg(bsrv_new(base, &cfg, NULL) == NULL, "accepted '%s'", bad[i]);
    }
    cfg.listeners = "PLAINTEXT://127.0.0.1:0, 127.0.0.1:0";
    srv = bsrv_new(base, &cfg, NULL);
    ck_assert_ptr_nonnull(srv);
    ck_assert_int_eq(bsrv_nlisteners(srv), 2);
    ck_assert_int_ne(bsrv_port(srv, 0), bsrv_port(srv, 1));
    ck_assert_int_eq(bsrv_port(srv, 2), -1);
    ck_assert_int_eq(bsrv_set_handler(srv, BDSP_NKEYS, stub_handler, NULL), -1);
}
END_TEST

START_TEST(dispatch_pure)
{
    bdsp_map_t m;
    memset(&m, 0, sizeof m);
    arena_t a = ARENA_INIT;
    buf_t q = BUF_INIT, reply = BUF_INIT, why = BUF_INIT;
    kp_request_t req;
    req_frame(&q, KP_METADATA, 1, 1, new_req(&a, KP_METADATA));
    ck_assert_int_eq(bdsp_route(&m, q.data + 4, q.len - 4, &a, &req, &reply, &why), BDSP_CLOSE);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&why), "no handler for Metadata"));
    m.registered[KP_METADATA] = true;
    ck_assert_int_eq(bdsp_route(&m, q.data + 4, q.len - 4, &a, &req, &reply, NULL), BDSP_CALL);
    ck_assert_int_eq(req.hdr.correlation_id, 1);
    ck_assert_uint_eq(reply.len, 0);
    ck_assert(bdsp_registered(&m, KP_API_VERSIONS));
    ck_assert_str_eq(bdsp_api_name(3), "Metadata");
    ck_assert_str_eq(bdsp_api_name(999), "Unknown");
    buf_free(&q);
    buf_free(&reply);
    buf_free(&why);
    arena_free(&a);
}
END_TEST

/* ---- serve mode ---- */

static void on_term(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static int serve(int argc, char **argv)
{
    int port = atoi(argv[2]);
    bool none = argc > 3 && strcmp(argv[3], "--no-handlers") == 0;
    memset(&handlers, 0, sizeof handlers);
    if (!none)
        register_all_arg(stub_handler, &handlers);
    base = event_base_new();
    char lis[64];
    snprintf(lis, sizeof lis, "PLAINTEXT://127.0.0.1:%d", port);
    bsrv_config_t c = {.listeners = lis};
    bsrv_t *s = bsrv_new(base, &c, &handlers);
    if (!s)
        return 1;
    struct event *t = evsignal_new(base, SIGTERM, on_term, base);
    struct event *i = evsignal_new(base, SIGINT, on_term, base);
    event_add(t, NULL);
    event_add(i, NULL);
    printf("serving on 127.0.0.1:%d\n", bsrv_port(s, 0));
    fflush(stdout);
    event_base_dispatch(base);
    const bsrv_stats_t *st = bsrv_stats(s);
    printf("stats: accepted=%llu apiversions=%llu protocol_closes=%llu\n", (unsigned long long)st->accepted,
           (unsigned long long)st->api[KP_API_VERSIONS].requests, (unsigned long long)st->protocol_closes);
    bsrv_free(s);
    event_free(t);
    event_free(i);
    event_base_free(base);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--serve") == 0)
        return serve(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("bsrv");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, api_versions_captures_byte_exact);
    tcase_add_test(tc, api_versions_v1_and_v4);
    tcase_add_test(tc, api_versions_lists_only_registered);
    tcase_add_test(tc, bad_frames_close_only_that_connection);
    tcase_add_test(tc, slow_frame_is_assembled);
    tcase_add_test(tc, one_in_flight_and_in_order);
    tcase_add_test(tc, client_gone_while_in_flight);
    tcase_add_test(tc, orphan_after_server_free);
    tcase_add_test(tc, handler_closes_connection);
    tcase_add_test(tc, acks0_produce_gets_no_response);
    tcase_add_test(tc, flexible_response_header);
    tcase_add_test(tc, file_region_response);
    tcase_add_test(tc, idle_connection_closed);
    tcase_add_test(tc, output_backpressure);
    tcase_add_test(tc, listeners_parsing);
    tcase_add_test(tc, dispatch_pure);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
