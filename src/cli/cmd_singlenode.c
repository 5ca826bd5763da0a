/*
 * cmd_singlenode.c — `kafu singlenode serve [--verify] [--events FILE]
 * [--save-snapshots DIR] [--env NAME=VALUE]... [-q] [CONFIG]`.
 *
 * Runs the whole app in one process. By default a migration point only switches
 * the "current node" (fast emulation, like the original's kafu_singlenode).
 * With --verify every migration is a real checkpoint -> encode -> fresh
 * instance -> decode -> restore -> rewind, so the whole program state travels
 * through the snapshot format: the in-process proof that migration is exact.
 * --save-snapshots keeps each of those snapshots as a file for `kafu inspect`.
 * Exit code = the program's (134 for a trap, 1 when kafu itself fails).
 *
 * The word "serve" is optional (`kafu singlenode CONFIG`), and options may come
 * before or after CONFIG; the original Kafu's `kafu_singlenode serve CONFIG`
 * maps to the first form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafu/config.h"
#include "kafu/cluster.h"
#include "kafu/runtime.h"

void kafu_usage_singlenode(void) {
  printf(
      "Usage: kafu singlenode serve [--verify] [--events FILE] [--save-snapshots DIR]\n"
      "                             [--restore SNAPSHOT] [--env NAME=VALUE]... [-q] [CONFIG]\n"
      "\n"
      "Run a Kafu app in one process, playing every node of CONFIG (default:\n"
      "./kafu-config.yaml).\n"
      "Execution starts on the first node; each call of a KAFU_DEST function switches the\n"
      "current node, and its return switches back. Exit code = the program's (134 when\n"
      "it traps; 1 when the config, the module or a migration fails).\n"
      "\n"
      "Options:\n"
      "  --verify             make every migration a real checkpoint/restore into a fresh\n"
      "                       instance (the state travels through the snapshot format)\n"
      "  --events FILE        write JSON Lines events (start, migration, finish) to FILE;\n"
      "                       with --verify, migrations carry bytes and per-phase ms;\n"
      "                       `kafu trace FILE` draws them as a timeline\n"
      "  --save-snapshots DIR write each snapshot as DIR/NNNN-<from>-<to>.kafusnap\n"
      "                       (implies --verify; DIR is created); see `kafu inspect FILE`\n"
      "  --restore SNAPSHOT   start from SNAPSHOT instead of from the beginning (see\n"
      "                       `kafu restore`)\n"
      "  --env NAME=VALUE     set a variable of the program's environment (after\n"
      "                       app.env; repeatable); --env NAME passes kafu's own value\n"
      "  -q, --quiet          only warnings and errors on stderr\n"
      "  -h, --help           show this help\n"
      "\n"
      "Info logs on stderr: the start node, every migration as\n"
      "  Migration cloud -> edge (Entering f) / Migration edge -> cloud (Returning from f)\n"
      "and where the program finished. See docs/migration.md.\n");
}

int kafu_cmd_singlenode(int argc, char **argv) {
  int i = 1;
  if (i < argc && !strcmp(argv[i], "serve")) i++;
  bool verify = false, dashdash = false;
  const char *events_path = NULL, *config_path = NULL, *snap_dir = NULL, *restore = NULL, *v;
  kafu_err oerr = {0};
  kafu_cli_env env = {0};
  for (; i < argc; i++) {
    const char *a = argv[i];
    int r = 0;
    if (dashdash || a[0] != '-' || !a[1]) {
      if (config_path) {
        kafu_cli_env_free(&env);
        fprintf(stderr, "kafu singlenode: unexpected argument '%s'\n", a);
        return KAFU_EXIT_USAGE;
      }
      config_path = a;
    } else if (!strcmp(a, "--")) {
      dashdash = true;
    } else if (!strcmp(a, "--verify")) {
      verify = true;
    } else if ((r = kafu_cli_env_opt(argc, argv, &i, &env, &oerr)) > 0) {
      continue;
    } else if (!r && (r = kafu_opt_value(argc, argv, &i, "--events", NULL, &v, &oerr)) > 0) {
      events_path = v;
    } else if (!r && (r = kafu_opt_value(argc, argv, &i, "--save-snapshots", NULL, &v, &oerr)) > 0) {
      snap_dir = v;
      verify = true;
    } else if (!r && (r = kafu_opt_value(argc, argv, &i, "--restore", NULL, &v, &oerr)) > 0) {
      restore = v;
    } else if (r < 0) {
      kafu_cli_env_free(&env);
      return kafu_cli_usage_error("singlenode", "%s", oerr.msg);
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      kafu_log_set_level(KAFU_LOG_WARN);
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      kafu_cli_env_free(&env);
      kafu_usage_singlenode();
      return 0;
    } else {
      kafu_cli_env_free(&env);
      return kafu_cli_usage_error("singlenode", "unknown option '%s'", a);
    }
  }
  if (!config_path) config_path = KAFU_CONFIG_DEFAULT_FILE;

  kafu_err err = {0};
  kafu_config *cfg = NULL;
  int erc = kafu_config_load(config_path, &cfg, &err);
  for (size_t k = 0; erc == 0 && k < env.n; k++) erc = kafu_config_add_env(cfg, env.v[k], &err);
  kafu_cli_env_free(&env);
  if (erc) {
    fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
    kafu_config_free(cfg);
    return 1;
  }
  uint8_t *wasm = NULL;
  size_t wasm_len = 0;
  FILE *events = NULL;
  kafu_runtime *rt = NULL;
  kafu_wasi_home *home = NULL;
  int code = 1;
  if (kafu_config_load_app(cfg, &wasm, &wasm_len, &err)) {
    fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
    goto out;
  }
  if (snap_dir && kafu_mkdirs(snap_dir, 0755, &err)) {
    fprintf(stderr, "kafu singlenode: error: --save-snapshots %s: %s\n", snap_dir, err.msg);
    goto out;
  }
  if (events_path) {
    events = fopen(events_path, "w");
    if (!events) {
      fprintf(stderr, "kafu singlenode: error: %s: cannot write events: %m\n", events_path);
      goto out;
    }
  }
  /* one process plays every node: it is home to every node's sockets */
  if (kafu_wasi_home_new(NULL, &home, &err)) {
    fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
    goto out;
  }
  for (size_t i = 0; i < cfg->nnodes; i++)
    if (kafu_cluster_bind_listen(cfg, cfg->nodes[i].id, home, &err)) {
      fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
      goto out;
    }
  kafu_runtime_opts ro = {.cfg = cfg,
                          .wasm = wasm,
                          .wasm_len = wasm_len,
                          .events = events,
                          .mode = verify ? KAFU_RT_VERIFY : KAFU_RT_EMULATE,
                          .snapshot_dir = snap_dir,
                          .home = home};
  if (kafu_runtime_new(&ro, &rt, &err)) {
    fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
    goto out;
  }
  kafu_rt_result res;
  uint8_t *snap = NULL;
  size_t snap_len = 0;
  if (restore && kafu_read_file(restore, &snap, &snap_len, &err)) {
    fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
    goto out;
  }
  int rrc = restore ? kafu_runtime_restore(rt, snap, snap_len, &res, &err) : kafu_runtime_run(rt, &res, &err);
  free(snap);
  if (rrc) {
    if (restore) kafu_err_prefix(&err, "cannot restore %s", restore);
    fprintf(stderr, "kafu singlenode: error: %s\n", err.msg);
  } else {
    code = res.exit_code;
    if (res.status == KAFU_RT_TRAPPED || res.status == KAFU_RT_FAILED)
      fprintf(stderr, "kafu singlenode: error: %s\n", res.message);
  }
out:
  kafu_runtime_free(rt);
  kafu_wasi_home_free(home);
  if (events) fclose(events);
  free(wasm);
  kafu_config_free(cfg);
  return code;
}
