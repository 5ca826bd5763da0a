/*
 * cmd_aot.c — `kafu aot`: compile modules into the engine cache ahead of time
 * (e.g. while building a container image), so nodes start from a cache hit.
 * Prints the cached artifact of each module, one path per line.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "kafu/engine.h"
#include "kafu/util.h"

void kafu_usage_aot(void) {
  printf(
      "Usage: kafu aot [--cache-dir DIR] [--force] MODULE.wasm...\n"
      "\n"
      "Precompile wasm modules to native code (wasm2c + the system C compiler) into\n"
      "the engine cache, and print the path of each cached artifact. `kafu run`,\n"
      "`kafu serve` and `kafu singlenode` then start without compiling.\n"
      "\n"
      "Options:\n"
      "  --cache-dir DIR   cache directory (default: $KAFU_CACHE_DIR, else\n"
      "                    $XDG_CACHE_HOME/kafu, else ~/.cache/kafu)\n"
      "  --force           recompile even if the cache already holds the module\n"
      "  -h, --help        show this help\n"
      "\n"
      "The cache key is the module's sha256, the engine version, the C compiler's\n"
      "identity (`cc --version`) and the wabt version, so a toolchain upgrade never\n"
      "loads stale code. Set KAFU_CC to choose the compiler.\n");
}

int kafu_cmd_aot(int argc, char **argv) {
  const char *cache_dir = NULL;
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
    kafu_module *m = NULL;
    kafu_err err = {0};
    if (kafu_module_load_file(argv[i], &eo, &m, &err) != 0) {
      fprintf(stderr, "kafu aot: error: %s\n", err.msg);
      rc = 1;
      continue;
    }
    printf("%s\n", kafu_module_artifact(m));
    kafu_debug("aot: %s %s", argv[i], kafu_module_compiled(m) ? "compiled" : "already cached");
    kafu_module_free(m);
  }
  return rc;
}
