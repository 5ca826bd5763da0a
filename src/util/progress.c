/*
 * progress.c — saying what a long step is doing (kafu_progress, util.h).
 *
 * On a terminal (or with KAFU_PROGRESS_MS set; build logs and scripts that
 * expect a quiet success get nothing otherwise), a step shorter than
 * KAFU_PROGRESS_MS (default 2 s) prints nothing. A longer
 * one prints "<prefix>: <what> ..." once that much time has passed, then
 * "<prefix>: still <what> (N s)" every KAFU_PROGRESS_REPEAT_S seconds, and
 * when it ends "<prefix>: <what>: done in N s". A thread of its own does the
 * waiting, so the step itself (a child process, an in-process library call)
 * needs no hooks. Lines go to stderr at INFO (KAFU_LOG=warn silences them),
 * with one write(2) each and no stdio: the step may fork (Snapify does), and
 * a child must never inherit a stdio lock this thread held.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafu/util.h"

#define KAFU_PROGRESS_REPEAT_S 10

/* The delay before the first line, or UINT64_MAX for no lines at all. */
static uint64_t first_after_ms(void) {
  uint64_t ms = kafu_tunables_get()->progress_ms;
  if (ms != UINT64_MAX) return ms;
  return isatty(2) ? 2000 : UINT64_MAX;
}

struct kafu_progress {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t th;
  bool stop, shown, started;
  uint64_t t0;
  char prefix[64], what[256];
};

static void deadline(struct timespec *ts, uint64_t ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += (time_t)(ms / 1000);
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  if (kafu_log_get_level() < KAFU_LOG_INFO) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) n = (int)sizeof line - 1, line[n - 1] = '\n';
  if (write(2, line, (size_t)n) < 0) { /* nowhere to report it */
  }
}

static void *ticker(void *arg) {
  kafu_progress *p = arg;
  pthread_mutex_lock(&p->mu);
  uint64_t wait_ms = p->shown ? KAFU_PROGRESS_REPEAT_S * 1000ull : first_after_ms();
  while (!p->stop) {
    struct timespec ts;
    deadline(&ts, wait_ms);
    while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &ts) == 0) {
    }
    if (p->stop) break;
    if (!p->shown)
      say("%s: %s ...\n", p->prefix, p->what);
    else
      say("%s: still %s (%.0f s)\n", p->prefix, p->what, kafu_ms_since(p->t0) / 1000.0);
    p->shown = true;
    wait_ms = KAFU_PROGRESS_REPEAT_S * 1000ull;
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

kafu_progress *kafu_progress_start(const char *prefix, const char *fmt, ...) {
  if (first_after_ms() == UINT64_MAX || kafu_log_get_level() < KAFU_LOG_INFO) return NULL;
  kafu_progress *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  snprintf(p->prefix, sizeof p->prefix, "%s", prefix);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->what, sizeof p->what, fmt, ap);
  va_end(ap);
  p->t0 = kafu_now_ns();
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&p->mu, NULL);
  if (first_after_ms() == 0) { /* every step, at once (tests) */
    say("%s: %s ...\n", p->prefix, p->what);
    p->shown = true;
  }
  p->started = pthread_create(&p->th, NULL, ticker, p) == 0;
  return p;
}

void kafu_progress_end(kafu_progress *p, bool ok) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  if (p->started) pthread_join(p->th, NULL);
  if (p->shown && ok) say("%s: %s: done in %.1f s\n", p->prefix, p->what, kafu_ms_since(p->t0) / 1000.0);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  free(p);
}
