/* Unit tests: the pure parts of the `gregor zk` shell — zkCli's word
 * splitting, commons-cli option parsing and its messages, Java number
 * parsing, and the output formats (Stat, dates, ACL ids, UTF-8 replacement,
 * KeeperException / CliWrapperException messages). The expected strings are
 * what the real zkCli.sh 3.8 prints. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord/shell/zksh_int.h"

static char *words(const char *line)
{
    static char out[1024];
    zksh_argv_t a;
    zksh_tokenize(line, &a);
    out[0] = '\0';
    for (int i = 0; i < a.argc; i++) {
        strcat(out, "<");
        strcat(out, a.argv[i]);
        strcat(out, ">");
    }
    zksh_argv_free(&a);
    return out;
}

START_TEST(tokenizer_quotes)
{
    ck_assert_str_eq(words("ls /"), "<ls></>");
    ck_assert_str_eq(words("  create   /a  b  "), "<create></a><b>");
    ck_assert_str_eq(words("create /q 'hello world'"), "<create></q><hello world>");
    ck_assert_str_eq(words("create /q2 \"a b\" "), "<create></q2><a b>");
    ck_assert_str_eq(words("get \"/a\""), "<get></a>");
    ck_assert_str_eq(words("set /a \"\""), "<set></a><>");
    /* a quote inside a word does not group; an unclosed quote is skipped */
    ck_assert_str_eq(words("set /a x\"y z\""), "<set></a><x\"y><z\">");
    ck_assert_str_eq(words("set /a \"unclosed"), "<set></a><unclosed>");
    ck_assert_str_eq(words("a\tb"), "<a><b>");
    /* Java's regex lets \s* give back a blank, which then is a word */
    ck_assert_str_eq(words("   "), "< >");
    ck_assert_str_eq(words(""), "");
}
END_TEST

static int parse(const char *spec, const char *line, zksh_cl_t *cl, char *err)
{
    zksh_argv_t a;
    zksh_tokenize(line, &a);
    int rc = zksh_cl_parse(spec, a.argc, a.argv, cl, err, 256);
    /* args point into a: copy them out for the checks */
    static char keep[ZKSH_MAX_ARGS][128];
    if (rc == 0)
        for (int i = 0; i < cl->nargs; i++) {
            snprintf(keep[i], sizeof keep[i], "%s", cl->args[i]);
            cl->args[i] = keep[i];
        }
    zksh_argv_free(&a);
    return rc;
}

START_TEST(option_parser_commons_cli_rules)
{
    zksh_cl_t cl;
    char err[256];
    ck_assert_int_eq(parse("sv:", "set -s -v 3 /a x", &cl, err), 0);
    ck_assert(cl.has['s'] && cl.has['v']);
    ck_assert_str_eq(cl.val['v'], "3");
    ck_assert_int_eq(cl.nargs, 3);
    ck_assert_str_eq(cl.args[1], "/a");
    zksh_cl_free(&cl);
    /* clustered, attached and '=' values; options after arguments */
    ck_assert_int_eq(parse("sv:", "set -sv 0 /a y", &cl, err), 0);
    ck_assert(cl.has['s']);
    ck_assert_str_eq(cl.val['v'], "0");
    zksh_cl_free(&cl);
    ck_assert_int_eq(parse("sv:", "set -v3 /a y -s", &cl, err), 0);
    ck_assert_str_eq(cl.val['v'], "3");
    ck_assert(cl.has['s']);
    zksh_cl_free(&cl);
    ck_assert_int_eq(parse("sv:", "set -v=7 /a y", &cl, err), 0);
    ck_assert_str_eq(cl.val['v'], "7");
    zksh_cl_free(&cl);
    /* a negative number is a value, not an option */
    ck_assert_int_eq(parse("sv:", "set -v -1 /a y", &cl, err), 0);
    ck_assert_str_eq(cl.val['v'], "-1");
    zksh_cl_free(&cl);
    /* "--" ends the options */
    ck_assert_int_eq(parse("swR?", "ls -- -s", &cl, err), 0);
    ck_assert_int_eq(cl.nargs, 2);
    ck_assert_str_eq(cl.args[1], "-s");
    ck_assert(!cl.has['s']);
    zksh_cl_free(&cl);
    /* errors, worded as zkCli prints them */
    ck_assert_int_eq(parse("swR?", "ls -x /", &cl, err), -1);
    ck_assert_str_eq(err, "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x");
    ck_assert_int_eq(parse("sv:", "set /a -1", &cl, err), -1);
    ck_assert_str_eq(err, "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -1");
    ck_assert_int_eq(parse("sv:", "set -v -s /a x", &cl, err), -1);
    ck_assert_str_eq(err, "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v");
    ck_assert_int_eq(parse("v:", "delete -v", &cl, err), -1);
    ck_assert_str_eq(err, "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v");
    ck_assert_int_eq(parse("swR?", "ls --x /", &cl, err), -1);
    ck_assert_str_eq(err, "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: --x");
    ck_assert_int_eq(parse("sw", "get -sx /", &cl, err), -1);
    ck_assert_str_eq(err, "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -sx");
    /* a lone "-" is an argument */
    ck_assert_int_eq(parse("sw", "get -", &cl, err), 0);
    ck_assert_str_eq(cl.args[1], "-");
    zksh_cl_free(&cl);
}
END_TEST

START_TEST(java_numbers)
{
    int32_t v;
    int64_t l;
    ck_assert_int_eq(zksh_parse_int("42", &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(zksh_parse_int("+7", &v), 0);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(zksh_parse_int("-2147483648", &v), 0);
    ck_assert_int_eq(v, INT32_MIN);
    ck_assert_int_eq(zksh_parse_int("2147483648", &v), -1);
    ck_assert_int_eq(zksh_parse_int("abc", &v), -1);
    ck_assert_int_eq(zksh_parse_int("", &v), -1);
    ck_assert_int_eq(zksh_parse_int("1 ", &v), -1);
    ck_assert_int_eq(zksh_decode_int("0x1f", &v), 0);
    ck_assert_int_eq(v, 31);
    ck_assert_int_eq(zksh_decode_int("010", &v), 0);
    ck_assert_int_eq(v, 8);
    ck_assert_int_eq(zksh_decode_int("#10", &v), 0);
    ck_assert_int_eq(v, 16);
    ck_assert_int_eq(zksh_decode_int("-3", &v), 0);
    ck_assert_int_eq(v, -3);
    ck_assert_int_eq(zksh_decode_int("0", &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(zksh_decode_int("--3", &v), -1);
    ck_assert_int_eq(zksh_parse_long("1099511627775", &l), 0);
    ck_assert(l == 1099511627775LL);
    ck_assert_int_eq(zksh_parse_long("9223372036854775808", &l), -1);
}
END_TEST

static char *capture(void (*fn)(FILE *, void *), void *arg)
{
    static char out[4096];
    FILE *f = fmemopen(out, sizeof out, "w");
    fn(f, arg);
    fclose(f);
    return out;
}

static void do_stat(FILE *f, void *arg) { zksh_print_stat(f, arg); }
static void do_id(FILE *f, void *arg) { zksh_print_id(f, arg); }
static void do_utf8(FILE *f, void *arg) { zksh_put_utf8(f, arg, strlen(arg)); }

START_TEST(stat_and_date_format)
{
    setenv("TZ", "UTC", 1);
    tzset();
    char d[64];
    zksh_java_date(0, d, sizeof d);
    ck_assert_str_eq(d, "Thu Jan 01 00:00:00 UTC 1970");
    zksh_java_date(1795218574000LL, d, sizeof d);
    ck_assert_str_eq(d, "Fri Nov 20 23:49:34 UTC 2026");
    zkp_Stat st = {0x2, 0x1c, 0, 0, 2, -2, -1, (int64_t)0x8000000000000000ULL, 5, 0, 0x22};
    ck_assert_str_eq(capture(do_stat, &st), "cZxid = 0x2\n"
                                            "ctime = Thu Jan 01 00:00:00 UTC 1970\n"
                                            "mZxid = 0x1c\n"
                                            "mtime = Thu Jan 01 00:00:00 UTC 1970\n"
                                            "pZxid = 0x22\n"
                                            "cversion = -2\n"
                                            "dataVersion = 2\n"
                                            "aclVersion = -1\n"
                                            "ephemeralOwner = 0x8000000000000000\n"
                                            "dataLength = 5\n"
                                            "numChildren = 0\n");
}
END_TEST

START_TEST(acl_formats)
{
    zkp_Id id = {"digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="};
    ck_assert_str_eq(capture(do_id, &id), "'digest,'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=\n");
    zkp_Id odd = {"x", "a,b}%c"};
    ck_assert_str_eq(capture(do_id, &odd), "'x,'a%2Cb%7D%25c\n");
    char p[8];
    zksh_perm_string(31, p);
    ck_assert_str_eq(p, "cdrwa");
    zksh_perm_string(ZK_PERM_READ | ZK_PERM_ADMIN, p);
    ck_assert_str_eq(p, "ra");

    char errbuf[512];
    FILE *err = fmemopen(errbuf, sizeof errbuf, "w");
    zkp_ACL *acl;
    int n = zksh_acl_parse("world:anyone:rx,foo:bar,digest:bob:xyz=:r", err, &acl);
    fclose(err);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(acl[0].id.scheme, "world");
    ck_assert_str_eq(acl[0].id.id, "anyone");
    ck_assert_int_eq(acl[0].perms, ZK_PERM_READ);
    ck_assert_str_eq(acl[1].id.id, "bob:xyz=");
    ck_assert_str_eq(errbuf, "Unknown perm type: x\nfoo:bar does not have the form scheme:id:perm\n");
    zksh_acl_free(acl, n);
}
END_TEST

START_TEST(utf8_replacement)
{
    ck_assert_str_eq(capture(do_utf8, "h\xC3\xA9llo"), "h\xC3\xA9llo");
    /* a lone continuation byte, a truncated sequence, an overlong form */
    ck_assert_str_eq(capture(do_utf8, "a\x80" "b"), "a\xEF\xBF\xBD" "b");
    ck_assert_str_eq(capture(do_utf8, "a\xE2\x82" "b"), "a\xEF\xBF\xBD" "b");
    ck_assert_str_eq(capture(do_utf8, "\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}
END_TEST

START_TEST(exception_messages)
{
    char m[256];
    zksh_cli_message(ZNONODE, "/x", m, sizeof m);
    ck_assert_str_eq(m, "Node does not exist: /x");
    zksh_cli_message(ZNODEEXISTS, "/x", m, sizeof m);
    ck_assert_str_eq(m, "Node already exists: /x");
    zksh_cli_message(ZNOTEMPTY, "/x", m, sizeof m);
    ck_assert_str_eq(m, "Node not empty: /x");
    zksh_cli_message(ZBADVERSION, "/x", m, sizeof m);
    ck_assert_str_eq(m, "version No is not valid : /x");
    zksh_cli_message(ZNOAUTH, "/x", m, sizeof m);
    ck_assert_str_eq(m, "Insufficient permission : /x");
    zksh_cli_message(ZINVALIDACL, NULL, m, sizeof m);
    ck_assert_str_eq(m, "Acl is not valid : null");
    zksh_cli_message(ZCONNECTIONLOSS, "/", m, sizeof m);
    ck_assert_str_eq(m, "KeeperErrorCode = ConnectionLoss for /");
    zksh_cli_message(ZNOWATCHER, "/w", m, sizeof m);
    ck_assert_str_eq(m, "KeeperErrorCode = No such watcher for /w");
    zksh_keeper_message(ZINVALIDACL, NULL, m, sizeof m);
    ck_assert_str_eq(m, "KeeperErrorCode = InvalidACL");
    zksh_keeper_message(ZNOAUTH, "/zookeeper/config", m, sizeof m);
    ck_assert_str_eq(m, "KeeperErrorCode = NoAuth for /zookeeper/config");
}
END_TEST

START_TEST(command_table)
{
    ck_assert(zksh_is_command("ls"));
    ck_assert(zksh_is_command("getAllChildrenNumber"));
    ck_assert(!zksh_is_command("rmr"));
    ck_assert(!zksh_is_command("LS"));
    /* sorted as Java sorts strings (upper case first): addWatch before addauth */
    const char *const *n = zksh_command_names();
    ck_assert_str_eq(n[0], "addWatch");
    ck_assert_str_eq(n[1], "addauth");
    for (int i = 1; n[i]; i++)
        ck_assert_int_lt(strcmp(n[i - 1], n[i]), 0);
}
END_TEST

static Suite *shell_suite(void)
{
    Suite *s = suite_create("zkc_shell");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, tokenizer_quotes);
    tcase_add_test(tc, option_parser_commons_cli_rules);
    tcase_add_test(tc, java_numbers);
    tcase_add_test(tc, stat_and_date_format);
    tcase_add_test(tc, acl_formats);
    tcase_add_test(tc, utf8_replacement);
    tcase_add_test(tc, exception_messages);
    tcase_add_test(tc, command_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(shell_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
