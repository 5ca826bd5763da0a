/*
 * snapify_internal.h — the pieces of Snapify, shared by its files and unit tests.
 *
 *   plan.c       analysis on our own wasm reader (no Binaryen): annotations,
 *                thunk resolution, call graph, which functions can be on the
 *                stack at a migration point, input checks. Pure and testable.
 *   transform.c  the Binaryen part: wrappers, exports, Asyncify, optimize,
 *                validate, write. Runs in a child process (see snapify.c).
 *   snapify.c    orchestration: parse, plan, run the transform isolated,
 *                verify the output, append kafu.meta.
 */
#ifndef KAFU_SNAPIFY_INTERNAL_H
#define KAFU_SNAPIFY_INTERNAL_H

#include "kafu/snapify.h"
#include "kafu/wasm.h"

#define KS_DEST_PREFIX ".kafu_dest."
#define KS_MIN_BUF_SIZE 256u
#define KS_MAX_BUF_SIZE (1u << 30)

typedef struct ks_annot {
  char *name;           /* annotated function (= its export name) */
  char *dest;           /* destination node id */
  char *section;        /* the custom section it came from, for messages */
  uint32_t export_func; /* function index the export names */
  uint32_t func;        /* the real function: export_func or the thunk's callee */
  bool via_thunk;       /* export_func is wasm-ld's <fn>.command_export thunk */
  bool inner_reaches;   /* its original body can reach a migration point (nesting, recursion) */
} ks_annot;

typedef struct ks_plan {
  ks_annot *annots; /* index = function id in kafu.meta */
  uint32_t nannots;
  uint8_t *reach;            /* per function index: can be on the stack at a migration point */
  uint32_t nreach;           /* defined functions with reach set */
  uint8_t *address_taken;    /* per function index: in a table / ref.func */
  bool indirect_needed;      /* some reaching function is address-taken */
  uint32_t features;         /* KAFU_WASM_FEAT_* used by the input */
  uint32_t *mutable_globals; /* global indices to export as kafu_global_<N> */
  uint32_t nmutable_globals;
  bool guest_buf;    /* module exports __kafu_asyncify_buf */
  uint32_t buf_addr; /* its address, or 0 */
  uint32_t buf_size;
  bool buf_size_explicit; /* the caller asked for buf_size (else the default) */
  bool check_buf_size;    /* false for analysis only: the size is not known */
  uint32_t nfuncs, nfunc_imports;
  kafu_buf warnings; /* newline-separated warnings for the caller to print */
  /* newline-separated: annotated functions whose migrations vanished (never
   * called inside the module, or inlined into their export thunk); an error
   * unless kafu_snapify_opts.allow_unused_annotations */
  kafu_buf vanished;
} ks_plan;

/* Analyse a parsed input module (buf_size 0 = unknown, analysis only). Fails (KAFU_EINVAL/KAFU_EUNSUP) with a
 * precise message for every bad input listed in docs/snapify.md. */
int ks_plan_build(const kafu_wasm_module *m, uint32_t buf_size, bool buf_size_explicit, ks_plan *p,
                  kafu_err *err);
void ks_plan_free(ks_plan *p);

/* The prefix of Snapify's log lines and errors ("snapify: ..."). */
extern const kafu_log_ctx ks_log;

/* The transform proper (Binaryen). in/in_len: the input with debug sections
 * stripped. On success *out holds the module; *expect holds NUL-separated
 * (unescaped) names of functions that must come out instrumented if they
 * still exist after optimization. Writes Binaryen's chatter to stderr. */
int ks_transform(const uint8_t *in, size_t in_len, const ks_plan *plan, bool verbose, kafu_buf *out,
                 kafu_buf *expect, kafu_err *err);

/* BinaryenModuleRead + BinaryenModuleValidate with the given KAFU_WASM_FEAT_*
 * (+ mutable globals). Like ks_transform, only safe in a child process. */
int ks_validate(const uint8_t *in, size_t in_len, uint32_t features, kafu_err *err);

/* Name helpers (transform.c): Binaryen escapes non-identifier bytes of names
 * as \XX; these undo it and build Asyncify list patterns. */
char *ks_unescape_name(const char *s);
/* An Asyncify only-list entry matching `name` (unescaped): the name itself,
 * or its longest prefix free of list metacharacters followed by '*'. Returns
 * NULL when no safe pattern exists (caller falls back to no only-list). */
char *ks_onlylist_pattern(const char *name);

#endif
