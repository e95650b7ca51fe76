#include "broker/cli/ktool.h"
int ktool_topics_admin(const ktool_opts_t *o) { (void)o; return 1; }
int ktool_groups_main(int argc, char **argv) { (void)argc; (void)argv; return 1; }
