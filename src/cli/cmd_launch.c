/*
 * cmd_launch.c — `kafu launch`: start every node of a loopback config as a
 * local `kafu serve` process and exit with the program's exit code (the
 * process manager is src/cluster/launch.c). Before any node starts, the
 * module is checked as every node would check it (preflight.c) and every
 * node's port must be free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafu/cluster.h"
#include "kafu/config.h"

void kafu_usage_launch(void) {
  printf(
      "Usage: kafu launch [--no-prefix] [--events FILE] [--env NAME=VALUE]... [--port-base N]\n"
      "                   [-q] [CONFIG]\n"
      "\n"
      "Start every node of CONFIG (default: ./kafu-config.yaml) on this machine, each\n"
      "as a `kafu serve --node-id ID CONFIG` process, and exit with the program's exit\n"
      "code, as the node where the program ended reports it. A node killed from\n"
      "outside does not end the run: its calls fail over (docs/migration.md). Every\n"
      "node address must be local (127.0.0.1, localhost or ::1). The module is\n"
      "checked before any node starts (Snapified, every KAFU_DEST destination a node\n"
      "of CONFIG), and every port must be free.\n"
      "\n"
      "Output of the nodes is shown line by line, prefixed with \"[node-id] \".\n"
      "\n"
      "Options:\n"
      "  --no-prefix       no prefixes: the nodes write straight to this terminal, so the\n"
      "                    program's stdout appears exactly as it wrote it\n"
      "  --events FILE     write every node's migration events to FILE (JSON Lines, in\n"
      "                    time order; same records as `kafu singlenode --events`);\n"
      "                    `kafu trace FILE` draws them as a timeline\n"
      "  --env NAME=VALUE  set a variable of the program's environment on every node\n"
      "                    (after app.env; repeatable); --env NAME passes kafu's own value\n"
      "  --port-base N     ignore the config's ports: node i of `nodes` listens on N+i\n"
      "                    (the coordinator on N), to move the cluster off ports in use\n"
      "  -q, --quiet       the nodes log only warnings and errors\n"
      "  -h, --help        show this help\n"
      "\n"
      "Ctrl-C / SIGTERM are forwarded to the nodes (twice: killed).\n");
}

/* --port-base N as every command reads it: 1 with *base set, 0 when argv[*i]
 * is another option, <0 with err set */
int kafu_cli_port_base_opt(int argc, char **argv, int *i, unsigned *base, kafu_err *err) {
  const char *v;
  int r = kafu_opt_value(argc, argv, i, "--port-base", NULL, &v, err);
  if (r <= 0) return r;
  char *end;
  long n = strtol(v, &end, 10);
  if (!*v || *end || n < 1 || n > 65535)
    return kafu_err_set(err, KAFU_EINVAL, "--port-base '%s': expected a port number 1..65535", v);
  *base = (unsigned)n;
  return 1;
}

int kafu_cmd_launch(int argc, char **argv) {
  const char *config = NULL, *events = NULL;
  bool no_prefix = false, quiet = false;
  unsigned port_base = 0;
  kafu_cli_env env = {0};
  kafu_err oerr = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r;
    if (!strcmp(a, "--no-prefix")) {
      no_prefix = true;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = true;
    } else if ((r = kafu_opt_value(argc, argv, &i, "--events", NULL, &events, &oerr)) ||
               (r = kafu_cli_env_opt(argc, argv, &i, &env, &oerr)) ||
               (r = kafu_cli_port_base_opt(argc, argv, &i, &port_base, &oerr))) {
      if (r < 0) {
        kafu_cli_env_free(&env);
        return kafu_cli_usage_error("launch", "%s", oerr.msg);
      }
    } else if (!strcmp(a, "--") && i + 1 < argc && !config) {
      config = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      kafu_cli_env_free(&env);
      return kafu_cli_usage_error("launch", "unknown option '%s'", a);
    } else if (config) {
      kafu_cli_env_free(&env);
      return kafu_cli_usage_error("launch", "unexpected argument '%s' (one CONFIG only)", a);
    } else {
      config = a;
    }
  }
  if (!config) config = KAFU_CONFIG_DEFAULT_FILE;
  if (quiet) kafu_log_set_level(KAFU_LOG_WARN);
  kafu_err err = {0};
  kafu_config *cfg = NULL;
  int rc = kafu_config_load(config, &cfg, &err);
  if (rc == 0 && port_base) rc = kafu_config_set_port_base(cfg, port_base, &err);
  for (size_t k = 0; rc == 0 && k < env.n; k++) rc = kafu_config_add_env(cfg, env.v[k], &err);
  if (rc == 0) rc = kafu_cli_check_module(cfg, NULL, NULL, NULL, &err);
  if (rc == 0) rc = kafu_launch_check(cfg, &err);
  if (rc == 0) {
    kafu_launch_opts o = {.cfg = cfg,
                          .config_path = cfg->config_path,
                          .no_prefix = no_prefix,
                          .events_path = events,
                          .env = env.v,
                          .n_env = env.n,
                          .port_base = port_base,
                          .quiet = quiet};
    rc = kafu_launch_run(&o, &err);
    if (rc < 0 || err.msg[0]) fprintf(stderr, "kafu launch: error: %s\n", err.msg);
    rc = rc < 0 ? 1 : rc;
  } else {
    fprintf(stderr, "kafu launch: error: %s\n", err.msg);
    rc = 1;
  }
  kafu_config_free(cfg);
  kafu_cli_env_free(&env);
  return rc;
}
