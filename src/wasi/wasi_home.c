/*
 * wasi_home.c — the home of sockets and stdin: a registry of the real host fds
 * this process keeps for a program that may run elsewhere, and the answers to
 * the requests other nodes forward about them (kafu_wasi_home_handle).
 *
 * One registry per process (a cluster node, or `kafu singlenode` playing every
 * node). It outlives the WASI contexts a migrating program goes through: a
 * context's entry for a homed resource only borrows the fd, so throwing a
 * context away (after a migration) never closes a connection; only the
 * program's fd_close (here or forwarded) and the end of the run do.
 *
 * A resource is named by (node, handle). Configured listening sockets have
 * fixed handles (KAFU_HOME_HANDLE_LISTEN(i)) so every node can name them from
 * the config alone; others (accepted connections, stdin) get handles when
 * they are registered, valid together with the registry's generation: a
 * random number per process, so a restarted node never mistakes an earlier
 * incarnation's handle for one of its own (it answers "gone").
 *
 * Blocking: a request on a blocking fd waits at most KAFU_WASI_HOME_SLICE_MS
 * for readiness and then answers "again"; the forwarding node asks again. So
 * no request holds a connection for long, a node that died is noticed at the
 * next request, and a poll can be cancelled (KAFU_HOP_CANCEL wakes it through
 * an eventfd). Every use of a resource holds a reference, so a close that
 * races with a request closes the fd only when the request is done.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasi_internal.h"

typedef struct home_res {
  char *node;
  uint64_t handle;
  int fd;
  uint8_t kind, filetype;
  int refs;     /* requests using fd right now */
  bool closing; /* closed by the program: fd goes when refs drops to 0 */
} home_res;

typedef struct home_poll {
  uint64_t id;
  int efd;
} home_poll;

#define CANCEL_RING 64

struct kafu_wasi_home {
  pthread_mutex_t mu;
  uint64_t gen, next;
  char **served;
  size_t nserved;
  home_res **res;
  size_t n, cap;
  home_poll *polls;
  size_t npolls, pcap;
  uint64_t cancelled[CANCEL_RING]; /* cancels that came before their poll */
  unsigned ncancel;
  kafu_log_ctx log;
};

/* ---- wire writers (shared with wasi_remote.c) ----------------------------- */

void kafu_wr_u8(kafu_buf *b, uint8_t v) { kafu_buf_append(b, &v, 1); }
void kafu_wr_u16(kafu_buf *b, uint16_t v) {
  uint8_t p[2];
  kafu_st16(p, v);
  kafu_buf_append(b, p, 2);
}
void kafu_wr_u32(kafu_buf *b, uint32_t v) {
  uint8_t p[4];
  kafu_st32(p, v);
  kafu_buf_append(b, p, 4);
}
void kafu_wr_u64(kafu_buf *b, uint64_t v) {
  uint8_t p[8];
  kafu_st64(p, v);
  kafu_buf_append(b, p, 8);
}

/* ---- registry ------------------------------------------------------------- */

int kafu_wasi_home_new(const kafu_log_ctx *log, kafu_wasi_home **out, kafu_err *err) {
  *out = NULL;
  kafu_wasi_home *h = calloc(1, sizeof *h);
  if (!h) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  pthread_mutex_init(&h->mu, NULL);
  while (h->gen == 0)
    if (getrandom(&h->gen, sizeof h->gen, 0) != (ssize_t)sizeof h->gen) h->gen = (uint64_t)kafu_now_ns();
  h->next = KAFU_HOME_HANDLE_DYN;
  if (log) h->log = *log;
  *out = h;
  return 0;
}

static void res_free(home_res *r) {
  if (!r) return;
  if (r->fd >= 0) close(r->fd);
  free(r->node);
  free(r);
}

void kafu_wasi_home_free(kafu_wasi_home *h) {
  if (!h) return;
  for (size_t i = 0; i < h->n; i++) res_free(h->res[i]);
  free(h->res);
  for (size_t i = 0; i < h->nserved; i++) free(h->served[i]);
  free(h->served);
  free(h->polls);
  pthread_mutex_destroy(&h->mu);
  free(h);
}

int kafu_wasi_home_serve(kafu_wasi_home *h, const char *node, kafu_err *err) {
  if (kafu_home_serves(h, node)) return 0;
  pthread_mutex_lock(&h->mu);
  char **v = realloc(h->served, (h->nserved + 1) * sizeof *v);
  char *d = v ? strdup(node) : NULL;
  if (v) h->served = v;
  if (d) h->served[h->nserved++] = d;
  pthread_mutex_unlock(&h->mu);
  return d ? 0 : kafu_err_set(err, KAFU_ENOMEM, "out of memory");
}

bool kafu_home_serves(kafu_wasi_home *h, const char *node) {
  if (!h || !node) return false;
  pthread_mutex_lock(&h->mu);
  bool yes = false;
  for (size_t i = 0; i < h->nserved && !yes; i++) yes = !strcmp(h->served[i], node);
  pthread_mutex_unlock(&h->mu);
  return yes;
}

uint64_t kafu_home_gen(kafu_wasi_home *h) { return h->gen; }

size_t kafu_wasi_home_open_count(kafu_wasi_home *h) {
  pthread_mutex_lock(&h->mu);
  size_t n = 0;
  for (size_t i = 0; i < h->n; i++) n += !h->res[i]->closing;
  pthread_mutex_unlock(&h->mu);
  return n;
}

/* With h->mu held. */
static uint32_t add_locked(kafu_wasi_home *h, const char *node, uint64_t handle, int fd, uint8_t kind,
                           uint8_t filetype) {
  if (h->n == h->cap) {
    size_t nc = h->cap ? 2 * h->cap : 16;
    home_res **v = realloc(h->res, nc * sizeof *v);
    if (!v) return KAFU_WASI_ENOMEM;
    h->res = v;
    h->cap = nc;
  }
  home_res *r = calloc(1, sizeof *r);
  if (!r || !(r->node = strdup(node))) {
    free(r);
    return KAFU_WASI_ENOMEM;
  }
  r->handle = handle;
  r->fd = fd;
  r->kind = kind;
  r->filetype = filetype;
  h->res[h->n++] = r;
  return 0;
}

int kafu_wasi_home_add_listen(kafu_wasi_home *h, const char *node, uint32_t index, int fd, kafu_err *err) {
  pthread_mutex_lock(&h->mu);
  uint32_t rc = add_locked(h, node, KAFU_HOME_HANDLE_LISTEN(index), fd, KAFU_FD_LISTEN,
                           KAFU_WASI_FILETYPE_SOCKET_STREAM);
  pthread_mutex_unlock(&h->mu);
  if (rc) {
    close(fd);
    return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  }
  return 0;
}

uint32_t kafu_home_register(kafu_wasi_home *h, const char *node, int fd, uint8_t kind, uint8_t filetype,
                            uint64_t *handle) {
  pthread_mutex_lock(&h->mu);
  uint64_t id = h->next++;
  uint32_t rc = add_locked(h, node, id, fd, kind, filetype);
  pthread_mutex_unlock(&h->mu);
  if (!rc) *handle = id;
  return rc;
}

/* With h->mu held: the live resource (node, gen, handle), or NULL. Fixed
 * handles (configured listening sockets) answer to gen 0 as well. */
static home_res *find_locked(kafu_wasi_home *h, const char *node, uint64_t gen, uint64_t handle) {
  if (gen != h->gen && !(gen == 0 && handle < KAFU_HOME_HANDLE_DYN)) return NULL;
  for (size_t i = 0; i < h->n; i++) {
    home_res *r = h->res[i];
    if (r->handle == handle && !r->closing && !strcmp(r->node, node)) return r;
  }
  return NULL;
}

int kafu_home_fd(kafu_wasi_home *h, const char *node, uint64_t gen, uint64_t handle, uint8_t *kind,
                 uint8_t *filetype) {
  pthread_mutex_lock(&h->mu);
  home_res *r = find_locked(h, node, gen, handle);
  int fd = r ? r->fd : -1;
  if (r && kind) *kind = r->kind;
  if (r && filetype) *filetype = r->filetype;
  pthread_mutex_unlock(&h->mu);
  return fd;
}

/* With h->mu held: drop resource i once nobody uses it. */
static void reap_locked(kafu_wasi_home *h, size_t i) {
  home_res *r = h->res[i];
  if (!r->closing || r->refs > 0) return;
  h->res[i] = h->res[--h->n];
  res_free(r);
}

void kafu_home_close(kafu_wasi_home *h, const char *node, uint64_t handle) {
  pthread_mutex_lock(&h->mu);
  for (size_t i = 0; i < h->n; i++) {
    home_res *r = h->res[i];
    if (r->handle == handle && !r->closing && !strcmp(r->node, node)) {
      r->closing = true;
      /* wake a request blocked on it (a forwarded accept or recv) */
      if (r->fd >= 0 && r->refs > 0) shutdown(r->fd, SHUT_RDWR);
      reap_locked(h, i);
      break;
    }
  }
  pthread_mutex_unlock(&h->mu);
}

static home_res *acquire(kafu_wasi_home *h, const char *node, uint64_t gen, uint64_t handle) {
  pthread_mutex_lock(&h->mu);
  home_res *r = find_locked(h, node, gen, handle);
  if (r) r->refs++;
  pthread_mutex_unlock(&h->mu);
  return r;
}

static void release(kafu_wasi_home *h, home_res *r) {
  pthread_mutex_lock(&h->mu);
  r->refs--;
  for (size_t i = 0; i < h->n; i++)
    if (h->res[i] == r) {
      reap_locked(h, i);
      break;
    }
  pthread_mutex_unlock(&h->mu);
}

/* ---- answering forwarded requests ------------------------------------------ */

static uint64_t mono_ms(void) { return kafu_now_ns() / 1000000ull; }

static bool is_sock(const home_res *r) {
  return r->filetype == KAFU_WASI_FILETYPE_SOCKET_STREAM || r->filetype == KAFU_WASI_FILETYPE_SOCKET_DGRAM;
}

/* Wait until fd is ready for `events` or end_ms has passed (checked at least
 * once: a non-blocking call passes end_ms = now). true = ready (or an error,
 * which the call itself then reports). The calls below only touch an fd that
 * is ready (and with MSG_DONTWAIT), so no request blocks a home's thread past
 * its slice, whatever the request and the fd's own O_NONBLOCK say. */
static bool wait_ready(int fd, short events, uint64_t end_ms) {
  for (;;) {
    uint64_t now = mono_ms();
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, now >= end_ms ? 0 : (int)(end_ms - now));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;
  }
}

static uint64_t slice_end(bool block) { return mono_ms() + (block ? KAFU_WASI_HOME_SLICE_MS : 0); }

static void answer(kafu_buf *out, uint8_t status, uint32_t err) {
  kafu_wr_u8(out, status);
  kafu_wr_u8(out, 0);
  kafu_wr_u16(out, (uint16_t)err);
}

static void op_read(home_res *r, bool block, kafu_rd *in, kafu_buf *out) {
  uint32_t max = kafu_rd_u32(in);
  if (max > KAFU_WASI_HOME_IO_MAX) max = KAFU_WASI_HOME_IO_MAX;
  uint8_t *buf = malloc(max ? max : 1);
  if (!buf) return answer(out, KAFU_HST_DONE, KAFU_WASI_ENOMEM);
  uint64_t end = slice_end(block);
  ssize_t n;
  for (;;) {
    if (!wait_ready(r->fd, POLLIN, end)) {
      free(buf);
      return block ? answer(out, KAFU_HST_AGAIN, 0) : answer(out, KAFU_HST_DONE, KAFU_WASI_EAGAIN);
    }
    do n = is_sock(r) ? recv(r->fd, buf, max, MSG_DONTWAIT) : read(r->fd, buf, max);
    while (n < 0 && errno == EINTR);
    if (n < 0 && block && (errno == EAGAIN || errno == EWOULDBLOCK)) continue; /* spurious wake-up */
    break;
  }
  if (n < 0) {
    int e = errno;
    free(buf);
    return answer(out, KAFU_HST_DONE, kafu_wasi_errno(e));
  }
  answer(out, KAFU_HST_DONE, 0);
  kafu_wr_u32(out, (uint32_t)n);
  kafu_buf_append(out, buf, (size_t)n);
  free(buf);
}

static void op_write(home_res *r, bool block, kafu_rd *in, kafu_buf *out) {
  uint32_t len = kafu_rd_u32(in);
  const uint8_t *p = kafu_rd_take(in, len);
  if (!p) return answer(out, KAFU_HST_DONE, KAFU_WASI_EINVAL);
  uint64_t end = slice_end(block);
  size_t done = 0;
  int e = 0;
  while (done < len) {
    if (!wait_ready(r->fd, POLLOUT, end)) {
      if (!block && done == 0) e = EAGAIN;
      break;
    }
    ssize_t n;
    do n = is_sock(r) ? send(r->fd, p + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL)
                      : write(r->fd, p + done, len - done);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (block && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      e = errno;
      break;
    }
    done += (size_t)n;
    if (!block) break;
  }
  if (done == 0 && e) return answer(out, KAFU_HST_DONE, kafu_wasi_errno(e));
  if (done == 0 && len > 0 && block) return answer(out, KAFU_HST_AGAIN, 0);
  answer(out, KAFU_HST_DONE, 0);
  kafu_wr_u32(out, (uint32_t)done);
}

static void op_accept(kafu_wasi_home *h, home_res *r, bool block, kafu_rd *in, kafu_buf *out) {
  uint16_t flags = kafu_rd_u16(in);
  if (r->kind != KAFU_FD_LISTEN) return answer(out, KAFU_HST_DONE, KAFU_WASI_EINVAL);
  uint64_t end = slice_end(block);
  int c;
  for (;;) {
    if (!wait_ready(r->fd, POLLIN, end))
      return block ? answer(out, KAFU_HST_AGAIN, 0) : answer(out, KAFU_HST_DONE, KAFU_WASI_EAGAIN);
    do c = accept4(r->fd, NULL, NULL,
                   SOCK_CLOEXEC | ((flags & KAFU_WASI_FDFLAG_NONBLOCK) ? SOCK_NONBLOCK : 0));
    while (c < 0 && errno == EINTR);
    if (c < 0 && block && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    break;
  }
  if (c < 0) return answer(out, KAFU_HST_DONE, kafu_wasi_errno(errno));
  uint64_t handle;
  uint32_t rc = kafu_home_register(h, r->node, c, KAFU_FD_SOCKET, KAFU_WASI_FILETYPE_SOCKET_STREAM, &handle);
  if (rc) {
    close(c);
    return answer(out, KAFU_HST_DONE, rc);
  }
  answer(out, KAFU_HST_DONE, 0);
  kafu_wr_u64(out, h->gen);
  kafu_wr_u64(out, handle);
  kafu_wr_u8(out, KAFU_WASI_FILETYPE_SOCKET_STREAM);
}

static void op_fdstat(home_res *r, kafu_buf *out) {
  int fl = fcntl(r->fd, F_GETFL);
  if (fl < 0) return answer(out, KAFU_HST_DONE, kafu_wasi_errno(errno));
  uint16_t f = (uint16_t)(((fl & O_APPEND) ? KAFU_WASI_FDFLAG_APPEND : 0) |
                          ((fl & O_NONBLOCK) ? KAFU_WASI_FDFLAG_NONBLOCK : 0));
  answer(out, KAFU_HST_DONE, 0);
  kafu_wr_u8(out, r->filetype);
  kafu_wr_u16(out, f);
}

static void op_filestat(home_res *r, kafu_buf *out) {
  struct stat sb;
  if (fstat(r->fd, &sb) < 0) return answer(out, KAFU_HST_DONE, kafu_wasi_errno(errno));
  uint8_t st[64];
  kafu_wasi_store_filestat(st, &sb, kafu_wasi_filetype_of(r->fd, sb.st_mode));
  answer(out, KAFU_HST_DONE, 0);
  kafu_buf_append(out, st, sizeof st);
}

static void op_setflags(home_res *r, kafu_rd *in, kafu_buf *out) {
  uint16_t f = kafu_rd_u16(in);
  int fl = fcntl(r->fd, F_GETFL);
  if (fl < 0) return answer(out, KAFU_HST_DONE, kafu_wasi_errno(errno));
  fl &= ~(O_APPEND | O_NONBLOCK);
  if (f & KAFU_WASI_FDFLAG_APPEND) fl |= O_APPEND;
  if (f & KAFU_WASI_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
  answer(out, KAFU_HST_DONE, fcntl(r->fd, F_SETFL, fl) < 0 ? kafu_wasi_errno(errno) : 0);
}

static void op_shutdown(home_res *r, kafu_rd *in, kafu_buf *out) {
  uint8_t how = kafu_rd_u8(in);
  int hw = how == 1 ? SHUT_RD : how == 2 ? SHUT_WR : how == 3 ? SHUT_RDWR : -1;
  if (hw < 0) return answer(out, KAFU_HST_DONE, KAFU_WASI_EINVAL);
  if (!is_sock(r)) return answer(out, KAFU_HST_DONE, KAFU_WASI_ENOTSOCK);
  answer(out, KAFU_HST_DONE, shutdown(r->fd, hw) < 0 ? kafu_wasi_errno(errno) : 0);
}

/* ---- poll --------------------------------------------------------------------- */

static bool take_cancelled_locked(kafu_wasi_home *h, uint64_t id) {
  for (unsigned i = 0; i < CANCEL_RING && i < h->ncancel; i++)
    if (h->cancelled[i] == id) {
      h->cancelled[i] = 0;
      return true;
    }
  return false;
}

static void op_cancel(kafu_wasi_home *h, kafu_rd *in, kafu_buf *out) {
  uint64_t id = kafu_rd_u64(in);
  pthread_mutex_lock(&h->mu);
  bool found = false;
  for (size_t i = 0; i < h->npolls; i++)
    if (h->polls[i].id == id) {
      uint64_t one = 1;
      if (write(h->polls[i].efd, &one, sizeof one) < 0) { /* an eventfd write cannot fail here */
      }
      found = true;
    }
  if (!found && id) h->cancelled[h->ncancel++ % CANCEL_RING] = id; /* the poll has not arrived yet */
  pthread_mutex_unlock(&h->mu);
  answer(out, KAFU_HST_DONE, 0);
}

static void op_poll(kafu_wasi_home *h, const char *node, kafu_rd *in, kafu_buf *out) {
  uint64_t id = kafu_rd_u64(in), timeout = kafu_rd_u64(in);
  uint32_t n = kafu_rd_u32(in);
  if (in->bad || n == 0 || n > 4096 || (uint64_t)n * 17 > in->n - in->off)
    return answer(out, KAFU_HST_DONE, KAFU_WASI_EINVAL);
  home_res **rs = calloc(n, sizeof *rs);
  struct pollfd *p = calloc(n + 1, sizeof *p);
  uint8_t *type = calloc(n, 1);
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!rs || !p || !type || efd < 0) {
    free(rs), free(p), free(type);
    if (efd >= 0) close(efd);
    return answer(out, KAFU_HST_DONE, KAFU_WASI_ENOMEM);
  }
  for (uint32_t i = 0; i < n; i++) {
    uint64_t gen = kafu_rd_u64(in), handle = kafu_rd_u64(in);
    type[i] = kafu_rd_u8(in);
    rs[i] = acquire(h, node, gen, handle);
    p[i].fd = rs[i] ? rs[i]->fd : -1;
    p[i].events = type[i] == 2 ? POLLOUT : POLLIN;
  }
  p[n].fd = efd;
  p[n].events = POLLIN;
  pthread_mutex_lock(&h->mu);
  bool cancelled = take_cancelled_locked(h, id);
  home_poll *slot = NULL;
  if (!cancelled) {
    if (h->npolls == h->pcap) {
      size_t nc = h->pcap ? 2 * h->pcap : 8;
      home_poll *v = realloc(h->polls, nc * sizeof *v);
      if (v) h->polls = v, h->pcap = nc;
    }
    if (h->npolls < h->pcap) {
      slot = &h->polls[h->npolls++];
      slot->id = id;
      slot->efd = efd;
    }
  }
  pthread_mutex_unlock(&h->mu);
  bool any_gone = false;
  for (uint32_t i = 0; i < n; i++) any_gone |= !rs[i];
  uint64_t slice = (uint64_t)KAFU_WASI_HOME_SLICE_MS * 1000000ull;
  bool capped = timeout > slice;
  uint64_t wait_ns = cancelled || any_gone ? 0 : capped ? slice : timeout;
  uint64_t end = kafu_now_ns() + wait_ns;
  int r;
  for (;;) {
    uint64_t now = kafu_now_ns();
    uint64_t left = end > now ? end - now : 0;
    struct timespec ts = {(time_t)(left / 1000000000ull), (long)(left % 1000000000ull)};
    r = ppoll(p, n + 1, &ts, NULL);
    if (r >= 0 || errno != EINTR) break;
  }
  pthread_mutex_lock(&h->mu);
  for (size_t i = 0; i < h->npolls; i++)
    if (h->polls[i].efd == efd) {
      h->polls[i] = h->polls[--h->npolls];
      break;
    }
  pthread_mutex_unlock(&h->mu);
  bool woke = r > 0 && p[n].revents;
  uint32_t nready = 0;
  for (uint32_t i = 0; i < n; i++) nready += !rs[i] || (r > 0 && p[i].revents);
  if (nready == 0 && capped && !woke && !cancelled) {
    answer(out, KAFU_HST_AGAIN, 0);
  } else {
    answer(out, KAFU_HST_DONE, r < 0 ? kafu_wasi_errno(errno) : 0);
    kafu_wr_u32(out, n);
    for (uint32_t i = 0; i < n; i++) {
      uint16_t err = 0, flags = 0;
      uint64_t nbytes = 0;
      bool ready = !rs[i] || (r > 0 && p[i].revents);
      if (!rs[i]) {
        err = KAFU_WASI_EBADF;
      } else if (ready) {
        short re = p[i].revents;
        if (re & POLLNVAL)
          err = KAFU_WASI_EBADF;
        else if ((re & POLLERR) && !(re & (POLLIN | POLLOUT)))
          err = KAFU_WASI_EIO;
        if (re & POLLHUP) flags |= 1;
        int avail = 0;
        if (!err && type[i] != 2 && ioctl(rs[i]->fd, FIONREAD, &avail) == 0 && avail > 0)
          nbytes = (uint64_t)avail;
      }
      kafu_wr_u8(out, ready);
      kafu_wr_u8(out, 0);
      kafu_wr_u16(out, err);
      kafu_wr_u16(out, flags);
      kafu_wr_u64(out, nbytes);
    }
  }
  for (uint32_t i = 0; i < n; i++)
    if (rs[i]) release(h, rs[i]);
  close(efd);
  free(rs), free(p), free(type);
}

int kafu_wasi_home_handle(kafu_wasi_home *h, const uint8_t *req, size_t len, kafu_buf *out, kafu_err *err) {
  kafu_rd in = {req, len, 0, false};
  uint16_t ver = kafu_rd_u16(&in);
  uint8_t op = kafu_rd_u8(&in), flags = kafu_rd_u8(&in);
  uint32_t fd = kafu_rd_u32(&in);
  uint64_t gen = kafu_rd_u64(&in), handle = kafu_rd_u64(&in);
  uint16_t nl = kafu_rd_u16(&in);
  const uint8_t *np = kafu_rd_take(&in, nl);
  if (!in.bad && ver != KAFU_HOME_PROTO)
    return kafu_err_set(err, KAFU_EFORMAT, "forwarded request of protocol version %u (this node speaks %u)",
                        ver, KAFU_HOME_PROTO);
  if (in.bad || nl == 0 || nl > 255 || op < KAFU_HOP_READ || op > KAFU_HOP_CANCEL)
    return kafu_err_set(err, KAFU_EFORMAT, "malformed forwarded request (%zu bytes)", len);
  char node[256];
  memcpy(node, np, nl);
  node[nl] = 0;
  if (memchr(node, 0, nl)) return kafu_err_set(err, KAFU_EFORMAT, "malformed forwarded request (node name)");
  if (!kafu_home_serves(h, node))
    return kafu_err_set(err, KAFU_EINVAL, "a request for fd %u of node '%s', which this node is not", fd, node);
  if (op == KAFU_HOP_CANCEL) {
    op_cancel(h, &in, out);
    return 0;
  }
  if (op == KAFU_HOP_POLL) {
    op_poll(h, node, &in, out);
    return 0;
  }
  if (op == KAFU_HOP_CLOSE) {
    bool known = kafu_home_fd(h, node, gen, handle, NULL, NULL) >= 0;
    if (known) kafu_home_close(h, node, handle);
    answer(out, known ? KAFU_HST_DONE : KAFU_HST_GONE, 0);
    return 0;
  }
  home_res *r = acquire(h, node, gen, handle);
  if (!r) {
    kafu_debugc(&h->log, "forwarded request for fd %u: resource %llu of %s is not open here", fd,
                (unsigned long long)handle, node);
    answer(out, KAFU_HST_GONE, KAFU_WASI_EBADF);
    return 0;
  }
  bool block = flags & KAFU_HOP_BLOCK;
  switch (op) {
    case KAFU_HOP_READ:
      op_read(r, block, &in, out);
      break;
    case KAFU_HOP_WRITE:
      op_write(r, block, &in, out);
      break;
    case KAFU_HOP_ACCEPT:
      op_accept(h, r, block, &in, out);
      break;
    case KAFU_HOP_SHUTDOWN:
      op_shutdown(r, &in, out);
      break;
    case KAFU_HOP_FDSTAT:
      op_fdstat(r, out);
      break;
    case KAFU_HOP_FILESTAT:
      op_filestat(r, out);
      break;
    case KAFU_HOP_SETFLAGS:
      op_setflags(r, &in, out);
      break;
  }
  release(h, r);
  return 0;
}
