/*
 * main.c — the `kafu` executable: dispatches to one subcommand per file.
 * argv[0] may name the command instead: the single-path entry points
 * `kafu-cc` / `kafu-c++` (build systems that want one executable as CC/CXX)
 * and the original Kafu SDK's libexec binaries `kafu_clang`, `kafu_clang++`,
 * `kafu_serve`, `kafu_singlenode`, `kafu_kustomize` (links to kafu). An unknown
 * `kafu NAME` runs an installed plug-in libexec/kafu_NAME, as the original did.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "kafu/util.h"

static int cmd_help(int argc, char **argv);
static void usage_help(void) { printf("Usage: kafu help [COMMAND]\n\nShow help for kafu or for one command.\n"); }
static int cmd_version(int argc, char **argv) {
  if (argc > 1) {
    fprintf(stderr, "kafu version: unexpected argument '%s'\nRun `kafu version --help` for usage.\n", argv[1]);
    return KAFU_EXIT_USAGE;
  }
  printf("kafu %s\n", KAFU_VERSION);
  return 0;
}
static void usage_version(void) { printf("Usage: kafu version\n\nPrint the kafu version.\n"); }

static const kafu_command commands[] = {
    {"cc", "compile C to a Snapified wasm32-wasi module (clang driver)", kafu_cmd_cc, kafu_usage_cc},
    {"c++", "compile C++ to a Snapified wasm32-wasi module", kafu_cmd_cc, kafu_usage_cc},
    {"clang", "alias of `kafu cc`", kafu_cmd_cc, kafu_usage_cc},
    {"clang++", "alias of `kafu c++`", kafu_cmd_cc, kafu_usage_cc},
    {"snapify", "make a wasm module migratable at its KAFU_DEST functions", kafu_cmd_snapify,
     kafu_usage_snapify},
    {"run", "run a wasm32-wasi module on this machine", kafu_cmd_run, kafu_usage_run},
    {"aot", "precompile a module into the engine cache", kafu_cmd_aot, kafu_usage_aot},
    {"inspect", "show what a module or snapshot holds", kafu_cmd_inspect, kafu_usage_inspect},
    {"serve", "run one node of a Kafu cluster", kafu_cmd_serve, kafu_usage_serve},
    {"singlenode", "run the whole app in one process (emulated nodes)", kafu_cmd_singlenode,
     kafu_usage_singlenode},
    {"launch", "start every node of a loopback config as local processes", kafu_cmd_launch,
     kafu_usage_launch},
    {"restore", "resume a program from a saved snapshot", kafu_cmd_restore, kafu_usage_restore},
    {"checkpoint", "take a snapshot of a running cluster's program", kafu_cmd_checkpoint,
     kafu_usage_checkpoint},
    {"kustomize", "generate Kubernetes manifests for a config", kafu_cmd_kustomize, kafu_usage_kustomize},
    {"config", "validate and print a kafu-config.yaml", kafu_cmd_config, kafu_usage_config},
    {"trace", "draw a run's events as a timeline (SVG, HTML)", kafu_cmd_trace, kafu_usage_trace},
    {"doctor", "check the toolchain and environment", kafu_cmd_doctor, kafu_usage_doctor},
    {"list", "list the installed subcommands (libexec/kafu_*)", kafu_cmd_list, kafu_usage_list},
    {"help", "show help for a command", cmd_help, usage_help},
    {"version", "print the version", cmd_version, usage_version},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage_main(FILE *f) {
  fprintf(f,
          "kafu %s — run one C/C++ program across cloud and edge by live-migrating\n"
          "its WebAssembly state at KAFU_DEST-annotated function calls.\n\n"
          "Usage: kafu [--version] [--help] COMMAND [ARGS...]\n\nCommands:\n",
          KAFU_VERSION);
  for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
  fprintf(f,
          "\nRun `kafu help COMMAND` or `kafu COMMAND --help` for details.\n"
          "Environment: KAFU_LOG=error|warn|info|debug, KAFU_CACHE_DIR (engine cache).\n");
}

static const kafu_command *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (!strcmp(commands[i].name, name)) return &commands[i];
  return NULL;
}

static void suggest(const char *name) {
  const char *best = NULL;
  int bestd = 3;
  for (size_t i = 0; i < NCOMMANDS; i++) {
    int d = kafu_edit_distance(name, commands[i].name);
    if (d < bestd) bestd = d, best = commands[i].name;
  }
  if (best) fprintf(stderr, "Did you mean `kafu %s`?\n", best);
}

static int cmd_help(int argc, char **argv) {
  if (argc < 2) {
    usage_main(stdout);
    return 0;
  }
  const kafu_command *c = find_command(argv[1]);
  if (!c) {
    fprintf(stderr, "kafu help: unknown command '%s'\n", argv[1]);
    suggest(argv[1]);
    return KAFU_EXIT_USAGE;
  }
  c->usage();
  return 0;
}

int kafu_cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) return 0;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
  }
  return 0;
}

int kafu_cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "kafu %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nRun `kafu %s --help` for usage.\n", cmd);
  return KAFU_EXIT_USAGE;
}

int kafu_cli_env_opt(int argc, char **argv, int *i, kafu_cli_env *env, kafu_err *err) {
  const char *v;
  int r = kafu_opt_value(argc, argv, i, "--env", NULL, &v, err);
  if (r <= 0) return r;
  char *kv;
  if ((r = kafu_env_arg(v, &kv, err)) <= 0) return r < 0 ? r : 1; /* unset NAME: nothing to pass */
  char **nv = realloc(env->v, (env->n + 1) * sizeof *nv);
  if (!nv) {
    free(kv);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  env->v = nv;
  env->v[env->n++] = kv;
  return 1;
}

void kafu_cli_env_free(kafu_cli_env *env) {
  for (size_t i = 0; i < env->n; i++) free(env->v[i]);
  free(env->v);
  env->v = NULL, env->n = 0;
}

/* kafu-cc, kafu-c++, kafu_<command>: the command argv[0] names, or NULL */
static const kafu_command *entry_point(const char *self) {
  if (!strcmp(self, "kafu-cc")) return find_command("cc");
  if (!strcmp(self, "kafu-c++")) return find_command("c++");
  if (strncmp(self, "kafu_", 5)) return NULL;
  const kafu_command *c = find_command(self + 5);
  return c && c->run != cmd_help && c->run != cmd_version ? c : NULL;
}

/* `kafu NAME ARGS` for a plug-in <libexec>/kafu_NAME that is not kafu itself:
 * exec it (its exit status is ours). Returns only when there is none. */
static void run_plugin(const char *name, char **argv) {
  char *dir = kafu_cli_libexec_dir();
  char path[PATH_MAX], exe[PATH_MAX], self[PATH_MAX];
  bool ok =
      dir && !strchr(name, '/') && (size_t)snprintf(path, sizeof path, "%s/kafu_%s", dir, name) < sizeof path;
  free(dir);
  if (!ok || access(path, X_OK) != 0 || !realpath(path, exe) || !realpath("/proc/self/exe", self) ||
      !strcmp(exe, self))
    return;
  argv[0] = path;
  execv(path, argv);
  fprintf(stderr, "kafu: cannot run %s: %s\n", path, strerror(errno));
  exit(127);
}

/* --help / --version, then the command itself. shown = how the user called it. */
static int run_command(const kafu_command *c, int argc, char **argv, const char *shown) {
  bool cc = c->run == kafu_cmd_cc;
  /* the compiler driver passes everything to clang, including -h */
  if (!cc && kafu_cli_wants_help(argc, argv)) {
    c->usage();
    return 0;
  }
  bool version = argc > 1 && (!strcmp(argv[1], "--version") || (!cc && !strcmp(argv[1], "-V")));
  if (version && c->run != cmd_version && c->run != cmd_help) {
    if (!cc) {
      printf("%s %s\n", shown, KAFU_VERSION);
      return 0;
    }
    /* clang's own version first (build systems parse it), then ours */
    int st = c->run(argc, argv);
    if (argc == 2) printf("%s %s (Kafu's wasm32-wasi driver around clang)\n", shown, KAFU_VERSION);
    return st;
  }
  return c->run(argc, argv);
}

int main(int argc, char **argv) {
  kafu_log_init_from_env();
  const char *self = kafu_path_basename(argv[0]);
  const kafu_command *c = entry_point(self);
  if (c) {
    argv[0] = (char *)c->name;
    return run_command(c, argc, argv, self);
  }
  if (argc < 2) {
    usage_main(stderr);
    return KAFU_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
    usage_main(stdout);
    return 0;
  }
  if (!strcmp(name, "--version") || !strcmp(name, "-V")) return cmd_version(0, NULL);
  if (name[0] == '-') {
    fprintf(stderr, "kafu: unknown option '%s'\nRun `kafu --help` for usage.\n", name);
    return KAFU_EXIT_USAGE;
  }
  c = find_command(name);
  if (!c) {
    run_plugin(name, argv + 1);
    fprintf(stderr, "kafu: unknown command '%s'\n", name);
    suggest(name);
    fprintf(stderr, "Run `kafu --help` for the list of commands.\n");
    return KAFU_EXIT_USAGE;
  }
  char shown[64];
  snprintf(shown, sizeof shown, "kafu %s", c->name);
  return run_command(c, argc - 1, argv + 1, shown);
}
