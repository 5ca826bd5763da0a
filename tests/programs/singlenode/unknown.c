/* unknown.c — annotations naming nodes that a config may not have ("mars",
 * "venus"), plus one that exists ("edge"). main prints before any migration,
 * so a run that starts at all shows "started". */
#include <stdio.h>

#include "kafu.h"

void f(void);
void g(void);
void h(void);

int main(void) {
  printf("started\n");
  fflush(stdout);
  f();
  g();
  h();
  return 0;
}

KAFU_DEST(f, "mars")
KAFU_EXPORT(f)
void f(void) { printf("f\n"); }

KAFU_DEST(g, "venus")
KAFU_EXPORT(g)
void g(void) { printf("g\n"); }

KAFU_DEST(h, "edge")
KAFU_EXPORT(h)
void h(void) { printf("h\n"); }
