/* cmd_snapify.c — `kafu snapify`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_snapify(void) { printf("Usage: kafu snapify ...\n\n(not implemented yet)\n"); }

int kafu_cmd_snapify(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
