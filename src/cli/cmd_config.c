/*
 * cmd_config.c — `kafu config check [FILE]`: validate a kafu-config.yaml and
 * print it normalized (defaults filled in, paths absolute) as YAML.
 *
 * Validation is exactly what every other command does on load (src/config), so
 * "config check passes" means "serve/launch/singlenode accept it". Warnings
 * (module or preopened directory missing here) go to stderr and do not fail:
 * the config may be meant for another machine or a container image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "kafu/config.h"

void kafu_usage_config(void) {
  printf(
      "Usage: kafu config check [OPTIONS] [CONFIG]\n"
      "\n"
      "Validate a kafu-config.yaml (default: ./kafu-config.yaml) and print it\n"
      "normalized: every default spelled out, relative paths resolved against the\n"
      "config file's directory. Errors name file:line:column and the key.\n"
      "\n"
      "Options:\n"
      "  -q, --quiet          validate only; print nothing on success\n"
      "      --app            also read the module (app.path or app.url), check app.sha256,\n"
      "                       and check it as every node does at start: Snapified, and\n"
      "                       every node its KAFU_DEST annotations name is in `nodes`\n"
      "      --module FILE    with --app: read the module from FILE (a local copy, e.g.\n"
      "                       when app.url is remote); it must match app.sha256 if set\n"
      "      --show-token     print cluster.token instead of <redacted>\n"
      "  -h, --help           show this help\n"
      "\n"
      "Exit status: 0 valid, 1 invalid, 2 usage error.\n"
      "Reference: docs/config.md\n");
}

static void print_warning(void *ctx, const char *msg) {
  (void)ctx;
  fprintf(stderr, "kafu config: warning: %s\n", msg);
}

static int check(int argc, char **argv) {
  bool quiet = false, app = false, show_token = false;
  const char *file = NULL, *module = NULL;
  kafu_err oerr = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r;
    if ((r = kafu_opt_value(argc, argv, &i, "--module", NULL, &module, &oerr)) != 0) {
      if (r < 0) return kafu_cli_usage_error("config", "%s", oerr.msg);
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = true;
    } else if (!strcmp(a, "--app")) {
      app = true;
    } else if (!strcmp(a, "--show-token")) {
      show_token = true;
    } else if (!strcmp(a, "--") && i + 1 < argc && !file) {
      file = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "kafu config: unknown option '%s'\nRun `kafu config --help` for usage.\n", a);
      return KAFU_EXIT_USAGE;
    } else if (!file) {
      file = a;
    } else {
      fprintf(stderr, "kafu config: too many arguments ('%s'); expected one config file\n", a);
      return KAFU_EXIT_USAGE;
    }
  }
  if (!file) file = KAFU_CONFIG_DEFAULT_FILE;
  if (module && !app) return kafu_cli_usage_error("config", "--module FILE goes with --app");
  kafu_err err = {0};
  kafu_config *c;
  if (kafu_config_load(file, &c, &err) < 0) {
    fprintf(stderr, "kafu config: error: %s\n", err.msg);
    return 1;
  }
  kafu_config_warnings(c, print_warning, NULL);
  struct stat st;
  if (c->app.path && stat(c->app.path, &st) != 0)
    fprintf(stderr, "kafu config: warning: app.path %s does not exist on this machine\n", c->app.path);
  if (c->app.preopened_dir && (stat(c->app.preopened_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
    fprintf(stderr, "kafu config: warning: app.preopened_dir %s is not a directory on this machine\n",
            c->app.preopened_dir);
  int rc = 0;
  if (app) {
    uint8_t *bytes;
    size_t len;
    if (kafu_cli_check_module(c, module, &bytes, &len, &err) < 0) {
      fprintf(stderr, "kafu config: error: %s\n", err.msg);
      rc = 1;
    } else {
      uint8_t d[KAFU_SHA256_LEN];
      char hex[2 * KAFU_SHA256_LEN + 1];
      kafu_sha256(bytes, len, d);
      kafu_hex(d, sizeof d, hex);
      fprintf(stderr, "kafu config: module %s: %zu bytes, sha256 %s%s; its destinations are nodes\n",
              module ? module : kafu_config_app_location(c), len, hex,
              c->app.has_sha256 ? " (matches app.sha256)" : "");
      free(bytes);
    }
  }
  if (rc == 0 && !quiet) {
    kafu_buf out = {0};
    if (kafu_config_to_yaml(c, show_token ? 0 : KAFU_CONFIG_YAML_REDACT_TOKEN, &out, &err) < 0) {
      fprintf(stderr, "kafu config: error: %s\n", err.msg);
      rc = 1;
    } else {
      fwrite(out.data, 1, out.len, stdout);
      if (fflush(stdout) != 0) {
        fprintf(stderr, "kafu config: error: writing to stdout failed\n");
        rc = 1;
      }
    }
    kafu_buf_free(&out);
  }
  kafu_config_free(c);
  return rc;
}

int kafu_cmd_config(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr,
            "kafu config: missing subcommand (expected `check`)\nRun `kafu config --help` for usage.\n");
    return KAFU_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "check")) return check(argc - 1, argv + 1);
  fprintf(stderr,
          "kafu config: unknown subcommand '%s' (expected `check`)\nRun `kafu config --help` for usage.\n",
          argv[1]);
  return KAFU_EXIT_USAGE;
}
