/* fwdcall.c — the cost of one forwarded call (bench/edge-service.sh).
 *
 * Run on "cloud" while the listening socket is "edge"'s (nodes.edge.listen),
 * every call on it is one request to edge; under `kafu run --tcplisten` the
 * same calls are local. Times N fd_fdstat_get calls on the listening socket
 * (a round trip and nothing else), then accepts one connection and times N
 * 1 KiB sends and N 1 KiB receives on it (the bench's client echoes).
 * Prints "fdstat_us=X send_us=Y recv_us=Z" (microseconds per call: the
 * median over 10 batches of each batch's mean, so a burst of load elsewhere on
 * a shared machine moves one batch, not the result).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

#define BATCHES 10

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v) {
  qsort(v, BATCHES, sizeof *v, cmp);
  return (v[BATCHES / 2 - 1] + v[BATCHES / 2]) / 2;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2000, l = -1;
  int per = n / BATCHES > 0 ? n / BATCHES : 1;
  for (int fd = 3; fd < 64 && l < 0; fd++) {
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(fd, &st) == 0 && st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM) l = fd;
  }
  if (l < 0) return fprintf(stderr, "fwdcall: no listening socket\n"), 1;
  __wasi_fdstat_t st;
  double fdstat[BATCHES], sends[BATCHES], recvs[BATCHES];
  for (int b = 0; b < BATCHES; b++) {
    double t0 = now_us();
    for (int i = 0; i < per; i++)
      if (__wasi_fd_fdstat_get(l, &st)) return fprintf(stderr, "fwdcall: fd_fdstat_get failed\n"), 1;
    fdstat[b] = (now_us() - t0) / per;
  }
  printf("ready\n");
  fflush(stdout);
  int c = accept(l, NULL, NULL);
  if (c < 0) return perror("accept"), 1;
  static char buf[1024];
  for (int b = 0; b < BATCHES; b++) {
    double send_t = 0, recv_t = 0;
    for (int i = 0; i < per; i++) {
      double t0 = now_us();
      if (send(c, buf, sizeof buf, 0) != (ssize_t)sizeof buf) return perror("send"), 1;
      double t1 = now_us();
      size_t got = 0;
      while (got < sizeof buf) {
        ssize_t r = recv(c, buf + got, sizeof buf - got, 0);
        if (r <= 0) return perror("recv"), 1;
        got += (size_t)r;
      }
      send_t += t1 - t0;
      recv_t += now_us() - t1;
    }
    sends[b] = send_t / per;
    recvs[b] = recv_t / per;
  }
  close(c);
  printf("fdstat_us=%.2f send_us=%.2f recv_us=%.2f\n", median(fdstat), median(sends), median(recvs));
  return 0;
}
