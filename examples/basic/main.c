/*
 * Kafu quick-start: one ordinary C program that runs on two nodes.
 *
 * main() starts on the first node of kafu-config.yaml ("cloud"). The call of
 * f() migrates the whole program state to "edge", f() runs there, and when it
 * returns execution migrates back to "cloud", which finishes main().
 */
#include <stdio.h>

#include <kafu.h>

KAFU_DEST(f, "edge")
KAFU_EXPORT(f)
void f() {
  printf("Hello, from edge!\n");
}

int main() {
  printf("Hello, from cloud!\n");
  f();
  return 0;
}
