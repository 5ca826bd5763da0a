/* cmd_serve.c — `kafu serve`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_serve(void) { printf("Usage: kafu serve ...\n\n(not implemented yet)\n"); }

int kafu_cmd_serve(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
