/*
 * engine.h — load, instantiate and run a WebAssembly module.
 *
 * The interface is deliberately small and backend-neutral, so that a second,
 * portable backend (no C compiler on the node) can implement it later and
 * restore the same engine-independent snapshots:
 *
 *   kafu_module     code for one wasm module (identified by its sha256)
 *   kafu_instance   one running copy: linear memory, globals, WASI context
 *
 * Everything the runtime needs from a module is an import or an export
 * (docs/abi.md): the host reaches mutable globals through exported globals
 * (kafu_global_*), linear memory through kafu_instance_memory(), and the
 * Asyncify control functions through kafu_instance_asyncify_*().
 *
 * Values crossing the API are u64-encoded: i32 in the low 32 bits (zero
 * extended), i64 as is, f32/f64 as their IEEE bit patterns (see kafu_val_*).
 *
 * Execution outcome of every call into wasm (return codes):
 *   0            the function returned normally
 *   KAFU_EEXIT   the program called proc_exit(code) (outcome->exit_code)
 *   KAFU_ETRAP   the program trapped (outcome->trap, outcome->function); err
 *                holds a full message ("wasm trap: integer divide by zero in
 *                function 'div' ...")
 *   other < 0    API misuse or host failure (no such export, ...), err set
 *
 * Re-entrancy: calls made while wasm code of the same instance is already on
 * this thread's stack (i.e. from inside the migration_point hook) are direct
 * calls: they install no new trap handler, so a trap or exit inside them
 * unwinds straight to the outermost call (kafu_instance_run_start), which
 * reports it. This is what the Asyncify protocol needs: the hook calls
 * kafu_instance_asyncify_start_unwind() and returns.
 *
 * Threads: any thread may run any instance, but one instance is run by one
 * thread at a time. Modules may be shared between threads.
 *
 * The first backend is wasm2c AOT (docs/engine.md): wasm2c -> C -> system C
 * compiler -> shared object in a content-addressed cache -> dlopen.
 */
#ifndef KAFU_ENGINE_H
#define KAFU_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kafu/hostmod.h"
#include "kafu/util.h"
#include "kafu/wasi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever generated code or the engine<->code ABI changes; part of the
 * AOT cache key, so old cache entries are never loaded by a newer engine. */
#define KAFU_ENGINE_VERSION "kafu-engine-1"

/* `kafu run` exit status when the program traps (like wasmtime: 128+SIGABRT). */
#define KAFU_EXIT_TRAP 134

typedef struct kafu_module kafu_module;
typedef struct kafu_instance kafu_instance;

/* kafu_module_load: this node has no native code for the module (not in the
 * cache, not in opts->artifact_dir) and cannot build it (no C compiler for its
 * architecture, or no wasm2c). A cluster node then asks its peers for one. */
#define KAFU_ENOCODE (-1200)

typedef enum kafu_valtype {
  KAFU_VAL_I32 = 0,
  KAFU_VAL_I64 = 1,
  KAFU_VAL_F32 = 2,
  KAFU_VAL_F64 = 3,
  KAFU_VAL_V128 = 4, /* listed, not callable through kafu_instance_call */
  KAFU_VAL_REF = 5,  /* funcref/externref: listed, not callable */
} kafu_valtype;

typedef enum kafu_extern_kind {
  KAFU_EXTERN_FUNC = 0,
  KAFU_EXTERN_TABLE = 1,
  KAFU_EXTERN_MEMORY = 2,
  KAFU_EXTERN_GLOBAL = 3,
} kafu_extern_kind;

typedef struct kafu_export {
  const char *name;
  kafu_extern_kind kind;
  /* KAFU_EXTERN_FUNC: signature */
  uint32_t nparams, nresults;
  const kafu_valtype *params, *results;
  /* KAFU_EXTERN_GLOBAL: value type and mutability */
  kafu_valtype type;
  bool is_mutable;
} kafu_export;

typedef enum kafu_trap_kind {
  KAFU_TRAP_NONE = 0,
  KAFU_TRAP_OUT_OF_BOUNDS,      /* linear memory or table access out of bounds */
  KAFU_TRAP_UNREACHABLE,        /* `unreachable` executed (abort(), __builtin_trap) */
  KAFU_TRAP_INT_DIV_BY_ZERO,    /* integer divide by zero */
  KAFU_TRAP_INT_OVERFLOW,       /* integer overflow (INT_MIN / -1, float->int out of range) */
  KAFU_TRAP_INVALID_CONVERSION, /* float->int conversion of NaN */
  KAFU_TRAP_STACK_EXHAUSTED,    /* call stack exhausted (runaway recursion) */
  KAFU_TRAP_INDIRECT_CALL_TYPE, /* call_indirect: function signature mismatch */
  KAFU_TRAP_INDIRECT_CALL_NULL, /* call_indirect: undefined/null table element */
  KAFU_TRAP_UNCAUGHT_EXCEPTION, /* wasm exception not caught */
  KAFU_TRAP_ASYNCIFY_OVERFLOW,  /* unwind ran out of Asyncify buffer (docs/abi.md) */
  KAFU_TRAP_RESOURCE,           /* could not allocate linear memory/table at instantiation */
  KAFU_TRAP_HOST,               /* a host callback aborted execution (kafu_instance_abort) */
  KAFU_TRAP_C_STACK_OVERFLOW,   /* out of bounds just below address 0: the program's own stack in
                                   linear memory ran out (kafu cc links it first in memory) */
} kafu_trap_kind;

/* "integer divide by zero", ... */
const char *kafu_trap_kind_str(kafu_trap_kind k);

typedef struct kafu_outcome {
  int status;           /* same as the call's return value: 0, KAFU_EEXIT or KAFU_ETRAP */
  uint32_t exit_code;   /* KAFU_EEXIT: the proc_exit argument */
  kafu_trap_kind trap;  /* KAFU_ETRAP */
  char function[256];   /* KAFU_ETRAP: innermost wasm function, "" when unknown */
  char backtrace[1024]; /* KAFU_ETRAP: "f <- g <- _start" (innermost first), "" when unknown */
} kafu_outcome;

/* ---- modules ---------------------------------------------------------------- */

typedef struct kafu_engine_opts {
  /* AOT cache directory; NULL = $KAFU_CACHE_DIR, else $XDG_CACHE_HOME/kafu,
   * else ~/.cache/kafu */
  const char *cache_dir;
  /* name used in messages and compile progress (e.g. the file name); NULL = "module" */
  const char *name;
  /* compile progress on stderr for compiles > ~1 s: -1 auto (bar on a TTY, one
   * line otherwise), 0 never, 1 always as a line */
  int progress;
  /* recompile even when a valid cache entry exists */
  bool force_compile;
  /* when the cache directory is not writable: false = compile into a private
   * temporary directory and warn, true = fail (used by `kafu aot`) */
  bool require_cache;
  /* (app.aot_dir) a read-only directory of precompiled artifacts laid out like a
   * cache (<dir>/aot/<module sha256>/<arch>-<key>.so, as `kafu aot --target T
   * --cache-dir DIR` writes it): used before compiling, with the cache's trust
   * rules. NULL = none. */
  const char *artifact_dir;
} kafu_engine_opts;

/* Validate the module, check that every import is a function of a host module
 * we provide (kafu/hostmod.h: WASI preview1, spectest, ...; kafu.migration_point)
 * with the right signature, find or build its compiled code and load it. opts may be NULL (defaults). Errors
 * name the import (module.name), the cache path, or the missing tool (and its Debian package). */
int kafu_module_load(const uint8_t *wasm, size_t len, const kafu_engine_opts *opts, kafu_module **out,
                     kafu_err *err);
/* Same, reading the file (opts->name defaults to its basename). */
int kafu_module_load_file(const char *path, const kafu_engine_opts *opts, kafu_module **out, kafu_err *err);
/* Free a module. All its instances must have been freed first. */
void kafu_module_free(kafu_module *m);

/* sha256 of the module bytes (32 bytes) and its lowercase hex form. */
const uint8_t *kafu_module_sha256(const kafu_module *m);
const char *kafu_module_sha256_hex(const kafu_module *m);
/* Path of the compiled artifact (cache entry), or "" when compiled into a temp dir. */
const char *kafu_module_artifact(const kafu_module *m);
/* true when this load compiled the module (cache miss), false on a cache hit. */
bool kafu_module_compiled(const kafu_module *m);
/* true when the module imports kafu.migration_point (a Snapified module). */
bool kafu_module_is_snapified(const kafu_module *m);

size_t kafu_module_export_count(const kafu_module *m);
const kafu_export *kafu_module_export_at(const kafu_module *m, size_t i);
/* NULL when there is no export of that name. */
const kafu_export *kafu_module_find_export(const kafu_module *m, const char *name);

/* ---- instances ---------------------------------------------------------------- */

typedef struct kafu_host {
  /* WASI context behind wasi_snapshot_preview1 imports; required when the
   * module imports any. The engine installs its proc_exit hook on it. Host
   * modules of kind KAFU_HOSTCTX_WASI (spectest, ...) get it too. */
  kafu_wasi *wasi;
  /* kafu.migration_point(fn_id, kind) import; NULL = no-op (kafu run). Called on
   * the thread running the instance, with the instance's wasm frames below it. */
  void (*migration_point)(void *ctx, kafu_instance *inst, uint32_t fn_id, uint32_t kind);
  void *ctx;
  /* Contexts of KAFU_HOSTCTX_BOUND host modules, by module name (kafu/hostmod.h);
   * instance creation fails when a module that needs one is imported without it. */
  const kafu_host_binding *bindings;
  size_t nbindings;
} kafu_host;

/* Create an instance: allocate memory (with guard pages), apply data/element
 * segments, run the wasm start function. May trap (KAFU_ETRAP). */
int kafu_instance_new(kafu_module *m, const kafu_host *host, kafu_instance **out, kafu_err *err);
void kafu_instance_free(kafu_instance *inst);
kafu_module *kafu_instance_module(const kafu_instance *inst);
/* Replace the host (e.g. a restored WASI context); not while executing. It
 * must provide every context kafu_instance_new required. */
void kafu_instance_set_host(kafu_instance *inst, const kafu_host *host);

/* Run the command entry point `_start`. out may be NULL. */
int kafu_instance_run_start(kafu_instance *inst, kafu_outcome *out, kafu_err *err);
/* Call an exported function; nargs/nresults must match its signature. */
int kafu_instance_call(kafu_instance *inst, const char *name, const uint64_t *args, size_t nargs,
                       uint64_t *results, size_t nresults, kafu_outcome *out, kafu_err *err);

/* The host given at creation or by kafu_instance_set_host (for host-module
 * handlers of kind KAFU_HOSTCTX_INSTANCE that need the WASI context or a binding). */
const kafu_host *kafu_instance_host(const kafu_instance *inst);

/* true while wasm code of inst is on the calling thread's stack. */
bool kafu_instance_executing(const kafu_instance *inst);
/* From inside a host callback of inst only: stop execution; the outermost call
 * returns KAFU_ETRAP with trap KAFU_TRAP_HOST and this message. Does not return. */
__attribute__((noreturn, format(printf, 2, 3))) void kafu_instance_abort(kafu_instance *inst, const char *fmt,
                                                                         ...);

/* ---- globals (exported) -------------------------------------------------------- */

int kafu_instance_global_get(kafu_instance *inst, const char *name, uint64_t *val, kafu_err *err);
/* Fails (KAFU_EINVAL) for immutable globals and type-less names. */
int kafu_instance_global_set(kafu_instance *inst, const char *name, uint64_t val, kafu_err *err);
/* By export index (kafu_module_export_at), for loops over kafu_global_*. */
int kafu_instance_global_get_at(kafu_instance *inst, size_t export_index, uint64_t *val, kafu_err *err);
int kafu_instance_global_set_at(kafu_instance *inst, size_t export_index, uint64_t val, kafu_err *err);

/* ---- linear memory (the exported memory "memory", else the first exported one) --- */

/* Base pointer and size in bytes; NULL/0 when the module exports no memory.
 * The base stays valid across growth with this backend, but callers should
 * re-read it after kafu_instance_memory_grow or any call into wasm. */
uint8_t *kafu_instance_memory(kafu_instance *inst, uint64_t *size);
uint32_t kafu_instance_memory_pages(kafu_instance *inst);
uint32_t kafu_instance_memory_max_pages(kafu_instance *inst);
/* Grow by delta 64 KiB pages (new pages are zero). *old_pages (may be NULL)
 * gets the previous page count. Fails past the memory's maximum. */
int kafu_instance_memory_grow(kafu_instance *inst, uint32_t delta_pages, uint32_t *old_pages, kafu_err *err);
/* Undo the host's own growth: back to `pages` (<= the current count), the pages
 * above decommitted (zero if grown again). Wasm memory never shrinks, so this
 * is only for a grow the host made while no wasm code ran since, e.g. for a
 * snapshot that was then refused (the program never saw the larger size).
 * Fails while wasm of inst is executing. */
int kafu_instance_memory_shrink(kafu_instance *inst, uint32_t pages, kafu_err *err);

/* ---- Asyncify control (exports added by Snapify; docs/abi.md) ------------------- */

/* Safe to call from inside the migration_point hook (direct calls, see top).
 * Return 0, KAFU_EUNSUP when the module is not Asyncified, or KAFU_ETRAP/EEXIT
 * when called from outside wasm and the call traps. */
bool kafu_instance_has_asyncify(const kafu_instance *inst);
int kafu_instance_asyncify_start_unwind(kafu_instance *inst, uint32_t data_addr);
int kafu_instance_asyncify_stop_unwind(kafu_instance *inst);
int kafu_instance_asyncify_start_rewind(kafu_instance *inst, uint32_t data_addr);
int kafu_instance_asyncify_stop_rewind(kafu_instance *inst);
/* 0 normal, 1 unwinding, 2 rewinding; KAFU_EUNSUP when not Asyncified. */
int kafu_instance_asyncify_state(kafu_instance *inst);

/* ---- value encoding helpers ----------------------------------------------------- */

static inline uint64_t kafu_val_i32(int32_t v) { return (uint64_t)(uint32_t)v; }
static inline uint64_t kafu_val_i64(int64_t v) { return (uint64_t)v; }
static inline uint64_t kafu_val_f32(float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  return u;
}
static inline uint64_t kafu_val_f64(double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  return u;
}
static inline float kafu_val_as_f32(uint64_t v) {
  uint32_t u = (uint32_t)v;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline double kafu_val_as_f64(uint64_t v) {
  double d;
  memcpy(&d, &v, 8);
  return d;
}

/* ---- architectures and precompiled artifacts (docs/heterogeneous.md) ----------------- */

/* The architecture this kafu runs on ("x86_64", "aarch64") and its GNU triple. */
const char *kafu_engine_arch(void);
const char *kafu_engine_triple(void);
/* The architecture a --target name means ("aarch64-linux-gnu", "aarch64", "arm64",
 * "x86_64", "amd64", ...), NULL when unsupported. */
const char *kafu_engine_target_arch(const char *name);
/* `kafu aot --target`: build the module's native code for another architecture
 * into the cache (opts) with that target's C compiler ($KAFU_CC when it builds
 * for the target, else <triple>-gcc). Nothing is loaded. path gets the artifact;
 * *compiled (may be NULL) whether it was built now (false: already cached). */
int kafu_engine_compile_for(const uint8_t *wasm, size_t len, const char *target, const kafu_engine_opts *opts,
                            char *path, size_t cap, bool *compiled, kafu_err *err);
/* A verified artifact of module sha_hex for arch from the cache or
 * opts->artifact_dir, to hand to a peer: *data (malloc'd), *len, its file name.
 * KAFU_ENOENT when there is none. */
int kafu_engine_artifact_get(const kafu_engine_opts *opts, const char *sha_hex, const char *arch,
                             uint8_t **data, size_t *len, char *name, size_t ncap, kafu_err *err);
/* Store an artifact received from a peer into the cache after checking it is
 * one of ours for this architecture (name, trailer, ELF machine); the next
 * kafu_module_load uses it (and checks its descriptor names the module). */
int kafu_engine_artifact_put(const kafu_engine_opts *opts, const char *sha_hex, const char *name,
                             const uint8_t *data, size_t len, kafu_err *err);
/* The C compiler the engine would use for target (NULL = this machine): 0 and
 * its path in detail, or < 0 and why there is none. */
int kafu_engine_toolchain_check(const char *target, char *detail, size_t cap);

/* ---- what this host gives the engine (docs/heterogeneous.md, "Emulation") ------------- */

/* Memory bounds and stack exhaustion are caught as faults on guard pages; true
 * when a probe fault reached its handler on the alternate stack with the right
 * address (done once). detail: what was found. kafu_module_load refuses to run
 * code when this is false. */
bool kafu_engine_guard_pages_ok(const char **detail);
/* "qemu-aarch64 user-mode emulation" when kafu runs emulated, else "". */
void kafu_engine_emulator(char *out, size_t cap);

/* ---- cache ---------------------------------------------------------------------- */

/* Resolve the cache directory (opts->cache_dir, $KAFU_CACHE_DIR, $XDG_CACHE_HOME/kafu,
 * ~/.cache/kafu) into buf. Returns 0 or negative + err. */
int kafu_engine_cache_dir(const kafu_engine_opts *opts, char *buf, size_t cap, kafu_err *err);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_ENGINE_H */
