/* test_wasm.c — unit tests for src/wasm: LEB128, the module reader (every
 * section kind, error messages naming section and offset, truncation at every
 * byte), the code scanner, the name section, and the kafu.meta codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/wasm.h"

/* ---- a tiny module builder ------------------------------------------------------ */

static void u8(kafu_buf *b, uint8_t v) { kafu_buf_append(b, &v, 1); }
static void uleb(kafu_buf *b, uint32_t v) { kafu_leb_put_u32(b, v); }
static void name(kafu_buf *b, const char *s) {
  uleb(b, (uint32_t)strlen(s));
  kafu_buf_append(b, s, strlen(s));
}
static void bytes(kafu_buf *b, const char *p, size_t n) { kafu_buf_append(b, p, n); }
static void section(kafu_buf *mod, uint8_t id, kafu_buf *payload) {
  u8(mod, id);
  uleb(mod, (uint32_t)payload->len);
  kafu_buf_append(mod, payload->data, payload->len);
  kafu_buf_free(payload);
}
static void header(kafu_buf *m) { bytes(m, "\0asm\1\0\0\0", 8); }

/* types: 0 = (i32) -> i32, 1 = () -> ()
 * import env.imp : type 0 (function 0)
 * functions: 1 = add1 (type 0), 2 = _start (type 1) calling add1 and call_indirect
 * table with elem [add1]; memory 1 page; global 0 = mut i32 42, global 1 = i64 7
 * exports _start, add1, g, memory; custom "hello"; name section. */
static void build_basic(kafu_buf *m) {
  kafu_buf s = {0};
  header(m);
  /* type */
  uleb(&s, 2);
  bytes(&s, "\x60\x01\x7f\x01\x7f", 5);
  bytes(&s, "\x60\x00\x00", 3);
  section(m, 1, &s);
  /* import */
  uleb(&s, 1);
  name(&s, "env");
  name(&s, "imp");
  u8(&s, 0);
  uleb(&s, 0);
  section(m, 2, &s);
  /* function */
  uleb(&s, 2);
  uleb(&s, 0);
  uleb(&s, 1);
  section(m, 3, &s);
  /* table: funcref, min 1 */
  uleb(&s, 1);
  bytes(&s, "\x70\x00\x01", 3);
  section(m, 4, &s);
  /* memory */
  uleb(&s, 1);
  bytes(&s, "\x00\x01", 2);
  section(m, 5, &s);
  /* global */
  uleb(&s, 2);
  bytes(&s, "\x7f\x01\x41\x2a\x0b", 5);
  bytes(&s, "\x7e\x00\x42\x07\x0b", 5);
  section(m, 6, &s);
  /* export */
  uleb(&s, 4);
  name(&s, "_start");
  u8(&s, 0);
  uleb(&s, 2);
  name(&s, "add1");
  u8(&s, 0);
  uleb(&s, 1);
  name(&s, "g");
  u8(&s, 3);
  uleb(&s, 0);
  name(&s, "memory");
  u8(&s, 2);
  uleb(&s, 0);
  section(m, 7, &s);
  /* elem: active, table 0, offset 0, [1] */
  uleb(&s, 1);
  bytes(&s, "\x00\x41\x00\x0b\x01\x01", 6);
  section(m, 9, &s);
  /* code */
  uleb(&s, 2);
  /* add1: no locals; local.get 0; i32.const 1; i32.add; end */
  bytes(&s, "\x07\x00\x20\x00\x41\x01\x6a\x0b", 8);
  /* _start: 1 local i32; i32.const 5; call 1; i32.const 0; call_indirect type 0 table 0; drop; end */
  bytes(&s, "\x0e\x01\x01\x7f\x41\x05\x10\x01\x41\x00\x11\x00\x00\x1a\x0b", 15);
  section(m, 10, &s);
  /* data: active at 16, "hi" */
  uleb(&s, 1);
  bytes(&s, "\x00\x41\x10\x0b\x02hi", 7);
  section(m, 11, &s);
  /* custom "hello" with payload "xyz" */
  name(&s, "hello");
  bytes(&s, "xyz", 3);
  section(m, 0, &s);
  /* name section: function names */
  kafu_buf sub = {0};
  uleb(&sub, 3);
  uleb(&sub, 0);
  name(&sub, "imp");
  uleb(&sub, 1);
  name(&sub, "add1");
  uleb(&sub, 2);
  name(&sub, "_start");
  name(&s, "name");
  u8(&s, 1);
  uleb(&s, (uint32_t)sub.len);
  kafu_buf_append(&s, sub.data, sub.len);
  kafu_buf_free(&sub);
  section(m, 0, &s);
}

/* ---- LEB128 -------------------------------------------------------------------- */

static void test_leb(void **st) {
  size_t pos = 0;
  uint32_t u;
  int32_t s;
  int64_t s64;
  assert_int_equal(kafu_leb_u32((const uint8_t *)"\xe5\x8e\x26", 3, &pos, &u), 0);
  assert_int_equal(u, 624485);
  assert_int_equal(pos, 3);
  pos = 0; /* 5-byte max value */
  assert_int_equal(kafu_leb_u32((const uint8_t *)"\xff\xff\xff\xff\x0f", 5, &pos, &u), 0);
  assert_int_equal(u, UINT32_MAX);
  pos = 0; /* unused bits set in the 5th byte */
  assert_int_equal(kafu_leb_u32((const uint8_t *)"\xff\xff\xff\xff\x1f", 5, &pos, &u), KAFU_EFORMAT);
  pos = 0; /* too long */
  assert_int_equal(kafu_leb_u32((const uint8_t *)"\x80\x80\x80\x80\x80\x00", 6, &pos, &u), KAFU_EFORMAT);
  pos = 0; /* truncated */
  assert_int_equal(kafu_leb_u32((const uint8_t *)"\x80\x80", 2, &pos, &u), KAFU_EFORMAT);
  assert_int_equal(pos, 0);
  pos = 0;
  assert_int_equal(kafu_leb_s32((const uint8_t *)"\x7f", 1, &pos, &s), 0);
  assert_int_equal(s, -1);
  pos = 0;
  assert_int_equal(kafu_leb_s32((const uint8_t *)"\x80\x80\x80\x80\x78", 5, &pos, &s), 0);
  assert_int_equal(s, INT32_MIN);
  pos = 0; /* sign bits inconsistent in the last byte */
  assert_int_equal(kafu_leb_s32((const uint8_t *)"\x80\x80\x80\x80\x70", 5, &pos, &s), KAFU_EFORMAT);
  pos = 0;
  assert_int_equal(kafu_leb_s64((const uint8_t *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", 10, &pos, &s64),
                   0);
  assert_true(s64 == INT64_MIN);
  kafu_buf b = {0};
  kafu_leb_put_u32(&b, 300);
  pos = 0;
  assert_int_equal(kafu_leb_u32(b.data, b.len, &pos, &u), 0);
  assert_int_equal(u, 300);
  kafu_buf_free(&b);
}

/* ---- module structure ---------------------------------------------------------- */

static void test_parse_basic(void **st) {
  kafu_buf b = {0};
  build_basic(&b);
  kafu_wasm_module m;
  kafu_err e = {0};
  assert_int_equal(kafu_wasm_parse(b.data, b.len, &m, &e), 0);
  assert_int_equal(m.ntypes, 2);
  assert_int_equal(m.nimports, 1);
  assert_string_equal(m.imports[0].module, "env");
  assert_string_equal(m.imports[0].name, "imp");
  assert_int_equal(m.nfuncs, 3);
  assert_int_equal(m.nfunc_imports, 1);
  assert_true(m.funcs[0].imported);
  assert_string_equal(m.funcs[1].name, "add1");
  assert_int_equal(m.nglobals, 2);
  assert_true(m.globals[0].mutable_);
  assert_int_equal(m.globals[0].init_kind, KAFU_WASM_INIT_CONST);
  assert_int_equal(m.globals[0].init_value, 42);
  assert_false(m.globals[1].mutable_);
  assert_int_equal(m.globals[1].valtype, KAFU_WASM_I64);
  assert_int_equal(m.nexports, 4);
  const kafu_wasm_export *x = kafu_wasm_find_export(&m, "g", KAFU_WASM_EXT_GLOBAL);
  assert_non_null(x);
  assert_int_equal(x->index, 0);
  assert_null(kafu_wasm_find_export(&m, "g", KAFU_WASM_EXT_FUNC));
  assert_int_equal(m.nelem_funcs, 1);
  assert_int_equal(m.elem_funcs[0], 1);
  assert_int_equal(m.ndata, 1);
  assert_true(m.data[0].offset_known);
  assert_int_equal(m.data[0].offset, 16);
  assert_memory_equal(m.data[0].bytes, "hi", 2);
  const kafu_wasm_custom *c = kafu_wasm_find_custom(&m, "hello");
  assert_non_null(c);
  assert_int_equal(c->len, 3);
  assert_memory_equal(c->data, "xyz", 3);
  assert_int_equal(kafu_wasm_find_func_by_name(&m, "_start"), 2);
  assert_int_equal(m.memories[0].limits.min, 1);
  char sig[64];
  assert_string_equal(kafu_wasm_format_functype(kafu_wasm_func_type(&m, 1), sig, sizeof sig), "(i32) -> i32");
  assert_string_equal(kafu_wasm_format_functype(kafu_wasm_func_type(&m, 2), sig, sizeof sig), "() -> ()");
  kafu_wasm_module_free(&m);
  kafu_buf_free(&b);
}

typedef struct {
  uint32_t calls[8], ncalls, indirect, ops;
} scan_rec;

static int rec(void *ud, const kafu_wasm_instr *in) {
  scan_rec *r = ud;
  r->ops++;
  if (in->op == KAFU_WASM_OP_CALL) r->calls[r->ncalls++] = (uint32_t)in->a;
  if (in->op == KAFU_WASM_OP_CALL_INDIRECT) r->indirect++;
  return 0;
}

static void test_scan_code(void **st) {
  kafu_buf b = {0};
  build_basic(&b);
  kafu_wasm_module m;
  kafu_err e = {0};
  assert_int_equal(kafu_wasm_parse(b.data, b.len, &m, &e), 0);
  scan_rec r = {0};
  uint32_t feat = 0;
  assert_int_equal(kafu_wasm_scan_code(&m, 2, rec, &r, &feat, &e), 0);
  assert_int_equal(r.ncalls, 1);
  assert_int_equal(r.calls[0], 1);
  assert_int_equal(r.indirect, 1);
  assert_int_equal(r.ops, 6); /* i32.const call i32.const call_indirect drop end */
  assert_int_equal(feat, 0);
  /* imported function: no body */
  assert_true(kafu_wasm_scan_code(&m, 0, rec, &r, NULL, &e) < 0);
  assert_int_equal(kafu_wasm_detect_features(&m, &feat, &e), 0);
  kafu_wasm_module_free(&m);

  /* corrupt the opcode of add1's i32.add (0x6a) into an unknown prefixed op */
  uint8_t *p = memmem(b.data, b.len, "\x20\x00\x41\x01\x6a\x0b", 6);
  assert_non_null(p);
  p[4] = 0xff;
  assert_int_equal(kafu_wasm_parse(b.data, b.len, &m, &e), 0);
  assert_true(kafu_wasm_scan_code(&m, 1, rec, &r, NULL, &e) < 0);
  assert_non_null(strstr(e.msg, "function 1 (add1)"));
  assert_non_null(strstr(e.msg, "unknown opcode 0xff"));
  /* out-of-range call target */
  p[4] = 0x6a;
  uint8_t *q = memmem(b.data, b.len, "\x10\x01\x41\x00", 4);
  q[1] = 0x09;
  assert_true(kafu_wasm_scan_code(&m, 2, rec, &r, NULL, &e) < 0);
  assert_non_null(strstr(e.msg, "function index 9 out of range"));
  kafu_wasm_module_free(&m);
  kafu_buf_free(&b);
}

static void test_features(void **st) {
  /* one function using sign-ext (i32.extend8_s), bulk memory (memory.fill),
   * saturating truncation and SIMD (v128.const; i32x4.extract_lane) */
  kafu_buf m = {0}, s = {0};
  header(&m);
  uleb(&s, 1);
  bytes(&s, "\x60\x00\x00", 3);
  section(&m, 1, &s);
  uleb(&s, 1);
  uleb(&s, 0);
  section(&m, 3, &s);
  uleb(&s, 1);
  bytes(&s, "\x00\x01", 2);
  section(&m, 5, &s);
  kafu_buf body = {0};
  u8(&body, 0);                                            /* no locals */
  bytes(&body, "\x41\x01\xc0\x1a", 4);                     /* i32.const 1; i32.extend8_s; drop */
  bytes(&body, "\x41\x00\x41\x00\x41\x00\xfc\x0b\x00", 9); /* memory.fill */
  bytes(&body, "\x43\x00\x00\x00\x00\xfc\x00\x1a", 8);     /* f32.const 0; i32.trunc_sat_f32_s; drop */
  u8(&body, 0xfd);
  u8(&body, 12);
  bytes(&body, "0123456789abcdef", 16); /* v128.const */
  bytes(&body, "\xfd\x1b\x02\x1a", 4);  /* i32x4.extract_lane 2; drop */
  u8(&body, 0x0b);
  uleb(&s, 1);
  uleb(&s, (uint32_t)body.len);
  kafu_buf_append(&s, body.data, body.len);
  kafu_buf_free(&body);
  section(&m, 10, &s);
  kafu_wasm_module mod;
  kafu_err e = {0};
  assert_int_equal(kafu_wasm_parse(m.data, m.len, &mod, &e), 0);
  uint32_t f;
  assert_int_equal(kafu_wasm_detect_features(&mod, &f, &e), 0);
  assert_int_equal(f, KAFU_WASM_FEAT_SIGN_EXT | KAFU_WASM_FEAT_BULK_MEMORY | KAFU_WASM_FEAT_SAT_TRUNC |
                          KAFU_WASM_FEAT_SIMD);
  char buf[128];
  assert_string_equal(kafu_wasm_format_features(f, buf, sizeof buf),
                      "sign-ext, nontrapping-fptoint, bulk-memory, simd");
  /* the first SIMD use is named: instruction, function, offset */
  kafu_wasm_simd_use use;
  assert_int_equal(kafu_wasm_find_simd(&mod, &use, &e), 1);
  assert_int_equal(use.op, 0xfd000c);
  assert_int_equal(use.func, 0);
  assert_string_equal(use.what, "instruction v128.const in function #0");
  assert_int_equal(m.data[use.offset], 0xfd);
  kafu_wasm_module_free(&mod);
  assert_int_equal(kafu_wasm_refuse_simd((const uint8_t *)m.data, m.len, "t.wasm", &e), KAFU_EUNSUP);
  snprintf(buf, sizeof buf, "t.wasm uses Wasm SIMD (first: instruction v128.const in function #0 at offset 0x%zx)",
           use.offset);
  assert_non_null(strstr(e.msg, buf));
  assert_non_null(strstr(e.msg, "build without -msimd128"));
  kafu_buf_free(&m);

  /* v128 only in a signature (an import): still SIMD */
  header(&m);
  uleb(&s, 1);
  bytes(&s, "\x60\x01\x7b\x00", 4);
  section(&m, 1, &s);
  uleb(&s, 1);
  name(&s, "env");
  name(&s, "f");
  u8(&s, 0);
  uleb(&s, 0);
  section(&m, 2, &s);
  assert_int_equal(kafu_wasm_parse(m.data, m.len, &mod, &e), 0);
  assert_int_equal(kafu_wasm_find_simd(&mod, &use, &e), 1);
  assert_string_equal(use.what, "v128 in the signature of function #0");
  kafu_wasm_module_free(&mod);
  kafu_buf_free(&m);

  /* none */
  build_basic(&m);
  assert_int_equal(kafu_wasm_parse(m.data, m.len, &mod, &e), 0);
  assert_int_equal(kafu_wasm_find_simd(&mod, &use, &e), 0);
  kafu_wasm_module_free(&mod);
  assert_int_equal(kafu_wasm_refuse_simd((const uint8_t *)m.data, m.len, "t.wasm", &e), 0);
  kafu_buf_free(&m);
}

/* opcode names (wabt's table); prefixed opcodes are prefix << 16 | subopcode */
static void test_opcode_names(void **st) {
  assert_string_equal(kafu_wasm_opcode_name(0x6a), "i32.add");
  assert_string_equal(kafu_wasm_opcode_name(0xfc000a), "memory.copy");
  assert_string_equal(kafu_wasm_opcode_name(0xfd00ae), "i32x4.add");
  assert_string_equal(kafu_wasm_opcode_name(0xfd0100), "i8x16.relaxed_swizzle"); /* > 0xff: no clash */
  assert_string_equal(kafu_wasm_opcode_name(0xfe0000), "memory.atomic.notify");
  assert_null(kafu_wasm_opcode_name(0xfd0fff));
}

static void expect_error(const kafu_buf *b, const char *needle) {
  kafu_wasm_module m;
  kafu_err e = {0};
  int rc = kafu_wasm_parse(b->data, b->len, &m, &e);
  if (rc == 0 || !strstr(e.msg, needle)) print_error("rc=%d msg='%s' (wanted '%s')\n", rc, e.msg, needle);
  assert_true(rc < 0);
  assert_non_null(strstr(e.msg, needle));
}

static void test_errors(void **st) {
  kafu_buf b = {0}, s = {0};
  bytes(&b, "\0asx\1\0\0\0", 8);
  expect_error(&b, "bad magic");
  kafu_buf_free(&b);
  bytes(&b, "\0asm\2\0\0\0", 8);
  expect_error(&b, "unsupported binary version 2");
  kafu_buf_free(&b);
  bytes(&b, "\0asm\1\0", 6);
  expect_error(&b, "truncated header");
  kafu_buf_free(&b);
  /* section size past the end */
  header(&b);
  bytes(&b, "\x01\x10\x00", 3);
  expect_error(&b, "type section (id 1) at offset 0x8: size 16 extends past the end");
  kafu_buf_free(&b);
  /* out of order: function before type */
  header(&b);
  bytes(&b, "\x03\x01\x00\x01\x01\x00", 6);
  expect_error(&b, "duplicate or out of order");
  kafu_buf_free(&b);
  /* unknown section id */
  header(&b);
  bytes(&b, "\x2a\x00", 2);
  expect_error(&b, "unknown section id 42");
  kafu_buf_free(&b);
  /* type index out of range in the function section */
  header(&b);
  uleb(&s, 0);
  section(&b, 1, &s);
  uleb(&s, 1);
  uleb(&s, 3);
  section(&b, 3, &s);
  expect_error(&b, "function section (id 3) at offset");
  expect_error(&b, "type index 3 out of range (0 types)");
  kafu_buf_free(&b);
  /* functions declared, no code */
  header(&b);
  uleb(&s, 1);
  bytes(&s, "\x60\x00\x00", 3);
  section(&b, 1, &s);
  uleb(&s, 1);
  uleb(&s, 0);
  section(&b, 3, &s);
  expect_error(&b, "no code section");
  /* code count mismatch */
  uleb(&s, 2);
  bytes(&s, "\x02\x00\x0b\x02\x00\x0b", 6);
  section(&b, 10, &s);
  expect_error(&b, "2 code entries but the function section declares 1");
  kafu_buf_free(&b);
  /* duplicate export, huge counts, trailing bytes, GC type */
  header(&b);
  uleb(&s, 1);
  bytes(&s, "\x60\x00\x00", 3);
  section(&b, 1, &s);
  uleb(&s, 1);
  uleb(&s, 0);
  section(&b, 3, &s);
  uleb(&s, 2);
  name(&s, "f");
  bytes(&s, "\x00\x00", 2);
  name(&s, "f");
  bytes(&s, "\x00\x00", 2);
  section(&b, 7, &s);
  expect_error(&b, "duplicate export name 'f'");
  kafu_buf_free(&b);
  header(&b);
  bytes(&s, "\xff\xff\xff\xff\x0f", 5); /* 4 billion types in 5 bytes */
  section(&b, 1, &s);
  expect_error(&b, "type count: count 4294967295 does not fit");
  kafu_buf_free(&b);
  header(&b);
  uleb(&s, 0);
  u8(&s, 0);
  section(&b, 1, &s);
  expect_error(&b, "1 unread bytes at the end of the section");
  kafu_buf_free(&b);
  header(&b);
  uleb(&s, 1);
  bytes(&s, "\x5f\x00", 2);
  section(&b, 1, &s);
  expect_error(&b, "GC proposal");
  kafu_buf_free(&b);
}

static void test_truncation(void **st) {
  /* every prefix of a valid module either parses (section boundary) or fails
   * with a message; never crashes (run under ASan in `make test-asan`) */
  kafu_buf b = {0};
  build_basic(&b);
  int ok = 0;
  for (size_t n = 0; n < b.len; n++) {
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, b.data, n);
    kafu_wasm_module m;
    kafu_err e = {0};
    if (kafu_wasm_parse(copy, n, &m, &e) == 0) {
      ok++;
      uint32_t f;
      kafu_wasm_detect_features(&m, &f, &e);
      kafu_wasm_module_free(&m);
    } else {
      assert_true(e.msg[0] != 0);
    }
    free(copy);
  }
  assert_true(ok > 0 && ok < 16);
  /* every single-byte corruption, likewise */
  for (size_t i = 8; i < b.len; i++) {
    for (int v = 0; v < 256; v += 51) {
      uint8_t *copy = malloc(b.len);
      memcpy(copy, b.data, b.len);
      copy[i] ^= (uint8_t)(v | 1);
      kafu_wasm_module m;
      kafu_err e = {0};
      if (kafu_wasm_parse(copy, b.len, &m, &e) == 0) {
        uint32_t f;
        kafu_meta meta;
        kafu_wasm_detect_features(&m, &f, &e);
        if (kafu_wasm_read_meta(&m, &meta, &e) > 0) kafu_meta_free(&meta);
        kafu_wasm_module_free(&m);
      }
      free(copy);
    }
  }
  kafu_buf_free(&b);
}

static void test_bad_names_ignored(void **st) {
  kafu_buf b = {0};
  build_basic(&b);
  /* the name section is last: corrupt its function count -> names dropped, module still fine */
  uint8_t *p = memmem(b.data, b.len, "\x04name\x01", 6);
  assert_non_null(p);
  p[7] = 0x7f; /* count 127 > remaining bytes */
  kafu_wasm_module m;
  kafu_err e = {0};
  assert_int_equal(kafu_wasm_parse(b.data, b.len, &m, &e), 0);
  assert_true(m.names_invalid);
  assert_null(m.funcs[1].name);
  kafu_wasm_module_free(&m);
  kafu_buf_free(&b);
}

/* ---- kafu.meta ------------------------------------------------------------------- */

static void test_meta(void **st) {
  kafu_meta_func fs[2] = {{0, "detect", "cloud"}, {1, "capture", "edge"}};
  kafu_meta m = {.version = 1,
                 .flags = KAFU_META_FLAG_SNAPIFIED,
                 .asyncify_buf_size = 65536,
                 .funcs = fs,
                 .nfuncs = 2,
                 .instrumented_functions = 7,
                 .total_functions = 40};
  kafu_buf b = {0};
  assert_int_equal(kafu_meta_encode(&m, &b), 0);
  assert_memory_equal(b.data, "KAFU\1\0\0\0", 8);
  kafu_meta out;
  kafu_err e = {0};
  assert_int_equal(kafu_meta_parse(b.data, b.len, &out, &e), 0);
  assert_int_equal(out.nfuncs, 2);
  assert_string_equal(out.funcs[1].name, "capture");
  assert_string_equal(out.funcs[1].dest, "edge");
  assert_int_equal(out.asyncify_buf_size, 65536);
  assert_int_equal(out.instrumented_functions, 7);
  assert_int_equal(out.total_functions, 40);
  kafu_meta_free(&out);
  for (size_t n = 0; n < b.len; n++) assert_int_equal(kafu_meta_parse(b.data, n, &out, &e), KAFU_EFORMAT);
  b.data[4] = 2;
  assert_int_equal(kafu_meta_parse(b.data, b.len, &out, &e), KAFU_EFORMAT);
  assert_non_null(strstr(e.msg, "unsupported version 2"));
  b.data[4] = 1;
  /* as a custom section of a module */
  kafu_buf mod = {0};
  header(&mod);
  assert_int_equal(kafu_wasm_append_custom(&mod, KAFU_META_SECTION, b.data, b.len), 0);
  kafu_wasm_module wm;
  assert_int_equal(kafu_wasm_parse(mod.data, mod.len, &wm, &e), 0);
  assert_int_equal(kafu_wasm_read_meta(&wm, &out, &e), 1);
  assert_string_equal(out.funcs[0].name, "detect");
  kafu_meta_free(&out);
  kafu_wasm_module_free(&wm);
  kafu_buf_free(&mod);
  kafu_buf_free(&b);
}

/* ---- real modules: the fuzz seed corpus ---------------------------------------------- */

static void test_corpus(void **st) {
  const char *src = getenv("KAFU_SRC");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/fuzz_wasm_reader", src ? src : KAFU_SOURCE_DIR);
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *de;
  int parsed = 0;
  while ((de = readdir(d))) {
    if (!strstr(de->d_name, ".wasm")) continue;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    uint8_t *data;
    size_t len;
    kafu_err e = {0};
    assert_int_equal(kafu_read_file(path, &data, &len, &e), 0);
    kafu_wasm_module m;
    if (!strncmp(de->d_name, "regress_", 8)) { /* fuzzer finds: must not crash, may be invalid */
      if (kafu_wasm_parse(data, len, &m, &e) == 0) kafu_wasm_module_free(&m);
      free(data);
      continue;
    }
    int rc = kafu_wasm_parse(data, len, &m, &e);
    if (rc != 0) print_error("%s: %s\n", path, e.msg);
    assert_int_equal(rc, 0);
    uint32_t f;
    assert_int_equal(kafu_wasm_detect_features(&m, &f, &e), 0);
    assert_non_null(kafu_wasm_find_export(&m, "_start", KAFU_WASM_EXT_FUNC));
    kafu_wasm_module_free(&m);
    free(data);
    parsed++;
  }
  closedir(d);
  assert_true(parsed >= 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_leb),
      cmocka_unit_test(test_parse_basic),
      cmocka_unit_test(test_scan_code),
      cmocka_unit_test(test_features),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_bad_names_ignored),
      cmocka_unit_test(test_meta),
      cmocka_unit_test(test_opcode_names),
      cmocka_unit_test(test_corpus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
