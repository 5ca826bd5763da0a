/* cmd_inspect.c — `kafu inspect`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_inspect(void) { printf("Usage: kafu inspect ...\n\n(not implemented yet)\n"); }

int kafu_cmd_inspect(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
