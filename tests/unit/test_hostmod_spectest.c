/*
 * test_hostmod_spectest.c — the host-module registry and the "spectest"
 * module: Wasmtime's "VALUE: TYPE" lines (Rust `{}` float formatting: shortest
 * round-trip digits, positional, -0, NaN, inf), the function table, and that
 * the handlers write to the WASI context's stdout (or nowhere without one).
 *
 * The float goldens were cross-checked against Python's repr (f64) and
 * numpy's shortest float32 formatting over 200k random values each, including
 * all powers of two; the 2^-96 / 2^87 (f32) and 2^-1016 (f64) cases are ones
 * where the correctly rounded shortest candidate does not read back and its
 * neighbour does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kafu/engine.h" /* kafu_val_f32/f64 (inline) */
#include "kafu/hostmod.h"

static const char *fmt(char type, uint64_t bits) {
  static char line[512];
  size_t n = kafu_spectest_format(line, sizeof line, type, bits);
  assert_int_equal(n, strlen(line));
  return line;
}

static uint64_t f32b(float f) { return kafu_val_f32(f); }
static uint64_t f64b(double d) { return kafu_val_f64(d); }

static void test_integers(void **state) {
  (void)state;
  assert_string_equal(fmt('i', 1), "1: i32\n");
  assert_string_equal(fmt('i', (uint32_t)-7), "-7: i32\n");
  assert_string_equal(fmt('i', 0x80000000u), "-2147483648: i32\n");
  assert_string_equal(fmt('i', 0x7fffffffu), "2147483647: i32\n");
  assert_string_equal(fmt('I', (uint64_t)-1), "-1: i64\n");
  assert_string_equal(fmt('I', 0x8000000000000000ull), "-9223372036854775808: i64\n");
  assert_string_equal(fmt('I', 1234567890123ull), "1234567890123: i64\n");
}

static void test_f32(void **state) {
  (void)state;
  assert_string_equal(fmt('f', f32b(1.0f)), "1: f32\n");
  assert_string_equal(fmt('f', f32b(0.1f)), "0.1: f32\n");
  assert_string_equal(fmt('f', f32b(1.5f)), "1.5: f32\n");
  assert_string_equal(fmt('f', f32b(-2.25f)), "-2.25: f32\n");
  assert_string_equal(fmt('f', f32b(0.0f)), "0: f32\n");
  assert_string_equal(fmt('f', f32b(-0.0f)), "-0: f32\n");
  assert_string_equal(fmt('f', f32b(16777216.0f)), "16777216: f32\n");
  assert_string_equal(fmt('f', f32b(3.14159274f)), "3.1415927: f32\n");
  assert_string_equal(fmt('f', 0x7f7fffffu), "340282350000000000000000000000000000000: f32\n");
  assert_string_equal(fmt('f', 1), "0.000000000000000000000000000000000000000000001: f32\n");
  assert_string_equal(fmt('f', 0x7f800000u), "inf: f32\n");
  assert_string_equal(fmt('f', 0xff800000u), "-inf: f32\n");
  assert_string_equal(fmt('f', 0x7fc00000u), "NaN: f32\n");
  assert_string_equal(fmt('f', 0xffc00001u), "NaN: f32\n");
  /* neighbour candidates (power-of-two boundaries) */
  assert_string_equal(fmt('f', 0x0f800000u), "0.000000000000000000000000000012621775: f32\n"); /* 2^-96 */
  assert_string_equal(fmt('f', 0x6b000000u), "154742510000000000000000000: f32\n");            /* 2^87 */
}

static void test_f64(void **state) {
  (void)state;
  assert_string_equal(fmt('F', f64b(1.0)), "1: f64\n");
  assert_string_equal(fmt('F', f64b(0.1)), "0.1: f64\n");
  assert_string_equal(fmt('F', f64b(0.1 + 0.2)), "0.30000000000000004: f64\n");
  assert_string_equal(fmt('F', f64b(-0.0)), "-0: f64\n");
  assert_string_equal(fmt('F', f64b(1e21)), "1000000000000000000000: f64\n");
  assert_string_equal(fmt('F', f64b(1e23)), "100000000000000000000000: f64\n");
  assert_string_equal(fmt('F', f64b(1.5e-7)), "0.00000015: f64\n");
  assert_string_equal(fmt('F', f64b(123456.789)), "123456.789: f64\n");
  assert_string_equal(fmt('F', f64b(9007199254740992.0)), "9007199254740992: f64\n");
  assert_string_equal(fmt('F', 0x7ff0000000000000ull), "inf: f64\n");
  assert_string_equal(fmt('F', 0xfff8000000000000ull), "NaN: f64\n");
  /* the extremes fit: 309 integer digits, 324 fraction digits */
  const char *max = fmt('F', 0x7fefffffffffffffull);
  assert_int_equal(strlen(max), 309 + strlen(": f64\n"));
  assert_memory_equal(max, "17976931348623157000", 20);
  const char *min = fmt('F', 1);
  assert_int_equal(strlen(min), 2 + 323 + 1 + strlen(": f64\n"));
  assert_memory_equal(min + 2 + 323, "5: f64\n", 7);
  /* 2^-1016: the nearest 16-digit candidate does not read back, its neighbour does */
  const char *p = fmt('F', 0x0070000000000000ull);
  assert_int_equal(strspn(p + 2, "0"), 305);
  assert_string_equal(p + 2 + 305, "1424047269444609: f64\n");
}

static void test_registry(void **state) {
  (void)state;
  assert_ptr_equal(kafu_hostmod_find("spectest"), &kafu_hostmod_spectest);
  assert_ptr_equal(kafu_hostmod_find("wasi_snapshot_preview1"), &kafu_hostmod_wasi);
  assert_null(kafu_hostmod_find("nope"));
  assert_null(kafu_hostmod_find("kafu")); /* the engine's own, not in the registry */
  size_t n = 0;
  while (kafu_hostmod_at(n)) n++;
  assert_true(n >= 2);
  static const struct {
    const char *name, *params;
  } want[] = {{"print", ""},      {"print_i32", "i"},      {"print_i64", "I"},     {"print_f32", "f"},
              {"print_f64", "F"}, {"print_i32_f32", "if"}, {"print_f64_f64", "FF"}};
  const kafu_hostmod *sp = &kafu_hostmod_spectest;
  assert_int_equal(sp->nfns, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < sp->nfns; i++) {
    const kafu_hostfn *f = kafu_hostmod_fn(sp, want[i].name);
    assert_non_null(f);
    assert_string_equal(f->params, want[i].params);
    assert_string_equal(f->results, "");
    assert_non_null(f->fn);
  }
  assert_null(kafu_hostmod_fn(sp, "global_i32"));
  assert_null(kafu_hostmod_fn(NULL, "print"));
}

/* the handlers, called as the engine calls them, write to the WASI stdout */
#define ZEROS10 "0000000000"
#define ZEROS100 ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10
static void test_handlers_write_to_wasi_stdout(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  kafu_wasi *w;
  kafu_err e;
  assert_int_equal(kafu_wasi_new(&(kafu_wasi_config){.stdout_fd = fds[1]}, &w, &e), 0);
  kafu_mem m = {NULL, 0};
  const kafu_hostmod *sp = &kafu_hostmod_spectest;
  ((void (*)(void *, const kafu_mem *))kafu_hostmod_fn(sp, "print")->fn)(w, &m);
  ((void (*)(void *, const kafu_mem *, uint32_t))kafu_hostmod_fn(sp, "print_i32")->fn)(w, &m, (uint32_t)-3);
  ((void (*)(void *, const kafu_mem *, uint64_t))kafu_hostmod_fn(sp, "print_i64")->fn)(w, &m, 1ull << 40);
  ((void (*)(void *, const kafu_mem *, float))kafu_hostmod_fn(sp, "print_f32")->fn)(w, &m, 0.5f);
  ((void (*)(void *, const kafu_mem *, double))kafu_hostmod_fn(sp, "print_f64")->fn)(w, &m, -1e-3);
  ((void (*)(void *, const kafu_mem *, uint32_t, float))kafu_hostmod_fn(sp, "print_i32_f32")->fn)(w, &m, 7,
                                                                                                  2.5f);
  ((void (*)(void *, const kafu_mem *, double, double))kafu_hostmod_fn(sp, "print_f64_f64")->fn)(w, &m, 1e100,
                                                                                                 0.25);
  close(fds[1]);
  char buf[1024];
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  assert_true(n > 0);
  buf[n] = 0;
  const char *exp =
      "-3: i32\n1099511627776: i64\n0.5: f32\n-0.001: f64\n7: i32\n2.5: f32\n"
      "1" ZEROS100 ": f64\n0.25: f64\n";
  assert_string_equal(buf, exp);
  close(fds[0]);
  kafu_wasi_free(w);

  /* a guest without stdout: nothing is written, nothing fails */
  assert_int_equal(kafu_wasi_new(&(kafu_wasi_config){.stdout_fd = -1}, &w, &e), 0);
  ((void (*)(void *, const kafu_mem *, uint32_t))kafu_hostmod_fn(sp, "print_i32")->fn)(w, &m, 1);
  kafu_wasi_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_integers),
      cmocka_unit_test(test_f32),
      cmocka_unit_test(test_f64),
      cmocka_unit_test(test_registry),
      cmocka_unit_test(test_handlers_write_to_wasi_stdout),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
