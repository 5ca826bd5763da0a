/* cmd_doctor.c — `kafu doctor`: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"

void kafu_usage_doctor(void) { printf("Usage: kafu doctor ...\n\n(not implemented yet)\n"); }

int kafu_cmd_doctor(int argc, char **argv) {
  (void)argc;
  fprintf(stderr, "kafu %s: not implemented yet\n", argv[0]);
  return 1;
}
