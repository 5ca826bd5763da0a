/*
 * service.c — an HTTP/1.1 service on the edge whose request handler runs in
 * the cloud.
 *
 * main() runs on "edge" (the first node of kafu-config.yaml, which gives it a
 * listening socket: nodes.edge.listen). It accepts connections; for each
 * request on a connection it calls handle_request(), annotated
 * KAFU_DEST(handle_request, "cloud"): the program migrates to the cloud, which
 * reads the request from the connection, computes the answer and writes it to
 * the connection, and comes back. The connection stays on the edge all along
 * (its home); the cloud's reads and writes on it are forwarded there.
 *
 *   GET  /            a line of help
 *   POST /count       "bytes=N words=W lines=L fnv1a=XXXXXXXX\n" about the body
 *   POST /upper       the body in upper case
 *   anything else     404; a malformed request 400 (and the connection closes)
 *
 * Connections are kept alive (HTTP/1.1) unless the client sends
 * "Connection: close". `service [REQUESTS]` stops after that many requests
 * (default: never). It uses the first listening socket it finds among its fds,
 * so it also runs under `kafu run --tcplisten HOST:PORT` (without migrating)
 * and natively (give it a socket as fd 3).
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

#include "kafu.h"

#define MAX_HEAD 8192
#define MAX_BODY (1 << 20)

/* Bytes received on the current connection and not used yet (a client may
 * send its next request before it has our answer). In linear memory, so they
 * travel with the program like everything else. */
static char inbuf[MAX_HEAD + 4096];
static size_t inlen;
static char body[MAX_BODY];
static char out[MAX_BODY + 512];

static int find_listener(void) {
  for (int fd = 3; fd < 64; fd++) {
#ifdef __wasi__
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(fd, &st) == 0 && st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM &&
        (st.fs_rights_base & __WASI_RIGHTS_SOCK_ACCEPT))
      return fd;
#else
    int yes = 0;
    socklen_t l = sizeof yes;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &yes, &l) == 0 && yes) return fd;
#endif
  }
  return -1;
}

/* More bytes from the connection into inbuf. 0 = the client closed it. */
static ssize_t fill(int c) {
  if (inlen == sizeof inbuf) return -1;
  ssize_t n;
  do n = recv(c, inbuf + inlen, sizeof inbuf - inlen, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0) inlen += (size_t)n;
  return n;
}

static int send_all(int c, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(c, p, n, 0);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int reply(int c, int status, const char *reason, const char *data, size_t len, int keep) {
  int h = snprintf(out, 512,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n",
                   status, reason, len, keep ? "keep-alive" : "close");
  memcpy(out + h, data, len);
  return send_all(c, out, (size_t)h + len) < 0 ? -1 : keep;
}

/* Serve one request of connection c. Returns 1 to keep the connection, 0 to
 * close it after this answer, -1 when the client went away or broke off. */
KAFU_DEST(handle_request, "cloud")
KAFU_EXPORT(handle_request)
int handle_request(int c) {
  char *end;
  while (!(end = memmem(inbuf, inlen, "\r\n\r\n", 4))) {
    if (inlen >= MAX_HEAD) return reply(c, 431, "Request Header Fields Too Large", "", 0, 0);
    ssize_t n = fill(c);
    if (n <= 0) return -1;
  }
  size_t head = (size_t)(end - inbuf) + 4;
  inbuf[head - 2] = 0;
  char method[16], path[256], version[16];
  if (sscanf(inbuf, "%15s %255s %15s", method, path, version) != 3 || strncmp(version, "HTTP/1.", 7))
    return reply(c, 400, "Bad Request", "bad request line\n", 17, 0);
  long clen = 0;
  int keep = strcmp(version, "HTTP/1.0") != 0;
  for (char *l = strstr(inbuf, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
    char *h = l + 2;
    if (!strncasecmp(h, "Content-Length:", 15)) {
      clen = strtol(h + 15, NULL, 10);
    } else if (!strncasecmp(h, "Connection:", 11)) {
      const char *v = h + 11;
      while (*v == ' ') v++;
      if (!strncasecmp(v, "close", 5)) keep = 0;
      if (!strncasecmp(v, "keep-alive", 10)) keep = 1;
    }
  }
  if (clen < 0 || clen > MAX_BODY) return reply(c, 413, "Payload Too Large", "", 0, 0);
  /* the body: what came with the head, then the rest from the connection */
  size_t have = inlen - head < (size_t)clen ? inlen - head : (size_t)clen;
  memcpy(body, inbuf + head, have);
  memmove(inbuf, inbuf + head + have, inlen - head - have);
  inlen -= head + have;
  while (have < (size_t)clen) {
    ssize_t n;
    do n = recv(c, body + have, (size_t)clen - have, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return -1; /* broke off mid-body */
    have += (size_t)n;
  }
  if (!strcmp(method, "GET") && !strcmp(path, "/")) {
    const char *help = "edge-service: POST a text to /count or /upper\n";
    return reply(c, 200, "OK", help, strlen(help), keep);
  }
  if (!strcmp(method, "POST") && !strcmp(path, "/count")) {
    unsigned long words = 0, lines = 0;
    unsigned fnv = 2166136261u;
    int inword = 0;
    for (long i = 0; i < clen; i++) {
      unsigned char ch = (unsigned char)body[i];
      fnv = (fnv ^ ch) * 16777619u;
      lines += ch == '\n';
      int sp = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r';
      words += !sp && !inword;
      inword = !sp;
    }
    char res[128];
    int n = snprintf(res, sizeof res, "bytes=%ld words=%lu lines=%lu fnv1a=%08x\n", clen, words, lines, fnv);
    return reply(c, 200, "OK", res, (size_t)n, keep);
  }
  if (!strcmp(method, "POST") && !strcmp(path, "/upper")) {
    for (long i = 0; i < clen; i++)
      if (body[i] >= 'a' && body[i] <= 'z') body[i] = (char)(body[i] - 32);
    return reply(c, 200, "OK", body, (size_t)clen, keep);
  }
  return reply(c, 404, "Not Found", "no such endpoint\n", 17, keep);
}

int main(int argc, char **argv) {
  long max = argc > 1 ? atol(argv[1]) : 0, served = 0;
  int lfd = find_listener();
  if (lfd < 0) {
    fprintf(stderr, "edge-service: no listening socket (configure nodes.edge.listen, or kafu run --tcplisten)\n");
    return 1;
  }
  printf("edge-service: listening on fd %d\n", lfd);
  fflush(stdout);
  while (!max || served < max) {
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      perror("edge-service: accept");
      return 1;
    }
    inlen = 0;
    int rc = 1;
    while (rc == 1 && (!max || served < max)) {
      rc = handle_request(c);
      if (rc >= 0) served++;
    }
    close(c);
  }
  printf("edge-service: served %ld requests\n", served);
  return 0;
}
