/* test_trace.c — the timeline model from a known events file
 * (tests/data/trace/cluster.jsonl: three nodes, a migration and its restore
 * joined by migration_id, a record of a type trace does not draw, a failed
 * run), the singlenode forms, bad input, and the SVG's structure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/trace.h"

#define MS 1000000ull

static void load_fixture(kafu_trace *t) {
  char path[4096];
  snprintf(path, sizeof path, "%s/tests/data/trace/cluster.jsonl",
           getenv("KAFU_SRC") ? getenv("KAFU_SRC") : KAFU_SOURCE_DIR);
  kafu_err err = {0};
  int rc = kafu_trace_load(path, t, &err);
  if (rc) print_error("%s\n", err.msg);
  assert_int_equal(rc, 0);
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static void test_cluster_model(void **st) {
  (void)st;
  kafu_trace t;
  load_fixture(&t);
  assert_int_equal(t.nrecords, 7);
  /* lanes: the start node, then in order of appearance */
  assert_int_equal(t.nnodes, 3);
  assert_string_equal(t.nodes[0], "cloud");
  assert_string_equal(t.nodes[1], "edge");
  assert_string_equal(t.nodes[2], "fog");
  assert_int_equal(t.t0, 1000 * MS);
  assert_int_equal(t.t1, 1050 * MS);
  /* migration 1: the sender's record (acknowledged at 1013 after 7.5 ms of
   * transfer, 0.5 ms unwind) joined with edge's restore (1012, after the rewind) */
  assert_int_equal(t.nmigs, 2);
  kafu_trace_migration *m = &t.migs[0];
  assert_string_equal(m->id, "cloud.1.1");
  assert_string_equal(m->from, "cloud");
  assert_string_equal(m->to, "edge");
  assert_string_equal(m->function, "detect");
  assert_true(m->enter && m->timed && m->restored && !m->delta);
  assert_int_equal(m->t_leave, 1005 * MS);
  assert_int_equal(m->t_arrive, 1012 * MS);
  assert_int_equal(m->wire_bytes, 1048576);
  assert_string_equal(m->compression, "zstd-1");
  assert_true(m->phase_known[KAFU_TRACE_DECODE] && m->phase_ms[KAFU_TRACE_DECODE] == 2.0);
  assert_true(m->phase_known[KAFU_TRACE_REWIND] && m->phase_ms[KAFU_TRACE_REWIND] == 0.5);
  m = &t.migs[1];
  assert_string_equal(m->id, "edge.1.1");
  assert_int_equal(m->t_leave, 1026 * MS);
  assert_int_equal(m->t_arrive, 1030 * MS);
  assert_true(m->delta);
  assert_string_equal(m->compression, ""); /* not recorded */
  assert_int_equal(t.unmatched, 0);
  /* where the program was */
  assert_int_equal(t.nspans, 3);
  assert_int_equal(t.spans[0].node, 0);
  assert_int_equal(t.spans[0].t0, 1000 * MS);
  assert_int_equal(t.spans[0].t1, 1005 * MS);
  assert_int_equal(t.spans[1].node, 1);
  assert_int_equal(t.spans[1].t0, 1012 * MS);
  assert_int_equal(t.spans[1].t1, 1026 * MS);
  assert_int_equal(t.spans[2].node, 2);
  assert_int_equal(t.spans[2].t0, 1030 * MS);
  /* the failover record and the failed finish, both on edge */
  assert_int_equal(t.nmarks, 2);
  assert_string_equal(t.marks[0].type, "failover");
  assert_true(t.marks[0].failure);
  assert_string_equal(t.marks[1].type, "finish");
  assert_true(t.marks[1].failure);
  assert_int_equal(t.marks[1].node, 1);
  assert_non_null(strstr(t.marks[1].text, "failed (exit code 1): node fog at 127.0.0.1:50053 died"));
  assert_true(t.finished);
  assert_string_equal(t.status, "failed");
  kafu_trace_free(&t);
}

static void test_svg_structure(void **st) {
  (void)st;
  kafu_trace t;
  load_fixture(&t);
  kafu_buf b = {0};
  assert_int_equal(kafu_trace_svg(&t, "run <1> & \"x\"", &b), 0);
  const char *s = kafu_buf_cstr(&b);
  assert_true(!strncmp(s, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
  assert_int_equal(count(s, "<g class=\"lane\""), 3);
  assert_int_equal(count(s, "<g class=\"migration\""), 2);
  assert_int_equal(count(s, "<line class=\"arrow\""), 2);
  assert_int_equal(count(s, "<rect class=\"span\""), 3);
  assert_int_equal(count(s, "<g class=\"failure\""), 2);
  assert_int_equal(count(s, "class=\"phase phase-"), 12);
  /* time maps onto 1000 px from x=120: 50 ms -> 20 px/ms */
  assert_non_null(strstr(s, "<line class=\"arrow\" x1=\"220.00\""));
  assert_non_null(strstr(s, "x2=\"360.00\""));
  assert_non_null(strstr(s, "<line class=\"arrow\" x1=\"640.00\""));
  /* phases of migration 1: transfer is what the sender measured minus what
   * ran inside it on both sides (7.5 - 1 encode - 2 decode - 1 restore) */
  assert_non_null(strstr(s, "class=\"phase phase-transfer\" data-ms=\"3.500\""));
  assert_non_null(strstr(s, "data-id=\"cloud.1.1\" data-from=\"cloud\" data-to=\"edge\""));
  assert_non_null(strstr(s, "data-ms=\"8.500\""));
  assert_non_null(strstr(s, "detect 1.0 MiB full, 8.5 ms"));
  /* text is escaped */
  assert_non_null(strstr(s, "run &lt;1&gt; &amp; &quot;x&quot;: 2 migrations between 3 nodes in 50 ms"));
  assert_null(strstr(s, "<1>"));
  kafu_buf_free(&b);
  assert_int_equal(kafu_trace_html(&t, NULL, &b), 0);
  s = kafu_buf_cstr(&b);
  assert_int_equal(count(s, "<tr class=\"migration\">"), 2);
  assert_int_equal(count(s, "<svg "), 1);
  kafu_buf_free(&b);
  kafu_trace_free(&t);
}

static void test_singlenode_forms(void **st) {
  (void)st;
  /* --verify: one record after the rewind with all six phases; emulated: none */
  const char *text =
      "{\"type\":\"start\",\"time_ns\":100000000,\"node\":\"a\"}\n"
      "{\"type\":\"migration\",\"time_ns\":110000000,\"node\":\"a\",\"migration_id\":\"1\",\"from\":\"a\","
      "\"to\":\"b\",\"kind\":\"enter\",\"function\":\"f\",\"fn_id\":0,\"unwind_ms\":1.000,\"encode_ms\":1."
      "000,"
      "\"transfer_ms\":0.000,\"decode_ms\":1.000,\"restore_ms\":1.000,\"rewind_ms\":1.000,\"raw_bytes\":10,"
      "\"wire_bytes\":5,\"memory_bytes\":65536,\"delta\":false}\n"
      "{\"type\":\"migration\",\"time_ns\":120000000,\"node\":\"b\",\"from\":\"b\",\"to\":\"a\",\"kind\":"
      "\"exit\","
      "\"function\":\"f\",\"fn_id\":0}\n"
      "{\"type\":\"finish\",\"time_ns\":130000000,\"node\":\"a\",\"status\":\"finished\",\"exit_code\":0}\n";
  kafu_trace t;
  kafu_err err = {0};
  assert_int_equal(kafu_trace_parse(text, strlen(text), "x", &t, &err), 0);
  assert_int_equal(t.nmigs, 2);
  assert_int_equal(t.migs[0].t_leave, 105 * MS);
  assert_int_equal(t.migs[0].t_arrive, 110 * MS);
  assert_false(t.migs[1].timed);
  assert_int_equal(t.migs[1].t_leave, 120 * MS);
  assert_int_equal(t.migs[1].t_arrive, 120 * MS);
  assert_int_equal(t.nmarks, 0);
  assert_int_equal(t.nspans, 3);
  kafu_trace_free(&t);
}

static void test_bad_input(void **st) {
  (void)st;
  kafu_trace t;
  kafu_err err = {0};
  const char *bad[] = {"{\"type\":\"start\"}\n", "not json\n", "{\"type\":\"start\",\"time_ns\":-5}\n",
                       "{\"type\":1,\"time_ns\":5}\n", "{\"type\":\"x\",\"time_ns\":\"5\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *text = bad[i];
    char two[256];
    snprintf(two, sizeof two, "{\"type\":\"start\",\"time_ns\":1,\"node\":\"a\"}\n\n%s", text);
    assert_int_equal(kafu_trace_parse(two, strlen(two), "ev.jsonl", &t, &err), KAFU_EFORMAT);
    assert_non_null(strstr(err.msg, "ev.jsonl:3: not an event"));
  }
  assert_int_equal(kafu_trace_parse("\n \n", 3, "ev.jsonl", &t, &err), KAFU_EFORMAT);
  assert_non_null(strstr(err.msg, "ev.jsonl: no events"));
  assert_int_equal(kafu_trace_load("/nonexistent/ev.jsonl", &t, &err), KAFU_ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cluster_model),
      cmocka_unit_test(test_svg_structure),
      cmocka_unit_test(test_singlenode_forms),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
