/*
 * engine_internal.h — private structures of the engine (src/engine only).
 *
 *   wasm_info.c   the facts the engine needs about a module (types, imports,
 *                 exports, globals, function names), from the wasm reader
 *   aot_glue.c    generates the glue C file that gives every wasm2c module the
 *                 same C interface (kafu_aot_module, below)
 *   aot_cache.c   toolchain identity, cache key, compile, verify, dlopen
 *   aot_split.c   splits large wasm2c output for parallel compilation
 *   aot_rt.c      what generated code calls (wasm-rt functions via kafu_aot_rt):
 *                 traps, guarded linear memory, signal handler, exec frames
 *   symbolize.c   trap PC -> wasm function name (ELF .symtab of the artifact)
 *   engine.c      the public API of engine.h
 */
#ifndef KAFU_ENGINE_INTERNAL_H
#define KAFU_ENGINE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wasm-rt.h>

#include "kafu/engine.h"
#include "kafu/hostmod.h"
#include "kafu/util.h"

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
/* total number of functions (imported + defined) */
static inline uint32_t wi_nfuncs_total(const wasm_info *wi) { return wi->nfunc_imports + wi->nfuncs; }

/* ---- engine <-> generated code ABI ------------------------------------------ */

#define KAFU_AOT_ABI 2
#define KAFU_AOT_SYMBOL "kafu_aot_module_v2"

/* Trap codes the generated code reports besides wasm_rt_trap_t's own (1..8). */
#define KAFU_AOT_TRAP_CI_TYPE 100
#define KAFU_AOT_TRAP_CI_NULL 101
#define KAFU_AOT_TRAP_RESOURCE 102

#define KAFU_STR_(...) #__VA_ARGS__
#define KAFU_STR(...) KAFU_STR_(__VA_ARGS__)

/* One definition, compiled into kafu AND written (stringified) into every glue
 * file, so the two sides cannot disagree. */
#define KAFU_AOT_ABI_DEFS                                                                \
  typedef struct kafu_aot_rt {                                                           \
    uint32_t abi;                                                                        \
    /* handler of a host function (kafu_hostfn.fn); NULL when unknown */                 \
    const void *(*host_fn)(const char *module, const char *name);                        \
    void (*trap)(uint32_t code, void *pc) __attribute__((noreturn));                     \
    void (*alloc_memory)(wasm_rt_memory_t * m, uint32_t initial, uint32_t max);          \
    uint32_t (*grow_memory)(wasm_rt_memory_t * m, uint32_t delta);                       \
    void (*free_memory)(wasm_rt_memory_t * m);                                           \
    void (*proc_exit_returned)(void *owner, uint32_t code) __attribute__((noreturn));    \
  } kafu_aot_rt;                                                                         \
  typedef void (*kafu_aot_invoke_fn)(void *gi, const uint64_t *args, uint64_t *results); \
  typedef void *(*kafu_aot_global_fn)(void *gi);                                         \
  typedef struct kafu_aot_export {                                                       \
    const char *name;                                                                    \
    uint32_t kind;                                                                       \
    void *fn;                                                                            \
  } kafu_aot_export;                                                                     \
  typedef struct kafu_aot_module {                                                       \
    char magic[8];                                                                       \
    uint32_t abi;                                                                        \
    char key[65];                                                                        \
    char module_sha256[65];                                                              \
    uint32_t sizeof_memory, sizeof_funcref_table, offsetof_memory_size;                  \
    size_t instance_size; /* glue instance: starts with void *owner, void **hctx */      \
    /* 0, or 1 + the index of an import whose handler host_fn did not give */            \
    uint32_t (*init)(const kafu_aot_rt *rt);                                             \
    /* hctx[k]: context of the k-th import module (wi_import.mod), read per call */      \
    void (*instantiate)(void *gi, void *owner, void *const *hctx);                       \
    void (*free_instance)(void *gi);                                                     \
    wasm_rt_memory_t *(*memory)(void *gi);                                               \
    uint32_t nexports;                                                                   \
    const kafu_aot_export *exports;                                                      \
  } kafu_aot_module;

KAFU_AOT_ABI_DEFS

/* ---- glue generator ------------------------------------------------------------ */

/* The host module behind an import module name: the engine's own "kafu"
 * (migration_point) or one of the registry (kafu/hostmod.h); NULL if none. */
const kafu_hostmod *kafu_engine_hostmod(const char *module);

/* Write the glue C file that #includes the wasm2c output "module.c" (module name
 * "app"). key/sha are the cache key and module sha256 (hex) to embed. Every
 * function import must have passed the engine's import check. */
int kafu_aot_write_glue(const wasm_info *wi, const char *key, const char *sha_hex, kafu_buf *out,
                        kafu_err *err);
/* The prelude of a worker part of a split module (aot_split.c). */
void kafu_aot_write_worker_prelude(kafu_buf *b);
/* Split dir/module.c into `jobs` translation units (module.c + part1.c ...).
 * Returns the number of units written (1 = left as one file), or < 0 + err. */
int kafu_aot_split(const char *dir, int jobs, const char *worker_prelude, kafu_err *err);
/* Hash of everything the glue generator emits that is not module-specific
 * (part of the cache key). */
const char *kafu_aot_glue_version(void);
/* wasm2c's name legalisation (non [A-Za-z0-9_] -> '_'), for symbol lookup. */
void kafu_aot_legalize(const char *in, char *out, size_t cap);
/* wasm2c's export/import name mangling (Z_appZ_<this>) */
void kafu_aot_mangle(const char *in, char *out, size_t cap);

/* ---- cache / compile ------------------------------------------------------------- */

typedef struct aot_artifact {
  char path[PATH_MAX]; /* the .so that was dlopen'ed */
  bool in_cache;       /* false: private temp dir (delete at module free) */
  bool compiled;       /* this load compiled it */
  void *dl;
  const kafu_aot_module *mod;
} aot_artifact;

int kafu_aot_obtain(const uint8_t *wasm, size_t len, const char *sha_hex, const wasm_info *wi,
                    const kafu_engine_opts *opts, const char *display_name, aot_artifact *out, kafu_err *err);
void kafu_aot_release(aot_artifact *a);
/* Run argv (argv[0] a path) with stdout+stderr captured into *out (NUL-terminated);
 * returns the exit status or -1 when it could not run. */
int kafu_engine_capture(char *const argv[], kafu_buf *out);

/* ---- runtime -------------------------------------------------------------------- */

#define KAFU_BT_MAX 48
#define KAFU_MAX_MEMORIES 4

typedef struct kafu_exec {
  sigjmp_buf jb;
  struct kafu_exec *prev;
  kafu_instance *inst;
  volatile int kind;  /* 0 none, 1 trap, 2 exit */
  uint32_t trap_code; /* wasm_rt_trap_t or KAFU_AOT_TRAP_* */
  uint32_t exit_code;
  void *pc; /* precise faulting PC (signals) or NULL */
  void *bt[KAFU_BT_MAX];
  int nbt;
  char msg[512]; /* KAFU_TRAP_HOST / RESOURCE detail */
} kafu_exec;

typedef struct mem_reservation {
  uint8_t *base;
  size_t len;
} mem_reservation;

struct kafu_instance {
  kafu_module *m;
  kafu_host host;
  void *gi;              /* glue instance (kafu_aot_module.instance_size bytes) */
  wasm_rt_memory_t *mem; /* exported memory or NULL */
  mem_reservation res[KAFU_MAX_MEMORIES];
  int nres;
  void **hctx; /* per import module (wi_import.mod): its handlers' context */
  /* export indices, -1 when absent */
  int ex_start, ex_unwind_start, ex_unwind_stop, ex_rewind_start, ex_rewind_stop, ex_state;
  int ex_buf_size;
};

typedef struct sym_entry {
  uintptr_t start, end; /* offsets in the artifact */
  int32_t func;         /* wasm function index, -1 for non-wasm code */
} sym_entry;

struct kafu_module {
  uint8_t sha[KAFU_SHA256_LEN];
  char sha_hex[2 * KAFU_SHA256_LEN + 1];
  char name[256];
  bool snapified;
  wasm_info wi;
  aot_artifact art;
  size_t nexports;
  kafu_export *exports;
  int memory_export;             /* index into exports or -1 */
  const kafu_hostmod **hostmods; /* per import module (wi_import.mod) */
  /* symbolization, loaded on the first trap */
  pthread_mutex_t sym_mu;
  bool sym_loaded;
  sym_entry *syms;
  size_t nsyms;
  uintptr_t load_base;
};

/* The table handed to generated code at init. */
const kafu_aot_rt *kafu_aot_rt_get(void);
/* proc_exit hook installed on every instance's WASI context: leaves wasm. */
void kafu_rt_exit_hook(void *ctx, uint32_t code);

/* Install the fault handler (once) and an alternate signal stack on this thread. */
void kafu_rt_prepare_thread(void);
extern __thread kafu_exec *kafu_rt_current;

/* Run fn(arg) as wasm execution of inst: set up a trap frame unless wasm of inst
 * is already running on this thread (then call directly). Fills out/err. */
int kafu_rt_exec(kafu_instance *inst, void (*fn)(void *arg), void *arg, const char *what, kafu_outcome *out,
                 kafu_err *err);

/* Symbolize a trap frame into out->function / out->backtrace. */
void kafu_symbolize(kafu_module *m, const kafu_exec *ex, kafu_outcome *out);
void kafu_symbols_free(kafu_module *m);
/* Display name of a wasm function index ("main", or "function #12"). */
void kafu_function_display_name(const kafu_module *m, int32_t func, char *out, size_t cap);

#endif
