/* config.h — gregor-coord's configuration, read from a zoo.cfg-format file.
 *
 * Keys and defaults follow ZooKeeper 3.8 where they exist (see docs/operations.md);
 * where ZooKeeper's default hurts users, Gregor's differs and says so:
 *   - autopurge is on (keep 3 snapshots, purge every hour), so disks do not fill up;
 *   - the safe read-only four-letter words are enabled by default;
 *   - quorumListenOnAllIPs defaults to true: the quorum and election ports are bound on
 *     all addresses, so the same zoo.cfg works when a server's own name resolves to an
 *     address it does not have (Docker, NAT); quorumListenOnAllIPs=false binds the
 *     address of this server's server.N line. */
#ifndef GREGOR_COORD_CONFIG_H
#define GREGOR_COORD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COORD_MAX_SERVERS 64

typedef struct coord_peer_s {
    int id;
    char *host;
    int quorum_port;
    int election_port;
    bool observer;
    char *client_addr;  /* optional ";[addr:]port" part */
    int client_port;
} coord_peer_t;

typedef struct coord_config_s {
    char *path;
    int tick_time;             /* ms */
    int init_limit, sync_limit;
    char *data_dir;
    char *data_log_dir;        /* defaults to data_dir */
    int client_port;
    char *client_port_address; /* NULL = all addresses */
    int min_session_timeout;   /* -1 = 2 x tickTime */
    int max_session_timeout;   /* -1 = 20 x tickTime */
    int max_client_cnxns;      /* per IP, 0 = unlimited */
    char *four_letter_whitelist;
    int autopurge_snap_retain_count;
    int autopurge_purge_interval; /* hours, 0 = off */
    int jute_maxbuffer;
    int snap_count;
    int64_t prealloc_kb;       /* preAllocSize is in KiB, as ZooKeeper */
    bool force_sync;
    bool extended_types_enabled;
    bool reconfig_enabled;
    bool standalone_enabled;
    char *super_digest;        /* "super:<base64 sha1>" or NULL */
    char *peer_type;           /* "participant" | "observer" */
    bool quorum_listen_all;    /* quorumListenOnAllIPs: bind the quorum/election ports on all
                                  addresses (Gregor's default: true; ZooKeeper's: false) */
    int my_id;                 /* from dataDir/myid, 0 if none */
    bool has_myid;             /* the myid file exists */
    coord_peer_t servers[COORD_MAX_SERVERS];
    int nservers;
} coord_config_t;

/* Loads and validates. Returns 0, or -1 with a message naming the key in err. Unknown keys
 * are logged as warnings. */
int coord_config_load(coord_config_t *cfg, const char *path, char *err, size_t errlen);
void coord_config_free(coord_config_t *cfg);
/* True when the configuration describes a single server (no server.N lines, or only one). */
bool coord_config_standalone(const coord_config_t *cfg);
/* Appends the ensemble membership as ZooKeeper 3.8 writes it in /zookeeper/config and `conf`:
 * "server.N=host:quorumPort:electionPort:participant|observer[;addr:clientPort]" lines, then
 * "version=0" (no trailing newline). */
struct buf_s;
void coord_config_membership(const coord_config_t *cfg, struct buf_s *out);
/* Whether a four-letter word is allowed by 4lw.commands.whitelist. */
bool coord_config_4lw_allowed(const coord_config_t *cfg, const char *cmd);

#endif
