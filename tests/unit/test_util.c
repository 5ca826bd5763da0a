/* test_util.c — unit tests for src/util. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafu/util.h"

static void test_err(void **s) {
  kafu_err e;
  assert_int_equal(kafu_err_set(&e, KAFU_EINVAL, "x=%d", 3), KAFU_EINVAL);
  assert_string_equal(e.msg, "x=3");
  kafu_err_prefix(&e, "file %s", "a.yaml");
  assert_string_equal(e.msg, "file a.yaml: x=3");
}

static void test_buf(void **s) {
  kafu_buf b = {0};
  for (int i = 0; i < 1000; i++) assert_int_equal(kafu_buf_printf(&b, "%d,", i), 0);
  assert_true(strncmp(kafu_buf_cstr(&b), "0,1,2,", 6) == 0);
  assert_int_equal(b.len, strlen((char *)b.data));
  kafu_buf_free(&b);
}

static void test_files(void **s) {
  char dir[] = "/tmp/kafu-util-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *sub = kafu_path_join(dir, "a/b/c");
  assert_int_equal(kafu_mkdirs(sub, 0755, NULL), 0);
  char *f = kafu_path_join(sub, "f.bin");
  assert_int_equal(kafu_write_file_atomic(f, "hello", 5, NULL), 0);
  uint8_t *data;
  size_t len;
  assert_int_equal(kafu_read_file(f, &data, &len, NULL), 0);
  assert_int_equal(len, 5);
  assert_memory_equal(data, "hello", 5);
  free(data);
  kafu_err e;
  char *missing = kafu_path_join(dir, "nope");
  assert_int_equal(kafu_read_file(missing, &data, &len, &e), KAFU_ENOENT);
  assert_non_null(strstr(e.msg, "nope"));
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  free(sub), free(f), free(missing);
}

static void test_paths(void **s) {
  char *d = kafu_path_dirname("/a/b/c.yaml");
  assert_string_equal(d, "/a/b");
  free(d);
  d = kafu_path_dirname("c.yaml");
  assert_string_equal(d, ".");
  free(d);
  assert_string_equal(kafu_path_basename("/x/y.wasm"), "y.wasm");
  char *j = kafu_path_join("/a/", "b");
  assert_string_equal(j, "/a/b");
  free(j);
}

static void test_hash(void **s) {
  uint8_t h[32];
  char hex[65];
  kafu_sha256("abc", 3, h);
  kafu_hex(h, 32, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_int_not_equal(kafu_hash64("a", 1), kafu_hash64("b", 1));
}

static void test_edit_distance(void **s) {
  assert_int_equal(kafu_edit_distance("preopened_dir", "preopend_dir"), 1);
  assert_int_equal(kafu_edit_distance("", "abc"), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_err),   cmocka_unit_test(test_buf),  cmocka_unit_test(test_files),
      cmocka_unit_test(test_paths), cmocka_unit_test(test_hash), cmocka_unit_test(test_edit_distance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
