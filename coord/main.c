#include <stdio.h>
int main(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "gregor-coord: under construction\n");
    return 1;
}
