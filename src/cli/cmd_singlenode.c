/* cmd_singlenode.c — `kafu singlenode`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_singlenode(void) { printf("Usage: kafu singlenode ...\n\n(not implemented yet)\n"); }

int kafu_cmd_singlenode(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
