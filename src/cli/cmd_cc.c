/*
 * cmd_cc.c — `kafu cc` / `kafu c++` (aliases `kafu clang`, `kafu clang++`, and
 * the single-path entry points kafu-cc / kafu-c++): a clang driver for
 * wasm32-wasi that produces Snapified Kafu modules.
 *
 * Command-line logic lives in src/driver (kafu/driver.h); this file runs the
 * steps. Compile-only invocations (-c, -E, -S, -M, ...) are one clang call. A
 * link is split: every source is compiled to a temporary object with the
 * user's flags, guest/kafu_rt.c is compiled with the Asyncify buffer size, and
 * the link runs WITHOUT -O (with -O clang runs wasm-opt after linking, which
 * inlines KAFU_DEST functions so migrations vanish). The linked module goes
 * through Snapify and only the final module is written to -o (default a.out).
 * clang's diagnostics pass through untouched; the exit status is clang's.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "kafu/driver.h"
#include "kafu/snapify.h"
#include "kafu/wasm.h"

void kafu_usage_cc(void) {
  printf(
      "Usage: kafu cc  [OPTIONS] FILE...   (also: kafu clang, kafu-cc, libexec/kafu_clang)\n"
      "       kafu c++ [OPTIONS] FILE...   (also: kafu clang++, kafu-c++, libexec/kafu_clang++)\n"
      "       kafu cc -- CLANG-ARGS...     one plain clang call (wasm32-wasi), no Snapify\n"
      "\n"
      "Compile C/C++ to a wasm32-wasi Kafu module: clang --target=wasm32-wasi\n"
      "--sysroot=/usr with Kafu's include directory (kafu.h, and the original SDK's\n"
      "spectest.h, wasi_nn_*.h, kafu_helper.h), then Snapify, which makes the\n"
      "module migrate at KAFU_DEST-annotated functions.\n"
      "\n"
      "Every clang option is accepted and passed to clang, which decides (-c, -o,\n"
      "-O*, -g, -I, -D, -L, -l, -std=, -W*, -Wl,..., -x, -MD/-MF, -E, -S, @file,\n"
      "several sources, .o/.a inputs, --version).\n"
      "  -c / -S / -E / -M   compile only: one clang call, no Snapify\n"
      "  (no -c)             link: sources are compiled with your flags; the link\n"
      "                      itself never gets -O (clang would run wasm-opt, which\n"
      "                      inlines KAFU_DEST functions); guest/kafu_rt.c is linked\n"
      "                      in; then Snapify. Default output: a.out (like clang and\n"
      "                      the original Kafu); name it with -o app.wasm\n"
      "  -g                  keep DWARF (otherwise stripped at link; Kafu's custom\n"
      "                      sections .kafu_dest.* are always kept)\n"
      "\n"
      "Kafu options (removed before clang sees the command line):\n"
      "  --kafu-c-stack-size=BYTES  the program's C stack, linked first in memory so\n"
      "                      that an overflow traps (\"C stack overflow\"); default\n"
      "                      1M (-Wl,-z,stack-size=BYTES works too)\n"
      "  --kafu-stack-size=BYTES  size of the Asyncify region that holds the call\n"
      "                      stack during a migration (default 1M; K/M/G suffixes)\n"
      "  --no-snapify        link only; leave the module as linked (no migration)\n"
      "  --kafu-verbose      print every command kafu runs\n"
      "  --kafu-allow-unused-annotations\n"
      "                      accept a KAFU_DEST function that is never called inside\n"
      "                      the module (a warning instead of an error)\n"
      "\n"
      "C++: wasm32-wasi libc++ has no exception support, so C++ is compiled with\n"
      "-fno-exceptions (a later -fexceptions of yours wins, but will not link).\n"
      "\n"
      "Environment: KAFU_CLANG (clang to use), KAFU_WASI_SYSROOT (default /usr).\n"
      "If a toolchain piece is missing, `kafu doctor` lists what and which Debian\n"
      "package provides it. Static libraries for wasm: build them with llvm-ar\n"
      "(GNU ar writes no symbol index for wasm objects).\n");
}

typedef struct cc_ctx {
  const char *cmd; /* "cc", "c++", "clang", "clang++" */
  kafu_drv drv;
  kafu_toolchain tc;
  char tmpdir[PATH_MAX];
} cc_ctx;

__attribute__((format(printf, 3, 4))) static int fail(const cc_ctx *c, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "kafu %s: error: ", c->cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

static void hint_missing(const cc_ctx *c, bool link) {
  kafu_err e;
  if (kafu_toolchain_missing(&c->tc, c->drv.cxx || c->drv.any_cxx_source, link, &e) < 0)
    fprintf(stderr, "kafu %s: error: %s; run `kafu doctor` for a full check\n", c->cmd, e.msg);
}

/* An annotated function compiled as a non-weak definition with -O: clang may
 * have deleted or moved calls to it (objects.c says why); say so now, since
 * the module can no longer show it. */
static void warn_strong_dests(const cc_ctx *c, const char *obj, const char *source) {
  kafu_buf names = {0};
  size_t n = kafu_drv_strong_dests(obj, &names);
  if (n)
    fprintf(stderr,
            "kafu %s: warning: %s: KAFU_DEST function%s %s %s, so the optimizer may treat %s as pure "
            "and delete, merge or move calls, and those migrations vanish; this KAFU_EXPORT is not Kafu's "
            "(a copy of the original kafu.h?): include Kafu's <kafu.h>, or add __attribute__((weak))\n",
            c->cmd, source, n > 1 ? "s" : "", kafu_buf_cstr(&names),
            n > 1 ? "are not weak definitions" : "is not a weak definition", n > 1 ? "them" : "it");
  kafu_buf_free(&names);
}

/* After a failed link: static libraries GNU ar made of wasm objects have no
 * symbol index, and wasm-ld's advice (ranlib) does not help with GNU ranlib. */
static void hint_archives(const cc_ctx *c) {
  kafu_buf names = {0};
  if (kafu_drv_unindexed_archives(&c->drv, &names))
    fprintf(stderr,
            "kafu %s: hint: %s has no symbol index: GNU ar (and ranlib) write none for wasm objects; "
            "build static libraries for wasm with llvm-ar (make AR=llvm-ar; the CMake toolchain file "
            "does it), or add the index with llvm-ranlib\n",
            c->cmd, kafu_buf_cstr(&names));
  kafu_buf_free(&names);
}

/* Ctrl-C in a build reaches clang and us: note the signal, let the running step
 * end, remove the temporary directory, then die of the same signal. (The one
 * file-level variable here: a signal handler has nowhere else to write.) */
static volatile sig_atomic_t g_caught_signal;
static void on_signal(int sig) { g_caught_signal = sig; }

static void catch_signals(bool on) {
  struct sigaction sa = {.sa_handler = on ? on_signal : SIG_DFL};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}

/* Run one clang step; its diagnostics go straight to our stderr. `what` (may
 * be NULL) names the step for progress lines when it takes long. */
static int run(const cc_ctx *c, kafu_argv *a, const char *what) {
  if (c->drv.verbose || kafu_log_get_level() >= KAFU_LOG_DEBUG) {
    char *s = kafu_argv_join(a);
    fprintf(stderr, "kafu %s: + %s\n", c->cmd, s ? s : "?");
    free(s);
  }
  fflush(stdout);
  kafu_err e;
  char prefix[64];
  snprintf(prefix, sizeof prefix, "kafu %s", c->cmd);
  kafu_progress *pr = what ? kafu_progress_start(prefix, "%s", what) : NULL;
  int st = kafu_proc_run(a->v, NULL, NULL, &e);
  kafu_progress_end(pr, st == 0);
  if (g_caught_signal) return 128 + g_caught_signal;
  if (st < 0) {
    fprintf(stderr, "kafu %s: error: %s; run `kafu doctor`\n", c->cmd, e.msg);
    return 1;
  }
  return st;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(p);
  return 0;
}

static void cleanup(cc_ctx *c) {
  if (c->tmpdir[0]) nftw(c->tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  c->tmpdir[0] = 0;
}

static int make_tmpdir(cc_ctx *c) {
  const char *t = getenv("TMPDIR");
  snprintf(c->tmpdir, sizeof c->tmpdir, "%s/kafu-cc-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(c->tmpdir)) {
    int e = errno;
    fail(c, 1, "cannot create a temporary directory %s: %s (set TMPDIR)", c->tmpdir, strerror(e));
    c->tmpdir[0] = 0;
    return 1;
  }
  return 0;
}

static int do_link(cc_ctx *c) {
  kafu_drv *d = &c->drv;
  kafu_err e;
  int st = 0;
  if (make_tmpdir(c)) return 1;
  char **objs = calloc(d->nargs ? d->nargs : 1, sizeof *objs);
  if (!objs) return fail(c, 1, "out of memory");

  /* 1. each source to its own object, with every compile flag the user gave */
  bool optimized = kafu_drv_optimizes(d);
  for (size_t i = 0; i < d->nargs && st == 0; i++) {
    if (d->args[i].kind != KAFU_ARG_SOURCE) continue;
    char obj[PATH_MAX + 300];
    snprintf(obj, sizeof obj, "%s/%zu-%.200s.o", c->tmpdir, i, kafu_path_basename(d->args[i].text));
    objs[i] = strdup(obj);
    kafu_argv a = {0};
    char what[PATH_MAX + 32];
    snprintf(what, sizeof what, "compiling %s", d->args[i].text);
    if (!objs[i] || kafu_drv_compile_argv(d, &c->tc, i, obj, &a) < 0)
      st = fail(c, 1, "out of memory");
    else
      st = run(c, &a, what);
    kafu_argv_free(&a);
    if (st) hint_missing(c, false);
    if (st == 0 && optimized) warn_strong_dests(c, objs[i], d->args[i].text);
  }
  /* 2. the guest support object (Asyncify region, see docs/abi.md) */
  char rt_obj[PATH_MAX + 32], linked[PATH_MAX + 32], snapified[PATH_MAX + 32];
  snprintf(rt_obj, sizeof rt_obj, "%s/kafu_rt.o", c->tmpdir);
  snprintf(linked, sizeof linked, "%s/linked.wasm", c->tmpdir);
  snprintf(snapified, sizeof snapified, "%s/snapified.wasm", c->tmpdir);
  if (st == 0) {
    kafu_argv a = {0};
    if (kafu_drv_rt_argv(d, &c->tc, rt_obj, &a) < 0)
      st = fail(c, 1, "out of memory");
    else if ((st = run(c, &a, "compiling Kafu's guest support (kafu_rt.c)")) != 0)
      fail(c, st, "compiling the guest support object %s failed", c->tc.rt_source);
    kafu_argv_free(&a);
  }
  /* 3. link, never with -O */
  if (st == 0) {
    kafu_argv a = {0};
    if (kafu_drv_link_argv(d, &c->tc, objs, rt_obj, linked, &a) < 0)
      st = fail(c, 1, "out of memory");
    else
      st = run(c, &a, "linking");
    kafu_argv_free(&a);
    if (st) {
      hint_missing(c, true);
      hint_archives(c);
    }
  }
  for (size_t i = 0; i < d->nargs; i++) free(objs[i]);
  free(objs);
  if (st) return st;

  const char *final = linked;
  const char *out = d->output ? d->output : KAFU_DRV_DEFAULT_OUTPUT;
  /* 4. refuse what Kafu's engine cannot run (Wasm SIMD), naming its first use */
  uint8_t *bytes;
  size_t nbytes;
  if (kafu_read_file(linked, &bytes, &nbytes, &e) < 0) return fail(c, 1, "%s", e.msg);
  int simd = kafu_wasm_refuse_simd(bytes, nbytes, out, &e);
  free(bytes);
  if (simd == KAFU_EUNSUP)
    return fail(c, 1, "%s (`kafu %s -- ARGS` builds a plain module for other runtimes)", e.msg, c->cmd);

  /* 5. Snapify */
  if (d->snapify) {
    kafu_snapify_opts so = {.asyncify_buf_size = d->stack_size,
                            .verbose = d->verbose,
                            .allow_unused_annotations = d->allow_unused_annotations};
    char prefix[64];
    snprintf(prefix, sizeof prefix, "kafu %s", c->cmd);
    kafu_progress *pr = kafu_progress_start(prefix, "Snapify %s (making it migratable)", out);
    int rc = kafu_snapify_file(linked, snapified, &so, &e);
    kafu_progress_end(pr, rc == 0);
    /* the temporary file name means nothing to the user: drop it from the message */
    const char *msg = e.msg;
    size_t ll = strlen(linked);
    if (rc < 0 && !strncmp(msg, linked, ll) && !strncmp(msg + ll, ": ", 2)) msg += ll + 2;
    /* every Snapify failure is an error, "unsupported feature" included: a
     * module that silently cannot migrate is worse than no module */
    if (rc == 0) {
      final = snapified;
    } else {
      fprintf(stderr, "kafu %s: error: snapify %s: %s (--no-snapify builds it as a plain module)\n", c->cmd,
              out, msg);
      return 1;
    }
  }
  if (kafu_drv_install_output(final, out, &e) < 0) return fail(c, 1, "%s", e.msg);
  return 0;
}

static int has_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
  return 0;
}

int kafu_cmd_cc(int argc, char **argv) {
  if (has_help(argc, argv)) {
    kafu_usage_cc();
    return 0;
  }
  cc_ctx c = {.cmd = argv[0]};
  kafu_err e;
  int st;
  if (kafu_drv_parse(&c.drv, argc - 1, argv + 1, kafu_drv_is_cxx_name(argv[0]), &e) < 0) {
    fprintf(stderr, "kafu %s: %s\nRun `kafu %s --help` for usage.\n", c.cmd, e.msg, c.cmd);
    kafu_drv_free(&c.drv);
    return KAFU_EXIT_USAGE;
  }
  kafu_toolchain_find(&c.tc);
  kafu_drv *d = &c.drv;
  bool link = d->mode == KAFU_DRV_LINK;

  /* everything that can be known to fail is reported before any work */
  if (!c.tc.clang || (d->mode != KAFU_DRV_PASSTHROUGH &&
                      kafu_toolchain_missing(&c.tc, d->cxx || d->any_cxx_source, link, &e) < 0)) {
    if (!c.tc.clang) kafu_toolchain_missing(&c.tc, false, false, &e);
    fprintf(stderr, "kafu %s: error: %s; run `kafu doctor` for a full check\n", c.cmd, e.msg);
    st = 1;
  } else if (d->mode != KAFU_DRV_PASSTHROUGH && (d->output || link) &&
             kafu_drv_check_output(d->output ? d->output : KAFU_DRV_DEFAULT_OUTPUT, &e) < 0) {
    st = fail(&c, 1, "%s", e.msg);
  } else if (!link) {
    kafu_argv a = {0};
    if (kafu_drv_passthrough_argv(d, &c.tc, &a) < 0)
      st = fail(&c, 1, "out of memory");
    else
      st = run(&c, &a, NULL);
    kafu_argv_free(&a);
    if (st && d->mode == KAFU_DRV_COMPILE) hint_missing(&c, false);
  } else {
    catch_signals(true);
    st = do_link(&c);
  }
  cleanup(&c);
  if (g_caught_signal) {
    catch_signals(false);
    raise(g_caught_signal);
  }
  kafu_toolchain_free(&c.tc);
  kafu_drv_free(&c.drv);
  return st;
}
