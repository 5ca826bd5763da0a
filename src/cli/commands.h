/*
 * commands.h — one entry point per `kafu` subcommand, each in its own file
 * src/cli/cmd_<name>.c. Each returns the process exit code.
 *
 * Conventions for every command:
 *   - argv[0] is the subcommand name ("run", "cc", ...);
 *   - `--help`/`-h` prints usage to stdout and returns 0;
 *   - unknown options print "kafu CMD: unknown option '-x'" + a usage hint to
 *     stderr and return 2 (KAFU_EXIT_USAGE);
 *   - failures print "kafu CMD: error: ..." naming the file/line/node/fd and
 *     return 1 (or the guest program's exit code where documented).
 */
#ifndef KAFU_CLI_COMMANDS_H
#define KAFU_CLI_COMMANDS_H

#include <stddef.h>

#include "kafu/util.h"

#define KAFU_EXIT_USAGE 2

typedef struct kafu_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
  void (*usage)(void); /* prints full help to stdout */
} kafu_command;

#define KAFU_DECLARE_COMMAND(n) \
  int kafu_cmd_##n(int argc, char **argv); \
  void kafu_usage_##n(void);

KAFU_DECLARE_COMMAND(cc)
KAFU_DECLARE_COMMAND(snapify)
KAFU_DECLARE_COMMAND(run)
KAFU_DECLARE_COMMAND(aot)
KAFU_DECLARE_COMMAND(inspect)
KAFU_DECLARE_COMMAND(serve)
KAFU_DECLARE_COMMAND(singlenode)
KAFU_DECLARE_COMMAND(launch)
KAFU_DECLARE_COMMAND(restore)
KAFU_DECLARE_COMMAND(checkpoint)
KAFU_DECLARE_COMMAND(kustomize)
KAFU_DECLARE_COMMAND(config)
KAFU_DECLARE_COMMAND(doctor)
KAFU_DECLARE_COMMAND(list)
KAFU_DECLARE_COMMAND(trace)

/* The original Kafu SDK layout (cmd_list.c): libexec/kafu_<name> executables
 * under $KAFU_SDK_PATH, else under the prefix of this kafu (<bin>/..). */
typedef struct kafu_subcommand {
  const char *name; /* after "kafu_" (points into path) */
  char *path;       /* <libexec>/kafu_<name> */
} kafu_subcommand;
/* malloc'd "<sdk>/libexec", NULL when out of memory */
char *kafu_cli_libexec_dir(void);
/* The kafu_* regular files (links followed) in dir, sorted by name; free with
 * kafu_cli_subcommands_free. Fails (err names dir) when dir cannot be read. */
int kafu_cli_subcommands(const char *dir, kafu_subcommand **out, size_t *n, kafu_err *err);
void kafu_cli_subcommands_free(kafu_subcommand *v, size_t n);

/* true when argv contains -h/--help before a "--" */
int kafu_cli_wants_help(int argc, char **argv);

/* The program's environment from a command line: every `--env NAME=VALUE` /
 * `--env NAME` (kafu_env_arg), in order; strings malloc'd. */
typedef struct kafu_cli_env {
  char **v;
  size_t n;
} kafu_cli_env;
/* Is argv[*i] an --env option? 1 (value kept in env, *i advanced), 0 (not
 * one), or <0 with err set (missing or bad value). */
int kafu_cli_env_opt(int argc, char **argv, int *i, kafu_cli_env *env, kafu_err *err);
void kafu_cli_env_free(kafu_cli_env *env);

/* `--port-base N` (cmd_launch.c; serve takes it too): 1 with *base set, 0
 * when argv[*i] is another option, <0 with err set (missing or bad value). */
int kafu_cli_port_base_opt(int argc, char **argv, int *i, unsigned *base, kafu_err *err);

/* Pre-flight (preflight.c): read cfg's module (module_path, a local copy, when
 * not NULL; else app.path / app.url) and check it as every node does at start:
 * Snapified, every KAFU_DEST destination a node. A module_path must match
 * app.sha256 when that is set. out (may be NULL) gets the bytes on success
 * (caller frees). */
struct kafu_config;
int kafu_cli_check_module(const struct kafu_config *cfg, const char *module_path, uint8_t **out, size_t *out_len,
                          kafu_err *err);

/* Print "kafu CMD: <message>" and "Run `kafu CMD --help` for usage." to stderr;
 * returns KAFU_EXIT_USAGE. Option values: kafu_opt_value (kafu/util.h). */
int kafu_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
