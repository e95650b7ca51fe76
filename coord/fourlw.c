/* fourlw.c — ZooKeeper's four-letter words, with 3.8's output formats so that
 * monitoring tools (health checks, Prometheus exporters, kazoo's server_version)
 * keep working. A word not in 4lw.commands.whitelist gets 3.8's refusal text. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "common/clock.h"
#include "coord/coord_int.h"
#include "coord/snap.h"

static const char *const words[] = {"ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "envi", "wchs",
                                    "wchc", "wchp", "dump", "isro", "dirs", "srst", "gtmk", "stmk", "hash"};

bool fourlw_is_command(const uint8_t *p)
{
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (!memcmp(p, words[i], 4))
            return true;
    return false;
}

/* ZooKeeper 3.5+ keeps the root under two keys ("" and "/") and counts both. */
static size_t zk_node_count(coord_t *c)
{
    return dt_node_count(c->dt) + 1;
}

static void put_version(buf_t *out)
{
    buf_printf(out, "Zookeeper version: %s, built on %s %s UTC\n", COORD_VERSION, __DATE__, __TIME__);
}

static void put_latency_block(coord_t *c, buf_t *out)
{
    double avg = c->lat_n ? (double)c->lat_sum_us / (double)c->lat_n / 1000.0 : 0.0;
    buf_printf(out, "Latency min/avg/max: %" PRId64 "/%.4f/%" PRId64 "\n", c->lat_min_us / 1000, avg,
               c->lat_max_us / 1000);
    buf_printf(out, "Received: %" PRIu64 "\n", c->packets_received);
    buf_printf(out, "Sent: %" PRIu64 "\n", c->packets_sent);
    buf_printf(out, "Connections: %d\n", c->nconns);
    int outstanding = 0;
    for (conn_t *x = c->conns; x; x = x->next)
        outstanding += x->nqueued;
    buf_printf(out, "Outstanding: %d\n", outstanding);
    buf_printf(out, "Zxid: 0x%" PRIx64 "\n", (uint64_t)coord_last_zxid(c));
    buf_printf(out, "Mode: %s\n", zab_role_name(c->zab));
    buf_printf(out, "Node count: %zu\n", zk_node_count(c));
}

static void put_conn_line(conn_t *x, buf_t *out, bool detailed)
{
    buf_printf(out, " /%s:%d[%d](queued=%d,recved=%" PRIu64 ",sent=%" PRIu64, x->ip, x->port, x->sess ? 1 : 0,
               x->nqueued, x->recved, x->sent);
    if (detailed && x->sess) {
        buf_printf(out, ",sid=0x%" PRIx64 ",lop=%s,est=%" PRId64 ",to=%d,lcxid=0x%x,lzxid=0x%" PRIx64
                        ",lresp=%" PRId64 ",llat=0,minlat=%" PRId64 ",avglat=%" PRId64 ",maxlat=%" PRId64,
                   (uint64_t)x->sess->id, zk_op_name(x->last_op), x->established_ms, x->sess->timeout,
                   (unsigned)x->last_cxid, (uint64_t)x->last_zxid, x->last_resp_ms, x->lat_min_us / 1000,
                   x->lat_n ? x->lat_sum_us / x->lat_n / 1000 : 0, x->lat_max_us / 1000);
    }
    buf_puts(out, ")\n");
}

static long count_fds(long *max)
{
    struct rlimit rl;
    *max = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : -1;
    long n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ., .., and the DIR's own fd */
}

void fourlw_execute(coord_t *c, conn_t *conn, const char *cmd, buf_t *out)
{
    if (!coord_config_4lw_allowed(c->cfg, cmd)) {
        buf_printf(out, "%s is not executed because it is not in the whitelist.\n", cmd);
        return;
    }
    const coord_config_t *cfg = c->cfg;
    static const char *const need_serving[] = {"srvr", "stat", "mntr", "cons", "dump", "wchs",
                                               "wchc", "wchp", "hash", "crst", "srst"};
    if (!coord_serving(c)) {
        /* As ZooKeeper while it has no quorum (looking, or syncing with a leader). */
        for (size_t i = 0; i < sizeof need_serving / sizeof *need_serving; i++) {
            if (!strcmp(cmd, need_serving[i])) {
                buf_puts(out, "This ZooKeeper instance is not currently serving requests\n");
                return;
            }
        }
    }
    if (!strcmp(cmd, "ruok")) {
        buf_puts(out, "imok");
    } else if (!strcmp(cmd, "isro")) {
        buf_puts(out, coord_serving(c) ? "rw" : "null");
    } else if (!strcmp(cmd, "srvr")) {
        put_version(out);
        put_latency_block(c, out);
    } else if (!strcmp(cmd, "stat")) {
        put_version(out);
        buf_puts(out, "Clients:\n");
        for (conn_t *x = c->conns; x; x = x->next)
            put_conn_line(x, out, false);
        buf_puts(out, "\n");
        put_latency_block(c, out);
    } else if (!strcmp(cmd, "cons")) {
        for (conn_t *x = c->conns; x; x = x->next)
            put_conn_line(x, out, true);
        buf_puts(out, "\n");
    } else if (!strcmp(cmd, "crst") || !strcmp(cmd, "srst")) {
        c->lat_min_us = c->lat_max_us = c->lat_sum_us = c->lat_n = 0;
        c->packets_received = c->packets_sent = 0;
        buf_puts(out, !strcmp(cmd, "crst") ? "Connection stats reset.\n" : "Server stats reset.\n");
    } else if (!strcmp(cmd, "conf")) {
        buf_printf(out, "clientPort=%d\n", cfg->client_port);
        buf_puts(out, "secureClientPort=-1\n");
        buf_printf(out, "dataDir=%s/version-2\n", cfg->data_dir);
        buf_printf(out, "dataDirSize=%" PRId64 "\n", snap_dir_bytes(cfg->data_dir));
        buf_printf(out, "dataLogDir=%s/version-2\n", cfg->data_log_dir);
        buf_printf(out, "dataLogSize=%" PRId64 "\n", txnlog_dir_bytes(cfg->data_log_dir));
        buf_printf(out, "tickTime=%d\n", cfg->tick_time);
        buf_printf(out, "maxClientCnxns=%d\n", cfg->max_client_cnxns);
        buf_printf(out, "minSessionTimeout=%d\n", cfg->min_session_timeout);
        buf_printf(out, "maxSessionTimeout=%d\n", cfg->max_session_timeout);
        buf_puts(out, "clientPortListenBacklog=-1\n");
        buf_printf(out, "serverId=%d\n", cfg->my_id);
        if (!coord_config_standalone(cfg)) {
            const coord_peer_t *me = NULL;
            for (int i = 0; i < cfg->nservers; i++)
                if (cfg->servers[i].id == cfg->my_id)
                    me = &cfg->servers[i];
            buf_printf(out, "initLimit=%d\nsyncLimit=%d\nelectionAlg=3\nelectionPort=%d\nquorumPort=%d\n"
                            "peerType=%d\n",
                       cfg->init_limit, cfg->sync_limit, me ? me->election_port : -1, me ? me->quorum_port : -1,
                       me && me->observer ? 1 : 0);
            buf_puts(out, "membership: \n");
            coord_config_membership(cfg, out);
            buf_puts(out, "\n");
        }
    } else if (!strcmp(cmd, "envi")) {
        char host[256] = "localhost";
        gethostname(host, sizeof host - 1);
        buf_puts(out, "Environment:\n");
        buf_printf(out, "zookeeper.version=%s, built on %s %s UTC\n", COORD_VERSION, __DATE__, __TIME__);
        buf_printf(out, "host.name=%s\n", host);
        buf_puts(out, "java.version=none (gregor-coord is written in C)\n");
        buf_puts(out, "java.vendor=none\njava.home=none\njava.class.path=none\njava.library.path=none\n"
                      "java.io.tmpdir=/tmp\njava.compiler=<NA>\n");
        buf_puts(out, "os.name=Linux\n");
        char cwd[4096] = "";
        if (!getcwd(cwd, sizeof cwd))
            cwd[0] = '\0';
        buf_printf(out, "user.dir=%s\n", cwd);
        buf_printf(out, "os.memory.free=0MB\nos.memory.max=0MB\nos.memory.total=0MB\n");
    } else if (!strcmp(cmd, "mntr")) {
        double avg = c->lat_n ? (double)c->lat_sum_us / (double)c->lat_n / 1000.0 : 0.0;
        int outstanding = 0;
        for (conn_t *x = c->conns; x; x = x->next)
            outstanding += x->nqueued;
        long maxfd, fds = count_fds(&maxfd);
        txnlog_stats_t ls;
        txnlog_stats(c->log, &ls);
        buf_printf(out, "zk_version\t%s, built on %s %s UTC\n", COORD_VERSION, __DATE__, __TIME__);
        buf_printf(out, "zk_server_state\t%s\n", zab_role_name(c->zab));
        buf_printf(out, "zk_avg_latency\t%.4f\n", avg);
        buf_printf(out, "zk_max_latency\t%" PRId64 "\n", c->lat_max_us / 1000);
        buf_printf(out, "zk_min_latency\t%" PRId64 "\n", c->lat_min_us / 1000);
        buf_printf(out, "zk_packets_received\t%" PRIu64 "\n", c->packets_received);
        buf_printf(out, "zk_packets_sent\t%" PRIu64 "\n", c->packets_sent);
        buf_printf(out, "zk_num_alive_connections\t%d\n", c->nconns);
        buf_printf(out, "zk_outstanding_requests\t%d\n", outstanding);
        buf_printf(out, "zk_znode_count\t%zu\n", zk_node_count(c));
        buf_printf(out, "zk_watch_count\t%zu\n", watch_count(c->watches));
        buf_printf(out, "zk_ephemerals_count\t%zu\n", dt_ephemeral_count(c->dt));
        buf_printf(out, "zk_approximate_data_size\t%zu\n", dt_data_bytes(c->dt));
        buf_printf(out, "zk_open_file_descriptor_count\t%ld\n", fds);
        buf_printf(out, "zk_max_file_descriptor_count\t%ld\n", maxfd);
        buf_printf(out, "zk_global_sessions\t%zu\n", hmap_count(&c->sessions));
        buf_printf(out, "zk_local_sessions\t0\n");
        buf_printf(out, "zk_uptime\t%" PRId64 "\n", clock_mono_ms() - c->started_ms);
        buf_printf(out, "zk_last_client_response_size\t-1\n");
        buf_printf(out, "zk_fsync_count\t%" PRIu64 "\n", ls.syncs);
        buf_printf(out, "zk_last_fsync_time_us\t%" PRId64 "\n", ls.last_sync_us);
        buf_printf(out, "zk_max_fsync_time_us\t%" PRId64 "\n", ls.max_sync_us);
        buf_printf(out, "zk_data_dir_size\t%" PRId64 "\n", snap_dir_bytes(cfg->data_dir));
        buf_printf(out, "zk_log_dir_size\t%" PRId64 "\n", txnlog_dir_bytes(cfg->data_log_dir));
        if (c->ensemble) {
            zab_stats_t qs;
            zab_stats(c->zab, &qs);
            static const char *const states[] = {"looking", "leading", "following", "observing"};
            buf_printf(out, "zk_peer_state\t%s - %s\n", states[qs.role],
                       qs.role == ZAB_LOOKING ? "leader election" : qs.serving ? "broadcast" : "synchronization");
            int voters = 0;
            for (int i = 0; i < cfg->nservers; i++)
                voters += !cfg->servers[i].observer;
            buf_printf(out, "zk_quorum_size\t%d\n", voters);
            if (qs.role == ZAB_OBSERVING && qs.leader >= 0)
                buf_printf(out, "zk_observer_master_id\t%d\n", qs.leader);
        }
        if (zab_role(c->zab) == ZAB_LEADING && c->ensemble) {
            zab_stats_t st;
            zab_stats(c->zab, &st);
            buf_printf(out, "zk_learners\t%d\n", st.learners);
            buf_printf(out, "zk_followers\t%d\n", st.learners);   /* 3.4's name, still read by monitors */
            buf_printf(out, "zk_synced_followers\t%d\n", st.synced_followers);
            /* non-voting followers are a reconfig notion; observers are counted apart, as 3.8 */
            buf_printf(out, "zk_synced_non_voting_followers\t0\n");
            buf_printf(out, "zk_synced_observers\t%d\n", st.synced_observers);
            buf_printf(out, "zk_pending_syncs\t%d\n", st.pending_syncs);
        }
    } else if (!strcmp(cmd, "wchs")) {
        int watching = 0;
        for (conn_t *x = c->conns; x; x = x->next)
            watching += x->sess ? 1 : 0;
        buf_printf(out, "%d connections watching %zu paths\nTotal watches:%zu\n", watching,
                   watch_path_count(c->watches), watch_count(c->watches));
    } else if (!strcmp(cmd, "wchc")) {
        watch_dump_by_session(c->watches, out);
    } else if (!strcmp(cmd, "wchp")) {
        watch_dump_by_path(c->watches, out);
    } else if (!strcmp(cmd, "dump")) {
        buf_printf(out, "SessionTracker dump:\nGlobal Sessions(%zu):\n", hmap_count(&c->sessions));
        hmap_iter_t it;
        hmap_iter_init(&c->sessions, &it);
        void *v;
        int64_t now = clock_mono_ms();
        while (hmap_iter_next(&c->sessions, &it, NULL, NULL, &v)) {
            session_t *s = v;
            buf_printf(out, "0x%" PRIx64 "\t%dms\t(expires in %" PRId64 "ms)\n", (uint64_t)s->id, s->timeout,
                       s->expires_at_ms - now);
        }
        buf_puts(out, "ephemeral nodes dump:\n");
        int with = 0;
        buf_t sessions_part = BUF_INIT;
        hmap_iter_init(&c->sessions, &it);
        while (hmap_iter_next(&c->sessions, &it, NULL, NULL, &v)) {
            session_t *s = v;
            jute_strvec_t eph = {0, NULL};
            dt_session_ephemerals(c->dt, s->id, &eph);
            if (eph.n > 0) {
                with++;
                buf_printf(&sessions_part, "0x%" PRIx64 ":\n", (uint64_t)s->id);
                for (int32_t i = 0; i < eph.n; i++)
                    buf_printf(&sessions_part, "\t%s\n", eph.v[i]);
            }
            jute_strvec_free(&eph);
        }
        buf_printf(out, "Sessions with Ephemerals (%d):\n", with);
        if (sessions_part.len)
            buf_put(out, sessions_part.data, sessions_part.len);
        buf_free(&sessions_part);
        buf_puts(out, "Connections dump:\nConnections Sets (0)/(0):\n");
    } else if (!strcmp(cmd, "dirs")) {
        buf_printf(out, "datadir_size: %" PRId64 "\nlogdir_size: %" PRId64 "\n", snap_dir_bytes(cfg->data_dir),
                   txnlog_dir_bytes(cfg->data_log_dir));
    } else if (!strcmp(cmd, "gtmk")) {
        buf_puts(out, "306");
    } else if (!strcmp(cmd, "stmk")) {
        buf_puts(out, "306");
    } else if (!strcmp(cmd, "hash")) {
        buf_printf(out, "Digest in the data tree: %" PRIu64 "\n", dt_digest(c->dt));
    }
}
