/*
 * cmd_aot.c — `kafu aot`: compile modules into the engine cache ahead of time
 * (e.g. while building a container image), so nodes start from a cache hit.
 * Prints the cached artifact of each module, one path per line. With
 * --target, cross-compiles for other architectures (docs/heterogeneous.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafu/engine.h"
#include "kafu/util.h"

void kafu_usage_aot(void) {
  printf(
      "Usage: kafu aot [--cache-dir DIR] [--target TRIPLE]... [--force] MODULE.wasm...\n"
      "\n"
      "Precompile wasm modules to native code (wasm2c + the system C compiler) into\n"
      "the engine cache, and print the path of each cached artifact. `kafu run`,\n"
      "`kafu serve` and `kafu singlenode` then start without compiling.\n"
      "\n"
      "Options:\n"
      "  --cache-dir DIR   cache directory (default: $KAFU_CACHE_DIR, else\n"
      "                    $XDG_CACHE_HOME/kafu, else ~/.cache/kafu)\n"
      "  --target TRIPLE   build for this architecture instead of this machine's:\n"
      "                    aarch64-linux-gnu (arm64), x86_64-linux-gnu (amd64),\n"
      "                    riscv64-linux-gnu; repeat for several. Uses TRIPLE-gcc\n"
      "                    (Debian: gcc-aarch64-linux-gnu, ...) or $KAFU_CC if it\n"
      "                    builds for TRIPLE. A node without a C compiler loads\n"
      "                    the result from its cache, from app.aot_dir (copy DIR\n"
      "                    there), or fetches it from a peer that has it.\n"
      "  --force           recompile even if the cache already holds the module\n"
      "  -h, --help        show this help\n"
      "\n"
      "The cache key is the module's sha256, the engine version, the C compiler's\n"
      "identity (`cc --version`) and the wabt version, so a toolchain upgrade never\n"
      "loads stale code. Set KAFU_CC to choose the compiler. Artifacts are stored as\n"
      "DIR/aot/<module sha256>/<arch>-<engine>-<toolchain>.so.\n");
}

int kafu_cmd_aot(int argc, char **argv) {
  const char *cache_dir = NULL, *target = NULL;
  const char *targets[8];
  int ntargets = 0;
  bool force = false;
  int first = argc;
  kafu_err oerr = {0};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) {
      first = i + 1;
      break;
    }
    if (argv[i][0] != '-' || !argv[i][1]) {
      first = i;
      break;
    }
    int r;
    if (!strcmp(argv[i], "--force")) {
      force = true;
    } else if ((r = kafu_opt_value(argc, argv, &i, "--cache-dir", NULL, &cache_dir, &oerr)) != 0) {
      if (r < 0) return kafu_cli_usage_error("aot", "%s", oerr.msg);
    } else if ((r = kafu_opt_value(argc, argv, &i, "--target", NULL, &target, &oerr)) != 0) {
      if (r < 0) return kafu_cli_usage_error("aot", "%s", oerr.msg);
      if (!kafu_engine_target_arch(target))
        return kafu_cli_usage_error("aot",
                                    "unsupported --target '%s' (supported: x86_64-linux-gnu, "
                                    "aarch64-linux-gnu, riscv64-linux-gnu, or their architecture names)",
                                    target);
      if (ntargets == (int)(sizeof targets / sizeof targets[0]))
        return kafu_cli_usage_error("aot", "too many --target options");
      targets[ntargets++] = target;
    } else {
      fprintf(stderr, "kafu aot: unknown option '%s'\nRun `kafu aot --help` for usage.\n", argv[i]);
      return KAFU_EXIT_USAGE;
    }
  }
  if (first >= argc) {
    fprintf(stderr, "kafu aot: missing MODULE.wasm\nRun `kafu aot --help` for usage.\n");
    return KAFU_EXIT_USAGE;
  }
  int rc = 0;
  for (int i = first; i < argc; i++) {
    /* options after the first module are accepted too */
    if (!strcmp(argv[i], "--force")) {
      force = true;
      continue;
    }
    kafu_engine_opts eo = {
        .cache_dir = cache_dir, .progress = -1, .force_compile = force, .require_cache = true};
    kafu_err err = {0};
    if (!ntargets) {
      kafu_module *m = NULL;
      if (kafu_module_load_file(argv[i], &eo, &m, &err) != 0) {
        fprintf(stderr, "kafu aot: error: %s\n", err.msg);
        rc = 1;
        continue;
      }
      printf("%s\n", kafu_module_artifact(m));
      kafu_debug("aot: %s %s", argv[i], kafu_module_compiled(m) ? "compiled" : "already cached");
      kafu_module_free(m);
      continue;
    }
    uint8_t *wasm;
    size_t len;
    if (kafu_read_file(argv[i], &wasm, &len, &err) != 0) {
      fprintf(stderr, "kafu aot: error: %s\n", err.msg);
      rc = 1;
      continue;
    }
    eo.name = kafu_path_basename(argv[i]);
    for (int k = 0; k < ntargets; k++) {
      char path[4096];
      bool built = false;
      if (kafu_engine_compile_for(wasm, len, targets[k], &eo, path, sizeof path, &built, &err) != 0) {
        fprintf(stderr, "kafu aot: error: %s (--target %s): %s\n", argv[i], targets[k], err.msg);
        rc = 1;
        continue;
      }
      printf("%s\n", path);
      kafu_debug("aot: %s for %s %s", argv[i], targets[k], built ? "compiled" : "already cached");
    }
    free(wasm);
  }
  return rc;
}
