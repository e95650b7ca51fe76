/* ktool_groups.c — `gregor consumer-groups` = kafka-consumer-groups.sh (Kafka 2.4's
 * ConsumerGroupCommand) on librdkafka's admin API: --list (ListGroups), --describe
 * (DescribeGroups + OffsetFetch + ListOffsets: the CURRENT-OFFSET / LOG-END-OFFSET / LAG table,
 * --members, --state), --reset-offsets (--to-earliest / --to-latest / --to-offset / --shift-by /
 * --to-current, --dry-run or --execute via OffsetCommit), --delete (DeleteGroups). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "broker/cli/ktool.h"
#include "broker/cli/ktool_rk.h"
#include "common/alloc.h"

static const ktool_optdef_t grp_opts[] = {
    {"all-groups", 0, NULL, "Apply to all consumer groups."},
    {"all-topics", 0, NULL, "Consider all topics assigned to a group in the `reset-offsets` process."},
    {"bootstrap-server", 1, "String: server to connect to", "REQUIRED: The server(s) to connect to."},
    {"by-duration", 1, "String: duration", "Reset offsets to offset by duration from current timestamp. Format: "
                                           "'PnDTnHnMnS'"},
    {"command-config", 1, "String: command config property file", "Property file containing configs to be "
                                                                   "passed to Admin Client and Consumer."},
    {"delete", 0, NULL, "Pass in groups to delete topic partition offsets and ownership information over the "
                        "entire consumer group. For instance --group g1 --group g2"},
    {"describe", 0, NULL, "Describe consumer group and list offset lag (number of messages not yet processed) "
                          "related to given group."},
    {"dry-run", 0, NULL, "Only show results without executing changes on Consumer Groups. Supported operations: "
                         "reset-offsets."},
    {"execute", 0, NULL, "Execute operation. Supported operations: reset-offsets."},
    {"group", 1, "String: consumer group", "The consumer group we wish to act on."},
    {"help", 0, NULL, "Print usage information."},
    {"list", 0, NULL, "List all consumer groups."},
    {"members", 0, NULL, "Describe members of the group. This option may be used with '--describe' and "
                         "'--bootstrap-server' options only."},
    {"offsets", 0, NULL, "Describe the group and list all topic partitions in the group along with their offset "
                         "lag. This is the default sub-action of and may be used with '--describe' and "
                         "'--bootstrap-server' options only."},
    {"reset-offsets", 0, NULL, "Reset offsets of consumer group. Supports one consumer group at the time, and "
                               "instances should be inactive. Has 2 execution options: --dry-run (the default) "
                               "to plan which offsets to reset, and --execute to update the offsets. You must "
                               "choose one of the following reset specifications: --to-earliest, --to-latest, "
                               "--to-offset, --shift-by, --to-current. To define the scope use --all-topics or "
                               "--topic."},
    {"shift-by", 1, "Long: number-of-offsets", "Reset offsets shifting current offset by 'n', where 'n' can be "
                                               "positive or negative."},
    {"state", 0, NULL, "Describe the group state. This option may be used with '--describe' and "
                       "'--bootstrap-server' options only."},
    {"timeout", 1, "Long: timeout (ms)", "The timeout that can be set for some use cases. For example, it can be "
                                         "used when describing the group to specify the maximum amount of time in "
                                         "milliseconds to wait before the group stabilizes (when the group is just "
                                         "created, or is going through some changes). (default: 5000)"},
    {"to-current", 0, NULL, "Reset offsets to current offset."},
    {"to-datetime", 1, "String: datetime", "Reset offsets to offset from datetime. Format: "
                                           "'YYYY-MM-DDTHH:mm:SS.sss'"},
    {"to-earliest", 0, NULL, "Reset offsets to earliest offset."},
    {"to-latest", 0, NULL, "Reset offsets to latest offset."},
    {"to-offset", 1, "Long: offset", "Reset offsets to a specific offset."},
    {"topic", 1, "String: topic", "The topic whose consumer group information should be deleted or topic whose "
                                  "should be included in the reset offset process. In `reset-offsets` case, "
                                  "partitions can be specified using this format: `topic1:0,1,2`, where 0,1,2 are "
                                  "the partition to be included in the process."},
    {"verbose", 0, NULL, "Provide additional information, if any, when describing the group."},
};

#define GRP_HEADER "This tool helps to list all consumer groups, describe a consumer group, delete consumer " \
                   "group info, or reset consumer group offsets."

typedef struct grp_ctx_s {
    rd_kafka_t *rk;
    int timeout_ms;
} grp_ctx_t;

/* Runs one queued admin request; returns the event or NULL after printing a timeout error. */
typedef void (*admin_fn)(grp_ctx_t *c, rd_kafka_AdminOptions_t *ao, rd_kafka_queue_t *q, void *arg);

static rd_kafka_event_t *run_admin(grp_ctx_t *c, rd_kafka_admin_op_t op, admin_fn fn, void *arg)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(c->rk, op);
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(ao, c->timeout_ms, err, sizeof err);
    fn(c, ao, q, arg);
    rd_kafka_event_t *ev = ktool_rk_wait(q, c->timeout_ms);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    if (!ev) {
        printf("\nError: Executing consumer group command failed due to org.apache.kafka.common.errors."
               "TimeoutException: Timed out waiting for a node assignment. (is the broker at --bootstrap-server "
               "running?)\n");
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        printf("\nError: Executing consumer group command failed due to %s: %s\n",
               ktool_rk_exception(rd_kafka_event_error(ev)), rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

/* ---- list ---- */

static void list_fn(grp_ctx_t *c, rd_kafka_AdminOptions_t *ao, rd_kafka_queue_t *q, void *arg)
{
    (void)arg;
    rd_kafka_ListConsumerGroups(c->rk, ao, q);
}

static int do_list(grp_ctx_t *c)
{
    rd_kafka_event_t *ev = run_admin(c, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, list_fn, NULL);
    if (!ev)
        return 1;
    const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
    size_t n, ne;
    const rd_kafka_ConsumerGroupListing_t **gl = rd_kafka_ListConsumerGroups_result_valid(res, &n);
    const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &ne);
    for (size_t i = 0; i < n; i++)
        printf("%s\n", rd_kafka_ConsumerGroupListing_group_id(gl[i]));
    for (size_t i = 0; i < ne; i++)
        fprintf(stderr, "WARN %s\n", rd_kafka_error_string(errs[i]));
    rd_kafka_event_destroy(ev);
    return ne && !n ? 1 : 0;
}

/* ---- describe ---- */

typedef struct row_s {
    char *topic;
    int32_t partition;
    int64_t offset;      /* committed, -1 = none */
    int64_t leo;         /* log end, -1 = unknown */
    char *consumer_id, *host, *client_id;
} row_t;

typedef struct member_s {
    char *consumer_id, *host, *client_id;
    size_t nparts;
} member_t;

typedef struct gdesc_s {
    char *state;         /* "Stable", "Empty", "Dead", ... */
    char *assignor;
    int32_t coord_id;
    char *coord_host;
    int coord_port;
    member_t *members;
    size_t nmembers;
    row_t *rows;
    size_t nrows;
} gdesc_t;

static void gdesc_free(gdesc_t *d)
{
    for (size_t i = 0; i < d->nrows; i++) {
        free(d->rows[i].topic);
        free(d->rows[i].consumer_id);
        free(d->rows[i].host);
        free(d->rows[i].client_id);
    }
    for (size_t i = 0; i < d->nmembers; i++) {
        free(d->members[i].consumer_id);
        free(d->members[i].host);
        free(d->members[i].client_id);
    }
    free(d->rows);
    free(d->members);
    free(d->state);
    free(d->assignor);
    free(d->coord_host);
    memset(d, 0, sizeof *d);
}

static row_t *add_row(gdesc_t *d, const char *topic, int32_t partition, const char *cid, const char *host,
                      const char *client)
{
    d->rows = xrealloc(d->rows, (d->nrows + 1) * sizeof *d->rows);
    row_t *r = &d->rows[d->nrows++];
    r->topic = xstrdup(topic);
    r->partition = partition;
    r->offset = -1;
    r->leo = -1;
    r->consumer_id = xstrdup(cid);
    r->host = xstrdup(host);
    r->client_id = xstrdup(client);
    return r;
}

static void describe_fn(grp_ctx_t *c, rd_kafka_AdminOptions_t *ao, rd_kafka_queue_t *q, void *arg)
{
    const char *g = arg;
    rd_kafka_DescribeConsumerGroups(c->rk, &g, 1, ao, q);
}

static void offsets_fn(grp_ctx_t *c, rd_kafka_AdminOptions_t *ao, rd_kafka_queue_t *q, void *arg)
{
    rd_kafka_ListConsumerGroupOffsets_t *l = rd_kafka_ListConsumerGroupOffsets_new(arg, NULL);
    rd_kafka_ListConsumerGroupOffsets(c->rk, &l, 1, ao, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(l);
}

/* Committed offsets of group (new list the caller destroys; offsets < 0 dropped), or NULL. */
static rd_kafka_topic_partition_list_t *committed_offsets(grp_ctx_t *c, const char *group)
{
    rd_kafka_event_t *ev = run_admin(c, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, offsets_fn, (void *)group);
    if (!ev)
        return NULL;
    size_t n;
    const rd_kafka_group_result_t **gr =
        rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    rd_kafka_topic_partition_list_t *out = rd_kafka_topic_partition_list_new(8);
    if (n && rd_kafka_group_result_error(gr[0])) {
        const rd_kafka_error_t *e = rd_kafka_group_result_error(gr[0]);
        if (rd_kafka_error_code(e) != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
            fprintf(stderr, "WARN could not fetch the committed offsets of group '%s': %s\n", group,
                    rd_kafka_error_string(e));
    } else if (n) {
        const rd_kafka_topic_partition_list_t *p = rd_kafka_group_result_partitions(gr[0]);
        for (int i = 0; p && i < p->cnt; i++) {
            if (p->elems[i].offset >= 0 && !p->elems[i].err)
                rd_kafka_topic_partition_list_add(out, p->elems[i].topic, p->elems[i].partition)->offset =
                    p->elems[i].offset;
        }
    }
    rd_kafka_event_destroy(ev);
    return out;
}

static int64_t find_committed(const rd_kafka_topic_partition_list_t *l, const char *t, int32_t p)
{
    for (int i = 0; l && i < l->cnt; i++)
        if (l->elems[i].partition == p && !strcmp(l->elems[i].topic, t))
            return l->elems[i].offset;
    return -1;
}

static int cmp_row(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Describes group into d. Returns 0, or 1 after printing the error. A group unknown to the
 * coordinator comes back as state "Dead". */
static int describe_group(grp_ctx_t *c, const char *group, gdesc_t *d, bool with_offsets)
{
    memset(d, 0, sizeof *d);
    rd_kafka_event_t *ev = run_admin(c, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, describe_fn, (void *)group);
    if (!ev)
        return 1;
    size_t n;
    const rd_kafka_ConsumerGroupDescription_t **gd =
        rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    if (n < 1) {
        rd_kafka_event_destroy(ev);
        printf("\nError: Executing consumer group command failed: no description returned for group '%s'\n", group);
        return 1;
    }
    const rd_kafka_error_t *ge = rd_kafka_ConsumerGroupDescription_error(gd[0]);
    if (ge && rd_kafka_error_code(ge) != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        printf("\nError: Executing consumer group command failed due to %s: %s\n",
               ktool_rk_exception(rd_kafka_error_code(ge)), rd_kafka_error_string(ge));
        rd_kafka_event_destroy(ev);
        return 1;
    }
    d->state = xstrdup(ge ? "Dead" : rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(gd[0])));
    const char *as = rd_kafka_ConsumerGroupDescription_partition_assignor(gd[0]);
    d->assignor = xstrdup(as ? as : "");
    const rd_kafka_Node_t *cn = rd_kafka_ConsumerGroupDescription_coordinator(gd[0]);
    d->coord_id = cn ? rd_kafka_Node_id(cn) : -1;
    d->coord_host = xstrdup(cn && rd_kafka_Node_host(cn) ? rd_kafka_Node_host(cn) : "");
    d->coord_port = cn ? rd_kafka_Node_port(cn) : -1;
    size_t nm = rd_kafka_ConsumerGroupDescription_member_count(gd[0]);
    d->members = xcalloc(nm ? nm : 1, sizeof *d->members);
    rd_kafka_topic_partition_list_t *committed = with_offsets ? committed_offsets(c, group) : NULL;
    for (size_t i = 0; i < nm; i++) {
        const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(gd[0], i);
        member_t *mm = &d->members[d->nmembers++];
        mm->consumer_id = xstrdup(rd_kafka_MemberDescription_consumer_id(m));
        mm->host = xstrdup(rd_kafka_MemberDescription_host(m));
        mm->client_id = xstrdup(rd_kafka_MemberDescription_client_id(m));
        const rd_kafka_topic_partition_list_t *ps =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m));
        mm->nparts = ps ? (size_t)ps->cnt : 0;
        for (int k = 0; with_offsets && ps && k < ps->cnt; k++) {
            row_t *r = add_row(d, ps->elems[k].topic, ps->elems[k].partition, mm->consumer_id, mm->host,
                               mm->client_id);
            r->offset = find_committed(committed, r->topic, r->partition);
        }
    }
    rd_kafka_event_destroy(ev);
    if (with_offsets) {
        /* assigned partitions by topic and partition, then the unassigned ones likewise */
        if (d->nrows)
            qsort(d->rows, d->nrows, sizeof *d->rows, cmp_row);
        size_t nassigned = d->nrows;
        for (int i = 0; committed && i < committed->cnt; i++) {
            bool assigned = false;
            for (size_t k = 0; k < nassigned && !assigned; k++)
                assigned = d->rows[k].partition == committed->elems[i].partition &&
                           !strcmp(d->rows[k].topic, committed->elems[i].topic);
            if (!assigned) {
                row_t *r = add_row(d, committed->elems[i].topic, committed->elems[i].partition, "-", "-", "-");
                r->offset = committed->elems[i].offset;
            }
        }
        if (d->nrows > nassigned)
            qsort(d->rows + nassigned, d->nrows - nassigned, sizeof *d->rows, cmp_row);
        for (size_t k = 0; k < d->nrows; k++) {
            int64_t lo, hi;
            if (rd_kafka_query_watermark_offsets(c->rk, d->rows[k].topic, d->rows[k].partition, &lo, &hi,
                                                 c->timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR)
                d->rows[k].leo = hi;
        }
    }
    if (committed)
        rd_kafka_topic_partition_list_destroy(committed);
    return 0;
}

/* shouldPrintMemberState */
static bool print_state_note(const char *group, const gdesc_t *d, size_t nrows)
{
    if (!strcmp(d->state, "Dead")) {
        printf("\nError: Consumer group '%s' does not exist.\n", group);
        return false;
    }
    if (!strcmp(d->state, "Empty"))
        fprintf(stderr, "\nConsumer group '%s' has no active members.\n", group);
    else if (!strcmp(d->state, "PreparingRebalance") || !strcmp(d->state, "CompletingRebalance"))
        fprintf(stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", group);
    return nrows > 0;
}

static void fmt_long(char *out, size_t n, int64_t v)
{
    if (v < 0)
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%lld", (long long)v);
}

static int do_describe(grp_ctx_t *c, const ktool_opts_t *o, const char *group)
{
    bool members = ktool_has(o, "members"), state = ktool_has(o, "state");
    gdesc_t d;
    if (describe_group(c, group, &d, !members && !state))
        return 1;
    int rc = 0;
    if (state) {
        if (strcmp(d.state, "Dead") || true) {
            if (!strcmp(d.state, "Dead")) {
                printf("\nError: Consumer group '%s' does not exist.\n", group);
            } else {
                char coord[300];
                snprintf(coord, sizeof coord, "%s:%d (%d)", d.coord_host, d.coord_port, d.coord_id);
                int gw = (int)(strlen(group) > 25 ? strlen(group) : 25);
                int cw = (int)(strlen(coord) > 25 ? strlen(coord) : 25);
                printf("\n%-*s %-*s %-20s %-15s %s\n", gw, "GROUP", cw, "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY",
                       "STATE", "#MEMBERS");
                printf("%-*s %-*s %-20s %-15s %zu\n", gw, group, cw, coord, d.assignor, d.state, d.nmembers);
            }
        }
    } else if (members) {
        if (print_state_note(group, &d, d.nmembers)) {
            int gw = 15, iw = 15, hw = 15, lw = 15;
            gw = (int)strlen(group) > gw ? (int)strlen(group) : gw;
            for (size_t i = 0; i < d.nmembers; i++) {
                iw = (int)strlen(d.members[i].consumer_id) > iw ? (int)strlen(d.members[i].consumer_id) : iw;
                hw = (int)strlen(d.members[i].host) > hw ? (int)strlen(d.members[i].host) : hw;
                lw = (int)strlen(d.members[i].client_id) > lw ? (int)strlen(d.members[i].client_id) : lw;
            }
            printf("\n%-*s %-*s %-*s %-*s %-15s\n", gw, "GROUP", iw, "CONSUMER-ID", hw, "HOST", lw, "CLIENT-ID",
                   "#PARTITIONS");
            for (size_t i = 0; i < d.nmembers; i++)
                printf("%-*s %-*s %-*s %-*s %-15zu\n", gw, group, iw, d.members[i].consumer_id, hw,
                       d.members[i].host, lw, d.members[i].client_id, d.members[i].nparts);
        }
    } else if (print_state_note(group, &d, d.nrows)) {
        int gw = 15, tw = 15, iw = 15, hw = 15;
        gw = (int)strlen(group) > gw ? (int)strlen(group) : gw;
        for (size_t i = 0; i < d.nrows; i++) {
            tw = (int)strlen(d.rows[i].topic) > tw ? (int)strlen(d.rows[i].topic) : tw;
            iw = (int)strlen(d.rows[i].consumer_id) > iw ? (int)strlen(d.rows[i].consumer_id) : iw;
            hw = (int)strlen(d.rows[i].host) > hw ? (int)strlen(d.rows[i].host) : hw;
        }
        printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", gw, "GROUP", tw, "TOPIC", "PARTITION",
               "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", iw, "CONSUMER-ID", hw, "HOST", "CLIENT-ID");
        for (size_t i = 0; i < d.nrows; i++) {
            const row_t *r = &d.rows[i];
            char off[32], leo[32], lag[32];
            fmt_long(off, sizeof off, r->offset);
            fmt_long(leo, sizeof leo, r->leo);
            fmt_long(lag, sizeof lag, r->offset >= 0 && r->leo >= 0 ? r->leo - r->offset : -1);
            printf("%-*s %-*s %-10d %-15s %-15s %-15s %-*s %-*s %s\n", gw, group, tw, r->topic, r->partition, off,
                   leo, lag, iw, r->consumer_id, hw, r->host, r->client_id);
        }
    }
    gdesc_free(&d);
    return rc;
}

/* ---- reset offsets ---- */

/* "YYYY-MM-DDTHH:mm:SS.sss" with an optional zone (Z, +hh, +hhmm, +hh:mm; default UTC), as
 * ConsumerGroupCommand.convertTimestamp. Returns 0 with *ms, or -1. */
static int parse_datetime(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return -1;
    const char *p = s + n;
    if (*p == '.') {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            frac *= 10;
    }
    int64_t off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh = 0, om = 0;
        p++;
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
            return -1;
        oh = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
            om = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
        off = sign * (int64_t)(oh * 3600 + om * 60);
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - off) * 1000 + frac;
    return 0;
}

/* java.time.Duration.parse subset: [-]PnDTnHnMn[.n]S. Returns 0 with *ms, or -1. */
static int parse_duration(const char *s, int64_t *ms)
{
    int sign = 1;
    if (*s == '-' || *s == '+')
        sign = *s++ == '-' ? -1 : 1;
    if (toupper((unsigned char)*s) != 'P')
        return -1;
    s++;
    double total = 0;
    bool in_time = false, any = false;
    while (*s) {
        if (toupper((unsigned char)*s) == 'T') {
            in_time = true;
            s++;
            continue;
        }
        char *end;
        double v = strtod(s, &end);
        if (end == s)
            return -1;
        char u = (char)toupper((unsigned char)*end);
        if (u == 'D' && !in_time)
            total += v * 86400.0;
        else if (u == 'H' && in_time)
            total += v * 3600.0;
        else if (u == 'M' && in_time)
            total += v * 60.0;
        else if (u == 'S' && in_time)
            total += v;
        else
            return -1;
        any = true;
        s = end + 1;
    }
    if (!any)
        return -1;
    *ms = (int64_t)(sign * total * 1000.0);
    return 0;
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Adds every partition of topic (from metadata). Returns 0, or 1 after printing. */
static int add_topic_partitions(grp_ctx_t *c, const char *topic, rd_kafka_topic_partition_list_t *l)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = ktool_rk_metadata(c->rk, 0, rkt, &md, c->timeout_ms);
    rd_kafka_topic_destroy(rkt);
    if (e) {
        printf("\nError: Executing consumer group command failed due to %s: %s\n", ktool_rk_exception(e),
               rd_kafka_err2str(e));
        return 1;
    }
    int rc = 0;
    if (md->topic_cnt < 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        printf("\nError: Executing consumer group command failed due to org.apache.kafka.common.errors."
               "UnknownTopicOrPartitionException: Topic '%s' does not exist (or has no partitions)\n", topic);
        rc = 1;
    } else {
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
            rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[i].id);
        rd_kafka_topic_partition_list_sort(l, NULL, NULL);
    }
    rd_kafka_metadata_destroy(md);
    return rc;
}

static void alter_fn(grp_ctx_t *c, rd_kafka_AdminOptions_t *ao, rd_kafka_queue_t *q, void *arg)
{
    void **a = arg;
    rd_kafka_AlterConsumerGroupOffsets_t *x = rd_kafka_AlterConsumerGroupOffsets_new(a[0], a[1]);
    rd_kafka_AlterConsumerGroupOffsets(c->rk, &x, 1, ao, q);
    rd_kafka_AlterConsumerGroupOffsets_destroy(x);
}

static int do_reset(grp_ctx_t *c, const ktool_opts_t *o, const char *group)
{
    gdesc_t d;
    if (describe_group(c, group, &d, false))
        return 1;
    if (strcmp(d.state, "Empty") && strcmp(d.state, "Dead")) {
        printf("\nError: Assignments can only be reset if the group '%s' is inactive, but the current state is %s.\n",
               group, d.state);
        gdesc_free(&d);
        return 1;
    }
    gdesc_free(&d);
    rd_kafka_topic_partition_list_t *committed = committed_offsets(c, group);
    if (!committed)
        return 1;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
    int rc = 0;
    if (ktool_has(o, "all-topics")) {
        for (int i = 0; i < committed->cnt; i++)
            rd_kafka_topic_partition_list_add(parts, committed->elems[i].topic, committed->elems[i].partition);
    } else {
        size_t nt;
        char **topics = ktool_vals(o, "topic", &nt);
        for (size_t i = 0; i < nt && !rc; i++) {
            char *t = xstrdup(topics[i]);
            char *colon = strchr(t, ':');
            if (!colon) {
                rc = add_topic_partitions(c, t, parts);
            } else {
                *colon = 0;
                char *save = NULL;
                for (char *p = strtok_r(colon + 1, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                    int64_t v;
                    if (ktool_long_arg(p, &v) < 0 || v < 0 || v > INT32_MAX) {
                        printf("\nError: Executing consumer group command failed due to java.lang."
                               "NumberFormatException: For input string: \"%s\"\n", p);
                        rc = 1;
                        break;
                    }
                    rd_kafka_topic_partition_list_add(parts, t, (int32_t)v);
                }
            }
            free(t);
        }
    }
    int64_t to_offset = 0, shift = 0;
    if (!rc && ktool_has(o, "to-offset") && ktool_long_arg(ktool_val(o, "to-offset"), &to_offset) < 0) {
        fprintf(stderr, "Exception in thread \"main\" joptsimple.OptionArgumentConversionException: Cannot parse "
                        "argument '%s' of option to-offset\n", ktool_val(o, "to-offset"));
        rc = 1;
    }
    if (!rc && ktool_has(o, "shift-by") && ktool_long_arg(ktool_val(o, "shift-by"), &shift) < 0) {
        fprintf(stderr, "Exception in thread \"main\" joptsimple.OptionArgumentConversionException: Cannot parse "
                        "argument '%s' of option shift-by\n", ktool_val(o, "shift-by"));
        rc = 1;
    }
    /* --to-datetime / --by-duration: offsets by timestamp (none at or after it: the log end) */
    rd_kafka_topic_partition_list_t *by_time = NULL;
    if (!rc && (ktool_has(o, "to-datetime") || ktool_has(o, "by-duration"))) {
        int64_t ts = 0;
        if (ktool_has(o, "to-datetime") && parse_datetime(ktool_val(o, "to-datetime"), &ts) < 0) {
            printf("\nError: Executing consumer group command failed due to java.text.ParseException: Unparseable "
                   "date: \"%s\" (expected YYYY-MM-DDTHH:mm:SS.sss, optionally with a zone such as Z or +01:00)\n",
                   ktool_val(o, "to-datetime"));
            rc = 1;
        } else if (ktool_has(o, "by-duration")) {
            int64_t dur;
            if (parse_duration(ktool_val(o, "by-duration"), &dur) < 0) {
                printf("\nError: Executing consumer group command failed due to java.time.format."
                       "DateTimeParseException: Text cannot be parsed to a Duration: %s (expected PnDTnHnMnS)\n",
                       ktool_val(o, "by-duration"));
                rc = 1;
            } else {
                ts = wall_ms() - dur;
            }
        }
        if (!rc) {
            by_time = rd_kafka_topic_partition_list_copy(parts);
            for (int i = 0; i < by_time->cnt; i++)
                by_time->elems[i].offset = ts;
            rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(c->rk, by_time, c->timeout_ms);
            if (e) {
                printf("\nError: Executing consumer group command failed due to %s: %s\n", ktool_rk_exception(e),
                       rd_kafka_err2str(e));
                rc = 1;
            }
        }
    }
    for (int i = 0; !rc && i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi,
                                                                 c->timeout_ms);
        if (e) {
            printf("\nError: Executing consumer group command failed due to %s: %s (%s-%d)\n",
                   ktool_rk_exception(e), rd_kafka_err2str(e), p->topic, p->partition);
            rc = 1;
            break;
        }
        int64_t cur = find_committed(committed, p->topic, p->partition);
        int64_t v;
        if (ktool_has(o, "to-earliest"))
            v = lo;
        else if (ktool_has(o, "to-latest"))
            v = hi;
        else if (ktool_has(o, "to-offset"))
            v = to_offset;
        else if (ktool_has(o, "shift-by"))
            v = (cur >= 0 ? cur : hi) + shift;
        else if (by_time)
            v = by_time->elems[i].err || by_time->elems[i].offset < 0 ? hi : by_time->elems[i].offset;
        else   /* to-current */
            v = cur >= 0 ? cur : hi;
        if (v < lo) {
            if (ktool_has(o, "to-offset") || ktool_has(o, "shift-by"))
                printf("New offset (%lld) is lower than earliest offset for topic partition %s-%d. Value will "
                       "be set to %lld\n", (long long)v, p->topic, p->partition, (long long)lo);
            v = lo;
        } else if (v > hi) {
            if (ktool_has(o, "to-offset") || ktool_has(o, "shift-by"))
                printf("New offset (%lld) is higher than latest offset for topic partition %s-%d. Value will "
                       "be set to %lld\n", (long long)v, p->topic, p->partition, (long long)hi);
            v = hi;
        }
        p->offset = v;
    }
    if (!rc && ktool_has(o, "execute") && parts->cnt > 0) {
        void *args[2] = {(void *)group, parts};
        rd_kafka_event_t *ev = run_admin(c, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, alter_fn, args);
        if (!ev) {
            rc = 1;
        } else {
            size_t n;
            const rd_kafka_group_result_t **gr = rd_kafka_AlterConsumerGroupOffsets_result_groups(
                rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
            const rd_kafka_error_t *ge = n ? rd_kafka_group_result_error(gr[0]) : NULL;
            const rd_kafka_topic_partition_list_t *rp = n ? rd_kafka_group_result_partitions(gr[0]) : NULL;
            if (ge) {
                printf("\nError: Executing consumer group command failed due to %s: %s\n",
                       ktool_rk_exception(rd_kafka_error_code(ge)), rd_kafka_error_string(ge));
                rc = 1;
            }
            for (int i = 0; !rc && rp && i < rp->cnt; i++) {
                if (rp->elems[i].err) {
                    printf("\nError: Executing consumer group command failed due to %s: %s (%s-%d)\n",
                           ktool_rk_exception(rp->elems[i].err), rd_kafka_err2str(rp->elems[i].err),
                           rp->elems[i].topic, rp->elems[i].partition);
                    rc = 1;
                }
            }
            rd_kafka_event_destroy(ev);
        }
    }
    if (!rc) {
        int gw = 30, tw = 30;
        printf("\n%-*s %-*s %-10s %-15s\n", gw, "GROUP", tw, "TOPIC", "PARTITION", "NEW-OFFSET");
        for (int i = 0; i < parts->cnt; i++)
            printf("%-*s %-*s %-10d %-15lld\n", gw, group, tw, parts->elems[i].topic, parts->elems[i].partition,
                   (long long)parts->elems[i].offset);
    }
    if (by_time)
        rd_kafka_topic_partition_list_destroy(by_time);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_topic_partition_list_destroy(committed);
    return rc;
}

/* ---- delete ---- */

static void delete_fn(grp_ctx_t *c, rd_kafka_AdminOptions_t *ao, rd_kafka_queue_t *q, void *arg)
{
    const ktool_opts_t *o = arg;
    size_t n;
    char **groups = ktool_vals(o, "group", &n);
    rd_kafka_DeleteGroup_t **dg = xcalloc(n ? n : 1, sizeof *dg);
    for (size_t i = 0; i < n; i++)
        dg[i] = rd_kafka_DeleteGroup_new(groups[i]);
    rd_kafka_DeleteGroups(c->rk, dg, n, ao, q);
    rd_kafka_DeleteGroup_destroy_array(dg, n);
    free(dg);
}

static int do_delete(grp_ctx_t *c, const ktool_opts_t *o)
{
    rd_kafka_event_t *ev = run_admin(c, RD_KAFKA_ADMIN_OP_DELETEGROUPS, delete_fn, (void *)o);
    if (!ev)
        return 1;
    size_t n;
    const rd_kafka_group_result_t **gr = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
    buf_t ok = BUF_INIT, bad = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_error_t *e = rd_kafka_group_result_error(gr[i]);
        const char *name = rd_kafka_group_result_name(gr[i]);
        if (!e) {
            buf_printf(&ok, "%s'%s'", ok.len ? ", " : "", name);
            continue;
        }
        const char *msg = rd_kafka_error_string(e);
        rd_kafka_resp_err_t code = rd_kafka_error_code(e);
        if (code == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP)
            msg = "The group is not empty.";
        else if (code == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
            msg = "The group id does not exist.";
        buf_printf(&bad, "* Group '%s' could not be deleted due to: %s: %s\n", name, ktool_rk_exception(code), msg);
    }
    int rc = 0;
    if (!bad.len) {
        printf("Deletion of requested consumer groups (%s) was successful.\n", ok.len ? buf_cstr(&ok) : "");
    } else {
        printf("\nError: Deletion of some consumer groups failed:\n%s", buf_cstr(&bad));
        if (ok.len)
            printf("\nThese consumer groups were deleted successfully: %s\n", buf_cstr(&ok));
        rc = 1;
    }
    buf_free(&ok);
    buf_free(&bad);
    rd_kafka_event_destroy(ev);
    return rc;
}

int ktool_groups_main(int argc, char **argv)
{
    ktool_opts_t o;
    if (ktool_opts_parse(&o, grp_opts, sizeof grp_opts / sizeof grp_opts[0], GRP_HEADER, argc, argv) < 0) {
        ktool_opts_free(&o);
        return 1;
    }
    int rc = 0;
    grp_ctx_t c = {.timeout_ms = 5000};
    if (ktool_has(&o, "help")) {
        ktool_print_help(&o, stdout);
        goto out;
    }
    if (argc <= 1) {
        rc = ktool_usage_die(&o, "List all consumer groups, describe a consumer group, delete consumer group info, "
                                 "or reset consumer group offsets.");
        goto out;
    }
    int actions = ktool_has(&o, "list") + ktool_has(&o, "describe") + ktool_has(&o, "delete") +
                  ktool_has(&o, "reset-offsets");
    if (actions != 1) {
        rc = ktool_usage_die(&o, "Command must include exactly one action: --list, --describe, --delete, "
                                 "--reset-offsets");
        goto out;
    }
    if ((rc = ktool_require(&o, (const char *[]){"bootstrap-server", NULL})))
        goto out;
    if ((ktool_has(&o, "describe") || ktool_has(&o, "delete") || ktool_has(&o, "reset-offsets")) &&
        !ktool_has(&o, "group") && !ktool_has(&o, "all-groups")) {
        rc = ktool_usage_die(&o, "Option [%s] takes one of these options: [all-groups], [group]",
                             ktool_has(&o, "describe") ? "describe" : ktool_has(&o, "delete") ? "delete"
                                                                                             : "reset-offsets");
        goto out;
    }
    if (ktool_has(&o, "reset-offsets")) {
        int scen = ktool_has(&o, "to-earliest") + ktool_has(&o, "to-latest") + ktool_has(&o, "to-offset") +
                   ktool_has(&o, "shift-by") + ktool_has(&o, "to-current") + ktool_has(&o, "to-datetime") +
                   ktool_has(&o, "by-duration");
        if (scen != 1) {
            rc = ktool_usage_die(&o, "Option [reset-offsets] takes exactly one of these options: [to-datetime], "
                                     "[by-duration], [to-earliest], [to-latest], [shift-by], [to-current], "
                                     "[to-offset] (gregor does not support [from-file] yet)");
            goto out;
        }
        if (ktool_has(&o, "topic") == ktool_has(&o, "all-topics")) {
            rc = ktool_usage_die(&o, "Option [reset-offsets] takes one of these options: [all-topics], [topic]");
            goto out;
        }
        if (ktool_has(&o, "dry-run") && ktool_has(&o, "execute")) {
            rc = ktool_usage_die(&o, "Option [reset-offsets] only accepts one of [execute], [dry-run]");
            goto out;
        }
        if (!ktool_has(&o, "dry-run") && !ktool_has(&o, "execute"))
            printf("WARN: No action will be performed as the --execute option is missing.In a future major release, "
                   "the default behavior of this command will be to prompt the user before executing the reset "
                   "rather than doing a dry run. You should add the --dry-run option explicitly if you are "
                   "scripting this command and want to keep the current default behavior without prompting.\n");
    }
    if (ktool_has(&o, "timeout")) {
        int32_t t;
        if (ktool_int_arg(&o, "timeout", &t) < 0) {
            rc = 1;
            goto out;
        }
        c.timeout_ms = t > 0 ? t : 5000;
    }
    c.rk = ktool_rk_admin(ktool_val(&o, "bootstrap-server"), ktool_val(&o, "command-config"));
    if (!c.rk) {
        rc = 1;
        goto out;
    }
    if (ktool_has(&o, "list")) {
        rc = do_list(&c);
    } else if (ktool_has(&o, "delete")) {
        rc = do_delete(&c, &o);
    } else {
        /* --all-groups: every group ListGroups returns */
        size_t ng;
        char **groups = ktool_vals(&o, "group", &ng);
        char **all = NULL;
        size_t nall = 0;
        if (ktool_has(&o, "all-groups")) {
            rd_kafka_event_t *ev = run_admin(&c, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, list_fn, NULL);
            if (!ev) {
                rc = 1;
                goto out;
            }
            size_t n;
            const rd_kafka_ConsumerGroupListing_t **gl =
                rd_kafka_ListConsumerGroups_result_valid(rd_kafka_event_ListConsumerGroups_result(ev), &n);
            all = xcalloc(n ? n : 1, sizeof *all);
            for (size_t i = 0; i < n; i++)
                all[nall++] = xstrdup(rd_kafka_ConsumerGroupListing_group_id(gl[i]));
            rd_kafka_event_destroy(ev);
            groups = all;
            ng = nall;
        }
        for (size_t i = 0; i < ng; i++) {
            int r = ktool_has(&o, "describe") ? do_describe(&c, &o, groups[i]) : do_reset(&c, &o, groups[i]);
            rc = rc ? rc : r;
        }
        ktool_strv_free(all, nall);
    }
out:
    if (c.rk)
        rd_kafka_destroy(c.rk);
    fflush(stdout);
    ktool_opts_free(&o);
    return rc;
}
