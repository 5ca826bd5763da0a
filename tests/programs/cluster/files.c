/*
 * files.c — open files travel with the program (docs/migration.md, "Files"). Node "a" opens
 * log.txt in the preopened directory and writes a line; the same FILE* is
 * written on "b" (the fd is reopened there at the same offset), then again
 * on "a". "b" then reads the whole file back through a file it opened on "a"
 * and prints it; "a" removes a scratch file "b" created.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

void write_on_b(FILE *f);
void read_on_b(FILE *f);

int main(void) {
  FILE *f = fopen("log.txt", "w");
  if (!f) {
    perror("fopen log.txt");
    return 10;
  }
  fprintf(f, "1 written on a\n");
  fflush(f);
  write_on_b(f);
  fprintf(f, "3 written on a after b\n");
  fclose(f);

  FILE *r = fopen("log.txt", "r");
  char line[128];
  if (!r || !fgets(line, sizeof line, r)) return 11; /* read the first line here ... */
  printf("a read: %s", line);
  fflush(stdout);
  read_on_b(r); /* ... and the rest on b, from the same position */
  fclose(r);

  FILE *s = fopen("scratch.txt", "r");
  if (!s || !fgets(line, sizeof line, s)) return 12;
  printf("a read scratch: %s", line);
  fclose(s);
  if (remove("scratch.txt")) return 13;
  printf("done\n");
  return 0;
}

KAFU_DEST(write_on_b, "b")
KAFU_EXPORT(write_on_b)
void write_on_b(FILE *f) {
  fprintf(f, "2 written on b\n");
  fflush(f);
  FILE *s = fopen("scratch.txt", "w");
  if (!s) abort();
  fprintf(s, "made on b\n");
  fclose(s);
}

KAFU_DEST(read_on_b, "b")
KAFU_EXPORT(read_on_b)
void read_on_b(FILE *f) {
  char line[128];
  while (fgets(line, sizeof line, f)) printf("b read: %s", line);
  fflush(stdout);
}
