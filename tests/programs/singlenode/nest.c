/*
 * nest.c — nested and recursive annotated calls (nodes cloud, edge, fog).
 *
 * Each argument is a call path run from main (on "cloud"): every letter is a
 * call made from inside the previous one. C/E/F call at_cloud/at_edge/at_fog
 * (annotated for cloud/edge/fog), 'n' a plain function, 'p' calls the next
 * letter's function through a function pointer. "EFEC" = main -> at_edge ->
 * at_fog -> at_edge -> at_cloud, then returns all the way back. The output
 * is the call tree and a checksum that depends on the order of the calls.
 *
 * Special arguments:
 *   rec:N     rec_edge(N): annotated for edge, recurses N levels through itself
 *   ping:N    ping (edge) and pong (cloud) call each other N levels deep
 *   loop:N    N calls of at_edge from main, each a round trip
 *   clock     reads CLOCK_MONOTONIC on cloud, then in clock_edge (edge): prints
 *             the whole seconds elapsed (0 unless a test moved the clock) and
 *             whether the clock went backwards
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafu.h"

typedef void (*step_fn)(const char *path, int depth);

void at_cloud(const char *path, int depth);
void at_edge(const char *path, int depth);
void at_fog(const char *path, int depth);
long long rec_edge(int n);
long long ping(int n);
long long pong(int n);
long long clock_edge(long long t0_ns);

static unsigned long long sum = 1469598103934665603ULL;
static int calls;

static void mix(const char *who, int depth) {
  for (; *who; who++) sum = (sum ^ (unsigned char)*who) * 1099511628211ULL;
  sum = (sum ^ (unsigned)depth) * 1099511628211ULL;
  calls++;
}

static step_fn fn_of(char c) {
  switch (c) {
    case 'C':
      return at_cloud;
    case 'E':
      return at_edge;
    case 'F':
      return at_fog;
    default:
      return NULL;
  }
}

static void plain(const char *path, int depth);

/* Continue the path: call the function its first letter names. */
static void next(const char *path, int depth) {
  if (!*path) return;
  if (*path == 'n') {
    plain(path + 1, depth + 1);
    return;
  }
  if (*path == 'p') {
    volatile step_fn f = fn_of(path[1]); /* volatile: a real indirect call */
    if (!f) abort();
    f(path + 2, depth + 1);
    return;
  }
  step_fn f = fn_of(*path);
  if (!f) {
    fprintf(stderr, "bad path letter '%c'\n", *path);
    exit(2);
  }
  f(path + 1, depth + 1);
}

static void body(const char *who, const char *path, int depth) {
  printf("%*s%s {\n", depth * 2, "", who);
  fflush(stdout);
  mix(who, depth);
  next(path, depth);
  mix(who, -depth);
  printf("%*s} %s\n", depth * 2, "", who);
  fflush(stdout);
}

__attribute__((noinline)) static void plain(const char *path, int depth) { body("plain", path, depth); }

KAFU_DEST(at_cloud, "cloud")
KAFU_EXPORT(at_cloud)
void at_cloud(const char *path, int depth) { body("at_cloud", path, depth); }

KAFU_DEST(at_edge, "edge")
KAFU_EXPORT(at_edge)
void at_edge(const char *path, int depth) { body("at_edge", path, depth); }

KAFU_DEST(at_fog, "fog")
KAFU_EXPORT(at_fog)
void at_fog(const char *path, int depth) { body("at_fog", path, depth); }

KAFU_DEST(rec_edge, "edge")
KAFU_EXPORT(rec_edge)
long long rec_edge(int n) {
  calls++;
  if (n == 0) return 7;
  return (rec_edge(n - 1) * 31 + n) % 1000000007LL;
}

KAFU_DEST(ping, "edge")
KAFU_EXPORT(ping)
long long ping(int n) {
  calls++;
  return n == 0 ? 1 : (pong(n - 1) * 17 + n) % 1000000007LL;
}

KAFU_DEST(pong, "cloud")
KAFU_EXPORT(pong)
long long pong(int n) {
  calls++;
  return n == 0 ? 2 : (ping(n - 1) * 13 + n) % 1000000007LL;
}

static long long clock_ns(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}
static long long mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static long long cpu_t0, cpu_d; /* process CPU time before / elapsed at clock_edge */

KAFU_DEST(clock_edge, "edge")
KAFU_EXPORT(clock_edge)
long long clock_edge(long long t0_ns) {
  calls++;
  cpu_d = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_t0;
  return mono_ns() - t0_ns;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strncmp(a, "rec:", 4)) {
      printf("rec_edge(%d) = %lld\n", atoi(a + 4), rec_edge(atoi(a + 4)));
    } else if (!strncmp(a, "ping:", 5)) {
      printf("ping(%d) = %lld\n", atoi(a + 5), ping(atoi(a + 5)));
    } else if (!strcmp(a, "clock")) {
      cpu_t0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
      long long d = clock_edge(mono_ns());
      printf("clock: elapsed %lld s, %s\n", d / 1000000000LL, d >= 0 ? "monotonic" : "went BACKWARDS");
      printf("cpu: elapsed %lld s, %s\n", cpu_d / 1000000000LL, cpu_d >= 0 ? "monotonic" : "went BACKWARDS");
    } else if (!strncmp(a, "loop:", 5)) {
      for (int k = atoi(a + 5); k > 0; k--) at_edge("", 0);
    } else {
      printf("path %s:\n", a);
      next(a, 0);
    }
    fflush(stdout);
  }
  printf("calls %d sum %016llx\n", calls, sum);
  return 0;
}
