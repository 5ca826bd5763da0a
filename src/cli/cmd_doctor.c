/*
 * cmd_doctor.c — `kafu doctor`: is everything Kafu needs on this machine?
 *
 * One line per piece: OK with where it was found, or MISSING with what was
 * looked for and the Debian package that provides it. The guest toolchain
 * checks are shared with `kafu cc` (kafu_toolchain_check in src/driver); the
 * runtime checks (libbinaryen, wasm2c and its runtime source, a host C
 * compiler for AOT, the cache directory, llvm-ar, node) are here. Exit 1 when
 * a required piece is missing; llvm-ar (static libraries of wasm objects) and
 * node (benchmarks and cross-engine tests) are optional.
 *
 * Probe overrides, for testing the failure paths (kafu_tunables, listed in
 * docs/tunables.md): KAFU_CLANG, KAFU_WASM_LD, KAFU_WASI_SYSROOT,
 * KAFU_CLANG_RT_BUILTINS (see src/driver/toolchain.c), KAFU_BINARYEN_LIB,
 * KAFU_WASM2C, KAFU_WASM_RT_IMPL, KAFU_CC (the engine's compiler), KAFU_LLVM_AR,
 * KAFU_NODE, and the real KAFU_CACHE_DIR / XDG_CACHE_HOME / HOME.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "kafu/config.h"
#include "kafu/driver.h"
#include "kafu/engine.h"
#include "kafu/runtime.h"

void kafu_usage_doctor(void) {
  printf(
      "Usage: kafu doctor [--quiet] [--verbose] [--node] [CONFIG]\n"
      "\n"
      "Check the toolchain and environment Kafu needs: clang, wasm-ld, the\n"
      "wasm32-wasi sysroot, wasm32 compiler-rt, libc++ for wasm32, Kafu's own\n"
      "files, libbinaryen, wasm2c and its runtime, a C compiler for AOT, a\n"
      "writable cache directory, the original SDK layout (libexec/kafu_*, under\n"
      "$KAFU_SDK_PATH when set: required then); optionally llvm-ar (static\n"
      "libraries of wasm objects) and node. Each missing piece is shown with the\n"
      "Debian package that provides it (scripts/install-deps.sh installs them\n"
      "all). Exits 1 when a required piece is missing. With CONFIG, also checks\n"
      "that config (as `kafu config check`) and shows its unsafe settings as WARN\n"
      "lines: no cluster token, app.preopened_dir /, a token file others can read.\n"
      "\n"
      "  -q, --quiet     print only what is missing\n"
      "  -v, --verbose   also list the installed subcommands and their paths\n"
      "  --node          check only what a node (kafu serve) needs: no kafu cc\n"
      "                  toolchain; a C compiler and wasm2c become optional (a\n"
      "                  node can run precompiled code: kafu aot --target,\n"
      "                  app.aot_dir)\n"
      "\n"
      "Also shown: the architecture (and user-mode emulation, e.g. qemu-user),\n"
      "whether guard-page faults reach the engine (wasm memory bounds; required),\n"
      "and how dirty pages are found (userfaultfd write-protection, else the\n"
      "page-hashing fallback).\n"
      "\n"
      "Probe overrides (for testing): KAFU_CLANG, KAFU_WASM_LD, KAFU_WASI_SYSROOT,\n"
      "KAFU_CLANG_RT_BUILTINS, KAFU_BINARYEN_LIB, KAFU_WASM2C, KAFU_WASM_RT_IMPL,\n"
      "KAFU_CC, KAFU_LLVM_AR, KAFU_NODE. Cache: KAFU_CACHE_DIR, else\n"
      "$XDG_CACHE_HOME/kafu, else ~/.cache/kafu.\n");
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static void init(kafu_tc_check *c, const char *name, const char *pkg, bool required) {
  memset(c, 0, sizeof *c);
  c->name = name;
  c->package = pkg;
  c->required = required;
}

/* An executable: the override e ($envname) if set (no fallback: the override is
 * the test), else the first of names found in PATH. */
static void probe_exe(kafu_tc_check *c, const char *envname, const char *e, const char *const *names) {
  char *p = NULL;
  if (e) {
    p = kafu_which(e);
  } else {
    for (const char *const *n = names; *n && !p; n++) p = kafu_which(*n);
  }
  c->ok = p != NULL;
  if (p)
    snprintf(c->detail, sizeof c->detail, "%s", p);
  else if (e)
    snprintf(c->detail, sizeof c->detail, "%s=%s is not an executable", envname, e);
  else
    snprintf(c->detail, sizeof c->detail, "%s not found in PATH", names[0]);
  free(p);
}

static void append_version(kafu_tc_check *c, const char *flag) {
  if (!c->ok) return;
  char exe[512], line[200];
  snprintf(exe, sizeof exe, "%s", c->detail);
  char *argv[] = {exe, (char *)flag, NULL};
  if (kafu_capture_line(argv, line, sizeof line) == 0 && line[0]) {
    size_t n = strlen(c->detail);
    snprintf(c->detail + n, sizeof c->detail - n, " (%s)", line);
  }
}

/* libbinaryen: the kafu binary links it for Snapify. Report the copy actually
 * mapped, else whether the dynamic loader can find one. */
static void probe_binaryen(kafu_tc_check *c) {
#if !KAFU_HAVE_BINARYEN
  /* a node-only build (KAFU_WITH_BINARYEN=OFF): nothing to find, nothing missing */
  init(c, "libbinaryen", "", false);
  c->ok = true;
  snprintf(c->detail, sizeof c->detail, "not built in (node-only build: no kafu cc / kafu snapify)");
  return;
#endif
  init(c, "libbinaryen", "binaryen", true);
  const char *e = kafu_tunables_get()->binaryen_lib;
  if (e) {
    struct stat st;
    c->ok = stat(e, &st) == 0 && S_ISREG(st.st_mode);
    snprintf(c->detail, sizeof c->detail, c->ok ? "%s" : "KAFU_BINARYEN_LIB=%s not found", e);
    return;
  }
  FILE *f = fopen("/proc/self/maps", "r");
  char line[1024];
  while (f && fgets(line, sizeof line, f)) {
    char *p = strstr(line, "/");
    if (p && strstr(p, "libbinaryen")) {
      p[strcspn(p, "\n")] = 0;
      c->ok = true;
      snprintf(c->detail, sizeof c->detail, "%s", p);
      break;
    }
  }
  if (f) fclose(f);
  if (c->ok) return;
  void *h = dlopen("libbinaryen.so", RTLD_LAZY | RTLD_LOCAL);
  if (h) {
    Dl_info info;
    void *sym = dlsym(h, "BinaryenModuleCreate");
    c->ok = true;
    snprintf(c->detail, sizeof c->detail, "%s",
             sym && dladdr(sym, &info) && info.dli_fname ? info.dli_fname : "libbinaryen.so");
    dlclose(h);
  } else {
    snprintf(c->detail, sizeof c->detail, "libbinaryen.so not found by the dynamic loader");
  }
}

/* What the host gives the engine and the runtime: architecture (and
 * emulation), guard-page faults (required), dirty-page tracking (a fallback
 * exists, so never missing: the detail names the fallback). */
static void probe_host(kafu_tc_check *checks, size_t *n) {
  kafu_tc_check *c = &checks[(*n)++];
  init(c, "architecture", "", false);
  char emu[128];
  kafu_engine_emulator(emu, sizeof emu);
  c->ok = true;
  snprintf(c->detail, sizeof c->detail, "%s (%s)%s%s", kafu_engine_arch(), kafu_engine_triple(),
           emu[0] ? ", under " : "", emu);
  c = &checks[(*n)++];
  init(c, "memory bounds (guard pages)", "", true);
  const char *gd;
  c->ok = kafu_engine_guard_pages_ok(&gd);
  snprintf(c->detail, sizeof c->detail, "%s%s", gd, c->ok ? "" : ": wasm memory bounds cannot be enforced");
  c = &checks[(*n)++];
  init(c, "dirty-page tracking", "", false);
  kafu_err e = {0};
  c->ok = true;
  if (kafu_dirty_probe(&e) == 0)
    snprintf(c->detail, sizeof c->detail, "userfaultfd write-protection");
  else
    snprintf(c->detail, sizeof c->detail, "page hashing (fallback: %.400s)", e.msg);
}

static void probe_file(kafu_tc_check *c, const char *override, const char *dflt) {
  const char *p = override ? override : dflt;
  struct stat st;
  c->ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
  snprintf(c->detail, sizeof c->detail, c->ok ? "%s" : "%s not found", p);
}

/* The engine cache: created if needed, and a file must be creatable in it. */
static void probe_cache(kafu_tc_check *c) {
  init(c, "cache directory", "", true);
  char dir[PATH_MAX];
  const char *src;
  if (kafu_tunables_get()->cache_dir) {
    snprintf(dir, sizeof dir, "%s", kafu_tunables_get()->cache_dir);
    src = "KAFU_CACHE_DIR";
  } else if (env("XDG_CACHE_HOME")) {
    snprintf(dir, sizeof dir, "%s/kafu", env("XDG_CACHE_HOME"));
    src = "XDG_CACHE_HOME";
  } else if (env("HOME")) {
    snprintf(dir, sizeof dir, "%s/.cache/kafu", env("HOME"));
    src = "HOME";
  } else {
    snprintf(c->detail, sizeof c->detail, "none of KAFU_CACHE_DIR, XDG_CACHE_HOME, HOME is set");
    return;
  }
  kafu_err e;
  if (kafu_mkdirs(dir, 0755, &e) < 0) {
    snprintf(c->detail, sizeof c->detail,
             "%.250s (from %s): %.120s; set KAFU_CACHE_DIR to a writable directory", dir, src, e.msg);
    return;
  }
  char probe[PATH_MAX + 32];
  snprintf(probe, sizeof probe, "%s/.doctor-XXXXXX", dir);
  int fd = mkstemp(probe);
  if (fd < 0) {
    snprintf(c->detail, sizeof c->detail, "%.300s (from %s) is not writable: %s; set KAFU_CACHE_DIR", dir,
             src, strerror(errno));
    return;
  }
  close(fd);
  unlink(probe);
  c->ok = true;
  snprintf(c->detail, sizeof c->detail, "%.500s", dir);
}

/* The original Kafu SDK layout: <sdk>/libexec/kafu_clang, ... (cmd_list.c).
 * Required when KAFU_SDK_PATH is set: the user's Makefiles rely on it. */
static void probe_sdk(kafu_tc_check *c, char **dir, kafu_subcommand **subs, size_t *nsubs) {
  const char *sdk = kafu_tunables_get()->sdk_path;
  init(c, "SDK layout (libexec/kafu_*)", "", sdk != NULL);
  kafu_err e = {0};
  *dir = kafu_cli_libexec_dir();
  if (!*dir || kafu_cli_subcommands(*dir, subs, nsubs, &e) < 0) {
    snprintf(c->detail, sizeof c->detail, "%.400s%s", *dir ? e.msg : "out of memory",
             sdk ? " (KAFU_SDK_PATH must be a Kafu install prefix)" : " (reinstall kafu: make install)");
    return;
  }
  for (size_t i = 0; i < *nsubs; i++) c->ok |= !strcmp((*subs)[i].name, "clang");
  snprintf(c->detail, sizeof c->detail, "%.400s: %zu subcommand%s%s", *dir, *nsubs, *nsubs == 1 ? "" : "s",
           !c->ok ? ", no kafu_clang (reinstall kafu: make install)"
           : !sdk ? "; KAFU_SDK_PATH not set (the original Makefiles want it: the install prefix)"
                  : "");
}

static void print_warn(void *ctx, const char *msg) {
  (void)ctx;
  printf("  WARN     %-32s %s\n", "config", msg);
}

int kafu_cmd_doctor(int argc, char **argv) {
  const kafu_tunables *t = kafu_tunables_get();
  bool quiet = false, verbose = false, node = false;
  const char *config = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
      quiet = true;
    } else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
      verbose = true;
    } else if (!strcmp(argv[i], "--node")) {
      node = true;
    } else if (argv[i][0] != '-' && !config) {
      config = argv[i];
    } else {
      fprintf(stderr, "kafu doctor: unknown option '%s'\nRun `kafu doctor --help` for usage.\n", argv[i]);
      return KAFU_EXIT_USAGE;
    }
  }
  kafu_tc_check checks[28];
  size_t n = 0;
  kafu_tc_check *c;
  if (!node) {
    kafu_toolchain tc;
    kafu_toolchain_find(&tc);
    n = kafu_toolchain_check(&tc, checks, 16);
    for (size_t i = 0; i < n; i++)
      if (!strcmp(checks[i].name, "clang")) append_version(&checks[i], "--version");
    kafu_toolchain_free(&tc);
    probe_binaryen(&checks[n++]);
  }
  probe_host(checks, &n);
  c = &checks[n++];
  init(c, "wasm2c", "wabt", !node);
  probe_exe(c, "KAFU_WASM2C", t->wasm2c, (const char *const[]){"wasm2c", NULL});
  append_version(c, "--version");
  c = &checks[n++];
  init(c, "wasm2c runtime (wasm-rt-impl.c)", "wabt", !node);
  probe_file(c, t->wasm_rt_impl, "/usr/share/wabt/wasm2c/wasm-rt-impl.c");
  c = &checks[n++];
  init(c, "C compiler for AOT", "gcc", !node);
  c->ok = kafu_engine_toolchain_check(NULL, c->detail, sizeof c->detail) == 0;
  probe_cache(&checks[n++]);
  if (!node) {
    c = &checks[n++];
    init(c, "llvm-ar (static libraries)", "llvm", false);
    probe_exe(c, "KAFU_LLVM_AR", t->llvm_ar, (const char *const[]){"llvm-ar", "llvm-ar-14", NULL});
    c = &checks[n++];
    init(c, "node (optional)", "nodejs", false);
    probe_exe(c, "KAFU_NODE", t->node, (const char *const[]){"node", "nodejs", NULL});
    append_version(c, "--version");
  }
  char *sdk_dir = NULL;
  kafu_subcommand *subs = NULL;
  size_t nsubs = 0;
  if (!node) probe_sdk(&checks[n++], &sdk_dir, &subs, &nsubs);

  if (!quiet) printf("kafu doctor (kafu %s)\n", KAFU_VERSION);
  kafu_buf pkgs = {0};
  const char *listed[24];
  size_t nlisted = 0;
  int missing = 0;
  for (size_t i = 0; i < n; i++) {
    c = &checks[i];
    if (c->ok) {
      if (!quiet) printf("  OK       %-32s %s\n", c->name, c->detail);
      continue;
    }
    printf("  MISSING  %-32s %s", c->name, c->detail);
    if (*c->package) printf("  [Debian package: %s]", c->package);
    printf("\n");
    if (!c->required) continue;
    missing++;
    bool dup = !*c->package;
    for (size_t j = 0; j < nlisted && !dup; j++) dup = !strcmp(listed[j], c->package);
    if (dup) continue;
    listed[nlisted++] = c->package;
    kafu_buf_printf(&pkgs, " %s", c->package);
  }
  if (config) {
    kafu_err err = {0};
    kafu_config *cfg = NULL;
    if (kafu_config_load(config, &cfg, &err)) {
      printf("  BAD      %-32s %s\n", "config", err.msg);
      missing++;
    } else {
      if (!quiet) printf("  OK       %-32s %s\n", "config", cfg->config_path);
      kafu_config_warnings(cfg, print_warn, NULL);
      kafu_config_free(cfg);
    }
  }
  if (missing) {
    printf("kafu doctor: %d required piece%s missing.", missing, missing == 1 ? "" : "s");
    if (pkgs.len)
      printf(" Install with: apt-get install%s (or run scripts/install-deps.sh as root)",
             kafu_buf_cstr(&pkgs));
    printf("\n");
  } else if (!quiet) {
    printf("kafu doctor: all required checks passed\n");
  }
  if (verbose && nsubs) {
    printf("installed subcommands (%s):\n", sdk_dir);
    for (size_t i = 0; i < nsubs; i++) printf("  - %s (%s)\n", subs[i].name, subs[i].path);
  }
  kafu_cli_subcommands_free(subs, nsubs);
  free(sdk_dir);
  kafu_buf_free(&pkgs);
  return missing ? 1 : 0;
}
