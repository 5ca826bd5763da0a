/* cmd_cc.c — `kafu cc`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_cc(void) { printf("Usage: kafu cc ...\n\n(not implemented yet)\n"); }

int kafu_cmd_cc(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
