/* cmd_kustomize.c — `kafu kustomize`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_kustomize(void) { printf("Usage: kafu kustomize ...\n\n(not implemented yet)\n"); }

int kafu_cmd_kustomize(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
