/*
 * link_floor.c — the floor for one migration on a given link: the time to move
 * the bytes a migration carries from one node to the other, without Kafu.
 *
 *   link_floor serve [-b ADDR] PORT
 *   link_floor send [-B BLOCK] [-w WARMUP] HOST PORT PAYLOAD REPS CODEC...
 *
 * "serve" accepts one connection (prints "ready" once listening) and exits
 * when it closes. "send" connects once (TCP_NODELAY, like Kafu's keep-alive
 * connection) and, REPS times after WARMUP unmeasured rounds, sends PAYLOAD
 * (a file of raw bytes, or "bytes:N" for N bytes of a fixed pattern) with
 * each CODEC in turn (interleaved, so every codec sees the same link state):
 *
 *   none        the bytes as they are (the raw floor)
 *   lz4[:A]     LZ4, acceleration A (default 1)
 *   zstd[:L]    zstd, level L (default 1)
 *
 * Compression is streamed in blocks of BLOCK bytes (default 256 KiB): the
 * sender compresses a block and writes it while the receiver decompresses the
 * previous one into its buffer, so compression, transfer and decompression
 * overlap as well as they can. The measured time runs from before the first
 * block is compressed on the sender to after the last block is decompressed
 * on the receiver (CLOCK_MONOTONIC: both processes run on one host, also when
 * they are in different network namespaces). The receiver checks a checksum
 * of what it rebuilt.
 *
 * Output of "send", one line per codec (medians over REPS):
 *   floor codec=lz4:1 ms=1.234 wire_bytes=123 raw_bytes=456
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <lz4.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define MAGIC 0x4b464c52u /* "KFLR" */
enum { C_NONE, C_LZ4, C_ZSTD };

typedef struct hdr {
  uint32_t magic, codec;
  int32_t level;
  uint32_t nblocks;
  uint64_t raw_total, t0;
} hdr;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "link_floor: %s: %s\n", what, errno ? strerror(errno) : "protocol error");
  exit(1);
}

static void read_all(int fd, void *p, size_t n) {
  uint8_t *b = p;
  while (n) {
    ssize_t r = read(fd, b, n);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) errno = 0;
      die("read");
    }
    b += r, n -= (size_t)r;
  }
}

static void write_all(int fd, struct iovec *iov, int n) {
  while (n) {
    ssize_t w = writev(fd, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    while (n && (size_t)w >= iov->iov_len) w -= (ssize_t)iov->iov_len, iov++, n--;
    if (n) iov->iov_base = (uint8_t *)iov->iov_base + w, iov->iov_len -= (size_t)w;
  }
}

static uint64_t checksum(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i += 64) h = (h ^ p[i]) * 1099511628211ull;
  return h ^ n;
}

static int serve(const char *addr, int port) {
  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) die("bad address");
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1)) die("bind");
  printf("ready\n");
  fflush(stdout);
  /* a sender that never comes (it failed to start) must not leave us behind */
  struct pollfd pl = {.fd = l, .events = POLLIN};
  if (poll(&pl, 1, 120000) != 1) {
    errno = ETIMEDOUT;
    die("waiting 120 s for the sender");
  }
  int c = accept(l, NULL, NULL);
  if (c < 0) die("accept");
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint8_t *out = NULL, *in = NULL;
  size_t out_cap = 0, in_cap = 0;
  ZSTD_DCtx *z = ZSTD_createDCtx();
  for (;;) {
    hdr h;
    ssize_t r = read(c, &h, sizeof h);
    if (r == 0) break;
    if (r != (ssize_t)sizeof h)
      read_all(c, (uint8_t *)&h + (r > 0 ? r : 0), sizeof h - (size_t)(r > 0 ? r : 0));
    if (h.magic != MAGIC) die("bad header");
    if (h.raw_total > out_cap && !(out = realloc(out, out_cap = h.raw_total))) die("out of memory");
    uint64_t off = 0;
    for (uint32_t b = 0; b < h.nblocks; b++) {
      uint32_t len[2];
      read_all(c, len, sizeof len);
      if (off + len[0] > h.raw_total) die("block beyond payload");
      if (h.codec == C_NONE) {
        read_all(c, out + off, len[0]);
      } else {
        if (len[1] > in_cap && !(in = realloc(in, in_cap = len[1]))) die("out of memory");
        read_all(c, in, len[1]);
        size_t got = h.codec == C_LZ4 ? (size_t)LZ4_decompress_safe((char *)in, (char *)out + off,
                                                                    (int)len[1], (int)len[0])
                                      : ZSTD_decompressDCtx(z, out + off, len[0], in, len[1]);
        if (got != len[0]) die("decompression failed");
      }
      off += len[0];
    }
    uint64_t reply[2] = {now_ns() - h.t0, checksum(out, (size_t)h.raw_total)};
    struct iovec v = {reply, sizeof reply};
    write_all(c, &v, 1);
  }
  ZSTD_freeDCtx(z);
  return 0;
}

typedef struct codec {
  const char *name;
  int kind, level;
  double *ms;
  uint64_t wire;
} codec;

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int sendmain(int argc, char **argv) {
  size_t block = 256 * 1024;
  int warm = 2, i = 0;
  while (i + 1 < argc && argv[i][0] == '-') {
    if (!strcmp(argv[i], "-B"))
      block = strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "-w"))
      warm = atoi(argv[i + 1]);
    else
      return 2;
    i += 2;
  }
  if (argc - i < 5 || block < 4096 || atoi(argv[i + 3]) < 1) return 2;
  const char *host = argv[i], *payload = argv[i + 2];
  int port = atoi(argv[i + 1]), reps = atoi(argv[i + 3]);
  int nc = argc - i - 4;
  codec *cs = calloc((size_t)nc, sizeof *cs);
  for (int k = 0; k < nc; k++) {
    const char *s = argv[i + 4 + k];
    const char *colon = strchr(s, ':');
    cs[k].name = s;
    cs[k].ms = calloc((size_t)reps, sizeof(double));
    if (!strncmp(s, "none", 4))
      cs[k].kind = C_NONE;
    else if (!strncmp(s, "lz4", 3))
      cs[k].kind = C_LZ4, cs[k].level = colon ? atoi(colon + 1) : 1;
    else if (!strncmp(s, "zstd", 4))
      cs[k].kind = C_ZSTD, cs[k].level = colon ? atoi(colon + 1) : 1;
    else
      return 2;
  }
  uint8_t *data = NULL;
  size_t n = 0;
  if (!strncmp(payload, "bytes:", 6)) {
    n = strtoull(payload + 6, NULL, 10);
    if (!(data = malloc(n ? n : 1))) die("out of memory");
    for (size_t j = 0; j < n; j++) data[j] = (uint8_t)(j * 131 + (j >> 12));
  } else {
    FILE *f = fopen(payload, "rb");
    if (!f) die(payload);
    fseek(f, 0, SEEK_END);
    n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    if (!(data = malloc(n ? n : 1)) || fread(data, 1, n, f) != n) die(payload);
    fclose(f);
  }
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  if (getaddrinfo(host, ps, &hints, &ai)) die("resolve");
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(s, ai->ai_addr, ai->ai_addrlen)) die("connect");
  freeaddrinfo(ai);
  size_t bound = ZSTD_compressBound(block) > (size_t)LZ4_compressBound((int)block)
                     ? ZSTD_compressBound(block)
                     : (size_t)LZ4_compressBound((int)block);
  uint8_t *cbuf = malloc(bound);
  ZSTD_CCtx *z = ZSTD_createCCtx();
  uint64_t want = checksum(data, n);
  for (int r = 0; r < warm + reps; r++) {
    for (int k = 0; k < nc; k++) {
      codec *c = &cs[k];
      hdr h = {MAGIC, (uint32_t)c->kind, c->level, (uint32_t)((n + block - 1) / block), n, now_ns()};
      uint64_t wire = sizeof h;
      struct iovec v[3] = {{&h, sizeof h}};
      int nv = 1;
      for (size_t off = 0; off < n; off += block) {
        uint32_t len[2] = {(uint32_t)(n - off < block ? n - off : block), 0};
        const uint8_t *src = data + off;
        if (c->kind == C_NONE) {
          len[1] = len[0];
        } else {
          size_t cl = c->kind == C_LZ4 ? (size_t)LZ4_compress_fast((const char *)src, (char *)cbuf,
                                                                   (int)len[0], (int)bound, c->level)
                                       : ZSTD_compressCCtx(z, cbuf, bound, src, len[0], c->level);
          if (!cl || ZSTD_isError(cl)) die("compression failed");
          len[1] = (uint32_t)cl;
          src = cbuf;
        }
        v[nv].iov_base = len, v[nv++].iov_len = sizeof len;
        v[nv].iov_base = (void *)src, v[nv++].iov_len = len[1];
        write_all(s, v, nv);
        wire += sizeof len + len[1];
        nv = 0;
      }
      if (nv) write_all(s, v, nv);
      uint64_t reply[2];
      read_all(s, reply, sizeof reply);
      if (reply[1] != want) {
        fprintf(stderr, "link_floor: %s: the receiver rebuilt different bytes\n", c->name);
        return 1;
      }
      if (r >= warm) c->ms[r - warm] = (double)reply[0] / 1e6;
      c->wire = wire;
    }
  }
  close(s);
  for (int k = 0; k < nc; k++) {
    qsort(cs[k].ms, (size_t)reps, sizeof(double), cmp_d);
    printf("floor codec=%s ms=%.3f wire_bytes=%llu raw_bytes=%zu\n", cs[k].name, cs[k].ms[reps / 2],
           (unsigned long long)cs[k].wire, n);
  }
  return 0;
}

int main(int argc, char **argv) {
  int rc = 2;
  if (argc >= 3 && !strcmp(argv[1], "serve")) {
    if (argc == 3) return serve("0.0.0.0", atoi(argv[2]));
    if (argc == 5 && !strcmp(argv[2], "-b")) return serve(argv[3], atoi(argv[4]));
  } else if (argc >= 2 && !strcmp(argv[1], "send")) {
    rc = sendmain(argc - 2, argv + 2);
  }
  if (rc == 2)
    fprintf(stderr,
            "usage: link_floor serve [-b ADDR] PORT\n"
            "       link_floor send [-B BLOCK] [-w WARMUP] HOST PORT PAYLOAD REPS CODEC...\n");
  return rc;
}
