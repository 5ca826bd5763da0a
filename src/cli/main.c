/*
 * main.c — the `kafu` executable: dispatches to one subcommand per file.
 * Also the single-path entry points `kafu-cc` / `kafu-c++` (argv[0] decides),
 * for build systems that want one executable as CC/CXX.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    {"snapify", "make a wasm module migratable at its KAFU_DEST functions", kafu_cmd_snapify, kafu_usage_snapify},
    {"run", "run a wasm32-wasi module on this machine", kafu_cmd_run, kafu_usage_run},
    {"aot", "precompile a module into the engine cache", kafu_cmd_aot, kafu_usage_aot},
    {"inspect", "show what a module or snapshot holds", kafu_cmd_inspect, kafu_usage_inspect},
    {"serve", "run one node of a Kafu cluster", kafu_cmd_serve, kafu_usage_serve},
    {"singlenode", "run the whole app in one process (emulated nodes)", kafu_cmd_singlenode, kafu_usage_singlenode},
    {"launch", "start every node of a loopback config as local processes", kafu_cmd_launch, kafu_usage_launch},
    {"kustomize", "generate Kubernetes manifests for a config", kafu_cmd_kustomize, kafu_usage_kustomize},
    {"config", "validate and print a kafu-config.yaml", kafu_cmd_config, kafu_usage_config},
    {"doctor", "check the toolchain and environment", kafu_cmd_doctor, kafu_usage_doctor},
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

int main(int argc, char **argv) {
  kafu_log_init_from_env();
  const char *self = kafu_path_basename(argv[0]);
  if (!strcmp(self, "kafu-cc") || !strcmp(self, "kafu-c++")) {
    /* single-path entry points: behave like `kafu cc ...` / `kafu c++ ...` */
    argv[0] = (char *)(strcmp(self, "kafu-cc") ? "c++" : "cc");
    return kafu_cmd_cc(argc, argv);
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
  const kafu_command *c = find_command(name);
  if (!c) {
    fprintf(stderr, "kafu: unknown command '%s'\n", name);
    suggest(name);
    fprintf(stderr, "Run `kafu --help` for the list of commands.\n");
    return KAFU_EXIT_USAGE;
  }
  /* compiler driver passes everything to clang, including -h; others get --help here */
  if (c->run != kafu_cmd_cc && kafu_cli_wants_help(argc - 1, argv + 1)) {
    c->usage();
    return 0;
  }
  return c->run(argc - 1, argv + 1);
}
