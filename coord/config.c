#include "coord/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/props.h"

/* Keys ZooKeeper accepts that Gregor reads but does not act on (yet); not "unknown". */
static const char *accepted_keys[] = {
    "electionAlg", "admin.enableServer", "admin.serverPort", "admin.serverAddress",
    "localSessionsEnabled", "localSessionsUpgradingEnabled", "globalOutstandingLimit", "leaderServes",
    "cnxTimeout", "syncEnabled", "secureClientPort", "secureClientPortAddress", "clientPortListenBacklog",
    "metricsProvider.className", "metricsProvider.httpPort", "snapSizeLimitInKb", "audit.enable",
    "skipACL", "serverCnxnFactory", "maxCnxns", "connectToLearnerMasterLimit", "fsync.warningthresholdms",
    "zookeeper.4lw.commands.whitelist", "dynamicConfigFile", "multiAddress.enabled", "initialConfig",
};

static int parse_server_line(coord_config_t *cfg, const char *key, const char *val, char *err, size_t errlen)
{
    char *end;
    long id = strtol(key + 7, &end, 10);
    if (*end || id < 0 || id > 254) {
        snprintf(err, errlen, "invalid key %s: server id must be a number 0..254", key);
        return -1;
    }
    if (cfg->nservers >= COORD_MAX_SERVERS) {
        snprintf(err, errlen, "too many server.N lines (max %d)", COORD_MAX_SERVERS);
        return -1;
    }
    coord_peer_t *p = &cfg->servers[cfg->nservers];
    memset(p, 0, sizeof *p);
    p->id = (int)id;
    char *copy = xstrdup(val);
    char *client = strchr(copy, ';');
    if (client)
        *client++ = '\0';
    /* host:quorumPort:electionPort[:participant|:observer]; host may be [ipv6] */
    char *fields[4] = {0};
    int nf = 0;
    char *s = copy;
    if (*s == '[') {
        char *rb = strchr(s, ']');
        if (!rb)
            goto bad;
        *rb = '\0';
        fields[nf++] = s + 1;
        s = rb + 1;
        if (*s == ':')
            s++;
    }
    while (s && nf < 4) {
        char *c = strchr(s, ':');
        if (c)
            *c = '\0';
        fields[nf++] = s;
        s = c ? c + 1 : NULL;
    }
    if (nf < 3 || s)
        goto bad;
    p->host = xstrdup(fields[0]);
    p->quorum_port = atoi(fields[1]);
    p->election_port = atoi(fields[2]);
    if (p->quorum_port <= 0 || p->quorum_port > 65535 || p->election_port <= 0 || p->election_port > 65535)
        goto bad;
    if (nf == 4) {
        if (!strcmp(fields[3], "observer"))
            p->observer = true;
        else if (strcmp(fields[3], "participant"))
            goto bad;
    }
    if (client) {
        char *colon = strrchr(client, ':');
        if (colon) {
            *colon = '\0';
            p->client_addr = xstrdup(client);
            p->client_port = atoi(colon + 1);
        } else {
            p->client_port = atoi(client);
        }
        if (p->client_port <= 0 || p->client_port > 65535)
            goto bad;
    }
    free(copy);
    cfg->nservers++;
    return 0;
bad:
    free(copy);
    free(p->host);
    free(p->client_addr);
    snprintf(err, errlen, "invalid value for %s: '%s' (expected host:quorumPort:electionPort"
             "[:participant|:observer][;[clientAddress:]clientPort])", key, val);
    return -1;
}

static int read_myid(coord_config_t *cfg, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/myid", cfg->data_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        cfg->my_id = 0;
        return 0;
    }
    char line[64] = {0};
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    char *end;
    long id = strtol(line, &end, 10);
    while (*end && isspace((unsigned char)*end))
        end++;
    if (end == line || *end || id < 0 || id > 254) {
        snprintf(err, errlen, "%s must hold the server id (a number 0..254), found '%s'", path, line);
        return -1;
    }
    cfg->my_id = (int)id;
    cfg->has_myid = true;
    return 0;
}

int coord_config_load(coord_config_t *cfg, const char *path, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    props_t p;
    props_init(&p);
    if (props_load_file(&p, path, err, errlen)) {
        props_free(&p);
        return -1;
    }
    cfg->path = xstrdup(path);
    int purge_interval = 1;
    const cfg_spec_t spec[] = {
        {"tickTime", CFG_INT, &cfg->tick_time, "2000", 1, 600000},
        {"initLimit", CFG_INT, &cfg->init_limit, "10", 1, 100000},
        {"syncLimit", CFG_INT, &cfg->sync_limit, "5", 1, 100000},
        {"dataDir", CFG_STRING, &cfg->data_dir, NULL, 0, -1},
        {"dataLogDir", CFG_STRING, &cfg->data_log_dir, NULL, 0, -1},
        {"clientPort", CFG_INT, &cfg->client_port, "0", 0, 65535},
        {"clientPortAddress", CFG_STRING, &cfg->client_port_address, NULL, 0, -1},
        {"minSessionTimeout", CFG_INT, &cfg->min_session_timeout, "-1", -1, 2147483647},
        {"maxSessionTimeout", CFG_INT, &cfg->max_session_timeout, "-1", -1, 2147483647},
        {"maxClientCnxns", CFG_INT, &cfg->max_client_cnxns, "60", 0, 1000000},
        {"4lw.commands.whitelist", CFG_STRING, &cfg->four_letter_whitelist,
         "ruok,srvr,stat,mntr,conf,isro,envi,dirs", 0, -1},
        {"autopurge.snapRetainCount", CFG_INT, &cfg->autopurge_snap_retain_count, "3", 3, 100000},
        {"autopurge.purgeInterval", CFG_INT, &purge_interval, "1", 0, 100000},
        {"jute.maxbuffer", CFG_INT, &cfg->jute_maxbuffer, "1048575", 1024, 2147483647},
        {"snapCount", CFG_INT, &cfg->snap_count, "100000", 2, 2147483647},
        {"preAllocSize", CFG_LONG, &cfg->prealloc_kb, "65536", 0, 1LL << 30},
        {"forceSync", CFG_BOOL, &cfg->force_sync, "yes", 0, -1},
        {"extendedTypesEnabled", CFG_BOOL, &cfg->extended_types_enabled, "false", 0, -1},
        {"reconfigEnabled", CFG_BOOL, &cfg->reconfig_enabled, "false", 0, -1},
        {"standaloneEnabled", CFG_BOOL, &cfg->standalone_enabled, "true", 0, -1},
        {"superDigest", CFG_STRING, &cfg->super_digest, NULL, 0, -1},
        {"peerType", CFG_STRING, &cfg->peer_type, "participant", 0, -1},
        {"quorumListenOnAllIPs", CFG_BOOL, &cfg->quorum_listen_all, "true", 0, -1},
    };
    int rc = cfg_bind(&p, spec, sizeof spec / sizeof spec[0], err, errlen);
    if (rc == 0)
        cfg->autopurge_purge_interval = purge_interval;
    for (size_t i = 0; rc == 0 && i < p.n; i++) {
        props_entry_t *e = &p.v[i];
        if (!strncmp(e->key, "server.", 7)) {
            e->used = true;
            rc = parse_server_line(cfg, e->key, e->value, err, errlen);
        } else if (!strncmp(e->key, "group.", 6) || !strncmp(e->key, "weight.", 7)) {
            e->used = true;
            LOG_W("config", "%s: hierarchical quorums (%s) are not supported; ignored", path, e->key);
        }
    }
    if (rc == 0 && !cfg->data_dir) {
        snprintf(err, errlen, "dataDir is not set in %s (it is required)", path);
        rc = -1;
    }
    if (rc == 0 && strcmp(cfg->peer_type, "participant") && strcmp(cfg->peer_type, "observer")) {
        snprintf(err, errlen, "invalid value for peerType: '%s' (participant or observer)", cfg->peer_type);
        rc = -1;
    }
    if (rc == 0) {
        if (!cfg->data_log_dir)
            cfg->data_log_dir = xstrdup(cfg->data_dir);
        if (cfg->min_session_timeout == -1)
            cfg->min_session_timeout = 2 * cfg->tick_time;
        if (cfg->max_session_timeout == -1)
            cfg->max_session_timeout = 20 * cfg->tick_time;
        if (cfg->min_session_timeout > cfg->max_session_timeout) {
            snprintf(err, errlen, "minSessionTimeout (%d) must not be larger than maxSessionTimeout (%d)",
                     cfg->min_session_timeout, cfg->max_session_timeout);
            rc = -1;
        }
    }
    if (rc == 0)
        rc = read_myid(cfg, err, errlen);
    if (rc == 0 && cfg->client_port == 0) {
        /* The port may come from our own server.N line (";clientPort"). */
        for (int i = 0; i < cfg->nservers; i++)
            if (cfg->servers[i].id == cfg->my_id && cfg->servers[i].client_port)
                cfg->client_port = cfg->servers[i].client_port;
        if (cfg->client_port == 0) {
            snprintf(err, errlen, "clientPort is not set in %s", path);
            rc = -1;
        }
    }
    if (rc == 0 && cfg->nservers > 1) {
        const coord_peer_t *me = NULL;
        for (int i = 0; i < cfg->nservers; i++) {
            for (int j = 0; j < i && rc == 0; j++)
                if (cfg->servers[i].id == cfg->servers[j].id) {
                    snprintf(err, errlen, "server.%d is listed twice in %s", cfg->servers[i].id, path);
                    rc = -1;
                }
            if (cfg->servers[i].id == cfg->my_id)
                me = &cfg->servers[i];
        }
        int voters = 0;
        for (int i = 0; i < cfg->nservers; i++)
            voters += !cfg->servers[i].observer;
        if (rc == 0 && !cfg->has_myid) {
            snprintf(err, errlen, "%s lists %d servers but %s/myid is missing (it must hold this server's id N "
                     "of its server.N line)", path, cfg->nservers, cfg->data_dir);
            rc = -1;
        } else if (rc == 0 && !me) {
            snprintf(err, errlen, "this server's id %d (from %s/myid) is not among the server.N lines of %s",
                     cfg->my_id, cfg->data_dir, path);
            rc = -1;
        } else if (rc == 0 && voters == 0) {
            snprintf(err, errlen, "%s lists only observers; an ensemble needs voting participants", path);
            rc = -1;
        } else if (rc == 0 && me->observer != !strcmp(cfg->peer_type, "observer")) {
            /* ZooKeeper: the server list wins */
            LOG_W("config", "%s: peerType=%s but server.%d is a%s in the server list; using the server list",
                  path, cfg->peer_type, cfg->my_id, me->observer ? "n observer" : " participant");
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < p.n; i++) {
            if (p.v[i].used)
                continue;
            bool known = false;
            for (size_t k = 0; k < sizeof accepted_keys / sizeof *accepted_keys; k++)
                known |= !strcmp(p.v[i].key, accepted_keys[k]);
            if (!known)
                LOG_W("config", "%s line %d: unknown key '%s' ignored", path, p.v[i].line, p.v[i].key);
        }
    }
    props_free(&p);
    if (rc)
        coord_config_free(cfg);
    return rc;
}

void coord_config_free(coord_config_t *cfg)
{
    free(cfg->path);
    free(cfg->data_dir);
    free(cfg->data_log_dir);
    free(cfg->client_port_address);
    free(cfg->four_letter_whitelist);
    free(cfg->super_digest);
    free(cfg->peer_type);
    for (int i = 0; i < cfg->nservers; i++) {
        free(cfg->servers[i].host);
        free(cfg->servers[i].client_addr);
    }
    memset(cfg, 0, sizeof *cfg);
}

bool coord_config_standalone(const coord_config_t *cfg)
{
    return cfg->nservers <= 1;
}

bool coord_config_4lw_allowed(const coord_config_t *cfg, const char *cmd)
{
    const char *w = cfg->four_letter_whitelist;
    if (!w)
        return false;
    size_t n = strlen(cmd);
    while (*w) {
        while (*w == ',' || isspace((unsigned char)*w))
            w++;
        const char *e = w;
        while (*e && *e != ',' && !isspace((unsigned char)*e))
            e++;
        if ((e - w == 1 && *w == '*') || ((size_t)(e - w) == n && !strncmp(w, cmd, n)))
            return true;
        w = e;
    }
    return false;
}

void coord_config_membership(const coord_config_t *cfg, buf_t *out)
{
    for (int i = 0; i < cfg->nservers; i++) {
        const coord_peer_t *p = &cfg->servers[i];
        buf_printf(out, "server.%d=%s:%d:%d:%s", p->id, p->host, p->quorum_port, p->election_port,
                   p->observer ? "observer" : "participant");
        if (p->client_port)
            buf_printf(out, ";%s:%d", p->client_addr ? p->client_addr : "0.0.0.0", p->client_port);
        buf_puts(out, "\n");
    }
    buf_puts(out, "version=0");
}
