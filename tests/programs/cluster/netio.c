/* netio.c — sockets and stdin used from a node that is not their home
 * (tests/shell/cluster_netio.sh). The coordinator is "cloud"; "edge" has the
 * listening socket (nodes.edge.listen), so on cloud it is a forwarded fd.
 *
 *   netio stdin N1 N2   read N1 lines of stdin on cloud, N2 on edge (forwarded
 *                       to cloud, read ahead), the rest on cloud again; print
 *                       every line with its phase and a checksum
 *   netio kill          accept on edge's socket from cloud, then recv: the
 *                       test kills edge meanwhile; print the error, exit 3
 *   netio poll          poll_oneoff on edge's sockets from cloud: a timeout
 *                       with only remote fds, a remote fd becoming ready,
 *                       a local fd (stdin) mixed with a remote one
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

#include "kafu.h"

static unsigned sum = 2166136261u;

static void line(const char *phase, const char *s) {
  for (const char *p = s; *p; p++) sum = (sum ^ (unsigned char)*p) * 16777619u;
  printf("%s %s", phase, s);
}

static long read_lines(const char *phase, long n) {
  char buf[512];
  long got = 0;
  while ((n < 0 || got < n) && fgets(buf, sizeof buf, stdin)) {
    line(phase, buf);
    got++;
  }
  fflush(stdout);
  return got;
}

KAFU_DEST(on_edge, "edge")
KAFU_EXPORT(on_edge)
long on_edge(long n) { return read_lines("B", n); }

static int listener(void) {
  for (int fd = 3; fd < 64; fd++) {
#ifdef __wasi__
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(fd, &st) == 0 && st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM &&
        (st.fs_rights_base & __WASI_RIGHTS_SOCK_ACCEPT))
      return fd;
#endif
  }
  return -1;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int mode_kill(void) {
  int l = listener();
  int c = accept(l, NULL, NULL);
  if (c < 0) {
    printf("accept failed: %s\n", strerror(errno));
    return 1;
  }
  printf("accepted fd %d\n", c);
  fflush(stdout);
  char buf[64];
  ssize_t n = recv(c, buf, sizeof buf, 0);
  if (n < 0) {
    printf("recv failed: %s\n", strerror(errno));
    ssize_t m = send(c, "x", 1, 0);
    printf("send after that: %s\n", m < 0 ? strerror(errno) : "ok");
    fflush(stdout);
    return 3;
  }
  printf("recv returned %zd\n", n);
  return 0;
}

static int mode_poll(void) {
  int l = listener();
  /* 1. only a remote fd and a timeout: nothing connects, the timeout fires */
  struct pollfd p[2] = {{.fd = l, .events = POLLIN}};
  double t0 = now_ms();
  int r = poll(p, 1, 400);
  printf("timeout: poll=%d after %s\n", r, now_ms() - t0 >= 390 ? ">=400ms" : "too early");
  fflush(stdout);
  /* 2. the test connects now: the remote fd becomes ready before the timeout */
  printf("connect now\n");
  fflush(stdout);
  t0 = now_ms();
  r = poll(p, 1, 20000);
  printf("ready: poll=%d revents=%s in time=%s\n", r, (p[0].revents & POLLIN) ? "POLLIN" : "-",
         now_ms() - t0 < 15000 ? "yes" : "no");
  int c = accept(l, NULL, NULL);
  if (c < 0) return printf("accept: %s\n", strerror(errno)), 1;
  /* 3. mixed: stdin (local here, cloud is its home) and the remote connection;
   *    the test writes to stdin first, then to the connection */
  p[0] = (struct pollfd){.fd = 0, .events = POLLIN};
  p[1] = (struct pollfd){.fd = c, .events = POLLIN};
  printf("write stdin now\n");
  fflush(stdout);
  r = poll(p, 2, 20000);
  printf("mixed 1: poll=%d stdin=%s conn=%s\n", r, (p[0].revents & POLLIN) ? "in" : "-",
         (p[1].revents & POLLIN) ? "in" : "-");
  char buf[128];
  ssize_t n = read(0, buf, sizeof buf);
  printf("stdin: %.*s", (int)(n > 0 ? n : 0), buf);
  printf("write conn now\n");
  fflush(stdout);
  p[0].revents = p[1].revents = 0;
  r = poll(p, 2, 20000);
  printf("mixed 2: poll=%d stdin=%s conn=%s\n", r, (p[0].revents & POLLIN) ? "in" : "-",
         (p[1].revents & POLLIN) ? "in" : "-");
  n = recv(c, buf, sizeof buf, 0);
  printf("conn: %.*s", (int)(n > 0 ? n : 0), buf);
  /* 4. mixed with nothing ready: the timeout fires */
  t0 = now_ms();
  r = poll(p, 2, 300);
  printf("mixed timeout: poll=%d after %s\n", r, now_ms() - t0 >= 290 ? ">=300ms" : "too early");
  close(c);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "stdin";
  if (!strcmp(mode, "kill")) return mode_kill();
  if (!strcmp(mode, "poll")) return mode_poll();
  long n1 = argc > 2 ? atol(argv[2]) : 2, n2 = argc > 3 ? atol(argv[3]) : 2;
  read_lines("A", n1);
  on_edge(n2);
  read_lines("C", -1);
  printf("checksum %08x\n", sum);
  return 0;
}
