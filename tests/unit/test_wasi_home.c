/*
 * test_wasi_home.c — sockets and stdin with a home: the registry, forwarded
 * calls through an in-process link (two registries play "edge" and "cloud"),
 * read-ahead, poll on remote fds, export/restore of homed entries (a
 * connection that moves between contexts is never closed), a home that is
 * gone, and malformed forwarded requests.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "test_wasi_common.h"
#include "wasi/wasi_internal.h"

/* ---- a two-node world in one process ------------------------------------------ */

typedef struct world {
  kafu_wasi_home *edge, *cloud;
  int calls;     /* link calls made */
  bool edge_down; /* the link says edge cannot be reached */
  int lfd;       /* listening socket (registered as edge's listen #0) */
  struct sockaddr_in addr;
} world;

static int link_call(void *ctx, const char *home, const uint8_t *req, size_t len, kafu_buf *resp, kafu_err *err) {
  world *wd = ctx;
  __atomic_add_fetch(&wd->calls, 1, __ATOMIC_SEQ_CST);
  if (!strcmp(home, "edge") && wd->edge_down) return kafu_err_set(err, KAFU_EIO, "connection refused");
  kafu_wasi_home *h = !strcmp(home, "edge") ? wd->edge : !strcmp(home, "cloud") ? wd->cloud : NULL;
  if (!h) return kafu_err_set(err, KAFU_EINVAL, "no node %s", home);
  return kafu_wasi_home_handle(h, req, len, resp, err);
}

static void world_init(world *wd) {
  memset(wd, 0, sizeof *wd);
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_home_new(NULL, &wd->edge, &err), 0);
  assert_int_equal(kafu_wasi_home_new(NULL, &wd->cloud, &err), 0);
  assert_int_equal(kafu_wasi_home_serve(wd->edge, "edge", &err), 0);
  assert_int_equal(kafu_wasi_home_serve(wd->cloud, "cloud", &err), 0);
  wd->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(wd->lfd >= 0);
  wd->addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof wd->addr;
  assert_int_equal(bind(wd->lfd, (struct sockaddr *)&wd->addr, sizeof wd->addr), 0);
  assert_int_equal(listen(wd->lfd, 16), 0);
  assert_int_equal(getsockname(wd->lfd, (struct sockaddr *)&wd->addr, &al), 0);
  assert_int_equal(kafu_wasi_home_add_listen(wd->edge, "edge", 0, wd->lfd, &err), 0);
}

static void world_free(world *wd) {
  kafu_wasi_home_free(wd->edge);
  kafu_wasi_home_free(wd->cloud);
}

static const kafu_wasi_listen_spec g_listens[] = {{"edge", 0}};

/* A context on node `self` of this world: fd 3 = edge's listening socket. */
static kafu_wasi *ctx_on(world *wd, const char *self) {
  kafu_wasi_config cfg = {.home = !strcmp(self, "edge") ? wd->edge : wd->cloud,
                          .self = self,
                          .listens = g_listens,
                          .nlistens = 1,
                          .link = {link_call, wd},
                          .stdin_fd = -1};
  kafu_wasi *w = NULL;
  kafu_err err = {0};
  int rc = kafu_wasi_new(&cfg, &w, &err);
  if (rc) fprintf(stderr, "kafu_wasi_new: %s\n", err.msg);
  assert_int_equal(rc, 0);
  return w;
}

static int client(world *wd) {
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(connect(c, (struct sockaddr *)&wd->addr, sizeof wd->addr), 0);
  return c;
}

static uint32_t recv_into(kafu_wasi *w, uint32_t fd, uint32_t len, uint32_t flags, uint32_t *got) {
  st32(A_IOV, A_BUF);
  st32(A_IOV + 4, len);
  uint32_t rc = kafu_wasi_sock_recv(w, &M, fd, A_IOV, 1, flags, A_OUT, A_OUT + 4);
  *got = rc ? 0 : ld32(A_OUT);
  return rc;
}

static uint32_t send_str(kafu_wasi *w, uint32_t fd, const char *s) {
  uint32_t l = put_str(A_BUF, s);
  st32(A_IOV, A_BUF);
  st32(A_IOV + 4, l);
  return kafu_wasi_sock_send(w, &M, fd, A_IOV, 1, 0, A_OUT);
}

static uint64_t ms_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_forwarded_socket(void **state) {
  (void)state;
  world wd;
  world_init(&wd);
  kafu_wasi *w = ctx_on(&wd, "cloud");
  /* fd 3 is edge's listening socket, asked at home */
  assert_int_equal(kafu_wasi_fd_fdstat_get(w, &M, 3, A_OUT), 0);
  assert_int_equal(g_mem[A_OUT], KAFU_WASI_FILETYPE_SOCKET_STREAM);
  assert_true(ld64(A_OUT + 8) & KAFU_WASI_RIGHT_SOCK_ACCEPT);
  assert_int_equal(kafu_wasi_fd_filestat_get(w, &M, 3, A_OUT), 0);
  assert_int_equal(g_mem[A_OUT + 16], KAFU_WASI_FILETYPE_SOCKET_STREAM);
  /* calls that are never forwarded: not supported on a remote fd */
  assert_int_equal(kafu_wasi_fd_sync(w, &M, 3), KAFU_WASI_ENOTCAPABLE);
  int c = client(&wd);
  assert_int_equal(send(c, "hello edge", 10, 0), 10);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 3, 0, A_OUT), 0);
  uint32_t s = ld32(A_OUT);
  assert_true(s != 3); /* the lowest free number (0: this context has no stdin) */
  assert_int_equal(kafu_wasi_home_open_count(wd.edge), 2); /* listener + connection, both at edge */
  assert_int_equal(kafu_wasi_home_open_count(wd.cloud), 0);
  /* a peek leaves the bytes; a short read keeps the rest read ahead */
  uint32_t got;
  assert_int_equal(recv_into(w, s, 5, 1, &got), 0);
  assert_int_equal(got, 5);
  assert_memory_equal(g_mem + A_BUF, "hello", 5);
  int before = wd.calls;
  assert_int_equal(recv_into(w, s, 6, 0, &got), 0);
  assert_int_equal(got, 6);
  assert_memory_equal(g_mem + A_BUF, "hello ", 6);
  assert_int_equal(recv_into(w, s, 64, 0, &got), 0);
  assert_int_equal(got, 4);
  assert_memory_equal(g_mem + A_BUF, "edge", 4);
  assert_int_equal(wd.calls, before); /* both served from the read-ahead */
  /* writes reach the client; fd_read/fd_write work too */
  assert_int_equal(send_str(w, s, "hi client"), 0);
  assert_int_equal(ld32(A_OUT), 9);
  char buf[64] = {0};
  assert_int_equal(recv(c, buf, sizeof buf, 0), 9);
  assert_string_equal(buf, "hi client");
  assert_int_equal(wr(w, s, "more", NULL), 0);
  assert_int_equal(recv(c, buf, sizeof buf, 0), 4);
  /* flags are set at home */
  assert_int_equal(kafu_wasi_fd_fdstat_set_flags(w, &M, s, KAFU_WASI_FDFLAG_NONBLOCK), 0);
  assert_int_equal(recv_into(w, s, 8, 0, &got), KAFU_WASI_EAGAIN);
  assert_int_equal(kafu_wasi_fd_fdstat_get(w, &M, s, A_OUT), 0);
  assert_int_equal(kafu_ld16(g_mem + A_OUT + 2), KAFU_WASI_FDFLAG_NONBLOCK);
  assert_int_equal(kafu_wasi_fd_fdstat_set_flags(w, &M, s, 0), 0);
  /* shutdown and close happen at home: the client sees EOF, edge frees it */
  assert_int_equal(kafu_wasi_sock_shutdown(w, &M, s, 2), 0);
  assert_int_equal(recv(c, buf, sizeof buf, 0), 0);
  assert_int_equal(kafu_wasi_fd_close(w, &M, s), 0);
  assert_int_equal(kafu_wasi_home_open_count(wd.edge), 1);
  assert_int_equal(kafu_wasi_fd_close(w, &M, s), KAFU_WASI_EBADF);
  close(c);
  kafu_wasi_free(w);
  assert_int_equal(kafu_wasi_home_open_count(wd.edge), 1); /* a context going away closes nothing */
  world_free(&wd);
}

static void test_remote_poll(void **state) {
  (void)state;
  world wd;
  world_init(&wd);
  kafu_wasi *w = ctx_on(&wd, "cloud");
  /* subscriptions: fd 3 readable, and a 300 ms relative monotonic clock */
  memset(g_mem + A_BUF, 0, 96);
  kafu_st64(g_mem + A_BUF, 11);
  g_mem[A_BUF + 8] = 1; /* fd_read */
  kafu_st32(g_mem + A_BUF + 16, 3);
  kafu_st64(g_mem + A_BUF + 48, 22);
  g_mem[A_BUF + 48 + 8] = 0; /* clock */
  kafu_st32(g_mem + A_BUF + 48 + 16, 1);
  kafu_st64(g_mem + A_BUF + 48 + 24, 300000000ull);
  int before = wd.calls;
  uint64_t t0 = ms_now();
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_BUF, A_OUT, 2, A_OUT + 512), 0);
  uint64_t took = ms_now() - t0;
  assert_int_equal(ld32(A_OUT + 512), 1);
  assert_int_equal(ld64(A_OUT), 22); /* the clock fired */
  assert_true(took >= 290);
  /* it waited at home: one request, not a spin */
  assert_true(wd.calls - before <= 2);
  /* a connection makes fd 3 ready */
  int c = client(&wd);
  kafu_st64(g_mem + A_BUF + 48 + 24, 5000000000ull);
  t0 = ms_now();
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_BUF, A_OUT, 2, A_OUT + 512), 0);
  assert_int_equal(ld32(A_OUT + 512), 1);
  assert_int_equal(ld64(A_OUT), 11);
  assert_int_equal(kafu_ld16(g_mem + A_OUT + 8), 0);
  assert_true(ms_now() - t0 < 4000);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 3, 0, A_OUT), 0);
  uint32_t s = ld32(A_OUT);
  /* mixed: a local socket pair end (ready) and the remote connection (idle) */
  int sp[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
  kafu_fdt_entry *le = kafu_fdt_entry_new(sp[0], KAFU_FD_SOCKET, KAFU_WASI_FILETYPE_SOCKET_STREAM);
  le->rights_base = KAFU_WASI_RIGHTS_ALL;
  uint32_t lfd;
  assert_int_equal(kafu_fdtable_insert(&w->fds, le, &lfd), 0);
  kafu_st32(g_mem + A_BUF + 16, s);
  kafu_st64(g_mem + A_BUF + 96, 33);
  memset(g_mem + A_BUF + 96 + 8, 0, 40);
  g_mem[A_BUF + 96 + 8] = 1;
  kafu_st32(g_mem + A_BUF + 96 + 16, lfd);
  /* nothing ready anywhere: the clock (200 ms) fires, the home's poll is cancelled */
  kafu_st64(g_mem + A_BUF + 48 + 24, 200000000ull);
  t0 = ms_now();
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_BUF, A_OUT, 3, A_OUT + 512), 0);
  assert_int_equal(ld32(A_OUT + 512), 1);
  assert_int_equal(ld64(A_OUT), 22);
  took = ms_now() - t0;
  assert_true(took >= 190 && took < 990); /* not cancelled: >= the 1 s slice */
  /* the local end becomes ready while the home waits */
  assert_int_equal(write(sp[1], "x", 1), 1);
  kafu_st64(g_mem + A_BUF + 48 + 24, 5000000000ull);
  t0 = ms_now();
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_BUF, A_OUT, 3, A_OUT + 512), 0);
  assert_int_equal(ld32(A_OUT + 512), 1);
  assert_int_equal(ld64(A_OUT), 33);
  assert_true(ms_now() - t0 < 990); /* not held up by the home's 1 s slice */
  char x;
  assert_int_equal(read(sp[0], &x, 1), 1);
  /* then the remote one */
  assert_int_equal(send(c, "yo", 2, 0), 2);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_BUF, A_OUT, 3, A_OUT + 512), 0);
  assert_int_equal(ld32(A_OUT + 512), 1);
  assert_int_equal(ld64(A_OUT), 11);
  assert_int_equal(ld64(A_OUT + 16), 2); /* nbytes from the home */
  kafu_wasi_free(w);
  close(sp[1]);
  close(c);
  world_free(&wd);
}

/* Subscriptions on resources of two homes, interleaved, polled from a third
 * node: each answer goes to its own subscription. */
static void test_poll_two_homes(void **state) {
  (void)state;
  world wd;
  world_init(&wd);
  kafu_wasi *w = ctx_on(&wd, "cloud"); /* fd 3: edge's listening socket */
  /* a resource of cloud's (a socket pair end), used here through the link as if from a third node */
  int sp[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
  uint64_t h;
  assert_int_equal(kafu_home_register(wd.cloud, "cloud", sp[0], KAFU_FD_SOCKET, KAFU_WASI_FILETYPE_SOCKET_STREAM, &h), 0);
  kafu_fdt_entry *re = kafu_fdt_entry_new(-1, KAFU_FD_SOCKET, KAFU_WASI_FILETYPE_SOCKET_STREAM);
  re->home = strdup("cloud");
  re->remote = true;
  re->gen = kafu_home_gen(wd.cloud);
  re->handle = h;
  re->rights_base = KAFU_RIGHTS_SOCKET;
  uint32_t cfd;
  assert_int_equal(kafu_fdtable_insert(&w->fds, re, &cfd), 0);
  int c = client(&wd);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 3, 0, A_OUT), 0);
  uint32_t s = ld32(A_OUT); /* edge's connection, idle */
  /* edge conn (idle), cloud's socket (ready), edge listener (idle) */
  assert_int_equal(write(sp[1], "z", 1), 1);
  memset(g_mem + A_BUF, 0, 3 * 48);
  uint32_t fds[3] = {s, cfd, 3};
  for (int i = 0; i < 3; i++) {
    kafu_st64(g_mem + A_BUF + 48 * i, 100 + i);
    g_mem[A_BUF + 48 * i + 8] = 1;
    kafu_st32(g_mem + A_BUF + 48 * i + 16, fds[i]);
  }
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_BUF, A_OUT, 3, A_OUT + 512), 0);
  assert_int_equal(ld32(A_OUT + 512), 1);
  assert_int_equal(ld64(A_OUT), 101); /* cloud's socket, not a neighbour's */
  assert_int_equal(ld64(A_OUT + 16), 1);
  /* now edge's connection has data too: both answer, each its own */
  assert_int_equal(send(c, "ab", 2, 0), 2);
  uint64_t t0 = ms_now();
  while (ms_now() - t0 < 2000) {
    assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_BUF, A_OUT, 3, A_OUT + 512), 0);
    if (ld32(A_OUT + 512) == 2) break;
  }
  assert_int_equal(ld32(A_OUT + 512), 2);
  for (int i = 0; i < 2; i++) {
    uint64_t ud = ld64(A_OUT + 32 * i), nb = ld64(A_OUT + 32 * i + 16);
    assert_true((ud == 100 && nb == 2) || (ud == 101 && nb == 1));
  }
  kafu_wasi_free(w);
  close(sp[1]);
  close(c);
  world_free(&wd);
}

static void *send_big(void *arg) {
  int c = *(int *)arg;
  static char big[700 * 1024];
  memset(big, 'q', sizeof big);
  for (size_t off = 0; off < sizeof big;) {
    ssize_t n = send(c, big + off, sizeof big - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += (size_t)n;
  }
  return NULL;
}

/* A peek holds bytes back in the fd, and they travel in snapshots: never more
 * than KAFU_WASI_READAHEAD_MAX, whatever the program asks for. */
static void test_peek_bound(void **state) {
  (void)state;
  world wd;
  world_init(&wd);
  kafu_wasi *w = ctx_on(&wd, "cloud");
  int c = client(&wd);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, send_big, &c), 0);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 3, 0, A_OUT), 0);
  uint32_t s = ld32(A_OUT);
  for (int i = 0; i < 16; i++) { /* 16 aliasing iovecs of 40 KiB: 640 KiB asked */
    st32(A_IOV + 8 * i, A_BUF);
    st32(A_IOV + 8 * i + 4, 40 * 1024);
  }
  assert_int_equal(kafu_wasi_sock_recv(w, &M, s, A_IOV, 16, 3 /* peek, waitall */, A_OUT, A_OUT + 4), 0);
  assert_true(ld32(A_OUT) > 0 && ld32(A_OUT) <= KAFU_WASI_READAHEAD_MAX);
  kafu_fd_entry *v;
  size_t n;
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_fd_export(w, &v, &n, &err), 0);
  for (size_t i = 0; i < n; i++) assert_true(v[i].npending <= KAFU_WASI_READAHEAD_MAX);
  kafu_fd_entries_free(v, n);
  kafu_wasi_free(w);
  close(c);
  pthread_join(t, NULL);
  world_free(&wd);
}

/* A connection accepted on edge moves to cloud and back: never closed, the
 * bytes read ahead on cloud come home with it. */
static void test_export_restore(void **state) {
  (void)state;
  world wd;
  world_init(&wd);
  kafu_wasi *we = ctx_on(&wd, "edge");
  int c = client(&wd);
  assert_int_equal(kafu_wasi_sock_accept(we, &M, 3, 0, A_OUT), 0);
  uint32_t s = ld32(A_OUT);
  assert_int_equal(kafu_wasi_home_open_count(wd.edge), 1); /* accepted locally: not registered yet */
  kafu_fd_entry *v;
  size_t n;
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_fd_export(we, &v, &n, &err), 0);
  assert_int_equal(kafu_wasi_home_open_count(wd.edge), 2); /* now it has a home */
  bool found = false;
  for (size_t i = 0; i < n; i++)
    if (v[i].fd == s) {
      found = true;
      assert_string_equal(v[i].home, "edge");
      assert_int_equal(v[i].kind, KAFU_FD_SOCKET);
      assert_true(v[i].handle >= KAFU_HOME_HANDLE_DYN);
    }
  assert_true(found);
  kafu_wasi_free(we); /* the edge context goes away (the program left) */
  kafu_wasi *wc = ctx_on(&wd, "cloud");
  assert_int_equal(kafu_wasi_fd_restore(wc, v, n, &err), 0);
  kafu_fd_entries_free(v, n);
  assert_int_equal(send(c, "line one\nline two\n", 18, 0), 18);
  uint32_t got;
  assert_int_equal(recv_into(wc, s, 9, 0, &got), 0);
  assert_int_equal(got, 9);
  assert_memory_equal(g_mem + A_BUF, "line one\n", 9);
  assert_int_equal(kafu_wasi_fd_export(wc, &v, &n, &err), 0);
  for (size_t i = 0; i < n; i++)
    if (v[i].fd == s) {
      assert_int_equal(v[i].npending, 9);
      assert_memory_equal(v[i].pending, "line two\n", 9);
    }
  kafu_wasi_free(wc);
  we = ctx_on(&wd, "edge"); /* home again: local, the read-ahead first */
  assert_int_equal(kafu_wasi_fd_restore(we, v, n, &err), 0);
  kafu_fd_entries_free(v, n);
  int calls = wd.calls;
  assert_int_equal(recv_into(we, s, 64, 0, &got), 0);
  assert_int_equal(got, 9);
  assert_memory_equal(g_mem + A_BUF, "line two\n", 9);
  assert_int_equal(send_str(we, s, "bye"), 0);
  char buf[8] = {0};
  assert_int_equal(recv(c, buf, sizeof buf, 0), 3);
  assert_int_equal(wd.calls, calls); /* all local */
  assert_int_equal(kafu_wasi_fd_close(we, &M, s), 0);
  assert_int_equal(recv(c, buf, sizeof buf, 0), 0);
  assert_int_equal(kafu_wasi_home_open_count(wd.edge), 1);
  kafu_wasi_free(we);
  close(c);
  world_free(&wd);
}

static void test_home_gone(void **state) {
  (void)state;
  world wd;
  world_init(&wd);
  kafu_wasi *w = ctx_on(&wd, "cloud");
  int c = client(&wd);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 3, 0, A_OUT), 0);
  uint32_t s = ld32(A_OUT);
  wd.edge_down = true;
  uint32_t got;
  assert_int_equal(recv_into(w, s, 8, 0, &got), KAFU_WASI_EIO);
  int calls = wd.calls;
  assert_int_equal(send_str(w, s, "x"), KAFU_WASI_EIO);
  assert_int_equal(kafu_wasi_fd_fdstat_get(w, &M, s, A_OUT), KAFU_WASI_EIO);
  /* poll reports the broken fd at once */
  memset(g_mem + A_BUF, 0, 48);
  g_mem[A_BUF + 8] = 1;
  kafu_st32(g_mem + A_BUF + 16, s);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_BUF, A_OUT, 1, A_OUT + 512), 0);
  assert_int_equal(ld32(A_OUT + 512), 1);
  assert_int_equal(kafu_ld16(g_mem + A_OUT + 8), KAFU_WASI_EIO);
  assert_int_equal(wd.calls, calls); /* broken: no more requests */
  /* other resources of edge fail when first used, with a WASI error */
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 3, 0, A_OUT), KAFU_WASI_EIO);
  /* the fd is freed anyway */
  assert_int_equal(kafu_wasi_fd_close(w, &M, s), KAFU_WASI_EIO);
  assert_int_equal(kafu_wasi_fd_close(w, &M, s), KAFU_WASI_EBADF);
  kafu_wasi_free(w);
  /* a context without a link cannot restore a remote entry */
  kafu_fd_entry e = {.fd = 5, .kind = KAFU_FD_SOCKET, .filetype = KAFU_WASI_FILETYPE_SOCKET_STREAM,
                     .home = "edge", .handle = KAFU_HOME_HANDLE_DYN, .rights_base = KAFU_WASI_RIGHTS_ALL};
  kafu_wasi_config cfg = {.home = wd.cloud, .self = "cloud"};
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_new(&cfg, &w, &err), 0);
  assert_true(kafu_wasi_fd_restore(w, &e, 1, &err) < 0);
  assert_non_null(strstr(err.msg, "fd 5"));
  assert_non_null(strstr(err.msg, "edge"));
  /* a handle of another incarnation of edge is not edge's resource any more */
  kafu_wasi_free(w);
  w = ctx_on(&wd, "cloud");
  e.home_gen = 12345;
  assert_int_equal(kafu_wasi_fd_restore(w, &e, 1, &err), 0);
  wd.edge_down = false;
  assert_int_equal(recv_into(w, 5, 8, 0, &got), KAFU_WASI_EIO);
  kafu_wasi_free(w);
  /* ... and restored at edge, it is a broken entry, not a crash */
  w = ctx_on(&wd, "edge");
  assert_int_equal(kafu_wasi_fd_restore(w, &e, 1, &err), 0);
  assert_int_equal(recv_into(w, 5, 8, 0, &got), KAFU_WASI_EIO);
  kafu_wasi_free(w);
  /* a socket without a home is still refused */
  e.home = NULL;
  w = ctx_on(&wd, "cloud");
  assert_true(kafu_wasi_fd_restore(w, &e, 1, &err) < 0);
  assert_non_null(strstr(err.msg, "without a home"));
  kafu_wasi_free(w);
  close(c);
  world_free(&wd);
}

/* Requests a home must refuse (or answer "gone") without touching anything. */
static void test_bad_requests(void **state) {
  (void)state;
  world wd;
  world_init(&wd);
  kafu_buf out = {0}, req = {0};
  kafu_err err = {0};
  uint8_t junk[3] = {1, 2, 3};
  assert_true(kafu_wasi_home_handle(wd.edge, junk, sizeof junk, &out, &err) < 0);
  assert_non_null(strstr(err.msg, "malformed"));
  kafu_wr_u16(&req, 9); /* another protocol version */
  for (int i = 0; i < 30; i++) kafu_wr_u8(&req, 0);
  assert_true(kafu_wasi_home_handle(wd.edge, req.data, req.len, &out, &err) < 0);
  assert_non_null(strstr(err.msg, "version 9"));
  /* a well-formed header for each op, then every truncation of it */
  for (uint8_t op = 0; op <= KAFU_HOP_CANCEL + 1; op++) {
    if (op == KAFU_HOP_CLOSE) continue; /* would close the listening socket (tested above) */
    req.len = 0;
    kafu_wr_u16(&req, KAFU_HOME_PROTO);
    kafu_wr_u8(&req, op);
    kafu_wr_u8(&req, 0);
    kafu_wr_u32(&req, 7);
    kafu_wr_u64(&req, 0);
    kafu_wr_u64(&req, KAFU_HOME_HANDLE_LISTEN(0));
    kafu_wr_u16(&req, 4);
    kafu_buf_append(&req, "edge", 4);
    kafu_wr_u32(&req, 100000); /* a count/length that is not there */
    for (size_t cut = 0; cut <= req.len; cut++) {
      out.len = 0;
      int rc = kafu_wasi_home_handle(wd.edge, req.data, cut, &out, &err);
      if (rc == 0) assert_true(out.len >= 4);
    }
  }
  assert_int_equal(kafu_wasi_home_open_count(wd.edge), 1);
  /* a node this registry is not home to */
  req.len = 0;
  kafu_wr_u16(&req, KAFU_HOME_PROTO);
  kafu_wr_u8(&req, KAFU_HOP_FDSTAT);
  kafu_wr_u8(&req, 0);
  kafu_wr_u32(&req, 7);
  kafu_wr_u64(&req, 0);
  kafu_wr_u64(&req, 1);
  kafu_wr_u16(&req, 5);
  kafu_buf_append(&req, "cloud", 5);
  assert_true(kafu_wasi_home_handle(wd.edge, req.data, req.len, &out, &err) < 0);
  assert_non_null(strstr(err.msg, "cloud"));
  /* an unknown handle of edge: answered "gone" */
  out.len = 0;
  assert_int_equal(kafu_wasi_home_handle(wd.cloud, req.data, req.len, &out, &err), 0);
  assert_int_equal(out.data[0], KAFU_HST_GONE);
  kafu_buf_free(&out);
  kafu_buf_free(&req);
  world_free(&wd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forwarded_socket), cmocka_unit_test(test_remote_poll),
      cmocka_unit_test(test_poll_two_homes),   cmocka_unit_test(test_peek_bound),
      cmocka_unit_test(test_export_restore),
      cmocka_unit_test(test_home_gone),
      cmocka_unit_test(test_bad_requests),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
