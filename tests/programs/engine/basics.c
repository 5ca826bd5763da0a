/* basics.c — exit codes, arguments and environment, for tests/shell/run_*.sh:
 *   basics.wasm                  prints "hello, world", returns 0
 *   basics.wasm args A B ...     prints argc and every argv[i]
 *   basics.wasm env NAME...      prints NAME=value (or NAME unset) for each
 *   basics.wasm environ          prints the whole environment, one per line
 *   basics.wasm return N         main returns N
 *   basics.wasm exit N           exit(N) (atexit handlers run, stdio flushed)
 *   basics.wasm proc_exit N      __wasi_proc_exit(N) directly (nothing flushed)
 *   basics.wasm cat              copies stdin to stdout
 *   basics.wasm ls DIR           lists DIR (a preopened directory), sorted
 *   basics.wasm read FILE        prints FILE's contents */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

extern char **environ;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  if (argc < 2) {
    printf("hello, world\n");
    return 0;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "args")) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    return 0;
  }
  if (!strcmp(cmd, "env")) {
    for (int i = 2; i < argc; i++) {
      const char *v = getenv(argv[i]);
      if (v) printf("%s=%s\n", argv[i], v);
      else printf("%s unset\n", argv[i]);
    }
    return 0;
  }
  if (!strcmp(cmd, "environ")) {
    for (char **e = environ; *e; e++) printf("%s\n", *e);
    return 0;
  }
  int n = argc > 2 ? atoi(argv[2]) : 0;
  if (!strcmp(cmd, "return")) return n;
  if (!strcmp(cmd, "exit")) {
    printf("exiting with %d\n", n);
    exit(n);
  }
  if (!strcmp(cmd, "proc_exit")) __wasi_proc_exit((__wasi_exitcode_t)n);
  if (!strcmp(cmd, "cat")) {
    int c;
    while ((c = getchar()) != EOF) putchar(c);
    return 0;
  }
  if (!strcmp(cmd, "ls") && argc > 2) {
    DIR *d = opendir(argv[2]);
    if (!d) {
      perror(argv[2]);
      return 1;
    }
    char *names[256];
    int k = 0;
    struct dirent *e;
    while ((e = readdir(d)) && k < 256)
      if (e->d_name[0] != '.') names[k++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)k, sizeof *names, cmp);
    for (int i = 0; i < k; i++) printf("%s\n", names[i]);
    return 0;
  }
  if (!strcmp(cmd, "read") && argc > 2) {
    FILE *f = fopen(argv[2], "r");
    if (!f) {
      perror(argv[2]);
      return 1;
    }
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, r, stdout);
    fclose(f);
    return 0;
  }
  fprintf(stderr, "basics: unknown command %s\n", cmd);
  return 2;
}
