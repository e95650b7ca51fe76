/* gregor — the command-line tool: `gregor zk ...` (coordinator shell) and the Kafka tools
 * (`gregor topics|configs|console-producer|console-consumer|consumer-groups`, see ktool.h). */
#include <stdio.h>
#include <string.h>

#include "broker/cli/ktool.h"
#include "coord/shell/zksh.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: gregor COMMAND [ARGS]\n"
               "commands:\n"
               "  zk [-server host:port] [-timeout ms] [-r] [cmd args]   ZooKeeper shell (zkCli.sh compatible)\n"
               "  topics ...             kafka-topics.sh (--zookeeper or --bootstrap-server)\n"
               "  configs ...            kafka-configs.sh\n"
               "  console-producer ...   kafka-console-producer.sh\n"
               "  console-consumer ...   kafka-console-consumer.sh\n"
               "  consumer-groups ...    kafka-consumer-groups.sh\n"
               "Each Kafka tool takes Kafka 2.x's flags; --help lists them.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "zk"))
        return zksh_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "topics"))
        return ktool_topics_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "configs"))
        return ktool_configs_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "console-producer"))
        return ktool_producer_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "console-consumer"))
        return ktool_consumer_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "consumer-groups"))
        return ktool_groups_main(argc - 1, argv + 1);
    fprintf(stderr, "gregor: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
