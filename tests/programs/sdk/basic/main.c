/* An application in the shape of the original Kafu SDK's examples: built by
 * an unchanged-style Makefile through $(KAFU_SDK_PATH)/libexec/kafu_clang at
 * -O3, printing through spectest.h, with annotated functions on two nodes.
 * Expected output (any mode):
 *   main starts on cloud1
 *   step 1 on cloud1
 *   step 8 on edge1
 *   -8: i64
 *   2: f64
 *   8: i32
 */
#include "kafu.h"
#include <stdio.h>
#include <spectest.h>

int steps;

void on_cloud(void);
void on_edge(int n);

int main(void) {
  printf("main starts on cloud1\n");
  fflush(stdout);
  on_cloud();
  spectest_print_i32(steps);
  return 0;
}

KAFU_DEST(on_cloud, "cloud1")
KAFU_EXPORT(on_cloud)
void on_cloud(void) {
  steps++;
  printf("step %d on cloud1\n", steps);
  fflush(stdout);
  on_edge(7);
  spectest_print_f64(steps / 4.0);
}

KAFU_DEST(on_edge, "edge1")
KAFU_EXPORT(on_edge)
void on_edge(int n) {
  steps += n;
  printf("step %d on edge1\n", steps);
  fflush(stdout);
  spectest_print_i64(-(long long)steps);
}
