/* zksh_int.h — internals of the `gregor zk` shell (zkCli.sh compatible), shared
 * by the files of coord/shell/ and the unit tests.
 *
 *   zksh_args.c   line tokenizer (zkCli's quoting rules) and a per-command option
 *                 parser with commons-cli's DefaultParser rules and messages
 *   zksh_fmt.c    output formats: Stat, Java dates, ACL ids, permission letters,
 *                 UTF-8 with Java's replacement of malformed bytes, ACL parsing
 *   zksh_cmds.c   the commands and their table
 *   zksh.c        the session: options, connection, watcher, history, the
 *                 read-eval loop (libedit on a tty, plain lines otherwise)
 *
 * Output goes to sh->out (zkCli's System.out) and sh->err (System.err). */
#ifndef GREGOR_COORD_SHELL_ZKSH_INT_H
#define GREGOR_COORD_SHELL_ZKSH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "coord/zkc.h"

/* ---- tokenizer and option parser (zksh_args.c) ---- */

typedef struct zksh_argv_s {
    int argc;
    char **argv;    /* owned, NULL-terminated */
} zksh_argv_t;

/* Splits a command line as zkCli does: whitespace-separated words, "..." and
 * '...' group words (the quotes are removed). Returns the number of words. */
int zksh_tokenize(const char *line, zksh_argv_t *out);
void zksh_argv_free(zksh_argv_t *a);
void zksh_argv_push(zksh_argv_t *a, const char *s);

#define ZKSH_MAX_ARGS 64

/* The result of parsing a command's words against its options. */
typedef struct zksh_cl_s {
    int nargs;
    const char *args[ZKSH_MAX_ARGS];   /* non-option words, args[0] = command */
    bool has[128];
    char *val[128];                    /* first value of an option with an argument (owned) */
} zksh_cl_t;

/* spec lists the option letters; a ':' after one means it takes a value
 * ("sv:" = -s, -v VALUE). Returns 0, or -1 with commons-cli's exception text
 * in err ("org.apache.commons.cli.UnrecognizedOptionException: Unrecognized
 * option: -x"). Words past ZKSH_MAX_ARGS are dropped. */
int zksh_cl_parse(const char *spec, int argc, char **argv, zksh_cl_t *cl, char *err, size_t errlen);
void zksh_cl_free(zksh_cl_t *cl);

/* Java's Integer.parseInt / Integer.decode. 0 or -1. */
int zksh_parse_int(const char *s, int32_t *out);
int zksh_decode_int(const char *s, int32_t *out);
/* Java's Long.parseLong. */
int zksh_parse_long(const char *s, int64_t *out);

/* ---- output formats (zksh_fmt.c) ---- */

/* Writes bytes as Java would print new String(bytes, UTF_8): malformed
 * sequences become U+FFFD. */
void zksh_put_utf8(FILE *f, const void *p, size_t n);
/* Java's Date.toString(): "Fri Nov 20 23:49:34 UTC 2026" in the local zone. */
void zksh_java_date(int64_t ms, char *buf, size_t n);
/* zkCli's StatPrinter. */
void zksh_print_stat(FILE *f, const zkp_Stat *st);
/* "cdrwa" letters (ZKUtil.getPermString). */
void zksh_perm_string(int32_t perms, char buf[8]);
/* Id.toString(): "'scheme,'id\n" with jute's CSV escaping. */
void zksh_print_id(FILE *f, const zkp_Id *id);
/* AclParser.parse: "scheme:id:perms,..." -> ACL list (owned; free with
 * zksh_acl_free). Prints its complaints to err, as zkCli does. */
int zksh_acl_parse(const char *s, FILE *err, zkp_ACL **out);
void zksh_acl_free(zkp_ACL *acl, int n);
/* KeeperException.getMessage(): "KeeperErrorCode = NoNode for /x". */
void zksh_keeper_message(int rc, const char *path, char *buf, size_t n);
/* CliWrapperException's message for a KeeperException. */
void zksh_cli_message(int rc, const char *path, char *buf, size_t n);

/* ---- the session (zksh.c) and commands (zksh_cmds.c) ---- */

typedef struct zksh_s {
    struct event_base *base;
    zkc_t *zk;
    char *host;             /* connect string as given */
    int timeout;
    bool readonly;
    bool print_watches;
    int exit_code;
    int command_count;
    char **history;         /* history[i] = line of command i (may be NULL) */
    int nhistory;
    bool interactive;       /* line editing on a terminal */
    bool one_shot;
    FILE *out, *err;
} zksh_t;

/* What a command returns: 0, or the exit code of the CliException it threw
 * (its message already printed). ZKSH_FATAL: an uncaught Java exception would
 * have ended zkCli (message printed); the shell exits with status 1. */
#define ZKSH_FATAL (-1000)

/* Runs one parsed command line, as ZooKeeperMain.processZKCmd does. Returns the
 * new exit code (or ZKSH_FATAL). */
int zksh_process(zksh_t *sh, int argc, char **argv);
/* Prints zkCli's usage (to err). */
void zksh_usage(zksh_t *sh);
/* Is name one of zkCli's commands? */
bool zksh_is_command(const char *name);
/* Sorted command names for completion; NULL-terminated static array. */
const char *const *zksh_command_names(void);

/* Session operations used by the commands. */
int zksh_connect(zksh_t *sh, const char *host);
void zksh_close_zk(zksh_t *sh);
void zksh_quit(zksh_t *sh);   /* does not return */
const char *zksh_history_get(const zksh_t *sh, int i);
void zksh_history_set(zksh_t *sh, int i, const char *line);

#endif
