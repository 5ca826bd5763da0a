/*
 * ending.c — how a run ends, on which node (cloud, edge, fog).
 * argv[1] selects, argv[2] is the code N:
 *   return N        round trip to edge, then main returns N on cloud
 *   exit_edge N     exit(N) inside at_edge (stdio is flushed by exit)
 *   exit_fog N      cloud -> edge -> fog, exit(N) inside at_fog
 *   exit_back N     edge calls at_cloud (back on cloud), then exit(N) on edge
 *   exit_cloud N    exit(N) inside at_cloud called from cloud (no migration)
 *   proc_exit N     __wasi_proc_exit(N) inside at_edge (no stdio flush)
 *   trap_edge       integer division by zero on edge
 *   trap_fog        abort() on fog (cloud -> edge -> fog)
 *   oob_edge        out-of-bounds memory access on edge
 *   trap_cloud      trap on cloud after a round trip
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#include "kafu.h"

int at_edge(const char *mode, int n);
int at_fog(const char *mode, int n);
int at_cloud(const char *mode, int n);

static volatile int zero = 0;

KAFU_DEST(at_fog, "fog")
KAFU_EXPORT(at_fog)
int at_fog(const char *mode, int n) {
  printf("on fog (%s)\n", mode);
  fflush(stdout);
  if (!strcmp(mode, "exit_fog")) {
    printf("exit(%d) on fog, unflushed", n);
    exit(n);
  }
  if (!strcmp(mode, "trap_fog")) abort();
  return n + 1;
}

KAFU_DEST(at_cloud, "cloud")
KAFU_EXPORT(at_cloud)
int at_cloud(const char *mode, int n) {
  printf("on cloud (%s)\n", mode);
  fflush(stdout);
  if (!strcmp(mode, "exit_cloud")) exit(n);
  return n + 2;
}

KAFU_DEST(at_edge, "edge")
KAFU_EXPORT(at_edge)
int at_edge(const char *mode, int n) {
  printf("on edge (%s)\n", mode);
  fflush(stdout);
  if (!strcmp(mode, "exit_edge")) {
    printf("exit(%d) on edge, unflushed\n", n);
    exit(n);
  }
  if (!strcmp(mode, "proc_exit")) __wasi_proc_exit((__wasi_exitcode_t)n);
  if (!strcmp(mode, "trap_edge")) return n / zero;
  if (!strcmp(mode, "oob_edge")) return *(volatile int *)(uintptr_t)0xfffffff0u;
  if (!strcmp(mode, "exit_fog") || !strcmp(mode, "trap_fog")) return at_fog(mode, n);
  if (!strcmp(mode, "exit_back")) {
    int r = at_cloud(mode, n);
    printf("back on edge with %d\n", r);
    exit(n);
  }
  return n;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "return";
  int n = argc > 2 ? atoi(argv[2]) : 0;
  printf("start %s %d\n", mode, n);
  fflush(stdout);
  if (!strcmp(mode, "exit_cloud")) at_cloud(mode, n);
  int r = at_edge(mode, n);
  printf("back on cloud: %d\n", r);
  fflush(stdout);
  if (!strcmp(mode, "trap_cloud")) return r / zero;
  return !strcmp(mode, "return") ? n : 99;
}
