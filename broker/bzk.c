/* bzk.c — placeholder until the module lands (see bzk.h). */
#include "broker/bzk.h"

#include <stdlib.h>

#include "common/alloc.h"

struct bzk_s {
    broker_t *b;
};

bzk_t *bzk_new(broker_t *b)
{
    bzk_t *r = xcalloc(1, sizeof *r);
    r->b = b;
    return r;
}

void bzk_free(bzk_t *r)
{
    free(r);
}

void bzk_session_renewed(bzk_t *r)
{
    (void)r;
}

int bzk_register(bzk_t *r)
{
    (void)r;
    return 0;
}
