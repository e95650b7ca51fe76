/* adm_chg.c — config change notifications (see adm_chg.h). */
#include "broker/adm_chg.h"

#include <stdlib.h>
#include <string.h>

#include "broker/zkpaths.h"
#include "common/alloc.h"

static int cmp_item(const void *x, const void *y)
{
    const adm_chg_item_t *a = x, *b = y;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

size_t adm_chg_sort(const char *const *names, size_t n, adm_chg_item_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t seq;
        if (zkpaths_parse_seq(names[i], ZKPATHS_CONFIG_CHANGE_PREFIX, &seq) == 0)
            out[k++] = (adm_chg_item_t){names[i], seq};
    }
    qsort(out, k, sizeof *out, cmp_item);
    return k;
}

int adm_chg_parse(const void *data, size_t len, char **name)
{
    *name = NULL;
    char *path = NULL;
    if (zkpaths_config_change_decode(data, len, &path))
        return ADM_CHG_BAD;
    static const char pre[] = "topics/";
    int rc = ADM_CHG_OTHER;
    if (strncmp(path, pre, sizeof pre - 1) == 0) {
        const char *t = path + sizeof pre - 1;
        if (zkpaths_topic_valid(t)) {
            *name = xstrdup(t);
            rc = ADM_CHG_TOPIC;
        } else {
            rc = ADM_CHG_BAD;
        }
    }
    free(path);
    return rc;
}
