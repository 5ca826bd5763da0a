/*
 * opt.c — the value of a command-line option, the same way for every `kafu`
 * command: "--name VALUE", "--name=VALUE", an alias, and one message when the
 * value is missing (see util.h); and what `--env` means.
 */
#include <stdlib.h>
#include <string.h>

#include "kafu/util.h"

/* argv[*i] is `opt` (exactly, or "opt=..." / "-oVALUE" as allowed)? */
static int match(int argc, char **argv, int *i, const char *opt, const char **value, kafu_err *err) {
  const char *a = argv[*i];
  size_t n = strlen(opt);
  if (strncmp(a, opt, n) != 0) return 0;
  bool long_opt = opt[0] == '-' && opt[1] == '-';
  if (a[n] == '=' && long_opt) {
    *value = a + n + 1;
    return 1;
  }
  if (a[n] != 0) {
    if (!long_opt && n == 2) { /* -oVALUE */
      *value = a + n;
      return 1;
    }
    return 0;
  }
  if (*i + 1 >= argc) return kafu_err_set(err, KAFU_EINVAL, "option '%s' needs a value", opt);
  *value = argv[++*i];
  return 1;
}

int kafu_opt_value(int argc, char **argv, int *i, const char *name, const char *alias, const char **value,
                   kafu_err *err) {
  if (*i < 0 || *i >= argc || !argv[*i]) return 0;
  int r = match(argc, argv, i, name, value, err);
  if (r == 0 && alias) r = match(argc, argv, i, alias, value, err);
  return r;
}

int kafu_env_arg(const char *arg, char **out, kafu_err *err) {
  *out = NULL;
  if (!arg[0] || arg[0] == '=')
    return kafu_err_set(err, KAFU_EINVAL, "--env '%s': expected NAME=VALUE or NAME", arg);
  if (strchr(arg, '=')) {
    if (!(*out = strdup(arg))) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    return 1;
  }
  const char *hv = getenv(arg);
  if (!hv) return 0;
  kafu_buf b = {0};
  if (kafu_buf_printf(&b, "%s=%s", arg, hv) < 0) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  *out = kafu_buf_cstr(&b);
  return 1;
}
