/* cmd_run.c — `kafu run`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_run(void) { printf("Usage: kafu run ...\n\n(not implemented yet)\n"); }

int kafu_cmd_run(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
