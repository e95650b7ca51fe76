/* ctrl_req.c — controller requests as Kafka protocol structs (see ctrl_req.h). */
#include "broker/ctrl_req.h"

#include <string.h>

int16_t ctrl_req_protocol_id(const char *name)
{
    static const char *const names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
    for (int16_t i = 0; i < 4; i++)
        if (name && strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

static kp_str_t astr(arena_t *a, const char *s)
{
    if (!s)
        return KP_STR_NULL;
    return (kp_str_t){(const uint8_t *)arena_strndup(a, s, strlen(s)), (int32_t)strlen(s)};
}

#define ACOPY(a, dst, src)                                                              \
    do {                                                                                \
        (dst).n = (int32_t)(src).n;                                                     \
        (dst).v = (src).n ? arena_memdup((a), (src).v, (src).n * sizeof(int32_t)) : NULL; \
    } while (0)

static bool skipped(const ctrl_preq_t *r, const ctrl_req_env_t *env)
{
    return env && env->failed && r->dep >= 0 && env->failed[r->dep];
}

/* Distinct topic names of the selected entries, in first-seen order. */
static size_t topics_of(const ctrl_preq_t **sel, size_t n, const char **names)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && strcmp(names[j], sel[i]->topic) != 0)
            j++;
        if (j == k)
            names[k++] = sel[i]->topic;
    }
    return k;
}

static void fill_lai_state(arena_t *a, const ctrl_preq_t *r, kp_LeaderAndIsrPartitionState *ps)
{
    kp_init(&kp_LeaderAndIsrPartitionState_schema, ps);
    ps->TopicName = astr(a, r->topic);
    ps->PartitionIndex = r->partition;
    ps->ControllerEpoch = r->controller_epoch;
    ps->Leader = r->leader;
    ps->LeaderEpoch = r->leader_epoch;
    ACOPY(a, ps->Isr, r->isr);
    ps->ZkVersion = r->zk_version;
    ACOPY(a, ps->Replicas, r->replicas);
    ACOPY(a, ps->AddingReplicas, r->adding);
    ACOPY(a, ps->RemovingReplicas, r->removing);
    ps->IsNew = r->is_new;
}

static const zkpaths_endpoint_t *pick_endpoint(const zkpaths_broker_t *b, const char *listener)
{
    if (!b || b->n_endpoints == 0)
        return NULL;
    const zkpaths_endpoint_t *ep = listener ? zkpaths_broker_endpoint(b, listener) : NULL;
    return ep ? ep : &b->endpoints[0];
}

int ctrl_req_leader_and_isr(const ctrl_out_t *out, const ctrl_ctx_t *ctx, int32_t broker, int version,
                            const ctrl_req_env_t *env, arena_t *a, kp_LeaderAndIsrRequest *req)
{
    kp_init(&kp_LeaderAndIsrRequest_schema, req);
    req->ControllerId = ctx->controller_id;
    req->ControllerEpoch = ctx->epoch;
    req->BrokerEpoch = ctrl_ctx_broker_epoch(ctx, broker);
    const ctrl_preq_t **sel = arena_alloc(a, (out->n_lai + 1) * sizeof *sel);
    size_t n = 0;
    for (size_t i = 0; i < out->n_lai; i++)
        if (out->lai[i].broker == broker && !skipped(&out->lai[i], env))
            sel[n++] = &out->lai[i];
    if (n == 0)
        return 0;
    if (version < 2) {
        req->UngroupedPartitionStates.n = (int32_t)n;
        req->UngroupedPartitionStates.v = kp_new_array(a, &kp_LeaderAndIsrPartitionState_schema, (int32_t)n);
        for (size_t i = 0; i < n; i++)
            fill_lai_state(a, sel[i], &req->UngroupedPartitionStates.v[i]);
    } else {
        const char **names = arena_alloc(a, n * sizeof *names);
        size_t nt = topics_of(sel, n, names);
        req->TopicStates.n = (int32_t)nt;
        req->TopicStates.v = kp_new_array(a, &kp_LeaderAndIsrRequest_LeaderAndIsrTopicState_schema, (int32_t)nt);
        for (size_t t = 0; t < nt; t++) {
            kp_LeaderAndIsrRequest_LeaderAndIsrTopicState *ts = &req->TopicStates.v[t];
            ts->TopicName = astr(a, names[t]);
            int32_t cnt = 0;
            for (size_t i = 0; i < n; i++)
                cnt += strcmp(sel[i]->topic, names[t]) == 0;
            ts->PartitionStates.n = cnt;
            ts->PartitionStates.v = kp_new_array(a, &kp_LeaderAndIsrPartitionState_schema, cnt);
            int32_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (strcmp(sel[i]->topic, names[t]) == 0)
                    fill_lai_state(a, sel[i], &ts->PartitionStates.v[k++]);
        }
    }
    /* the leaders of those partitions that are alive, with their inter-broker endpoint */
    int32_t *leaders = arena_alloc(a, n * sizeof *leaders);
    size_t nl = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t l = sel[i]->leader;
        bool dup = false;
        for (size_t j = 0; j < nl && !dup; j++)
            dup = leaders[j] == l;
        if (!dup && l >= 0 && ctrl_ctx_is_live(ctx, l))
            leaders[nl++] = l;
    }
    req->LiveLeaders.n = (int32_t)nl;
    req->LiveLeaders.v = kp_new_array(a, &kp_LeaderAndIsrRequest_LeaderAndIsrLiveLeader_schema, (int32_t)nl);
    for (size_t i = 0; i < nl; i++) {
        const zkpaths_endpoint_t *ep =
            pick_endpoint(env && env->lookup ? env->lookup(env->arg, leaders[i]) : NULL, env ? env->listener : NULL);
        req->LiveLeaders.v[i].BrokerId = leaders[i];
        req->LiveLeaders.v[i].HostName = astr(a, ep ? ep->host : "");
        req->LiveLeaders.v[i].Port = ep ? ep->port : -1;
    }
    return (int)n;
}

static void fill_um_state(arena_t *a, const ctrl_preq_t *r, kp_UpdateMetadataPartitionState *ps)
{
    kp_init(&kp_UpdateMetadataPartitionState_schema, ps);
    ps->TopicName = astr(a, r->topic);
    ps->PartitionIndex = r->partition;
    ps->ControllerEpoch = r->controller_epoch;
    ps->Leader = r->leader;
    ps->LeaderEpoch = r->leader_epoch;
    ACOPY(a, ps->Isr, r->isr);
    ps->ZkVersion = r->zk_version;
    ACOPY(a, ps->Replicas, r->replicas);
    ACOPY(a, ps->OfflineReplicas, r->offline);
}

int ctrl_req_update_metadata(const ctrl_out_t *out, const ctrl_ctx_t *ctx, int version, const ctrl_req_env_t *env,
                             arena_t *a, kp_UpdateMetadataRequest *req)
{
    kp_init(&kp_UpdateMetadataRequest_schema, req);
    req->ControllerId = ctx->controller_id;
    req->ControllerEpoch = ctx->epoch;
    const ctrl_preq_t **sel = arena_alloc(a, (out->n_um + 1) * sizeof *sel);
    size_t n = 0;
    for (size_t i = 0; i < out->n_um; i++)
        if (!skipped(&out->um[i], env))
            sel[n++] = &out->um[i];
    if (version < 5) {
        req->UngroupedPartitionStates.n = (int32_t)n;
        req->UngroupedPartitionStates.v = kp_new_array(a, &kp_UpdateMetadataPartitionState_schema, (int32_t)n);
        for (size_t i = 0; i < n; i++)
            fill_um_state(a, sel[i], &req->UngroupedPartitionStates.v[i]);
    } else {
        const char **names = arena_alloc(a, (n + 1) * sizeof *names);
        size_t nt = topics_of(sel, n, names);
        req->TopicStates.n = (int32_t)nt;
        req->TopicStates.v =
            kp_new_array(a, &kp_UpdateMetadataRequest_UpdateMetadataTopicState_schema, (int32_t)nt);
        for (size_t t = 0; t < nt; t++) {
            kp_UpdateMetadataRequest_UpdateMetadataTopicState *ts = &req->TopicStates.v[t];
            ts->TopicName = astr(a, names[t]);
            int32_t cnt = 0;
            for (size_t i = 0; i < n; i++)
                cnt += strcmp(sel[i]->topic, names[t]) == 0;
            ts->PartitionStates.n = cnt;
            ts->PartitionStates.v = kp_new_array(a, &kp_UpdateMetadataPartitionState_schema, cnt);
            int32_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (strcmp(sel[i]->topic, names[t]) == 0)
                    fill_um_state(a, sel[i], &ts->PartitionStates.v[k++]);
        }
    }
    req->LiveBrokers.n = (int32_t)ctx->live.n;
    req->LiveBrokers.v =
        kp_new_array(a, &kp_UpdateMetadataRequest_UpdateMetadataBroker_schema, (int32_t)ctx->live.n);
    for (size_t i = 0; i < ctx->live.n; i++) {
        kp_UpdateMetadataRequest_UpdateMetadataBroker *lb = &req->LiveBrokers.v[i];
        const zkpaths_broker_t *reg = env && env->lookup ? env->lookup(env->arg, ctx->live.v[i]) : NULL;
        lb->Id = ctx->live.v[i];
        lb->Rack = reg && reg->rack ? astr(a, reg->rack) : KP_STR_NULL;
        const zkpaths_endpoint_t *plain = NULL;
        size_t ne = reg ? reg->n_endpoints : 0;
        lb->Endpoints.n = (int32_t)ne;
        lb->Endpoints.v = kp_new_array(a, &kp_UpdateMetadataRequest_UpdateMetadataEndpoint_schema, (int32_t)ne);
        for (size_t e = 0; e < ne; e++) {
            const zkpaths_endpoint_t *ep = &reg->endpoints[e];
            lb->Endpoints.v[e].Port = ep->port;
            lb->Endpoints.v[e].Host = astr(a, ep->host);
            lb->Endpoints.v[e].Listener = astr(a, ep->listener);
            lb->Endpoints.v[e].SecurityProtocol = ctrl_req_protocol_id(ep->protocol);
            if (!plain && ctrl_req_protocol_id(ep->protocol) == 0)
                plain = ep;
        }
        lb->V0Host = astr(a, plain ? plain->host : "");
        lb->V0Port = plain ? plain->port : -1;
    }
    return (int)n;
}

int ctrl_req_stop_replica(const ctrl_out_t *out, const ctrl_ctx_t *ctx, int32_t broker, bool del, int version,
                          arena_t *a, kp_StopReplicaRequest *req)
{
    kp_init(&kp_StopReplicaRequest_schema, req);
    req->ControllerId = ctx->controller_id;
    req->ControllerEpoch = ctx->epoch;
    req->BrokerEpoch = ctrl_ctx_broker_epoch(ctx, broker);
    req->DeletePartitions = del;
    const ctrl_preq_t **sel = arena_alloc(a, (out->n_stop + 1) * sizeof *sel);
    size_t n = 0;
    for (size_t i = 0; i < out->n_stop; i++)
        if (out->stop[i].broker == broker && out->stop[i].delete_partition == del)
            sel[n++] = &out->stop[i];
    if (n == 0)
        return 0;
    if (version < 1) {
        req->UngroupedPartitions.n = (int32_t)n;
        req->UngroupedPartitions.v =
            kp_new_array(a, &kp_StopReplicaRequest_StopReplicaPartitionV0_schema, (int32_t)n);
        for (size_t i = 0; i < n; i++) {
            req->UngroupedPartitions.v[i].TopicName = astr(a, sel[i]->topic);
            req->UngroupedPartitions.v[i].PartitionIndex = sel[i]->partition;
        }
    } else {
        const char **names = arena_alloc(a, n * sizeof *names);
        size_t nt = topics_of(sel, n, names);
        req->Topics.n = (int32_t)nt;
        req->Topics.v = kp_new_array(a, &kp_StopReplicaRequest_StopReplicaTopic_schema, (int32_t)nt);
        for (size_t t = 0; t < nt; t++) {
            req->Topics.v[t].Name = astr(a, names[t]);
            int32_t cnt = 0;
            for (size_t i = 0; i < n; i++)
                cnt += strcmp(sel[i]->topic, names[t]) == 0;
            req->Topics.v[t].PartitionIndexes.n = cnt;
            req->Topics.v[t].PartitionIndexes.v = arena_alloc(a, (size_t)cnt * sizeof(int32_t));
            int32_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (strcmp(sel[i]->topic, names[t]) == 0)
                    req->Topics.v[t].PartitionIndexes.v[k++] = sel[i]->partition;
        }
    }
    return (int)n;
}
