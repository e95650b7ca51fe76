/* adm_tcfg.h — topic configs as Kafka 2.4's LogConfig knows them, and the config entries
 * DescribeConfigs / CreateTopics v5 show (AdminManager.createTopicConfigEntry /
 * createBrokerConfigEntry / configSynonyms).
 *
 * Pure: no sockets, no coordinator, no clock. The broker's side comes in as two property
 * lists (bcfg_t.effective of the running broker, and the effective values of a broker
 * configured with nothing, i.e. Kafka's defaults): a key whose effective value differs from
 * the default one counts as set in server.properties (STATIC_BROKER_CONFIG). A key set to
 * exactly its default value is therefore reported as DEFAULT_CONFIG (bcfg keeps no record
 * of which keys were written). Prefix adm_tcfg_ / adm_cfg_. */
#ifndef GREGOR_BROKER_ADM_TCFG_H
#define GREGOR_BROKER_ADM_TCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/config.h"
#include "broker/zkpaths.h"
#include "common/arena.h"
#include "common/props.h"

/* DescribeConfigsResponse.ConfigSource */
enum adm_cfg_source {
    ADM_SRC_UNKNOWN = 0,
    ADM_SRC_TOPIC = 1,
    ADM_SRC_DYNAMIC_BROKER = 2,
    ADM_SRC_DYNAMIC_DEFAULT_BROKER = 3,
    ADM_SRC_STATIC_BROKER = 4,
    ADM_SRC_DEFAULT = 5,
};

/* ConfigDef types of the topic configs. */
enum adm_ctype { ADM_CT_INT, ADM_CT_LONG, ADM_CT_DOUBLE, ADM_CT_BOOL, ADM_CT_STRING, ADM_CT_LIST };

typedef struct adm_tcfg_def_s {
    const char *name;        /* topic config name, e.g. "retention.ms" */
    int type;                /* enum adm_ctype */
    const char *broker_key;  /* LogConfig.TopicConfigSynonyms, NULL for none */
} adm_tcfg_def_t;

/* The topic configs in Kafka's definition order (validation order). */
size_t adm_tcfg_count(void);
const adm_tcfg_def_t *adm_tcfg_at(size_t i);
const adm_tcfg_def_t *adm_tcfg_find(const char *name);

/* Outcome of adm_tcfg_validate. */
enum adm_tcfg_status {
    ADM_TCFG_OK = 0,
    ADM_TCFG_UNKNOWN = -1,   /* InvalidConfigurationException "Unknown topic config name: x" */
    ADM_TCFG_BADVALUE = -2,  /* ConfigException "Invalid value v for configuration k: why" */
    ADM_TCFG_CONFLICT = -3,  /* InvalidConfigurationException (min > max compaction lag) */
    ADM_TCFG_NULL = -4,      /* a null value */
};

/* Validates keys/values as LogConfig.validate does: every name first, then every value in
 * definition order, then the cross checks. msg receives Kafka's message. */
int adm_tcfg_validate(const zkpaths_config_t *c, char *msg, size_t msglen);
/* Validates one value of def; 0, or -1 with Kafka's "Invalid value ..." in msg. If norm is
 * not NULL it receives the value as Kafka prints it after parsing (ConfigDef.convertToString). */
int adm_tcfg_check_value(const adm_tcfg_def_t *def, const char *value, char *msg, size_t msglen,
                         char *norm, size_t normlen);

/* The topic configs' values a topic without overrides gets from this broker's configuration
 * (KafkaServer.copyKafkaConfigToLog), as strings Kafka prints. out is reset first. */
void adm_tcfg_broker_values(const bcfg_t *c, zkpaths_config_t *out);

/* The broker side of config sources. */
typedef struct adm_bprops_s {
    const props_t *eff;      /* the broker's effective configuration */
    const props_t *dflt;     /* the effective configuration with nothing set */
} adm_bprops_t;

typedef struct adm_csyn_s {
    const char *name;
    const char *value;       /* NULL = null */
    int8_t source;
} adm_csyn_t;

#define ADM_MAX_SYN 8

typedef struct adm_centry_s {
    const char *name;
    const char *value;       /* NULL = null */
    int8_t source;           /* enum adm_cfg_source */
    bool read_only;
    bool sensitive;
    bool is_default;         /* v0's IsDefault: source is DEFAULT_CONFIG */
    adm_csyn_t syn[ADM_MAX_SYN];
    size_t nsyn;
} adm_centry_t;

/* DynamicBrokerConfig.brokerConfigSynonyms (without listener overrides): fills names
 * (at most 3) and returns how many. */
size_t adm_cfg_broker_synonyms(const char *key, const char **names);
/* AdminManager.configSynonyms(name, synonyms): the static then default values of the
 * synonyms, dropping everything before the first entry named name. Returns the count. */
size_t adm_cfg_synonyms(const adm_bprops_t *bp, const char *name, const char *const *syns, size_t nsyn,
                        adm_csyn_t *out);

/* Every topic config with its value (override, else base), source, and synonyms (always
 * filled; the caller drops them when not asked for), sorted by name. names (may be NULL)
 * restricts to those names (unknown ones are left out). Strings live in a or in the inputs.
 * Returns the number of entries in *out. */
size_t adm_tcfg_describe(const adm_bprops_t *bp, const zkpaths_config_t *base, const zkpaths_config_t *overrides,
                         const char *const *names, size_t nnames, arena_t *a, adm_centry_t **out);
/* Every broker config (per-broker view: keys of bp->eff in sorted order), as
 * createBrokerConfigEntry(perBrokerConfig = true). */
size_t adm_bcfg_describe(const adm_bprops_t *bp, const char *const *names, size_t nnames, arena_t *a,
                         adm_centry_t **out);

/* Java's Double.toString for the values Kafka shows (0.5, 1.0E-4, 1.7976931348623157E308). */
void adm_java_double(double d, char *out, size_t outlen);

#endif
