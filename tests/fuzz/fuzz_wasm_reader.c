/*
 * fuzz_wasm_reader.c — libFuzzer target for the wasm reader (src/wasm) and
 * Snapify's analysis on top of it (src/snapify/plan.c, no Binaryen): parse,
 * decode every body, read kafu.meta, look things up, plan the transform.
 * Any crash, leak or sanitizer report is a bug; errors are expected.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/snapify.h"
#include "kafu/wasm.h"
#include "snapify/snapify_internal.h"

static int count_instr(void *ud, const kafu_wasm_instr *in) {
  (*(uint64_t *)ud) += in->op;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kafu_wasm_module m;
  kafu_err err;
  if (kafu_wasm_parse(data, size, &m, &err) != 0) return 0;
  uint32_t features = 0;
  uint64_t sum = 0;
  char buf[256];
  kafu_wasm_detect_features(&m, &features, &err);
  kafu_wasm_format_features(features, buf, sizeof buf);
  for (uint32_t i = m.nfunc_imports; i < m.nfuncs; i++)
    kafu_wasm_scan_code(&m, i, count_instr, &sum, NULL, &err);
  for (uint32_t i = 0; i < m.nfuncs; i++) {
    const kafu_wasm_functype *t = kafu_wasm_func_type(&m, i);
    if (t) kafu_wasm_format_functype(t, buf, sizeof buf);
  }
  for (uint32_t i = 0; i < m.nexports; i++) kafu_wasm_find_export(&m, m.exports[i].name, -1);
  kafu_meta meta;
  if (kafu_wasm_read_meta(&m, &meta, &err) > 0) kafu_meta_free(&meta);
  ks_plan plan;
  if (ks_plan_build(&m, KAFU_DEFAULT_ASYNCIFY_BUF_SIZE, false, &plan, &err) == 0) ks_plan_free(&plan);
  kafu_wasm_module_free(&m);
  return 0;
}
