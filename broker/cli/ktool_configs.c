/* ktool_configs.c — `gregor configs` = kafka-configs.sh (Kafka 2.4's ConfigCommand) for topic
 * configs: --zookeeper mode writes /config/topics/T and the version-2 change notification
 * (AdminZkClient.changeConfigs); --bootstrap-server mode uses DescribeConfigs/AlterConfigs. */
#include <stdlib.h>
#include <string.h>

#include "broker/cli/ktool.h"
#include "broker/cli/ktool_rk.h"
#include "common/alloc.h"
#include "coord/zkc.h"

static const ktool_optdef_t cfg_opts[] = {
    {"add-config", 1, "String", "Key Value pairs of configs to add. Square brackets can be used to group values "
                                "which contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'. Topic configs: see "
                                "kafka-topics.sh --help."},
    {"all", 0, NULL, "List all configs for the given topic or broker, including static configuration and "
                     "defaults (with --describe and --bootstrap-server)."},
    {"alter", 0, NULL, "Alter the configuration for the entity."},
    {"bootstrap-server", 1, "String: server to connect to", "The Kafka server to connect to."},
    {"command-config", 1, "String: command config property file", "Property file containing configs to be "
                                                                   "passed to Admin Client."},
    {"delete-config", 1, "String", "config keys to remove 'k1,k2'"},
    {"describe", 0, NULL, "List configs for the given entity."},
    {"entity-default", 0, NULL, "Default entity name for clients/users/brokers (applies to corresponding entity "
                                "type in command line)"},
    {"entity-name", 1, "String", "Name of entity (topic name/client id/user principal name/broker id)"},
    {"entity-type", 1, "String", "Type of entity (topics/clients/users/brokers/broker-loggers)"},
    {"force", 0, NULL, "Suppress console prompts"},
    {"help", 0, NULL, "Print usage information."},
    {"topic", 1, "String", "The topic's name (same as --entity-type topics --entity-name)."},
    {"zookeeper", 1, "String: urls", "REQUIRED: The connection string for the zookeeper connection in the form "
                                     "host:port. Multiple URLS can be given to allow fail-over."},
};

#define CFG_HEADER "This tool helps to manipulate and describe entity config for a topic, client, user or broker"

/* Splits "k1=v1,k2=[a,b],k3=v3" on commas outside brackets (brackets dropped). Returns 0 with
 * pairs appended to c, or -1 on a pair without exactly one '='. */
static int parse_add(const char *s, zkpaths_config_t *c)
{
    buf_t cur = BUF_INIT;
    int depth = 0, rc = 0;
    for (const char *p = s;; p++) {
        if (*p == 0 || (*p == ',' && depth == 0)) {
            buf_puts(&cur, "");
            char *pair = buf_cstr(&cur);
            char *k, *v;
            if (ktool_split_kv(pair, &k, &v) < 0) {
                rc = -1;
                break;
            }
            if (!*k) {
                free(k);
                free(v);
                rc = -1;
                break;
            }
            zkpaths_config_set(c, k, v);
            free(k);
            free(v);
            buf_reset(&cur);
            if (*p == 0)
                break;
            continue;
        }
        if (*p == '[')
            depth++;
        else if (*p == ']' && depth > 0)
            depth--;
        else
            buf_put_u8(&cur, (uint8_t)*p);
    }
    buf_free(&cur);
    return rc;
}

static void parse_del(const ktool_opts_t *o, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t nv;
    char **vals = ktool_vals(o, "delete-config", &nv);
    for (size_t i = 0; i < nv; i++) {
        char *d = xstrdup(vals[i]), *save = NULL;
        for (char *t = strtok_r(d, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            size_t l = strlen(t);
            while (l && t[l - 1] == ' ')
                t[--l] = 0;
            if (!*t)
                continue;
            *out = xrealloc(*out, (*n + 1) * sizeof(char *));
            (*out)[(*n)++] = xstrdup(t);
        }
        free(d);
    }
}

static int err_args(int argc, char **argv, const char *msg)
{
    fprintf(stderr, "Error while executing config command with args '");
    for (int i = 1; i < argc; i++)
        fprintf(stderr, "%s%s", i > 1 ? " " : "", argv[i]);
    fprintf(stderr, "'\n%s\n", msg);
    return 1;
}

static int zk_describe(ktool_zk_t *z, const char *name)
{
    char **names = NULL;
    size_t n = 0;
    if (name) {
        names = xcalloc(1, sizeof *names);
        names[0] = xstrdup(name);
        n = 1;
    } else {
        int rc = ktool_zk_children(z, ZKPATHS_CONFIG_TOPICS, &names, &n);
        if (rc != ZOK && rc != ZNONODE) {
            fprintf(stderr, "KeeperErrorCode = %s for %s\n", ktool_zk_errname(rc), ZKPATHS_CONFIG_TOPICS);
            return 1;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        zkpaths_config_t c;
        int e = ktool_zk_entity_config(z, "topics", names[i], &c);
        if (e != ZOK) {
            fprintf(stderr, "KeeperErrorCode = %s for /config/topics/%s\n", ktool_zk_errname(e), names[i]);
            rc = 1;
            continue;
        }
        char *s = ktool_config_join(&c, ",");
        printf("Configs for topic '%s' are %s\n", names[i], s);
        free(s);
        zkpaths_config_free(&c);
    }
    ktool_strv_free(names, n);
    return rc;
}

static int zk_alter(ktool_zk_t *z, const char *name, const zkpaths_config_t *add, char **dels, size_t ndel,
                    int argc, char **argv)
{
    for (size_t i = 0; i < add->n; i++) {
        char why[512];
        if (ktool_topic_config_validate(add->v[i].key, add->v[i].value, why, sizeof why) < 0) {
            fprintf(stderr, "%s\n", why);
            return 1;
        }
    }
    char *tp = zkpaths_topic(name);
    int ex = ktool_zk_exists(z, tp);
    free(tp);
    if (ex == 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "kafka.admin.AdminOperationException: Topic \"%s\" does not exist.", name);
        return err_args(argc, argv, msg);
    }
    zkpaths_config_t cur;
    int e = ktool_zk_entity_config(z, "topics", name, &cur);
    if (e != ZOK) {
        fprintf(stderr, "KeeperErrorCode = %s for /config/topics/%s\n", ktool_zk_errname(e), name);
        return 1;
    }
    buf_t bad = BUF_INIT;
    for (size_t i = 0; i < ndel; i++)
        if (!zkpaths_config_get(&cur, dels[i]))
            buf_printf(&bad, "%s%s", bad.len ? "," : "", dels[i]);
    if (bad.len) {
        fprintf(stderr, "Invalid config(s): %s\n", buf_cstr(&bad));
        buf_free(&bad);
        zkpaths_config_free(&cur);
        return 1;
    }
    for (size_t i = 0; i < add->n; i++)
        zkpaths_config_set(&cur, add->v[i].key, add->v[i].value);
    for (size_t i = 0; i < ndel; i++)
        zkpaths_config_del(&cur, dels[i]);
    e = ktool_zk_change_config(z, "topics", name, &cur);
    zkpaths_config_free(&cur);
    if (e != ZOK) {
        fprintf(stderr, "KeeperErrorCode = %s for /config/topics/%s\n", ktool_zk_errname(e), name);
        return 1;
    }
    printf("Completed Updating config for entity: topic '%s'.\n", name);
    return 0;
}

/* ---- --bootstrap-server ---- */

static const char *source_name(rd_kafka_ConfigSource_t s)
{
    switch (s) {
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG: return "DYNAMIC_TOPIC_CONFIG";
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG: return "DYNAMIC_BROKER_CONFIG";
    case RD_KAFKA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG: return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case RD_KAFKA_CONFIG_SOURCE_STATIC_BROKER_CONFIG: return "STATIC_BROKER_CONFIG";
    case RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG: return "DEFAULT_CONFIG";
    default: return "UNKNOWN";
    }
}

/* The entity a --bootstrap-server run works on: a topic, a broker, or the cluster-wide
 * broker default (empty name). */
typedef struct rk_entity_s {
    rd_kafka_ResourceType_t type;
    const char *name;
    rd_kafka_ConfigSource_t dynamic;   /* the source of the entity's own overrides */
} rk_entity_t;

static void entity_header(const rk_entity_t *e, bool all)
{
    if (e->type == RD_KAFKA_RESOURCE_TOPIC)
        printf("%s configs for topic %s are:\n", all ? "All" : "Dynamic", e->name);
    else if (!*e->name)
        printf("Default configs for brokers in the cluster are:\n");
    else
        printf("%s configs for broker %s are:\n", all ? "All" : "Dynamic", e->name);
}

static void entity_done(const rk_entity_t *e)
{
    if (e->type == RD_KAFKA_RESOURCE_TOPIC)
        printf("Completed updating config for topic %s.\n", e->name);
    else if (!*e->name)
        printf("Completed updating default config for brokers in the cluster.\n");
    else
        printf("Completed updating config for broker %s.\n", e->name);
}

/* DescribeConfigs of one entity; returns the result event (caller destroys) or NULL after
 * printing the error. *res gets the resource. */
static rd_kafka_event_t *rk_describe(rd_kafka_t *rk, const rk_entity_t *ent, const rd_kafka_ConfigResource_t **res)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(ent->type, ent->name);
    if (!cr) {
        rd_kafka_queue_destroy(q);
        fprintf(stderr, "invalid entity name '%s'\n", ent->name);
        return NULL;
    }
    rd_kafka_AdminOptions_t *ao = ktool_rk_admin_opts(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(rk, &cr, 1, ao, q);
    rd_kafka_event_t *ev = ktool_rk_wait(q, KTOOL_RK_TIMEOUT_MS);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_ConfigResource_destroy(cr);
    rd_kafka_queue_destroy(q);
    if (!ev) {
        fprintf(stderr, "org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node "
                        "assignment. (is the broker at --bootstrap-server running?)\n");
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "%s: %s\n", ktool_rk_exception(rd_kafka_event_error(ev)), rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    size_t n;
    const rd_kafka_ConfigResource_t **rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    if (n < 1 || rd_kafka_ConfigResource_error(rs[0])) {
        rd_kafka_resp_err_t e = n ? rd_kafka_ConfigResource_error(rs[0]) : RD_KAFKA_RESP_ERR_UNKNOWN;
        fprintf(stderr, "%s: %s\n", ktool_rk_exception(e),
                n && rd_kafka_ConfigResource_error_string(rs[0]) ? rd_kafka_ConfigResource_error_string(rs[0])
                                                                 : rd_kafka_err2str(e));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    *res = rs[0];
    return ev;
}

static int rk_run(const ktool_opts_t *o, const rk_entity_t *ent, const zkpaths_config_t *add, char **dels,
                  size_t ndel)
{
    bool all = ktool_has(o, "all");
    rd_kafka_t *rk = ktool_rk_admin(ktool_val(o, "bootstrap-server"), ktool_val(o, "command-config"));
    if (!rk)
        return 1;
    int rc = 0;
    const rd_kafka_ConfigResource_t *res = NULL;
    rd_kafka_event_t *ev = rk_describe(rk, ent, &res);
    if (!ev) {
        ktool_rk_destroy(rk);
        return 1;
    }
    size_t n;
    const rd_kafka_ConfigEntry_t **ents = rd_kafka_ConfigResource_configs(res, &n);
    if (ktool_has(o, "describe")) {
        entity_header(ent, all);
        for (size_t i = 0; i < n; i++) {
            if (!all && rd_kafka_ConfigEntry_source(ents[i]) != ent->dynamic)
                continue;
            const char *v = rd_kafka_ConfigEntry_value(ents[i]);
            bool sens = rd_kafka_ConfigEntry_is_sensitive(ents[i]);
            printf("  %s=%s sensitive=%s synonyms={", rd_kafka_ConfigEntry_name(ents[i]),
                   sens ? "null" : (v ? v : "null"), sens ? "true" : "false");
            size_t ns;
            const rd_kafka_ConfigEntry_t **syn = rd_kafka_ConfigEntry_synonyms(ents[i], &ns);
            if (ns == 0)
                printf("%s:%s=%s", source_name(rd_kafka_ConfigEntry_source(ents[i])),
                       rd_kafka_ConfigEntry_name(ents[i]), v ? v : "null");
            for (size_t s = 0; s < ns; s++) {
                const char *sv = rd_kafka_ConfigEntry_value(syn[s]);
                printf("%s%s:%s=%s", s ? ", " : "", source_name(rd_kafka_ConfigEntry_source(syn[s])),
                       rd_kafka_ConfigEntry_name(syn[s]), sv ? sv : "null");
            }
            printf("}\n");
        }
        rd_kafka_event_destroy(ev);
        ktool_rk_destroy(rk);
        return 0;
    }
    /* alter: current dynamic configs + adds - deletes, sent as a full AlterConfigs */
    zkpaths_config_t cur;
    memset(&cur, 0, sizeof cur);
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_ConfigEntry_source(ents[i]) == ent->dynamic &&
            rd_kafka_ConfigEntry_value(ents[i]))
            zkpaths_config_set(&cur, rd_kafka_ConfigEntry_name(ents[i]), rd_kafka_ConfigEntry_value(ents[i]));
    }
    rd_kafka_event_destroy(ev);
    buf_t bad = BUF_INIT;
    for (size_t i = 0; i < ndel; i++)
        if (!zkpaths_config_get(&cur, dels[i]))
            buf_printf(&bad, "%s%s", bad.len ? "," : "", dels[i]);
    if (bad.len) {
        fprintf(stderr, "Invalid config(s): %s\n", buf_cstr(&bad));
        buf_free(&bad);
        zkpaths_config_free(&cur);
        ktool_rk_destroy(rk);
        return 1;
    }
    for (size_t i = 0; i < add->n; i++)
        zkpaths_config_set(&cur, add->v[i].key, add->v[i].value);
    for (size_t i = 0; i < ndel; i++)
        zkpaths_config_del(&cur, dels[i]);
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(ent->type, ent->name);   /* valid: described */
    for (size_t i = 0; i < cur.n; i++)
        rd_kafka_ConfigResource_set_config(cr, cur.v[i].key, cur.v[i].value);
    zkpaths_config_free(&cur);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = ktool_rk_admin_opts(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
    rd_kafka_AlterConfigs(rk, &cr, 1, ao, q);
    ev = ktool_rk_wait(q, KTOOL_RK_TIMEOUT_MS);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_ConfigResource_destroy(cr);
    rd_kafka_queue_destroy(q);
    if (!ev) {
        fprintf(stderr, "org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node assignment.\n");
        rc = 1;
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "%s: %s\n", ktool_rk_exception(rd_kafka_event_error(ev)), rd_kafka_event_error_string(ev));
        rc = 1;
    } else {
        size_t nr;
        const rd_kafka_ConfigResource_t **rs =
            rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &nr);
        if (nr && rd_kafka_ConfigResource_error(rs[0])) {
            rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(rs[0]);
            const char *es = rd_kafka_ConfigResource_error_string(rs[0]);
            fprintf(stderr, "%s: %s\n", ktool_rk_exception(e), es ? es : rd_kafka_err2str(e));
            rc = 1;
        } else {
            entity_done(ent);
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    ktool_rk_destroy(rk);
    return rc;
}

int ktool_configs_main(int argc, char **argv)
{
    ktool_opts_t o;
    if (ktool_opts_parse(&o, cfg_opts, sizeof cfg_opts / sizeof cfg_opts[0], CFG_HEADER, argc, argv) < 0) {
        ktool_opts_free(&o);
        return 1;
    }
    int rc = 0;
    zkpaths_config_t add;
    memset(&add, 0, sizeof add);
    char **dels = NULL;
    size_t ndel = 0;
    if (ktool_has(&o, "help")) {
        ktool_print_help(&o, stdout);
        goto out;
    }
    if (argc <= 1) {
        rc = ktool_usage_die(&o, "Add/Remove entity config for a topic, client, user or broker");
        goto out;
    }
    if (ktool_has(&o, "describe") + ktool_has(&o, "alter") != 1) {
        rc = ktool_usage_die(&o, "Command must include exactly one action: --describe, --alter");
        goto out;
    }
    if (ktool_has(&o, "zookeeper") == ktool_has(&o, "bootstrap-server")) {
        rc = ktool_usage_die(&o, "Only one of --bootstrap-server or --zookeeper must be specified");
        goto out;
    }
    const char *type = ktool_val(&o, "entity-type");
    const char *name = ktool_val(&o, "entity-name");
    if (ktool_has(&o, "topic")) {
        type = "topics";
        name = ktool_val(&o, "topic");
    }
    if (!type) {
        rc = ktool_usage_die(&o, "Missing required argument \"[entity-type]\"");
        goto out;
    }
    bool brokers = !strcmp(type, "brokers") || !strcmp(type, "broker");
    if (strcmp(type, "topics") && strcmp(type, "topic") && !brokers) {
        rc = ktool_usage_die(&o, "gregor configs handles --entity-type topics and brokers (got '%s'); client, "
                                 "user and broker-logger configs are not supported yet", type);
        goto out;
    }
    if (brokers && ktool_has(&o, "zookeeper")) {
        rc = ktool_usage_die(&o, "gregor configs changes broker configs with --bootstrap-server only (the brokers "
                                 "validate and apply them)");
        goto out;
    }
    if (brokers && !name) {
        rc = ktool_usage_die(&o, "--entity-name <broker id> must be given with --entity-type brokers (the "
                                 "cluster-wide default, --entity-default, is not supported by gregor configs yet)");
        goto out;
    }
    if (brokers && name) {
        int64_t id;
        if (ktool_long_arg(name, &id) < 0 || id < 0 || id > INT32_MAX) {
            rc = ktool_usage_die(&o, "The entity name for brokers must be a valid integer broker id, found: %s",
                                 name);
            goto out;
        }
    }
    if (ktool_has(&o, "alter")) {
        if (!name && !brokers) {
            rc = ktool_usage_die(&o, "--entity-name must be specified with --alter of [topics]");
            goto out;
        }
        if (!ktool_has(&o, "add-config") && !ktool_has(&o, "delete-config")) {
            rc = ktool_usage_die(&o, "At least one of --add-config or --delete-config must be specified with --alter");
            goto out;
        }
        size_t na;
        char **adds = ktool_vals(&o, "add-config", &na);
        for (size_t i = 0; i < na; i++) {
            if (parse_add(adds[i], &add) < 0) {
                fprintf(stderr, "requirement failed: Invalid entity config: all configs to be added must be in "
                                "the format \"key=val\".\n");
                rc = 1;
                goto out;
            }
        }
        parse_del(&o, &dels, &ndel);
    } else if (!name && !brokers && ktool_has(&o, "bootstrap-server")) {
        rc = ktool_usage_die(&o, "an entity name must be specified with --describe of topics when using "
                                 "--bootstrap-server");
        goto out;
    }
    if (ktool_has(&o, "bootstrap-server")) {
        rk_entity_t ent = {RD_KAFKA_RESOURCE_TOPIC, name, RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG};
        if (brokers) {
            ent.type = RD_KAFKA_RESOURCE_BROKER;
            ent.name = name ? name : "";
            ent.dynamic = name ? RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG
                               : RD_KAFKA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG;
        }
        rc = rk_run(&o, &ent, &add, dels, ndel);
        goto out;
    }
    ktool_zk_t z;
    if (ktool_zk_open(&z, ktool_val(&o, "zookeeper"), 30000) < 0) {
        rc = 1;
        goto out;
    }
    if (ktool_has(&o, "describe"))
        rc = zk_describe(&z, name);
    else
        rc = zk_alter(&z, name, &add, dels, ndel, argc, argv);
    ktool_zk_close(&z);
out:
    fflush(stdout);
    ktool_strv_free(dels, ndel);
    zkpaths_config_free(&add);
    ktool_opts_free(&o);
    return rc;
}
