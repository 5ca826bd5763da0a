/*
 * spectest.c — the "spectest" host module: the printing functions of the
 * WebAssembly spec interpreter's test module, as Wasmtime links them (the
 * original Kafu linked Wasmtime's, and its examples print through it).
 *
 *   print()                      prints nothing
 *   print_i32(i32) / print_i64   "-7: i32", "123: i64"
 *   print_f32(f32) / print_f64   "0.1: f32", "1: f64", "-0: f64", "NaN: f32", "inf: f64"
 *   print_i32_f32, print_f64_f64 one line per argument
 *
 * Integers are signed decimal. Floats are formatted like Rust's `{}` (which
 * Wasmtime's println! uses): the shortest decimal digit string that reads back
 * to the same f32/f64, written out positionally (never an exponent), "-0" for
 * negative zero, "NaN" for any NaN, "inf"/"-inf".
 *
 * Output goes to the host fd behind the guest's stdout (WASI config), one
 * write(2) per call so lines of concurrent writers never interleave; without
 * a WASI context, to fd 1. The spec test module's globals, table and memory
 * are not provided (importing them is the engine's "not provided" error).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafu/hostmod.h"

/* ---- shortest round-trip decimal --------------------------------------------- */

static bool reads_back(const char *s, double v, bool f32) {
  return f32 ? strtof(s, NULL) == (float)v : strtod(s, NULL) == v;
}

/* digits "d.ddd" of s (from %e) into dig without the dot; returns the count */
static int take_digits(const char *s, char *dig, int *exp10) {
  int n = 0;
  for (; *s && *s != 'e'; s++)
    if (*s >= '0' && *s <= '9') dig[n++] = *s;
  dig[n] = 0;
  *exp10 = *s == 'e' ? atoi(s + 1) : 0;
  return n;
}

/* dig (n digits, value dig[0].dig[1..] x 10^exp) plus delta (+1/-1) in the last
 * digit; false when that leaves the n-digit range */
static bool step_last(char *dig, int n, int *exp10, int delta) {
  int i = n - 1;
  while (i >= 0) {
    int d = dig[i] - '0' + delta;
    if (d >= 0 && d <= 9) {
      dig[i] = (char)('0' + d);
      break;
    }
    dig[i] = delta > 0 ? '0' : '9';
    i--;
  }
  if (i < 0) {
    if (delta < 0) return false;
    memmove(dig + 1, dig, (size_t)n); /* 9.99 -> 10.00: one more digit, drop the last */
    dig[0] = '1';
    dig[n] = 0;
    (*exp10)++;
  }
  return dig[0] != '0';
}

/* v > 0, finite: shortest digits that read back as v, and the decimal exponent
 * of the first digit. Candidates per length: the correctly rounded one (glibc's
 * printf is exact) and its two neighbours, because at a power of two the
 * interval that reads back is lopsided and a farther neighbour may fit when
 * the nearest does not. */
static int shortest(double v, bool f32, char *dig, int *exp10) {
  int maxp = f32 ? 9 : 17;
  char s[64], cand[32], best[32] = "";
  for (int p = 1; p <= maxp; p++) {
    snprintf(s, sizeof s, "%.*e", p - 1, v);
    int e, n = take_digits(s, cand, &e);
    if (reads_back(s, v, f32)) {
      memcpy(dig, cand, (size_t)n + 1);
      *exp10 = e;
      return n;
    }
    double bestdist = INFINITY;
    for (int delta = -1; delta <= 1; delta += 2) {
      char alt[32];
      int ae = e;
      memcpy(alt, cand, (size_t)n + 1);
      if (!step_last(alt, n, &ae, delta)) continue;
      snprintf(s, sizeof s, "%c.%se%d", alt[0], alt + 1, ae);
      if (!reads_back(s, v, f32)) continue;
      double dist = fabs(strtod(s, NULL) - v);
      if (dist < bestdist) {
        bestdist = dist;
        memcpy(best, alt, (size_t)n + 1);
        *exp10 = ae;
      }
    }
    if (best[0]) {
      memcpy(dig, best, (size_t)n + 1);
      return n;
    }
  }
  /* unreachable: 9 (17) significant digits always read back */
  snprintf(s, sizeof s, "%.*e", maxp - 1, v);
  return take_digits(s, dig, exp10);
}

static size_t format_float(char *out, size_t cap, double v, bool f32) {
  if (isnan(v)) return (size_t)snprintf(out, cap, "NaN");
  size_t n = 0;
  if (signbit(v)) out[n++] = '-';
  v = fabs(v);
  if (isinf(v)) return n + (size_t)snprintf(out + n, cap - n, "inf");
  if (v == 0) return n + (size_t)snprintf(out + n, cap - n, "0");
  char dig[32];
  int e, nd = shortest(v, f32, dig, &e);
  while (nd > 1 && dig[nd - 1] == '0') dig[--nd] = 0;
  /* at most 309 integer digits (f64 max) or 324 fraction digits (subnormals) */
  if (e >= nd - 1) { /* integer */
    n += (size_t)snprintf(out + n, cap - n, "%s", dig);
    for (int i = 0; i < e - (nd - 1) && n + 1 < cap; i++) out[n++] = '0';
  } else if (e >= 0) {
    n += (size_t)snprintf(out + n, cap - n, "%.*s.%s", e + 1, dig, dig + e + 1);
  } else {
    n += (size_t)snprintf(out + n, cap - n, "0.");
    for (int i = 0; i < -e - 1 && n + 1 < cap; i++) out[n++] = '0';
    n += (size_t)snprintf(out + n, cap - n, "%s", dig);
  }
  out[n < cap ? n : cap - 1] = 0;
  return n;
}

/* one "VALUE: TYPE\n" line; integers come in ival, floats in fval */
static size_t format_line(char *out, size_t cap, char type, uint64_t ival, double fval) {
  char val[400];
  const char *tn = type == 'i' ? "i32" : type == 'I' ? "i64" : type == 'f' ? "f32" : "f64";
  if (type == 'i')
    snprintf(val, sizeof val, "%" PRId32, (int32_t)(uint32_t)ival);
  else if (type == 'I')
    snprintf(val, sizeof val, "%" PRId64, (int64_t)ival);
  else
    format_float(val, sizeof val, fval, type == 'f');
  int n = snprintf(out, cap, "%s: %s\n", val, tn);
  return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t kafu_spectest_format(char *out, size_t cap, char type, uint64_t bits) {
  double v = 0;
  if (type == 'f') {
    uint32_t u = (uint32_t)bits;
    float f;
    memcpy(&f, &u, 4);
    v = f;
  } else if (type == 'F') {
    memcpy(&v, &bits, 8);
  }
  return format_line(out, cap, type, bits, v);
}

/* ---- handlers ------------------------------------------------------------------ */

static void emit(void *wasi, const char *s, size_t len) {
  int fd = wasi ? kafu_wasi_stdout_host_fd(wasi) : 1;
  while (fd >= 0 && len) {
    ssize_t w = write(fd, s, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* like a closed stdout: the program goes on */
    s += w;
    len -= (size_t)w;
  }
}

/* up to two values, one line each, in one write */
static void print(void *wasi, char t1, uint64_t i1, double f1, char t2, uint64_t i2, double f2) {
  char line[1024];
  size_t n = format_line(line, 512, t1, i1, f1);
  if (t2) n += format_line(line + n, sizeof line - n, t2, i2, f2);
  emit(wasi, line, n);
}

static void sp_print(void *ctx, const kafu_mem *m) { (void)ctx, (void)m; }
static void sp_print_i32(void *ctx, const kafu_mem *m, uint32_t v) { print(ctx, 'i', v, 0, 0, 0, 0); }
static void sp_print_i64(void *ctx, const kafu_mem *m, uint64_t v) { print(ctx, 'I', v, 0, 0, 0, 0); }
static void sp_print_f32(void *ctx, const kafu_mem *m, float v) { print(ctx, 'f', 0, v, 0, 0, 0); }
static void sp_print_f64(void *ctx, const kafu_mem *m, double v) { print(ctx, 'F', 0, v, 0, 0, 0); }
static void sp_print_i32_f32(void *ctx, const kafu_mem *m, uint32_t i, float f) {
  print(ctx, 'i', i, 0, 'f', 0, f);
}
static void sp_print_f64_f64(void *ctx, const kafu_mem *m, double a, double b) {
  print(ctx, 'F', 0, a, 'F', 0, b);
}

static const kafu_hostfn g_fns[] = {
    {"print", "", "", (const void *)sp_print, 0},
    {"print_i32", "i", "", (const void *)sp_print_i32, 0},
    {"print_i64", "I", "", (const void *)sp_print_i64, 0},
    {"print_f32", "f", "", (const void *)sp_print_f32, 0},
    {"print_f64", "F", "", (const void *)sp_print_f64, 0},
    {"print_i32_f32", "if", "", (const void *)sp_print_i32_f32, 0},
    {"print_f64_f64", "FF", "", (const void *)sp_print_f64_f64, 0},
};

const kafu_hostmod kafu_hostmod_spectest = {
    .name = "spectest",
    .summary = "spec-test printing as in Wasmtime (print_i32, print_f64, ...)",
    .ctx = KAFU_HOSTCTX_WASI,
    .ctx_required = false,
    .fns = g_fns,
    .nfns = sizeof g_fns / sizeof g_fns[0],
};
