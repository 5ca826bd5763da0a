/*
 * snapify.h — the Snapify transformation: make a wasm32-wasi module able to
 * checkpoint and resume itself at the entry and exit of KAFU_DEST functions.
 * See docs/abi.md for what the output imports and exports.
 */
#ifndef KAFU_SNAPIFY_H
#define KAFU_SNAPIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KAFU_DEFAULT_ASYNCIFY_BUF_SIZE (1024u * 1024u)

typedef struct kafu_snapify_opts {
  uint32_t asyncify_buf_size; /* bytes; 0 = KAFU_DEFAULT_ASYNCIFY_BUF_SIZE */
  bool verbose;               /* print what was instrumented to stderr */
  /* An annotated function that is never called inside the module (its calls
   * were removed or inlined, or it is unused) cannot migrate: an error unless
   * this is set, then a warning. */
  bool allow_unused_annotations;
} kafu_snapify_opts;

/* One annotated function (function id = its index in kafu_snapify_info.funcs). */
typedef struct kafu_snapify_func {
  char *name;          /* the KAFU_DEST function */
  char *dest;          /* destination node id */
  uint32_t func_index; /* the real function's index in the input module */
  bool via_thunk;      /* its export was wasm-ld's command-export thunk */
} kafu_snapify_func;

/* What Snapify found and did (kafu_snapify_ex / kafu_snapify_analyze). */
typedef struct kafu_snapify_info {
  kafu_snapify_func *funcs;
  uint32_t nfuncs;
  bool already_snapified;             /* input had kafu.meta: copied unchanged */
  uint32_t reaching;                  /* functions that can be on the stack at a migration point (planned) */
  uint32_t instrumented;              /* functions Asyncify instrumented in the output */
  uint32_t total_functions;           /* defined functions in the output (input for analyze) */
  bool ignore_indirect;               /* no reaching function is address-taken */
  uint32_t mutable_globals;           /* exported as kafu_global_<N> */
  uint32_t buf_size;                  /* kafu_asyncify_buf_size */
  uint32_t buf_addr;                  /* initial kafu_asyncify_buf_addr (0: runtime grows memory) */
  size_t in_size, out_size;           /* whole files */
  size_t in_code_size, out_code_size; /* code section payloads */
} kafu_snapify_info;

/* Transform a module in memory. *out is malloc'd. Returns 0 or negative with err set
 * (message names the function/section at fault). */
int kafu_snapify(const uint8_t *in, size_t in_len, const kafu_snapify_opts *opts, uint8_t **out,
                 size_t *out_len, kafu_err *err);

/* Like kafu_snapify, also filling *info (may be NULL; free with kafu_snapify_info_free).
 * Binaryen runs in a forked child process (it exits the process on malformed
 * input), so this must not be called while other threads hold locks the child
 * would need; set KAFU_SNAPIFY_INPROCESS=1 to run it in-process for debugging. */
int kafu_snapify_ex(const uint8_t *in, size_t in_len, const kafu_snapify_opts *opts, uint8_t **out,
                    size_t *out_len, kafu_snapify_info *info, kafu_err *err);

/* Analysis only (no Binaryen): the checks and the annotated functions of an
 * unsnapified module, or the kafu.meta of a Snapified one. */
int kafu_snapify_analyze(const uint8_t *in, size_t in_len, uint32_t buf_size, kafu_snapify_info *info,
                         kafu_err *err);
void kafu_snapify_info_free(kafu_snapify_info *info);

/* Binaryen's validator (BinaryenModuleValidate, features as the module uses
 * them) on a module, isolated like the transform. 0 = valid. */
int kafu_snapify_validate(const uint8_t *wasm, size_t len, kafu_err *err);

/* Parse "1048576", "64K", "1M" (powers of 1024) into bytes; -1 on bad syntax. */
int kafu_snapify_parse_size(const char *s, uint32_t *out);

/* Read in_path, transform, write out_path atomically. */
int kafu_snapify_file(const char *in_path, const char *out_path, const kafu_snapify_opts *opts,
                      kafu_err *err);

#ifdef __cplusplus
}
#endif
#endif
