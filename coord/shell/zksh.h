/* zksh.h — `gregor zk`: a ZooKeeper shell compatible with zkCli.sh 3.8.
 *
 *   gregor zk [-server host:port[,...][/chroot]] [-timeout ms] [-r]
 *             [-waitforconnection] [-client-configuration file] [cmd args...]
 *
 * Without a command it reads commands from stdin: with line editing, history
 * and tab completion (commands and znode paths) on a terminal, line by line
 * otherwise. With a command it runs that one and exits with zkCli's status
 * (0 ok, 1 error, 127 unknown command). Output formats, messages and streams
 * follow zkCli (see coord/shell/zksh_int.h for the internals). */
#ifndef GREGOR_COORD_SHELL_ZKSH_H
#define GREGOR_COORD_SHELL_ZKSH_H

/* argv[0] is the program/subcommand name; returns the exit status. */
int zksh_main(int argc, char **argv);

#endif
