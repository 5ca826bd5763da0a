/* test_yaml.c — unit tests for src/yaml: the YAML tree the config and kube
 * stages write through. What matters: strings a YAML reader would take for
 * something else come out quoted, so every value round-trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "kafu/yaml.h"

static void test_ambiguous(void **s) {
  const char *quoted[] = {"", "null", "Null", "~", "true", "yes", "No", "on", "OFF", "y", "1", "-2", "0x1f",
                          "1:20", "1_000", ".5", "1e3", ".inf", "<<"};
  for (size_t i = 0; i < sizeof quoted / sizeof quoted[0]; i++)
    if (!kafu_y_plain_ambiguous(quoted[i])) fail_msg("'%s' should count as ambiguous", quoted[i]);
  const char *plain[] = {"cloud", "edge-1", "kafu-server-a", "a1", "v1.2.3-x", "hello world"};
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
    if (kafu_y_plain_ambiguous(plain[i])) fail_msg("'%s' should stay plain", plain[i]);
}

static void test_emit(void **s) {
  kafu_ynode *m = kafu_y_map();
  kafu_y_put_str(m, "name", "app");
  kafu_y_put_str(m, "flag", "yes");
  kafu_y_put_int(m, "port", 50051);
  kafu_y_put(m, "on", kafu_y_bool(true));
  kafu_y_put(m, "nothing", kafu_y_null());
  kafu_y_put(m, "empty", kafu_y_flow_seq());
  kafu_ynode *seq = kafu_y_put(m, "args", kafu_y_seq());
  kafu_y_push(seq, kafu_y_str("a: b"));
  kafu_y_push(seq, kafu_y_str("1:20"));
  kafu_ynode *m2 = kafu_y_map();
  kafu_y_put_str(m2, "second", "doc");
  kafu_ynode *docs[] = {m, m2};
  kafu_buf out = {0};
  kafu_err e;
  assert_int_equal(kafu_y_emit(docs, 2, &out, &e), 0);
  const char *y = kafu_buf_cstr(&out);
  assert_non_null(strstr(y, "name: app\n"));
  assert_non_null(strstr(y, "flag: \"yes\"\n"));
  assert_non_null(strstr(y, "port: 50051\n"));
  assert_non_null(strstr(y, "\"on\": true\n")); /* a key is a string too */
  assert_non_null(strstr(y, "nothing: null\n"));
  assert_non_null(strstr(y, "empty: []\n"));
  assert_non_null(strstr(y, "- 'a: b'\n"));
  assert_non_null(strstr(y, "- \"1:20\"\n"));
  assert_non_null(strstr(y, "---"));
  assert_non_null(strstr(y, "second: doc\n"));
  kafu_buf_free(&out);
  kafu_y_free(m);
  kafu_y_free(m2);
}

static void test_null_doc(void **s) {
  kafu_ynode *docs[] = {NULL};
  kafu_buf out = {0};
  kafu_err e;
  assert_int_equal(kafu_y_emit(docs, 1, &out, &e), KAFU_ENOMEM);
  assert_int_equal(out.len, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ambiguous),
      cmocka_unit_test(test_emit),
      cmocka_unit_test(test_null_doc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
