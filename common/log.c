#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static enum log_level g_level = LOG_INFO;
static int g_level_from_env = -1;

void log_set_level(enum log_level lvl)
{
    g_level = lvl;
}

enum log_level log_get_level(void)
{
    if (g_level_from_env == -1) {
        const char *e = getenv("GREGOR_LOG");
        int l = e ? log_level_parse(e) : -1;
        g_level_from_env = l >= 0 ? 1 : 0;
        if (l >= 0)
            g_level = (enum log_level)l;
    }
    return g_level;
}

int log_level_parse(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return LOG_WARN;
    return -1;
}

void log_msg(enum log_level lvl, const char *subsys, const char *fmt, ...)
{
    if (lvl < log_get_level())
        return;
    static const char *tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    char line[2048];
    int n = snprintf(line, sizeof line, "%s.%03ld %s [%s] ", ts, (long)(tv.tv_usec / 1000),
                     tags[lvl > LOG_ERROR ? LOG_ERROR : lvl], subsys);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
