/* mockbroker.c — librdkafka's in-process mock cluster as a stand-alone broker on loopback.
 *
 * Used only to capture golden vectors from clients that need a modern broker (ApiVersions v3,
 * record batches, flexible versions); see README.md here. Not part of the build:
 *     cc -o /tmp/mockbroker mockbroker.c -lrdkafka
 *     /tmp/mockbroker TOPIC PARTITIONS      # prints "127.0.0.1:PORT", runs until killed */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    const char *topic = argc > 1 ? argv[1] : "t";
    int partitions = argc > 2 ? atoi(argv[2]) : 1;
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc || rd_kafka_mock_topic_create(mc, topic, partitions, 1)) {
        fprintf(stderr, "mock cluster failed\n");
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop)
        usleep(100000);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
