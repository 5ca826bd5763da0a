/*
 * cmd_checkpoint.c — `kafu checkpoint -o FILE CONFIG`: take a snapshot of a
 * running cluster's program on demand, at its next migration point, for
 * `kafu restore` (the client is src/cluster/checkpoint.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafu/cluster.h"
#include "kafu/config.h"

#define CHECKPOINT_USAGE "Usage: kafu checkpoint [--node ID] [--timeout-ms N] [-q] -o FILE [CONFIG]\n"

void kafu_usage_checkpoint(void) {
  printf(CHECKPOINT_USAGE
         "\n"
         "Take a checkpoint of the program a cluster of CONFIG (default: ./kafu-config.yaml)\n"
         "is running, without stopping it: the node running it writes a full snapshot\n"
         "when the program next reaches a migration point (the call or return of a\n"
         "KAFU_DEST function) and goes on. The snapshot is written to FILE;\n"
         "`kafu restore FILE CONFIG` resumes it.\n"
         "A program that reaches no migration point within the timeout gets none.\n"
         "\n"
         "Options:\n"
         "  -o FILE          where to write the snapshot (required)\n"
         "  --node ID        ask this node only (default: the one running the program)\n"
         "  --timeout-ms N   how long to wait for a migration point (default 30000)\n"
         "  -q, --quiet      print only errors\n"
         "  -h, --help       show this help\n");
}

int kafu_cmd_checkpoint(int argc, char **argv) {
  const char *out = NULL, *node = NULL, *config = NULL, *tmo = NULL;
  bool quiet = false;
  kafu_err oerr = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r;
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = true;
    } else if ((r = kafu_opt_value(argc, argv, &i, "-o", NULL, &out, &oerr)) ||
               (r = kafu_opt_value(argc, argv, &i, "--node", NULL, &node, &oerr)) ||
               (r = kafu_opt_value(argc, argv, &i, "--timeout-ms", NULL, &tmo, &oerr))) {
      if (r < 0) return kafu_cli_usage_error("checkpoint", "%s", oerr.msg);
    } else if (a[0] == '-' && a[1]) {
      return kafu_cli_usage_error("checkpoint", "unknown option '%s'", a);
    } else if (config) {
      return kafu_cli_usage_error("checkpoint", "unexpected argument '%s' (one CONFIG only)", a);
    } else {
      config = a;
    }
  }
  if (!out) return kafu_cli_usage_error("checkpoint", "missing -o FILE");
  if (!config) config = KAFU_CONFIG_DEFAULT_FILE;
  long timeout = 30000;
  if (tmo) {
    char *end;
    timeout = strtol(tmo, &end, 10);
    if (*end || timeout < 1 || timeout > 86400000)
      return kafu_cli_usage_error("checkpoint", "--timeout-ms must be 1..86400000, got '%s'", tmo);
  }
  kafu_err err = {0};
  kafu_config *cfg = NULL;
  if (kafu_config_load(config, &cfg, &err)) {
    fprintf(stderr, "kafu checkpoint: error: %s\n", err.msg);
    return 1;
  }
  kafu_buf snap = {0};
  char on[64] = "";
  int rc = kafu_cluster_checkpoint(cfg, node, timeout, &snap, on, &err);
  if (!rc) rc = kafu_write_file_atomic(out, snap.data, snap.len, &err);
  if (rc)
    fprintf(stderr, "kafu checkpoint: error: %s\n", err.msg);
  else if (!quiet)
    fprintf(stderr, "kafu checkpoint: %s: %zu bytes, taken on node %s\n", out, snap.len, on);
  kafu_buf_free(&snap);
  kafu_config_free(cfg);
  return rc ? 1 : 0;
}
