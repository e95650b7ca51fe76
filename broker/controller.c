/* controller.c — placeholder until the module lands (see controller.h). */
#include "broker/controller.h"

#include <stdlib.h>

#include "common/alloc.h"

struct bctl_s {
    broker_t *b;
};

bctl_t *bctl_new(broker_t *b)
{
    bctl_t *c = xcalloc(1, sizeof *c);
    c->b = b;
    return c;
}

void bctl_free(bctl_t *c)
{
    free(c);
}

void bctl_session_renewed(bctl_t *c)
{
    (void)c;
}
