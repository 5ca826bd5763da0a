/*
 * aot_internal.h — the wasm2c AOT backend's internals (src/engine only): the
 * ABI between the engine and generated code, the glue generator, the artifact
 * cache and build, the runtime that generated code calls, and symbolization.
 * The backend-neutral part of the engine is engine_internal.h.
 */
#ifndef KAFU_AOT_INTERNAL_H
#define KAFU_AOT_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <wasm-rt.h>

#include "engine_internal.h"

/* snprintf whose truncation is intended (paths are bounded by PATH_MAX anyway) */
static inline __attribute__((format(printf, 3, 4))) void sfmt(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, cap, fmt, ap);
  va_end(ap);
}

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

/* ---- targets (aot_target.c) ------------------------------------------------------ */

/* An architecture native code is built for (docs/heterogeneous.md). */
typedef struct kafu_aot_target {
  const char *arch;     /* "x86_64", "aarch64": the artifact file name prefix */
  const char *triple;   /* GNU triple: cross compiler prefix ("aarch64-linux-gnu-gcc") */
  unsigned elf_machine; /* e_machine of its shared objects */
  const char *display;  /* for messages: "x86-64", "aarch64" */
  const char *aliases[3];
} kafu_aot_target;

const kafu_aot_target *kafu_aot_host_target(void);
/* by arch, triple ("aarch64-linux-gnu", "aarch64-unknown-linux-gnu") or alias ("arm64"); NULL if unknown */
const kafu_aot_target *kafu_aot_target_find(const char *name);
const kafu_aot_target *kafu_aot_target_of_machine(unsigned machine);
int kafu_aot_target_index(const kafu_aot_target *t);

/* Every artifact ends with a trailer: u64 xxh3 of the bytes before it, u64
 * their length, the magic. ELF loaders ignore trailing bytes. */
#define KAFU_AOT_TRAILER_MAGIC "KAFUSO01"
#define KAFU_AOT_TRAILER_LEN 24
/* Artifact bytes: trailer, then an ELF64 LE shared object for `want`. 0, or -1
 * with the reason ("built for x86-64, not for aarch64", "checksum mismatch"). */
int kafu_aot_verify_bytes(const uint8_t *d, size_t len, const kafu_aot_target *want, char *why, size_t cap);
/* name is "<arch>-<glue16>-<tool16>.so" of target t and this engine's glue version */
bool kafu_aot_artifact_name_ok(const char *name, const kafu_aot_target *t);

/* ---- artifacts: cache (aot_cache.c) and build (aot_build.c) ---------------------- */

typedef struct aot_artifact {
  char path[PATH_MAX]; /* the .so that was dlopen'ed */
  bool in_cache;       /* false: private temp dir (delete at module free) */
  bool compiled;       /* this load compiled it */
  bool shipped;        /* from opts->artifact_dir (app.aot_dir) */
  void *dl;
  const kafu_aot_module *mod;
} aot_artifact;

/* Find the module's artifact in the cache, or build it (one builder per entry
 * at a time) and store it; dlopen it and check its descriptor. */
int kafu_aot_obtain(const uint8_t *wasm, size_t len, const char *sha_hex, const wasm_info *wi,
                    const kafu_engine_opts *opts, const char *display_name, aot_artifact *out, kafu_err *err);
/* The same for another architecture (`kafu aot --target`): the artifact lands
 * in the cache and is checked, not loaded; out->path names it. */
int kafu_aot_obtain_for(const uint8_t *wasm, size_t len, const char *sha_hex, const wasm_info *wi,
                        const kafu_engine_opts *opts, const char *display_name, const kafu_aot_target *t,
                        aot_artifact *out, kafu_err *err);
/* The precompiled-code loader (kafu_aot_prebuilt_backend): code for this
 * machine from opts->artifact_dir (app.aot_dir), else any toolchain's cache
 * entry; never compiles. KAFU_ENOCODE when there is none usable, naming each
 * refused file and why. */
int kafu_aot_load_prebuilt(const char *sha_hex, const kafu_engine_opts *opts, const char *display_name,
                           aot_artifact *out, kafu_err *err);
/* Should the precompiled-code loader run this module: there is code for it in
 * opts->artifact_dir, or this node cannot compile (and force_compile is off). */
bool kafu_aot_prebuilt_wanted(const char *sha_hex, const kafu_engine_opts *opts);
void kafu_aot_release(aot_artifact *a);

/* The toolchain that builds code for one target, found once per process and
 * target (aot_build.c): $KAFU_CC, cc, gcc, clang or <triple>-gcc, the first
 * that builds for the target (`-dumpmachine`). */
typedef struct aot_toolchain {
  bool ok;
  const kafu_aot_target *target;
  char cc[PATH_MAX], wasm2c[PATH_MAX], rt_include[PATH_MAX];
  char cflags[512];
  char ident_hash[17]; /* first 16 hex digits of the toolchain identity's sha256: part of the cache key */
  kafu_err why;        /* when !ok: what is missing */
  /* when !ok because an explicit setting is wrong (KAFU_CC or KAFU_WASM2C not
   * found, KAFU_CC building for another machine): an error to report, not a
   * reason to look for code elsewhere (a peer) */
  bool misconfigured;
} aot_toolchain;
const aot_toolchain *kafu_aot_toolchain(const kafu_aot_target *t);
/* Compile the module with toolchain t into dir/out.so (wasm2c, the glue, the C
 * compiler, in parallel for large modules). key/sha_hex go into the glue's
 * descriptor. progress_mode: 0 off, 1 one line, 2 a bar (compiles > ~1 s). */
int kafu_aot_build(const aot_toolchain *t, const uint8_t *wasm, size_t len, const wasm_info *wi, const char *key,
                   const char *sha_hex, const char *dir, const char *name, int progress_mode, kafu_err *err);
/* Run argv (argv[0] a path) with stdout+stderr captured into *out (NUL-terminated);
 * returns the exit status or -1 when it could not run. */
int kafu_engine_capture(char *const argv[], kafu_buf *out);

/* ---- the backend's module and instance (aot_backend.c) -------------------------------- */

#define KAFU_BT_MAX 48
#define KAFU_MAX_MEMORIES 4

typedef struct sym_entry {
  uintptr_t start, end; /* offsets in the artifact */
  int32_t func;         /* wasm function index, -1 for non-wasm code */
} sym_entry;

typedef struct aot_module {
  aot_artifact art;
  /* symbolization, loaded on the first trap (symbolize.c) */
  pthread_mutex_t sym_mu;
  bool sym_loaded;
  sym_entry *syms;
  size_t nsyms;
  uintptr_t load_base;
  /* the artifact's executable segments, [code_lo, code_hi): a fault in linear
   * memory is a wasm trap only when its PC is in there (0, 0: unknown) */
  uintptr_t code_lo, code_hi;
} aot_module;

typedef struct mem_reservation {
  uint8_t *base;
  size_t len;
} mem_reservation;

typedef struct aot_instance {
  void *gi;              /* glue instance (kafu_aot_module.instance_size bytes) */
  wasm_rt_memory_t *mem; /* exported memory or NULL */
  mem_reservation res[KAFU_MAX_MEMORIES];
  int nres;
} aot_instance;

static inline aot_module *aot_mod(const kafu_module *m) { return (aot_module *)m->be_data; }
static inline aot_instance *aot_inst(const kafu_instance *inst) { return (aot_instance *)inst->be_data; }

/* ---- runtime (aot_rt.c) ------------------------------------------------------------ */

typedef struct kafu_exec {
  sigjmp_buf jb;
  struct kafu_exec *prev;
  kafu_instance *inst;
  volatile int kind;  /* 0 none, 1 trap, 2 exit */
  uint32_t trap_code; /* wasm_rt_trap_t or KAFU_AOT_TRAP_* */
  uint32_t exit_code;
  void *pc; /* precise faulting PC (signals) or NULL */
  uint64_t fault_off; /* out of bounds (signal): the offset into linear memory */
  bool fault_known;
  void *bt[KAFU_BT_MAX];
  int nbt;
  char msg[512]; /* KAFU_TRAP_HOST / RESOURCE detail */
} kafu_exec;

/* The table handed to generated code at init. */
const kafu_aot_rt *kafu_aot_rt_get(void);
/* proc_exit hook installed on every instance's WASI context: leaves wasm. */
void kafu_rt_exit_hook(void *ctx, uint32_t code);
/* Give back pages [pages, m->pages) of a memory (decommitted, zero when grown
 * again). Only the host's own undo of a grow it made while no wasm ran. */
int kafu_rt_shrink_memory(wasm_rt_memory_t *m, uint32_t pages);
/* Leave wasm of inst with a host trap carrying msg (kafu_instance_abort). */
__attribute__((noreturn)) void kafu_rt_abort(kafu_instance *inst, const char *msg);
/* true while wasm code of inst is on this thread's stack. */
bool kafu_rt_executing(const kafu_instance *inst);

/* Install the fault handler (once) and an alternate signal stack on this thread. */
void kafu_rt_prepare_thread(void);
extern __thread kafu_exec *kafu_rt_current;

/* Run fn(arg) as wasm execution of inst: set up a trap frame unless wasm of inst
 * is already running on this thread (then call directly). Fills out/err. */
int kafu_rt_exec(kafu_instance *inst, void (*fn)(void *arg), void *arg, const char *what, kafu_outcome *out,
                 kafu_err *err);

/* ---- symbolization (symbolize.c) ------------------------------------------------------ */

/* Symbolize a trap frame into out->function / out->backtrace. */
void kafu_symbolize(kafu_module *m, const kafu_exec *ex, kafu_outcome *out);
void kafu_symbols_free(kafu_module *m);
/* Display name of a wasm function index ("main", or "function #12"). */
void kafu_function_display_name(const kafu_module *m, int32_t func, char *out, size_t cap);

#endif
