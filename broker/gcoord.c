/* gcoord.c — placeholder until the module lands (see gcoord.h). */
#include "broker/gcoord.h"

#include <stdlib.h>

#include "common/alloc.h"

struct bgc_s {
    broker_t *b;
};

bgc_t *bgc_new(broker_t *b)
{
    bgc_t *g = xcalloc(1, sizeof *g);
    g->b = b;
    return g;
}

void bgc_free(bgc_t *g)
{
    free(g);
}
