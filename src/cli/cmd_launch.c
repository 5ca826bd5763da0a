/*
 * cmd_launch.c — `kafu launch`: start every node of a loopback config as a
 * local `kafu serve` process and exit with the program's exit code (the
 * process manager is src/cluster/launch.c).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "kafu/cluster.h"
#include "kafu/config.h"

void kafu_usage_launch(void) {
  printf(
      "Usage: kafu launch [--no-prefix] [--events FILE] CONFIG\n"
      "\n"
      "Start every node of CONFIG on this machine, each as a `kafu serve --node-id ID\n"
      "CONFIG` process, and exit with the program's exit code, as the node where the\n"
      "program ended reports it. A node killed from outside does not end the run:\n"
      "its calls fail over (docs/migration.md). Every node address must be local\n"
      "(127.0.0.1, localhost or ::1).\n"
      "\n"
      "Output of the nodes is shown line by line, prefixed with \"[node-id] \".\n"
      "\n"
      "Options:\n"
      "  --no-prefix     no prefixes: the nodes write straight to this terminal, so the\n"
      "                  program's stdout appears exactly as it wrote it\n"
      "  --events FILE   write every node's migration events to FILE (JSON Lines, in\n"
      "                  time order; same records as `kafu singlenode --events`)\n"
      "  -h, --help      show this help\n"
      "\n"
      "Ctrl-C / SIGTERM are forwarded to the nodes (twice: killed).\n");
}

int kafu_cmd_launch(int argc, char **argv) {
  const char *config = NULL, *events = NULL;
  bool no_prefix = false;
  kafu_err oerr = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r;
    if (!strcmp(a, "--no-prefix")) {
      no_prefix = true;
    } else if ((r = kafu_opt_value(argc, argv, &i, "--events", NULL, &events, &oerr)) != 0) {
      if (r < 0) return kafu_cli_usage_error("launch", "%s", oerr.msg);
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr,
              "kafu launch: unknown option '%s'\nUsage: kafu launch [--no-prefix] [--events FILE] CONFIG\n",
              a);
      return KAFU_EXIT_USAGE;
    } else if (config) {
      fprintf(stderr, "kafu launch: unexpected argument '%s' (one CONFIG only)\n", a);
      return KAFU_EXIT_USAGE;
    } else {
      config = a;
    }
  }
  if (!config) {
    fprintf(stderr, "kafu launch: missing CONFIG\nUsage: kafu launch [--no-prefix] [--events FILE] CONFIG\n");
    return KAFU_EXIT_USAGE;
  }
  kafu_err err = {0};
  kafu_config *cfg = NULL;
  if (kafu_config_load(config, &cfg, &err)) {
    fprintf(stderr, "kafu launch: error: %s\n", err.msg);
    return 1;
  }
  if (kafu_launch_check(cfg, &err)) {
    fprintf(stderr, "kafu launch: error: %s\n", err.msg);
    kafu_config_free(cfg);
    return 1;
  }
  kafu_launch_opts o = {
      .cfg = cfg, .config_path = cfg->config_path, .no_prefix = no_prefix, .events_path = events};
  int rc = kafu_launch_run(&o, &err);
  if (rc < 0 || err.msg[0]) fprintf(stderr, "kafu launch: error: %s\n", err.msg);
  kafu_config_free(cfg);
  return rc < 0 ? 1 : rc;
}
