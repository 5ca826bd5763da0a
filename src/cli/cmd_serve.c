/*
 * cmd_serve.c — `kafu serve`: run one node of a Kafu cluster (include/kafu/cluster.h,
 * docs/cluster.md). The original's command line `kafu serve --node-id ID
 * kafu-config.yaml` works unchanged.
 *
 * Signals: SIGINT/SIGTERM end the node with 128+N (a second one exits at
 * once). The handler only writes to a pipe; a watcher thread does the rest,
 * so no lock is ever taken in signal context.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "kafu/cluster.h"
#include "kafu/config.h"

void kafu_usage_serve(void) {
  printf(
      "Usage: kafu serve --node-id ID [--listen ADDR] [--token-file FILE] [--events FILE]\n"
      "                  [--env NAME=VALUE]... [--port-base N] [--save-snapshots DIR]\n"
      "                  [--restore SNAPSHOT] [-q] [CONFIG]\n"
      "\n"
      "Run one node of a Kafu cluster: an HTTP server (see docs/cluster.md) and the\n"
      "WebAssembly engine. CONFIG defaults to ./kafu-config.yaml.\n"
      "The first node in CONFIG's `nodes` is the coordinator: it\n"
      "waits until every other node is ready, then starts the program; the others\n"
      "wait for a migration. When the program ends (on any node), every node shuts\n"
      "down and exits with the program's exit code. The node binds its\n"
      "nodes.<id>.listen sockets for the program at start; the program's stdin is the\n"
      "coordinator's (docs/migration.md, \"Sockets and stdin\").\n"
      "\n"
      "Options:\n"
      "  --node-id ID          which node of CONFIG this process is (required)\n"
      "  --listen ADDR         where to listen: HOST, HOST:PORT, :PORT or [V6]:PORT\n"
      "                        (default: the node's port, on its address if that is a\n"
      "                        loopback address, else on all interfaces)\n"
      "  --port-base N         node i of CONFIG's `nodes` is at port N+i (the coordinator\n"
      "                        at N), whatever CONFIG says; give every node the same N\n"
      "  --token-file FILE     read the cluster token from FILE (instead of CONFIG's\n"
      "                        cluster.token / cluster.token_file)\n"
      "  --events FILE         append migration events to FILE as JSON Lines\n"
      "  --env NAME=VALUE      set a variable of the program's environment (after\n"
      "                        app.env; repeatable); --env NAME passes kafu's own\n"
      "                        value. Give every node the same ones.\n"
      "  --save-snapshots DIR  also write every outgoing snapshot to DIR\n"
      "                        (`kafu inspect DIR/0001-a-b.kafusnap`; a delta gets a full\n"
      "                        companion 0001-a-b.full.kafusnap for `kafu restore`)\n"
      "  --restore SNAPSHOT    coordinator only: start the run from SNAPSHOT instead of\n"
      "                        from the beginning (see `kafu restore`)\n"
      "  --report-fd FD        (kafu launch) when this node ends the run, write\n"
      "                        \"exit CODE\" to the open descriptor FD\n"
      "  -q, --quiet           only warnings and errors on stderr\n"
      "  -h, --help            show this help\n"
      "\n"
      "Endpoints: GET /healthz /readyz /status /metrics /baseline;\n"
      "           POST /migrate /heartbeat /run /checkpoint /shutdown /io need the cluster\n"
      "           token (without one, only the nodes' own addresses may POST; a warning says\n"
      "           so at start).\n"
      "Exit status: the program's exit code; %d when the cluster failed (a call could\n"
      "not run again after its node died, a snapshot could not be delivered, start-up\n"
      "timed out); 128+N on signal N.\n",
      KAFU_EXIT_CLUSTER);
}

static int g_sig_pipe[2] = {-1, -1};

static void on_signal(int sig) {
  int saved = errno;
  unsigned char c = (unsigned char)sig;
  if (write(g_sig_pipe[1], &c, 1) < 0) { /* nothing to do in a handler */
  }
  errno = saved;
}

static void *signal_watcher(void *arg) {
  kafu_node *node = arg;
  int count = 0;
  for (;;) {
    unsigned char c;
    ssize_t r = read(g_sig_pipe[0], &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return NULL;
    if (++count > 1) _exit(128 + c);
    char reason[128];
    snprintf(reason, sizeof reason, "interrupted by %s", c == SIGINT ? "SIGINT" : "SIGTERM");
    kafu_node_stop(node, 128 + c, reason);
  }
}

static void warn_at_start(void *ctx, const char *msg) { kafu_warn("node %s: %s", (const char *)ctx, msg); }

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "kafu serve: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nRun `kafu serve --help` for usage.\n");
  return KAFU_EXIT_USAGE;
}

int kafu_cmd_serve(int argc, char **argv) {
  const char *node_id = NULL, *listen = NULL, *events = NULL, *save = NULL, *config = NULL, *token_file = NULL,
             *restore = NULL, *report = NULL;
  kafu_err oerr = {0};
  kafu_cli_env env = {0};
  unsigned port_base = 0;
  int code = KAFU_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r;
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      kafu_log_set_level(KAFU_LOG_WARN);
      continue;
    }
    if ((r = kafu_cli_env_opt(argc, argv, &i, &env, &oerr)) ||
        (r = kafu_cli_port_base_opt(argc, argv, &i, &port_base, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--node-id", NULL, &node_id, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--listen", NULL, &listen, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--token-file", NULL, &token_file, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--events", NULL, &events, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--save-snapshots", NULL, &save, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--restore", NULL, &restore, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--report-fd", NULL, &report, &oerr))) {
      if (r < 0) goto usage;
      continue;
    }
    if (!strcmp(a, "--")) {
      if (i + 1 < argc && !config) config = argv[++i];
      continue;
    }
    if (a[0] == '-' && a[1]) {
      kafu_err_set(&oerr, KAFU_EINVAL, "unknown option '%s'", a);
      goto usage;
    }
    if (config) {
      kafu_err_set(&oerr, KAFU_EINVAL, "unexpected argument '%s' (one CONFIG only)", a);
      goto usage;
    }
    config = a;
  }
  if (!config) config = KAFU_CONFIG_DEFAULT_FILE;
  if (!node_id) {
    kafu_err_set(&oerr, KAFU_EINVAL, "missing --node-id ID (which node of CONFIG this process is)");
    goto usage;
  }

  kafu_err err = {0};
  kafu_config *cfg = NULL;
  if (kafu_config_load(config, &cfg, &err) || (token_file && kafu_config_set_token_file(cfg, token_file, &err)) ||
      (port_base && kafu_config_set_port_base(cfg, port_base, &err))) {
    fprintf(stderr, "kafu serve: error: %s\n", err.msg);
    kafu_config_free(cfg);
    kafu_cli_env_free(&env);
    return 1;
  }
  for (size_t k = 0; k < env.n; k++)
    if (kafu_config_add_env(cfg, env.v[k], &err)) {
      fprintf(stderr, "kafu serve: error: %s\n", err.msg);
      kafu_config_free(cfg);
      kafu_cli_env_free(&env);
      return 1;
    }
  kafu_cli_env_free(&env);
  kafu_config_warnings(cfg, warn_at_start, (void *)node_id);
  if (pipe2(g_sig_pipe, O_CLOEXEC)) {
    fprintf(stderr, "kafu serve: error: pipe: %s\n", strerror(errno));
    kafu_config_free(cfg);
    return 1;
  }
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN); /* a peer closing a connection must not kill the node */

  kafu_node_opts o = {.cfg = cfg,
                      .self = node_id,
                      .listen = listen,
                      .events_path = events,
                      .save_snapshots_dir = save,
                      .restore_path = restore,
                      .report_fd = report ? atoi(report) : 0};
  kafu_node *node = NULL;
  if (kafu_node_start(&o, &node, &err)) {
    fprintf(stderr, "kafu serve: error: %s\n", err.msg);
    kafu_config_free(cfg);
    return 1;
  }
  pthread_t th;
  if (pthread_create(&th, NULL, signal_watcher, node) == 0) pthread_detach(th);

  kafu_err why = {0};
  code = kafu_node_wait(node, &why);
  if (why.msg[0]) fprintf(stderr, "kafu serve: error: %s\n", why.msg);
  if (kafu_node_free(node)) { /* the program was still running here: leave without atexit handlers */
    fflush(NULL);
    _exit(code);
  }
  kafu_config_free(cfg);
  return code;
usage:
  kafu_cli_env_free(&env);
  return usage_error("%s", oerr.msg);
}
