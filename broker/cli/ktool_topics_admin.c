/* ktool_topics_admin.c — `gregor topics --bootstrap-server`: Kafka 2.4's
 * TopicCommand.AdminClientTopicService on librdkafka (Metadata, CreateTopics, DeleteTopics,
 * CreatePartitions, DescribeConfigs). As in Kafka 2.4, --delete and --alter print nothing on
 * success; errors are "Error while executing topic command : <exception>: <message>". */
#include <stdlib.h>
#include <string.h>

#include "broker/cli/ktool.h"
#include "broker/cli/ktool_rk.h"
#include "common/alloc.h"

typedef struct tadm_s {
    rd_kafka_t *rk;
    const ktool_opts_t *o;
} tadm_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Metadata for all topics (caller rd_kafka_metadata_destroy), or NULL after printing. */
static const struct rd_kafka_metadata *all_metadata(tadm_t *t)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = ktool_rk_metadata(t->rk, 1, NULL, &md, KTOOL_RK_TIMEOUT_MS);
    if (e) {
        if (e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT)
            ktool_topic_fail("org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node "
                             "assignment. (no broker answered at %s: is it running, and is --bootstrap-server "
                             "right?)", ktool_val(t->o, "bootstrap-server"));
        else
            ktool_topic_fail("%s: %s", ktool_rk_exception(e), rd_kafka_err2str(e));
        return NULL;
    }
    return md;
}

/* Sorted names of the topics --topic selects (heap array of borrowed metadata names). */
static int select_topics(tadm_t *t, const struct rd_kafka_metadata *md, const char ***out, size_t *n)
{
    ktool_tfilter_t f;
    *out = NULL;
    *n = 0;
    if (ktool_tfilter_init(&f, ktool_val(t->o, "topic")) < 0)
        return 1;
    const char **v = xcalloc((size_t)md->topic_cnt + 1, sizeof *v);
    size_t k = 0;
    bool excl = ktool_has(t->o, "exclude-internal");
    for (int i = 0; i < md->topic_cnt; i++) {
        if (md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            continue;
        if (ktool_tfilter_match(&f, md->topics[i].topic, excl))
            v[k++] = md->topics[i].topic;
    }
    ktool_tfilter_free(&f);
    qsort(v, k, sizeof *v, cmp_str);
    *out = v;
    *n = k;
    return 0;
}

static const rd_kafka_metadata_topic_t *md_topic(const struct rd_kafka_metadata *md, const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, name))
            return &md->topics[i];
    return NULL;
}

static int ensure_exists(const ktool_opts_t *o, size_t found)
{
    if (ktool_val(o, "topic") && !ktool_has(o, "if-exists") && found == 0)
        return ktool_topic_fail("Topic '%s' does not exist as expected", ktool_val(o, "topic"));
    return 0;
}

/* Waits for an admin result; NULL after printing. */
static rd_kafka_event_t *wait_result(rd_kafka_queue_t *q)
{
    rd_kafka_event_t *ev = ktool_rk_wait(q, KTOOL_RK_TIMEOUT_MS);
    if (!ev) {
        ktool_topic_fail("org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node assignment.");
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        ktool_topic_fail("%s: %s", ktool_rk_exception(rd_kafka_event_error(ev)), rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* Per-topic results: prints the first error; returns 0 or 1. ok_exists: TOPIC_ALREADY_EXISTS
 * is not an error (--if-not-exists). */
static int check_topic_results(const rd_kafka_topic_result_t **r, size_t n, bool ok_exists, bool created)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(r[i]);
        const char *name = rd_kafka_topic_result_name(r[i]);
        if (!e) {
            if (created)
                printf("Created topic %s.\n", name);
            continue;
        }
        if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && ok_exists)
            continue;
        const char *es = rd_kafka_topic_result_error_string(r[i]);
        char def[300];
        if (!es || !*es) {
            if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                snprintf(def, sizeof def, "Topic '%s' already exists.", name);
            else
                snprintf(def, sizeof def, "%s", rd_kafka_err2str(e));
            es = def;
        }
        rc = ktool_topic_fail("%s: %s", ktool_rk_exception(e), es);
    }
    return rc;
}

static int do_create(tadm_t *t)
{
    const ktool_opts_t *o = t->o;
    const char *topic = ktool_val(o, "topic");
    if (ktool_topic_has_collision_chars(topic))
        printf("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') "
               "could collide. To avoid issues it is best to use either, but not both.\n");
    int32_t np = -1, rf = -1;
    if ((ktool_has(o, "partitions") && ktool_int_arg(o, "partitions", &np) < 0) ||
        (ktool_has(o, "replication-factor") && ktool_int_arg(o, "replication-factor", &rf) < 0))
        return 1;
    if (ktool_has(o, "replication-factor") && (rf < 1 || rf > 32767))
        return ktool_topic_fail("The replication factor must be between 1 and 32767 inclusive");
    if (ktool_has(o, "partitions") && np < 1)
        return ktool_topic_fail("The partitions must be greater than 0");
    char why[512];
    if (ktool_topic_name_check(topic, why, sizeof why) < 0)
        return ktool_topic_fail("%s", why);
    zkpaths_config_t cfg;
    int rc = ktool_topic_parse_configs(o, &cfg);
    if (rc)
        return rc;
    zkpaths_ilist_t *assign = NULL;
    size_t nassign = 0;
    if (ktool_has(o, "replica-assignment") &&
        (rc = ktool_parse_replica_assignment(ktool_val(o, "replica-assignment"), &assign, &nassign))) {
        zkpaths_config_free(&cfg);
        return rc;
    }
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, assign ? (int)nassign : np, assign ? -1 : rf, err,
                                                    sizeof err);
    if (!nt) {
        rc = ktool_topic_fail("%s", err);
        goto out;
    }
    for (size_t i = 0; i < nassign; i++) {
        if (rd_kafka_NewTopic_set_replica_assignment(nt, (int32_t)i, assign[i].v, assign[i].n, err, sizeof err)) {
            rc = ktool_topic_fail("%s", err);
            goto out;
        }
    }
    for (size_t i = 0; i < cfg.n; i++)
        rd_kafka_NewTopic_set_config(nt, cfg.v[i].key, cfg.v[i].value);
    rd_kafka_queue_t *q = rd_kafka_queue_new(t->rk);
    rd_kafka_AdminOptions_t *ao = ktool_rk_admin_opts(t->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(t->rk, &nt, 1, ao, q);
    rd_kafka_event_t *ev = wait_result(q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    if (!ev) {
        rc = 1;
        goto out;
    }
    size_t n;
    const rd_kafka_topic_result_t **r = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rc = check_topic_results(r, n, ktool_has(o, "if-not-exists"), true);
    rd_kafka_event_destroy(ev);
out:
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
    ktool_ilists_free(assign, nassign);
    zkpaths_config_free(&cfg);
    return rc;
}

static int do_list(tadm_t *t)
{
    const struct rd_kafka_metadata *md = all_metadata(t);
    if (!md)
        return 1;
    const char **v;
    size_t n;
    int rc = select_topics(t, md, &v, &n);
    for (size_t i = 0; !rc && i < n; i++)
        printf("%s\n", v[i]);
    free(v);
    rd_kafka_metadata_destroy(md);
    return rc;
}

/* Non-default configs of topic as "k=v,..." (heap), or NULL on error (printed). */
static char *topic_configs(tadm_t *t, const char *topic, size_t *count)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(t->rk);
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t *ao = ktool_rk_admin_opts(t->rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(t->rk, &cr, 1, ao, q);
    rd_kafka_event_t *ev = wait_result(q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_ConfigResource_destroy(cr);
    rd_kafka_queue_destroy(q);
    *count = 0;
    if (!ev)
        return NULL;
    size_t n;
    const rd_kafka_ConfigResource_t **rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    buf_t b = BUF_INIT;
    buf_puts(&b, "");
    if (n && rd_kafka_ConfigResource_error(rs[0])) {
        rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(rs[0]);
        ktool_topic_fail("%s: %s", ktool_rk_exception(e), rd_kafka_err2str(e));
        rd_kafka_event_destroy(ev);
        buf_free(&b);
        return NULL;
    }
    if (n) {
        size_t ne;
        const rd_kafka_ConfigEntry_t **ents = rd_kafka_ConfigResource_configs(rs[0], &ne);
        for (size_t i = 0; i < ne; i++) {
            if (rd_kafka_ConfigEntry_is_default(ents[i]) ||
                rd_kafka_ConfigEntry_source(ents[i]) == RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG)
                continue;
            const char *v = rd_kafka_ConfigEntry_value(ents[i]);
            buf_printf(&b, "%s%s=%s", *count ? "," : "", rd_kafka_ConfigEntry_name(ents[i]),
                       rd_kafka_ConfigEntry_is_sensitive(ents[i]) ? "null" : v ? v : "null");
            (*count)++;
        }
    }
    rd_kafka_event_destroy(ev);
    return buf_cstr(&b);
}

static char *ints_str(const int32_t *v, int n)
{
    buf_t b = BUF_INIT;
    buf_puts(&b, "");
    for (int i = 0; i < n; i++)
        buf_printf(&b, "%s%d", i ? "," : "", v[i]);
    return buf_cstr(&b);
}

static int do_describe(tadm_t *t)
{
    const ktool_opts_t *o = t->o;
    const struct rd_kafka_metadata *md = all_metadata(t);
    if (!md)
        return 1;
    const char **v;
    size_t n;
    int rc = select_topics(t, md, &v, &n);
    if (!rc)
        rc = ensure_exists(o, n);
    bool under = ktool_has(o, "under-replicated-partitions");
    bool unavail = ktool_has(o, "unavailable-partitions");
    bool overrides = ktool_has(o, "topics-with-overrides");
    bool describe_configs = !under && !unavail && !ktool_has(o, "under-min-isr-partitions") &&
                            !ktool_has(o, "at-min-isr-partitions");
    bool describe_partitions = !overrides;
    for (size_t i = 0; !rc && i < n; i++) {
        const rd_kafka_metadata_topic_t *mt = md_topic(md, v[i]);
        if (describe_configs) {
            size_t nc;
            char *cs = topic_configs(t, v[i], &nc);
            if (!cs) {
                rc = 1;
                break;
            }
            if (!overrides || nc > 0)
                printf("Topic: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n", v[i],
                       mt->partition_cnt, mt->partition_cnt ? mt->partitions[0].replica_cnt : 0, cs);
            free(cs);
        }
        if (!describe_partitions)
            continue;
        /* partitions sorted by id */
        for (int want = 0, seen = 0; seen < mt->partition_cnt; want++) {
            const rd_kafka_metadata_partition_t *p = NULL;
            for (int k = 0; k < mt->partition_cnt; k++)
                if (mt->partitions[k].id == want)
                    p = &mt->partitions[k];
            if (!p) {
                if (want > 100000)
                    break;
                continue;
            }
            seen++;
            bool has_leader = p->leader >= 0;
            bool leader_live = false;
            for (int b = 0; has_leader && b < md->broker_cnt; b++)
                leader_live |= md->brokers[b].id == p->leader;
            bool is_under = p->isr_cnt < p->replica_cnt;
            bool is_unavail = !has_leader || !leader_live;
            if (!(describe_configs || (under && is_under) || (unavail && is_unavail)))
                continue;
            char *reps = ints_str(p->replicas, p->replica_cnt), *isr = ints_str(p->isrs, p->isr_cnt);
            char leader[32];
            if (has_leader)
                snprintf(leader, sizeof leader, "%d", p->leader);
            else
                snprintf(leader, sizeof leader, "none");
            printf("\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s\n", v[i], p->id, leader, reps, isr);
            free(reps);
            free(isr);
        }
    }
    free(v);
    rd_kafka_metadata_destroy(md);
    return rc;
}

static int do_delete(tadm_t *t)
{
    const struct rd_kafka_metadata *md = all_metadata(t);
    if (!md)
        return 1;
    const char **v;
    size_t n;
    int rc = select_topics(t, md, &v, &n);
    if (!rc)
        rc = ensure_exists(t->o, n);
    for (size_t i = 0; !rc && i < n; i++)
        if (ktool_topic_internal(v[i]))
            rc = ktool_topic_fail("Topic %s is a kafka internal topic and is not allowed to be marked for deletion.",
                                  v[i]);
    if (!rc && n) {
        rd_kafka_DeleteTopic_t **dt = xcalloc(n, sizeof *dt);
        for (size_t i = 0; i < n; i++)
            dt[i] = rd_kafka_DeleteTopic_new(v[i]);
        rd_kafka_queue_t *q = rd_kafka_queue_new(t->rk);
        rd_kafka_AdminOptions_t *ao = ktool_rk_admin_opts(t->rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
        rd_kafka_DeleteTopics(t->rk, dt, n, ao, q);
        rd_kafka_event_t *ev = wait_result(q);
        rd_kafka_AdminOptions_destroy(ao);
        rd_kafka_queue_destroy(q);
        rd_kafka_DeleteTopic_destroy_array(dt, n);
        free(dt);
        if (!ev) {
            rc = 1;
        } else {
            size_t nr;
            const rd_kafka_topic_result_t **r =
                rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &nr);
            rc = check_topic_results(r, nr, false, false);
            rd_kafka_event_destroy(ev);
        }
    }
    free(v);
    rd_kafka_metadata_destroy(md);
    return rc;
}

static int do_alter(tadm_t *t)
{
    const ktool_opts_t *o = t->o;
    int32_t np;
    if (ktool_int_arg(o, "partitions", &np) < 0)
        return 1;
    const struct rd_kafka_metadata *md = all_metadata(t);
    if (!md)
        return 1;
    const char **v;
    size_t n;
    int rc = select_topics(t, md, &v, &n);
    if (!rc)
        rc = ensure_exists(o, n);
    zkpaths_ilist_t *assign = NULL;
    size_t nassign = 0;
    if (!rc && ktool_has(o, "replica-assignment"))
        rc = ktool_parse_replica_assignment(ktool_val(o, "replica-assignment"), &assign, &nassign);
    for (size_t i = 0; !rc && i < n; i++) {
        if (ktool_topic_internal(v[i])) {
            rc = ktool_topic_fail("The number of partitions for the internal topics__consumer_offsets,"
                                  "__transaction_state cannot be changed.");
            break;
        }
    }
    if (!rc && n) {
        printf("WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering "
               "of the messages will be affected\n");
        rd_kafka_NewPartitions_t **npv = xcalloc(n, sizeof *npv);
        char err[512];
        for (size_t i = 0; !rc && i < n; i++) {
            npv[i] = rd_kafka_NewPartitions_new(v[i], (size_t)(np > 0 ? np : 0), err, sizeof err);
            if (!npv[i]) {
                rc = ktool_topic_fail("org.apache.kafka.common.errors.InvalidPartitionsException: %s", err);
                break;
            }
            const rd_kafka_metadata_topic_t *mt = md_topic(md, v[i]);
            for (size_t k = (size_t)mt->partition_cnt; k < nassign; k++) {
                if (rd_kafka_NewPartitions_set_replica_assignment(npv[i], (int32_t)(k - (size_t)mt->partition_cnt),
                                                                  assign[k].v, assign[k].n, err, sizeof err)) {
                    rc = ktool_topic_fail("%s", err);
                    break;
                }
            }
        }
        if (!rc) {
            rd_kafka_queue_t *q = rd_kafka_queue_new(t->rk);
            rd_kafka_AdminOptions_t *ao = ktool_rk_admin_opts(t->rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
            rd_kafka_CreatePartitions(t->rk, npv, n, ao, q);
            rd_kafka_event_t *ev = wait_result(q);
            rd_kafka_AdminOptions_destroy(ao);
            rd_kafka_queue_destroy(q);
            if (!ev) {
                rc = 1;
            } else {
                size_t nr;
                const rd_kafka_topic_result_t **r =
                    rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &nr);
                rc = check_topic_results(r, nr, false, false);
                rd_kafka_event_destroy(ev);
            }
        }
        for (size_t i = 0; i < n; i++)
            if (npv[i])
                rd_kafka_NewPartitions_destroy(npv[i]);
        free(npv);
    }
    ktool_ilists_free(assign, nassign);
    free(v);
    rd_kafka_metadata_destroy(md);
    return rc;
}

int ktool_topics_admin(const ktool_opts_t *o)
{
    tadm_t t = {.o = o};
    t.rk = ktool_rk_admin(ktool_val(o, "bootstrap-server"), ktool_val(o, "command-config"));
    if (!t.rk)
        return 1;
    int rc;
    if (ktool_has(o, "create"))
        rc = do_create(&t);
    else if (ktool_has(o, "list"))
        rc = do_list(&t);
    else if (ktool_has(o, "describe"))
        rc = do_describe(&t);
    else if (ktool_has(o, "delete"))
        rc = do_delete(&t);
    else
        rc = do_alter(&t);
    ktool_rk_destroy(t.rk);
    return rc;
}
