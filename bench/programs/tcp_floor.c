/*
 * tcp_floor.c — the floor for one migration: copy N bytes over a loopback TCP
 * connection (server thread reads into a buffer, client writes from one) and
 * print the median time of R repetitions in milliseconds.
 *
 * usage: tcp_floor BYTES [REPS]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static size_t g_bytes;
static int g_reps;
static int g_listen;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *server(void *arg) {
  (void)arg;
  uint8_t *buf = malloc(g_bytes ? g_bytes : 1);
  for (int r = 0; r < g_reps; r++) {
    int c = accept(g_listen, NULL, NULL);
    size_t got = 0;
    while (got < g_bytes) {
      ssize_t n = read(c, buf + got, g_bytes - got);
      if (n <= 0) break;
      got += (size_t)n;
    }
    char ack = 1;
    if (write(c, &ack, 1) != 1) perror("write");
    close(c);
  }
  free(buf);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tcp_floor BYTES [REPS]\n");
    return 2;
  }
  g_bytes = strtoull(argv[1], NULL, 10);
  g_reps = argc > 2 ? atoi(argv[2]) : 9;
  g_listen = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (bind(g_listen, (struct sockaddr *)&a, sizeof a) || listen(g_listen, 4) ||
      getsockname(g_listen, (struct sockaddr *)&a, &al)) {
    perror("tcp_floor: bind");
    return 1;
  }
  pthread_t th;
  pthread_create(&th, NULL, server, NULL);
  uint8_t *src = malloc(g_bytes ? g_bytes : 1);
  for (size_t i = 0; i < g_bytes; i++) src[i] = (uint8_t)(i * 131);
  double *t = calloc((size_t)g_reps, sizeof *t);
  for (int r = 0; r < g_reps; r++) {
    double t0 = now_ms();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) {
      perror("tcp_floor: connect");
      return 1;
    }
    size_t sent = 0;
    while (sent < g_bytes) {
      ssize_t n = write(s, src + sent, g_bytes - sent);
      if (n <= 0) break;
      sent += (size_t)n;
    }
    char ack;
    if (read(s, &ack, 1) != 1) perror("read");
    close(s);
    t[r] = now_ms() - t0;
  }
  pthread_join(th, NULL);
  qsort(t, (size_t)g_reps, sizeof *t, cmp);
  printf("%.3f\n", t[g_reps / 2]);
  return 0;
}
