/* gcoord.h — the group coordinator's driver: FindCoordinator, JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups
 * over the pure group.h core; __consumer_offsets created on first use, its partitions loaded
 * when this broker becomes their leader, writes appended through replica.h. Prefix bgc_. */
#ifndef GREGOR_BROKER_GCOORD_H
#define GREGOR_BROKER_GCOORD_H

#include "broker/broker.h"

bgc_t *bgc_new(broker_t *b);
void bgc_free(bgc_t *g);

#endif
