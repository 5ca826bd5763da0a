/*
 * wasi_poll.c — poll_oneoff and the sock_* imports.
 *
 * poll_oneoff waits with a real ppoll(2) on the host fds of fd_read/fd_write
 * subscriptions (stdin, pipes, sockets), with the earliest clock subscription as
 * timeout. Regular files and directories are always ready (as poll(2) says).
 * Subscriptions on bad fds complete at once with an error event. Clock
 * deadlines are evaluated against their own clock (realtime or monotonic,
 * relative or absolute); the guest's monotonic clock includes the migration
 * offset (kafu_wasi_monotonic_resume).
 *
 * Sockets: the embedder passes already-listening sockets (config listen_fds);
 * the guest accepts connections with sock_accept and talks with
 * sock_recv/sock_send/sock_shutdown (sends never raise SIGPIPE).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wasi_internal.h"

enum { EV_CLOCK = 0, EV_FD_READ = 1, EV_FD_WRITE = 2 };

static uint64_t now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

typedef struct sub {
  uint64_t userdata;
  uint8_t tag;
  uint32_t fd;
  /* clock */
  clockid_t clock;
  uint64_t deadline; /* host clock ns */
  uint16_t error;    /* immediate error event */
  bool ready;        /* immediately ready (files, read-ahead bytes) */
  uint64_t nbytes;
  int pidx; /* index into pollfd array or -1 */
  int ridx; /* index into the forwarded subscriptions or -1 */
  int host_fd;
} sub;

static void put_event(uint8_t *o, uint64_t userdata, uint16_t error, uint8_t type, uint64_t nbytes,
                      uint16_t flags) {
  memset(o, 0, 32);
  kafu_st64(o, userdata);
  kafu_st16(o + 8, error);
  o[10] = type;
  kafu_st64(o + 16, nbytes);
  kafu_st16(o + 24, flags);
}

/* ns until the earliest clock subscription fires (UINT64_MAX: none). */
static uint64_t clock_left(const sub *subs, uint32_t n) {
  uint64_t best = UINT64_MAX;
  for (uint32_t i = 0; i < n; i++) {
    if (subs[i].tag != EV_CLOCK || subs[i].error) continue;
    uint64_t now = now_ns(subs[i].clock);
    uint64_t left = subs[i].deadline > now ? subs[i].deadline - now : 0;
    if (left < best) best = left;
  }
  return best;
}

/* ---- waiting on resources of other nodes --------------------------------------- */

/* One home's share of a poll, waited for on a helper thread while this
 * thread polls the local fds (and the other homes have their own threads). */
typedef struct rgroup {
  kafu_wasi *w;
  const char *home;
  kafu_rpoll_sub *subs;
  size_t n;
  uint64_t id, deadline;
  volatile bool cancel;
  int wake; /* eventfd: the thread is done */
  bool done, started;
  pthread_t thr;
} rgroup;

static void *rgroup_main(void *arg) {
  rgroup *g = arg;
  kafu_remote_poll(g->w, g->home, g->subs, g->n, g->id, g->deadline, &g->cancel);
  __atomic_store_n(&g->done, true, __ATOMIC_RELEASE);
  uint64_t one = 1;
  if (write(g->wake, &one, sizeof one) < 0) { /* cannot fail on an eventfd */
  }
  return NULL;
}

/* Wait until a forwarded subscription (rs, grouped by home) or a local fd
 * (pfds) is ready, or the deadline passes. One home and no local fds: the
 * poll blocks at that home. Otherwise each home's poll runs on a helper
 * thread while this one polls the local fds; whoever is first wins and the
 * others are cancelled (KAFU_HOP_CANCEL wakes a poll blocked at its home).
 * *r gets the local ppoll's result. */
static uint32_t wait_remote(kafu_wasi *w, kafu_rpoll_sub *rs, size_t nrs, struct pollfd *pfds, int npfd,
                            uint64_t deadline, int *r) {
  *r = 0;
  /* group by home (subscriptions are sorted into groups in place) */
  size_t ng = 0;
  rgroup *gs = calloc(nrs, sizeof *gs);
  if (!gs) return KAFU_WASI_ENOMEM;
  for (size_t i = 0; i < nrs;) {
    size_t j = i + 1;
    for (size_t k = i + 1; k < nrs; k++)
      if (!strcmp(rs[k].e->home, rs[i].e->home)) {
        kafu_rpoll_sub t = rs[j];
        rs[j++] = rs[k];
        rs[k] = t;
      }
    gs[ng++] = (rgroup){.w = w, .home = rs[i].e->home, .subs = rs + i, .n = j - i, .deadline = deadline,
                        .wake = -1};
    i = j;
  }
  for (size_t g = 0; g < ng; g++) gs[g].id = (kafu_now_ns() << 8) ^ (++w->poll_seq) ^ ((uint64_t)g << 56);
  uint32_t rc = 0;
  if (ng == 1 && npfd == 0) {
    rc = kafu_remote_poll(w, gs[0].home, gs[0].subs, gs[0].n, gs[0].id, deadline, NULL);
    free(gs);
    return rc;
  }
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct pollfd *all = calloc((size_t)npfd + 1, sizeof *all);
  if (efd < 0 || !all) {
    if (efd >= 0) close(efd);
    free(all);
    free(gs);
    return KAFU_WASI_ENOMEM;
  }
  for (size_t g = 0; g < ng; g++) {
    gs[g].wake = efd;
    gs[g].started = pthread_create(&gs[g].thr, NULL, rgroup_main, &gs[g]) == 0;
    if (!gs[g].started) rgroup_main(&gs[g]); /* no thread: ask this home right here */
  }
  memcpy(all, pfds, (size_t)npfd * sizeof *all);
  all[npfd].fd = efd;
  all[npfd].events = POLLIN;
  for (;;) {
    uint64_t now = kafu_now_ns();
    struct timespec ts, *tsp = NULL;
    if (deadline != UINT64_MAX) {
      uint64_t left = deadline > now ? deadline - now : 0;
      ts.tv_sec = (time_t)(left / 1000000000ull);
      ts.tv_nsec = (long)(left % 1000000000ull);
      tsp = &ts;
    }
    *r = ppoll(all, (nfds_t)npfd + 1, tsp, NULL);
    if (*r >= 0 || errno != EINTR) break;
  }
  if (*r < 0) rc = kafu_wasi_errno(errno);
  /* the local side is done (or a home answered): stop the homes still waiting */
  for (size_t g = 0; g < ng; g++) {
    gs[g].cancel = true;
    if (!__atomic_load_n(&gs[g].done, __ATOMIC_ACQUIRE)) kafu_remote_cancel(w, gs[g].home, gs[g].id);
  }
  for (size_t g = 0; g < ng; g++)
    if (gs[g].started) pthread_join(gs[g].thr, NULL);
  for (int i = 0; i < npfd; i++) pfds[i].revents = *r > 0 ? all[i].revents : 0;
  if (*r > 0 && all[npfd].revents) (*r)--;
  close(efd);
  free(all);
  free(gs);
  return rc;
}

uint32_t kafu_wasi_poll_oneoff(kafu_wasi *w, const kafu_mem *m, uint32_t in, uint32_t out,
                               uint32_t nsubscriptions, uint32_t nevents_out) {
  if (nsubscriptions == 0) return KAFU_WASI_EINVAL;
  if (!kafu_mem_ok(m, in, (uint64_t)nsubscriptions * 48) ||
      !kafu_mem_ok(m, out, (uint64_t)nsubscriptions * 32) || !kafu_mem_ok(m, nevents_out, 4))
    return KAFU_WASI_EFAULT;
  sub *subs = calloc(nsubscriptions, sizeof *subs);
  struct pollfd *pfds = calloc(nsubscriptions, sizeof *pfds);
  kafu_rpoll_sub *rs = calloc(nsubscriptions, sizeof *rs);
  if (!subs || !pfds || !rs) {
    free(subs);
    free(pfds);
    free(rs);
    return KAFU_WASI_ENOMEM;
  }
  int npfd = 0, nrs = 0;
  bool any_immediate = false, any_clock = false;
  for (uint32_t i = 0; i < nsubscriptions; i++) {
    const uint8_t *s = m->base + in + 48ull * i;
    sub *x = &subs[i];
    x->userdata = kafu_ld64(s);
    x->tag = s[8];
    x->pidx = -1;
    x->ridx = -1;
    if (x->tag == EV_CLOCK) {
      uint32_t id = kafu_ld32(s + 16);
      uint64_t timeout = kafu_ld64(s + 24);
      uint16_t flags = kafu_ld16(s + 40);
      bool abstime = flags & 1;
      if (id == 0) {
        x->clock = CLOCK_REALTIME;
      } else if (id == 1) {
        x->clock = CLOCK_MONOTONIC;
        if (abstime) timeout = (uint64_t)((int64_t)timeout - w->mono_offset); /* guest -> host time */
      } else {
        x->error = KAFU_WASI_EINVAL;
        any_immediate = true;
        continue;
      }
      uint64_t now = now_ns(x->clock);
      x->deadline = abstime ? timeout : (timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout);
      any_clock = true;
    } else if (x->tag == EV_FD_READ || x->tag == EV_FD_WRITE) {
      x->fd = kafu_ld32(s + 16);
      kafu_fdt_entry *e;
      uint32_t rc = kafu_wasi_fd_lookup_any(w, x->fd, KAFU_WASI_RIGHT_POLL_FD_READWRITE, &e);
      if (!rc && e->broken) rc = KAFU_WASI_EIO; /* its home is gone */
      if (rc) {
        x->error = (uint16_t)rc;
        any_immediate = true;
        continue;
      }
      if (x->tag == EV_FD_READ && e->ra_len) { /* bytes read ahead are there already */
        x->ready = true;
        x->nbytes = e->ra_len;
        any_immediate = true;
        continue;
      }
      if (e->remote) {
        x->ridx = nrs;
        rs[nrs++] = (kafu_rpoll_sub){.e = e, .fd = x->fd, .owner = i, .type = x->tag == EV_FD_READ ? 1 : 2};
        continue;
      }
      x->host_fd = e->host_fd;
      if (e->filetype == KAFU_WASI_FILETYPE_REGULAR_FILE || e->filetype == KAFU_WASI_FILETYPE_DIRECTORY) {
        x->ready = true;
        any_immediate = true;
        if (x->tag == EV_FD_READ && e->filetype == KAFU_WASI_FILETYPE_REGULAR_FILE) {
          struct stat sb;
          off_t cur = lseek(e->host_fd, 0, SEEK_CUR);
          if (fstat(e->host_fd, &sb) == 0 && cur >= 0 && sb.st_size > cur)
            x->nbytes = (uint64_t)(sb.st_size - cur);
        }
        continue;
      }
      x->pidx = npfd;
      pfds[npfd].fd = e->host_fd;
      pfds[npfd].events = x->tag == EV_FD_READ ? POLLIN : POLLOUT;
      npfd++;
    } else {
      x->error = KAFU_WASI_EINVAL;
      any_immediate = true;
    }
  }

  uint32_t nev = 0;
  for (;;) {
    int r = 0;
    if (nrs > 0 && !any_immediate) {
      /* resources homed elsewhere: wait for them at home (and the local fds here) */
      uint64_t left = any_clock ? clock_left(subs, nsubscriptions) : UINT64_MAX;
      uint64_t now = kafu_now_ns();
      uint64_t deadline = left == UINT64_MAX || left > UINT64_MAX - now ? UINT64_MAX : now + left;
      for (int i = 0; i < nrs; i++) rs[i].ready = false;
      uint32_t wrc = wait_remote(w, rs, (size_t)nrs, pfds, npfd, deadline, &r);
      for (int i = 0; i < nrs; i++) subs[rs[i].owner].ridx = i; /* wait_remote groups them by home */
      if (wrc) {
        free(subs);
        free(pfds);
        free(rs);
        return wrc;
      }
    } else {
      /* timeout: 0 if something is ready already, else the earliest clock */
      struct timespec ts, *tsp = NULL;
      if (any_immediate) {
        ts.tv_sec = 0;
        ts.tv_nsec = 0;
        tsp = &ts;
      } else if (any_clock) {
        uint64_t best = clock_left(subs, nsubscriptions);
        ts.tv_sec = (time_t)(best / 1000000000ull);
        ts.tv_nsec = (long)(best % 1000000000ull);
        tsp = &ts;
      }
      if (npfd > 0) {
        r = ppoll(pfds, (nfds_t)npfd, tsp, NULL);
        if (r < 0 && errno != EINTR) {
          free(subs);
          free(pfds);
          free(rs);
          return kafu_wasi_errno(errno);
        }
      } else if (tsp && (tsp->tv_sec || tsp->tv_nsec)) {
        nanosleep(tsp, NULL); /* clocks only (an early wake-up just loops) */
      }
    }
    for (uint32_t i = 0; i < nsubscriptions; i++) {
      sub *x = &subs[i];
      uint8_t *o = m->base + out + 32ull * nev;
      if (x->error) {
        put_event(o, x->userdata, x->error, x->tag, 0, 0);
        nev++;
      } else if (x->tag == EV_CLOCK) {
        if (now_ns(x->clock) >= x->deadline) {
          put_event(o, x->userdata, 0, EV_CLOCK, 0, 0);
          nev++;
        }
      } else if (x->ready) {
        put_event(o, x->userdata, 0, x->tag, x->nbytes, 0);
        nev++;
      } else if (x->ridx >= 0) {
        const kafu_rpoll_sub *q = &rs[x->ridx];
        if (q->ready) {
          put_event(o, x->userdata, q->err, x->tag, q->nbytes, q->flags);
          nev++;
        }
      } else if (x->pidx >= 0 && r > 0 && pfds[x->pidx].revents) {
        short re = pfds[x->pidx].revents;
        uint16_t err = 0, flags = 0;
        uint64_t nbytes = 0;
        if (re & POLLNVAL)
          err = KAFU_WASI_EBADF;
        else if ((re & POLLERR) && !(re & (POLLIN | POLLOUT)))
          err = KAFU_WASI_EIO;
        if (re & POLLHUP) flags |= 1; /* fd_readwrite_hangup */
        if (!err && x->tag == EV_FD_READ) {
          int avail = 0;
          if (ioctl(x->host_fd, FIONREAD, &avail) == 0 && avail > 0) nbytes = (uint64_t)avail;
        }
        put_event(o, x->userdata, err, x->tag, nbytes, flags);
        nev++;
      }
    }
    if (nev > 0) break;
  }
  kafu_st32(m->base + nevents_out, nev);
  free(subs);
  free(pfds);
  free(rs);
  return 0;
}

/* ---- sockets -------------------------------------------------------------- */

/* A socket entry with `rights`: local, or remote (the callers forward). */
static uint32_t sock_lookup(kafu_wasi *w, uint32_t fd, uint64_t rights, kafu_fdt_entry **e) {
  *e = kafu_fdtable_get(&w->fds, fd);
  if (!*e) return KAFU_WASI_EBADF;
  if ((*e)->filetype != KAFU_WASI_FILETYPE_SOCKET_STREAM && (*e)->filetype != KAFU_WASI_FILETYPE_SOCKET_DGRAM)
    return KAFU_WASI_ENOTSOCK;
  uint32_t rc = kafu_wasi_fd_lookup_any(w, fd, rights, e);
  return rc ? rc : (*e)->broken ? KAFU_WASI_EIO : 0;
}

uint32_t kafu_wasi_sock_accept(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t flags,
                               uint32_t fd_out) {
  kafu_fdt_entry *e;
  uint32_t rc = sock_lookup(w, fd, KAFU_WASI_RIGHT_SOCK_ACCEPT, &e);
  if (rc) return rc;
  if (flags & ~(uint32_t)KAFU_WASI_FDFLAG_NONBLOCK) return KAFU_WASI_EINVAL;
  if (!kafu_mem_ok(m, fd_out, 4)) return KAFU_WASI_EFAULT;
  if (e->remote) { /* accepted at home: the connection lives there */
    kafu_fdt_entry *n;
    if ((rc = kafu_remote_accept(w, e, fd, (uint16_t)flags, &n))) return rc;
    uint32_t nfd;
    if ((rc = kafu_fdtable_insert(&w->fds, n, &nfd))) {
      kafu_wasi_close_entry(w, UINT32_MAX, n);
      return rc;
    }
    kafu_st32(m->base + fd_out, nfd);
    return 0;
  }
  int h;
  do
    h = accept4(e->host_fd, NULL, NULL,
                SOCK_CLOEXEC | ((flags & KAFU_WASI_FDFLAG_NONBLOCK) ? SOCK_NONBLOCK : 0));
  while (h < 0 && errno == EINTR);
  if (h < 0) return kafu_wasi_errno(errno);
  kafu_fdt_entry *n = kafu_fdt_entry_new(h, KAFU_FD_SOCKET, KAFU_WASI_FILETYPE_SOCKET_STREAM);
  if (!n) {
    close(h);
    return KAFU_WASI_ENOMEM;
  }
  n->rights_base = KAFU_RIGHTS_SOCKET;
  n->fdflags = (uint16_t)(flags & KAFU_WASI_FDFLAG_NONBLOCK);
  uint32_t nfd;
  if ((rc = kafu_fdtable_insert(&w->fds, n, &nfd))) {
    kafu_fdt_entry_free(n);
    return rc;
  }
  kafu_st32(m->base + fd_out, nfd);
  return 0;
}

/* guest iovec array -> host iovecs (bounds-checked), at most 1024 */
static uint32_t gather(const kafu_mem *m, uint32_t iovs, uint32_t n, struct iovec **out, int *cnt) {
  *out = NULL;
  *cnt = 0;
  if (!kafu_mem_ok(m, iovs, (uint64_t)n * 8)) return KAFU_WASI_EFAULT;
  if (n > 1024) n = 1024;
  struct iovec *v = calloc(n ? n : 1, sizeof *v);
  if (!v) return KAFU_WASI_ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *p = m->base + iovs + 8ull * i;
    uint32_t b = kafu_ld32(p), l = kafu_ld32(p + 4);
    if (!kafu_mem_ok(m, b, l)) {
      free(v);
      return KAFU_WASI_EFAULT;
    }
    v[i].iov_base = m->base + b;
    v[i].iov_len = l;
  }
  *out = v;
  *cnt = (int)n;
  return 0;
}

uint32_t kafu_wasi_sock_recv(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t ri_data,
                             uint32_t ri_data_len, uint32_t ri_flags, uint32_t ro_datalen_out,
                             uint32_t ro_flags_out) {
  kafu_fdt_entry *e;
  uint32_t rc = sock_lookup(w, fd, KAFU_WASI_RIGHT_FD_READ, &e);
  if (rc) return rc;
  if (ri_flags & ~3u) return KAFU_WASI_EINVAL;
  if (!kafu_mem_ok(m, ro_datalen_out, 4) || !kafu_mem_ok(m, ro_flags_out, 2)) return KAFU_WASI_EFAULT;
  struct iovec *v;
  int n;
  if ((rc = gather(m, ri_data, ri_data_len, &v, &n))) return rc;
  if (e->remote || e->ra_len) { /* homed elsewhere, or bytes read ahead while it was */
    uint32_t got = 0;
    if (e->remote)
      rc = kafu_remote_read(w, e, fd, v, n, ri_flags & 1, ri_flags & 2, &got);
    else
      got = kafu_ra_take(e, v, n, ri_flags & 1);
    free(v);
    if (rc) return rc;
    kafu_st32(m->base + ro_datalen_out, got);
    kafu_st16(m->base + ro_flags_out, 0);
    return 0;
  }
  struct msghdr mh = {.msg_iov = v, .msg_iovlen = (size_t)n};
  int fl = ((ri_flags & 1) ? MSG_PEEK : 0) | ((ri_flags & 2) ? MSG_WAITALL : 0);
  ssize_t r;
  do r = recvmsg(e->host_fd, &mh, fl);
  while (r < 0 && errno == EINTR);
  int err = errno;
  free(v);
  if (r < 0) return kafu_wasi_errno(err);
  kafu_st32(m->base + ro_datalen_out, (uint32_t)r);
  kafu_st16(m->base + ro_flags_out, (mh.msg_flags & MSG_TRUNC) ? 1 : 0);
  return 0;
}

uint32_t kafu_wasi_sock_send(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t si_data,
                             uint32_t si_data_len, uint32_t si_flags, uint32_t so_datalen_out) {
  kafu_fdt_entry *e;
  uint32_t rc = sock_lookup(w, fd, KAFU_WASI_RIGHT_FD_WRITE, &e);
  if (rc) return rc;
  if (si_flags) return KAFU_WASI_EINVAL; /* preview1 defines no send flags */
  if (!kafu_mem_ok(m, so_datalen_out, 4)) return KAFU_WASI_EFAULT;
  struct iovec *v;
  int n;
  if ((rc = gather(m, si_data, si_data_len, &v, &n))) return rc;
  if (e->remote) {
    uint32_t put = 0;
    rc = kafu_remote_write(w, e, fd, v, n, &put);
    free(v);
    if (rc) return rc;
    kafu_st32(m->base + so_datalen_out, put);
    return 0;
  }
  struct msghdr mh = {.msg_iov = v, .msg_iovlen = (size_t)n};
  ssize_t r;
  do r = sendmsg(e->host_fd, &mh, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  int err = errno;
  free(v);
  if (r < 0) return kafu_wasi_errno(err);
  kafu_st32(m->base + so_datalen_out, (uint32_t)r);
  return 0;
}

uint32_t kafu_wasi_sock_shutdown(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t how) {
  kafu_fdt_entry *e;
  uint32_t rc = sock_lookup(w, fd, KAFU_WASI_RIGHT_SOCK_SHUTDOWN, &e);
  if (rc) return rc;
  int h;
  switch (how) {
    case 1:
      h = SHUT_RD;
      break;
    case 2:
      h = SHUT_WR;
      break;
    case 3:
      h = SHUT_RDWR;
      break;
    default:
      return KAFU_WASI_EINVAL;
  }
  if (e->remote) return kafu_remote_simple(w, e, fd, KAFU_HOP_SHUTDOWN, how, NULL, 0);
  return shutdown(e->host_fd, h) < 0 ? kafu_wasi_errno(errno) : 0;
}
