/*
 * replay_main.c — runs a libFuzzer target over files without libFuzzer, so the
 * seed corpus (and every crash ever found, saved there) is a regression test
 * in the normal suite. With clang -fsanitize=fuzzer the real fuzzer main is
 * used instead (see `make fuzz`).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  size_t got = fread(buf, 1, (size_t)(n > 0 ? n : 0), f);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, got);
  /* every prefix too: truncation is the most common corruption */
  for (size_t cut = 0; cut < got; cut += 1 + got / 64) LLVMFuzzerTestOneInput(buf, cut);
  free(buf);
  return 1;
}

int main(int argc, char **argv) {
  int files = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *e;
      while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
        files += run_file(p);
      }
      if (d) closedir(d);
    } else {
      files += run_file(argv[i]);
    }
  }
  printf("replayed %d inputs\n", files);
  return 0;
}
