/*
 * test_runtime_wprange.c — kafu_dirty_release_range (src/runtime/dirty.c):
 * the receiver drops the write protection of exactly the page runs a
 * snapshot chunk announces before the decoder writes them (no fault per
 * page). Released pages count as written at the next collect (which the
 * receiver discards), pages outside the range stay protected and unwritten,
 * and ranges outside the registration are refused. Skips where userfaultfd
 * write-protection is unavailable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "kafu/runtime.h"

#define PG 4096u
#define RES (16u << 20)
#define SIZE (1u << 20)
#define NP (SIZE / PG)

static int bit(const uint64_t *b, size_t i) { return (int)(b[i / 64] >> (i % 64) & 1); }

static void test_release_range(void **state) {
  (void)state;
  uint8_t *base = mmap(NULL, RES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  assert_true(base != MAP_FAILED);
  assert_int_equal(mprotect(base, SIZE, PROT_READ | PROT_WRITE), 0);
  memset(base, 1, SIZE); /* populate every page */
  kafu_err e = {0};
  kafu_dirty *d = NULL;
  if (kafu_dirty_open(base, RES, &d, &e)) {
    munmap(base, RES);
    skip();
  }
  uint64_t bits[NP / 64];
  assert_int_equal(kafu_dirty_collect(d, SIZE, NULL, &e), 0); /* arm */
  assert_int_equal(kafu_dirty_collect(d, SIZE, bits, &e), 0);
  for (size_t i = 0; i < NP; i++) assert_int_equal(bit(bits, i), 0);

  /* released runs: 3..5 and 100; a write to 7 (still protected) is caught too */
  assert_int_equal(kafu_dirty_release_range(d, 3, 3, &e), 0);
  assert_int_equal(kafu_dirty_release_range(d, 100, 1, &e), 0);
  assert_int_equal(kafu_dirty_release_range(d, 50, 0, &e), 0); /* empty: no-op */
  base[4 * PG] = 9;
  base[7 * PG] = 9;
  assert_int_equal(kafu_dirty_collect(d, SIZE, bits, &e), 0);
  for (size_t i = 0; i < NP; i++) {
    int want = (i >= 3 && i <= 5) || i == 7 || i == 100;
    if (bit(bits, i) != want) fail_msg("page %zu: written=%d, expected %d", i, bit(bits, i), want);
  }
  /* the collect re-protected them all */
  assert_int_equal(kafu_dirty_collect(d, SIZE, bits, &e), 0);
  for (size_t i = 0; i < NP; i++) assert_int_equal(bit(bits, i), 0);

  /* outside the registered reservation */
  assert_true(kafu_dirty_release_range(d, RES / PG, 1, &e) < 0);
  assert_true(kafu_dirty_release_range(d, RES / PG - 1, 2, &e) < 0);
  assert_true(kafu_dirty_release_range(d, UINT64_MAX, 2, &e) < 0);
  assert_non_null(strstr(e.msg, "outside the tracked range"));
  kafu_dirty_close(d);
  munmap(base, RES);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_release_range)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
