/* ktool_topics.c — `gregor topics` = kafka-topics.sh (Kafka 2.4's TopicCommand): argument
 * checks, and the --zookeeper mode working directly on the coordinator the way Kafka's
 * ZookeeperTopicService + AdminZkClient do (znode sequences in
 * shared/research/kafka-zk-layout.md §3.2). The --bootstrap-server mode is in
 * ktool_topics_admin.c. */
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "broker/cli/ktool.h"
#include "broker/ctrl_assign.h"
#include "common/alloc.h"
#include "coord/zkc.h"

static const ktool_optdef_t topic_opts[] = {
    {"alter", 0, NULL, "Alter the number of partitions, replica assignment, and/or configuration for the topic."},
    {"at-min-isr-partitions", 0, NULL, "if set when describing topics, only show partitions whose isr count is "
                                       "equal to the configured minimum. Not supported with the --zookeeper option."},
    {"bootstrap-server", 1, "String: server to connect to", "REQUIRED: The Kafka server to connect to. In case of "
                                                            "providing this, a direct Zookeeper connection won't be required."},
    {"command-config", 1, "String: command config property file", "Property file containing configs to be passed "
                                                                   "to Admin Client. This is used only with "
                                                                   "--bootstrap-server option for describing and "
                                                                   "altering broker configs."},
    {"config", 1, "String: name=value", "A topic configuration override for the topic being created or altered. "
                                        "The following is a list of valid configurations: cleanup.policy "
                                        "compression.type delete.retention.ms file.delete.delay.ms flush.messages "
                                        "flush.ms follower.replication.throttled.replicas index.interval.bytes "
                                        "leader.replication.throttled.replicas max.compaction.lag.ms "
                                        "max.message.bytes message.downconversion.enable message.format.version "
                                        "message.timestamp.difference.max.ms message.timestamp.type "
                                        "min.cleanable.dirty.ratio min.compaction.lag.ms min.insync.replicas "
                                        "preallocate retention.bytes retention.ms segment.bytes "
                                        "segment.index.bytes segment.jitter.ms segment.ms "
                                        "unclean.leader.election.enable"},
    {"create", 0, NULL, "Create a new topic."},
    {"delete", 0, NULL, "Delete a topic"},
    {"delete-config", 1, "String: name", "A topic configuration override to be removed for an existing topic "
                                         "(see the list of configurations under the --config option). Not "
                                         "supported with the --bootstrap-server option."},
    {"describe", 0, NULL, "List details for the given topics."},
    {"disable-rack-aware", 0, NULL, "Disable rack aware replica assignment"},
    {"exclude-internal", 0, NULL, "exclude internal topics when running list or describe command. The internal "
                                  "topics will be listed by default"},
    {"force", 0, NULL, "Suppress console prompts"},
    {"help", 0, NULL, "Print usage information."},
    {"if-exists", 0, NULL, "if set when altering or deleting or describing topics, the action will only execute "
                           "if the topic exists. Not supported with the --bootstrap-server option."},
    {"if-not-exists", 0, NULL, "if set when creating topics, the action will only execute if the topic does not "
                               "already exist. Not supported with the --bootstrap-server option."},
    {"list", 0, NULL, "List all available topics."},
    {"partitions", 1, "Integer: # of partitions", "The number of partitions for the topic being created or "
                                                  "altered (WARNING: If partitions are increased for a topic that "
                                                  "has a key, the partition logic or ordering of the messages will "
                                                  "be affected). If not supplied for create, defaults to the "
                                                  "cluster default."},
    {"replica-assignment", 1, "String: broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , "
                              "broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ...",
     "A list of manual partition-to-broker assignments for the topic being created or altered."},
    {"replication-factor", 1, "Integer: replication factor", "The replication factor for each partition in the "
                                                             "topic being created. If not supplied, defaults to "
                                                             "the cluster default."},
    {"topic", 1, "String: topic", "The topic to create, alter, describe or delete. It also accepts a regular "
                                  "expression, except for --create option. Put topic name in double quotes and "
                                  "use the '\\' prefix to escape regular expression symbols; e.g. \"test\\.topic\"."},
    {"topics-with-overrides", 0, NULL, "if set when describing topics, only show topics that have overridden configs"},
    {"unavailable-partitions", 0, NULL, "if set when describing topics, only show partitions whose leader is not "
                                        "available"},
    {"under-min-isr-partitions", 0, NULL, "if set when describing topics, only show partitions whose isr count "
                                          "is less than the configured minimum. Not supported with the "
                                          "--zookeeper option."},
    {"under-replicated-partitions", 0, NULL, "if set when describing topics, only show under replicated partitions"},
    {"version", 0, NULL, "Display Kafka version."},
    {"zookeeper", 1, "String: hosts", "DEPRECATED, The connection string for the zookeeper connection in the form "
                                      "host:port. Multiple hosts can be given to allow fail-over."},
};

#define TOPIC_HEADER "This tool helps to create, delete, describe, or change a topic."

int ktool_topic_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("Error while executing topic command : ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    return 1;
}

/* ---- argument checks (TopicCommandOptions.checkArgs) ---- */

static int check_args(const ktool_opts_t *o, int argc)
{
    static const char *const all_topic_level[] = {"list", "describe", "create", "alter", "delete", NULL};
    if (argc <= 1)
        return ktool_usage_die(o, "Create, delete, describe, or change a topic.");
    int actions = 0;
    for (size_t i = 0; all_topic_level[i]; i++)
        actions += ktool_has(o, all_topic_level[i]);
    if (actions != 1)
        return ktool_usage_die(o, "Command must include exactly one action: --list, --describe, --create, "
                                  "--alter or --delete");
    if (ktool_has(o, "bootstrap-server") == ktool_has(o, "zookeeper")) {
        fprintf(stderr, "Exception in thread \"main\" java.lang.IllegalArgumentException: Only one of "
                        "--bootstrap-server or --zookeeper must be specified\n");
        return 1;
    }
    if (!ktool_has(o, "list") && !ktool_has(o, "describe") && ktool_require(o, (const char *[]){"topic", NULL}))
        return 1;
    if (ktool_has(o, "describe") && ktool_has(o, "if-exists") && ktool_require(o, (const char *[]){"topic", NULL}))
        return 1;
    if (ktool_has(o, "bootstrap-server") && ktool_has(o, "alter")) {
        if (ktool_has(o, "config")) {
            return ktool_usage_die(o, "Option \"[bootstrap-server],[config]\" can't be used with option "
                                      "\"[alter]\". Use kafka-configs.sh to alter topic configs (it accepts "
                                      "--bootstrap-server)");
        }
        if (ktool_require(o, (const char *[]){"partitions", NULL}))
            return 1;
    }
    if (ktool_invalid_with(o, "config", (const char *[]){"list", "describe", "delete", NULL}) ||
        ktool_invalid_with(o, "delete-config", (const char *[]){"list", "describe", "delete", "create",
                                                                 "bootstrap-server", NULL}) ||
        ktool_invalid_with(o, "partitions", (const char *[]){"list", "describe", "delete", NULL}) ||
        ktool_invalid_with(o, "replication-factor", (const char *[]){"list", "describe", "delete", "alter", NULL}) ||
        ktool_invalid_with(o, "replica-assignment", (const char *[]){"list", "describe", "delete", NULL}) ||
        (ktool_has(o, "create") &&
         ktool_invalid_with(o, "replica-assignment", (const char *[]){"partitions", "replication-factor", NULL})) ||
        ktool_invalid_with(o, "under-replicated-partitions",
                           (const char *[]){"list", "create", "alter", "delete", "unavailable-partitions",
                                            "topics-with-overrides", NULL}) ||
        ktool_invalid_with(o, "unavailable-partitions",
                           (const char *[]){"list", "create", "alter", "delete", "under-replicated-partitions",
                                            "topics-with-overrides", NULL}) ||
        ktool_invalid_with(o, "topics-with-overrides",
                           (const char *[]){"list", "create", "alter", "delete", "under-replicated-partitions",
                                            "unavailable-partitions", NULL}) ||
        ktool_invalid_with(o, "if-exists", (const char *[]){"list", "create", NULL}) ||
        ktool_invalid_with(o, "if-not-exists", (const char *[]){"list", "describe", "alter", "delete", NULL}) ||
        ktool_invalid_with(o, "exclude-internal", (const char *[]){"create", "alter", "delete", NULL}))
        return 1;
    if (ktool_has(o, "zookeeper") &&
        (ktool_has(o, "under-min-isr-partitions") || ktool_has(o, "at-min-isr-partitions")))
        return ktool_usage_die(o, "Option \"[%s]\" can't be used with option \"[zookeeper]\"",
                               ktool_has(o, "under-min-isr-partitions") ? "under-min-isr-partitions"
                                                                         : "at-min-isr-partitions");
    return 0;
}

/* ---- shared helpers ---- */

/* Whitelist(regex): ',' means '|', blanks and surrounding quotes dropped; full match. */
int ktool_tfilter_init(ktool_tfilter_t *f, const char *topic)
{
    memset(f, 0, sizeof *f);
    if (!topic) {
        f->any = true;
        return 0;
    }
    buf_t b = BUF_INIT;
    buf_puts(&b, "^(");
    const char *s = topic;
    while (*s == '"' || *s == '\'')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == '"' || s[n - 1] == '\''))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ',')
            buf_put_u8(&b, '|');
        else if (s[i] != ' ')
            buf_put_u8(&b, (uint8_t)s[i]);
    }
    buf_puts(&b, ")$");
    int rc = regcomp(&f->re, buf_cstr(&b), REG_EXTENDED | REG_NOSUB);
    buf_free(&b);
    if (rc != 0) {
        ktool_topic_fail("%s is an invalid regex.", topic);
        return -1;
    }
    return 0;
}

bool ktool_tfilter_match(const ktool_tfilter_t *f, const char *topic, bool exclude_internal)
{
    if (exclude_internal && ktool_topic_internal(topic))
        return false;
    return f->any || regexec(&f->re, topic, 0, NULL, 0) == 0;
}

void ktool_tfilter_free(ktool_tfilter_t *f)
{
    if (!f->any)
        regfree(&f->re);
}

/* --config k=v list into a config (validated as LogConfig.validate). Returns 0, or 1 after
 * printing the error. */
int ktool_topic_parse_configs(const ktool_opts_t *o, zkpaths_config_t *c)
{
    memset(c, 0, sizeof *c);
    size_t n;
    char **kvs = ktool_vals(o, "config", &n);
    for (size_t i = 0; i < n; i++) {
        char *k, *v;
        if (ktool_split_kv(kvs[i], &k, &v) < 0)
            return ktool_topic_fail("requirement failed: Invalid topic config: all configs to be added must be in the "
                        "format \"key=val\".");
        zkpaths_config_set(c, k, v);
        free(k);
        free(v);
    }
    for (size_t i = 0; i < c->n; i++) {
        char why[512];
        if (ktool_topic_config_validate(c->v[i].key, c->v[i].value, why, sizeof why) < 0)
            return ktool_topic_fail("%s", why);
    }
    const char *mfv = zkpaths_config_get(c, "message.format.version");
    if (mfv)
        printf("WARNING: The configuration message.format.version=%s is specified. This configuration will be "
               "ignored if the version is newer than the inter.broker.protocol.version specified in the broker.\n",
               mfv);
    return 0;
}

/* "0:1,1:2" -> per-partition replica lists. Returns 0, or 1 after printing the error. */
int ktool_parse_replica_assignment(const char *s, zkpaths_ilist_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char *copy = xstrdup(s);
    int rc = 0;
    size_t np = 1;
    for (const char *p = copy; *p; p++)
        np += *p == ',';
    zkpaths_ilist_t *l = xcalloc(np, sizeof *l);
    char *save = NULL, *part = strtok_r(copy, ",", &save);
    size_t i = 0;
    for (; i < np; i++) {
        if (!part) {
            rc = ktool_topic_fail("For input string: \"\"");
            break;
        }
        char *save2 = NULL;
        for (char *b = strtok_r(part, ":", &save2); b; b = strtok_r(NULL, ":", &save2)) {
            while (*b == ' ')
                b++;
            size_t bl = strlen(b);
            while (bl && b[bl - 1] == ' ')
                b[--bl] = 0;
            int64_t id;
            if (ktool_long_arg(b, &id) < 0 || id < INT32_MIN || id > INT32_MAX) {
                rc = ktool_topic_fail("For input string: \"%s\"", b);
                break;
            }
            if (zkpaths_ilist_has(&l[i], (int32_t)id)) {
                rc = ktool_topic_fail("Partition replica lists may not contain duplicate entries: %lld", (long long)id);
                break;
            }
            l[i].v = xrealloc(l[i].v, (l[i].n + 1) * sizeof(int32_t));
            l[i].v[l[i].n++] = (int32_t)id;
        }
        if (rc)
            break;
        if (l[i].n != l[0].n) {
            buf_t b = BUF_INIT;
            for (size_t j = 0; j < l[i].n; j++)
                buf_printf(&b, "%s%d", j ? "," : "", l[i].v[j]);
            rc = ktool_topic_fail("Partition %zu has different replication factor: %s", i, buf_cstr(&b));
            buf_free(&b);
            break;
        }
        part = strtok_r(NULL, ",", &save);
    }
    free(copy);
    if (rc) {
        for (size_t j = 0; j < np; j++)
            zkpaths_ilist_free(&l[j]);
        free(l);
        return rc;
    }
    *out = l;
    *n = np;
    return 0;
}

void ktool_ilists_free(zkpaths_ilist_t *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        zkpaths_ilist_free(&l[i]);
    free(l);
}

char *ktool_ilist_str(const zkpaths_ilist_t *l)
{
    buf_t b = BUF_INIT;
    buf_puts(&b, "");
    for (size_t i = 0; i < l->n; i++)
        buf_printf(&b, "%s%d", i ? "," : "", l->v[i]);
    return buf_cstr(&b);
}

static int zk_fail(int rc, const char *what)
{
    return ktool_topic_fail("KeeperErrorCode = %s for %s", ktool_zk_errname(rc), what);
}

/* All topics sorted, filtered by --topic / --exclude-internal. */
static int zk_topics(ktool_zk_t *z, const ktool_opts_t *o, char ***out, size_t *n)
{
    char **all;
    size_t na;
    *out = NULL;
    *n = 0;
    int rc = ktool_zk_children(z, ZKPATHS_TOPICS, &all, &na);
    if (rc == ZNONODE)
        return 0;
    if (rc != ZOK)
        return zk_fail(rc, ZKPATHS_TOPICS);
    ktool_tfilter_t f;
    if (ktool_tfilter_init(&f, ktool_val(o, "topic")) < 0) {
        ktool_strv_free(all, na);
        return 1;
    }
    bool excl = ktool_has(o, "exclude-internal");
    size_t k = 0;
    for (size_t i = 0; i < na; i++) {
        if (ktool_tfilter_match(&f, all[i], excl))
            all[k++] = all[i];
        else
            free(all[i]);
    }
    ktool_tfilter_free(&f);
    *out = all;
    *n = k;
    return 0;
}

/* ensureTopicExists */
static int ensure_exists(const ktool_opts_t *o, size_t found)
{
    if (ktool_val(o, "topic") && !ktool_has(o, "if-exists") && found == 0)
        return ktool_topic_fail("Topic '%s' does not exist as expected", ktool_val(o, "topic"));
    return 0;
}

static uint32_t rnd(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != sizeof v)
        v = (uint32_t)rand();
    return v;
}

static int write_assignment(ktool_zk_t *z, const char *topic, const zkpaths_ilist_t *l, size_t n, bool update)
{
    zkpaths_topic_t t;
    memset(&t, 0, sizeof t);
    t.version = 2;
    t.n_parts = n;
    t.parts = xcalloc(n ? n : 1, sizeof *t.parts);
    for (size_t i = 0; i < n; i++) {
        t.parts[i].partition = (int32_t)i;
        t.parts[i].replicas = l[i];
    }
    buf_t json = BUF_INIT;
    int rc = zkpaths_topic_encode(&t, &json) < 0 ? ZBADARGUMENTS : ZOK;
    free(t.parts);
    char *path = zkpaths_topic(topic);
    if (rc == ZOK) {
        if (update)
            rc = ktool_zk_set(z, path, json.data, (int32_t)json.len, -1);
        else
            rc = ktool_zk_create(z, path, json.data, (int32_t)json.len, ZK_PERSISTENT, NULL);
    }
    free(path);
    buf_free(&json);
    return rc;
}

/* ---- --zookeeper actions ---- */

static int zk_create(ktool_zk_t *z, const ktool_opts_t *o)
{
    const char *topic = ktool_val(o, "topic");
    if (ktool_topic_has_collision_chars(topic))
        printf("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') "
               "could collide. To avoid issues it is best to use either, but not both.\n");
    zkpaths_config_t cfg;
    int rc = ktool_topic_parse_configs(o, &cfg);
    zkpaths_ilist_t *assign = NULL;
    size_t nassign = 0;
    if (rc)
        goto out;
    if (ktool_has(o, "replica-assignment")) {
        if ((rc = ktool_parse_replica_assignment(ktool_val(o, "replica-assignment"), &assign, &nassign)))
            goto out;
    } else {
        /* Kafka 2.4 requires both in --zookeeper mode; tutorials leave them out (the
         * --bootstrap-server mode takes the broker's defaults), so take Kafka's shipped
         * defaults (num.partitions=1, default.replication.factor=1) and say so. */
        int32_t np = 1, rf = 1;
        if ((ktool_has(o, "partitions") && ktool_int_arg(o, "partitions", &np) < 0) ||
            (ktool_has(o, "replication-factor") && ktool_int_arg(o, "replication-factor", &rf) < 0)) {
            rc = 1;
            goto out;
        }
        if (!ktool_has(o, "partitions") || !ktool_has(o, "replication-factor"))
            fprintf(stderr, "Note: %s%s%s not given; using 1, Kafka's default (the brokers' num.partitions and "
                            "default.replication.factor cannot be read through --zookeeper).\n",
                    ktool_has(o, "partitions") ? "" : "--partitions",
                    !ktool_has(o, "partitions") && !ktool_has(o, "replication-factor") ? " and " : "",
                    ktool_has(o, "replication-factor") ? "" : "--replication-factor");
        ktool_brokers_t br;
        int e = ktool_zk_brokers(z, &br);
        if (e != ZOK) {
            rc = zk_fail(e, ZKPATHS_BROKER_IDS);
            goto out;
        }
        ctrl_assign_broker_t *cb = xcalloc(br.n ? br.n : 1, sizeof *cb);
        for (size_t i = 0; i < br.n; i++) {
            cb[i].id = br.ids[i];
            cb[i].rack = br.racks[i];
        }
        ctrl_assign_opts_t ao = {.fixed_start_index = -1, .start_partition_id = 0,
                                 .rand_start = rnd(), .rand_shift = rnd()};
        if (np > 0)
            assign = xcalloc((size_t)np, sizeof *assign);
        const char *msg = NULL;
        e = ctrl_assign_replicas(cb, br.n, np, rf, &ao, !ktool_has(o, "disable-rack-aware"), assign, &msg);
        size_t nlive = br.n;
        free(cb);
        ktool_brokers_free(&br);
        if (e != CTRL_ASSIGN_OK) {
            free(assign);
            assign = NULL;
            if (e == CTRL_ASSIGN_BAD_RF && rf > 0)
                rc = ktool_topic_fail("Replication factor: %d larger than available brokers: %zu.", rf, nlive);
            else
                rc = ktool_topic_fail("%s", msg ? msg : "invalid partitions or replication factor");
            goto out;
        }
        nassign = (size_t)np;
    }
    /* validateTopicCreate */
    char why[512];
    if (ktool_topic_name_check(topic, why, sizeof why) < 0) {
        rc = ktool_topic_fail("%s", why);
        goto out;
    }
    char *tpath = zkpaths_topic(topic);
    int ex = ktool_zk_exists(z, tpath);
    free(tpath);
    if (ex < 0) {
        rc = zk_fail(ex, "/brokers/topics");
        goto out;
    }
    if (ex == 1) {
        if (!ktool_has(o, "if-not-exists"))
            rc = ktool_topic_fail("Topic '%s' already exists.", topic);
        goto out;
    }
    if (ktool_topic_has_collision_chars(topic)) {
        char **all;
        size_t na;
        if (ktool_zk_children(z, ZKPATHS_TOPICS, &all, &na) == ZOK) {
            buf_t col = BUF_INIT;
            for (size_t i = 0; i < na; i++) {
                bool same = strlen(all[i]) == strlen(topic);
                for (size_t j = 0; same && topic[j]; j++) {
                    char a = topic[j] == '.' ? '_' : topic[j], b = all[i][j] == '.' ? '_' : all[i][j];
                    same = a == b;
                }
                if (same)
                    buf_printf(&col, "%s%s", col.len ? ", " : "", all[i]);
            }
            ktool_strv_free(all, na);
            if (col.len) {
                rc = ktool_topic_fail("Topic '%s' collides with existing topics: %s", topic, buf_cstr(&col));
                buf_free(&col);
                goto out;
            }
            buf_free(&col);
        }
    }
    for (size_t i = 0; i < nassign; i++) {
        if (assign[i].n != assign[0].n) {
            rc = ktool_topic_fail("All partitions should have the same number of replicas");
            goto out;
        }
    }
    if (nassign == 0) {
        rc = ktool_topic_fail("Number of partitions must be larger than 0.");
        goto out;
    }
    /* config first, then the assignment (the controller reacts to the latter) */
    buf_t json = BUF_INIT;
    zkpaths_config_encode(&cfg, &json);
    char *cpath = zkpaths_config_entity("topics", topic);
    int e = ktool_zk_set_or_create(z, cpath, json.data, (int32_t)json.len);
    buf_free(&json);
    if (e != ZOK) {
        rc = zk_fail(e, cpath);
        free(cpath);
        goto out;
    }
    free(cpath);
    e = write_assignment(z, topic, assign, nassign, false);
    if (e == ZNODEEXISTS) {
        if (!ktool_has(o, "if-not-exists"))
            rc = ktool_topic_fail("Topic '%s' already exists.", topic);
        goto out;
    }
    if (e != ZOK) {
        rc = zk_fail(e, "/brokers/topics");
        goto out;
    }
    printf("Created topic %s.\n", topic);
out:
    ktool_ilists_free(assign, nassign);
    zkpaths_config_free(&cfg);
    return rc;
}

static int zk_list(ktool_zk_t *z, const ktool_opts_t *o)
{
    char **topics;
    size_t n;
    int rc = zk_topics(z, o, &topics, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char *dp = zkpaths_delete_topic(topics[i]);
        int marked = ktool_zk_exists(z, dp);
        free(dp);
        if (marked == 1)
            printf("%s - marked for deletion\n", topics[i]);
        else
            printf("%s\n", topics[i]);
    }
    ktool_strv_free(topics, n);
    return 0;
}

static int zk_describe(ktool_zk_t *z, const ktool_opts_t *o)
{
    char **topics;
    size_t n;
    int rc = zk_topics(z, o, &topics, &n);
    if (rc)
        return rc;
    if ((rc = ensure_exists(o, n))) {
        ktool_strv_free(topics, n);
        return rc;
    }
    ktool_brokers_t live;
    if (ktool_zk_brokers(z, &live) != ZOK)
        memset(&live, 0, sizeof live);
    bool under = ktool_has(o, "under-replicated-partitions");
    bool unavail = ktool_has(o, "unavailable-partitions");
    bool overrides = ktool_has(o, "topics-with-overrides");
    bool describe_configs = !under && !unavail;
    bool describe_partitions = !overrides;
    for (size_t i = 0; i < n; i++) {
        const char *topic = topics[i];
        char *tpath = zkpaths_topic(topic);
        buf_t data = BUF_INIT;
        int e = ktool_zk_get(z, tpath, &data, NULL);
        free(tpath);
        zkpaths_topic_t t;
        memset(&t, 0, sizeof t);
        if (e != ZOK || zkpaths_topic_decode(data.data, data.len, &t) < 0) {
            buf_free(&data);
            if (e == ZNONODE) {
                printf("Topic %s doesn't exist!\n", topic);
            } else if (e == ZOK) {
                /* hand-edited or foreign data: say which znode, go on with the others */
                rc = ktool_topic_fail("/brokers/topics/%s does not hold a Kafka partition assignment "
                                      "({\"version\":1|2,\"partitions\":{\"0\":[broker ids],...}}); fix or delete it",
                                      topic);
            } else {
                rc = zk_fail(e, topic);
            }
            continue;
        }
        buf_free(&data);
        char *dp = zkpaths_delete_topic(topic);
        bool marked = ktool_zk_exists(z, dp) == 1;
        free(dp);
        if (describe_configs) {
            zkpaths_config_t cfg;
            if (ktool_zk_entity_config(z, "topics", topic, &cfg) != ZOK) {
                memset(&cfg, 0, sizeof cfg);
                fprintf(stderr, "WARN /config/topics/%s does not hold a Kafka config ({\"version\":1,\"config\":"
                                "{\"key\":\"string value\",...}}); shown as no overrides\n", topic);
            }
            if (!overrides || cfg.n > 0) {
                char *cs = ktool_config_join(&cfg, ",");
                printf("Topic: %s\tPartitionCount: %zu\tReplicationFactor: %zu\tConfigs: %s%s\n", topic,
                       t.n_parts, t.n_parts ? t.parts[0].replicas.n : (size_t)0, cs,
                       marked ? "\tMarkedForDeletion: true" : "");
                free(cs);
            }
            zkpaths_config_free(&cfg);
        }
        if (describe_partitions) {
            for (size_t p = 0; p < t.n_parts; p++) {
                const zkpaths_passign_t *pa = &t.parts[p];
                char *sp = zkpaths_partition_state(topic, pa->partition);
                buf_t sd = BUF_INIT;
                zkpaths_pstate_t st;
                memset(&st, 0, sizeof st);
                bool has_state = ktool_zk_get(z, sp, &sd, NULL) == ZOK &&
                                 zkpaths_pstate_decode(sd.data, sd.len, &st) == 0;
                free(sp);
                buf_free(&sd);
                bool has_leader = has_state && st.leader >= 0;
                bool leader_live = false;
                for (size_t b = 0; has_leader && b < live.n; b++)
                    leader_live |= live.ids[b] == st.leader;
                bool is_under = !has_state || st.isr.n < pa->replicas.n;
                bool is_unavail = !has_leader || !leader_live;
                if (describe_configs || (under && is_under) || (unavail && is_unavail)) {
                    char *reps = ktool_ilist_str(&pa->replicas);
                    char *isr = has_state ? ktool_ilist_str(&st.isr) : xstrdup("");
                    char leader[32];
                    if (has_state)
                        snprintf(leader, sizeof leader, "%d", st.leader);
                    else
                        snprintf(leader, sizeof leader, "none");
                    printf("\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s%s\n", topic,
                           pa->partition, leader, reps, isr, marked ? "\tMarkedForDeletion: true" : "");
                    free(reps);
                    free(isr);
                }
                zkpaths_pstate_free(&st);
            }
        }
        zkpaths_topic_free(&t);
    }
    ktool_brokers_free(&live);
    ktool_strv_free(topics, n);
    return rc;
}

static int zk_delete(ktool_zk_t *z, const ktool_opts_t *o)
{
    char **topics;
    size_t n;
    int rc = zk_topics(z, o, &topics, &n);
    if (rc)
        return rc;
    if ((rc = ensure_exists(o, n))) {
        ktool_strv_free(topics, n);
        return rc;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        if (ktool_topic_internal(topics[i])) {
            rc = ktool_topic_fail("Topic %s is a kafka internal topic and is not allowed to be marked for deletion.", topics[i]);
            break;
        }
        char *dp = zkpaths_delete_topic(topics[i]);
        int e = ktool_zk_create(z, dp, NULL, -1, ZK_PERSISTENT, NULL);
        free(dp);
        if (e == ZOK) {
            printf("Topic %s is marked for deletion.\n", topics[i]);
            printf("Note: This will have no impact if delete.topic.enable is not set to true.\n");
        } else if (e == ZNODEEXISTS) {
            printf("Topic %s is already marked for deletion.\n", topics[i]);
        } else {
            rc = ktool_topic_fail("Error while deleting topic %s (KeeperErrorCode = %s)", topics[i], ktool_zk_errname(e));
        }
    }
    ktool_strv_free(topics, n);
    return rc;
}

static int zk_add_partitions(ktool_zk_t *z, const ktool_opts_t *o, const char *topic)
{
    if (ktool_topic_internal(topic))
        return ktool_topic_fail("The number of partitions for the internal topics__consumer_offsets,__transaction_state "
                    "cannot be changed.");
    printf("WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering "
           "of the messages will be affected\n");
    int32_t np = 1;
    if (ktool_has(o, "partitions") && ktool_int_arg(o, "partitions", &np) < 0)
        return 1;
    char *tpath = zkpaths_topic(topic);
    buf_t data = BUF_INIT;
    int e = ktool_zk_get(z, tpath, &data, NULL);
    free(tpath);
    zkpaths_topic_t t;
    memset(&t, 0, sizeof t);
    if (e != ZOK || zkpaths_topic_decode(data.data, data.len, &t) < 0 || t.n_parts == 0) {
        buf_free(&data);
        zkpaths_topic_free(&t);
        if (e == ZOK)
            return ktool_topic_fail("/brokers/topics/%s does not hold a Kafka partition assignment "
                                    "({\"version\":1|2,\"partitions\":{\"0\":[broker ids],...}}); fix or delete it",
                                    topic);
        return ktool_topic_fail("The topic %s does not exist", topic);
    }
    buf_free(&data);
    int rc = 0;
    const zkpaths_passign_t *p0 = zkpaths_topic_part(&t, 0);
    zkpaths_ilist_t *given = NULL, *all = NULL;
    size_t ngiven = 0, nall = 0;
    ktool_brokers_t br;
    memset(&br, 0, sizeof br);
    if (!p0) {
        rc = ktool_topic_fail("Unexpected existing replica assignment for topic '%s', partition id 0 is missing.", topic);
        goto out;
    }
    if ((int64_t)np - (int64_t)t.n_parts <= 0) {
        rc = ktool_topic_fail("The number of partitions for a topic can only be increased. Topic %s currently has %zu "
                  "partitions, %d would not be an increase.", topic, t.n_parts, np);
        goto out;
    }
    size_t nadd = (size_t)np - t.n_parts;
    if ((e = ktool_zk_brokers(z, &br)) != ZOK) {
        rc = zk_fail(e, ZKPATHS_BROKER_IDS);
        goto out;
    }
    nall = (size_t)np;
    all = xcalloc(nall, sizeof *all);
    for (size_t i = 0; i < t.n_parts; i++) {
        const zkpaths_passign_t *pa = zkpaths_topic_part(&t, (int32_t)i);
        if (!pa) {
            rc = ktool_topic_fail("Unexpected existing replica assignment for topic '%s', partition id %zu is missing.",
                      topic, i);
            goto out;
        }
        all[i].n = pa->replicas.n;
        all[i].v = xmalloc((pa->replicas.n ? pa->replicas.n : 1) * sizeof(int32_t));
        memcpy(all[i].v, pa->replicas.v, pa->replicas.n * sizeof(int32_t));
    }
    if (ktool_has(o, "replica-assignment")) {
        if ((rc = ktool_parse_replica_assignment(ktool_val(o, "replica-assignment"), &given, &ngiven)))
            goto out;
        if (ngiven < (size_t)np) {
            rc = ktool_topic_fail("Increasing the number of partitions by %zu but %zu assignments provided.", nadd,
                      ngiven > t.n_parts ? ngiven - t.n_parts : 0);
            goto out;
        }
        for (size_t i = t.n_parts; i < (size_t)np; i++) {
            if (given[i].n != p0->replicas.n) {
                rc = ktool_topic_fail("Inconsistent replication factor between partitions, partition 0 has %zu while "
                          "partitions [%zu] have replication factors [%zu], respectively.",
                          p0->replicas.n, i, given[i].n);
                goto out;
            }
            for (size_t r = 0; r < given[i].n; r++) {
                bool known = false;
                for (size_t b = 0; b < br.n; b++)
                    known |= br.ids[b] == given[i].v[r];
                if (!known) {
                    rc = ktool_topic_fail("Unknown broker(s) in replica assignment: %d.", given[i].v[r]);
                    goto out;
                }
            }
            all[i] = given[i];
            given[i].v = NULL;
            given[i].n = 0;
        }
    } else {
        ctrl_assign_broker_t *cb = xcalloc(br.n ? br.n : 1, sizeof *cb);
        for (size_t i = 0; i < br.n; i++) {
            cb[i].id = br.ids[i];
            cb[i].rack = br.racks[i];
        }
        ctrl_assign_opts_t ao = {.fixed_start_index = ctrl_assign_added_start_index(cb, br.n, p0->replicas.v[0]),
                                 .start_partition_id = (int32_t)t.n_parts};
        const char *msg = NULL;
        e = ctrl_assign_replicas(cb, br.n, (int32_t)nadd, (int32_t)p0->replicas.n, &ao,
                                 !ktool_has(o, "disable-rack-aware"), all + t.n_parts, &msg);
        free(cb);
        if (e != CTRL_ASSIGN_OK) {
            if (e == CTRL_ASSIGN_BAD_RF)
                rc = ktool_topic_fail("Replication factor: %zu larger than available brokers: %zu.", p0->replicas.n, br.n);
            else
                rc = ktool_topic_fail("%s", msg ? msg : "cannot assign the new partitions");
            goto out;
        }
    }
    e = write_assignment(z, topic, all, nall, true);
    if (e != ZOK) {
        rc = zk_fail(e, topic);
        goto out;
    }
    printf("Adding partitions succeeded!\n");
out:
    ktool_ilists_free(given, ngiven);
    ktool_ilists_free(all, nall);
    ktool_brokers_free(&br);
    zkpaths_topic_free(&t);
    return rc;
}

static int zk_alter(ktool_zk_t *z, const ktool_opts_t *o)
{
    char **topics;
    size_t n;
    int rc = zk_topics(z, o, &topics, &n);
    if (rc)
        return rc;
    if ((rc = ensure_exists(o, n))) {
        ktool_strv_free(topics, n);
        return rc;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const char *topic = topics[i];
        if (ktool_has(o, "config") || ktool_has(o, "delete-config")) {
            printf("WARNING: Altering topic configuration from this script has been deprecated and may be "
                   "removed in future releases.\n"
                   "         Going forward, please use kafka-configs.sh for this functionality\n");
            zkpaths_config_t add, cur;
            if ((rc = ktool_topic_parse_configs(o, &add)))
                break;
            int e = ktool_zk_entity_config(z, "topics", topic, &cur);
            if (e != ZOK) {
                zkpaths_config_free(&add);
                rc = zk_fail(e, topic);
                break;
            }
            for (size_t k = 0; k < add.n; k++)
                zkpaths_config_set(&cur, add.v[k].key, add.v[k].value);
            size_t nd;
            char **dels = ktool_vals(o, "delete-config", &nd);
            for (size_t k = 0; k < nd; k++) {
                char *d = xstrdup(dels[k]);
                for (char *s = NULL, *tk = strtok_r(d, ",", &s); tk; tk = strtok_r(NULL, ",", &s)) {
                    while (*tk == ' ')
                        tk++;
                    zkpaths_config_del(&cur, tk);
                }
                free(d);
            }
            e = ktool_zk_change_config(z, "topics", topic, &cur);
            zkpaths_config_free(&add);
            zkpaths_config_free(&cur);
            if (e != ZOK) {
                rc = zk_fail(e, topic);
                break;
            }
            printf("Updated config for topic %s.\n", topic);
        }
        if (ktool_has(o, "partitions") || ktool_has(o, "replica-assignment"))
            rc = zk_add_partitions(z, o, topic);
    }
    ktool_strv_free(topics, n);
    return rc;
}

int ktool_topics_main(int argc, char **argv)
{
    ktool_opts_t o;
    if (ktool_opts_parse(&o, topic_opts, sizeof topic_opts / sizeof topic_opts[0], TOPIC_HEADER, argc, argv) < 0) {
        ktool_opts_free(&o);
        return 1;
    }
    int rc;
    if (ktool_has(&o, "help")) {
        ktool_print_help(&o, stdout);
        rc = 0;
        goto out;
    }
    if (ktool_has(&o, "version")) {
        printf("2.4.1 (Gregor)\n");
        rc = 0;
        goto out;
    }
    if ((rc = check_args(&o, argc)))
        goto out;
    if (ktool_has(&o, "bootstrap-server")) {
        rc = ktool_topics_admin(&o);
        goto out;
    }
    ktool_zk_t z;
    if (ktool_zk_open(&z, ktool_val(&o, "zookeeper"), 30000) < 0) {
        rc = 1;
        goto out;
    }
    if (ktool_has(&o, "create"))
        rc = zk_create(&z, &o);
    else if (ktool_has(&o, "list"))
        rc = zk_list(&z, &o);
    else if (ktool_has(&o, "describe"))
        rc = zk_describe(&z, &o);
    else if (ktool_has(&o, "delete"))
        rc = zk_delete(&z, &o);
    else
        rc = zk_alter(&z, &o);
    ktool_zk_close(&z);
out:
    fflush(stdout);
    ktool_opts_free(&o);
    return rc;
}
