/*
 * Kafu quick start (the original Kafu example, unchanged): main() starts on
 * the first node of kafu-config.yaml ("cloud"); the call of f() live-migrates
 * the program to "edge", f() prints there, and when it returns the program
 * migrates back to "cloud" and finishes.
 *
 * The fflush calls matter: stdio buffers live in the program's memory and
 * travel with it, so unflushed output is printed by whichever node flushes it.
 */
#include <stdio.h>
#include "kafu.h"

void f();

int main() {
  printf("Hello, from cloud!\n");   /* runs on the first node of the config */
  fflush(stdout);
  f();
}

KAFU_DEST(f, "edge")
KAFU_EXPORT(f)
void f() {
  printf("Hello, from edge!\n");    /* runs on node "edge" */
  fflush(stdout);
}
