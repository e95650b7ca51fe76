/* zab.c — see zab.h. Pure: no I/O, no clock. */
#include "coord/zab.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

struct zab_s {
    zab_config_t cfg;
    zab_role_t role;
    uint32_t epoch;           /* current epoch while leading */
    uint32_t accepted_epoch;
    int64_t last_proposed;
    int64_t last_committed;
    int64_t acked[ZAB_MAX_VOTERS];   /* highest zxid each voter has logged */
};

zab_t *zab_new(const zab_config_t *cfg, int64_t last_logged, uint32_t accepted_epoch)
{
    zab_t *z = xcalloc(1, sizeof *z);
    z->cfg = *cfg;
    z->role = ZAB_LOOKING;
    z->accepted_epoch = accepted_epoch;
    z->last_proposed = last_logged;
    z->last_committed = last_logged;
    for (int i = 0; i < ZAB_MAX_VOTERS; i++)
        z->acked[i] = -1;
    return z;
}

void zab_free(zab_t *z)
{
    free(z);
}

static int voter_index(const zab_t *z, int id)
{
    for (int i = 0; i < z->cfg.nvoters; i++)
        if (z->cfg.voters[i] == id)
            return i;
    return -1;
}

uint32_t zab_lead_alone(zab_t *z)
{
    int me = voter_index(z, z->cfg.my_id);
    if (me < 0 || z->cfg.nvoters != 1)
        return 0;
    uint32_t e = z->accepted_epoch;
    if (ZXID_EPOCH(z->last_proposed) > e)
        e = ZXID_EPOCH(z->last_proposed);
    z->epoch = z->accepted_epoch = e + 1;
    z->role = ZAB_LEADING;
    z->acked[me] = z->last_proposed;
    /* A new epoch starts its counter at zero; everything before it is committed. */
    z->last_proposed = ZXID_MAKE(z->epoch, 0);
    return z->epoch;
}

zab_role_t zab_role(const zab_t *z)
{
    return z->role;
}

const char *zab_role_name(const zab_t *z)
{
    switch (z->role) {
    case ZAB_LEADING: return z->cfg.nvoters == 1 ? "standalone" : "leader";
    case ZAB_FOLLOWING: return "follower";
    case ZAB_OBSERVING: return "observer";
    default: return "looking";
    }
}

uint32_t zab_epoch(const zab_t *z)
{
    return z->epoch;
}

int64_t zab_propose(zab_t *z)
{
    if (z->role != ZAB_LEADING || ZXID_COUNTER(z->last_proposed) == 0xffffffffu)
        return -1;
    return ++z->last_proposed;
}

void zab_abandon_unlogged(zab_t *z)
{
    int me = voter_index(z, z->cfg.my_id);
    int64_t logged = me >= 0 ? z->acked[me] : z->last_committed;
    if (logged < ZXID_MAKE(z->epoch, 0))
        logged = ZXID_MAKE(z->epoch, 0);
    if (z->last_proposed > logged)
        z->last_proposed = logged;
}

/* The commit point is the highest zxid logged by a majority of voters. */
static void advance_commit(zab_t *z)
{
    int n = z->cfg.nvoters;
    int64_t sorted[ZAB_MAX_VOTERS];
    memcpy(sorted, z->acked, (size_t)n * sizeof *sorted);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && sorted[j - 1] < sorted[j]; j--) {
            int64_t t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    int64_t majority_zxid = sorted[n / 2];   /* descending: n/2+1 voters have at least this */
    if (majority_zxid > z->last_committed && majority_zxid <= z->last_proposed)
        z->last_committed = majority_zxid;
}

void zab_ack(zab_t *z, int voter_id, int64_t zxid)
{
    int i = voter_index(z, voter_id);
    if (i < 0 || zxid <= z->acked[i])
        return;
    z->acked[i] = zxid;
    if (z->role == ZAB_LEADING)
        advance_commit(z);
}

int64_t zab_last_proposed(const zab_t *z)
{
    return z->last_proposed;
}

int64_t zab_last_committed(const zab_t *z)
{
    return z->last_committed;
}

int zab_voter_count(const zab_t *z)
{
    return z->cfg.nvoters;
}
