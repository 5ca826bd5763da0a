/*
 * cmd_restore.c — `kafu restore SNAPSHOT CONFIG`: resume a program from a
 * snapshot that --save-snapshots or `kafu checkpoint` wrote, the way CRIU
 * pairs `criu dump` with `criu restore`: the snapshot is the dump, and restore
 * is a command of its own that starts the program from it instead of from
 * `_start`. Where it runs mirrors the commands that start a program:
 *
 *   kafu restore SNAP CONFIG                 every node on this machine (as kafu launch)
 *   kafu restore --node-id ID SNAP CONFIG    this machine's node of a cluster (as kafu serve;
 *                                            ID must be the coordinator)
 *   kafu restore --singlenode SNAP CONFIG    one process playing every node (as kafu singlenode)
 *
 * The snapshot is validated in full before anything starts: format and every
 * checksum, the module's sha256 against CONFIG's app, the migration stack,
 * globals and the node it resumes on against this module and config, and a
 * full memory image (a delta cannot be resumed alone: its full companion
 * NNNN-..full.kafusnap, written next to it, is used when present).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "kafu/cluster.h"
#include "kafu/config.h"
#include "kafu/runtime.h"

#define RESTORE_USAGE                                                                   \
  "Usage: kafu restore [--node-id ID | --singlenode [--verify]] [--events FILE] [-q]\n" \
  "                    SNAPSHOT [CONFIG]\n"

void kafu_usage_restore(void) {
  printf(RESTORE_USAGE
         "\n"
         "Resume a program from SNAPSHOT (written by --save-snapshots or `kafu checkpoint`)\n"
         "instead of starting it: a new run begins where the snapshot was taken, on the\n"
         "node it was taken for. CONFIG (default: ./kafu-config.yaml) must run the same\n"
         "module (its sha256 is checked) and have that node; addresses and ports may\n"
         "differ. The snapshot is validated in full first (format, checksums, module,\n"
         "migration stack, globals, full memory image); a bad one is refused before\n"
         "anything starts. Files the program had open are reopened beneath the node's\n"
         "app.preopened_dir.\n"
         "\n"
         "Where it runs:\n"
         "  (default)        every node on this machine, like `kafu launch`\n"
         "  --node-id ID     this node only, like `kafu serve` (ID must be the coordinator,\n"
         "                   the first node; run `kafu serve` on the others)\n"
         "  --singlenode     one process playing every node, like `kafu singlenode`\n"
         "\n"
         "Options:\n"
         "  --verify         with --singlenode: every later migration is a real checkpoint\n"
         "  --events FILE    write JSON Lines events to FILE\n"
         "  --no-prefix      (default mode) node output without \"[node-id] \" prefixes\n"
         "  -q, --quiet      log only warnings and errors (the nodes too)\n"
         "  -h, --help       show this help\n"
         "\n"
         "Exit status: the program's exit code; 1 when the snapshot is refused or the\n"
         "cluster fails; 2 for a usage error.\n");
}

/* The companion of a delta snapshot, "X.kafusnap" -> "X.full.kafusnap". */
static char *full_companion(const char *path) {
  size_t n = strlen(path);
  const char *ext = ".kafusnap";
  size_t e = strlen(ext);
  if (n <= e || strcmp(path + n - e, ext) || (n > 5 + e && !strncmp(path + n - e - 5, ".full", 5)))
    return NULL;
  char *p = malloc(n + 6);
  if (!p) return NULL;
  memcpy(p, path, n - e);
  memcpy(p + n - e, ".full.kafusnap", 15);
  return p;
}

/* Full validation: a runtime for CONFIG's module takes the snapshot as its
 * pending checkpoint (nothing runs). */
static int check_snapshot(const kafu_config *cfg, const char *path, kafu_err *err) {
  uint8_t *wasm = NULL, *snap = NULL;
  size_t wasm_len = 0, snap_len = 0;
  kafu_runtime *rt = NULL;
  int rc = kafu_read_file(path, &snap, &snap_len, err);
  if (rc) return rc;
  if (!(rc = kafu_config_load_app(cfg, &wasm, &wasm_len, err))) {
    kafu_runtime_opts ro = {.cfg = cfg, .wasm = wasm, .wasm_len = wasm_len, .mode = KAFU_RT_EMULATE};
    if (!(rc = kafu_runtime_new(&ro, &rt, err))) rc = kafu_runtime_arm_snapshot(rt, snap, snap_len, err);
  }
  kafu_runtime_free(rt);
  free(wasm);
  free(snap);
  return rc;
}

int kafu_cmd_restore(int argc, char **argv) {
  const char *node_id = NULL, *events = NULL, *snap = NULL, *config = NULL;
  bool singlenode = false, verify = false, no_prefix = false, quiet = false, dashdash = false;
  kafu_err oerr = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r = 0;
    if (dashdash || a[0] != '-' || !a[1]) {
      if (!snap)
        snap = a;
      else if (!config)
        config = a;
      else
        return kafu_cli_usage_error("restore", "unexpected argument '%s' (one SNAPSHOT and one CONFIG)", a);
    } else if (!strcmp(a, "--")) {
      dashdash = true;
    } else if (!strcmp(a, "--singlenode")) {
      singlenode = true;
    } else if (!strcmp(a, "--verify")) {
      verify = true;
    } else if (!strcmp(a, "--no-prefix")) {
      no_prefix = true;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = true;
    } else if ((r = kafu_opt_value(argc, argv, &i, "--node-id", NULL, &node_id, &oerr)) ||
               (r = kafu_opt_value(argc, argv, &i, "--events", NULL, &events, &oerr))) {
      if (r < 0) return kafu_cli_usage_error("restore", "%s", oerr.msg);
    } else {
      return kafu_cli_usage_error("restore", "unknown option '%s'", a);
    }
  }
  if (!snap) return kafu_cli_usage_error("restore", "missing SNAPSHOT");
  if (!config) config = KAFU_CONFIG_DEFAULT_FILE;
  if (singlenode && node_id)
    return kafu_cli_usage_error("restore", "--singlenode and --node-id exclude each other");
  if (verify && !singlenode) return kafu_cli_usage_error("restore", "--verify goes with --singlenode");
  if (quiet) kafu_log_set_level(KAFU_LOG_WARN);

  kafu_err err = {0};
  kafu_config *cfg = NULL;
  if (kafu_config_load(config, &cfg, &err)) {
    fprintf(stderr, "kafu restore: error: %s\n", err.msg);
    return 1;
  }
  if (node_id && strcmp(node_id, cfg->nodes[0].id)) {
    fprintf(stderr,
            "kafu restore: error: a run is restored by the coordinator (node %s, the first in `nodes`); run "
            "`kafu serve --node-id %s` on that node's machine and `kafu restore --node-id %s` on node %s's\n",
            cfg->nodes[0].id, node_id, cfg->nodes[0].id, cfg->nodes[0].id);
    kafu_config_free(cfg);
    return 1;
  }
  /* validated here, before any node starts */
  char *use = strdup(snap);
  if (check_snapshot(cfg, use, &err)) {
    char *full = full_companion(snap);
    kafu_err e2 = {0};
    if (full && access(full, R_OK) == 0 && check_snapshot(cfg, full, &e2) == 0) {
      fprintf(stderr, "kafu restore: %s is a delta; resuming its full companion %s\n", snap, full);
      free(use);
      use = full;
    } else {
      free(full);
      fprintf(stderr, "kafu restore: error: %s: %s\n", snap, err.msg);
      free(use);
      kafu_config_free(cfg);
      return 1;
    }
  }
  int rc;
  if (singlenode) {
    char *args[10];
    int a = 0;
    args[a++] = "singlenode";
    if (verify) args[a++] = "--verify";
    if (quiet) args[a++] = "-q";
    if (events) args[a++] = "--events", args[a++] = (char *)events;
    args[a++] = "--restore";
    args[a++] = use;
    args[a++] = (char *)config;
    args[a] = NULL;
    rc = kafu_cmd_singlenode(a, args);
  } else if (node_id) {
    char *args[12];
    int a = 0;
    args[a++] = "serve";
    if (quiet) args[a++] = "-q";
    args[a++] = "--node-id", args[a++] = (char *)node_id;
    if (events) args[a++] = "--events", args[a++] = (char *)events;
    args[a++] = "--restore";
    args[a++] = use;
    args[a++] = "--";
    args[a++] = (char *)config;
    args[a] = NULL;
    rc = kafu_cmd_serve(a, args);
  } else if (kafu_launch_check(cfg, &err)) {
    fprintf(stderr, "kafu restore: error: %s\n", err.msg);
    rc = 1;
  } else {
    kafu_launch_opts o = {.cfg = cfg,
                          .config_path = cfg->config_path,
                          .no_prefix = no_prefix,
                          .events_path = events,
                          .restore_path = use,
                          .quiet = quiet};
    rc = kafu_launch_run(&o, &err);
    if (rc < 0 || err.msg[0]) fprintf(stderr, "kafu restore: error: %s\n", err.msg);
    if (rc < 0) rc = 1;
  }
  free(use);
  kafu_config_free(cfg);
  return rc;
}
