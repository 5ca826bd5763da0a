/* cmd_aot.c — `kafu aot`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_aot(void) { printf("Usage: kafu aot ...\n\n(not implemented yet)\n"); }

int kafu_cmd_aot(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
