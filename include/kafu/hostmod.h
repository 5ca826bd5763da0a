/*
 * hostmod.h — host modules: the import modules a wasm program can call into
 * besides its own code ("wasi_snapshot_preview1", "spectest", ...).
 *
 * A host module is plain data: its import module name, which context its
 * handlers receive, and a table of functions (import name, wasm signature,
 * handler). The engine checks every import of a module against these tables
 * before compiling anything (unknown module or name, or a wrong signature, is
 * an error naming the import), and its generated code calls the handler
 * directly. Nothing else in kafu needs to know a host module exists: adding
 * one is a descriptor in its own file plus one line in the registry
 * (src/hostmod/registry.c). docs/engine.md, "Host modules", has a worked
 * example.
 *
 * Handlers are C functions of the form
 *
 *     R handler(void *ctx, const kafu_mem *m, P1 a1, P2 a2, ...)
 *
 * with one parameter per wasm parameter and R = void or the one result:
 *
 *     signature letter   wasm type   C type
 *          'i'             i32       uint32_t   (reinterpret as int32_t if signed)
 *          'I'             i64       uint64_t
 *          'f'             f32       float
 *          'F'             f64       double
 *
 * m is the caller's linear memory for this call only ({NULL, 0} when the
 * module has none): memory may grow and move between calls, so never keep
 * m->base. Every guest pointer must be bounds-checked against m->size. ctx is
 * chosen by the module's `ctx` kind (below). Handlers run on the thread that
 * runs the instance; they may call kafu_instance_abort() (KAFU_HOSTCTX_INSTANCE)
 * to stop the program with a trap, and must not longjmp otherwise.
 */
#ifndef KAFU_HOSTMOD_H
#define KAFU_HOSTMOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/wasi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a module's handlers get as their first argument. */
typedef enum kafu_hostctx {
  KAFU_HOSTCTX_NONE = 0, /* NULL */
  KAFU_HOSTCTX_WASI,     /* the instance's WASI context (kafu_host.wasi; may be NULL) */
  KAFU_HOSTCTX_INSTANCE, /* the calling kafu_instance * (engine.h) */
  KAFU_HOSTCTX_BOUND,    /* what the embedder bound to this module's name (kafu_host.bindings) */
} kafu_hostctx;

/* The handler ends the program with its first argument as exit code when it
 * returns (WASI proc_exit). */
#define KAFU_HOSTFN_EXITS 0x1u

typedef struct kafu_hostfn {
  const char *name;    /* import name, e.g. "print_i32" */
  const char *params;  /* one letter per parameter: i I f F ("" for none) */
  const char *results; /* "" or one letter */
  const void *fn;      /* the handler, cast to const void * */
  unsigned flags;      /* KAFU_HOSTFN_* */
} kafu_hostfn;

typedef struct kafu_hostmod {
  const char *name;    /* import module name, e.g. "spectest" */
  const char *summary; /* one line for messages and docs, e.g. "Wasmtime's spectest printing" */
  kafu_hostctx ctx;
  /* instance creation fails (naming the module) when the context is NULL */
  bool ctx_required;
  const kafu_hostfn *fns;
  size_t nfns;
} kafu_hostmod;

/* A context the embedder provides for a KAFU_HOSTCTX_BOUND module (kafu_host). */
typedef struct kafu_host_binding {
  const char *module; /* kafu_hostmod.name */
  void *ctx;
} kafu_host_binding;

/* ---- the registry (src/hostmod/registry.c) ---------------------------------- */

/* Every registered host module, in a fixed order; NULL past the end. */
const kafu_hostmod *kafu_hostmod_at(size_t i);
/* The module with that import name, or NULL. */
const kafu_hostmod *kafu_hostmod_find(const char *module);
/* The function of hm with that import name, or NULL. */
const kafu_hostfn *kafu_hostmod_fn(const kafu_hostmod *hm, const char *name);
/* Add a module at run time (embedders, tests), before loading modules that
 * import it; hm must stay valid. Fails for a taken name (including the
 * engine's own "kafu"), a bad signature string or a missing handler. Built-in
 * modules are listed in src/hostmod/registry.c instead. */
int kafu_hostmod_register(const kafu_hostmod *hm, kafu_err *err);

/* ---- built-in modules --------------------------------------------------------- */

/* "wasi_snapshot_preview1": the WASI host (src/wasi), ctx = kafu_wasi *. */
extern const kafu_hostmod kafu_hostmod_wasi;
/* "spectest": print, print_i32, print_i64, print_f32, print_f64, print_i32_f32,
 * print_f64_f64, writing "VALUE: TYPE" lines as Wasmtime does, to the host fd
 * behind the guest's stdout (ctx = kafu_wasi *; host fd 1 without one). */
extern const kafu_hostmod kafu_hostmod_spectest;

/* "wasi_ephemeral_nn": wasi-nn, witx preview1 (src/nn/wasi_nn_host.c); ctx =
 * the program's kafu_nn_host (kafu/nn.h), bound by the embedder. */
extern const kafu_hostmod kafu_hostmod_wasi_nn;
/* "kafu_helper": image_to_tensor, the original Kafu's image preprocessing
 * (src/nn/wasi_nn_host.c); ctx = kafu_wasi *, whose sandbox resolves the path. */
extern const kafu_hostmod kafu_hostmod_kafu_helper;

/* spectest's formatting, exposed for tests: "VALUE: TYPE\n" for one value,
 * type letter as in signatures; returns the length (always < 512). Floats are
 * written like Rust's `{}`: the shortest decimal that reads back to the same
 * value, never in exponent form ("0.1", "1", "-0", "100000000000000000000",
 * "0.000001", "NaN", "inf", "-inf"). */
size_t kafu_spectest_format(char *out, size_t cap, char type, uint64_t bits);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_HOSTMOD_H */
