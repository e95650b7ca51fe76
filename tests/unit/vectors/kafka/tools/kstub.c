/* kstub.c — a one-broker Kafka stand-in built on Gregor's codec, for capturing real clients.
 *
 * It stores nothing: it answers every API of kp_api_table with plausible, mostly echoed
 * content (one broker = itself, topic names echoed back, offsets 0, the first member of a
 * group is its leader), so that real clients move on to their next request and their bytes
 * can be recorded (krecord.py in front of it). Because the answers are encoded by
 * proto/kafka_*.c, a client that carries on also shows that it accepts our encoding.
 * Not part of the build; from the top directory after `make`:
 *     cc -std=c11 -D_GNU_SOURCE -I. -o /tmp/kstub tests/unit/vectors/kafka/tools/kstub.c \
 *        build/lib/libproto.a build/lib/libcommon.a
 *     /tmp/kstub PORT [ADVERTISED_PORT]     # runs until killed */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "proto/kafka_api.h"

#define MAXCONN 64

static int adv_port;

typedef struct conn_s {
    int fd;
    buf_t in;
} conn_t;

#define NEW_ARRAY(a, arr, count, schema) \
    ((arr).n = (count), (arr).v = kp_new_array((a), &(schema), (count)))

static void metadata(arena_t *a, const kp_MetadataRequest *q, kp_MetadataResponse *r)
{
    NEW_ARRAY(a, r->Brokers, 1, kp_MetadataResponse_MetadataResponseBroker_schema);
    r->Brokers.v[0].NodeId = 1;
    r->Brokers.v[0].Host = kp_str("127.0.0.1");
    r->Brokers.v[0].Port = adv_port;
    r->ClusterId = kp_str("gregor-kstub");
    r->ControllerId = 1;
    int n = q->Topics.n > 0 ? q->Topics.n : 1;
    NEW_ARRAY(a, r->Topics, n, kp_MetadataResponse_MetadataResponseTopic_schema);
    for (int i = 0; i < n; i++) {
        kp_MetadataResponse_MetadataResponseTopic *t = &r->Topics.v[i];
        t->Name = q->Topics.n > 0 ? q->Topics.v[i].Name : kp_str("t");
        NEW_ARRAY(a, t->Partitions, 1, kp_MetadataResponse_MetadataResponsePartition_schema);
        t->Partitions.v[0].LeaderId = 1;
        t->Partitions.v[0].LeaderEpoch = 0;
        static int32_t one = 1;
        t->Partitions.v[0].ReplicaNodes.n = 1;
        t->Partitions.v[0].ReplicaNodes.v = &one;
        t->Partitions.v[0].IsrNodes.n = 1;
        t->Partitions.v[0].IsrNodes.v = &one;
    }
}

/* Builds the response body for req; NULL for none. */
static void *answer(arena_t *a, const kp_request_t *req)
{
    const void *body = req->body;
    void *resp = kp_new(a, req->api->resp);
    switch (req->hdr.api_key) {
    case KP_METADATA:
        metadata(a, body, resp);
        break;
    case KP_FIND_COORDINATOR: {
        kp_FindCoordinatorResponse *r = resp;
        r->NodeId = 1;
        r->Host = kp_str("127.0.0.1");
        r->Port = adv_port;
        r->ErrorMessage = KP_STR_NULL;
        break;
    }
    case KP_PRODUCE: {
        const kp_ProduceRequest *q = body;
        kp_ProduceResponse *r = resp;
        NEW_ARRAY(a, r->Responses, q->Topics.n, kp_ProduceResponse_TopicProduceResponse_schema);
        for (int i = 0; i < q->Topics.n; i++) {
            r->Responses.v[i].Name = q->Topics.v[i].Name;
            int np = q->Topics.v[i].Partitions.n;
            NEW_ARRAY(a, r->Responses.v[i].Partitions, np, kp_ProduceResponse_PartitionProduceResponse_schema);
            for (int j = 0; j < np; j++)
                r->Responses.v[i].Partitions.v[j].PartitionIndex = q->Topics.v[i].Partitions.v[j].PartitionIndex;
        }
        break;
    }
    case KP_FETCH: {
        const kp_FetchRequest *q = body;
        kp_FetchResponse *r = resp;
        NEW_ARRAY(a, r->Responses, q->Topics.n, kp_FetchResponse_FetchableTopicResponse_schema);
        for (int i = 0; i < q->Topics.n; i++) {
            r->Responses.v[i].Topic = q->Topics.v[i].Topic;
            int np = q->Topics.v[i].Partitions.n;
            NEW_ARRAY(a, r->Responses.v[i].Partitions, np, kp_FetchResponse_PartitionData_schema);
            for (int j = 0; j < np; j++) {
                kp_FetchResponse_PartitionData *p = &r->Responses.v[i].Partitions.v[j];
                p->PartitionIndex = q->Topics.v[i].Partitions.v[j].Partition;
                p->HighWatermark = 0;
                p->LastStableOffset = 0;
                p->LogStartOffset = 0;
            }
        }
        break;
    }
    case KP_LIST_OFFSETS: {
        const kp_ListOffsetsRequest *q = body;
        kp_ListOffsetsResponse *r = resp;
        NEW_ARRAY(a, r->Topics, q->Topics.n, kp_ListOffsetsResponse_ListOffsetsTopicResponse_schema);
        for (int i = 0; i < q->Topics.n; i++) {
            r->Topics.v[i].Name = q->Topics.v[i].Name;
            int np = q->Topics.v[i].Partitions.n;
            NEW_ARRAY(a, r->Topics.v[i].Partitions, np, kp_ListOffsetsResponse_ListOffsetsPartitionResponse_schema);
            for (int j = 0; j < np; j++) {
                kp_ListOffsetsResponse_ListOffsetsPartitionResponse *p = &r->Topics.v[i].Partitions.v[j];
                static int64_t zero = 0;
                p->PartitionIndex = q->Topics.v[i].Partitions.v[j].PartitionIndex;
                p->OldStyleOffsets.n = 1;
                p->OldStyleOffsets.v = &zero;
                p->Offset = 0;
                p->LeaderEpoch = 0;
            }
        }
        break;
    }
    case KP_JOIN_GROUP: {
        const kp_JoinGroupRequest *q = body;
        kp_JoinGroupResponse *r = resp;
        if (q->MemberId.len == 0 && req->hdr.api_version >= 4) {
            r->ErrorCode = KERR_MEMBER_ID_REQUIRED;
            r->MemberId = kp_str("member-1");
            break;
        }
        r->GenerationId = 1;
        r->ProtocolName = q->Protocols.n > 0 ? q->Protocols.v[0].Name : kp_str("");
        r->Leader = kp_str("member-1");
        r->MemberId = kp_str("member-1");
        NEW_ARRAY(a, r->Members, 1, kp_JoinGroupResponse_JoinGroupResponseMember_schema);
        r->Members.v[0].MemberId = kp_str("member-1");
        r->Members.v[0].GroupInstanceId = q->GroupInstanceId;
        r->Members.v[0].Metadata = q->Protocols.n > 0 ? q->Protocols.v[0].Metadata : (kp_bytes_t){NULL, 0};
        break;
    }
    case KP_SYNC_GROUP: {
        const kp_SyncGroupRequest *q = body;
        kp_SyncGroupResponse *r = resp;
        if (q->Assignments.n > 0)
            r->Assignment = q->Assignments.v[0].Assignment;
        break;
    }
    case KP_LEAVE_GROUP: {
        const kp_LeaveGroupRequest *q = body;
        kp_LeaveGroupResponse *r = resp;
        NEW_ARRAY(a, r->Members, q->Members.n > 0 ? q->Members.n : 0, kp_LeaveGroupResponse_MemberResponse_schema);
        for (int i = 0; i < q->Members.n; i++) {
            r->Members.v[i].MemberId = q->Members.v[i].MemberId;
            r->Members.v[i].GroupInstanceId = q->Members.v[i].GroupInstanceId;
        }
        break;
    }
    case KP_OFFSET_COMMIT: {
        const kp_OffsetCommitRequest *q = body;
        kp_OffsetCommitResponse *r = resp;
        NEW_ARRAY(a, r->Topics, q->Topics.n, kp_OffsetCommitResponse_OffsetCommitResponseTopic_schema);
        for (int i = 0; i < q->Topics.n; i++) {
            r->Topics.v[i].Name = q->Topics.v[i].Name;
            int np = q->Topics.v[i].Partitions.n;
            NEW_ARRAY(a, r->Topics.v[i].Partitions, np, kp_OffsetCommitResponse_OffsetCommitResponsePartition_schema);
            for (int j = 0; j < np; j++)
                r->Topics.v[i].Partitions.v[j].PartitionIndex = q->Topics.v[i].Partitions.v[j].PartitionIndex;
        }
        break;
    }
    case KP_OFFSET_FETCH: {
        const kp_OffsetFetchRequest *q = body;
        kp_OffsetFetchResponse *r = resp;
        int nt = q->Topics.n > 0 ? q->Topics.n : 0;
        NEW_ARRAY(a, r->Topics, nt, kp_OffsetFetchResponse_OffsetFetchResponseTopic_schema);
        for (int i = 0; i < nt; i++) {
            r->Topics.v[i].Name = q->Topics.v[i].Name;
            int np = q->Topics.v[i].PartitionIndexes.n;
            NEW_ARRAY(a, r->Topics.v[i].Partitions, np, kp_OffsetFetchResponse_OffsetFetchResponsePartition_schema);
            for (int j = 0; j < np; j++) {
                r->Topics.v[i].Partitions.v[j].PartitionIndex = q->Topics.v[i].PartitionIndexes.v[j];
                r->Topics.v[i].Partitions.v[j].CommittedOffset = -1;
                r->Topics.v[i].Partitions.v[j].Metadata = kp_str("");
            }
        }
        break;
    }
    case KP_CREATE_TOPICS: {
        const kp_CreateTopicsRequest *q = body;
        kp_CreateTopicsResponse *r = resp;
        NEW_ARRAY(a, r->Topics, q->Topics.n, kp_CreateTopicsResponse_CreatableTopicResult_schema);
        for (int i = 0; i < q->Topics.n; i++) {
            r->Topics.v[i].Name = q->Topics.v[i].Name;
            r->Topics.v[i].ErrorMessage = KP_STR_NULL;
            r->Topics.v[i].NumPartitions = q->Topics.v[i].NumPartitions;
            r->Topics.v[i].ReplicationFactor = q->Topics.v[i].ReplicationFactor;
            r->Topics.v[i].Configs.n = 0;
        }
        break;
    }
    case KP_DELETE_TOPICS: {
        const kp_DeleteTopicsRequest *q = body;
        kp_DeleteTopicsResponse *r = resp;
        NEW_ARRAY(a, r->Responses, q->TopicNames.n, kp_DeleteTopicsResponse_DeletableTopicResult_schema);
        for (int i = 0; i < q->TopicNames.n; i++)
            r->Responses.v[i].Name = q->TopicNames.v[i];
        break;
    }
    case KP_DELETE_RECORDS: {
        const kp_DeleteRecordsRequest *q = body;
        kp_DeleteRecordsResponse *r = resp;
        NEW_ARRAY(a, r->Topics, q->Topics.n, kp_DeleteRecordsResponse_DeleteRecordsTopicResult_schema);
        for (int i = 0; i < q->Topics.n; i++) {
            r->Topics.v[i].Name = q->Topics.v[i].Name;
            int np = q->Topics.v[i].Partitions.n;
            NEW_ARRAY(a, r->Topics.v[i].Partitions, np, kp_DeleteRecordsResponse_DeleteRecordsPartitionResult_schema);
            for (int j = 0; j < np; j++) {
                r->Topics.v[i].Partitions.v[j].PartitionIndex = q->Topics.v[i].Partitions.v[j].PartitionIndex;
                r->Topics.v[i].Partitions.v[j].LowWatermark = q->Topics.v[i].Partitions.v[j].Offset;
            }
        }
        break;
    }
    case KP_DESCRIBE_CONFIGS: {
        const kp_DescribeConfigsRequest *q = body;
        kp_DescribeConfigsResponse *r = resp;
        NEW_ARRAY(a, r->Results, q->Resources.n, kp_DescribeConfigsResponse_DescribeConfigsResult_schema);
        for (int i = 0; i < q->Resources.n; i++) {
            kp_DescribeConfigsResponse_DescribeConfigsResult *x = &r->Results.v[i];
            x->ErrorMessage = KP_STR_NULL;
            x->ResourceType = q->Resources.v[i].ResourceType;
            x->ResourceName = q->Resources.v[i].ResourceName;
            NEW_ARRAY(a, x->Configs, 1, kp_DescribeConfigsResponse_DescribeConfigsResourceResult_schema);
            x->Configs.v[0].Name = kp_str("retention.ms");
            x->Configs.v[0].Value = kp_str("604800000");
            x->Configs.v[0].IsDefault = true;
            x->Configs.v[0].ConfigSource = 5;
        }
        break;
    }
    case KP_ALTER_CONFIGS: {
        const kp_AlterConfigsRequest *q = body;
        kp_AlterConfigsResponse *r = resp;
        NEW_ARRAY(a, r->Responses, q->Resources.n, kp_AlterConfigsResponse_AlterConfigsResourceResponse_schema);
        for (int i = 0; i < q->Resources.n; i++) {
            r->Responses.v[i].ErrorMessage = KP_STR_NULL;
            r->Responses.v[i].ResourceType = q->Resources.v[i].ResourceType;
            r->Responses.v[i].ResourceName = q->Resources.v[i].ResourceName;
        }
        break;
    }
    case KP_CREATE_PARTITIONS: {
        const kp_CreatePartitionsRequest *q = body;
        kp_CreatePartitionsResponse *r = resp;
        NEW_ARRAY(a, r->Results, q->Topics.n, kp_CreatePartitionsResponse_CreatePartitionsTopicResult_schema);
        for (int i = 0; i < q->Topics.n; i++)
            r->Results.v[i].Name = q->Topics.v[i].Name;
        break;
    }
    case KP_DELETE_GROUPS: {
        const kp_DeleteGroupsRequest *q = body;
        kp_DeleteGroupsResponse *r = resp;
        NEW_ARRAY(a, r->Results, q->GroupsNames.n, kp_DeleteGroupsResponse_DeletableGroupResult_schema);
        for (int i = 0; i < q->GroupsNames.n; i++) {
            r->Results.v[i].GroupId = q->GroupsNames.v[i];
            r->Results.v[i].ErrorCode = KERR_GROUP_ID_NOT_FOUND;
        }
        break;
    }
    case KP_LIST_GROUPS: {
        kp_ListGroupsResponse *r = resp;
        NEW_ARRAY(a, r->Groups, 1, kp_ListGroupsResponse_ListedGroup_schema);
        r->Groups.v[0].GroupId = kp_str("grp1");
        r->Groups.v[0].ProtocolType = kp_str("consumer");
        break;
    }
    case KP_DESCRIBE_GROUPS: {
        const kp_DescribeGroupsRequest *q = body;
        kp_DescribeGroupsResponse *r = resp;
        NEW_ARRAY(a, r->Groups, q->Groups.n, kp_DescribeGroupsResponse_DescribedGroup_schema);
        for (int i = 0; i < q->Groups.n; i++) {
            r->Groups.v[i].GroupId = q->Groups.v[i];
            r->Groups.v[i].GroupState = kp_str("Empty");
            r->Groups.v[i].ProtocolType = kp_str("consumer");
        }
        break;
    }
    case KP_INIT_PRODUCER_ID: {
        kp_InitProducerIdResponse *r = resp;
        r->ProducerId = 1000;
        r->ProducerEpoch = 0;
        break;
    }
    case KP_SASL_HANDSHAKE: {
        kp_SaslHandshakeResponse *r = resp;
        r->ErrorCode = KERR_UNSUPPORTED_SASL_MECHANISM;
        break;
    }
    default:
        break;
    }
    return resp;
}

/* Handles every complete frame in c->in. -1 to close the connection. */
static int serve(conn_t *c)
{
    size_t off = 0;
    int rc = 0;
    while (c->in.len - off >= 4) {
        uint32_t size = be32_get(c->in.data + off);
        if (size > (64u << 20)) {
            rc = -1;
            break;
        }
        if (c->in.len - off - 4 < size)
            break;
        const uint8_t *frame = c->in.data + off + 4;
        off += 4 + size;
        arena_t a = ARENA_INIT;
        kp_request_t req;
        buf_t out = BUF_INIT;
        int st = kp_request_decode(frame, size, &a, &req);
        if ((st == KP_OK || st == KP_EUNSUPPORTED) && req.hdr.api_key == KP_API_VERSIONS) {
            kp_api_versions_respond(&req, 0, &a, &out);
        } else if (st == KP_OK) {
            if (kp_request_wants_response(&req) &&
                kp_response_encode(&out, req.hdr.api_key, req.hdr.api_version, req.hdr.correlation_id,
                                   answer(&a, &req)) != KP_OK)
                fprintf(stderr, "kstub: cannot encode %s v%d\n", req.api->name, req.hdr.api_version);
        } else {
            fprintf(stderr, "kstub: request key %d v%d: status %d, closing\n", req.hdr.api_key,
                    req.hdr.api_version, st);
            rc = -1;
        }
        if (st == KP_OK || st == KP_EUNSUPPORTED)
            fprintf(stderr, "kstub: %s v%d from %.*s\n", req.api ? req.api->name : "?", req.hdr.api_version,
                    KP_STR_ARGS(req.hdr.client_id));
        size_t sent = 0;
        while (sent < out.len) {
            ssize_t n = write(c->fd, out.data + sent, out.len - sent);
            if (n <= 0) {
                rc = -1;
                break;
            }
            sent += (size_t)n;
        }
        buf_free(&out);
        arena_free(&a);
        if (rc)
            break;
    }
    memmove(c->in.data, c->in.data + off, c->in.len - off);
    c->in.len -= off;
    return rc;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 19200;
    adv_port = argc > 2 ? atoi(argv[2]) : port;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 16)) {
        perror("kstub: listen");
        return 1;
    }
    fprintf(stderr, "kstub: listening on 127.0.0.1:%d, advertising port %d\n", port, adv_port);
    conn_t conns[MAXCONN];
    int nconn = 0;
    for (;;) {
        struct pollfd pfd[MAXCONN + 1];
        pfd[0] = (struct pollfd){.fd = ls, .events = POLLIN};
        for (int i = 0; i < nconn; i++)
            pfd[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)nconn + 1, -1) < 0 && errno != EINTR)
            return 1;
        for (int i = nconn - 1; i >= 0; i--) {
            if (!(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            uint8_t tmp[65536];
            ssize_t n = read(conns[i].fd, tmp, sizeof tmp);
            if (n > 0)
                buf_put(&conns[i].in, tmp, (size_t)n);
            if (n <= 0 || serve(&conns[i])) {
                close(conns[i].fd);
                buf_free(&conns[i].in);
                conns[i] = conns[--nconn];
            }
        }
        if ((pfd[0].revents & POLLIN) && nconn < MAXCONN) {
            int fd = accept(ls, NULL, NULL);
            if (fd >= 0) {
                conns[nconn].fd = fd;
                buf_init(&conns[nconn].in);
                nconn++;
            }
        }
    }
}
