/*
 * snapify_harness.c — TEST-ONLY host that proves Snapified modules really
 * checkpoint and restore (tests/shell/snapify_*.sh). Not part of kafu.
 *
 *   snapify_harness [--no-migrate] [--keep DIR] MODULE.wasm [ARGS...]
 *
 * It translates MODULE with wasm2c (-n app), writes a tiny per-module glue
 * file (instance size, exports, the kafu_global_<N> list read with our wasm
 * reader), compiles both with gcc -O1 into a shared object and dlopens it;
 * the WASI imports, kafu.migration_point and the wasm2c runtime
 * (wasm-rt-impl.c) live in this executable (linked with -rdynamic).
 *
 * At EVERY migration point it checkpoints and restores into a FRESH
 * instance, exactly as a node would: start an Asyncify unwind, let _start
 * return, stop the unwind, copy linear memory and every exported mutable
 * global (kafu_global_<N>, kafu_asyncify_buf_addr) into a new instance, free
 * the old one, start a rewind and call _start again; the import sees the
 * rewinding state, stops it and returns. The program's stdout/exit code must
 * equal an uninterrupted run; stderr gets
 *   "snapify_harness: migration points N, migrations M"
 * An Asyncify buffer overflow ends the run with the error the ABI prescribes.
 *
 * Minimal WASI: args, environ, clocks, random, fd_write/read on stdio,
 * fd_close/seek/fdstat_get, prestat (none), proc_exit, sched_yield.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kafu/wasm.h"
#include "wasm-rt-impl.h"

/* ---- the loaded module (glue.c, generated below) ------------------------------ */

typedef struct {
  void (*init)(void);
  void *(*new_instance)(void);
  void (*free_instance)(void *);
  void (*start)(void *);
  wasm_rt_memory_t *(*memory)(void *);
  void (*start_unwind)(void *, uint32_t);
  void (*stop_unwind)(void *);
  void (*start_rewind)(void *, uint32_t);
  void (*stop_rewind)(void *);
  uint32_t (*get_state)(void *);
  void *(*global)(void *, uint32_t k, uint32_t *size); /* k-th exported mutable global */
  uint32_t *nglobals;
  int *snapified;
} glue_api;

static struct {
  glue_api g;
  void *inst;
  bool migrate;
  int argc;
  char **argv;
  uint64_t points, migrations;
  bool pending;   /* an unwind was started */
  bool unwinding; /* between start_unwind and a successful stop_unwind */
  uint32_t buf_addr;
  bool exited;
  uint32_t exit_code;
  uint64_t rng;
} H;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "snapify_harness: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(125);
}

/* ---- guest memory helpers ------------------------------------------------------ */

static uint8_t *mem_at(uint64_t addr, uint64_t len) {
  wasm_rt_memory_t *m = H.g.memory(H.inst);
  if (addr + len > m->size) wasm_rt_trap(WASM_RT_TRAP_OOB);
  return m->data + addr;
}
static uint32_t ld32(uint32_t a) {
  uint32_t v;
  memcpy(&v, mem_at(a, 4), 4);
  return v;
}
static void st32(uint32_t a, uint32_t v) { memcpy(mem_at(a, 4), &v, 4); }
static void st64(uint32_t a, uint64_t v) { memcpy(mem_at(a, 8), &v, 8); }

/* ---- WASI (preview1) subset ------------------------------------------------------ */

#define W(name) Z_wasi_snapshot_preview1Z_##name
enum { WASI_EBADF = 8, WASI_EINVAL = 28, WASI_ENOSYS = 52, WASI_ESPIPE = 70 };

uint32_t W(fd_write)(void *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t nwritten) {
  if (fd != 1 && fd != 2) return WASI_EBADF;
  uint32_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t p = ld32(iovs + 8 * i), l = ld32(iovs + 8 * i + 4);
    const uint8_t *src = mem_at(p, l);
    size_t off = 0;
    while (off < l) {
      ssize_t k = write((int)fd, src + off, l - off);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) return 29; /* EIO */
      off += (size_t)k;
    }
    total += l;
  }
  st32(nwritten, total);
  return 0;
}

uint32_t W(fd_read)(void *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t nread) {
  if (fd != 0) return WASI_EBADF;
  uint32_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t p = ld32(iovs + 8 * i), l = ld32(iovs + 8 * i + 4);
    ssize_t k = read(0, mem_at(p, l), l);
    if (k < 0) return 29;
    total += (uint32_t)k;
    if ((uint32_t)k < l) break;
  }
  st32(nread, total);
  return 0;
}

uint32_t W(fd_close)(void *ctx, uint32_t fd) { return fd <= 2 ? 0 : WASI_EBADF; }
uint32_t W(fd_seek)(void *ctx, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out) {
  return fd <= 2 ? WASI_ESPIPE : WASI_EBADF;
}
uint32_t W(fd_fdstat_get)(void *ctx, uint32_t fd, uint32_t buf) {
  if (fd > 2) return WASI_EBADF;
  memset(mem_at(buf, 24), 0, 24);
  *mem_at(buf, 1) = 2; /* character device */
  st64(buf + 8, ~0ull);
  st64(buf + 16, ~0ull);
  return 0;
}
uint32_t W(fd_fdstat_set_flags)(void *ctx, uint32_t fd, uint32_t flags) { return fd <= 2 ? 0 : WASI_EBADF; }
uint32_t W(fd_prestat_get)(void *ctx, uint32_t fd, uint32_t buf) { return WASI_EBADF; }
uint32_t W(fd_prestat_dir_name)(void *ctx, uint32_t fd, uint32_t p, uint32_t l) { return WASI_EBADF; }

uint32_t W(args_sizes_get)(void *ctx, uint32_t argc_p, uint32_t size_p) {
  uint32_t sz = 0;
  for (int i = 0; i < H.argc; i++) sz += (uint32_t)strlen(H.argv[i]) + 1;
  st32(argc_p, (uint32_t)H.argc);
  st32(size_p, sz);
  return 0;
}
uint32_t W(args_get)(void *ctx, uint32_t argv_p, uint32_t buf_p) {
  for (int i = 0; i < H.argc; i++) {
    size_t l = strlen(H.argv[i]) + 1;
    memcpy(mem_at(buf_p, l), H.argv[i], l);
    st32(argv_p + 4 * (uint32_t)i, buf_p);
    buf_p += (uint32_t)l;
  }
  return 0;
}
uint32_t W(environ_sizes_get)(void *ctx, uint32_t n_p, uint32_t size_p) {
  st32(n_p, 0);
  st32(size_p, 0);
  return 0;
}
uint32_t W(environ_get)(void *ctx, uint32_t a, uint32_t b) { return 0; }
uint32_t W(clock_time_get)(void *ctx, uint32_t id, uint64_t prec, uint32_t out) {
  struct timespec ts;
  clock_gettime(id == 0 ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts);
  st64(out, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
  return 0;
}
uint32_t W(clock_res_get)(void *ctx, uint32_t id, uint32_t out) {
  st64(out, 1);
  return 0;
}
uint32_t W(random_get)(void *ctx, uint32_t buf, uint32_t len) {
  uint8_t *p = mem_at(buf, len);
  for (uint32_t i = 0; i < len; i++) {
    H.rng = H.rng * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = (uint8_t)(H.rng >> 56);
  }
  return 0;
}
uint32_t W(sched_yield)(void *ctx) { return 0; }
uint32_t W(poll_oneoff)(void *ctx, uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return WASI_ENOSYS; }
void W(proc_exit)(void *ctx, uint32_t code) {
  H.exited = true;
  H.exit_code = code;
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE); /* leaves the guest; main() sees H.exited */
}

/* ---- the migration point --------------------------------------------------------- */

void Z_kafuZ_migration_point(void *ctx, uint32_t fn_id, uint32_t kind) {
  if (H.g.get_state(H.inst) == 2) { /* resumed here after a restore */
    H.g.stop_rewind(H.inst);
    return;
  }
  H.points++;
  if (!H.migrate) return;
  uint32_t *addr_g = H.g.global(H.inst, UINT32_MAX - 1, NULL);
  uint32_t *size_g = H.g.global(H.inst, UINT32_MAX - 2, NULL);
  uint32_t size = *size_g;
  if (*addr_g == 0) { /* no reserved region: grow memory and keep the address in the global */
    wasm_rt_memory_t *m = H.g.memory(H.inst);
    uint32_t pages = (size + 65535) / 65536;
    uint32_t old = wasm_rt_grow_memory(m, pages);
    if (old == (uint32_t)-1) die("cannot grow memory by %u pages for the Asyncify buffer", pages);
    *addr_g = old * 65536;
  }
  H.buf_addr = *addr_g;
  st32(H.buf_addr, H.buf_addr + 8);
  st32(H.buf_addr + 4, H.buf_addr + size);
  H.unwinding = true;
  H.pending = true;
  H.g.start_unwind(H.inst, H.buf_addr);
}

/* ---- build the module -------------------------------------------------------------- */

static void run_cmd(char *const argv[]) {
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    execvp(argv[0], argv);
    fprintf(stderr, "snapify_harness: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("%s failed", argv[0]);
}

static void write_glue(const char *path, const kafu_wasm_module *m) {
  FILE *f = fopen(path, "w");
  if (!f) die("%s: %s", path, strerror(errno));
  /* number of distinct import modules = wasm2c instantiate arguments */
  uint32_t nmods = 0;
  for (uint32_t i = 0; i < m->nimports; i++) {
    bool seen = false;
    for (uint32_t k = 0; k < i; k++) seen |= !strcmp(m->imports[k].module, m->imports[i].module);
    nmods += !seen;
  }
  bool snap = kafu_wasm_find_export(m, "asyncify_start_unwind", KAFU_WASM_EXT_FUNC) != NULL;
  fprintf(f, "#include <stdlib.h>\n#include \"app.h\"\n");
  fprintf(f, "void kh_init(void) { Z_app_init_module(); }\n");
  fprintf(f, "void *kh_new(void) { Z_app_instance_t *i = calloc(1, sizeof *i); Z_app_instantiate(i");
  for (uint32_t i = 0; i < nmods; i++) fprintf(f, ", NULL");
  fprintf(f, "); return i; }\n");
  fprintf(f, "void kh_free(void *i) { Z_app_free(i); free(i); }\n");
  fprintf(f, "void kh_start(void *i) { Z_appZ__start(i); }\n");
  fprintf(f, "wasm_rt_memory_t *kh_memory(void *i) { return Z_appZ_memory(i); }\n");
  fprintf(f, "int kh_snapified = %d;\n", snap);
  if (snap) {
    fprintf(f,
            "void kh_start_unwind(void *i, u32 a) { Z_appZ_asyncify_start_unwind(i, a); }\n"
            "void kh_stop_unwind(void *i) { Z_appZ_asyncify_stop_unwind(i); }\n"
            "void kh_start_rewind(void *i, u32 a) { Z_appZ_asyncify_start_rewind(i, a); }\n"
            "void kh_stop_rewind(void *i) { Z_appZ_asyncify_stop_rewind(i); }\n"
            "u32 kh_get_state(void *i) { return Z_appZ_asyncify_get_state(i); }\n");
  } else {
    fprintf(f,
            "void kh_start_unwind(void *i, u32 a) { abort(); }\nvoid kh_stop_unwind(void *i) { abort(); }\n"
            "void kh_start_rewind(void *i, u32 a) { abort(); }\nvoid kh_stop_rewind(void *i) { abort(); }\n"
            "u32 kh_get_state(void *i) { return 0; }\n");
  }
  /* exported mutable globals (kafu_global_<N>), then the buffer address/size */
  uint32_t n = 0;
  fprintf(f, "void *kh_global(void *i, u32 k, u32 *size) {\n  switch (k) {\n");
  for (uint32_t e = 0; e < m->nexports; e++) {
    const kafu_wasm_export *x = &m->exports[e];
    if (x->kind != KAFU_WASM_EXT_GLOBAL || strncmp(x->name, "kafu_global_", 12)) continue;
    uint8_t vt = m->globals[x->index].valtype;
    unsigned sz = vt == KAFU_WASM_I64 || vt == KAFU_WASM_F64 ? 8 : vt == KAFU_WASM_V128 ? 16 : 4;
    fprintf(f, "    case %u: if (size) *size = %u; return Z_appZ_%s(i);\n", n++, sz, x->name);
  }
  if (snap)
    fprintf(f,
            "    case 0xfffffffe: if (size) *size = 4; return Z_appZ_kafu_asyncify_buf_addr(i);\n"
            "    case 0xfffffffd: if (size) *size = 4; return Z_appZ_kafu_asyncify_buf_size(i);\n");
  fprintf(f, "  }\n  return NULL;\n}\nu32 kh_nglobals = %u;\n", n);
  fclose(f);
}

static void *sym(void *so, const char *name) {
  void *p = dlsym(so, name);
  if (!p) die("glue symbol %s missing: %s", name, dlerror());
  return p;
}

static void load_module(const char *wasm, const char *dir) {
  uint8_t *bytes;
  size_t len;
  kafu_err err;
  if (kafu_read_file(wasm, &bytes, &len, &err) < 0) die("%s", err.msg);
  kafu_wasm_module m;
  if (kafu_wasm_parse(bytes, len, &m, &err) < 0) die("%s: %s", wasm, err.msg);
  char app_c[4096], glue_c[4096], so[4096];
  snprintf(app_c, sizeof app_c, "%s/app.c", dir);
  snprintf(glue_c, sizeof glue_c, "%s/glue.c", dir);
  snprintf(so, sizeof so, "%s/app.so", dir);
  write_glue(glue_c, &m);
  kafu_wasm_module_free(&m);
  free(bytes);
  char *w2c[] = {"wasm2c", "-n", "app", (char *)wasm, "-o", app_c, NULL};
  run_cmd(w2c);
  char inc[4096];
  snprintf(inc, sizeof inc, "-I%s", dir);
  char *cc[] = {"gcc", "-O1", "-shared", "-fPIC", "-w", inc, app_c, glue_c, "-o", so, NULL};
  run_cmd(cc);
  void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (!h) die("dlopen: %s (does the module import a WASI function this harness lacks?)", dlerror());
  H.g.init = sym(h, "kh_init");
  H.g.new_instance = sym(h, "kh_new");
  H.g.free_instance = sym(h, "kh_free");
  H.g.start = sym(h, "kh_start");
  H.g.memory = sym(h, "kh_memory");
  H.g.start_unwind = sym(h, "kh_start_unwind");
  H.g.stop_unwind = sym(h, "kh_stop_unwind");
  H.g.start_rewind = sym(h, "kh_start_rewind");
  H.g.stop_rewind = sym(h, "kh_stop_rewind");
  H.g.get_state = sym(h, "kh_get_state");
  H.g.global = sym(h, "kh_global");
  H.g.nglobals = sym(h, "kh_nglobals");
  H.g.snapified = sym(h, "kh_snapified");
}

/* ---- checkpoint / restore ------------------------------------------------------------ */

static void copy_state(void *from, void *to) {
  wasm_rt_memory_t *a = H.g.memory(from), *b = H.g.memory(to);
  if (b->pages < a->pages && wasm_rt_grow_memory(b, a->pages - b->pages) == (uint32_t)-1)
    die("restore: cannot grow the fresh instance's memory to %u pages", a->pages);
  memcpy(b->data, a->data, a->size);
  for (uint32_t k = 0; k < *H.g.nglobals; k++) {
    uint32_t sz;
    void *src = H.g.global(from, k, &sz), *dst = H.g.global(to, k, NULL);
    memcpy(dst, src, sz);
  }
  memcpy(H.g.global(to, UINT32_MAX - 1, NULL), H.g.global(from, UINT32_MAX - 1, NULL), 4);
}

static void overflow(void) {
  uint32_t cur = 0, size = *(uint32_t *)H.g.global(H.inst, UINT32_MAX - 2, NULL);
  wasm_rt_memory_t *m = H.g.memory(H.inst);
  if ((uint64_t)H.buf_addr + 8 <= m->size) memcpy(&cur, m->data + H.buf_addr, 4);
  fprintf(stderr,
          "snapify_harness: error: Asyncify buffer overflow (%u bytes needed, %u available): rebuild with "
          "--kafu-stack-size=BYTES\n",
          cur > H.buf_addr ? cur - H.buf_addr : 0, size);
  fprintf(stderr, "snapify_harness: migration points %" PRIu64 ", migrations %" PRIu64 "\n", H.points,
          H.migrations);
  exit(70);
}

int main(int argc, char **argv) {
  const char *keep = NULL;
  int i = 1;
  H.migrate = true;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--no-migrate"))
      H.migrate = false;
    else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
      keep = argv[++i];
    else
      die("usage: snapify_harness [--no-migrate] [--keep DIR] MODULE.wasm [ARGS...]");
  }
  if (i >= argc) die("usage: snapify_harness [--no-migrate] [--keep DIR] MODULE.wasm [ARGS...]");
  const char *wasm = argv[i];
  H.argc = argc - i;
  H.argv = argv + i;
  char tmpl[] = "/tmp/snapify-harness-XXXXXX";
  const char *dir = keep;
  if (!dir && !(dir = mkdtemp(tmpl))) die("mkdtemp: %s", strerror(errno));
  load_module(wasm, dir);
  if (!keep) {
    char *rm[] = {"rm", "-rf", (char *)dir, NULL};
    run_cmd(rm);
  }
  if (!*H.g.snapified) H.migrate = false;

  wasm_rt_init();
  H.g.init();
  H.inst = H.g.new_instance();
  for (;;) {
    int trap = wasm_rt_impl_try();
    if (trap == 0) {
      H.g.start(H.inst);
    } else if (H.exited) {
      break;
    } else if (H.unwinding) {
      overflow(); /* the unwind ran past the buffer (out-of-bounds or unreachable) */
    } else {
      fflush(stdout);
      fprintf(stderr, "snapify_harness: trap: %s\n", wasm_rt_strerror((wasm_rt_trap_t)trap));
      fprintf(stderr, "snapify_harness: migration points %" PRIu64 ", migrations %" PRIu64 "\n", H.points,
              H.migrations);
      return 134;
    }
    if (!H.pending) break; /* _start returned normally */
    /* _start returned because of an unwind: checkpoint -> fresh instance -> rewind */
    H.pending = false;
    if (wasm_rt_impl_try() != 0) overflow(); /* stop_unwind traps when the buffer overflowed */
    H.g.stop_unwind(H.inst);
    H.unwinding = false;
    void *fresh = H.g.new_instance();
    copy_state(H.inst, fresh);
    H.g.free_instance(H.inst);
    H.inst = fresh;
    H.migrations++;
    H.g.start_rewind(H.inst, H.buf_addr);
  }
  fflush(stdout);
  fprintf(stderr, "snapify_harness: migration points %" PRIu64 ", migrations %" PRIu64 "\n", H.points,
          H.migrations);
  return H.exited ? (int)H.exit_code : 0;
}
