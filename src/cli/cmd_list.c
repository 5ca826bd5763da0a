/*
 * cmd_list.c — `kafu list [-l]`: the installed subcommands of the original
 * Kafu SDK layout, i.e. the executables named kafu_<name> in the SDK's libexec
 * directory ($KAFU_SDK_PATH/libexec, else the libexec next to this kafu's bin).
 * `make install` puts kafu_clang, kafu_clang++, kafu_serve, kafu_singlenode
 * and kafu_kustomize there (links to kafu, which acts by the name it is called
 * as); anything else named kafu_<name> there is a plug-in that `kafu <name>`
 * runs. Also the directory lookup shared with main.c and `kafu doctor`.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"

void kafu_usage_list(void) {
  printf(
      "Usage: kafu list [-l|--long]\n"
      "\n"
      "List the installed subcommands of the Kafu SDK layout: the executables\n"
      "named kafu_<name> in $KAFU_SDK_PATH/libexec (default: the libexec directory\n"
      "next to this kafu's bin), one name per line, sorted. `make install` provides\n"
      "clang, clang++, kustomize, serve and singlenode (the original Kafu SDK's\n"
      "binaries, so its Makefiles work with KAFU_SDK_PATH=<prefix>); any other\n"
      "kafu_<name> there runs as `kafu <name>`.\n"
      "\n"
      "  -l, --long   print the path too (name, a tab, path)\n");
}

char *kafu_cli_libexec_dir(void) {
  const char *sdk = kafu_tunables_get()->sdk_path;
  if (sdk) return kafu_path_join(sdk, "libexec");
  char *parent = kafu_path_dirname(kafu_exe_dir());
  char *dir = parent ? kafu_path_join(parent, "libexec") : NULL;
  free(parent);
  return dir;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const kafu_subcommand *)a)->name, ((const kafu_subcommand *)b)->name);
}

int kafu_cli_subcommands(const char *dir, kafu_subcommand **out, size_t *n, kafu_err *err) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return kafu_err_set(err, KAFU_EIO, "cannot read %s: %s", dir, strerror(errno));
  kafu_subcommand *v = NULL;
  size_t cap = 0;
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "kafu_", 5) || !e->d_name[5]) continue;
    char *path = kafu_path_join(dir, e->d_name);
    struct stat st;
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) { /* follows links, like the original */
      free(path);
      continue;
    }
    if (*n == cap) {
      kafu_subcommand *nv = realloc(v, (cap = cap ? 2 * cap : 8) * sizeof *v);
      if (!nv) {
        free(path);
        rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
        break;
      }
      v = nv;
    }
    v[*n].path = path;
    v[*n].name = path + strlen(path) - strlen(e->d_name) + 5;
    (*n)++;
  }
  closedir(d);
  if (rc) {
    kafu_cli_subcommands_free(v, *n);
    *n = 0;
    return rc;
  }
  if (*n) qsort(v, *n, sizeof *v, by_name);
  *out = v;
  return 0;
}

void kafu_cli_subcommands_free(kafu_subcommand *v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i].path);
  free(v);
}

int kafu_cmd_list(int argc, char **argv) {
  bool long_ = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "--long"))
      long_ = true;
    else
      return kafu_cli_usage_error("list", "unknown option '%s'", argv[i]);
  }
  char *dir = kafu_cli_libexec_dir();
  if (!dir) {
    fprintf(stderr, "kafu list: error: out of memory\n");
    return 1;
  }
  kafu_subcommand *v;
  size_t n;
  kafu_err e;
  int rc = kafu_cli_subcommands(dir, &v, &n, &e);
  if (rc) {
    fprintf(stderr, "kafu list: error: %s%s\n", e.msg,
            kafu_tunables_get()->sdk_path ? " (KAFU_SDK_PATH should be a Kafu install prefix)" : "");
  } else {
    for (size_t i = 0; i < n; i++) {
      if (long_)
        printf("%s\t%s\n", v[i].name, v[i].path);
      else
        printf("%s\n", v[i].name);
    }
    kafu_cli_subcommands_free(v, n);
  }
  free(dir);
  return rc ? 1 : 0;
}
