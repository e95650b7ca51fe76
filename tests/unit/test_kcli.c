/* Unit tests: the asynchronous Kafka client (broker/kcli.h) against the broker's own server
 * (broker/server.h) in-process on 127.0.0.1: pipelined requests answered in order,
 * requests queued while connecting, a dropped connection failing or (KCLI_RETRY)
 * re-sending its requests, reconnect after a refused connection, cancel on free. */
#include <check.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/kcli.h"
#include "broker/server.h"
#include "common/clock.h"
#include "common/log.h"
#include "proto/kafka_api.h"

static struct event_base *base;
static bsrv_t *srv;
static struct event *tick;
static int handled;
static int close_first;     /* the handler closes the connection for this many requests */

/* Answers LeaderAndIsr with ErrorCode = the request's ControllerId (so the test can tell
 * responses apart) and one partition error echoing the first partition state. */
static void lai_handler(bsrv_ctx_t *ctx, const kp_request_t *req, void *arg)
{
    (void)arg;
    handled++;
    if (close_first > 0) {
        close_first--;
        bsrv_close(ctx);
        return;
    }
    const kp_LeaderAndIsrRequest *r = req->body;
    kp_LeaderAndIsrResponse *resp = kp_new(bsrv_ctx_arena(ctx), &kp_LeaderAndIsrResponse_schema);
    resp->ErrorCode = (int16_t)r->ControllerId;
    bsrv_respond(ctx, resp);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
}

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    log_set_level(LOG_ERROR);
    base = event_base_new();
    bsrv_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.listeners = "PLAINTEXT://127.0.0.1:0";
    bsrv_handlers_t h;
    memset(&h, 0, sizeof h);
    srv = bsrv_new(base, &cfg, &h);
    ck_assert_ptr_nonnull(srv);
    bsrv_set_handler(srv, KP_LEADER_AND_ISR, lai_handler, NULL);
    tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = {0, 10000};
    event_add(tick, &tv);
    handled = 0;
    close_first = 0;
}

static void teardown(void)
{
    if (srv)
        bsrv_free(srv);
    srv = NULL;
    event_free(tick);
    event_base_free(base);
    base = NULL;
}

/* ---- callbacks ---- */

typedef struct res_s {
    int calls;
    int err;
    int16_t code;
    int order;
} res_t;

static int order_counter;

static void res_cb(void *ctx, int err, const void *resp, arena_t *a)
{
    res_t *r = ctx;
    r->calls++;
    r->err = err;
    r->order = ++order_counter;
    if (err == KCLI_OK) {
        ck_assert_ptr_nonnull(resp);
        ck_assert_ptr_nonnull(a);
        r->code = ((const kp_LeaderAndIsrResponse *)resp)->ErrorCode;
    } else {
        ck_assert_ptr_null(resp);
    }
}

static bool pump_until(bool (*done)(void *), void *arg, int ms)
{
    int64_t end = clock_mono_ms() + ms;
    while (!done(arg)) {
        if (clock_mono_ms() > end)
            return false;
        event_base_loop(base, EVLOOP_ONCE);
    }
    return true;
}

typedef struct many_s {
    res_t *r;
    int n;
} many_t;

static bool all_called(void *arg)
{
    many_t *m = arg;
    for (int i = 0; i < m->n; i++)
        if (m->r[i].calls == 0)
            return false;
    return true;
}

static void lai_req(kp_LeaderAndIsrRequest *req, int32_t id)
{
    kp_init(&kp_LeaderAndIsrRequest_schema, req);
    req->ControllerId = id;
    req->ControllerEpoch = 1;
}

static int port(void) { return bsrv_port(srv, 0); }

/* ---- tests ---- */

START_TEST(pipelined_in_order)
{
    kcli_t *c = kcli_new(base, "127.0.0.1", port(), "test");
    res_t r[6];
    memset(r, 0, sizeof r);
    order_counter = 0;
    for (int i = 0; i < 6; i++) {
        kp_LeaderAndIsrRequest req;
        lai_req(&req, 100 + i);
        /* versions 0..4 (v4 is flexible) and again 4 */
        ck_assert_int_eq(kcli_send(c, KP_LEADER_AND_ISR, (int16_t)(i < 5 ? i : 4), &req, 0, res_cb, &r[i]), 0);
    }
    ck_assert_int_eq(kcli_pending(c), 6);
    ck_assert_int_eq(r[0].calls, 0);     /* never from inside kcli_send */
    many_t m = {r, 6};
    ck_assert(pump_until(all_called, &m, 5000));
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].err, KCLI_OK);
        ck_assert_int_eq(r[i].code, 100 + i);
        ck_assert_int_eq(r[i].order, i + 1);
    }
    ck_assert_int_eq(kcli_pending(c), 0);
    ck_assert_int_eq((int)kcli_connects(c), 1);
    ck_assert(kcli_connected(c));
    /* later requests reuse the connection */
    res_t r2 = {0};
    kp_LeaderAndIsrRequest req;
    lai_req(&req, 7);
    ck_assert_int_eq(kcli_send(c, KP_LEADER_AND_ISR, 4, &req, 0, res_cb, &r2), 0);
    many_t m2 = {&r2, 1};
    ck_assert(pump_until(all_called, &m2, 5000));
    ck_assert_int_eq(r2.code, 7);
    ck_assert_int_eq((int)kcli_connects(c), 1);
    kcli_free(c);
}
END_TEST

START_TEST(disconnect_fails_or_retries)
{
    kcli_t *c = kcli_new(base, "127.0.0.1", port(), NULL);
    res_t plain = {0}, retried = {0};
    close_first = 1;
    kp_LeaderAndIsrRequest req;
    lai_req(&req, 1);
    ck_assert_int_eq(kcli_send(c, KP_LEADER_AND_ISR, 4, &req, 0, res_cb, &plain), 0);
    many_t m = {&plain, 1};
    ck_assert(pump_until(all_called, &m, 5000));
    ck_assert_int_eq(plain.err, KCLI_EDISCONNECTED);
    ck_assert_int_eq(handled, 1);

    /* the server drops the next three tries; the retried request still gets its answer */
    close_first = 3;
    lai_req(&req, 2);
    ck_assert_int_eq(kcli_send(c, KP_LEADER_AND_ISR, 4, &req, KCLI_RETRY, res_cb, &retried), 0);
    many_t m2 = {&retried, 1};
    ck_assert(pump_until(all_called, &m2, 10000));
    ck_assert_int_eq(retried.calls, 1);
    ck_assert_int_eq(retried.err, KCLI_OK);
    ck_assert_int_eq(retried.code, 2);
    ck_assert_int_eq(handled, 5);
    ck_assert_int_ge((int)kcli_connects(c), 5);
    kcli_free(c);
}
END_TEST

START_TEST(refused_then_server_appears)
{
    /* a port nobody listens on */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    int p = ntohs(sa.sin_port);
    close(fd);

    kcli_t *c = kcli_new(base, "127.0.0.1", p, "x");
    res_t plain = {0}, retried = {0};
    kp_LeaderAndIsrRequest req;
    lai_req(&req, 3);
    ck_assert_int_eq(kcli_send(c, KP_LEADER_AND_ISR, 2, &req, 0, res_cb, &plain), 0);
    ck_assert_int_eq(kcli_send(c, KP_LEADER_AND_ISR, 2, &req, KCLI_RETRY, res_cb, &retried), 0);
    many_t m = {&plain, 1};
    ck_assert(pump_until(all_called, &m, 5000));
    ck_assert_int_eq(plain.err, KCLI_EDISCONNECTED);
    ck_assert_int_eq(retried.calls, 0);
    ck_assert_int_eq(kcli_pending(c), 1);

    /* free with a request pending: cancelled */
    kcli_free(c);
    ck_assert_int_eq(retried.calls, 1);
    ck_assert_int_eq(retried.err, KCLI_ECANCELLED);
}
END_TEST

/* A callback that frees the client and one that sends a follow-up request. */
typedef struct chain_s {
    kcli_t *c;
    int calls;
    res_t next;
} chain_t;

static void free_cb(void *ctx, int err, const void *resp, arena_t *a)
{
    (void)err, (void)resp, (void)a;
    chain_t *ch = ctx;
    ch->calls++;
    kcli_free(ch->c);
}

static void send_cb(void *ctx, int err, const void *resp, arena_t *a)
{
    (void)resp, (void)a;
    chain_t *ch = ctx;
    ch->calls++;
    ck_assert_int_eq(err, KCLI_OK);
    kp_LeaderAndIsrRequest req;
    lai_req(&req, 9);
    ck_assert_int_eq(kcli_send(ch->c, KP_LEADER_AND_ISR, 4, &req, 0, res_cb, &ch->next), 0);
}

static bool chain_called(void *arg) { return ((chain_t *)arg)->calls > 0; }
static bool chain_next_called(void *arg) { return ((chain_t *)arg)->next.calls > 0; }

START_TEST(callbacks_send_and_free)
{
    chain_t ch;
    memset(&ch, 0, sizeof ch);
    ch.c = kcli_new(base, "127.0.0.1", port(), NULL);
    kp_LeaderAndIsrRequest req;
    lai_req(&req, 1);
    ck_assert_int_eq(kcli_send(ch.c, KP_LEADER_AND_ISR, 4, &req, 0, send_cb, &ch), 0);
    ck_assert(pump_until(chain_next_called, &ch, 5000));
    ck_assert_int_eq(ch.next.code, 9);

    chain_t f;
    memset(&f, 0, sizeof f);
    f.c = ch.c;
    res_t after = {0};
    ck_assert_int_eq(kcli_send(f.c, KP_LEADER_AND_ISR, 4, &req, 0, free_cb, &f), 0);
    ck_assert_int_eq(kcli_send(f.c, KP_LEADER_AND_ISR, 4, &req, 0, res_cb, &after), 0);
    ck_assert(pump_until(chain_called, &f, 5000));
    /* the free inside the first callback cancels the second request */
    ck_assert_int_eq(after.calls, 1);
    ck_assert_int_eq(after.err, KCLI_ECANCELLED);
}
END_TEST

START_TEST(unencodable_request_refused)
{
    kcli_t *c = kcli_new(base, "127.0.0.1", port(), NULL);
    kp_LeaderAndIsrRequest req;
    lai_req(&req, 1);
    res_t r = {0};
    ck_assert_int_eq(kcli_send(c, 99, 0, &req, 0, res_cb, &r), KCLI_EENCODE);
    ck_assert_int_eq(kcli_send(c, KP_LEADER_AND_ISR, 77, &req, 0, res_cb, &r), KCLI_EENCODE);
    ck_assert_int_eq(kcli_pending(c), 0);
    ck_assert_int_eq(r.calls, 0);
    kcli_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kcli");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, pipelined_in_order);
    tcase_add_test(tc, disconnect_fails_or_retries);
    tcase_add_test(tc, refused_then_server_appears);
    tcase_add_test(tc, callbacks_send_and_free);
    tcase_add_test(tc, unencodable_request_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
