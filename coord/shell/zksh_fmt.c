/* zksh_fmt.c — zkCli's output formats (StatPrinter, Date.toString, jute's
 * Id.toString, ZKUtil.getPermString, KeeperException and CliWrapperException
 * messages) and its ACL parser (cli/AclParser.java). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "coord/shell/zksh_int.h"

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

/* Length of the longest valid prefix of a UTF-8 sequence at s (the "maximal
 * subpart" that one U+FFFD replaces), or the full length if it is valid. Sets
 * *valid. */
static size_t utf8_scan(const unsigned char *s, size_t n, bool *valid)
{
    unsigned c = s[0];
    *valid = false;
    if (c < 0x80) {
        *valid = true;
        return 1;
    }
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 1;
    }
    size_t i = 1;
    for (; i <= need; i++) {
        if (i >= n)
            return i;
        unsigned b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            return i;
    }
    *valid = true;
    return need + 1;
}

void zksh_put_utf8(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i = 0, run = 0;
    while (i < n) {
        bool valid;
        size_t len = utf8_scan(s + i, n - i, &valid);
        if (valid) {
            i += len;
            run += len;
            continue;
        }
        if (run)
            fwrite(s + i - run, 1, run, f);
        run = 0;
        fwrite(REPLACEMENT, 1, 3, f);
        i += len;
    }
    if (run)
        fwrite(s + n - run, 1, run, f);
}

void zksh_java_date(int64_t ms, char *buf, size_t n)
{
    /* floor division: dates before 1970 round down like Java's */
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    struct tm tm;
    localtime_r(&secs, &tm);
    strftime(buf, n, "%a %b %d %H:%M:%S %Z %Y", &tm);
}

void zksh_print_stat(FILE *f, const zkp_Stat *st)
{
    char c[64], m[64];
    zksh_java_date(st->ctime, c, sizeof c);
    zksh_java_date(st->mtime, m, sizeof m);
    fprintf(f,
            "cZxid = 0x%llx\nctime = %s\nmZxid = 0x%llx\nmtime = %s\npZxid = 0x%llx\ncversion = %d\n"
            "dataVersion = %d\naclVersion = %d\nephemeralOwner = 0x%llx\ndataLength = %d\nnumChildren = %d\n",
            (unsigned long long)st->czxid, c, (unsigned long long)st->mzxid, m, (unsigned long long)st->pzxid,
            st->cversion, st->version, st->aversion, (unsigned long long)st->ephemeralOwner, st->dataLength,
            st->numChildren);
}

void zksh_perm_string(int32_t perms, char buf[8])
{
    int i = 0;
    if (perms & ZK_PERM_CREATE)
        buf[i++] = 'c';
    if (perms & ZK_PERM_DELETE)
        buf[i++] = 'd';
    if (perms & ZK_PERM_READ)
        buf[i++] = 'r';
    if (perms & ZK_PERM_WRITE)
        buf[i++] = 'w';
    if (perms & ZK_PERM_ADMIN)
        buf[i++] = 'a';
    buf[i] = '\0';
}

static void put_csv(FILE *f, const char *s)
{
    if (!s)
        return;
    fputc('\'', f);
    for (; *s; s++) {
        switch (*s) {
        case '\n': fputs("%0A", f); break;
        case '\r': fputs("%0D", f); break;
        case ',': fputs("%2C", f); break;
        case '}': fputs("%7D", f); break;
        case '%': fputs("%25", f); break;
        default: fputc(*s, f); break;
        }
    }
}

void zksh_print_id(FILE *f, const zkp_Id *id)
{
    put_csv(f, id->scheme);
    fputc(',', f);
    put_csv(f, id->id);
    fputc('\n', f);
}

static int32_t perm_from_string(const char *s, size_t n, FILE *err)
{
    int32_t perm = 0;
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case 'r': perm |= ZK_PERM_READ; break;
        case 'w': perm |= ZK_PERM_WRITE; break;
        case 'c': perm |= ZK_PERM_CREATE; break;
        case 'd': perm |= ZK_PERM_DELETE; break;
        case 'a': perm |= ZK_PERM_ADMIN; break;
        default: fprintf(err, "Unknown perm type: %c\n", s[i]); break;
        }
    }
    return perm;
}

int zksh_acl_parse(const char *s, FILE *err, zkp_ACL **out)
{
    zkp_ACL *acl = NULL;
    int n = 0;
    /* String.split(","): trailing empty strings are dropped */
    char *copy = xstrdup(s);
    size_t len = strlen(copy);
    while (len && copy[len - 1] == ',')
        copy[--len] = '\0';
    if (len == 0 && *s) {   /* only commas: no elements at all */
        free(copy);
        *out = NULL;
        return 0;
    }
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *first = strchr(p, ':');
        char *last = strrchr(p, ':');
        if (!first || first == last) {
            if (*p || comma || len == 0)
                fprintf(err, "%s does not have the form scheme:id:perm\n", p);
        } else {
            acl = xrealloc(acl, (size_t)(n + 1) * sizeof *acl);
            acl[n].id.scheme = xstrndup(p, (size_t)(first - p));
            acl[n].id.id = xstrndup(first + 1, (size_t)(last - first - 1));
            acl[n].perms = perm_from_string(last + 1, strlen(last + 1), err);
            n++;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    free(copy);
    *out = acl;
    return n;
}

void zksh_acl_free(zkp_ACL *acl, int n)
{
    for (int i = 0; i < n; i++) {
        free(acl[i].id.scheme);
        free(acl[i].id.id);
    }
    free(acl);
}

static const char *code_message(int rc, char *tmp, size_t n)
{
    switch (rc) {
    case ZOK: return "ok";
    case ZSYSTEMERROR: return "SystemError";
    case ZRUNTIMEINCONSISTENCY: return "RuntimeInconsistency";
    case ZDATAINCONSISTENCY: return "DataInconsistency";
    case ZCONNECTIONLOSS: return "ConnectionLoss";
    case ZMARSHALLINGERROR: return "MarshallingError";
    case ZNEWCONFIGNOQUORUM: return "NewConfigNoQuorum";
    case ZRECONFIGINPROGRESS: return "ReconfigInProgress";
    case ZUNIMPLEMENTED: return "Unimplemented";
    case ZOPERATIONTIMEOUT: return "OperationTimeout";
    case ZBADARGUMENTS: return "BadArguments";
    case ZAPIERROR: return "APIError";
    case ZNONODE: return "NoNode";
    case ZNOAUTH: return "NoAuth";
    case ZBADVERSION: return "BadVersion";
    case ZNOCHILDRENFOREPHEMERALS: return "NoChildrenForEphemerals";
    case ZNODEEXISTS: return "NodeExists";
    case ZINVALIDACL: return "InvalidACL";
    case ZAUTHFAILED: return "AuthFailed";
    case ZNOTEMPTY: return "Directory not empty";
    case ZSESSIONEXPIRED: return "Session expired";
    case ZINVALIDCALLBACK: return "Invalid callback";
    case ZSESSIONMOVED: return "Session moved";
    case ZNOTREADONLY: return "Not a read-only call";
    case ZEPHEMERALONLOCALSESSION: return "Ephemeral node on local session";
    case ZNOWATCHER: return "No such watcher";
    case ZRECONFIGDISABLED: return "Reconfig is disabled";
    case ZSESSIONCLOSEDREQUIRESASLAUTH: return "Session closed because client failed to authenticate";
    case ZQUOTAEXCEEDED: return "Quota has exceeded";
    case ZTHROTTLEDOP: return "Op throttled due to high load";
    case ZUNKNOWNSESSION: return "Unknown error UNKNOWNSESSION";
    case ZREQUESTTIMEOUT: return "Unknown error REQUESTTIMEOUT";
    default: snprintf(tmp, n, "Unknown error %d", rc); return tmp;
    }
}

void zksh_keeper_message(int rc, const char *path, char *buf, size_t n)
{
    char tmp[48];
    const char *m = code_message(rc, tmp, sizeof tmp);
    if (path && *path)
        snprintf(buf, n, "KeeperErrorCode = %s for %s", m, path);
    else
        snprintf(buf, n, "KeeperErrorCode = %s", m);
}

void zksh_cli_message(int rc, const char *path, char *buf, size_t n)
{
    const char *p = path ? path : "null";
    switch (rc) {
    case ZNONODE: snprintf(buf, n, "Node does not exist: %s", p); return;
    case ZNOCHILDRENFOREPHEMERALS: snprintf(buf, n, "Ephemerals cannot have children: %s", p); return;
    case ZNODEEXISTS: snprintf(buf, n, "Node already exists: %s", p); return;
    case ZNOTEMPTY: snprintf(buf, n, "Node not empty: %s", p); return;
    case ZNOTREADONLY: snprintf(buf, n, "Not a read-only call: %s", p); return;
    case ZINVALIDACL: snprintf(buf, n, "Acl is not valid : %s", p); return;
    case ZNOAUTH: snprintf(buf, n, "Insufficient permission : %s", p); return;
    case ZBADARGUMENTS: snprintf(buf, n, "Arguments are not valid : %s", p); return;
    case ZBADVERSION: snprintf(buf, n, "version No is not valid : %s", p); return;
    case ZRECONFIGINPROGRESS:
        snprintf(buf, n, "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)");
        return;
    case ZNEWCONFIGNOQUORUM:
        snprintf(buf, n, "No quorum of new config is connected and up-to-date with the leader of last "
                         "commmitted config - try invoking reconfiguration after new servers are connected "
                         "and synced");
        return;
    case ZQUOTAEXCEEDED: snprintf(buf, n, "Quota has exceeded : %s", p); return;
    default: zksh_keeper_message(rc, path, buf, n); return;
    }
}
