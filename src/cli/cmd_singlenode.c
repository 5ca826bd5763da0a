/*
 * cmd_singlenode.c — `kafu singlenode serve [--verify] [--events FILE] CONFIG`.
 *
 * Runs the whole app in one process. By default a migration point only switches
 * the "current node" (fast emulation, like the original's kafu_singlenode).
 * With --verify every migration is a real checkpoint -> encode -> fresh
 * instance -> decode -> restore -> rewind, so the whole program state travels
 * through the snapshot format: the in-process proof that migration is exact.
 * Exit code = the program's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafu/config.h"
#include "kafu/runtime.h"

void kafu_usage_singlenode(void) {
  printf(
      "Usage: kafu singlenode serve [--verify] [--events FILE] CONFIG\n"
      "\n"
      "Run a Kafu app in one process, playing every node of CONFIG (kafu-config.yaml).\n"
      "Execution starts on the first node; each call of a KAFU_DEST function switches the\n"
      "current node, and its return switches back. Exit code = the program's.\n"
      "\n"
      "Options:\n"
      "  --verify       make every migration a real checkpoint/restore into a fresh instance\n"
      "                 (the state travels through the snapshot format)\n"
      "  --events FILE  write JSON Lines events (start, migration, finish) to FILE\n"
      "  -q, --quiet    only warnings and errors on stderr\n"
      "  -h, --help     show this help\n");
}

int kafu_cmd_singlenode(int argc, char **argv) {
  int i = 1;
  if (i < argc && !strcmp(argv[i], "serve")) i++;
  bool verify = false;
  const char *events_path = NULL, *config_path = NULL;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--verify")) {
      verify = true;
    } else if (!strcmp(a, "--events") && i + 1 < argc) {
      events_path = argv[++i];
    } else if (!strncmp(a, "--events=", 9)) {
      events_path = a + 9;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      kafu_log_set_level(KAFU_LOG_WARN);
    } else if (!strcmp(a, "--")) {
      if (i + 1 < argc) config_path = argv[++i];
    } else if (a[0] == '-') {
      fprintf(stderr, "kafu singlenode: unknown option '%s'\nRun `kafu singlenode --help` for usage.\n", a);
      return KAFU_EXIT_USAGE;
    } else if (!config_path) {
      config_path = a;
    } else {
      fprintf(stderr, "kafu singlenode: unexpected argument '%s'\n", a);
      return KAFU_EXIT_USAGE;
    }
  }
  if (!config_path) {
    fprintf(stderr, "kafu singlenode: missing CONFIG\nRun `kafu singlenode --help` for usage.\n");
    return KAFU_EXIT_USAGE;
  }

  kafu_err err = {0};
  kafu_config *cfg = NULL;
  if (kafu_config_load(config_path, &cfg, &err)) {
    fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
    return 1;
  }
  uint8_t *wasm = NULL;
  size_t wasm_len = 0;
  if (kafu_config_load_app(cfg, &wasm, &wasm_len, &err)) {
    fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
    kafu_config_free(cfg);
    return 1;
  }
  FILE *events = NULL;
  if (events_path) {
    events = fopen(events_path, "w");
    if (!events) {
      fprintf(stderr, "kafu singlenode: error: %s: cannot write events: %m\n", events_path);
      free(wasm);
      kafu_config_free(cfg);
      return 1;
    }
  }
  kafu_runtime_opts ro = {.cfg = cfg, .wasm = wasm, .wasm_len = wasm_len, .events = events,
                          .mode = verify ? KAFU_RT_VERIFY : KAFU_RT_EMULATE};
  kafu_runtime *rt = NULL;
  int code = 1;
  if (kafu_runtime_new(&ro, &rt, &err)) {
    fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
  } else {
    kafu_rt_result res;
    if (kafu_runtime_run(rt, &res, &err)) {
      fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
    } else {
      code = res.exit_code;
      if (res.status == KAFU_RT_TRAPPED || res.status == KAFU_RT_FAILED)
        fprintf(stderr, "kafu singlenode: error: %s\n", res.message);
    }
  }
  kafu_runtime_free(rt);
  if (events) fclose(events);
  free(wasm);
  kafu_config_free(cfg);
  return code;
}
