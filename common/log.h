/* log.h — leveled logging to stderr with a subsystem tag.
 *
 * Lines look like: 2026-11-20 23:50:01.123 INFO  [coord] message
 * The level is process-wide (log_set_level), set from config or GREGOR_LOG. */
#ifndef GREGOR_COMMON_LOG_H
#define GREGOR_COMMON_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns -1 if unknown. */
int log_level_parse(const char *s);
void log_msg(enum log_level lvl, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_D(sub, ...) do { if (log_get_level() <= LOG_DEBUG) log_msg(LOG_DEBUG, sub, __VA_ARGS__); } while (0)
#define LOG_I(sub, ...) log_msg(LOG_INFO, sub, __VA_ARGS__)
#define LOG_W(sub, ...) log_msg(LOG_WARN, sub, __VA_ARGS__)
#define LOG_E(sub, ...) log_msg(LOG_ERROR, sub, __VA_ARGS__)

#endif
