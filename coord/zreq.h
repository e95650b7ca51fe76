/* zreq.h — classifying and decoding the body of a client request (pure).
 *
 * Shared by the server and the request-path fuzzer, so what is fuzzed is exactly
 * what the server runs. */
#ifndef GREGOR_COORD_ZREQ_H
#define GREGOR_COORD_ZREQ_H

#include <stdbool.h>

#include "proto/jute.h"

enum zreq_class {
    ZREQ_UNKNOWN = 0,  /* not an opcode of the protocol: answer UNIMPLEMENTED and close */
    ZREQ_READ,         /* served locally, in session order (includes ping, sync, watch ops) */
    ZREQ_WRITE,        /* goes through prep -> propose -> commit -> apply */
    ZREQ_SPECIAL,      /* handled by the connection itself: auth, sasl, createSession, reconfig, close */
};
enum zreq_class zreq_classify(int op);

/* A decoded request body. body is NULL for ops without one (ping, whoAmI). */
typedef struct zreq_body_s {
    void *body;
    const jute_rec_t *rec;   /* its schema, or NULL for multi bodies (prep_multi_t) */
    bool is_multi;
    bool saw_nul;            /* a string held a NUL byte: prep / zread answer as ZooKeeper */
} zreq_body_t;

/* Decodes the body of op (READ or WRITE class). Returns 0, or ZMARSHALLINGERROR for a
 * malformed body. (ZooKeeper answers a malformed write with an error txn, which takes a
 * zxid; a malformed read gets the error directly.) */
int zreq_decode(int op, jute_rd_t *jr, zreq_body_t *out);
void zreq_body_free(zreq_body_t *b);

#endif
