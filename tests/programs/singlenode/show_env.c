/* show_env.c — what a program sees: its arguments and the environment
 * variables it is told about (argv[1..] names which), on the node where it
 * asks first and, after a migration, on the node it moved to. */
#include <stdio.h>
#include <stdlib.h>

#include "kafu.h"

static void show(const char *where, int argc, char **argv) {
  printf("%s: argc=%d argv0=%s", where, argc, argv[0]);
  for (int i = 1; i < argc; i++) printf(" %s=%s", argv[i], getenv(argv[i]) ? getenv(argv[i]) : "(unset)");
  printf("\n");
  fflush(stdout);
}

void away(int argc, char **argv);

int main(int argc, char **argv) {
  show("start", argc, argv);
  away(argc, argv);
  return 0;
}

KAFU_DEST(away, "edge")
KAFU_EXPORT(away)
void away(int argc, char **argv) { show("edge", argc, argv); }
