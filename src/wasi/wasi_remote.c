/*
 * wasi_remote.c — operations on a resource whose home is another node.
 *
 * A remote fd entry names its resource by home node, registry generation and
 * handle (wasi_home.c). Each operation becomes one request to the home
 * through the embedder's link (kafu_wasi_config.link): one round trip per
 * call, answered there with the real syscall. A blocking call that is not
 * ready within a slice (KAFU_WASI_HOME_SLICE_MS) comes back "again" and is
 * asked again, so a home that died is noticed by the next request instead of
 * hanging the program.
 *
 * Reads ask for at least KAFU_WASI_READAHEAD bytes: the home answers with what
 * is there right away (a socket or pipe read never waits for more), and what
 * the program did not ask for stays in the entry (e->ra) for the next read or
 * poll, so a program reading a request line by line pays one round trip, not
 * one per line. Those bytes travel in snapshots with the fd (they were taken
 * from the kernel already) and are served first when the program is back home.
 *
 * When the home cannot be reached or no longer has the resource, the entry is
 * marked broken, one warning names the fd, the home and the cause, and this
 * and every later operation on it fail with EIO.
 */
#include <stdlib.h>
#include <sys/uio.h>

#include "wasi_internal.h"

static const char *res_name(const kafu_fdt_entry *e) {
  switch (e->kind) {
    case KAFU_FD_SOCKET:
      return "connection";
    case KAFU_FD_LISTEN:
      return "listening socket";
    case KAFU_FD_STDIO:
      return e->index == 0 ? "stdin" : "stdio stream";
    default:
      return "resource";
  }
}

static uint32_t lost(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, const char *cause) {
  if (!e->broken)
    kafu_warnc(&w->log, "fd %u (%s homed on node %s): %s; operations on it fail with EIO from now on", fd,
               res_name(e), e->home ? e->home : "?", cause);
  e->broken = true;
  return KAFU_WASI_EIO;
}

static void head(kafu_buf *b, uint8_t op, uint8_t flags, uint32_t fd, uint64_t gen, uint64_t handle,
                 const char *home) {
  b->len = 0;
  kafu_wr_u16(b, KAFU_HOME_PROTO);
  kafu_wr_u8(b, op);
  kafu_wr_u8(b, flags);
  kafu_wr_u32(b, fd);
  kafu_wr_u64(b, gen);
  kafu_wr_u64(b, handle);
  size_t l = strlen(home);
  kafu_wr_u16(b, (uint16_t)l);
  kafu_buf_append(b, home, l);
}

/* Send req (already built) about e and wait for a final answer (asking again
 * while the home says "again"). On success *rd reads the op's results from
 * resp, *werr is the WASI errno of the call. Returns 0, or a WASI errno when
 * the call could not be made (e is then broken). */
static uint32_t roundtrip(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, const kafu_buf *req, kafu_buf *resp,
                          kafu_rd *rd, uint32_t *werr) {
  if (e->broken) return KAFU_WASI_EIO;
  if (!w->link.call) return lost(w, e, fd, "this node has no link to other nodes");
  for (;;) {
    resp->len = 0;
    kafu_err err = {0};
    if (!req->data || w->link.call(w->link.ctx, e->home, req->data, req->len, resp, &err) < 0) {
      char cause[600];
      snprintf(cause, sizeof cause, "node %s cannot be reached: %.400s", e->home, req->data ? err.msg : "out of memory");
      return lost(w, e, fd, cause);
    }
    *rd = (kafu_rd){resp->data, resp->len, 0, false};
    uint8_t st = kafu_rd_u8(rd);
    kafu_rd_u8(rd);
    *werr = kafu_rd_u16(rd);
    if (rd->bad) return lost(w, e, fd, "malformed answer from its home");
    if (st == KAFU_HST_AGAIN) continue;
    if (st == KAFU_HST_GONE) {
      char cause[300];
      snprintf(cause, sizeof cause, "no longer open on node %s (closed there, or %s restarted)", e->home,
               e->home);
      return lost(w, e, fd, cause);
    }
    return 0;
  }
}

static uint8_t block_flag(const kafu_fdt_entry *e) {
  return (e->fdflags & KAFU_WASI_FDFLAG_NONBLOCK) ? 0 : KAFU_HOP_BLOCK;
}

/* ---- read-ahead buffer ------------------------------------------------------- */

static uint32_t ra_append(kafu_fdt_entry *e, const uint8_t *p, uint32_t n) {
  if (n == 0) return 0;
  if (e->ra_off) {
    memmove(e->ra, e->ra + e->ra_off, e->ra_len);
    e->ra_off = 0;
  }
  uint8_t *v = realloc(e->ra, (size_t)e->ra_len + n);
  if (!v) return KAFU_WASI_ENOMEM;
  memcpy(v + e->ra_len, p, n);
  e->ra = v;
  e->ra_len += n;
  return 0;
}

/* Copy up to the iovecs' room, starting `skip` bytes into them, from the
 * read-ahead buffer; consume what was copied unless peek. Returns bytes. */
static uint32_t ra_copy(kafu_fdt_entry *e, const struct iovec *v, int n, uint64_t skip, bool peek) {
  uint32_t copied = 0;
  for (int i = 0; i < n && copied < e->ra_len; i++) {
    uint64_t l = v[i].iov_len;
    if (skip >= l) {
      skip -= l;
      continue;
    }
    uint64_t room = l - skip, c = e->ra_len - copied < room ? e->ra_len - copied : room;
    memcpy((uint8_t *)v[i].iov_base + skip, e->ra + e->ra_off + copied, (size_t)c);
    copied += (uint32_t)c;
    skip = 0;
  }
  if (!peek) {
    e->ra_off += copied;
    e->ra_len -= copied;
    if (e->ra_len == 0) {
      free(e->ra);
      e->ra = NULL;
      e->ra_off = 0;
    }
  }
  return copied;
}

uint32_t kafu_ra_take(kafu_fdt_entry *e, const struct iovec *v, int n, bool peek) {
  return e->ra_len ? ra_copy(e, v, n, 0, peek) : 0;
}

/* One READ of at least `want` bytes into e's read-ahead. *eof when the home
 * read 0 bytes. */
static uint32_t fetch(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, uint64_t want, bool *eof) {
  *eof = false;
  if (want < KAFU_WASI_READAHEAD) want = KAFU_WASI_READAHEAD;
  if (want > KAFU_WASI_HOME_IO_MAX) want = KAFU_WASI_HOME_IO_MAX;
  if (want > KAFU_WASI_READAHEAD_MAX - e->ra_len) want = KAFU_WASI_READAHEAD_MAX - e->ra_len; /* it travels */
  if (want == 0) return 0;
  kafu_buf req = {0}, resp = {0};
  head(&req, KAFU_HOP_READ, block_flag(e), fd, e->gen, e->handle, e->home);
  kafu_wr_u32(&req, (uint32_t)want);
  kafu_rd rd;
  uint32_t werr = 0, rc = roundtrip(w, e, fd, &req, &resp, &rd, &werr);
  if (!rc && !werr) {
    uint32_t got = kafu_rd_u32(&rd);
    const uint8_t *p = kafu_rd_take(&rd, got);
    if (!p)
      rc = lost(w, e, fd, "malformed answer from its home");
    else if (got == 0)
      *eof = true;
    else
      rc = ra_append(e, p, got);
  }
  kafu_buf_free(&req);
  kafu_buf_free(&resp);
  return rc ? rc : werr;
}

uint32_t kafu_remote_read(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, const struct iovec *v, int n, bool peek,
                          bool waitall, uint32_t *got) {
  uint64_t total = 0;
  for (int i = 0; i < n; i++) total += v[i].iov_len;
  *got = 0;
  if (total == 0) return 0;
  bool eof = false;
  if (peek) {
    /* what a peek holds back travels with the fd: at most READAHEAD_MAX */
    if (total > KAFU_WASI_READAHEAD_MAX) total = KAFU_WASI_READAHEAD_MAX;
    while (!eof && e->ra_len < total && (e->ra_len == 0 || waitall)) {
      uint32_t rc = fetch(w, e, fd, total - e->ra_len, &eof);
      if (rc) {
        if (e->ra_len) break;
        return rc;
      }
    }
    *got = ra_copy(e, v, n, 0, true);
    return 0;
  }
  for (;;) {
    *got += ra_copy(e, v, n, *got, false);
    if (*got == total || (*got > 0 && !waitall) || eof) return 0;
    uint32_t rc = fetch(w, e, fd, total - *got, &eof);
    if (rc) return *got ? 0 : rc;
  }
}

uint32_t kafu_remote_write(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, const struct iovec *v, int n,
                           uint32_t *put) {
  *put = 0;
  kafu_buf req = {0}, resp = {0};
  head(&req, KAFU_HOP_WRITE, block_flag(e), fd, e->gen, e->handle, e->home);
  size_t at = req.len;
  kafu_wr_u32(&req, 0);
  uint64_t total = 0;
  for (int i = 0; i < n && total < KAFU_WASI_HOME_IO_MAX; i++) {
    uint64_t l = v[i].iov_len;
    if (l > KAFU_WASI_HOME_IO_MAX - total) l = KAFU_WASI_HOME_IO_MAX - total; /* a short write */
    kafu_buf_append(&req, v[i].iov_base, (size_t)l);
    total += l;
  }
  if (req.data && req.len == at + 4 + total) kafu_st32(req.data + at, (uint32_t)total);
  kafu_rd rd;
  uint32_t werr = 0, rc = roundtrip(w, e, fd, &req, &resp, &rd, &werr);
  if (!rc && !werr) {
    *put = kafu_rd_u32(&rd);
    if (rd.bad || *put > total) rc = lost(w, e, fd, "malformed answer from its home");
  }
  kafu_buf_free(&req);
  kafu_buf_free(&resp);
  return rc ? rc : werr;
}

uint32_t kafu_remote_accept(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, uint16_t flags,
                            kafu_fdt_entry **out) {
  *out = NULL;
  kafu_buf req = {0}, resp = {0};
  head(&req, KAFU_HOP_ACCEPT, block_flag(e), fd, e->gen, e->handle, e->home);
  kafu_wr_u16(&req, flags);
  kafu_rd rd;
  uint32_t werr = 0, rc = roundtrip(w, e, fd, &req, &resp, &rd, &werr);
  if (!rc && !werr) {
    uint64_t gen = kafu_rd_u64(&rd), handle = kafu_rd_u64(&rd);
    uint8_t ft = kafu_rd_u8(&rd);
    kafu_fdt_entry *n = rd.bad ? NULL : kafu_fdt_entry_new(-1, KAFU_FD_SOCKET, ft);
    if (rd.bad) {
      rc = lost(w, e, fd, "malformed answer from its home");
    } else if (!n || !(n->home = strdup(e->home))) {
      /* the connection stays open at home until the run ends: tell it to close */
      kafu_fdt_entry_free(n);
      rc = KAFU_WASI_ENOMEM;
    } else {
      n->remote = true;
      n->gen = gen;
      n->handle = handle;
      n->rights_base = KAFU_RIGHTS_SOCKET;
      n->fdflags = flags & KAFU_WASI_FDFLAG_NONBLOCK;
      *out = n;
    }
  }
  kafu_buf_free(&req);
  kafu_buf_free(&resp);
  return rc ? rc : werr;
}

uint32_t kafu_remote_simple(kafu_wasi *w, kafu_fdt_entry *e, uint32_t fd, uint8_t op, uint32_t arg,
                            uint8_t *out, size_t outlen) {
  if (op == KAFU_HOP_CLOSE && e->broken) return KAFU_WASI_EIO;
  kafu_buf req = {0}, resp = {0};
  head(&req, op, 0, fd, e->gen, e->handle, e->home);
  if (op == KAFU_HOP_SHUTDOWN) kafu_wr_u8(&req, (uint8_t)arg);
  if (op == KAFU_HOP_SETFLAGS) kafu_wr_u16(&req, (uint16_t)arg);
  kafu_rd rd;
  uint32_t werr = 0, rc;
  if (op == KAFU_HOP_CLOSE) {
    /* a close the home does not know (already closed there) is still a close */
    rc = 0;
    if (!w->link.call) {
      rc = lost(w, e, fd, "this node has no link to other nodes");
    } else {
      kafu_err err = {0};
      if (!req.data || w->link.call(w->link.ctx, e->home, req.data, req.len, &resp, &err) < 0) {
        char cause[600];
        snprintf(cause, sizeof cause, "node %s cannot be reached to close it: %.400s", e->home,
                 req.data ? err.msg : "out of memory");
        rc = lost(w, e, fd, cause);
      }
    }
  } else {
    rc = roundtrip(w, e, fd, &req, &resp, &rd, &werr);
    if (!rc && !werr && outlen) {
      const uint8_t *p = kafu_rd_take(&rd, outlen);
      if (p)
        memcpy(out, p, outlen);
      else
        rc = lost(w, e, fd, "malformed answer from its home");
    }
  }
  kafu_buf_free(&req);
  kafu_buf_free(&resp);
  return rc ? rc : werr;
}

/* ---- poll ------------------------------------------------------------------------ */

uint32_t kafu_remote_poll(kafu_wasi *w, const char *home, kafu_rpoll_sub *subs, size_t n, uint64_t poll_id,
                          uint64_t deadline_ns, volatile bool *cancel) {
  kafu_buf req = {0}, resp = {0};
  uint32_t rc = 0;
  for (;;) {
    uint64_t now = kafu_now_ns();
    uint64_t timeout = deadline_ns == UINT64_MAX ? UINT64_MAX : deadline_ns > now ? deadline_ns - now : 0;
    head(&req, KAFU_HOP_POLL, 0, subs[0].fd, 0, 0, home);
    kafu_wr_u64(&req, poll_id);
    kafu_wr_u64(&req, timeout);
    kafu_wr_u32(&req, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
      kafu_wr_u64(&req, subs[i].e->gen);
      kafu_wr_u64(&req, subs[i].e->handle);
      kafu_wr_u8(&req, subs[i].type);
    }
    kafu_err err = {0};
    resp.len = 0;
    kafu_rd rd = {0};
    bool ok = w->link.call && req.data &&
              w->link.call(w->link.ctx, home, req.data, req.len, &resp, &err) == 0;
    uint8_t st = 0;
    uint32_t werr = 0;
    if (ok) {
      rd = (kafu_rd){resp.data, resp.len, 0, false};
      st = kafu_rd_u8(&rd);
      kafu_rd_u8(&rd);
      werr = kafu_rd_u16(&rd);
      ok = !rd.bad && st != KAFU_HST_GONE;
    }
    if (!ok) {
      char cause[600];
      snprintf(cause, sizeof cause, "node %s cannot be reached: %.400s", home,
               !w->link.call ? "this node has no link to other nodes" : err.msg[0] ? err.msg : "bad answer");
      for (size_t i = 0; i < n; i++) {
        lost(w, subs[i].e, subs[i].fd, cause);
        subs[i].ready = true;
        subs[i].err = KAFU_WASI_EIO;
      }
      break;
    }
    if (st == KAFU_HST_AGAIN) {
      if (cancel && *cancel) break;
      continue;
    }
    if (werr) {
      rc = werr;
      break;
    }
    uint32_t m = kafu_rd_u32(&rd);
    for (size_t i = 0; i < n && i < m; i++) {
      subs[i].ready = kafu_rd_u8(&rd);
      kafu_rd_u8(&rd);
      subs[i].err = kafu_rd_u16(&rd);
      subs[i].flags = kafu_rd_u16(&rd);
      subs[i].nbytes = kafu_rd_u64(&rd);
    }
    if (rd.bad || m != n) {
      for (size_t i = 0; i < n; i++) {
        lost(w, subs[i].e, subs[i].fd, "malformed answer from its home");
        subs[i].ready = true;
        subs[i].err = KAFU_WASI_EIO;
      }
    }
    break;
  }
  kafu_buf_free(&req);
  kafu_buf_free(&resp);
  return rc;
}

void kafu_remote_cancel(kafu_wasi *w, const char *home, uint64_t poll_id) {
  if (!w->link.call) return;
  kafu_buf req = {0}, resp = {0};
  head(&req, KAFU_HOP_CANCEL, 0, 0, 0, 0, home);
  kafu_wr_u64(&req, poll_id);
  kafu_err err = {0};
  if (req.data && w->link.call(w->link.ctx, home, req.data, req.len, &resp, &err) < 0)
    kafu_debugc(&w->log, "cancelling a forwarded poll on node %s: %s", home, err.msg);
  kafu_buf_free(&req);
  kafu_buf_free(&resp);
}

uint32_t kafu_wasi_close_entry(kafu_wasi *w, uint32_t fd, kafu_fdt_entry *e) {
  uint32_t rc = 0;
  if (e->remote)
    rc = kafu_remote_simple(w, e, fd, KAFU_HOP_CLOSE, 0, NULL, 0);
  else if (e->home && e->borrowed && w->home)
    kafu_home_close(w->home, e->home, e->handle);
  kafu_fdt_entry_free(e);
  return rc;
}
