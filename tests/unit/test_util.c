/* test_util.c — unit tests for src/util. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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


/* ---- JSON strings ---- */

static void test_json_quote(void **s) {
  kafu_buf b = {0};
  assert_int_equal(kafu_json_quote(&b, "a\"b\\c\n\r\t\x01\x7f\xc3\xa9/"), 0);
  assert_string_equal(kafu_buf_cstr(&b), "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u007f\xc3\xa9/\"");
  b.len = 0;
  assert_int_equal(kafu_json_quote(&b, NULL), 0);
  assert_string_equal(kafu_buf_cstr(&b), "null");
  b.len = 0;
  assert_int_equal(kafu_json_quote(&b, ""), 0);
  assert_string_equal(kafu_buf_cstr(&b), "\"\"");
  kafu_buf_free(&b);
}

static void test_json_fquote_matches_buf(void **s) {
  const char *cases[] = {"plain", "", "q\"uote", "ctl\x02\x1f end", "tab\there\n", NULL};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    assert_non_null(f);
    assert_int_equal(kafu_json_fquote(f, cases[i]), 0);
    fclose(f);
    kafu_buf b = {0};
    kafu_json_quote(&b, cases[i]);
    assert_string_equal(mem, kafu_buf_cstr(&b));
    free(mem);
    kafu_buf_free(&b);
  }
}

/* ---- option values ---- */

static void test_opt_value(void **s) {
  char *argv[] = {"cmd", "--events", "e.jsonl", "--events=x", "-o", "out", "-oout2", "--output=o3",
                  "--eventsx", "-n", "--namespace", NULL};
  int argc = 11, i = 1;
  const char *v = NULL;
  kafu_err e = {0};
  assert_int_equal(kafu_opt_value(argc, argv, &i, "--events", NULL, &v, &e), 1);
  assert_string_equal(v, "e.jsonl");
  assert_int_equal(i, 2);
  i = 3;
  assert_int_equal(kafu_opt_value(argc, argv, &i, "--events", NULL, &v, &e), 1);
  assert_string_equal(v, "x");
  assert_int_equal(i, 3);
  i = 4;
  assert_int_equal(kafu_opt_value(argc, argv, &i, "--output", "-o", &v, &e), 1);
  assert_string_equal(v, "out");
  assert_int_equal(i, 5);
  i = 6;
  assert_int_equal(kafu_opt_value(argc, argv, &i, "--output", "-o", &v, &e), 1);
  assert_string_equal(v, "out2");
  i = 7;
  assert_int_equal(kafu_opt_value(argc, argv, &i, "--output", "-o", &v, &e), 1);
  assert_string_equal(v, "o3");
  /* a longer option with the same start is another option */
  i = 8;
  v = NULL;
  assert_int_equal(kafu_opt_value(argc, argv, &i, "--events", NULL, &v, &e), 0);
  assert_null(v);
  assert_int_equal(i, 8);
  /* "-n --namespace": the next word is the value, even when it starts with '-' */
  i = 9;
  assert_int_equal(kafu_opt_value(argc, argv, &i, "--namespace", "-n", &v, &e), 1);
  assert_string_equal(v, "--namespace");
  /* missing value: the spelling the user typed */
  i = 10;
  assert_int_equal(kafu_opt_value(argc, argv, &i, "--namespace", "-n", &v, &e), KAFU_EINVAL);
  assert_string_equal(e.msg, "option '--namespace' needs a value");
  char *argv2[] = {"cmd", "-n", NULL};
  i = 1;
  assert_int_equal(kafu_opt_value(2, argv2, &i, "--namespace", "-n", &v, &e), KAFU_EINVAL);
  assert_string_equal(e.msg, "option '-n' needs a value");
}

/* ---- processes ---- */

static void test_proc_run_status_and_capture(void **s) {
  kafu_err e = {0};
  char *t[] = {"true", NULL}, *f[] = {"sh", "-c", "exit 3", NULL};
  assert_int_equal(kafu_proc_run(t, NULL, NULL, &e), 0);
  assert_int_equal(kafu_proc_run(f, NULL, NULL, &e), 3);
  char *k[] = {"sh", "-c", "kill -TERM $$", NULL};
  assert_int_equal(kafu_proc_run(k, NULL, NULL, &e), 128 + 15);
  /* stdout and stderr into one buffer; stdin from /dev/null */
  char *both[] = {"sh", "-c", "echo out; echo err >&2; cat", NULL};
  kafu_proc_opts o = {.in = {KAFU_IO_NULL}, .out = {KAFU_IO_CAPTURE}, .err = {KAFU_IO_CAPTURE}};
  kafu_buf b = {0};
  assert_int_equal(kafu_proc_run(both, &o, &b, &e), 0);
  assert_string_equal(kafu_buf_cstr(&b), "out\nerr\n");
  /* stdout only; stderr to /dev/null */
  b.len = 0;
  o.err.kind = KAFU_IO_NULL;
  assert_int_equal(kafu_proc_run(both, &o, &b, &e), 0);
  assert_string_equal(kafu_buf_cstr(&b), "out\n");
  /* 2>&1 into a file, stdin from a file */
  char dir[] = "/tmp/kafu-proc-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *in = kafu_path_join(dir, "in"), *out = kafu_path_join(dir, "out");
  assert_int_equal(kafu_write_file_atomic(in, "from stdin\n", 11, NULL), 0);
  kafu_proc_opts fo = {.in = {KAFU_IO_FILE, .path = in}, .out = {KAFU_IO_FILE, .path = out},
                       .err = {KAFU_IO_STDOUT}};
  assert_int_equal(kafu_proc_run(both, &fo, NULL, &e), 0);
  uint8_t *data;
  size_t len;
  assert_int_equal(kafu_read_file(out, &data, &len, NULL), 0);
  assert_string_equal((char *)data, "out\nerr\nfrom stdin\n");
  free(data);
  unlink(in), unlink(out), rmdir(dir);
  free(in), free(out);
  kafu_buf_free(&b);
}

static void test_proc_cannot_start(void **s) {
  kafu_err e = {0};
  char *nf[] = {"kafu-no-such-program-xyz", NULL};
  assert_int_equal(kafu_proc_run(nf, NULL, NULL, &e), KAFU_ENOENT);
  assert_string_equal(e.msg, "cannot run kafu-no-such-program-xyz: not found in PATH");
  char *abs[] = {"/nonexistent/prog", NULL};
  assert_true(kafu_proc_run(abs, NULL, NULL, &e) < 0);
  assert_non_null(strstr(e.msg, "cannot run /nonexistent/prog"));
  /* an existing file that is not executable */
  char *ne[] = {"/etc/hostname", NULL};
  if (kafu_file_exists(ne[0])) {
    assert_true(kafu_proc_run(ne, NULL, NULL, &e) < 0);
    assert_non_null(strstr(e.msg, "cannot run /etc/hostname"));
  }
  /* a script whose interpreter is missing: exec fails in the child */
  char dir[] = "/tmp/kafu-proc-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *sc = kafu_path_join(dir, "s.sh");
  assert_int_equal(kafu_write_file_atomic(sc, "#!/nonexistent/interp\n", 22, NULL), 0);
  chmod(sc, 0755);
  char *sa[] = {sc, NULL};
  assert_int_equal(kafu_proc_run(sa, NULL, NULL, &e), KAFU_ENOENT);
  assert_non_null(strstr(e.msg, "No such file or directory"));
  unlink(sc), rmdir(dir);
  free(sc);
  /* capture without a buffer is a usage error, not a crash */
  kafu_proc_opts o = {.out = {KAFU_IO_CAPTURE}};
  char *t[] = {"true", NULL};
  assert_int_equal(kafu_proc_run(t, &o, NULL, &e), KAFU_EINVAL);
  /* capture is not available to kafu_proc_spawn */
  pid_t pid;
  assert_int_equal(kafu_proc_spawn(t, &o, &pid, &e), KAFU_EINVAL);
}

static void test_proc_spawn_wait_fd(void **s) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  kafu_err e = {0};
  char *argv[] = {"sh", "-c", "read x; echo got $x; exit 7", NULL};
  int in[2];
  assert_int_equal(pipe(in), 0);
  kafu_proc_opts o = {.in = {KAFU_IO_FD, .fd = in[0]}, .out = {KAFU_IO_FD, .fd = p[1]}};
  pid_t pid;
  assert_int_equal(kafu_proc_spawn(argv, &o, &pid, &e), 0);
  close(p[1]);
  close(in[0]);
  int st = -1;
  assert_int_equal(kafu_proc_wait(pid, true, &st, &e), 1); /* waiting for its stdin */
  assert_int_equal(write(in[1], "hi\n", 3), 3);
  close(in[1]);
  char buf[64] = {0};
  ssize_t n = 0, r;
  while ((r = read(p[0], buf + n, sizeof buf - 1 - (size_t)n)) > 0) n += r;
  close(p[0]);
  assert_string_equal(buf, "got hi\n");
  assert_int_equal(kafu_proc_wait(pid, false, &st, &e), 0);
  assert_int_equal(st, 7);
  assert_true(kafu_proc_wait(pid, false, &st, &e) < 0); /* already reaped */
}

static int child_fn(void *ctx) {
  const char *what = ctx;
  if (!strcmp(what, "abort")) abort();
  printf("child says %s\n", what); /* to the pipe: flushed before _exit */
  return 42;
}

static void test_proc_fork_run(void **s) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  kafu_err e = {0};
  kafu_proc_opts o = {.out = {KAFU_IO_FD, .fd = p[1]}, .err = {KAFU_IO_NULL}};
  assert_int_equal(kafu_proc_fork_run(child_fn, "hi", &o, &e), 42);
  close(p[1]);
  char buf[64] = {0};
  ssize_t n = 0, r;
  while ((r = read(p[0], buf + n, sizeof buf - 1 - (size_t)n)) > 0) n += r;
  close(p[0]);
  assert_string_equal(buf, "child says hi\n");
  int st = kafu_proc_fork_run(child_fn, "abort", &o, &e);
  assert_int_equal(st, 128 + 6);
  char how[80];
  assert_string_equal(kafu_proc_status_text(st, how, sizeof how), "was killed by signal 6 (Aborted)");
  assert_string_equal(kafu_proc_status_text(1, how, sizeof how), "exited with status 1");
  kafu_proc_opts cap = {.out = {KAFU_IO_CAPTURE}};
  assert_int_equal(kafu_proc_fork_run(child_fn, "x", &cap, &e), KAFU_EINVAL);
}

/* ---- node ids ---- */

static void test_node_id(void **s) {
  const char *why = NULL;
  const char *ok[] = {"cloud", "edge-1", "Edge_2", "7", "a"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) assert_true(kafu_node_id_valid(ok[i], &why));
  const char *bad[] = {"", "a.b", "a/b", "edge-", "_x", "n\xc3\xa9", "no space", NULL};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    why = NULL;
    assert_false(kafu_node_id_valid(bad[i], &why));
    assert_non_null(why);
  }
  char id[80];
  memset(id, 'a', sizeof id);
  id[63] = 0;
  assert_true(kafu_node_id_valid(id, NULL));
  id[63] = 'a';
  id[64] = 0;
  assert_false(kafu_node_id_valid(id, &why));
  assert_string_equal(why, "is longer than 63 characters");
}

/* ---- logging ---- */

static void test_log_ctx(void **s) {
  char *mem = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&mem, &len);
  kafu_log_set_output(f);
  kafu_log_level old = kafu_log_get_level();
  kafu_log_set_level(KAFU_LOG_INFO);
  kafu_log_ctx c;
  kafu_log_ctx_init(&c, "node %s", "cloud");
  kafu_infoc(&c, "listening on %d", 50051);
  kafu_debugc(&c, "not shown");
  kafu_warn("no prefix");
  kafu_log_lines(&c, KAFU_LOG_INFO, "one\ntwo\n", 8);
  kafu_log_ctx none = {0};
  kafu_infoc(&none, "zero ctx");
  kafu_log_set_output(NULL);
  kafu_log_set_level(old);
  fclose(f);
  assert_non_null(strstr(mem, " INFO node cloud: listening on 50051\n"));
  assert_null(strstr(mem, "not shown"));
  assert_non_null(strstr(mem, " WARN no prefix\n"));
  assert_non_null(strstr(mem, " INFO node cloud: one\n"));
  assert_non_null(strstr(mem, " INFO node cloud: two\n"));
  assert_non_null(strstr(mem, " INFO zero ctx\n"));
  int lines = 0;
  for (char *p = mem; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 5);
  free(mem);

  kafu_err e;
  assert_int_equal(kafu_err_setc(&c, &e, KAFU_EIO, "peer %s: down", "edge"), KAFU_EIO);
  assert_string_equal(e.msg, "node cloud: peer edge: down");
  assert_int_equal(e.code, KAFU_EIO);
  assert_int_equal(kafu_err_setc(NULL, &e, KAFU_EINVAL, "plain"), KAFU_EINVAL);
  assert_string_equal(e.msg, "plain");
}

/* ---- tunables ---- */

static void test_tunables(void **s) {
  static const char *vars[] = {"KAFU_WP_GAP", "KAFU_SEND_BUFFER_MAX", "KAFU_HTTP_EXPECT", "KAFU_ENGINE_INLINE",
                               "KAFU_AOT_JOBS", "KAFU_WASI_SYSROOT", "KAFU_AOT_KEEP", "KAFU_CC"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
  kafu_tunables t;
  kafu_tunables_read(&t, NULL);
  assert_int_equal(t.wp_gap, KAFU_TUNE_WP_GAP);
  assert_int_equal(t.wp_min, KAFU_TUNE_WP_MIN);
  assert_true(t.send_buffer_max == KAFU_TUNE_SEND_BUFFER_MAX);
  assert_true(t.send_stream_rate == KAFU_TUNE_SEND_STREAM_RATE);
  assert_int_equal(t.http_expect, -1);
  assert_true(t.engine_inline);
  assert_int_equal(t.aot_jobs, 0);
  assert_string_equal(t.wasi_sysroot, "/usr");
  assert_string_equal(t.dirty_tracking, "auto");
  assert_false(t.aot_keep);
  assert_null(t.cc);

  setenv("KAFU_WP_GAP", "9", 1);
  setenv("KAFU_SEND_BUFFER_MAX", "0", 1);
  setenv("KAFU_HTTP_EXPECT", "0", 1);
  setenv("KAFU_ENGINE_INLINE", "0", 1);
  setenv("KAFU_AOT_JOBS", "99", 1);
  setenv("KAFU_WASI_SYSROOT", "", 1);
  setenv("KAFU_AOT_KEEP", "0", 1);
  setenv("KAFU_CC", "gcc-12", 1);
  kafu_tunables_read(&t, NULL);
  assert_int_equal(t.wp_gap, 9);
  assert_true(t.send_buffer_max == 0);
  assert_int_equal(t.http_expect, 0);
  assert_false(t.engine_inline);
  assert_int_equal(t.aot_jobs, 32);
  assert_string_equal(t.wasi_sysroot, "/usr"); /* empty = unset */
  assert_false(t.aot_keep);
  assert_string_equal(t.cc, "gcc-12");

  /* a malformed number: the default, and a warning naming the variable */
  setenv("KAFU_WP_GAP", "12x", 1);
  setenv("KAFU_SEND_BUFFER_MAX", "-1", 1);
  kafu_buf w = {0};
  kafu_tunables_read(&t, &w);
  assert_int_equal(t.wp_gap, KAFU_TUNE_WP_GAP);
  assert_true(t.send_buffer_max == KAFU_TUNE_SEND_BUFFER_MAX);
  assert_non_null(strstr(kafu_buf_cstr(&w), "KAFU_WP_GAP='12x' is not a number"));
  assert_non_null(strstr(kafu_buf_cstr(&w), "KAFU_SEND_BUFFER_MAX='-1'"));
  kafu_buf_free(&w);
  setenv("KAFU_WP_GAP", "9", 1);
  setenv("KAFU_SEND_BUFFER_MAX", "0", 1);

  /* the process copy is read once, and owns its strings */
  kafu_tunables_reload();
  const kafu_tunables *g = kafu_tunables_get();
  assert_string_equal(g->cc, "gcc-12");
  setenv("KAFU_SDK_PATH", "/opt/sdk", 1);
  kafu_tunables_reload();
  setenv("KAFU_CC", "clang-99", 1);
  setenv("KAFU_SDK_PATH", "/elsewhere", 1);
  assert_ptr_equal(kafu_tunables_get(), g);
  assert_string_equal(kafu_tunables_get()->cc, "gcc-12");
  assert_string_equal(kafu_tunables_get()->sdk_path, "/opt/sdk");
  unsetenv("KAFU_SDK_PATH");
  kafu_tunables_reload();
  assert_string_equal(kafu_tunables_get()->cc, "clang-99");
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
  kafu_tunables_reload();
  assert_null(kafu_tunables_get()->cc);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void test_json(void **state) {
  (void)state;
  const char *j =
      " { \"a\": [1, {\"x\": \"}\"}], \"exit_code\" : 42, \"reason\": \"tab\\there \\\"q\\\" \\u00e9\","
      " \"ok\": true, \"neg\": -7, \"f\": 1.5 } ";
  char s[64];
  long long v;
  bool b;
  assert_int_equal(kafu_json_get_int(j, strlen(j), "exit_code", &v), 0);
  assert_int_equal(v, 42);
  assert_int_equal(kafu_json_get_int(j, strlen(j), "neg", &v), 0);
  assert_int_equal(v, -7);
  assert_int_equal(kafu_json_get_int(j, strlen(j), "f", &v), KAFU_EFORMAT); /* not an integer */
  double d;
  assert_int_equal(kafu_json_get_double(j, strlen(j), "f", &d), 0);
  assert_true(d == 1.5);
  assert_int_equal(kafu_json_get_double(j, strlen(j), "exit_code", &d), 0);
  assert_true(d == 42.0);
  assert_int_equal(kafu_json_get_double(j, strlen(j), "reason", &d), KAFU_EFORMAT);
  assert_int_equal(kafu_json_get_str(j, strlen(j), "reason", s, sizeof s), 0);
  assert_string_equal(s, "tab\there \"q\" \xc3\xa9");
  assert_int_equal(kafu_json_get_bool(j, strlen(j), "ok", &b), 0);
  assert_true(b);
  assert_int_equal(kafu_json_get_str(j, strlen(j), "missing", s, sizeof s), KAFU_ENOENT);
  assert_int_equal(kafu_json_get_str(j, strlen(j), "exit_code", s, sizeof s), KAFU_EFORMAT); /* wrong type */
  /* truncation keeps a terminated prefix */
  assert_int_equal(kafu_json_get_str(j, strlen(j), "reason", s, 4), 0);
  assert_string_equal(s, "tab");
  /* malformed input never reads past len */
  const char *bad[] = {"",
                       "[]",
                       "{",
                       "{\"a\"",
                       "{\"a\":",
                       "{\"a\" 1}",
                       "{\"a\":\"\\x\"}",
                       "{\"a\":tru}",
                       "{\"a\":\"unterminated"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(kafu_json_get_int(bad[i], strlen(bad[i]), "a", &v), KAFU_EFORMAT);
  /* a key found before the malformed part is still found (scanner stops there) */
  assert_int_equal(kafu_json_get_int("{\"a\":5,", 7, "a", &v), 0);
  /* length is honoured: the value after len is invisible */
  assert_int_equal(kafu_json_get_int("{\"a\":5}", 5, "a", &v), KAFU_EFORMAT);

  kafu_buf out = {0};
  kafu_json_quote(&out, "a\"b\\c\n\x01");
  assert_string_equal(kafu_buf_cstr(&out), "\"a\\\"b\\\\c\\n\\u0001\"");
  assert_int_equal(kafu_json_get_str(kafu_buf_cstr(&out), out.len, "x", s, sizeof s), KAFU_EFORMAT);
  kafu_buf_free(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_err),   cmocka_unit_test(test_buf),  cmocka_unit_test(test_files),
      cmocka_unit_test(test_paths), cmocka_unit_test(test_hash), cmocka_unit_test(test_edit_distance),
      cmocka_unit_test(test_json_quote), cmocka_unit_test(test_json), cmocka_unit_test(test_json_fquote_matches_buf),
      cmocka_unit_test(test_opt_value), cmocka_unit_test(test_proc_run_status_and_capture),
      cmocka_unit_test(test_proc_cannot_start), cmocka_unit_test(test_proc_spawn_wait_fd), cmocka_unit_test(test_proc_fork_run),
      cmocka_unit_test(test_node_id), cmocka_unit_test(test_log_ctx), cmocka_unit_test(test_tunables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
