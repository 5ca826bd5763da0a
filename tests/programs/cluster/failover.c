/*
 * failover.c — a program for the failover, identity and restore tests
 * (tests/shell/cluster_failover.sh, cluster_identity.sh, cluster_restore.sh).
 * The tests synchronize with it through files in the preopened directory
 * (every node of a loopback test shares it): the program creates marker
 * files where it is, and waits for "go" files the test creates.
 *
 *   failover MODE [N]
 *
 * main (on a) prints "start", waits for go-a when MODE is "gate", then calls
 * work(21) on node b and prints "result 42"; with MODE "twice" it calls it
 * again after go-second; with MODE "nested" work calls inner() on node c.
 * main returns 7 when every result is right (so a test sees the program's
 * exit code, not just 0), 1 otherwise.
 *
 * work (on b): creates in-work, appends one line to effects.log (the
 * documented repeat of a non-idempotent effect after a re-run), waits for
 * go-work, with MODE "big" fills N MiB of memory with incompressible bytes
 * (so its return is a large snapshot), creates work-done, returns x * 2.
 * inner (on c): creates in-inner, waits for go-inner, returns x + 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafu.h"

int work(int x);
int inner(int x);

static char mode[16];
static int big_mib;
static unsigned char *big;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void mark(const char *name) {
  int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) close(fd);
}

static void wait_for(const char *name) {
  while (access(name, F_OK) != 0) sleep_ms(5);
}

int main(int argc, char **argv) {
  snprintf(mode, sizeof mode, "%s", argc > 1 ? argv[1] : "plain");
  big_mib = argc > 2 ? atoi(argv[2]) : 0;
  printf("start %s\n", mode);
  fflush(stdout);
  mark("a-ready");
  if (!strcmp(mode, "gate")) wait_for("go-a");
  int ok = 1;
  int r = work(21);
  printf("result %d\n", r);
  fflush(stdout);
  ok &= r == (strcmp(mode, "nested") ? 42 : 2 * 22);
  if (!strcmp(mode, "twice")) {
    mark("a-between");
    wait_for("go-second");
    r = work(50);
    printf("result %d\n", r);
    fflush(stdout);
    ok &= r == 100;
  }
  return ok ? 7 : 1;
}

KAFU_DEST(work, "b")
KAFU_EXPORT(work)
int work(int x) {
  mark("in-work");
  int fd = open("effects.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    const char line[] = "work ran\n";
    if (write(fd, line, sizeof line - 1) < 0) { /* the test sees the missing line */
    }
    close(fd);
  }
  if (!strcmp(mode, "nested")) x = inner(x);
  wait_for("go-work");
  if (!strcmp(mode, "big") && big_mib > 0) {
    size_t n = (size_t)big_mib << 20;
    big = malloc(n);
    unsigned s = 12345;
    for (size_t i = 0; big && i < n; i++) big[i] = (unsigned char)((s = s * 1103515245u + 12345u) >> 16);
  }
  mark("work-done");
  return x * 2;
}

KAFU_DEST(inner, "c")
KAFU_EXPORT(inner)
int inner(int x) {
  mark("in-inner");
  wait_for("go-inner");
  return x + 1;
}
