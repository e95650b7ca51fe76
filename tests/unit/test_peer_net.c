/* Unit tests: the links between ensemble members (coord/peer_net.h) — the framing, and
 * two live instances on loopback: messages arrive in order on both election and quorum
 * ports, a peer that is down drops messages, and hostile links (unknown id, garbage,
 * oversized frames) are closed without disturbing the good ones. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "coord/peer_net.h"

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

typedef struct rx_s {
    int n;
    int downs;
    int down_id;
    int64_t last_seq;
    bool in_order;
    int from;
} rx_t;

static void on_recv(void *ctx, const zab_msg_t *m)
{
    rx_t *rx = ctx;
    if (rx->n > 0 && m->seq != rx->last_seq + 1)
        rx->in_order = false;
    rx->last_seq = m->seq;
    rx->from = m->from;
    rx->n++;
}

static void on_down(void *ctx, int id)
{
    rx_t *rx = ctx;
    rx->downs++;
    rx->down_id = id;
}

/* Runs the loop until *flag becomes true or ms pass. */
static bool run_until(struct event_base *base, bool (*cond)(void *), void *arg, int ms)
{
    int64_t end = clock_mono_ms() + ms;
    while (!cond(arg)) {
        if (clock_mono_ms() > end)
            return false;
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_loop(base, EVLOOP_ONCE);
    }
    return true;
}

typedef struct pair_s {
    peer_net_t *a, *b;
    rx_t ra, rb;
    int n_expect;
} pair_t;

static bool both_connected(void *arg)
{
    pair_t *p = arg;
    return peer_net_connected(p->a, 2) && peer_net_connected(p->b, 1);
}

static bool b_got_all(void *arg)
{
    pair_t *p = arg;
    return p->rb.n >= p->n_expect;
}

static bool a_got_one(void *arg)
{
    pair_t *p = arg;
    return p->ra.n >= 1;
}

static zab_msg_t msg(int from, int to, int64_t seq)
{
    zab_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = ZAB_MSG_PING;
    m.from = from;
    m.to = to;
    m.seq = seq;
    m.nonce = 1;
    m.data.len = -1;
    return m;
}

START_TEST(framing)
{
    buf_t b = BUF_INIT;
    peer_frame_hello(&b, 3, 7);
    bool ok = false;
    ck_assert_int_eq(peer_frame_len(b.data, b.len, 16, &ok), 16);
    ck_assert(ok);
    int from = 0, to = 0;
    ck_assert_int_eq(peer_parse_hello(b.data + 4, b.len - 4, &from, &to), 0);
    ck_assert_int_eq(from, 3);
    ck_assert_int_eq(to, 7);
    ck_assert_int_eq(peer_parse_hello(b.data + 4, b.len - 5, &from, &to), -1);
    b.data[4] ^= 1;
    ck_assert_int_eq(peer_parse_hello(b.data + 4, b.len - 4, &from, &to), -1);
    ck_assert_int_eq(peer_frame_len(b.data, 3, 16, &ok), -1);
    uint8_t big[4] = {0xff, 0xff, 0xff, 0xff};
    peer_frame_len(big, 4, PEER_NET_MAX_FRAME, &ok);
    ck_assert(!ok);
    uint8_t zero[4] = {0, 0, 0, 0};
    peer_frame_len(zero, 4, PEER_NET_MAX_FRAME, &ok);
    ck_assert(!ok);
    buf_reset(&b);
    zab_msg_t m = msg(1, 2, 5);
    peer_frame_msg(&b, &m);
    int64_t n = peer_frame_len(b.data, b.len, PEER_NET_MAX_FRAME, &ok);
    ck_assert(ok);
    ck_assert_int_eq(n + 4, (int64_t)b.len);
    zab_msg_t d;
    ck_assert_int_eq(zab_msg_decode(&d, b.data + 4, (size_t)n), 0);
    ck_assert_int_eq(d.seq, 5);
    zab_msg_free(&d);
    buf_free(&b);
}
END_TEST

/* A raw client on port: sends bytes, returns true if the server closed the link. */
static bool raw_closed(struct event_base *base, int port, const void *p, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
    int64_t end = clock_mono_ms() + 3000;
    bool closed = false;
    while (!closed && clock_mono_ms() < end) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_loop(base, EVLOOP_ONCE);
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 0) > 0) {
            char c;
            ssize_t r = read(fd, &c, 1);
            closed = r == 0 || (r < 0 && errno == ECONNRESET);
        }
    }
    close(fd);
    return closed;
}

START_TEST(two_peers_on_loopback)
{
    log_set_level(LOG_WARN);
    struct event_base *base = event_base_new();
    int q1 = free_port(), e1 = free_port(), q2 = free_port(), e2 = free_port(), q3 = free_port();
    peer_net_peer_t peers[3] = {{1, "localhost", q1, e1}, {2, "127.0.0.1", q2, e2}, {3, "127.0.0.1", q3, q3}};
    pair_t p;
    memset(&p, 0, sizeof p);
    p.ra.in_order = p.rb.in_order = true;
    char err[256];
    peer_net_opts_t oa = {.my_id = 1, .peers = peers, .npeers = 3, .listen_all = true, .recv = on_recv,
                          .down = on_down, .ctx = &p.ra};
    peer_net_opts_t ob = {.my_id = 2, .peers = peers, .npeers = 3, .listen_all = false, .recv = on_recv,
                          .ctx = &p.rb};
    p.a = peer_net_new(base, &oa, err, sizeof err);
    ck_assert_msg(p.a != NULL, "%s", err);
    p.b = peer_net_new(base, &ob, err, sizeof err);
    ck_assert_msg(p.b != NULL, "%s", err);
    /* the same port twice cannot be bound */
    peer_net_opts_t dup = oa;
    ck_assert_ptr_null(peer_net_new(base, &dup, err, sizeof err));
    ck_assert(run_until(base, both_connected, &p, 5000));

    /* 500 messages a -> b arrive, in order */
    p.n_expect = 500;
    for (int i = 0; i < 500; i++) {
        zab_msg_t m = msg(1, 2, i);
        ck_assert_int_eq(peer_net_send(p.a, &m), 0);
    }
    ck_assert(run_until(base, b_got_all, &p, 5000));
    ck_assert(p.rb.in_order);
    ck_assert_int_eq(p.rb.from, 1);
    zab_msg_t back = msg(2, 1, 0);
    ck_assert_int_eq(peer_net_send(p.b, &back), 0);
    ck_assert(run_until(base, a_got_one, &p, 5000));
    /* server 3 is not running: dropped; a stranger id: dropped */
    zab_msg_t m3 = msg(1, 3, 0);
    ck_assert_int_eq(peer_net_send(p.a, &m3), -1);
    zab_msg_t m9 = msg(1, 9, 0);
    ck_assert_int_eq(peer_net_send(p.a, &m9), -1);
    buf_t tb = BUF_INIT;
    peer_net_table(p.a, &tb);
    ck_assert_ptr_nonnull(strstr(buf_cstr(&tb), "server.2 127.0.0.1"));
    ck_assert_ptr_nonnull(strstr(buf_cstr(&tb), "reachable"));
    buf_free(&tb);

    /* hostile links to b's election port are closed */
    buf_t h = BUF_INIT;
    peer_frame_hello(&h, 9, 2);   /* unknown sender */
    ck_assert(raw_closed(base, e2, h.data, h.len));
    buf_reset(&h);
    peer_frame_hello(&h, 1, 5);   /* for another server */
    ck_assert(raw_closed(base, e2, h.data, h.len));
    uint8_t garbage[8] = {0xff, 0xff, 0xff, 0xf0, 'j', 'u', 'n', 'k'};
    ck_assert(raw_closed(base, e2, garbage, sizeof garbage));
    buf_reset(&h);
    peer_frame_hello(&h, 1, 2);   /* a good hello, then a frame above the bound */
    buf_put_be32(&h, PEER_NET_MAX_FRAME + 1);
    ck_assert(raw_closed(base, q2, h.data, h.len));
    buf_reset(&h);
    peer_frame_hello(&h, 1, 2);   /* a good hello, then bytes that are no message */
    buf_put_be32(&h, 4);
    buf_put_be32(&h, 12345);
    ck_assert(raw_closed(base, e2, h.data, h.len));
    buf_reset(&h);
    peer_frame_hello(&h, 3, 2);   /* a good hello from 3, then a message claiming to be from 1 */
    zab_msg_t forged = msg(1, 2, 0);
    peer_frame_msg(&h, &forged);
    int before = p.rb.n;
    ck_assert(raw_closed(base, q2, h.data, h.len));
    ck_assert_int_eq(p.rb.n, before);
    buf_free(&h);

    /* the good link still works */
    p.n_expect = p.rb.n + 1;
    zab_msg_t m = msg(1, 2, 500);
    ck_assert_int_eq(peer_net_send(p.a, &m), 0);
    ck_assert(run_until(base, b_got_all, &p, 5000));
    ck_assert(p.rb.in_order);

    /* b goes away: a notices and drops; b comes back: a redials */
    peer_net_free(p.b);
    p.b = NULL;
    int64_t end = clock_mono_ms() + 3000;
    while (peer_net_connected(p.a, 2) && clock_mono_ms() < end) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_loop(base, EVLOOP_ONCE);
    }
    ck_assert(!peer_net_connected(p.a, 2));
    ck_assert_int_ge(p.ra.downs, 1);   /* reported: a learner leaves a leader it lost */
    ck_assert_int_eq(p.ra.down_id, 2);
    ck_assert_int_eq(peer_net_send(p.a, &m), -1);
    p.b = peer_net_new(base, &ob, err, sizeof err);
    ck_assert_msg(p.b != NULL, "%s", err);
    ck_assert(run_until(base, both_connected, &p, 5000));

    peer_net_free(p.a);
    peer_net_free(p.b);
    event_base_free(base);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("peer_net");
    TCase *tc = tcase_create("links");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, framing);
    tcase_add_test(tc, two_peers_on_loopback);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
