/*
 * engine_internal.h — the engine's backend-neutral internals (src/engine only):
 * the module facts, struct kafu_module / kafu_instance, and the seam between
 * the public API and an execution backend (kafu_engine_backend). The wasm2c
 * AOT backend's own internals are in aot_internal.h. Files:
 *
 *   engine.c      the public API of engine.h, written against the backend seam:
 *                 loading (parse, import check, exports), instances, globals,
 *                 memory, Asyncify control, host-module contexts
 *   wasm_info.c   the facts the engine needs about a module (types, imports,
 *                 exports, globals, function names), from the wasm reader
 *   aot_backend.c the wasm2c AOT backend: the ops table below, implemented on
 *   aot_cache.c   the artifact cache (lookup, trailer, lock, dlopen),
 *   aot_build.c   the build (toolchain, wasm2c, C compiler, progress),
 *   aot_glue.c    the generated glue C file (one C interface per module),
 *   aot_split.c   splitting large wasm2c output for parallel compilation,
 *   aot_rt.c      what generated code calls: traps, guarded linear memory,
 *                 signal handler, exec frames,
 *   symbolize.c   and trap PC -> wasm function name (ELF .symtab).
 */
#ifndef KAFU_ENGINE_INTERNAL_H
#define KAFU_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/engine.h"
#include "kafu/hostmod.h"
#include "kafu/util.h"
#include "kafu/wasm.h"

/* ---- module reader ------------------------------------------------------------ */

enum { WI_EXT_FUNC = 0, WI_EXT_TABLE = 1, WI_EXT_MEMORY = 2, WI_EXT_GLOBAL = 3, WI_EXT_TAG = 4 };

typedef struct wi_functype {
  uint32_t nparams, nresults;
  kafu_valtype *types; /* params then results */
} wi_functype;

typedef struct wi_import {
  char *module, *name;
  uint8_t kind;
  uint32_t type; /* FUNC: type index */
  uint32_t mod;  /* index of `module` among the distinct import modules, in order of first use */
} wi_import;

typedef struct wi_export {
  char *name;
  uint8_t kind;
  uint32_t index;
} wi_export;

typedef struct wi_global {
  kafu_valtype type;
  bool is_mutable;
} wi_global;

typedef struct wasm_info {
  uint32_t ntypes;
  wi_functype *types;
  uint32_t nimports;
  wi_import *imports;
  uint32_t nimport_mods; /* distinct import module names */
  uint32_t nfunc_imports, nglobal_imports, nmemory_imports, ntable_imports;
  uint32_t nfuncs;     /* defined functions */
  uint32_t *func_type; /* type index per function index (imports first) */
  uint32_t nglobals;   /* including imported */
  wi_global *globals;
  uint32_t nmemories; /* defined */
  uint32_t nexports;
  wi_export *exports;
  char **func_names; /* per function index, from the "name" section; may be NULL entries */
  bool has_start;
} wasm_info;

/* Parse a module with the shared reader (kafu/wasm.h) and keep what the engine
 * needs. Structure errors -> KAFU_EFORMAT naming the section and offset. */
int kafu_wasm_info_parse(const uint8_t *p, size_t len, wasm_info *wi, kafu_err *err);
void kafu_wasm_info_free(wasm_info *wi);
/* wasm2c failed without any output: an error naming what the module uses. */
int kafu_engine_explain_wasm2c_crash(const uint8_t *p, size_t len, const char *name, kafu_err *err);
/* total number of functions (imported + defined) */
static inline uint32_t wi_nfuncs_total(const wasm_info *wi) { return wi->nfunc_imports + wi->nfuncs; }

/* The prefix of the engine's logs ("engine: ..."). */
extern const kafu_log_ctx kafu_engine_log;

/* ---- host modules ------------------------------------------------------------ */

/* The host module behind an import module name: the engine's own "kafu"
 * (migration_point) or one of the registry (kafu/hostmod.h); NULL if none. */
const kafu_hostmod *kafu_engine_hostmod(const char *module);

/* ---- modules and instances (backend-neutral) ------------------------------------- */

typedef struct kafu_engine_backend kafu_engine_backend;

struct kafu_module {
  uint8_t sha[KAFU_SHA256_LEN];
  char sha_hex[2 * KAFU_SHA256_LEN + 1];
  char name[256];
  bool snapified;
  wasm_info wi;
  size_t nexports;
  kafu_export *exports;
  int memory_export;             /* index into exports or -1 */
  const kafu_hostmod **hostmods; /* per import module (wi_import.mod) */
  const kafu_engine_backend *be; /* the backend that loaded it */
  void *be_data;                 /* the backend's module (aot_backend.c: aot_module) */
};

struct kafu_instance {
  kafu_module *m;
  kafu_host host;
  void **hctx; /* per import module (wi_import.mod): its handlers' context */
  /* export indices, -1 when absent */
  int ex_start, ex_unwind_start, ex_unwind_stop, ex_rewind_start, ex_rewind_stop, ex_state;
  int ex_buf_size;
  void *be_data; /* the backend's instance (aot_backend.c: aot_instance) */
};

/* ---- the backend seam --------------------------------------------------------------
 *
 * What engine.c needs from whatever runs the code, in the manner of CRIU's
 * page-xfer ops or libuv's platform layer: engine.c owns the API, argument
 * checks, the import check, host-module contexts and the export model; a
 * backend owns code (producing and loading it), execution, traps, linear
 * memory and globals. The wasm2c AOT backend (aot_backend.c) is the one
 * implementation; a portable interpreter or a loader of precompiled artifacts
 * for nodes without a C compiler would be a second table, chosen in
 * engine.c's backend_for(), and nothing outside src/engine changes
 * (docs/engine.md, "Backends").
 *
 * Every function gets module/instance structs whose neutral fields engine.c
 * has filled; a backend keeps its own state in be_data. Values cross as in
 * engine.h (u64-encoded). */
struct kafu_engine_backend {
  const char *name; /* for messages: "wasm2c-aot" */

  /* Optional: should this backend run m here, given opts (what the node has)?
   * engine.c asks the backends in order of preference; NULL = always. */
  bool (*wanted)(const kafu_module *m, const kafu_engine_opts *opts);

  /* Obtain and load code for m: m->sha/name/wi/exports/hostmods are filled,
   * and every import has passed the host-module check. Sets m->be_data.
   * Errors name the module, the artifact or the missing tool. */
  int (*module_load)(kafu_module *m, const uint8_t *wasm, size_t len, const kafu_engine_opts *opts,
                     kafu_err *err);
  /* Free m->be_data (all instances are gone). Also called after a failed load. */
  void (*module_free)(kafu_module *m);
  /* kafu_module_artifact / kafu_module_compiled */
  const char *(*module_artifact)(const kafu_module *m);
  bool (*module_compiled)(const kafu_module *m);
  /* Can export i be called (a function) or read (a global) through the u64
   * API? False for v128/reference signatures and types. */
  bool (*export_usable)(const kafu_module *m, size_t i);

  /* Create the backend's instance (inst->m, host and hctx are set): memories,
   * tables, segments, the wasm start function. May trap (KAFU_ETRAP + out). */
  int (*instance_new)(kafu_instance *inst, kafu_outcome *out, kafu_err *err);
  void (*instance_free)(kafu_instance *inst);
  /* The host changed (kafu_instance_set_host): inst->host and hctx are new. */
  void (*host_changed)(kafu_instance *inst);
  /* Call usable function export i; results has room for its results. Runs as
   * a nested call when wasm of inst is already on this thread's stack (from
   * a host callback), so traps and exits then unwind to the outermost call.
   * Returns 0, KAFU_EEXIT or KAFU_ETRAP with out (may be NULL) and err filled. */
  int (*call)(kafu_instance *inst, size_t i, const uint64_t *args, uint64_t *results, const char *what,
              kafu_outcome *out, kafu_err *err);
  /* Address of usable global export i's value: 4 bytes (i32, f32) or 8. */
  void *(*global_addr)(kafu_instance *inst, size_t i);
  /* The primary memory (the module's export "memory", else its first exported
   * one): base (NULL = none), size in bytes, pages, maximum pages. */
  uint8_t *(*memory)(kafu_instance *inst, uint64_t *size, uint32_t *pages, uint32_t *max_pages);
  /* Grow the primary memory; the previous page count, or UINT32_MAX. */
  uint32_t (*memory_grow)(kafu_instance *inst, uint32_t delta_pages);
  /* back to `pages` (<= current; the pages above decommitted, zero when grown
   * again): the host undoing its own grow; 0 or -1 */
  int (*memory_shrink)(kafu_instance *inst, uint32_t pages);
  /* true while wasm code of inst is on the calling thread's stack. */
  bool (*executing)(const kafu_instance *inst);
  /* From a host callback of inst: leave wasm; the outermost call returns
   * KAFU_ETRAP with KAFU_TRAP_HOST and msg. */
  void (*abort)(kafu_instance *inst, const char *msg) __attribute__((noreturn));
  /* WASI proc_exit (installed on the instance's WASI context, ctx = inst):
   * leave wasm; the outermost call returns KAFU_EEXIT with code. */
  void (*proc_exit)(void *inst, uint32_t code);
};

/* The wasm2c AOT backend (aot_backend.c): finds code in the cache or builds it. */
extern const kafu_engine_backend kafu_aot_backend;
/* The precompiled-code loader (aot_backend.c): the same code and execution,
 * but only loads artifacts built elsewhere (app.aot_dir, `kafu aot --target`,
 * fetched from a peer) and never compiles; wanted when the node has shipped
 * code for the module or no C compiler for its machine. */
extern const kafu_engine_backend kafu_aot_prebuilt_backend;

/* Parse and check a module (imports against the host modules, exports) into
 * a kafu_module without code; m->be is NULL (kafu_module_free frees it). */
int kafu_engine_module_prepare(const uint8_t *wasm, size_t len, const kafu_engine_opts *opts, kafu_module **out,
                               kafu_err *err);

#endif
