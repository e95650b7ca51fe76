/* gregor — the command-line tool: `gregor zk ...` (coordinator shell); more to come. */
#include <stdio.h>
#include <string.h>

#include "coord/shell/zksh.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: gregor COMMAND [ARGS]\n"
               "commands:\n"
               "  zk [-server host:port] [-timeout ms] [-r] [cmd args]   ZooKeeper shell (zkCli.sh compatible)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "zk"))
        return zksh_main(argc - 1, argv + 1);
    fprintf(stderr, "gregor: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
