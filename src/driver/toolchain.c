/*
 * toolchain.c — where the guest toolchain pieces are, and whether they are
 * there (shared by `kafu cc` and `kafu doctor`).
 *
 * Everything is a path probe (stat/access/glob), not a clang run, so `kafu cc`
 * can afford the checks before every link. Each probe has an environment
 * override (read through kafu_tunables) so tests can exercise the failure paths:
 *   KAFU_CLANG              clang executable (name in PATH or path)
 *   KAFU_WASM_LD            wasm-ld executable
 *   KAFU_WASI_SYSROOT       sysroot holding include/wasm32-wasi and lib/wasm32-wasi
 *   KAFU_CLANG_RT_BUILTINS  path of libclang_rt.builtins-wasm32.a
 * The Debian package names are those of Debian 12 (LLVM 14).
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kafu/driver.h"

/* dir[/rel], canonicalised when it exists (shorter command lines and messages) */
static char *canonical(const char *dir, const char *rel) {
  char *p = rel ? kafu_path_join(dir, rel) : strdup(dir);
  char *r = p ? realpath(p, NULL) : NULL;
  if (!r) return p;
  free(p);
  return r;
}

void kafu_toolchain_find(kafu_toolchain *tc) {
  memset(tc, 0, sizeof *tc);
  const kafu_tunables *t = kafu_tunables_get();
  const char *c = t->clang;
  if (c) {
    tc->clang = kafu_which(c);
  } else {
    tc->clang = kafu_which("clang");
    if (!tc->clang) tc->clang = kafu_which("clang-14");
  }
  tc->sysroot = strdup(t->wasi_sysroot);
  tc->include_dir = canonical(kafu_include_dir(), NULL);
  tc->rt_source = canonical(kafu_share_dir(), "guest/kafu_rt.c");
}

void kafu_toolchain_free(kafu_toolchain *tc) {
  if (!tc) return;
  free(tc->clang);
  free(tc->sysroot);
  free(tc->include_dir);
  free(tc->rt_source);
  memset(tc, 0, sizeof *tc);
}

int kafu_capture_line(char *const argv[], char *line, size_t cap) {
  if (cap) line[0] = 0;
  kafu_buf out = {0};
  kafu_proc_opts o = {.in = {KAFU_IO_NULL}, .out = {KAFU_IO_CAPTURE}, .err = {KAFU_IO_NULL}};
  int st = kafu_proc_run(argv, &o, &out, NULL);
  if (st >= 0 && cap && out.len) {
    size_t n = strcspn((const char *)out.data, "\n"); /* the first line only */
    if (n >= cap) n = cap - 1;
    memcpy(line, out.data, n);
    line[n] = 0;
  }
  kafu_buf_free(&out);
  return st < 0 ? -1 : st;
}

/* ---- individual probes ------------------------------------------------------ */

static bool is_file(const char *p) {
  struct stat st;
  return p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p) {
  struct stat st;
  return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void check_set(kafu_tc_check *c, const char *name, const char *pkg, bool required) {
  memset(c, 0, sizeof *c);
  c->name = name;
  c->package = pkg;
  c->required = required;
}

static void probe_clang(const kafu_toolchain *tc, kafu_tc_check *c) {
  check_set(c, "clang", "clang", true);
  const char *env = kafu_tunables_get()->clang;
  if (tc->clang) {
    c->ok = true;
    snprintf(c->detail, sizeof c->detail, "%s", tc->clang);
  } else if (env && *env) {
    snprintf(c->detail, sizeof c->detail, "KAFU_CLANG=%s is not an executable", env);
  } else {
    snprintf(c->detail, sizeof c->detail, "neither clang nor clang-14 found in PATH");
  }
}

static void probe_wasm_ld(kafu_tc_check *c) {
  check_set(c, "wasm-ld", "lld", true);
  const char *env = kafu_tunables_get()->wasm_ld;
  char *p = env && *env ? kafu_which(env) : kafu_which("wasm-ld");
  if (!p && !(env && *env)) p = kafu_which("wasm-ld-14");
  if (p) {
    c->ok = true;
    snprintf(c->detail, sizeof c->detail, "%s", p);
  } else if (env && *env) {
    snprintf(c->detail, sizeof c->detail, "KAFU_WASM_LD=%s is not an executable", env);
  } else {
    snprintf(c->detail, sizeof c->detail, "neither wasm-ld nor wasm-ld-14 found in PATH");
  }
  free(p);
}

/* One or more files under the sysroot; the first missing one is named. */
static void probe_sysroot_files(const kafu_toolchain *tc, kafu_tc_check *c, const char *const *rel) {
  char path[PATH_MAX];
  for (; *rel; rel++) {
    snprintf(path, sizeof path, "%s/%s", tc->sysroot, *rel);
    bool dir = path[strlen(path) - 1] == '/';
    if (dir ? !is_dir(path) : !is_file(path)) {
      snprintf(c->detail, sizeof c->detail, "%.490s not found", path);
      return;
    }
  }
  c->ok = true;
  snprintf(c->detail, sizeof c->detail, "%s/%s", tc->sysroot, rel[-1]);
}

static void probe_wasi_sysroot(const kafu_toolchain *tc, kafu_tc_check *c) {
  check_set(c, "wasi sysroot", "wasi-libc", true);
  static const char *const files[] = {"include/wasm32-wasi/", "include/wasm32-wasi/stdio.h",
                                      "lib/wasm32-wasi/crt1-command.o", "lib/wasm32-wasi/libc.a", NULL};
  probe_sysroot_files(tc, c, files);
}

static void probe_libcxx(const kafu_toolchain *tc, kafu_tc_check *c) {
  check_set(c, "libc++ (wasm32)", "libc++-14-dev-wasm32", true);
  static const char *const files[] = {"include/wasm32-wasi/c++/v1/vector", "lib/wasm32-wasi/libc++.a", NULL};
  probe_sysroot_files(tc, c, files);
}

static void probe_libcxxabi(const kafu_toolchain *tc, kafu_tc_check *c) {
  check_set(c, "libc++abi (wasm32)", "libc++abi-14-dev-wasm32", true);
  static const char *const files[] = {"lib/wasm32-wasi/libc++abi.a", NULL};
  probe_sysroot_files(tc, c, files);
}

/* clang's resource dir is <clang's real bin dir>/../lib/clang/<version>; the
 * builtins live in lib/wasi there. Globbing avoids running clang. */
static void probe_builtins(const kafu_toolchain *tc, kafu_tc_check *c) {
  check_set(c, "compiler-rt builtins (wasm32)", "libclang-rt-14-dev-wasm32", true);
  const char *env = kafu_tunables_get()->clang_rt_builtins;
  if (env && *env) {
    c->ok = is_file(env);
    snprintf(c->detail, sizeof c->detail, c->ok ? "%s" : "KAFU_CLANG_RT_BUILTINS=%s not found", env);
    return;
  }
  /* without clang, look where Debian's LLVM packages put it */
  char *real = tc->clang ? realpath(tc->clang, NULL) : NULL;
  char *bindir = tc->clang ? kafu_path_dirname(real ? real : tc->clang) : strdup("/usr/lib/llvm-*/bin");
  char pattern[PATH_MAX];
  snprintf(pattern, sizeof pattern, "%s/../lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a", bindir);
  glob_t g;
  if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
    char *r = realpath(g.gl_pathv[g.gl_pathc - 1], NULL);
    c->ok = true;
    snprintf(c->detail, sizeof c->detail, "%s", r ? r : g.gl_pathv[g.gl_pathc - 1]);
    free(r);
    globfree(&g);
  } else {
    char *res = kafu_path_dirname(bindir);
    snprintf(c->detail, sizeof c->detail,
             "%s/lib/clang/<version>/lib/wasi/libclang_rt.builtins-wasm32.a not found", res);
    free(res);
  }
  free(real);
  free(bindir);
}

static void probe_kafu_file(kafu_tc_check *c, const char *name, const char *path) {
  check_set(c, name, "", true);
  c->ok = is_file(path);
  snprintf(c->detail, sizeof c->detail, c->ok ? "%s" : "%s not found (reinstall kafu: make install)", path);
}

size_t kafu_toolchain_check(const kafu_toolchain *tc, kafu_tc_check *out, size_t max) {
  kafu_tc_check all[8];
  size_t n = 0;
  probe_clang(tc, &all[n++]);
  probe_wasm_ld(&all[n++]);
  probe_wasi_sysroot(tc, &all[n++]);
  probe_builtins(tc, &all[n++]);
  probe_libcxx(tc, &all[n++]);
  probe_libcxxabi(tc, &all[n++]);
  char *kh = kafu_path_join(tc->include_dir, "kafu.h");
  probe_kafu_file(&all[n++], "kafu.h", kh);
  free(kh);
  probe_kafu_file(&all[n++], "kafu_rt.c", tc->rt_source);
  size_t w = n < max ? n : max;
  memcpy(out, all, w * sizeof *out);
  return w;
}

int kafu_toolchain_missing(const kafu_toolchain *tc, bool cxx, bool link, kafu_err *err) {
  kafu_tc_check c[8];
  size_t n = kafu_toolchain_check(tc, c, 8);
  for (size_t i = 0; i < n; i++) {
    const char *name = c[i].name;
    /* kafu.h is left out: a program need not include it, and clang names it when it does */
    bool needed =
        !strcmp(name, "clang") || !strcmp(name, "wasi sysroot") ||
        (link &&
         (!strcmp(name, "wasm-ld") || !strcmp(name, "kafu_rt.c") || !strncmp(name, "compiler-rt", 11))) ||
        (cxx && !strcmp(name, "libc++ (wasm32)")) || (cxx && link && !strcmp(name, "libc++abi (wasm32)"));
    if (!needed || c[i].ok) continue;
    if (*c[i].package)
      return kafu_err_set(err, KAFU_ENOENT, "%s missing: %s (Debian package %s)", name, c[i].detail,
                          c[i].package);
    return kafu_err_set(err, KAFU_ENOENT, "%s missing: %s", name, c[i].detail);
  }
  return 0;
}
