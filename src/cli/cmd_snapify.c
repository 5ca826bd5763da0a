/*
 * cmd_snapify.c — `kafu snapify IN.wasm -o OUT.wasm`: the Snapify
 * transformation on its own (kafu cc runs the same library call after
 * linking). See docs/snapify.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafu/snapify.h"
#include "kafu/util.h"

void kafu_usage_snapify(void) {
  printf(
      "Usage: kafu snapify IN.wasm -o OUT.wasm [--kafu-stack-size=BYTES] [--allow-unused-annotations] [-v]\n"
      "\n"
      "Make a wasm32-wasi command module migratable at its KAFU_DEST functions:\n"
      "wrap each annotated function with migration points (import\n"
      "kafu.migration_point), export the mutable globals and the Asyncify\n"
      "controls, run Binaryen's Asyncify on the functions that can be on the\n"
      "stack at a migration point, and record kafu.meta (docs/abi.md).\n"
      "An already-Snapified module is copied unchanged.\n"
      "\n"
      "Options:\n"
      "  -o, --output FILE          write the result here (required)\n"
      "      --kafu-stack-size=N    Asyncify buffer size in bytes (K/M suffixes allowed;\n"
      "                             default 1M); must match the size kafu_rt.c reserved\n"
      "      --allow-unused-annotations\n"
      "                             accept a KAFU_DEST function that is never called\n"
      "                             inside the module (its calls were inlined or removed,\n"
      "                             or it is unused on purpose): a warning, not an error\n"
      "  -v, --verbose              print what is instrumented and the size change\n"
      "  -h, --help                 show this help\n");
}

int kafu_cmd_snapify(int argc, char **argv) {
  const char *in = NULL, *out = NULL;
  kafu_snapify_opts opts = {0};
  kafu_err oerr = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = NULL;
    int r;
    if ((r = kafu_opt_value(argc, argv, &i, "--output", "-o", &out, &oerr)) != 0) {
      if (r < 0) return kafu_cli_usage_error("snapify", "%s", oerr.msg);
    } else if ((r = kafu_opt_value(argc, argv, &i, "--kafu-stack-size", NULL, &val, &oerr)) != 0) {
      if (r < 0) return kafu_cli_usage_error("snapify", "%s", oerr.msg);
      if (kafu_snapify_parse_size(val, &opts.asyncify_buf_size) < 0 || opts.asyncify_buf_size == 0) {
        fprintf(
            stderr,
            "kafu snapify: error: --kafu-stack-size: '%s' is not a size in bytes (e.g. 1048576, 64K, 2M)\n",
            val);
        return 1;
      }
    } else if (!strcmp(a, "--allow-unused-annotations")) {
      opts.allow_unused_annotations = true;
    } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      opts.verbose = true;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "kafu snapify: unknown option '%s'\nRun `kafu snapify --help` for usage.\n", a);
      return KAFU_EXIT_USAGE;
    } else if (!in) {
      in = a;
    } else {
      fprintf(stderr, "kafu snapify: unexpected argument '%s' (one input module only)\n", a);
      return KAFU_EXIT_USAGE;
    }
  }
  if (!in || !out) {
    fprintf(stderr,
            "kafu snapify: %s\nUsage: kafu snapify IN.wasm -o OUT.wasm [--kafu-stack-size=BYTES] [--allow-unused-annotations] [-v]\n",
            !in ? "missing input module" : "missing -o OUT.wasm");
    return KAFU_EXIT_USAGE;
  }
  if (opts.verbose && kafu_log_get_level() < KAFU_LOG_INFO) kafu_log_set_level(KAFU_LOG_INFO);

  kafu_err err = {0};
  uint8_t *data = NULL, *res = NULL;
  size_t len = 0, res_len = 0;
  if (kafu_read_file(in, &data, &len, &err) < 0) {
    fprintf(stderr, "kafu snapify: error: %s\n", err.msg);
    return 1;
  }
  kafu_snapify_info info;
  int rc = kafu_snapify_ex(data, len, &opts, &res, &res_len, &info, &err);
  free(data);
  if (rc < 0) {
    fprintf(stderr, "kafu snapify: error: %s: %s\n", in, err.msg);
    return 1;
  }
  if (info.already_snapified)
    fprintf(stderr, "kafu snapify: %s is already Snapified; copied unchanged\n", in);
  rc = kafu_write_file_atomic(out, res, res_len, &err);
  free(res);
  kafu_snapify_info_free(&info);
  if (rc < 0) {
    fprintf(stderr, "kafu snapify: error: %s\n", err.msg);
    return 1;
  }
  return 0;
}
