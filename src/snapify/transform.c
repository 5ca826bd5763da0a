/*
 * transform.c — the Binaryen half of Snapify (libbinaryen 108 C API).
 *
 * Given the plan from plan.c:
 *   1. import kafu.migration_point (i32 fn_id, i32 kind) -> ();
 *   2. for each annotated function F (by its real function, not the export
 *      thunk): move the body into "F$kafu_inner" and re-add F as a wrapper
 *        migration_point(id, 0); r = F$kafu_inner(args...); migration_point(id, 1); return r
 *      so every return path passes the exit point and callers, table entries
 *      and exports (which refer to F by name) all go through the wrapper;
 *   3. export every mutable global as kafu_global_<N> (before Asyncify, so
 *      Asyncify's own globals stay private), plus kafu_asyncify_buf_addr and
 *      kafu_asyncify_buf_size;
 *   4. Asyncify with asyncify-imports@kafu.migration_point and either
 *      asyncify-ignore-indirect (no reaching function is address-taken) or an
 *      only-list of the reaching functions;
 *   5. optimize, validate, write (names kept).
 *
 * Binaryen reports malformed input by printing and exiting the process, so
 * snapify.c runs this in a child process; nothing here needs to clean up on
 * such paths.
 */
#include <binaryen-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapify_internal.h"

#define MP_INTERNAL "kafu$migration_point"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char *ks_unescape_name(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(n + 1), *o = out;
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (s[i] == '\\' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
      *o++ = (char)(hi << 4 | lo);
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  *o = 0;
  return out;
}

char *ks_onlylist_pattern(const char *name) {
  size_t n = strlen(name), cut = n;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x21 || c >= 0x7f || strchr(",()<>[]{}*@\\", c)) {
      /* spaces are fine for Asyncify (escaped like the names), but a trailing
       * space would be trimmed away, so cut at any whitespace too */
      cut = i;
      break;
    }
  }
  if (cut == 0) return NULL;
  char *p = malloc(cut + 2);
  if (!p) return NULL;
  memcpy(p, name, cut);
  if (cut < n) p[cut++] = '*';
  p[cut] = 0;
  return p;
}

static BinaryenFeatures binaryen_features(uint32_t f) {
  BinaryenFeatures b = BinaryenFeatureMVP() | BinaryenFeatureMutableGlobals();
  if (f & KAFU_WASM_FEAT_SIGN_EXT) b |= BinaryenFeatureSignExt();
  if (f & KAFU_WASM_FEAT_SAT_TRUNC) b |= BinaryenFeatureNontrappingFPToInt();
  if (f & KAFU_WASM_FEAT_BULK_MEMORY) b |= BinaryenFeatureBulkMemory();
  if (f & KAFU_WASM_FEAT_REFERENCE_TYPES) b |= BinaryenFeatureReferenceTypes();
  if (f & KAFU_WASM_FEAT_SIMD) b |= BinaryenFeatureSIMD128();
  if (f & KAFU_WASM_FEAT_THREADS) b |= BinaryenFeatureAtomics();
  if (f & KAFU_WASM_FEAT_MULTI_VALUE) b |= BinaryenFeatureMultivalue();
  if (f & KAFU_WASM_FEAT_TAIL_CALL) b |= BinaryenFeatureTailCall();
  if (f & KAFU_WASM_FEAT_EXCEPTIONS) b |= BinaryenFeatureExceptionHandling();
  if (f & KAFU_WASM_FEAT_MEMORY64) b |= BinaryenFeatureMemory64();
  if (f & KAFU_WASM_FEAT_EXTENDED_CONST) b |= BinaryenFeatureExtendedConst();
  return b;
}

/* A fresh internal name based on base (Binaryen names must be unique). */
static char *fresh_name(BinaryenModuleRef mod, const char *base, const char *suffix) {
  size_t n = strlen(base) + strlen(suffix) + 16;
  char *s = malloc(n);
  if (!s) return NULL;
  snprintf(s, n, "%s%s", base, suffix);
  for (unsigned k = 2; BinaryenGetFunction(mod, s); k++) snprintf(s, n, "%s%s%u", base, suffix, k);
  return s;
}

static int wrap_function(BinaryenModuleRef mod, const char *name, const char *inner, uint32_t id,
                         kafu_err *err) {
  BinaryenFunctionRef f = BinaryenGetFunction(mod, name);
  if (!f) return kafu_err_set(err, KAFU_EINVAL, "internal: Binaryen has no function '%s'", name);
  BinaryenType params = BinaryenFunctionGetParams(f), results = BinaryenFunctionGetResults(f);
  BinaryenIndex nvars = BinaryenFunctionGetNumVars(f);
  BinaryenType *vars = malloc((nvars + 1) * sizeof *vars);
  uint32_t np = BinaryenTypeArity(params);
  BinaryenType *pt = malloc((np + 1) * sizeof *pt);
  BinaryenExpressionRef *args = malloc((np + 1) * sizeof *args);
  if (!vars || !pt || !args) {
    free(vars), free(pt), free(args);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  for (BinaryenIndex i = 0; i < nvars; i++) vars[i] = BinaryenFunctionGetVar(f, i);
  if (np) BinaryenTypeExpand(params, pt);

  /* the original body becomes the inner function */
  BinaryenExpressionRef body = BinaryenExpressionCopy(BinaryenFunctionGetBody(f), mod);
  BinaryenAddFunction(mod, inner, params, results, vars, nvars, body);
  BinaryenRemoveFunction(mod, name);

  for (uint32_t i = 0; i < np; i++) args[i] = BinaryenLocalGet(mod, i, pt[i]);
  BinaryenExpressionRef call = BinaryenCall(mod, inner, args, np, results);
  BinaryenExpressionRef enter_ops[2] = {BinaryenConst(mod, BinaryenLiteralInt32((int32_t)id)),
                                        BinaryenConst(mod, BinaryenLiteralInt32(0))};
  BinaryenExpressionRef leave_ops[2] = {BinaryenConst(mod, BinaryenLiteralInt32((int32_t)id)),
                                        BinaryenConst(mod, BinaryenLiteralInt32(1))};
  BinaryenExpressionRef enter = BinaryenCall(mod, MP_INTERNAL, enter_ops, 2, BinaryenTypeNone());
  BinaryenExpressionRef leave = BinaryenCall(mod, MP_INTERNAL, leave_ops, 2, BinaryenTypeNone());
  BinaryenExpressionRef wbody;
  BinaryenType tmp = results;
  if (results == BinaryenTypeNone()) {
    BinaryenExpressionRef list[3] = {enter, call, leave};
    wbody = BinaryenBlock(mod, NULL, list, 3, BinaryenTypeNone());
  } else {
    /* the result waits in a local (index np: the first var) across the exit point */
    BinaryenExpressionRef list[4] = {enter, BinaryenLocalSet(mod, np, call), leave,
                                     BinaryenLocalGet(mod, np, results)};
    wbody = BinaryenBlock(mod, NULL, list, 4, results);
  }
  BinaryenAddFunction(mod, name, params, results, &tmp, results == BinaryenTypeNone() ? 0 : 1, wbody);
  free(vars), free(pt), free(args);
  return 0;
}

static int add_expect(kafu_buf *expect, const char *internal_name) {
  char *u = ks_unescape_name(internal_name);
  if (!u) return KAFU_ENOMEM;
  int rc = kafu_buf_append(expect, u, strlen(u) + 1);
  free(u);
  return rc;
}

int ks_validate(const uint8_t *in, size_t in_len, uint32_t features, kafu_err *err) {
  char *copy = malloc(in_len ? in_len : 1);
  if (!copy) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  memcpy(copy, in, in_len);
  BinaryenModuleRef mod = BinaryenModuleRead(copy, in_len);
  free(copy);
  BinaryenModuleSetFeatures(mod, binaryen_features(features));
  int rc = BinaryenModuleValidate(mod) ? 0 : kafu_err_set(err, KAFU_EINVAL, "Binaryen validation failed");
  BinaryenModuleDispose(mod);
  return rc;
}

int ks_transform(const uint8_t *in, size_t in_len, const ks_plan *plan, bool verbose, kafu_buf *out,
                 kafu_buf *expect, kafu_err *err) {
  int rc = 0;
  char **names = NULL, **inner = NULL;
  kafu_buf only = {0};
  char *copy = malloc(in_len ? in_len : 1);
  if (!copy) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  memcpy(copy, in, in_len);
  BinaryenModuleRef mod = BinaryenModuleRead(copy, in_len);
  free(copy);
  BinaryenModuleSetFeatures(mod, binaryen_features(plan->features));
  if (!BinaryenModuleValidate(mod)) {
    rc = kafu_err_set(err, KAFU_EINVAL, "the input module does not validate (Binaryen 108; messages above)");
    goto out;
  }
  if (BinaryenGetNumFunctions(mod) != plan->nfuncs || BinaryenGetNumGlobals(mod) < plan->nmutable_globals) {
    rc = kafu_err_set(err, KAFU_EINVAL, "internal: Binaryen sees %u functions, the reader %u",
                      BinaryenGetNumFunctions(mod), plan->nfuncs);
    goto out;
  }

  /* Names of everything we refer to, captured before functions move around
   * (Binaryen's function order is the wasm index order right after reading). */
  names = calloc(plan->nfuncs ? plan->nfuncs : 1, sizeof *names);
  inner = calloc(plan->nannots ? plan->nannots : 1, sizeof *inner);
  if (!names || !inner) goto oom;
  for (uint32_t fi = plan->nfunc_imports; fi < plan->nfuncs; fi++)
    if (plan->reach[fi]) names[fi] = (char *)BinaryenFunctionGetName(BinaryenGetFunctionByIndex(mod, fi));
  for (uint32_t i = 0; i < plan->nannots; i++) {
    const char *n = BinaryenFunctionGetName(BinaryenGetFunctionByIndex(mod, plan->annots[i].func));
    if (!(inner[i] = fresh_name(mod, n, "$kafu_inner"))) goto oom;
  }

  /* 1. the import */
  if (BinaryenGetFunction(mod, MP_INTERNAL)) {
    rc = kafu_err_set(err, KAFU_EINVAL, "the module already has a function named %s", MP_INTERNAL);
    goto out;
  }
  BinaryenType ii[2] = {BinaryenTypeInt32(), BinaryenTypeInt32()};
  BinaryenAddFunctionImport(mod, MP_INTERNAL, "kafu", "migration_point", BinaryenTypeCreate(ii, 2),
                            BinaryenTypeNone());

  /* 2. wrappers */
  for (uint32_t i = 0; i < plan->nannots; i++) {
    const char *n = names[plan->annots[i].func];
    if ((rc = wrap_function(mod, n, inner[i], i, err)) < 0) goto out;
  }

  /* 3. exports: mutable globals, buffer location */
  for (uint32_t k = 0; k < plan->nmutable_globals; k++) {
    uint32_t gi = plan->mutable_globals[k];
    BinaryenGlobalRef g = BinaryenGetGlobalByIndex(mod, gi);
    if (!BinaryenGlobalIsMutable(g)) {
      rc = kafu_err_set(err, KAFU_EINVAL, "internal: global %u is not mutable in Binaryen's view", gi);
      goto out;
    }
    char ename[32];
    snprintf(ename, sizeof ename, "kafu_global_%u", gi);
    BinaryenAddGlobalExport(mod, BinaryenGlobalGetName(g), ename);
  }
  BinaryenAddGlobal(mod, "kafu$asyncify_buf_addr", BinaryenTypeInt32(), true,
                    BinaryenConst(mod, BinaryenLiteralInt32((int32_t)plan->buf_addr)));
  BinaryenAddGlobalExport(mod, "kafu$asyncify_buf_addr", "kafu_asyncify_buf_addr");
  BinaryenAddGlobal(mod, "kafu$asyncify_buf_size", BinaryenTypeInt32(), false,
                    BinaryenConst(mod, BinaryenLiteralInt32((int32_t)plan->buf_size)));
  BinaryenAddGlobalExport(mod, "kafu$asyncify_buf_size", "kafu_asyncify_buf_size");

  /* 4. Asyncify */
  bool use_only = plan->indirect_needed;
  for (uint32_t fi = plan->nfunc_imports; fi < plan->nfuncs && use_only; fi++) {
    if (!names[fi]) continue;
    char *u = ks_unescape_name(names[fi]);
    char *pat = u ? ks_onlylist_pattern(u) : NULL;
    if (!pat) {
      /* no safe pattern for this name: instrument conservatively instead */
      if (verbose)
        kafu_infoc(&ks_log, "no only-list pattern for '%s'; instrumenting all indirect callers", u);
      use_only = false;
    } else {
      kafu_buf_printf(&only, "%s%s", only.len ? "," : "", pat);
    }
    free(u);
    free(pat);
  }
  for (uint32_t i = 0; i < plan->nannots && use_only; i++) {
    if (!plan->annots[i].inner_reaches) continue;
    char *u = ks_unescape_name(inner[i]);
    char *pat = u ? ks_onlylist_pattern(u) : NULL;
    if (!pat)
      use_only = false;
    else
      kafu_buf_printf(&only, "%s%s", only.len ? "," : "", pat);
    free(u);
    free(pat);
  }
  BinaryenClearPassArguments();
  BinaryenSetPassArgument("asyncify-imports", "kafu.migration_point");
  if (!plan->indirect_needed)
    BinaryenSetPassArgument("asyncify-ignore-indirect", "1");
  else if (use_only && only.len)
    BinaryenSetPassArgument("asyncify-onlylist", kafu_buf_cstr(&only));
  if (verbose)
    kafu_infoc(&ks_log, "asyncify %s",
               !plan->indirect_needed ? "ignoring indirect calls"
               : use_only             ? "with an only-list of reaching functions"
                                      : "conservatively");
  BinaryenSetOptimizeLevel(2);
  BinaryenSetShrinkLevel(1);
  const char *passes[] = {"asyncify"};
  BinaryenModuleRunPasses(mod, passes, 1);

  /* 5. optimize, validate, write */
  BinaryenModuleOptimize(mod);
  if (!BinaryenModuleValidate(mod)) {
    rc =
        kafu_err_set(err, KAFU_EINVAL, "internal: the transformed module does not validate (messages above)");
    goto out;
  }
  BinaryenSetDebugInfo(true); /* keep the name section: traps can name functions */
  BinaryenModuleAllocateAndWriteResult res = BinaryenModuleAllocateAndWrite(mod, NULL);
  if (!res.binary || kafu_buf_append(out, res.binary, res.binaryBytes) < 0) {
    free(res.binary);
    free(res.sourceMap);
    goto oom;
  }
  free(res.binary);
  free(res.sourceMap);

  for (uint32_t fi = plan->nfunc_imports; fi < plan->nfuncs; fi++)
    if (names[fi] && add_expect(expect, names[fi]) < 0) goto oom;
  for (uint32_t i = 0; i < plan->nannots; i++)
    if (plan->annots[i].inner_reaches && add_expect(expect, inner[i]) < 0) goto oom;
  goto out;
oom:
  rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
out:
  if (inner)
    for (uint32_t i = 0; i < plan->nannots; i++) free(inner[i]);
  free(inner);
  free(names);
  kafu_buf_free(&only);
  BinaryenModuleDispose(mod);
  return rc;
}
