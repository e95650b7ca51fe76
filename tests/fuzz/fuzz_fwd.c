/* libFuzzer target: what ensemble members send each other outside the txn stream —
 * the forward payloads and leader notes (coord/fwd.h), and a peer link's hello frame
 * (coord/peer_net.h). A payload that decodes must re-encode to exactly the same bytes
 * (the codec has one encoding per value); nothing may leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coord/fwd.h"
#include "coord/peer_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int from, to;
    peer_parse_hello(data, size, &from, &to);
    bool ok;
    peer_frame_len(data, size, PEER_NET_MAX_FRAME, &ok);

    fwd_t f;
    if (fwd_decode(&f, data, size) == 0) {
        buf_t b = BUF_INIT;
        fwd_encode(&f, &b);
        /* auth lists drop duplicate identities when decoded, so compare a second round */
        fwd_t g;
        if (fwd_decode(&g, b.data, b.len) != 0)
            abort();
        buf_t c = BUF_INIT;
        fwd_encode(&g, &c);
        if (b.len != c.len || memcmp(b.data, c.data, b.len))
            abort();
        buf_free(&b);
        buf_free(&c);
        fwd_free(&g);
        fwd_free(&f);
    }
    return 0;
}
