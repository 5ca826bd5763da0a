/* cmd_config.c — `kafu config`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_config(void) { printf("Usage: kafu config ...\n\n(not implemented yet)\n"); }

int kafu_cmd_config(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
