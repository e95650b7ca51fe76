/* acl.h — ZooKeeper 3.8 access control: session identities, addauth, permission
 * checks and the ACL fix-up done on create/setACL.
 *
 * Pure: no I/O, no clock. Schemes: world (anyone), digest (user:BASE64(SHA1(user:pw))),
 * ip (address or CIDR), auth (create/setACL only: expands to the session's non-ip
 * identities), super (superDigest bypass). */
#ifndef GREGOR_COORD_ACL_H
#define GREGOR_COORD_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/zk_proto.h"

typedef struct acl_ident_s {
    char *scheme;   /* "ip", "digest", "super" */
    char *id;       /* "127.0.0.1", "alice:aYXl...=", "" */
} acl_ident_t;

/* A session's identities, in the order they were added: ip:<client addr> first, then one
 * entry per successful addauth. `super` is set once a superDigest identity was added. */
typedef struct acl_auth_s {
    acl_ident_t *v;
    size_t n;
    bool super;
} acl_auth_t;

/* Starts the identity list with ip:<client_ip> (none if client_ip is NULL or empty). */
void acl_auth_init(acl_auth_t *a, const char *client_ip);
void acl_auth_free(acl_auth_t *a);
/* Adds an identity (copied). Duplicates are ignored. */
void acl_auth_add(acl_auth_t *a, const char *scheme, const char *id);

/* addauth. Scheme "digest" with "user:password" adds digest:user:BASE64(SHA1(user:password));
 * if super_digest ("super:<b64>" style, NULL = none) equals that identity, also adds super:""
 * (before the digest, as 3.8) and sets a->super. As in 3.8 every digest credential is
 * accepted (without ':' the whole string is the user). Scheme "ip" succeeds and adds
 * nothing new (the session already holds ip:<addr>). Any other scheme -> ZAUTHFAILED
 * (3.8 then replies AUTHFAILED and closes the connection). */
int acl_add_auth(acl_auth_t *a, const char *scheme, const uint8_t *auth, int32_t len, const char *super_digest);

/* Permission check as ZooKeeper 3.8: true if the ACL list is empty, the session is super,
 * or some entry with a perm bit in `perm` matches world:anyone, an identical digest identity,
 * or (ip) the session address within the address/CIDR. */
bool acl_check(const zkp_ACL *acl, int32_t n, int32_t perm, const acl_auth_t *a);

/* Validates and expands a create/setACL ACL list (3.8's fixupACL). Exact duplicates in the
 * input are dropped first. Scheme "auth" expands to every digest identity of the session in
 * acl_auth_order (ZINVALIDACL if there is none; ip and super identities are not expanded);
 * world must be "anyone"; digest must be "user:hash"; ip must be a valid IPv4 address or
 * CIDR; unknown schemes or an empty/null list -> ZINVALIDACL. Perms are NOT range-checked:
 * a live 3.8 stores e.g. 127 as given. On 0, *out (initialised or not) receives a new
 * vector of zkp_ACL the caller frees with acl_vec_free. On error *out is left empty. */
int acl_fixup(const zkp_ACL *in, int32_t n, const acl_auth_t *a, jute_vec_t *out);
void acl_vec_free(jute_vec_t *v);

/* The session's identities in the order 3.8 lists them (a Java hash set's iteration order):
 * fills idx[0..a->n) with indexes into a->v. Used for whoAmI and the "auth" expansion. */
void acl_auth_order(const acl_auth_t *a, size_t *idx);
/* whoAmI's user for an identity: digest -> the part before ':', ip -> the address,
 * anything else (super) -> "". Heap string, caller frees. */
char *acl_user_name(const char *scheme, const char *id);
/* True if id is a valid digest ACL id ("user:hash": exactly two ':'-separated fields). */
bool acl_digest_id_valid(const char *id);

/* "user:password" -> "user:base64(sha1(user:password))" (heap string, caller frees). */
char *acl_digest(const char *user_colon_password);

/* Parses "a.b.c.d[/bits]" (IPv4 only, as 3.8); true if `addr` lies in it. */
bool acl_ip_match(const char *pattern, const char *addr);
/* True if `pattern` is a valid ip ACL id. */
bool acl_ip_valid(const char *pattern);

#endif
