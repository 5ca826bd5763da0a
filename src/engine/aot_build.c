/*
 * aot_build.c — building a module's artifact for the wasm2c AOT backend:
 * find the toolchain (C compiler, wasm2c, wasm-rt.h) once and hash its
 * identity for the cache key, translate with wasm2c, apply two small patches
 * to its output, write the glue, and compile (split into several translation
 * units compiled in parallel for large modules), with a progress line or bar
 * for compiles that take more than a second. Where the result is stored and
 * how it is found again is aot_cache.c's job.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aot_internal.h"

/* ---- processes -------------------------------------------------------------- */

/* Run argv with stdout+stderr captured into *out (NUL-terminated), stdin
 * from /dev/null. Returns the exit status, or -1 when it could not run. */
int kafu_engine_capture(char *const argv[], kafu_buf *out) {
  kafu_proc_opts o = {
      .in = {.kind = KAFU_IO_NULL}, .out = {.kind = KAFU_IO_CAPTURE}, .err = {.kind = KAFU_IO_STDOUT}};
  int rc = kafu_proc_run(argv, &o, out, NULL);
  kafu_buf_cstr(out);
  return rc < 0 ? -1 : rc;
}

typedef struct progress {
  const char *name;
  int mode;    /* 0 off, 1 line, 2 bar */
  uint64_t t0; /* ns */
  double est;  /* estimated seconds */
  bool shown;
  const char *what;
  double last; /* seconds at the last redraw */
} progress;

static void progress_tick(progress *p) {
  if (!p || !p->mode) return;
  double el = kafu_ms_since(p->t0) / 1000.0;
  if (el < 1.0) return;
  if (p->mode == 1) {
    if (!p->shown)
      fprintf(stderr, "kafu: %s %s to native code (one-time, ~%.0f s) ...\n", p->what, p->name,
              p->est < 1 ? 1 : p->est);
    p->shown = true;
    return;
  }
  if (p->shown && el - p->last < 0.2) return; /* redraw 5 times a second */
  p->last = el;
  double f = el / (p->est > 0.1 ? p->est : 0.1);
  if (f > 0.97) f = 0.97;
  int w = 30, k = (int)(f * w);
  char bar[64];
  for (int i = 0; i < w; i++) bar[i] = i < k ? '#' : '.';
  bar[w] = 0;
  fprintf(stderr, "\r\033[Kkafu: %s %s [%s] %3d%% %.1fs", p->what, p->name, bar, (int)(f * 100), el);
  p->shown = true;
}

static void progress_done(progress *p, bool ok) {
  if (!p || !p->shown) return;
  double el = kafu_ms_since(p->t0) / 1000.0;
  if (p->mode == 2) fprintf(stderr, "\r\033[K");
  if (ok) fprintf(stderr, "kafu: compiled %s in %.1f s (cached for next time)\n", p->name, el);
}

/* Run n commands at once (stdout+stderr of each to its log), ticking progress
 * until all ended. Returns 0 when all succeeded, else the exit status of the
 * first failure (*failed = its index), or < 0 + err when one could not start. */
static int run_all(char **const argvs[], char *const logs[], int n, progress *p, int *failed, kafu_err *err) {
  pid_t pids[64];
  int left = 0, rc = 0;
  for (int i = 0; i < n && i < 64; i++) {
    kafu_proc_opts o = {.in = {.kind = KAFU_IO_NULL},
                        .out = {.kind = KAFU_IO_FILE, .path = logs[i]},
                        .err = {.kind = KAFU_IO_STDOUT}};
    kafu_err e = {0};
    pids[i] = 0;
    if (kafu_proc_spawn(argvs[i], &o, &pids[i], &e) == 0)
      left++;
    else if (rc == 0)
      rc = kafu_err_set(err, e.code, "%s", e.msg);
  }
  while (left > 0) {
    for (int i = 0; i < n && i < 64; i++) {
      if (pids[i] <= 0) continue;
      int st = 127;
      if (kafu_proc_wait(pids[i], true, &st, NULL) == 1) continue; /* still running */
      pids[i] = 0;
      left--;
      if (st != 0 && rc == 0) {
        rc = st;
        *failed = i;
      }
    }
    if (left) {
      progress_tick(p);
      poll(NULL, 0, 50);
    }
  }
  return rc;
}

static int run_logged(char *const argv[], const char *log_path, progress *p, kafu_err *err) {
  char **const argvs[1] = {(char **)argv};
  char *const logs[1] = {(char *)log_path};
  int failed = 0;
  return run_all(argvs, logs, 1, p, &failed, err);
}

/* last `lines` lines of a log file, for error messages */
static void log_tail(const char *path, int lines, char *out, size_t cap) {
  uint8_t *d;
  size_t len;
  out[0] = 0;
  if (kafu_read_file(path, &d, &len, NULL) != 0) return;
  size_t start = len;
  int seen = 0;
  while (start > 0) {
    if (d[start - 1] == '\n' && start != len && ++seen >= lines) break;
    start--;
  }
  while (len > start && (d[len - 1] == '\n' || d[len - 1] == ' ')) len--;
  size_t n = len - start;
  if (n >= cap) {
    start = len - (cap - 1);
    n = cap - 1;
  }
  memcpy(out, d + start, n);
  out[n] = 0;
  free(d);
}

/* ---- toolchain identity ------------------------------------------------------- */

/* one per target, found on first use */
static aot_toolchain g_tcs[8];
static bool g_tc_done[8];
static pthread_mutex_t g_tc_mu = PTHREAD_MUTEX_INITIALIZER;

static void first_line(const char *s, char *out, size_t cap) {
  size_t n = strcspn(s, "\n");
  if (n >= cap) n = cap - 1;
  memcpy(out, s, n);
  out[n] = 0;
}

/* What "native" (-march=native, -mcpu=native, -mtune=native) means on this
 * machine, for the cache key: the first CPU's model and feature lines of
 * /proc/cpuinfo (x86 "vendor_id"/"model name"/"flags", arm64 "CPU
 * implementer"/"CPU part"/"Features"). */
static uint64_t cpu_identity(void) {
  uint8_t *d;
  size_t len;
  if (kafu_read_file("/proc/cpuinfo", &d, &len, NULL)) return 0;
  kafu_buf keep = {0};
  static const char *const keys[] = {"vendor_id", "model name", "flags", "CPU implementer", "CPU part", "Features"};
  for (char *line = (char *)d, *end; line && *line; line = end ? end + 1 : NULL) {
    end = strchr(line, '\n');
    if (end == line) break; /* blank line: the first CPU's block ended */
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
      if (!strncmp(line, keys[k], strlen(keys[k])))
        kafu_buf_append(&keep, line, end ? (size_t)(end - line) : strlen(line));
  }
  uint64_t h = kafu_hash64(keep.data ? keep.data : (const uint8_t *)"", keep.len);
  kafu_buf_free(&keep);
  free(d);
  return h;
}


/* The machine a compiler builds for, from `cc -dumpmachine` ("" when it cannot say). */
static void cc_machine(const char *cc, char *out, size_t cap) {
  kafu_buf v = {0};
  char *argv[] = {(char *)cc, "-dumpmachine", NULL};
  out[0] = 0;
  if (kafu_engine_capture(argv, &v) == 0) first_line(v.data ? (char *)v.data : "", out, cap);
  kafu_buf_free(&v);
}

/* The version of patch_module_c's edits, part of the cache key (1: before
 * KAFU_FORCE_READ). */
#define AOT_EDITS 2

static void toolchain_init(aot_toolchain *t, const kafu_aot_target *tg) {
  const kafu_tunables *tun = kafu_tunables_get();
  t->target = tg;
  bool host = tg == kafu_aot_host_target();
  /* C compiler for tg: $KAFU_CC, else (host) cc, gcc, clang, else <triple>-gcc.
   * Each must build for tg (`-dumpmachine`): under user-mode emulation, or
   * with a cross compiler installed as cc, the first one found may not.
   * ($CC is deliberately ignored: in wasm projects it often points at a wasm
   * cross compiler such as kafu-cc.) */
  char cross[96];
  sfmt(cross, sizeof cross, "%s-gcc", tg->triple);
  const char *cands[] = {tun->cc, host ? "cc" : NULL, host ? "gcc" : NULL, host ? "clang" : NULL,
                         cross};
  char *cc = NULL, other[300] = "";
  for (size_t i = 0; i < 5 && !cc; i++) {
    if (!cands[i] || !cands[i][0]) continue;
    cc = kafu_which(cands[i]);
    if (!cc && i == 0) {
      kafu_err_set(&t->why, KAFU_ENOENT, "the C compiler KAFU_CC=%s was not found", cands[0]);
      t->misconfigured = true;
      return;
    }
    if (!cc) continue;
    char mach[128];
    cc_machine(cc, mach, sizeof mach);
    const kafu_aot_target *mt = mach[0] ? kafu_aot_target_find(mach) : (host ? tg : NULL);
    if (mt == tg) break;
    kafu_debugc(&kafu_engine_log, "%s builds for %s, not %s; not used", cc, mach[0] ? mach : "an unknown machine",
               tg->triple);
    if (i == 0 && host) {
      kafu_err_set(&t->why, KAFU_EINVAL, "the C compiler KAFU_CC=%s builds for %s, but this kafu runs on %s",
                   cands[0], mach[0] ? mach : "an unknown machine", tg->triple);
      t->misconfigured = true;
      free(cc);
      return;
    }
    if (!other[0]) sfmt(other, sizeof other, "%s builds for %s; ", cands[i], mach[0] ? mach : "another machine");
    free(cc);
    cc = NULL;
  }
  if (!cc) {
    char pkg[96];
    sfmt(pkg, sizeof pkg, "gcc-%s", tg->triple);
    for (char *q = pkg + 4; *q; q++)
      if (*q == '_') *q = '-'; /* gcc-x86-64-linux-gnu */
    if (host)
      kafu_err_set(&t->why, KAFU_ENOENT,
                   "no C compiler for %s found (%slooked for cc, gcc, clang, %s in PATH): the wasm2c AOT "
                   "engine needs one to compile a module the first time; install the Debian package gcc, "
                   "set KAFU_CC, or ship precompiled code (kafu aot --target %s)",
                   tg->triple, other, cross, tg->triple);
    else
      kafu_err_set(&t->why, KAFU_ENOENT,
                   "no C compiler for %s found (%slooked for %s in PATH): install the Debian package %s or "
                   "set KAFU_CC to a compiler for %s",
                   tg->triple, other, cross, pkg, tg->triple);
    return;
  }
  sfmt(t->cc, sizeof t->cc, "%s", cc);
  free(cc);
  char *w2c = kafu_which(tun->wasm2c ? tun->wasm2c : "wasm2c");
  if (!w2c) {
    kafu_err_set(&t->why, KAFU_ENOENT,
                 "wasm2c not found in PATH: install the Debian package wabt (apt-get install wabt) or set "
                 "KAFU_WASM2C");
    t->misconfigured = tun->wasm2c != NULL;
    return;
  }
  sfmt(t->wasm2c, sizeof t->wasm2c, "%s", w2c);
  free(w2c);
  const char *incs[] = {tun->wasm_rt_include, "/usr/include", "/usr/local/include", "/usr/src/wasm2c"};
  for (size_t i = 0; i < 4; i++) {
    if (!incs[i] || !incs[i][0]) continue;
    char p[PATH_MAX];
    sfmt(p, sizeof p, "%s/wasm-rt.h", incs[i]);
    if (kafu_file_exists(p)) {
      sfmt(t->rt_include, sizeof t->rt_include, "%s", incs[i]);
      break;
    }
  }
  if (!t->rt_include[0]) {
    kafu_err_set(&t->why, KAFU_ENOENT,
                 "wasm-rt.h (wasm2c's runtime header) not found: install the Debian package wabt");
    return;
  }
  /* -O2, generic code for the architecture: a cached or shipped artifact runs
   * on every CPU of it. Measured on the compute kernels (docs/benchmarks.md,
   * "Execution speed"): -O3 gains nothing; -march=native ~4 %, but its code
   * may not run on another CPU, so it is left to $KAFU_AOT_CFLAGS. */
  const char *extra = tun->aot_cflags;
  /* -ffp-contract=off: wasm forbids fusing a*b+c into one rounding; GCC's
   * default (fast) fuses on machines with FMA (every aarch64), which would make
   * float results differ between architectures and from the wasm spec */
  sfmt(t->cflags, sizeof t->cflags,
       "-O2 -g1 -fno-optimize-sibling-calls -ffp-contract=off -fPIC -shared -fvisibility=hidden -DNDEBUG%s%s",
       extra && extra[0] ? " " : "", extra ? extra : "");

  kafu_buf id = {0}, v = {0};
  char *argv_cc[] = {t->cc, "--version", NULL};
  int rc = kafu_engine_capture(argv_cc, &v);
  if (rc != 0) {
    kafu_err_set(&t->why, KAFU_EIO, "the C compiler %s does not run (`%s --version` exited with %d)", t->cc,
                 t->cc, rc);
    kafu_buf_free(&v);
    return;
  }
  char line[512];
  first_line(v.data ? (char *)v.data : "", line, sizeof line);
  kafu_buf_printf(&id, "target=%s\ncc=%s %s\n", tg->triple, t->cc, line);
  v.len = 0;
  char *argv_w[] = {t->wasm2c, "--version", NULL};
  rc = kafu_engine_capture(argv_w, &v);
  if (rc != 0) {
    kafu_err_set(&t->why, KAFU_EIO, "%s --version failed (exit %d): is wabt installed correctly?", t->wasm2c,
                 rc);
    kafu_buf_free(&v);
    kafu_buf_free(&id);
    return;
  }
  first_line(v.data ? (char *)v.data : "", line, sizeof line);
  /* what patch_module_c does to wasm2c's output: code built with other edits is other code */
  kafu_buf_printf(&id, "wasm2c=%s %s\nedits=%d\ncflags=%s\n", t->wasm2c, line, AOT_EDITS, t->cflags);
  /* code for this CPU: a cache shared with another machine must not hand it out there */
  if (strstr(t->cflags, "=native")) kafu_buf_printf(&id, "cpu=%016llx\n", (unsigned long long)cpu_identity());
  kafu_buf_free(&v);
  char hp[PATH_MAX];
  sfmt(hp, sizeof hp, "%s/wasm-rt.h", t->rt_include);
  uint8_t *h;
  size_t hl;
  if (kafu_read_file(hp, &h, &hl, NULL) == 0) {
    kafu_buf_printf(&id, "wasm-rt.h=%016llx\n", (unsigned long long)kafu_hash64(h, hl));
    free(h);
  }
  uint8_t d[KAFU_SHA256_LEN];
  kafu_sha256(id.data, id.len, d);
  char hex[2 * KAFU_SHA256_LEN + 1];
  kafu_hex(d, sizeof d, hex);
  memcpy(t->ident_hash, hex, 16);
  t->ident_hash[16] = 0;
  kafu_debugc(&kafu_engine_log, "toolchain %s", kafu_buf_cstr(&id));
  kafu_buf_free(&id);
  t->ok = true;
}

const aot_toolchain *kafu_aot_toolchain(const kafu_aot_target *tg) {
  int i = kafu_aot_target_index(tg);
  pthread_mutex_lock(&g_tc_mu);
  if (!g_tc_done[i]) {
    toolchain_init(&g_tcs[i], tg);
    g_tc_done[i] = true;
  }
  pthread_mutex_unlock(&g_tc_mu);
  return &g_tcs[i];
}

int kafu_engine_toolchain_check(const char *target, char *detail, size_t cap) {
  const kafu_aot_target *tg = target ? kafu_aot_target_find(target) : kafu_aot_host_target();
  if (!tg) {
    sfmt(detail, cap, "unsupported target '%s'", target);
    return KAFU_EINVAL;
  }
  const aot_toolchain *t = kafu_aot_toolchain(tg);
  if (!t->cc[0]) { /* (wasm2c and wasm-rt.h are checked on their own) */
    sfmt(detail, cap, "%s", t->why.msg);
    return t->why.code ? t->why.code : KAFU_ENOENT;
  }
  sfmt(detail, cap, "%s (builds for %s)", t->cc, tg->triple);
  return 0;
}

/* ---- build ------------------------------------------------------------------------ */

/* Small, optional edits of wasm2c's output (when its layout is not the
 * expected one they are skipped and only message precision or speed suffers):
 *  - call_indirect: wasm2c merges "undefined element" and "signature
 *    mismatch" into one trap; report which one it was;
 *  - every trap site passes a unique number (__COUNTER__), so the C compiler
 *    cannot merge the trap calls of different wasm code (cross-jumping) and the
 *    trap's return address names the right wasm function;
 *  - loads: wasm2c keeps every load (a dead load must still trap on a guard
 *    page) with an empty asm that takes the loaded value in a general-purpose
 *    register ("r"). For f32/f64 that is a move from the FP register file and
 *    back on every load; KAFU_FORCE_READ takes them in an FP/SIMD register
 *    ("x" on x86-64, "w" on aarch64) instead: the load is kept all the same
 *    (docs/engine.md, "Loads"). -DKAFU_LOAD_ASM_GPR in KAFU_AOT_CFLAGS restores
 *    wasm2c's own form, -DKAFU_LOAD_ASM_OFF drops the asm (not conforming:
 *    for measurements only). */
#define FORCE_READ_DEF \
  "#if defined(KAFU_LOAD_ASM_OFF)\n" \
  "#define KAFU_FORCE_READ(v) ((void)0)\n" \
  "#elif (defined(__x86_64__) || defined(__aarch64__)) && !defined(KAFU_LOAD_ASM_GPR)\n" \
  "#if defined(__x86_64__)\n#define KAFU_FP_REG \"x\"\n#else\n#define KAFU_FP_REG \"w\"\n#endif\n" \
  "#define KAFU_FORCE_READ(v) do { if (__builtin_types_compatible_p(__typeof__(v), f32) || " \
  "__builtin_types_compatible_p(__typeof__(v), f64)) __asm__(\"\" ::KAFU_FP_REG(v)); " \
  "else __asm__(\"\" ::\"r\"(v)); } while (0)\n" \
  "#else\n#define KAFU_FORCE_READ(v) wasm_asm(\"\" ::\"r\"(v))\n#endif\n"

/* Replace needle in *d (one or every occurrence); how many were replaced. */
static size_t replace(uint8_t **d, size_t *len, const char *needle, const char *with, bool all) {
  size_t nl = strlen(needle), count = 0, from = 0;
  kafu_buf b = {0};
  for (;;) {
    uint8_t *at = memmem(*d + from, *len - from, needle, nl);
    if (!at || (count && !all)) break;
    size_t pre = (size_t)(at - *d);
    kafu_buf_append(&b, *d + from, pre - from);
    kafu_buf_printf(&b, "%s", with);
    from = pre + nl;
    count++;
  }
  if (!count) return 0;
  kafu_buf_append(&b, *d + from, *len - from);
  free(*d);
  *len = b.len;
  *d = (uint8_t *)kafu_buf_cstr(&b);
  return count;
}

static int patch_module_c(const char *path, kafu_err *err) {
  static const char *const edits[][2] = {
      {"TRAP(CALL_INDIRECT)", "(KAFU_CI_TRAP(table, x), 0)"},
      {"#define TRAP(x) (wasm_rt_trap(WASM_RT_TRAP_##x), 0)",
       "#define TRAP(x) (kafu_trap_here(WASM_RT_TRAP_##x, __COUNTER__), 0)"},
  };
  uint8_t *d;
  size_t len;
  int rc = kafu_read_file(path, &d, &len, err);
  if (rc) return rc;
  for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++)
    if (!replace(&d, &len, edits[e][0], edits[e][1], false))
      kafu_debugc(&kafu_engine_log, "wasm2c output lacks '%s'; trap reports will be less precise", edits[e][0]);
  /* the loads' asm: only with its definition in place */
  if (!replace(&d, &len, "#define wasm_asm __asm__\n", "#define wasm_asm __asm__\n" FORCE_READ_DEF, false) ||
      !replace(&d, &len, "wasm_asm(\"\" ::\"r\"(result));", "KAFU_FORCE_READ(result);", true))
    kafu_debugc(&kafu_engine_log, "wasm2c output lacks its load asm; loads keep wasm2c's own form");
  rc = kafu_write_file_atomic(path, d, len, err);
  free(d);
  return rc;
}

typedef struct ccargs {
  char *v[112];
  int n;
  char flags[512];
} ccargs;

/* compiler, flags and include paths; the caller appends -c/-o/sources */
static void cc_args(ccargs *a, const aot_toolchain *t, char *pinc, char *pdir) {
  a->n = 0;
  sfmt(a->flags, sizeof a->flags, "%s", t->cflags);
  a->v[a->n++] = (char *)t->cc;
  char *save = NULL;
  for (char *s = strtok_r(a->flags, " ", &save); s && a->n < 64; s = strtok_r(NULL, " ", &save))
    a->v[a->n++] = s;
  a->v[a->n++] = "-pipe";
  a->v[a->n++] = "-w";
  a->v[a->n++] = pinc;
  a->v[a->n++] = pdir;
}

/* How many translation units to compile in parallel: $KAFU_AOT_JOBS, else 1
 * for small modules (splitting costs cross-function inlining: see aot_split.c),
 * else one per ~1 MB of C, at most the CPUs we may use and 8. */
static int aot_jobs(double csize) {
  int forced = kafu_tunables_get()->aot_jobs; /* 1..32 when set */
  if (forced) return forced;
  if (csize < 1.5e6) return 1;
  cpu_set_t cs;
  long ncpu = sched_getaffinity(0, sizeof cs, &cs) == 0 ? CPU_COUNT(&cs) : sysconf(_SC_NPROCESSORS_ONLN);
  long j = (long)(csize / 1e6) + 1;
  if (j > ncpu) j = ncpu;
  if (j > 8) j = 8;
  return j < 1 ? 1 : (int)j;
}

int kafu_aot_build(const aot_toolchain *t, const uint8_t *wasm, size_t len, const wasm_info *wi, const char *key,
                   const char *sha_hex, const char *dir, const char *name, int progress_mode, kafu_err *err) {
  char pw[PATH_MAX], pc[PATH_MAX], pg[PATH_MAX], pso[PATH_MAX], plog[PATH_MAX], pinc[PATH_MAX + 2],
      pdir[PATH_MAX + 2];
  static_assert(sizeof(((aot_toolchain *)0)->cflags) <= sizeof(((ccargs *)0)->flags), "flags");
  sfmt(pw, sizeof pw, "%s/module.wasm", dir);
  sfmt(pc, sizeof pc, "%s/module.c", dir);
  sfmt(pg, sizeof pg, "%s/glue.c", dir);
  sfmt(pso, sizeof pso, "%s/out.so", dir);
  /* wasm2c aborts without a word on Wasm SIMD: refuse it by name first */
  int rc = kafu_wasm_refuse_simd(wasm, len, name, err);
  if (!rc) rc = kafu_write_file_atomic(pw, wasm, len, err);
  if (rc) return rc;
  progress p = {name, progress_mode, kafu_now_ns(), 0, false, "translating", 0};
  sfmt(plog, sizeof plog, "%s/wasm2c.log", dir);
  char *argv_w[] = {(char *)t->wasm2c, "--no-debug-names", "-n", "app", pw, "-o", pc, NULL};
  rc = run_logged(argv_w, plog, &p, err);
  if (rc < 0) return rc;
  if (rc != 0) {
    char tail[700];
    log_tail(plog, 6, tail, sizeof tail);
    progress_done(&p, false);
    if (!tail[0]) return kafu_engine_explain_wasm2c_crash(wasm, len, name, err);
    return kafu_err_set(err, KAFU_EFORMAT, "wasm2c rejected %s: %s", name, tail);
  }
  if ((rc = patch_module_c(pc, err))) return rc;
  kafu_buf g = {0};
  rc = kafu_aot_write_glue(wi, key, sha_hex, &g, err);
  if (!rc) rc = kafu_write_file_atomic(pg, g.data, g.len, err);
  kafu_buf_free(&g);
  if (rc) return rc;
  struct stat st;
  double csize = stat(pc, &st) == 0 ? (double)st.st_size : 1e6;
  int jobs = aot_jobs(csize);
  if (jobs > 1) {
    kafu_buf wp = {0};
    kafu_aot_write_worker_prelude(&wp);
    jobs = kafu_aot_split(dir, jobs, kafu_buf_cstr(&wp), err);
    kafu_buf_free(&wp);
    if (jobs < 0) return jobs;
  }
  /* measured: ~0.38 MB of wasm2c output per second and core at -O2 */
  p.est = 0.4 + csize / 380e3 / (jobs > 1 ? jobs * 0.85 : 1);
  p.what = "compiling";
  sfmt(pinc, sizeof pinc, "-I%s", t->rt_include);
  sfmt(pdir, sizeof pdir, "-I%s", dir);
  /* one command per translation unit (+ a link step when split) */
  struct units {
    ccargs cc[33], ln;
    char **argvs[33], *logs[33], srcs[33][PATH_MAX], objs[33][PATH_MAX], logp[34][PATH_MAX];
  } *u = calloc(1, sizeof *u);
  if (!u) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  ccargs *cc = u->cc;
  char ***argvs = u->argvs, **logs = u->logs, (*srcs)[PATH_MAX] = u->srcs, (*objs)[PATH_MAX] = u->objs,
       (*logp)[PATH_MAX] = u->logp;
  for (int i = 0; i < jobs; i++) {
    cc_args(&cc[i], t, pinc, pdir);
    if (i == 0)
      sfmt(srcs[i], sizeof srcs[i], "%s", pg);
    else
      sfmt(srcs[i], sizeof srcs[i], "%s/part%d.c", dir, i);
    sfmt(logp[i], sizeof logp[i], "%s/cc%d.log", dir, i);
    if (jobs == 1) {
      sfmt(objs[i], sizeof objs[i], "%s", pso);
    } else {
      sfmt(objs[i], sizeof objs[i], "%s/part%d.o", dir, i);
      cc[i].v[cc[i].n++] = "-c";
    }
    cc[i].v[cc[i].n++] = "-o";
    cc[i].v[cc[i].n++] = objs[i];
    cc[i].v[cc[i].n++] = srcs[i];
    /* generated code calls libm (sqrt, nearbyint, ...): depend on it explicitly
     * instead of on whatever the loading process happens to link */
    if (jobs == 1) cc[i].v[cc[i].n++] = "-lm";
    cc[i].v[cc[i].n] = NULL;
    argvs[i] = cc[i].v;
    logs[i] = logp[i];
  }
  uint64_t t0 = kafu_now_ns();
  int failed = 0;
  rc = run_all(argvs, logs, jobs, &p, &failed, err);
  if (rc == 0 && jobs > 1) { /* link */
    ccargs *ln = &u->ln;
    cc_args(ln, t, pinc, pdir);
    ln->v[ln->n++] = "-o";
    ln->v[ln->n++] = pso;
    for (int i = 0; i < jobs; i++) ln->v[ln->n++] = objs[i];
    ln->v[ln->n++] = "-lm";
    ln->v[ln->n] = NULL;
    sfmt(logp[jobs], sizeof logp[jobs], "%s/link.log", dir);
    failed = jobs;
    rc = run_logged(ln->v, logp[jobs], &p, err);
  }
  if (rc != 0) {
    char tail[700];
    if (rc > 0) log_tail(logp[failed], 8, tail, sizeof tail);
    free(u);
    progress_done(&p, false);
    if (rc < 0) return rc;
    return kafu_err_set(err, KAFU_EIO, "the C compiler %s failed on the generated code for %s (exit %d): %s",
                        t->cc, name, rc, tail[0] ? tail : "(no output)");
  }
  free(u);
  progress_done(&p, true);
  kafu_debugc(&kafu_engine_log, "compiled %s (%.0f KB of C, %d unit%s) in %.0f ms", name, csize / 1024, jobs,
              jobs > 1 ? "s" : "", kafu_ms_since(t0));
  return 0;
}
