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
 * and sets a->super. Returns 0, or ZAUTHFAILED for an unknown scheme or malformed credential
 * (no ':' in the credential). */
int acl_add_auth(acl_auth_t *a, const char *scheme, const uint8_t *auth, int32_t len, const char *super_digest);

/* Permission check as ZooKeeper 3.8: true if the ACL list is empty, the session is super,
 * or some entry with a perm bit in `perm` matches world:anyone, an identical digest identity,
 * or (ip) the session address within the address/CIDR. */
bool acl_check(const zkp_ACL *acl, int32_t n, int32_t perm, const acl_auth_t *a);

/* Validates and expands a create/setACL ACL list. Scheme "auth" expands to every non-ip
 * identity of the session (ZINVALIDACL if there is none); world must be "anyone"; digest
 * must be "user:hash"; ip must be a valid address or CIDR; perms must lie in 0..31 (a
 * 0-perm entry is kept, as in 3.8); unknown schemes or an empty/null list -> ZINVALIDACL.
 * Duplicates are dropped. On 0, *out (initialised or not) receives a new vector of zkp_ACL
 * the caller frees with acl_vec_free. On error *out is left empty. */
int acl_fixup(const zkp_ACL *in, int32_t n, const acl_auth_t *a, jute_vec_t *out);
void acl_vec_free(jute_vec_t *v);

/* "user:password" -> "user:base64(sha1(user:password))" (heap string, caller frees). */
char *acl_digest(const char *user_colon_password);

/* Parses "a.b.c.d[/bits]" or an IPv6 address[/bits]; true if `addr` lies in it. */
bool acl_ip_match(const char *pattern, const char *addr);
/* True if `pattern` is a valid ip ACL id. */
bool acl_ip_valid(const char *pattern);

#endif
