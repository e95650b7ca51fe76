/* adm_chg.h — the config change notifications under /config/changes, as Kafka's
 * ZkNodeChangeNotificationListener + ConfigChangedNotificationHandler read them: children
 * config_change_NNNNNNNNNN are processed in sequence order, each once (sequence above the
 * last processed), and deleted once older than 15 minutes.
 *
 * Pure. Prefix adm_chg_. */
#ifndef GREGOR_BROKER_ADM_CHG_H
#define GREGOR_BROKER_ADM_CHG_H

#include <stddef.h>
#include <stdint.h>

/* Kafka's changeExpirationMs. */
#define ADM_CHG_EXPIRE_MS (15 * 60 * 1000)

typedef struct adm_chg_item_s {
    const char *child;      /* points into the input */
    int64_t seq;
} adm_chg_item_t;

/* The notification children of names[0..n), sorted by sequence (others are left out).
 * out must have room for n. Returns the count. */
size_t adm_chg_sort(const char *const *names, size_t n, adm_chg_item_t *out);

/* What a notification's data means. */
enum adm_chg_kind {
    ADM_CHG_BAD = -1,       /* not a notification Kafka writes */
    ADM_CHG_TOPIC = 0,      /* topics/T: *name = T */
    ADM_CHG_OTHER = 1,      /* clients, users, brokers: nothing for Gregor to apply */
};
/* Decodes version 1 or 2; *name is a new heap string for ADM_CHG_TOPIC (else NULL). */
int adm_chg_parse(const void *data, size_t len, char **name);

/* True if a notification created at ctime_ms is old enough to delete at now_ms. */
static inline int adm_chg_expired(int64_t ctime_ms, int64_t now_ms)
{
    return now_ms - ctime_ms > ADM_CHG_EXPIRE_MS;
}

#endif
