/* Unit tests: the pure parts of topic administration — topic config validation with Kafka's
 * messages (broker/adm_tcfg.h), config entries and their sources/synonyms as Kafka 2.4's
 * AdminManager shows them, producer id blocks (broker/adm_pid.h), config change
 * notifications (broker/adm_chg.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/adm_chg.h"
#include "broker/adm_pid.h"
#include "broker/adm_tcfg.h"
#include "common/arena.h"

static zkpaths_config_t cfg2(const char *k1, const char *v1, const char *k2, const char *v2)
{
    zkpaths_config_t c;
    memset(&c, 0, sizeof c);
    if (k1)
        zkpaths_config_set(&c, k1, v1);
    if (k2)
        zkpaths_config_set(&c, k2, v2);
    return c;
}

static int validate(const char *k1, const char *v1, const char *k2, const char *v2, char *msg, size_t len)
{
    zkpaths_config_t c = cfg2(k1, v1, k2, v2);
    int rc = adm_tcfg_validate(&c, msg, len);
    zkpaths_config_free(&c);
    return rc;
}

START_TEST(tcfg_table)
{
    ck_assert_uint_eq(adm_tcfg_count(), 26);
    ck_assert_str_eq(adm_tcfg_at(0)->name, "segment.bytes");
    ck_assert_ptr_null(adm_tcfg_at(26));
    const adm_tcfg_def_t *d = adm_tcfg_find("retention.ms");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->broker_key, "log.retention.ms");
    ck_assert_ptr_null(adm_tcfg_find("log.retention.ms"));
    ck_assert_ptr_null(adm_tcfg_find("leader.replication.throttled.replicas")->broker_key);
}
END_TEST

START_TEST(tcfg_validate_ok)
{
    char m[512];
    ck_assert_int_eq(validate("retention.ms", "1000", "cleanup.policy", "compact,delete", m, sizeof m), ADM_TCFG_OK);
    ck_assert_int_eq(validate("retention.ms", "-1", "segment.bytes", " 14 ", m, sizeof m), ADM_TCFG_OK);
    ck_assert_int_eq(validate("min.cleanable.dirty.ratio", "0.01", "preallocate", "TRUE", m, sizeof m), ADM_TCFG_OK);
    ck_assert_int_eq(validate("compression.type", "zstd", "message.timestamp.type", "LogAppendTime", m, sizeof m),
                     ADM_TCFG_OK);
    ck_assert_int_eq(validate("message.format.version", "0.10.0", "leader.replication.throttled.replicas", "0:1,1:0",
                              m, sizeof m), ADM_TCFG_OK);
    ck_assert_int_eq(validate("message.format.version", "2.4-IV1", "follower.replication.throttled.replicas", "*",
                              m, sizeof m), ADM_TCFG_OK);
    ck_assert_int_eq(validate(NULL, NULL, NULL, NULL, m, sizeof m), ADM_TCFG_OK);
}
END_TEST

START_TEST(tcfg_validate_errors)
{
    char m[512];
    ck_assert_int_eq(validate("retention.ms", "1000", "nope", "x", m, sizeof m), ADM_TCFG_UNKNOWN);
    ck_assert_str_eq(m, "Unknown topic config name: nope");
    ck_assert_int_eq(validate("retention.ms", "x", NULL, NULL, m, sizeof m), ADM_TCFG_BADVALUE);
    ck_assert_str_eq(m, "Invalid value x for configuration retention.ms: Not a number of type LONG");
    ck_assert_int_eq(validate("segment.bytes", "13", NULL, NULL, m, sizeof m), ADM_TCFG_BADVALUE);
    ck_assert_str_eq(m, "Invalid value 13 for configuration segment.bytes: Value must be at least 14");
    ck_assert_int_eq(validate("segment.bytes", "3000000000", NULL, NULL, m, sizeof m), ADM_TCFG_BADVALUE);
    ck_assert_str_eq(m, "Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT");
    ck_assert_int_eq(validate("retention.ms", "-2", NULL, NULL, m, sizeof m), ADM_TCFG_BADVALUE);
    ck_assert_str_eq(m, "Invalid value -2 for configuration retention.ms: Value must be at least -1");
    ck_assert_int_eq(validate("cleanup.policy", "compact, deleet", NULL, NULL, m, sizeof m), ADM_TCFG_BADVALUE);
    ck_assert_str_eq(m, "Invalid value deleet for configuration cleanup.policy: String must be one of: compact, delete");
    ck_assert_int_eq(validate("compression.type", "brotli", NULL, NULL, m, sizeof m), ADM_TCFG_BADVALUE);
    ck_assert_str_eq(m, "Invalid value brotli for configuration compression.type: String must be one of: "
                        "uncompressed, zstd, lz4, snappy, gzip, producer");
    ck_assert_int_eq(validate("preallocate", "yes", NULL, NULL, m, sizeof m), ADM_TCFG_BADVALUE);
    ck_assert_str_eq(m, "Invalid value yes for configuration preallocate: Expected value to be either true or false");
    ck_assert_int_eq(validate("min.cleanable.dirty.ratio", "1.5", NULL, NULL, m, sizeof m), ADM_TCFG_BADVALUE);
    ck_assert_str_eq(m, "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1");
    ck_assert_int_eq(validate("message.format.version", "3.0", NULL, NULL, m, sizeof m), ADM_TCFG_BADVALUE);
    ck_assert_int_eq(validate("leader.replication.throttled.replicas", "0-1", NULL, NULL, m, sizeof m),
                     ADM_TCFG_BADVALUE);
    /* definition order decides which bad value is reported */
    ck_assert_int_eq(validate("retention.ms", "x", "segment.bytes", "y", m, sizeof m), ADM_TCFG_BADVALUE);
    ck_assert_str_eq(m, "Invalid value y for configuration segment.bytes: Not a number of type INT");
    ck_assert_int_eq(validate("min.compaction.lag.ms", "10", "max.compaction.lag.ms", "5", m, sizeof m),
                     ADM_TCFG_CONFLICT);
    ck_assert_str_eq(m, "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)");
}
END_TEST

START_TEST(java_double)
{
    char b[64];
    adm_java_double(0.5, b, sizeof b);
    ck_assert_str_eq(b, "0.5");
    adm_java_double(1, b, sizeof b);
    ck_assert_str_eq(b, "1.0");
    adm_java_double(0.0001, b, sizeof b);
    ck_assert_str_eq(b, "1.0E-4");
    adm_java_double(1.7976931348623157E308, b, sizeof b);
    ck_assert_str_eq(b, "1.7976931348623157E308");
    adm_java_double(0.9, b, sizeof b);
    ck_assert_str_eq(b, "0.9");
    adm_java_double(12345678.0, b, sizeof b);
    ck_assert_str_eq(b, "1.2345678E7");
}
END_TEST

static int load(bcfg_t *c, const char *text)
{
    char err[256];
    bcfg_src_t src = {.text = text, .hostname = "localhost"};
    int rc = bcfg_load(c, &src, err, sizeof err);
    if (rc)
        fprintf(stderr, "bcfg_load: %s\n", err);
    return rc;
}

static const adm_centry_t *entry(const adm_centry_t *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

START_TEST(describe_topic)
{
    bcfg_t eff, dflt;
    ck_assert_int_eq(load(&eff, "zookeeper.connect=z:1\nlog.retention.hours=24\nlog.segment.bytes=1048576\n"
                                "log.cleanup.policy=compact, delete\nlog.retention.ms=5000\n"), 0);
    ck_assert_int_eq(load(&dflt, "zookeeper.connect=127.0.0.1:2181\n"), 0);
    zkpaths_config_t base;
    memset(&base, 0, sizeof base);
    adm_tcfg_broker_values(&eff, &base);
    ck_assert_str_eq(zkpaths_config_get(&base, "segment.bytes"), "1048576");
    ck_assert_str_eq(zkpaths_config_get(&base, "retention.ms"), "5000");
    ck_assert_str_eq(zkpaths_config_get(&base, "segment.ms"), "604800000");
    ck_assert_str_eq(zkpaths_config_get(&base, "cleanup.policy"), "compact,delete");
    ck_assert_str_eq(zkpaths_config_get(&base, "min.cleanable.dirty.ratio"), "0.5");
    ck_assert_str_eq(zkpaths_config_get(&base, "message.format.version"), "2.4-IV1");

    zkpaths_config_t ov = cfg2("retention.bytes", " 100 ", "preallocate", "TRUE");
    adm_bprops_t bp = {&eff.effective, &dflt.effective};
    arena_t a;
    arena_init(&a);
    adm_centry_t *v;
    size_t n = adm_tcfg_describe(&bp, &base, &ov, NULL, 0, &a, &v);
    ck_assert_uint_eq(n, 26);
    for (size_t i = 1; i < n; i++)
        ck_assert_int_lt(strcmp(v[i - 1].name, v[i].name), 0);
    /* a topic override: TOPIC_CONFIG first, then the broker's synonyms */
    const adm_centry_t *e = entry(v, n, "retention.bytes");
    ck_assert_str_eq(e->value, "100");
    ck_assert_int_eq(e->source, ADM_SRC_TOPIC);
    ck_assert_uint_eq(e->nsyn, 2);
    ck_assert_str_eq(e->syn[0].name, "retention.bytes");
    ck_assert_int_eq(e->syn[1].source, ADM_SRC_DEFAULT);
    ck_assert_str_eq(e->syn[1].name, "log.retention.bytes");
    ck_assert_str_eq(e->syn[1].value, "-1");
    ck_assert_str_eq(entry(v, n, "preallocate")->value, "true");
    /* set in server.properties: STATIC_BROKER_CONFIG then DEFAULT_CONFIG */
    e = entry(v, n, "segment.bytes");
    ck_assert_int_eq(e->source, ADM_SRC_STATIC_BROKER);
    ck_assert_uint_eq(e->nsyn, 2);
    ck_assert_str_eq(e->syn[0].value, "1048576");
    ck_assert_str_eq(e->syn[1].value, "1073741824");
    ck_assert(!e->is_default);
    /* log.retention.ms set: its synonyms start there (hours follow) */
    e = entry(v, n, "retention.ms");
    ck_assert_int_eq(e->source, ADM_SRC_STATIC_BROKER);
    ck_assert_str_eq(e->syn[0].name, "log.retention.ms");
    ck_assert_str_eq(e->syn[1].name, "log.retention.hours");
    ck_assert_str_eq(e->syn[1].value, "24");
    ck_assert_str_eq(e->syn[2].name, "log.retention.hours");
    ck_assert_int_eq(e->syn[2].source, ADM_SRC_DEFAULT);
    /* nothing set for segment.ms: Kafka 2.4 drops every synonym before log.roll.ms -> none */
    e = entry(v, n, "segment.ms");
    ck_assert_int_eq(e->source, ADM_SRC_DEFAULT);
    ck_assert_uint_eq(e->nsyn, 0);
    ck_assert(e->is_default);
    ck_assert_str_eq(entry(v, n, "leader.replication.throttled.replicas")->value, "");

    /* a name filter */
    const char *names[] = {"retention.ms", "nope", "cleanup.policy"};
    n = adm_tcfg_describe(&bp, &base, NULL, names, 3, &a, &v);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(v[0].name, "cleanup.policy");
    ck_assert_int_eq(v[0].source, ADM_SRC_STATIC_BROKER);
    ck_assert_str_eq(v[0].value, "compact,delete");

    /* broker view */
    const char *bn[] = {"log.retention.hours", "num.partitions", "log.cleaner.threads", "zookeeper.connect",
                        "log.retention.minutes"};
    n = adm_bcfg_describe(&bp, bn, 5, &a, &v);
    ck_assert_uint_eq(n, 5);
    e = entry(v, n, "log.retention.hours");
    ck_assert_int_eq(e->source, ADM_SRC_STATIC_BROKER);
    ck_assert_str_eq(e->value, "24");
    ck_assert(!e->read_only);
    e = entry(v, n, "num.partitions");
    ck_assert_int_eq(e->source, ADM_SRC_DEFAULT);
    ck_assert(e->read_only);
    ck_assert(!entry(v, n, "log.cleaner.threads")->read_only);
    ck_assert_str_eq(entry(v, n, "zookeeper.connect")->value, "z:1");
    e = entry(v, n, "log.retention.minutes");
    ck_assert_ptr_null(e->value);
    ck_assert_uint_eq(e->nsyn, 0);   /* none named log.retention.minutes: all dropped */

    arena_free(&a);
    zkpaths_config_free(&ov);
    zkpaths_config_free(&base);
    bcfg_free(&eff);
    bcfg_free(&dflt);
}
END_TEST

START_TEST(synonym_groups)
{
    const char *s[3];
    ck_assert_uint_eq(adm_cfg_broker_synonyms("log.retention.hours", s), 3);
    ck_assert_str_eq(s[0], "log.retention.ms");
    ck_assert_uint_eq(adm_cfg_broker_synonyms("log.roll.ms", s), 2);
    ck_assert_str_eq(s[1], "log.roll.hours");
    ck_assert_uint_eq(adm_cfg_broker_synonyms("log.flush.interval.ms", s), 2);
    ck_assert_uint_eq(adm_cfg_broker_synonyms("log.flush.scheduler.interval.ms", s), 1);
    ck_assert_uint_eq(adm_cfg_broker_synonyms("num.partitions", s), 1);
    ck_assert_str_eq(s[0], "num.partitions");
}
END_TEST

START_TEST(pid_blocks)
{
    zkpaths_pid_block_t b;
    ck_assert_int_eq(adm_pid_next_block(NULL, 0, 3, &b), 0);
    ck_assert_int_eq(b.broker, 3);
    ck_assert_int_eq(b.block_start, 0);
    ck_assert_int_eq(b.block_end, 999);
    const char *cur = "{\"version\":1,\"broker\":0,\"block_start\":\"1000\",\"block_end\":\"1999\"}";
    ck_assert_int_eq(adm_pid_next_block(cur, strlen(cur), 1, &b), 0);
    ck_assert_int_eq(b.block_start, 2000);
    ck_assert_int_eq(b.block_end, 2999);
    ck_assert_int_eq(b.broker, 1);
    buf_t out = BUF_INIT;
    ck_assert_int_eq(zkpaths_pid_block_encode(&b, &out), 0);
    ck_assert_str_eq(buf_cstr(&out), "{\"version\":1,\"broker\":1,\"block_start\":\"2000\",\"block_end\":\"2999\"}");
    buf_free(&out);
    ck_assert_int_eq(adm_pid_next_block("junk", 4, 1, &b), -1);
    const char *last = "{\"version\":1,\"broker\":0,\"block_start\":\"9223372036854774808\","
                       "\"block_end\":\"9223372036854775807\"}";
    ck_assert_int_eq(adm_pid_next_block(last, strlen(last), 1, &b), -2);

    adm_pid_t p;
    memset(&p, 0, sizeof p);
    int64_t id;
    ck_assert_int_eq(adm_pid_take(&p, &id), -1);
    zkpaths_pid_block_t small = {0, 5, 7};
    adm_pid_set_block(&p, &small);
    ck_assert_int_eq(adm_pid_take(&p, &id), 0);
    ck_assert_int_eq(id, 5);
    ck_assert_int_eq(adm_pid_take(&p, &id), 0);
    ck_assert_int_eq(adm_pid_take(&p, &id), 0);
    ck_assert_int_eq(id, 7);
    ck_assert_int_eq(adm_pid_take(&p, &id), -1);
    ck_assert(!p.have);
}
END_TEST

START_TEST(chg_notifications)
{
    const char *names[] = {"config_change_0000000010", "junk", "config_change_0000000002", "config_change_x",
                           "config_change_0000000003"};
    adm_chg_item_t items[5];
    size_t n = adm_chg_sort(names, 5, items);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(items[0].seq, 2);
    ck_assert_int_eq(items[1].seq, 3);
    ck_assert_int_eq(items[2].seq, 10);
    ck_assert_str_eq(items[2].child, "config_change_0000000010");

    char *t;
    const char *v2 = "{\"version\":2,\"entity_path\":\"topics/t2\"}";
    ck_assert_int_eq(adm_chg_parse(v2, strlen(v2), &t), ADM_CHG_TOPIC);
    ck_assert_str_eq(t, "t2");
    free(t);
    const char *v1 = "{\"version\":1,\"entity_type\":\"topics\",\"entity_name\":\"old.t\"}";
    ck_assert_int_eq(adm_chg_parse(v1, strlen(v1), &t), ADM_CHG_TOPIC);
    ck_assert_str_eq(t, "old.t");
    free(t);
    const char *cl = "{\"version\":2,\"entity_path\":\"clients/c1\"}";
    ck_assert_int_eq(adm_chg_parse(cl, strlen(cl), &t), ADM_CHG_OTHER);
    ck_assert_ptr_null(t);
    const char *bad = "{\"version\":2,\"entity_path\":\"topics/a b\"}";
    ck_assert_int_eq(adm_chg_parse(bad, strlen(bad), &t), ADM_CHG_BAD);
    ck_assert_int_eq(adm_chg_parse("{", 1, &t), ADM_CHG_BAD);
    ck_assert_int_eq(adm_chg_parse(NULL, 0, &t), ADM_CHG_BAD);
    ck_assert(!adm_chg_expired(1000, 1000 + ADM_CHG_EXPIRE_MS));
    ck_assert(adm_chg_expired(1000, 1001 + ADM_CHG_EXPIRE_MS));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("adm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, tcfg_table);
    tcase_add_test(tc, tcfg_validate_ok);
    tcase_add_test(tc, tcfg_validate_errors);
    tcase_add_test(tc, java_double);
    tcase_add_test(tc, describe_topic);
    tcase_add_test(tc, synonym_groups);
    tcase_add_test(tc, pid_blocks);
    tcase_add_test(tc, chg_notifications);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
