/* Unit tests: ACLs — digests, addauth, identity order (whoAmI / "auth" expansion as a
 * live ZooKeeper 3.8.0 lists them), ip/CIDR matching, permission checks, fix-up. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "coord/acl.h"

static int add(acl_auth_t *a, const char *cred)
{
    return acl_add_auth(a, "digest", (const uint8_t *)cred, (int32_t)strlen(cred), NULL);
}

START_TEST(digest_values)
{
    /* verified with zkCli getAcl and with the live server's auth expansion */
    const char *cases[][2] = {
        {"alice:secret", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="},
        {"bob:pw", "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="},
        {"carol", "carol:KLkrVu5kuS67cthl8XLvAMcI34M="},        /* no ':' -> the whole string is the user */
        {"dave:x:y", "dave:aG7CLPh2awvvvpMLpLzGLU3FrOs="},      /* split at the first ':' */
    };
    for (size_t i = 0; i < 4; i++) {
        char *d = acl_digest(cases[i][0]);
        ck_assert_str_eq(d, cases[i][1]);
        free(d);
    }
}
END_TEST

START_TEST(identity_order_like_3_8)
{
    acl_auth_t a;
    acl_auth_init(&a, "127.0.0.1");
    ck_assert_int_eq(add(&a, "alice:secret"), 0);
    ck_assert_int_eq(add(&a, "bob:pw"), 0);
    ck_assert_int_eq(add(&a, "carol"), 0);
    ck_assert_int_eq(add(&a, "dave:x:y"), 0);
    ck_assert_int_eq(add(&a, "alice:secret"), 0);   /* a set: no duplicate */
    ck_assert_uint_eq(a.n, 5);
    size_t order[5];
    acl_auth_order(&a, order);
    /* live 3.8.0 whoAmI: digest alice, bob, carol, dave, then ip 127.0.0.1 */
    const char *users[] = {"alice", "bob", "carol", "dave", "127.0.0.1"};
    for (size_t i = 0; i < 5; i++) {
        char *u = acl_user_name(a.v[order[i]].scheme, a.v[order[i]].id);
        ck_assert_str_eq(u, users[i]);
        free(u);
    }
    /* "auth" expands to the digest identities in that order */
    zkp_ACL in[1] = {{ZK_PERM_ALL, {"auth", ""}}};
    jute_vec_t out;
    ck_assert_int_eq(acl_fixup(in, 1, &a, &out), 0);
    ck_assert_int_eq(out.n, 4);
    zkp_ACL *v = out.v;
    ck_assert_str_eq(v[0].id.id, "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=");
    ck_assert_str_eq(v[3].id.id, "dave:aG7CLPh2awvvvpMLpLzGLU3FrOs=");
    ck_assert_str_eq(v[2].id.scheme, "digest");
    ck_assert_int_eq(v[2].perms, ZK_PERM_ALL);
    acl_vec_free(&out);
    acl_auth_free(&a);

    /* super: the digest of superDigest adds super:"" (live 3.8.0 whoAmI: digest super, super "", ip) */
    acl_auth_init(&a, "127.0.0.1");
    ck_assert_int_eq(acl_add_auth(&a, "digest", (const uint8_t *)"super:pw", 8, "super:0bX78nEegDzJM3ju0iLBEJdWzjg="),
                     0);
    ck_assert(a.super);
    ck_assert_uint_eq(a.n, 3);
    size_t o3[3];
    acl_auth_order(&a, o3);
    ck_assert_str_eq(a.v[o3[0]].scheme, "digest");
    ck_assert_str_eq(a.v[o3[1]].scheme, "super");
    ck_assert_str_eq(a.v[o3[2]].scheme, "ip");
    char *u = acl_user_name("super", "");
    ck_assert_str_eq(u, "");
    free(u);
    /* auth expansion skips super and ip */
    ck_assert_int_eq(acl_fixup(in, 1, &a, &out), 0);
    ck_assert_int_eq(out.n, 1);
    acl_vec_free(&out);
    acl_auth_free(&a);
}
END_TEST

START_TEST(add_auth_schemes)
{
    acl_auth_t a;
    acl_auth_init(&a, "10.1.2.3");
    ck_assert_int_eq(acl_add_auth(&a, "foo", (const uint8_t *)"x", 1, NULL), ZAUTHFAILED);
    ck_assert_int_eq(acl_add_auth(&a, NULL, NULL, 0, NULL), ZAUTHFAILED);
    ck_assert_int_eq(acl_add_auth(&a, "ip", (const uint8_t *)"anything", 8, NULL), 0);
    ck_assert_uint_eq(a.n, 1);
    ck_assert_int_eq(acl_add_auth(&a, "digest", (const uint8_t *)"u:p", 3, "super:nomatch"), 0);
    ck_assert(!a.super);
    ck_assert_int_eq(acl_add_auth(&a, "digest", NULL, -1, NULL), 0);   /* empty credential: user "" */
    ck_assert_uint_eq(a.n, 3);
    acl_auth_free(&a);
    acl_auth_init(&a, NULL);
    ck_assert_uint_eq(a.n, 0);
    acl_auth_free(&a);
}
END_TEST

START_TEST(ip_patterns)
{
    ck_assert(acl_ip_match("127.0.0.0/8", "127.0.0.1"));
    ck_assert(!acl_ip_match("10.0.0.0/8", "127.0.0.1"));
    ck_assert(acl_ip_match("127.0.0.1", "127.0.0.1"));
    ck_assert(!acl_ip_match("127.0.0.2", "127.0.0.1"));
    ck_assert(acl_ip_match("0.0.0.0/0", "203.0.113.9"));
    ck_assert(acl_ip_match("192.168.1.128/25", "192.168.1.200"));
    ck_assert(!acl_ip_match("192.168.1.128/25", "192.168.1.100"));
    ck_assert(acl_ip_match("10.20.0.0/12", "10.31.255.255"));
    ck_assert(!acl_ip_match("10.20.0.0/12", "10.32.0.0"));
    ck_assert(!acl_ip_match("::1", "::1"));   /* 3.8 has no IPv6 support */
    ck_assert(acl_ip_valid("10.0.0.0/8"));
    ck_assert(acl_ip_valid("01.2.3.4/+8"));   /* Java parseInt is lenient */
    ck_assert(!acl_ip_valid("10.0.0.1/33"));
    ck_assert(!acl_ip_valid("10.0.0.1/-1"));
    ck_assert(!acl_ip_valid("10.0.0.1/"));
    ck_assert(!acl_ip_valid("10.0.0"));
    ck_assert(!acl_ip_valid("10.0.0.256"));
    ck_assert(!acl_ip_valid("10.0.0.1."));
    ck_assert(!acl_ip_valid("::1"));
    ck_assert(!acl_ip_valid(""));
    ck_assert(!acl_ip_valid(NULL));
}
END_TEST

START_TEST(permission_checks)
{
    acl_auth_t a;
    acl_auth_init(&a, "127.0.0.1");
    zkp_ACL world_r[1] = {{ZK_PERM_READ, {"world", "anyone"}}};
    ck_assert(acl_check(world_r, 1, ZK_PERM_READ, &a));
    ck_assert(!acl_check(world_r, 1, ZK_PERM_WRITE, &a));
    ck_assert(acl_check(world_r, 1, ZK_PERM_READ | ZK_PERM_ADMIN, &a));   /* any requested bit */
    ck_assert(acl_check(NULL, 0, ZK_PERM_ALL, &a));                      /* empty list allows */
    zkp_ACL dig[2] = {{ZK_PERM_ALL, {"digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="}},
                      {ZK_PERM_READ, {"ip", "127.0.0.0/8"}}};
    ck_assert(!acl_check(dig, 2, ZK_PERM_WRITE, &a));
    ck_assert(acl_check(dig, 2, ZK_PERM_READ, &a));
    ck_assert(!acl_check(dig, 2, ZK_PERM_READ, NULL));
    add(&a, "alice:secret");
    ck_assert(acl_check(dig, 2, ZK_PERM_WRITE, &a));
    zkp_ACL odd[2] = {{ZK_PERM_ALL, {"world", "someone"}}, {ZK_PERM_ALL, {"sasl", "alice"}}};
    ck_assert(!acl_check(odd, 2, ZK_PERM_READ, &a));
    acl_auth_free(&a);
    acl_auth_init(&a, "10.0.0.1");
    ck_assert(!acl_check(dig, 2, ZK_PERM_READ, &a));
    acl_add_auth(&a, "digest", (const uint8_t *)"super:pw", 8, "super:0bX78nEegDzJM3ju0iLBEJdWzjg=");
    ck_assert(acl_check(dig, 2, ZK_PERM_ADMIN, &a));   /* super bypasses */
    acl_auth_free(&a);
}
END_TEST

/* Each verdict as a live 3.8.0 answered create with that ACL. */
START_TEST(fixup_like_3_8)
{
    acl_auth_t a;
    acl_auth_init(&a, "127.0.0.1");
    jute_vec_t out;
    struct { zkp_ACL acl; int err; } cases[] = {
        {{0x7f, {"world", "anyone"}}, 0},   /* perms are not range-checked */
        {{31, {"world", "nobody"}}, ZINVALIDACL},
        {{31, {"ip", "10.0.0.0/8"}}, 0},
        {{31, {"ip", "::1"}}, ZINVALIDACL},
        {{31, {"ip", "10.0.0.1/33"}}, ZINVALIDACL},
        {{31, {"super", ""}}, ZINVALIDACL},
        {{31, {"digest", "bob:"}}, ZINVALIDACL},
        {{31, {"digest", ":x"}}, 0},
        {{31, {"digest", "x:y:z"}}, ZINVALIDACL},
        {{31, {"digest", "x:y"}}, 0},
        {{31, {"auth", ""}}, ZINVALIDACL},   /* no digest identity yet */
        {{31, {NULL, "x"}}, ZINVALIDACL},
        {{31, {"sasl", "x"}}, ZINVALIDACL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int err = acl_fixup(&cases[i].acl, 1, &a, &out);
        ck_assert_msg(err == cases[i].err, "case %zu: %d", i, err);
        ck_assert_int_eq(out.n, err ? 0 : 1);
        acl_vec_free(&out);
    }
    ck_assert_int_eq(acl_fixup(NULL, 0, &a, &out), ZINVALIDACL);
    ck_assert_int_eq(acl_fixup(NULL, -1, &a, &out), ZINVALIDACL);
    /* duplicates go; order is kept */
    zkp_ACL dup[3] = {{0x7f, {"world", "anyone"}}, {31, {"digest", "x:y"}}, {31, {"digest", "x:y"}}};
    ck_assert_int_eq(acl_fixup(dup, 3, &a, &out), 0);
    ck_assert_int_eq(out.n, 2);
    ck_assert_int_eq(((zkp_ACL *)out.v)[0].perms, 0x7f);
    acl_vec_free(&out);
    /* one bad entry spoils the list */
    zkp_ACL mixed[2] = {{31, {"world", "anyone"}}, {31, {"foo", "x"}}};
    ck_assert_int_eq(acl_fixup(mixed, 2, &a, &out), ZINVALIDACL);
    ck_assert_int_eq(out.n, 0);
    ck_assert(acl_digest_id_valid("a:b"));
    ck_assert(!acl_digest_id_valid("a"));
    ck_assert(!acl_digest_id_valid("::"));
    ck_assert(!acl_digest_id_valid(""));
    acl_auth_free(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("acl");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, digest_values);
    tcase_add_test(tc, identity_order_like_3_8);
    tcase_add_test(tc, add_auth_schemes);
    tcase_add_test(tc, ip_patterns);
    tcase_add_test(tc, permission_checks);
    tcase_add_test(tc, fixup_like_3_8);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
