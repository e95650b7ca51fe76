/* zksh.c — the `gregor zk` session: command-line options, the connection, the
 * watcher that prints events, command history, and the read-eval loop.
 *
 * Everything runs on one libevent loop and one thread. Commands are
 * synchronous (zkc_sync_*), so the loop runs inside each command; while the
 * shell waits for input it runs the loop too, so watch events print as they
 * arrive. Input is never read from inside a libevent callback: the stdin event
 * only marks stdin readable and the outer loop reads it (libedit's
 * rl_callback_read_char on a terminal, read() otherwise), which lets tab
 * completion issue synchronous requests.
 *
 * As in zkCli: no prompt and "JLine support is disabled" when stdin is not a
 * terminal; a session is not closed at end of input or after a one-shot
 * command (only by quit/close); exit status is that of the last command. */
#include "coord/shell/zksh.h"

#include <errno.h>
#include <event2/event.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

#include "common/alloc.h"
#include "common/log.h"
#include "coord/shell/zksh_int.h"
#include "coord/zkc_int.h"

/* readline's callbacks carry no context */
static zksh_t *g_sh;

/* ---- input ---- */

typedef struct input_s {
    struct event *ev;       /* stdin readable (when stdin can be polled) */
    bool pollable;
    bool ready;
    bool eof;
    bool skip_lf;           /* a '\r' ended the last line; drop a following '\n' */
    buf_t buf;
    /* libedit */
    bool got_line;
    char *line;
    bool editing;           /* a libedit prompt is on the screen */
} input_t;

static input_t g_in;

static void stdin_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ((input_t *)arg)->ready = true;
}

static void input_init(zksh_t *sh, input_t *in)
{
    memset(in, 0, sizeof *in);
    struct stat st;
    in->pollable = fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(0));
    if (in->pollable) {
        in->ev = event_new(sh->base, 0, EV_READ | EV_PERSIST, stdin_cb, in);
        if (!in->ev || event_add(in->ev, NULL) != 0)
            in->pollable = false;
    }
}

static void input_fini(input_t *in)
{
    if (in->ev)
        event_free(in->ev);
    in->ev = NULL;
    buf_free(&in->buf);
}

/* Runs the event loop (printing watch events) until stdin is readable. */
static void wait_stdin(zksh_t *sh, input_t *in)
{
    fflush(sh->out);
    if (!in->pollable) {
        event_base_loop(sh->base, EVLOOP_NONBLOCK);
        return;
    }
    while (!in->ready) {
        if (event_base_loop(sh->base, EVLOOP_ONCE) != 0)
            break;
    }
    in->ready = false;
}

/* The next line from a non-terminal stdin (BufferedReader.readLine rules:
 * \n, \r or \r\n end a line). NULL at end of input. Caller frees. */
static char *read_line_plain(zksh_t *sh, input_t *in)
{
    for (;;) {
        size_t i = 0;
        if (in->skip_lf && in->buf.len > 0) {
            if (in->buf.data[0] == '\n') {
                memmove(in->buf.data, in->buf.data + 1, in->buf.len - 1);
                in->buf.len--;
            }
            in->skip_lf = false;
        }
        for (; i < in->buf.len; i++)
            if (in->buf.data[i] == '\n' || in->buf.data[i] == '\r')
                break;
        if (i < in->buf.len) {
            char *line = xstrndup((const char *)in->buf.data, i);
            size_t consumed = i + 1;
            if (in->buf.data[i] == '\r') {
                if (i + 1 < in->buf.len) {
                    if (in->buf.data[i + 1] == '\n')
                        consumed++;
                } else {
                    in->skip_lf = true;
                }
            }
            memmove(in->buf.data, in->buf.data + consumed, in->buf.len - consumed);
            in->buf.len -= consumed;
            return line;
        }
        if (in->eof) {
            if (in->buf.len == 0)
                return NULL;
            char *line = xstrndup((const char *)in->buf.data, in->buf.len);
            in->buf.len = 0;
            return line;
        }
        wait_stdin(sh, in);
        char tmp[4096];
        ssize_t n = read(0, tmp, sizeof tmp);
        if (n > 0)
            buf_put(&in->buf, tmp, (size_t)n);
        else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            in->eof = true;
    }
}

static void line_handler(char *line)
{
    g_in.got_line = true;
    g_in.line = line;
    if (!line)
        g_in.eof = true;
    rl_callback_handler_remove();
}

static char *make_prompt(zksh_t *sh)
{
    const char *state = sh->zk ? zkc_state_name(zkc_state(sh->zk)) : "CLOSED";
    return xasprintf("[zk: %s(%s) %d] ", sh->host ? sh->host : "", state, sh->command_count);
}

/* The next line from the terminal, through libedit. NULL at end of input. */
static char *read_line_edit(zksh_t *sh, input_t *in)
{
    char *prompt = make_prompt(sh);
    in->got_line = false;
    in->line = NULL;
    rl_callback_handler_install(prompt, line_handler);
    while (!in->got_line) {
        in->editing = true;
        wait_stdin(sh, in);
        in->editing = false;
        rl_callback_read_char();
    }
    free(prompt);
    char *line = in->line;
    in->line = NULL;
    if (line && *line)
        add_history(line);
    return line;
}

/* ---- completion (JLineZNodeCompleter) ---- */

static char **g_matches;
static int g_nmatches, g_match_idx;

static char *match_generator(const char *text, int state)
{
    (void)text;
    if (state == 0)
        g_match_idx = 0;
    if (g_match_idx < g_nmatches)
        return xstrdup(g_matches[g_match_idx++]);
    return NULL;
}

static void matches_clear(void)
{
    for (int i = 0; i < g_nmatches; i++)
        free(g_matches[i]);
    free(g_matches);
    g_matches = NULL;
    g_nmatches = 0;
}

static void matches_add(const char *s)
{
    g_matches = xrealloc(g_matches, (size_t)(g_nmatches + 1) * sizeof *g_matches);
    g_matches[g_nmatches++] = xstrdup(s);
}

static char **complete(const char *text, int start, int end)
{
    (void)start;
    rl_attempted_completion_over = 1;
    zksh_t *sh = g_sh;
    matches_clear();
    int ts = end;
    while (ts > 0 && rl_line_buffer[ts - 1] != ' ')
        ts--;
    char *token = xstrndup(rl_line_buffer + ts, (size_t)(end - ts));
    if (token[0] == '/') {
        char *slash = strrchr(token, '/');
        const char *prefix = slash + 1;
        char *dir = slash == token ? xstrdup("/") : xstrndup(token, (size_t)(slash - token));
        if (sh->zk && zkc_state_alive(zkc_state(sh->zk))) {
            zkc_reply_t r;
            if (zkc_sync_get_children(sh->zk, dir, NULL, &r) == ZOK) {
                for (int i = 0; i < r.strings.n; i++)
                    if (!strncmp(r.strings.v[i], prefix, strlen(prefix)))
                        matches_add(r.strings.v[i]);
            }
            zkc_reply_free(&r);
        }
        free(dir);
    } else {
        for (const char *const *c = zksh_command_names(); *c; c++)
            if (!strncmp(*c, token, strlen(token)))
                matches_add(*c);
    }
    free(token);
    if (g_nmatches == 0)
        return NULL;
    return rl_completion_matches(text, match_generator);
}

/* ---- watcher ---- */

static void shell_watcher(zkc_t *zk, const zkc_event_t *ev, void *ctx)
{
    (void)zk;
    zksh_t *sh = ctx;
    if (!sh->print_watches)
        return;
    fprintf(sh->out, "\nWATCHER::\n\nWatchedEvent state:%s type:%s path:%s\n", zkc_keeper_state_name(ev->state),
            zkc_event_type_name(ev->type), ev->path ? ev->path : "null");
    fflush(sh->out);
    if (g_in.editing) {
        /* put the prompt (with the current state) and the typed text back */
        char *prompt = make_prompt(sh);
        rl_set_prompt(prompt);
        free(prompt);
        rl_forced_update_display();
    }
}

/* ---- session ---- */

const char *zksh_history_get(const zksh_t *sh, int i)
{
    return i >= 0 && i < sh->nhistory ? sh->history[i] : NULL;
}

void zksh_history_set(zksh_t *sh, int i, const char *line)
{
    if (i < 0)
        return;
    if (i >= sh->nhistory) {
        sh->history = xrealloc(sh->history, (size_t)(i + 1) * sizeof *sh->history);
        for (int j = sh->nhistory; j <= i; j++)
            sh->history[j] = NULL;
        sh->nhistory = i + 1;
    }
    free(sh->history[i]);
    sh->history[i] = xstrdup(line);
}

void zksh_close_zk(zksh_t *sh)
{
    if (sh->zk && zkc_state_alive(zkc_state(sh->zk)))
        zkc_sync_close(sh->zk);
}

int zksh_connect(zksh_t *sh, const char *host)
{
    char *h = xstrdup(host ? host : "");
    if (sh->zk) {
        zksh_close_zk(sh);
        zkc_free(sh->zk);
        sh->zk = NULL;
    }
    free(sh->host);
    sh->host = h;
    zkc_hostport_t *hp;
    int nhp;
    char *chroot;
    char why[512];
    if (zkc_connstr_parse(h, &hp, &nhp, &chroot, why, sizeof why) != ZOK) {
        fprintf(sh->err, "Exception in thread \"main\" java.lang.IllegalArgumentException: %s\n", why);
        return ZKSH_FATAL;
    }
    zkc_hostports_free(hp, nhp);
    free(chroot);
    zkc_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.connect = h;
    cfg.session_timeout_ms = sh->timeout;
    cfg.read_only = sh->readonly;
    cfg.watcher = shell_watcher;
    cfg.watcher_ctx = sh;
    int err;
    sh->zk = zkc_new(sh->base, &cfg, &err);
    if (!sh->zk) {
        fprintf(sh->err, "Exception in thread \"main\" java.lang.IllegalArgumentException: "
                         "A HostProvider may not be empty!\n");
        return ZKSH_FATAL;
    }
    return 0;
}

static void shell_free(zksh_t *sh)
{
    if (sh->zk)
        zkc_free(sh->zk);
    sh->zk = NULL;
    input_fini(&g_in);
    for (int i = 0; i < sh->nhistory; i++)
        free(sh->history[i]);
    free(sh->history);
    free(sh->host);
    if (sh->base)
        event_base_free(sh->base);
    matches_clear();
}

static void shell_exit(zksh_t *sh, int code)
{
    fflush(sh->out);
    fflush(sh->err);
    if (sh->interactive)
        rl_callback_handler_remove();
    shell_free(sh);
    exit(code);
}

void zksh_quit(zksh_t *sh)
{
    zksh_close_zk(sh);
    shell_exit(sh, sh->exit_code);
}

/* ZooKeeperMain.executeLine */
static void execute_line(zksh_t *sh, const char *line)
{
    if (!*line)
        return;
    zksh_argv_t words;
    if (zksh_tokenize(line, &words) == 0) {
        /* cannot happen for a non-empty line (a blank line yields one blank
         * word, as zkCli's regular expression does) */
        zksh_argv_free(&words);
        return;
    }
    zksh_history_set(sh, sh->command_count, line);
    int rc = zksh_process(sh, words.argc, words.argv);
    zksh_argv_free(&words);
    if (rc == ZKSH_FATAL)
        shell_exit(sh, 1);
    sh->exit_code = rc;
    sh->command_count++;
    fflush(sh->out);
}

int zksh_main(int argc, char **argv)
{
    zksh_t shell;
    zksh_t *sh = &shell;
    memset(sh, 0, sizeof *sh);
    g_sh = sh;
    sh->out = stdout;
    sh->err = stderr;
    sh->print_watches = true;
    log_set_level(LOG_OFF);
    setlocale(LC_CTYPE, "");
    /* a dropped server connection or a closed stdout must not kill the shell
     * (zkCli, being Java, ignores SIGPIPE too) */
    signal(SIGPIPE, SIG_IGN);

    const char *server = "localhost:2181", *timeout = "30000";
    int cmd_at = -1;
    bool wait_conn = false;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char **dst = NULL;
        if (!strcmp(opt, "-server"))
            dst = &server;
        else if (!strcmp(opt, "-timeout"))
            dst = &timeout;
        else if (!strcmp(opt, "-r"))
            sh->readonly = true;
        else if (!strcmp(opt, "-waitforconnection"))
            wait_conn = true;
        else if (!strcmp(opt, "-client-configuration")) {
            if (i + 1 < argc)
                fprintf(stderr, "Note: -client-configuration %s is ignored by gregor zk\n", argv[++i]);
            else
                fprintf(stderr, "Error: no argument found for option %s\n", opt);
            continue;
        }
        if (dst) {
            if (i + 1 < argc) {
                *dst = argv[++i];
            } else {
                fprintf(stderr, "Error: no argument found for option %s\n", opt);
                break;
            }
            continue;
        }
        if (opt[0] != '-') {
            cmd_at = i;
            break;
        }
    }
    int32_t to;
    if (zksh_parse_int(timeout, &to)) {
        fprintf(stdout, "Connecting to %s\n", server);
        fflush(stdout);
        fprintf(stderr, "Exception in thread \"main\" java.lang.NumberFormatException: For input string: \"%s\"\n",
                timeout);
        return 1;
    }
    sh->timeout = to;
    sh->base = event_base_new();
    if (!sh->base) {
        fprintf(stderr, "gregor zk: cannot create the event loop\n");
        return 1;
    }
    sh->one_shot = cmd_at >= 0;
    fprintf(sh->out, "Connecting to %s\n", server);
    fflush(sh->out);
    if (zksh_connect(sh, server) == ZKSH_FATAL)
        shell_exit(sh, 1);
    if (wait_conn && zkc_wait_connected(sh->zk, sh->timeout) != ZOK) {
        zksh_close_zk(sh);
        fprintf(sh->err, "Exception in thread \"main\" java.io.IOException: "
                         "org.apache.zookeeper.KeeperException$ConnectionLossException: "
                         "KeeperErrorCode = ConnectionLoss\n");
        shell_exit(sh, 1);
    }

    if (sh->one_shot) {
        int rc = zksh_process(sh, argc - cmd_at, argv + cmd_at);
        if (rc == ZKSH_FATAL)
            rc = 1;
        shell_exit(sh, rc);
    }

    fprintf(sh->out, "Welcome to ZooKeeper!\n");
    sh->interactive = isatty(0) && isatty(1);
    fprintf(sh->out, "JLine support is %s\n", sh->interactive ? "enabled" : "disabled");
    fflush(sh->out);
    input_init(sh, &g_in);
    if (sh->interactive) {
        rl_readline_name = "zkCli";
        rl_attempted_completion_function = complete;
        rl_basic_word_break_characters = " \t/";
        rl_completer_word_break_characters = " \t/";
    }
    for (;;) {
        char *line = sh->interactive ? read_line_edit(sh, &g_in) : read_line_plain(sh, &g_in);
        if (!line)
            break;
        execute_line(sh, line);
        free(line);
    }
    if (sh->interactive)
        fputc('\n', sh->out);
    shell_exit(sh, sh->exit_code);
    return 0;
}
