/*
 * files.c — open files across migrations (nodes cloud, edge), in the
 * preopened directory ".". argv[1] selects:
 *
 *   offsets   files opened on cloud are used on edge and again on cloud: a
 *             FILE* (w+, truncating), raw fds (O_RDWR, O_EXCL, O_APPEND, read-only
 *             input.txt), pread/pwrite, seeks, a file opened on edge and used on
 *             cloud, fds closed on one node and reused on the other, and a
 *             directory stream read partly on each node (dir/ holds many files,
 *             so readdir needs several fd_readdir calls). Every offset is printed.
 *   vanish HOW  doomed.txt is opened and written on cloud; then, still open:
 *             unlink   it is deleted: it cannot be reopened anywhere (error)
 *             rename   renamed to moved.txt: the open file follows it
 *             shorter  renamed, and a 3-byte doomed.txt put in its place
 *             dir      renamed, and a directory doomed.txt put in its place
 *             wait     the program creates ready.txt and waits for go.txt while
 *                      the test moves the file out of the preopened directory
 *                      and puts a different doomed.txt in its place (error)
 *             then edge writes to it through the same FILE*.
 *   stdin     stdin (larger than stdio's buffer) read line by line, alternately
 *             on cloud and edge through the same FILE*; then raw read(0) on both.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kafu.h"

typedef struct files {
  FILE *log;
  int raw, excl, app, in, edge_fd;
  DIR *dir;
  int dir_seen;
  uint64_t dir_hash;
} files;

void edge_io(files *x);
void edge_more(files *x);
void edge_write(FILE *f);

static void check(int ok, const char *what) {
  if (!ok) {
    perror(what);
    exit(3);
  }
}

static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* Read up to n entries of x->dir (all if n < 0); order-independent hash. */
static int read_dir(files *x, int n) {
  int got = 0;
  struct dirent *d;
  while ((n < 0 || got < n) && (d = readdir(x->dir))) {
    if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..")) continue;
    x->dir_hash += name_hash(d->d_name);
    got++;
  }
  x->dir_seen += got;
  return got;
}

static void show(const char *who, const char *path) {
  FILE *f = fopen(path, "r");
  check(f != NULL, path);
  char buf[512];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  printf("%s: %s = [", who, path);
  for (size_t i = 0; i < n; i++) putchar(buf[i] == '\n' ? '|' : buf[i]);
  printf("]\n");
}

static long pos(int fd) { return (long)lseek(fd, 0, SEEK_CUR); }

KAFU_DEST(edge_io, "edge")
KAFU_EXPORT(edge_io)
void edge_io(files *x) {
  printf("edge: log at %ld, raw at %ld, in at %ld, app at %ld\n", ftell(x->log), pos(x->raw), pos(x->in),
         pos(x->app));
  char b[16] = {0};
  check(read(x->in, b, 6) == 6, "edge read input");
  printf("edge: read input [%.6s], now at %ld\n", b, pos(x->in));
  check(fputs("edge line\n", x->log) >= 0, "edge fputs");
  check(fseek(x->log, 3, SEEK_SET) == 0, "edge fseek");
  memset(b, 0, sizeof b);
  check(fread(b, 1, 4, x->log) == 4, "edge fread");
  printf("edge: log bytes 3..6 [%s], at %ld\n", b, ftell(x->log));
  check(fseek(x->log, 0, SEEK_END) == 0, "edge fseek end");
  check(lseek(x->raw, 2, SEEK_SET) == 2 && write(x->raw, "xy", 2) == 2, "edge raw write");
  check(pwrite(x->raw, "Z", 1, 7) == 1, "edge pwrite");
  printf("edge: raw at %ld after pwrite\n", pos(x->raw));
  check(write(x->app, "e1\n", 3) == 3, "edge append");
  check(write(x->excl, "edge-excl\n", 10) == 10, "edge excl");
  printf("edge: dir read %d entries\n", read_dir(x, 40));
  close(x->in); /* freed here, reused by the next open on cloud */
  x->in = -1;
  x->edge_fd = open("edge.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  check(x->edge_fd >= 0, "edge open");
  check(write(x->edge_fd, "from edge\n", 10) == 10, "edge.txt write");
  printf("edge: opened edge.txt as fd %d\n", x->edge_fd);
  fflush(stdout);
}

KAFU_DEST(edge_more, "edge")
KAFU_EXPORT(edge_more)
void edge_more(files *x) {
  printf("edge again: raw at %ld, edge.txt at %ld\n", pos(x->raw), pos(x->edge_fd));
  printf("edge again: dir read %d entries\n", read_dir(x, -1));
  char b[8] = {0};
  check(pread(x->raw, b, 8, 0) == 8, "edge pread");
  printf("edge again: raw [%.8s]\n", b);
  fflush(stdout);
}

static int offsets(void) {
  files x = {0};
  x.log = fopen("log.txt", "w+");
  check(x.log != NULL, "fopen log.txt");
  check(fputs("0123456789\n", x.log) >= 0 && fflush(x.log) == 0, "cloud fputs");
  x.raw = open("raw.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  check(x.raw >= 0 && write(x.raw, "ABCDEFGH", 8) == 8, "raw.bin");
  x.excl = open("excl.txt", O_WRONLY | O_CREAT | O_EXCL, 0644);
  check(x.excl >= 0 && write(x.excl, "cloud-excl\n", 11) == 11, "excl.txt");
  x.app = open("append.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
  check(x.app >= 0 && write(x.app, "c1\n", 3) == 3, "append.txt");
  x.in = open("input.txt", O_RDONLY);
  check(x.in >= 0, "input.txt");
  char b[16] = {0};
  check(read(x.in, b, 5) == 5, "cloud read input");
  x.dir = opendir("dir");
  check(x.dir != NULL, "opendir dir");
  printf("cloud: fds log=%d raw=%d excl=%d app=%d in=%d; input [%s]; dir read %d entries\n", fileno(x.log),
         x.raw, x.excl, x.app, x.in, b, read_dir(&x, 25));
  fflush(stdout);

  edge_io(&x);

  printf("cloud: log at %ld, raw at %ld, edge.txt at %ld\n", ftell(x.log), pos(x.raw), pos(x.edge_fd));
  check(fputs("cloud again\n", x.log) >= 0, "cloud fputs 2");
  memset(b, 0, sizeof b);
  check(read(x.raw, b, 4) == 4, "cloud raw read");
  printf("cloud: raw bytes 4..7 [%s]\n", b);
  check(write(x.edge_fd, "cloud wrote this\n", 17) == 17, "cloud edge.txt write");
  int again = open("input.txt", O_RDONLY);
  printf("cloud: reopened input.txt as fd %d (edge closed fd %d's predecessor)\n", again, again);
  check(again >= 0 && read(again, b, 3) == 3, "cloud reopen input");
  check(lseek(x.raw, 1, SEEK_SET) == 1, "cloud lseek raw");

  edge_more(&x);

  printf("cloud: dir entries %d hash %016llx\n", x.dir_seen, (unsigned long long)x.dir_hash);
  closedir(x.dir);
  rewind(x.log);
  char line[64];
  while (fgets(line, sizeof line, x.log)) printf("cloud: log line %s", line);
  fclose(x.log);
  close(x.raw);
  close(x.excl);
  close(x.app);
  close(x.edge_fd);
  close(again);
  show("cloud", "raw.bin");
  show("cloud", "excl.txt");
  show("cloud", "append.txt");
  show("cloud", "edge.txt");
  return 0;
}

KAFU_DEST(edge_write, "edge")
KAFU_EXPORT(edge_write)
void edge_write(FILE *f) {
  fprintf(f, "written on edge at offset %ld\n", ftell(f));
  fflush(f);
  printf("edge wrote\n");
  fflush(stdout);
}

/* Wait (up to 20 s) until the test harness created path. */
static void wait_for(const char *path) {
  struct stat sb;
  for (int i = 0; i < 2000 && stat(path, &sb) != 0; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

static int vanish(const char *how) {
  FILE *f = fopen("doomed.txt", "w");
  check(f != NULL, "fopen doomed.txt");
  fprintf(f, "twenty bytes, cloud\n");
  fflush(f);
  printf("cloud: doomed.txt is fd %d at %ld; %s\n", fileno(f), ftell(f), how);
  fflush(stdout);
  if (!strcmp(how, "unlink")) {
    check(unlink("doomed.txt") == 0, "unlink");
  } else if (!strcmp(how, "wait")) {
    FILE *r = fopen("ready.txt", "w"); /* the harness now moves doomed.txt away */
    check(r != NULL, "ready.txt");
    fclose(r);
    wait_for("go.txt");
  } else {
    check(rename("doomed.txt", "moved.txt") == 0, "rename");
    if (!strcmp(how, "shorter")) {
      FILE *g = fopen("doomed.txt", "w");
      check(g != NULL, "fopen new doomed.txt");
      fputs("new", g);
      fclose(g);
    } else if (!strcmp(how, "dir")) {
      check(mkdir("doomed.txt", 0755) == 0, "mkdir");
    }
  }
  edge_write(f);
  fclose(f);
  printf("cloud: done\n");
  return 0;
}

void edge_stdin(int lines);

static void stdin_lines(const char *who, int n) {
  char line[128];
  for (int i = 0; i < n && fgets(line, sizeof line, stdin); i++) printf("%s: %s", who, line);
  fflush(stdout);
}

KAFU_DEST(edge_stdin, "edge")
KAFU_EXPORT(edge_stdin)
void edge_stdin(int lines) {
  if (lines) {
    stdin_lines("edge", lines);
    return;
  }
  char b[32] = {0};
  ssize_t n = read(0, b, 10);
  printf("edge raw: %zd [%s]\n", n, b);
  fflush(stdout);
}

static int stdin_mode(void) {
  for (int k = 0; k < 6; k++) {
    stdin_lines("cloud", 7);
    edge_stdin(11);
  }
  /* raw reads: what stdio has not buffered yet */
  char b[32] = {0};
  ssize_t n = read(0, b, 10);
  printf("cloud raw: %zd [%s]\n", n, b);
  fflush(stdout);
  edge_stdin(0);
  stdin_lines("cloud", 1000);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "stdin")) return stdin_mode();
  if (argc > 1 && !strcmp(argv[1], "offsets")) return offsets();
  if (argc > 2 && !strcmp(argv[1], "vanish")) return vanish(argv[2]);
  fprintf(stderr, "usage: files.wasm offsets | stdin | vanish unlink|rename|shorter|dir|wait\n");
  return 2;
}
