/* test_snapify.c — unit tests for src/snapify on small modules written in the
 * text format (compiled with wabt's wat2wasm; custom sections appended with
 * our encoder): thunk resolution, reachability, every bad input with its
 * message, idempotence, the guest buffer, Binaryen isolation, and that every
 * output passes Binaryen's validator and carries a correct kafu.meta. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafu/snapify.h"
#include "kafu/wasm.h"
#include "snapify/snapify_internal.h"

/* ---- helpers ------------------------------------------------------------------- */

static char tmpdir[64];

/* wat text -> module bytes in *out (custom sections appended after). */
static int wat(const char *text, const char *flags, kafu_buf *out) {
  char src[128], bin[128], cmd[512];
  snprintf(src, sizeof src, "%s/m.wat", tmpdir);
  snprintf(bin, sizeof bin, "%s/m.wasm", tmpdir);
  FILE *f = fopen(src, "w");
  if (!f) return -1;
  fputs(text, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "wat2wasm --debug-names %s %s -o %s", flags ? flags : "", src, bin);
  if (system(cmd) != 0) return -1;
  uint8_t *data;
  size_t len;
  if (kafu_read_file(bin, &data, &len, NULL) < 0) return -1;
  out->len = 0;
  kafu_buf_append(out, data, len);
  free(data);
  return 0;
}

static void add_custom(kafu_buf *m, const char *name) { kafu_wasm_append_custom(m, name, "", 0); }

static void build(kafu_buf *m, const char *text, const char *flags, const char *const *sections) {
  assert_int_equal(wat(text, flags, m), 0);
  for (; sections && *sections; sections++) add_custom(m, *sections);
}

static int snap(const kafu_buf *in, uint32_t size, kafu_buf *out, kafu_snapify_info *info, kafu_err *err) {
  kafu_snapify_opts o = {.asyncify_buf_size = size};
  uint8_t *res = NULL;
  size_t len = 0;
  memset(err, 0, sizeof *err);
  int rc = kafu_snapify_ex(in->data, in->len, &o, &res, &len, info, err);
  out->len = 0;
  if (rc == 0) kafu_buf_append(out, res, len);
  free(res);
  return rc;
}

static void expect_fail(const kafu_buf *in, const char *needle) {
  kafu_buf out = {0};
  kafu_err err;
  int rc = snap(in, 0, &out, NULL, &err);
  if (rc == 0 || !strstr(err.msg, needle)) print_error("rc=%d msg='%s' (wanted '%s')\n", rc, err.msg, needle);
  assert_true(rc < 0);
  assert_non_null(strstr(err.msg, needle));
  kafu_buf_free(&out);
}

/* Binaryen's own validator on our output. Through kafu_snapify_validate (a
 * child process): using Binaryen in this process would leave its thread pool
 * behind for the forked transforms of later tests. */
static void assert_binaryen_valid(const kafu_buf *b) {
  kafu_err err = {0};
  int rc = kafu_snapify_validate(b->data, b->len, &err);
  if (rc) print_error("validate: %s\n", err.msg);
  assert_int_equal(rc, 0);
}

/* A command module shaped like wasm-ld's output: export thunks that call the
 * real function and then __wasm_call_dtors. */
static const char *CMD =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
    "  (memory (export \"memory\") 2)\n"
    "  (global $sp (mut i32) (i32.const 65536))\n"
    "  (global $other (mut i64) (i64.const 5))\n"
    "  (global $k i32 (i32.const 7))\n"
    "  (func $work (param i32) (result i32) local.get 0 i32.const 1 i32.add)\n"
    "  (func $main (result i32) i32.const 41 call $work)\n"
    "  (func $idle (param i32) (result i32) local.get 0)\n"
    "  (func $__wasm_call_dtors)\n"
    "  (func $_start (drop (call $main)))\n"
    "  (func $_start.command_export call $_start call $__wasm_call_dtors)\n"
    "  (func $work.command_export (param i32) (result i32) local.get 0 call $work call $__wasm_call_dtors)\n"
    "  (export \"_start\" (func $_start.command_export))\n"
    "  (export \"work\" (func $work.command_export)))\n";

static int setup(void **st) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/kafu-test-snapify-XXXXXX");
  if (!mkdtemp(tmpdir)) return -1;
  if (system("wat2wasm --version >/dev/null 2>&1") != 0) {
    fprintf(stderr, "wat2wasm (wabt) not found\n");
    return -1;
  }
  kafu_log_set_level(KAFU_LOG_ERROR); /* keep expected warnings out of the test log */
  return 0;
}

static int teardown(void **st) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static const char *CLOUD[] = {".kafu_dest.work.cloud", NULL};

/* ---- tests -------------------------------------------------------------------------- */

static void test_plan_thunk(void **st) {
  kafu_buf b = {0};
  build(&b, CMD, NULL, CLOUD);
  kafu_wasm_module m;
  kafu_err err = {0};
  assert_int_equal(kafu_wasm_parse(b.data, b.len, &m, &err), 0);
  ks_plan p;
  assert_int_equal(ks_plan_build(&m, 4096, true, &p, &err), 0);
  assert_int_equal(p.nannots, 1);
  assert_string_equal(p.annots[0].name, "work");
  assert_string_equal(p.annots[0].dest, "cloud");
  assert_true(p.annots[0].via_thunk);
  assert_int_equal(p.annots[0].func, kafu_wasm_find_func_by_name(&m, "work"));
  assert_int_equal(p.annots[0].export_func, kafu_wasm_find_func_by_name(&m, "work.command_export"));
  assert_false(p.annots[0].inner_reaches);
  assert_false(p.indirect_needed);
  /* work, main, _start and both thunks can be on the stack; idle and dtors cannot */
  assert_int_equal(p.nreach, 5);
  assert_true(p.reach[kafu_wasm_find_func_by_name(&m, "main")]);
  assert_false(p.reach[kafu_wasm_find_func_by_name(&m, "idle")]);
  assert_false(p.reach[kafu_wasm_find_func_by_name(&m, "__wasm_call_dtors")]);
  assert_int_equal(p.nmutable_globals, 2);
  assert_int_equal(p.warnings.len, 0);
  ks_plan_free(&p);
  kafu_wasm_module_free(&m);
  kafu_buf_free(&b);
}

static void test_snapify_output(void **st) {
  kafu_buf b = {0}, out = {0};
  build(&b, CMD, NULL, CLOUD);
  kafu_snapify_info info;
  kafu_err err;
  assert_int_equal(snap(&b, 65536, &out, &info, &err), 0);
  assert_binaryen_valid(&out);
  assert_int_equal(info.nfuncs, 1);
  assert_true(info.ignore_indirect);
  assert_true(info.instrumented >= 2 && info.instrumented <= info.total_functions);
  kafu_wasm_module m;
  assert_int_equal(kafu_wasm_parse(out.data, out.len, &m, &err), 0);
  assert_non_null(kafu_wasm_find_import(&m, "kafu", "migration_point"));
  static const char *exports[] = {"_start",
                                  "work",
                                  "memory",
                                  "kafu_global_0",
                                  "kafu_global_1",
                                  "kafu_asyncify_buf_addr",
                                  "kafu_asyncify_buf_size",
                                  "asyncify_start_unwind",
                                  "asyncify_stop_unwind",
                                  "asyncify_start_rewind",
                                  "asyncify_stop_rewind",
                                  "asyncify_get_state"};
  for (size_t i = 0; i < sizeof exports / sizeof exports[0]; i++) {
    if (!kafu_wasm_find_export(&m, exports[i], -1)) print_error("missing export %s\n", exports[i]);
    assert_non_null(kafu_wasm_find_export(&m, exports[i], -1));
  }
  assert_null(kafu_wasm_find_export(&m, "kafu_global_2", -1)); /* immutable */
  const kafu_wasm_export *bs = kafu_wasm_find_export(&m, "kafu_asyncify_buf_size", KAFU_WASM_EXT_GLOBAL);
  assert_false(m.globals[bs->index].mutable_);
  assert_int_equal(m.globals[bs->index].init_value, 65536);
  const kafu_wasm_export *ba = kafu_wasm_find_export(&m, "kafu_asyncify_buf_addr", KAFU_WASM_EXT_GLOBAL);
  assert_true(m.globals[ba->index].mutable_);
  assert_int_equal(m.globals[ba->index].init_value, 0);
  assert_non_null(kafu_wasm_find_custom(&m, ".kafu_dest.work.cloud"));
  kafu_meta meta;
  assert_int_equal(kafu_wasm_read_meta(&m, &meta, &err), 1);
  assert_int_equal(meta.flags, KAFU_META_FLAG_SNAPIFIED);
  assert_int_equal(meta.asyncify_buf_size, 65536);
  assert_int_equal(meta.nfuncs, 1);
  assert_int_equal(meta.funcs[0].fn_id, 0);
  assert_string_equal(meta.funcs[0].name, "work");
  assert_string_equal(meta.funcs[0].dest, "cloud");
  assert_int_equal(meta.instrumented_functions, info.instrumented);
  assert_int_equal(meta.total_functions, info.total_functions);
  kafu_meta_free(&meta);
  kafu_wasm_module_free(&m);
  kafu_snapify_info_free(&info);

  /* idempotent: Snapifying the output again copies it unchanged */
  kafu_buf again = {0};
  assert_int_equal(snap(&out, 0, &again, &info, &err), 0);
  assert_true(info.already_snapified);
  assert_int_equal(again.len, out.len);
  assert_memory_equal(again.data, out.data, out.len);
  kafu_snapify_info_free(&info);
  assert_int_equal(snap(&out, 65536, &again, NULL, &err), 0);
  assert_true(snap(&out, 131072, &again, NULL, &err) < 0);
  assert_non_null(strstr(err.msg, "already Snapified with --kafu-stack-size=65536"));
  kafu_buf_free(&again);
  kafu_buf_free(&out);
  kafu_buf_free(&b);
}

static void test_bad_annotations(void **st) {
  kafu_buf b = {0};
  static const struct {
    const char *sections[3];
    const char *needle;
  } cases[] = {
      {{".kafu_dest.nothere.cloud"},
       "section '.kafu_dest.nothere.cloud' names function 'nothere', but the module "
       "exports no function of that name"},
      {{".kafu_dest.wrk.cloud"}, "did you mean 'work'?"},
      {{".kafu_dest.main.cloud"},
       "annotated function 'main' (section '.kafu_dest.main.cloud') exists but is not "
       "exported: it must not be static"},
      {{".kafu_dest.work.cloud", ".kafu_dest.work.edge"}, "function 'work' has two destinations: 'cloud'"},
      {{".kafu_dest.work."}, "custom section '.kafu_dest.work.': empty destination node for function 'work'"},
      {{".kafu_dest.work.bad node"}, "invalid destination node 'bad node' for function 'work'"},
      {{".kafu_dest.work.a/b"}, "invalid destination node 'a/b'"},
      /* the config's node-id rule: no '.', at most 63, letters or digits at the ends */
      {{".kafu_dest.work.edge.zone"}, "invalid destination node 'edge.zone' for function 'work': may only contain"},
      {{".kafu_dest.work.edge-"}, "invalid destination node 'edge-' for function 'work': must start and end"},
      {{".kafu_dest.work.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
       "is longer than 63 characters"},
      {{".kafu_dest.work"}, "custom section '.kafu_dest.work': no destination node"},
      {{".kafu_dest..cloud"}, "'' is not a valid function name"},
      {{".kafu_dest.memory.cloud"}, "the export 'memory' is a memory, not a function"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    build(&b, CMD, NULL, cases[i].sections);
    expect_fail(&b, cases[i].needle);
  }
  /* the same annotation twice (two objects) is fine; any valid node id is fine */
  static const char *dup[] = {".kafu_dest.work.Edge_1-zone-a", ".kafu_dest.work.Edge_1-zone-a", NULL};
  build(&b, CMD, NULL, dup);
  kafu_buf out = {0};
  kafu_snapify_info info;
  kafu_err err;
  assert_int_equal(snap(&b, 0, &out, &info, &err), 0);
  assert_int_equal(info.nfuncs, 1);
  assert_string_equal(info.funcs[0].dest, "Edge_1-zone-a");
  kafu_snapify_info_free(&info);
  kafu_buf_free(&out);
  kafu_buf_free(&b);
}

static void test_bad_modules(void **st) {
  kafu_buf b = {0};
  /* no _start */
  build(&b,
        "(module (memory 1) (func $work (param i32) (result i32) local.get 0)\n"
        "  (export \"work\" (func $work)))",
        NULL, CLOUD);
  expect_fail(&b, "the module has no '_start' export");
  /* not wasm at all; truncated */
  b.len = 0;
  kafu_buf_append(&b, "#!/bin/sh\necho hi\n", 18);
  expect_fail(&b, "not a WebAssembly module");
  build(&b, CMD, NULL, CLOUD);
  b.len = b.len / 2;
  expect_fail(&b, "section");
  /* already instrumented by someone else */
  build(&b,
        "(module (import \"kafu\" \"migration_point\" (func (param i32 i32))) (memory 1)\n"
        "  (func $s) (export \"_start\" (func $s)))",
        NULL, NULL);
  expect_fail(&b, "already imports kafu.migration_point but has no kafu.meta");
  build(
      &b,
      "(module (memory 1) (func $s) (export \"_start\" (func $s)) (export \"asyncify_get_state\" (func $s)))",
      NULL, NULL);
  expect_fail(&b, "already exports 'asyncify_get_state'");
  /* relocatable object */
  build(&b, CMD, NULL, NULL);
  add_custom(&b, "linking");
  expect_fail(&b, "relocatable object file");
  /* no memory */
  build(&b, "(module (func $s) (export \"_start\" (func $s)))", NULL, NULL);
  expect_fail(&b, "no linear memory");
  kafu_buf_free(&b);
}

static void test_unsupported_features(void **st) {
  kafu_buf b = {0};
  build(&b,
        "(module (memory 1) (func $work (param i32) (result i32) local.get 0 return_call $work)\n"
        "  (func $s (drop (call $work (i32.const 1)))) (export \"_start\" (func $s)) (export \"work\" (func "
        "$work)))",
        "--enable-tail-call", CLOUD);
  expect_fail(&b, "tail calls (return_call), which Binaryen 108's Asyncify cannot transform");
  build(&b, "(module (memory 1) (memory 1) (func $s) (export \"_start\" (func $s)))", "--enable-multi-memory",
        NULL);
  expect_fail(&b, "2 memories: multi-memory is not supported");
  build(&b, "(module (memory i64 1) (func $s) (export \"_start\" (func $s)))", "--enable-memory64", NULL);
  expect_fail(&b, "memory64");
  build(&b, "(module (memory 1 1 shared) (func $s) (export \"_start\" (func $s)))", "--enable-threads", NULL);
  expect_fail(&b, "shared memory (threads)");
  build(&b,
        "(module (memory 1) (tag $e)\n"
        "  (func $work (param i32) (result i32) (try (do (throw $e)) (catch $e)) local.get 0)\n"
        "  (func $s (drop (call $work (i32.const 1)))) (export \"_start\" (func $s)) (export \"work\" (func "
        "$work)))",
        "--enable-exceptions", CLOUD);
  expect_fail(&b, "uses exception handling (try/catch/throw)");
  /* GC types are rejected by the reader itself */
  b.len = 0;
  kafu_buf_append(&b, "\0asm\1\0\0\0\1\3\1\x5f\0", 13);
  expect_fail(&b, "GC proposal");
  kafu_buf_free(&b);
}

static void test_binaryen_isolated(void **st) {
  /* a body our reader accepts (it does not type-check) but Binaryen cannot
   * read: i32.add on an empty stack. Binaryen exits the process on such
   * input; Snapify must turn that into an error, not die. */
  kafu_buf b = {0};
  build(&b, CMD, NULL, CLOUD);
  uint8_t *p = memmem(b.data, b.len, "\x20\x00\x41\x01\x6a\x0b", 6); /* work's body */
  assert_non_null(p);
  memcpy(p, "\x01\x01\x01\x01\x6a\x0b", 6); /* nop nop nop nop i32.add end */
  expect_fail(&b, "Binaryen 108");
  kafu_buf_free(&b);
}

static void test_indirect(void **st) {
  /* work is in the table and called through it; $other_sig's indirect call has
   * another signature and cannot reach work */
  kafu_buf b = {0}, out = {0};
  build(&b,
        "(module\n"
        "  (type $ii (func (param i32) (result i32)))\n"
        "  (type $v (func))\n"
        "  (memory (export \"memory\") 1)\n"
        "  (global $sp (mut i32) (i32.const 1024))\n"
        "  (table 2 funcref) (elem (i32.const 0) $work $noop)\n"
        "  (func $work (type $ii) local.get 0 i32.const 2 i32.mul)\n"
        "  (func $noop (type $v))\n"
        "  (func $via_table (param i32) (result i32) local.get 0 i32.const 0 call_indirect (type $ii))\n"
        "  (func $other_sig i32.const 1 call_indirect (type $v))\n"
        "  (func $_start (drop (call $via_table (i32.const 3))) call $other_sig)\n"
        "  (export \"_start\" (func $_start)) (export \"work\" (func $work)))",
        NULL, CLOUD);
  kafu_wasm_module m;
  kafu_err err = {0};
  assert_int_equal(kafu_wasm_parse(b.data, b.len, &m, &err), 0);
  ks_plan p;
  assert_int_equal(ks_plan_build(&m, 4096, true, &p, &err), 0);
  assert_true(p.indirect_needed);
  assert_true(p.reach[kafu_wasm_find_func_by_name(&m, "via_table")]);
  assert_true(p.reach[kafu_wasm_find_func_by_name(&m, "_start")]);
  assert_false(p.reach[kafu_wasm_find_func_by_name(&m, "other_sig")]);
  assert_false(p.reach[kafu_wasm_find_func_by_name(&m, "noop")]);
  ks_plan_free(&p);
  kafu_wasm_module_free(&m);
  kafu_snapify_info info;
  assert_int_equal(snap(&b, 0, &out, &info, &err), 0);
  assert_false(info.ignore_indirect);
  assert_binaryen_valid(&out);
  kafu_snapify_info_free(&info);
  kafu_buf_free(&out);
  kafu_buf_free(&b);
}

static void test_warnings(void **st) {
  /* an export thunk into which the real body was inlined (clang -O at link
   * time), and an annotated function nobody calls */
  kafu_buf b = {0};
  build(&b,
        "(module (memory 1)\n"
        "  (func $__wasm_call_dtors)\n"
        "  (func $work.command_export (param i32) (result i32) local.get 0 i32.const 1 i32.add call "
        "$__wasm_call_dtors)\n"
        "  (func $_start (drop (i32.const 1)))\n"
        "  (export \"_start\" (func $_start)) (export \"work\" (func $work.command_export)))",
        NULL, CLOUD);
  kafu_wasm_module m;
  kafu_err err = {0};
  assert_int_equal(kafu_wasm_parse(b.data, b.len, &m, &err), 0);
  ks_plan p;
  assert_int_equal(ks_plan_build(&m, 4096, true, &p, &err), 0);
  const char *w = kafu_buf_cstr(&p.vanished);
  assert_non_null(strstr(w,
                         "annotated function 'work': its export is a command-export thunk that contains more "
                         "than a call"));
  assert_non_null(strstr(w, "annotated function 'work' is never called inside the module"));
  assert_false(p.annots[0].via_thunk);
  ks_plan_free(&p);
  kafu_wasm_module_free(&m);
  /* migrations that vanished are an error, unless annotations may be unused */
  expect_fail(&b, "is never called inside the module");
  expect_fail(&b, "kafu snapify --allow-unused-annotations");
  kafu_snapify_opts o = {.asyncify_buf_size = 4096, .allow_unused_annotations = true};
  uint8_t *res = NULL;
  size_t len = 0;
  assert_int_equal(kafu_snapify_ex(b.data, b.len, &o, &res, &len, NULL, &err), 0);
  free(res);
  /* no annotations at all */
  build(&b, CMD, NULL, NULL);
  assert_int_equal(kafu_wasm_parse(b.data, b.len, &m, &err), 0);
  assert_int_equal(ks_plan_build(&m, 4096, true, &p, &err), 0);
  assert_non_null(strstr(kafu_buf_cstr(&p.warnings), "no KAFU_DEST annotations"));
  ks_plan_free(&p);
  kafu_wasm_module_free(&m);
  kafu_buf_free(&b);
}

static void test_guest_buffer(void **st) {
  /* __kafu_asyncify_buf (address 1024) and __kafu_asyncify_buf_size (address
   * 16 holding 8192) as guest/kafu_rt.c + kafu cc would export them */
  const char *text =
      "(module (memory (export \"memory\") 1)\n"
      "  (global $sp (mut i32) (i32.const 65536))\n"
      "  (global $buf i32 (i32.const 1024)) (global $bufsz i32 (i32.const 16))\n"
      "  (data (i32.const 16) \"\\00\\20\\00\\00\")\n"
      "  (func $work (param i32) (result i32) local.get 0)\n"
      "  (func $_start (drop (call $work (i32.const 1))))\n"
      "  (export \"_start\" (func $_start)) (export \"work\" (func $work))\n"
      "  (export \"__kafu_asyncify_buf\" (global $buf)) (export \"__kafu_asyncify_buf_size\" (global "
      "$bufsz)))";
  kafu_buf b = {0}, out = {0};
  build(&b, text, NULL, CLOUD);
  kafu_snapify_info info;
  kafu_err err;
  assert_int_equal(snap(&b, 0, &out, &info, &err), 0);
  assert_int_equal(info.buf_addr, 1024);
  assert_int_equal(info.buf_size, 8192);
  kafu_wasm_module m;
  assert_int_equal(kafu_wasm_parse(out.data, out.len, &m, &err), 0);
  const kafu_wasm_export *ba = kafu_wasm_find_export(&m, "kafu_asyncify_buf_addr", KAFU_WASM_EXT_GLOBAL);
  assert_int_equal(m.globals[ba->index].init_value, 1024);
  kafu_meta meta;
  assert_int_equal(kafu_wasm_read_meta(&m, &meta, &err), 1);
  assert_int_equal(meta.asyncify_buf_size, 8192);
  kafu_meta_free(&meta);
  kafu_wasm_module_free(&m);
  kafu_snapify_info_free(&info);
  assert_true(snap(&b, 4096, &out, NULL, &err) < 0);
  assert_non_null(strstr(err.msg, "--kafu-stack-size=4096 does not match the 8192 bytes"));
  /* a buffer that does not fit in the memory */
  build(&b,
        "(module (memory 1) (global $buf i32 (i32.const 60000))\n"
        "  (func $s) (export \"_start\" (func $s)) (export \"__kafu_asyncify_buf\" (global $buf)))",
        NULL, NULL);
  expect_fail(&b, "__kafu_asyncify_buf at 0xea60 with 1048576 bytes does not lie inside the initial memory");
  /* bad sizes */
  build(&b, CMD, NULL, CLOUD);
  assert_true(snap(&b, 100, &out, NULL, &err) < 0);
  assert_non_null(strstr(err.msg, "--kafu-stack-size=100: must be a multiple of 8"));
  kafu_buf_free(&out);
  kafu_buf_free(&b);
}

static void test_helpers(void **st) {
  char *s = ks_unescape_name("add2\\28int\\2c\\20char\\29");
  assert_string_equal(s, "add2(int, char)");
  free(s);
  s = ks_unescape_name("plain\\zz\\");
  assert_string_equal(s, "plain\\zz\\");
  free(s);
  s = ks_onlylist_pattern("add2(int, char)");
  assert_string_equal(s, "add2*");
  free(s);
  s = ks_onlylist_pattern("operator new(unsigned long)");
  assert_string_equal(s, "operator*");
  free(s);
  s = ks_onlylist_pattern("__original_main");
  assert_string_equal(s, "__original_main");
  free(s);
  assert_null(ks_onlylist_pattern("(anonymous)"));
  assert_null(ks_onlylist_pattern("@x"));
  uint32_t v;
  assert_int_equal(kafu_snapify_parse_size("1048576", &v), 0);
  assert_int_equal(v, 1048576);
  assert_int_equal(kafu_snapify_parse_size("64K", &v), 0);
  assert_int_equal(v, 65536);
  assert_int_equal(kafu_snapify_parse_size("2MiB", &v), 0);
  assert_int_equal(v, 2u << 20);
  assert_int_equal(kafu_snapify_parse_size("8G", &v), -1);
  assert_int_equal(kafu_snapify_parse_size("12x", &v), -1);
  assert_int_equal(kafu_snapify_parse_size("-5", &v), -1);
  assert_int_equal(kafu_snapify_parse_size("", &v), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plan_thunk),
      cmocka_unit_test(test_snapify_output),
      cmocka_unit_test(test_bad_annotations),
      cmocka_unit_test(test_bad_modules),
      cmocka_unit_test(test_unsupported_features),
      cmocka_unit_test(test_binaryen_isolated),
      cmocka_unit_test(test_indirect),
      cmocka_unit_test(test_warnings),
      cmocka_unit_test(test_guest_buffer),
      cmocka_unit_test(test_helpers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
