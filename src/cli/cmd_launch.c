/* cmd_launch.c — `kafu launch`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_launch(void) { printf("Usage: kafu launch ...\n\n(not implemented yet)\n"); }

int kafu_cmd_launch(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
