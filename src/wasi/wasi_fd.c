/*
 * wasi_fd.c — the fd_* imports of WASI preview1.
 *
 * Each call: look the fd up with the rights the call needs (EBADF /
 * ENOTCAPABLE), bounds-check every guest buffer, do the host syscall, map
 * errno. Reads and writes gather the guest iovecs into host iovecs pointing
 * straight into linear memory (no copies). fd_readdir serves a name-sorted
 * listing taken at cookie 0, so cookie n simply means "entry n" — stable while
 * the directory is read and meaningful after a migration.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi_internal.h"

#define KAFU_MAX_IOVS 1024 /* IOV_MAX on Linux; more is served as a short read/write */

typedef struct iov_set {
  struct iovec small[16];
  struct iovec *v;
  int n;
} iov_set;

static void iov_free(iov_set *s) {
  if (s->v && s->v != s->small) free(s->v);
}

/* Turn a guest iovec array (8 bytes each: u32 buf, u32 len) into host iovecs. */
static uint32_t iov_gather(const kafu_mem *m, uint32_t iovs, uint32_t iovs_len, iov_set *s) {
  s->v = s->small;
  s->n = 0;
  if (!kafu_mem_ok(m, iovs, (uint64_t)iovs_len * 8)) return KAFU_WASI_EFAULT;
  uint32_t n = iovs_len > KAFU_MAX_IOVS ? KAFU_MAX_IOVS : iovs_len;
  if (n > 16) {
    s->v = malloc(n * sizeof *s->v);
    if (!s->v) return KAFU_WASI_ENOMEM;
  }
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *p = m->base + iovs + 8ull * i;
    uint32_t buf = kafu_ld32(p), len = kafu_ld32(p + 4);
    if (!kafu_mem_ok(m, buf, len)) {
      iov_free(s);
      return KAFU_WASI_EFAULT;
    }
    s->v[i].iov_base = m->base + buf;
    s->v[i].iov_len = len;
  }
  s->n = (int)n;
  return 0;
}

static bool is_socket(const kafu_fdt_entry *e) {
  return e->filetype == KAFU_WASI_FILETYPE_SOCKET_STREAM || e->filetype == KAFU_WASI_FILETYPE_SOCKET_DGRAM;
}

static uint32_t do_read(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                        bool positional, uint64_t offset, uint32_t nread_out) {
  kafu_fdt_entry *e;
  uint64_t need = KAFU_WASI_RIGHT_FD_READ | (positional ? KAFU_WASI_RIGHT_FD_SEEK : 0);
  uint32_t rc = positional ? kafu_wasi_fd_lookup(w, fd, need, &e) : kafu_wasi_fd_lookup_any(w, fd, need, &e);
  if (rc) return rc;
  if (e->filetype == KAFU_WASI_FILETYPE_DIRECTORY) return KAFU_WASI_EISDIR;
  if (!kafu_mem_ok(m, nread_out, 4)) return KAFU_WASI_EFAULT;
  if (positional && offset > (uint64_t)INT64_MAX) return KAFU_WASI_EINVAL;
  iov_set s;
  if ((rc = iov_gather(m, iovs, iovs_len, &s))) return rc;
  if (!positional && (e->remote || e->broken || e->ra_len)) {
    /* a resource homed elsewhere, or bytes read ahead while it was (wasi_remote.c) */
    uint32_t got = 0;
    if (e->remote || e->broken)
      rc = e->broken ? KAFU_WASI_EIO : kafu_remote_read(w, e, fd, s.v, s.n, false, false, &got);
    else
      got = kafu_ra_take(e, s.v, s.n, false);
    iov_free(&s);
    if (rc) return rc;
    kafu_st32(m->base + nread_out, got);
    return 0;
  }
  ssize_t n;
  do {
    n = positional ? preadv(e->host_fd, s.v, s.n, (off_t)offset) : readv(e->host_fd, s.v, s.n);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  iov_free(&s);
  if (n < 0) return kafu_wasi_errno(err);
  kafu_st32(m->base + nread_out, (uint32_t)n);
  return 0;
}

static uint32_t do_write(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                         bool positional, uint64_t offset, uint32_t nwritten_out) {
  kafu_fdt_entry *e;
  uint64_t need = KAFU_WASI_RIGHT_FD_WRITE | (positional ? KAFU_WASI_RIGHT_FD_SEEK : 0);
  uint32_t rc = positional ? kafu_wasi_fd_lookup(w, fd, need, &e) : kafu_wasi_fd_lookup_any(w, fd, need, &e);
  if (rc) return rc;
  if (e->filetype == KAFU_WASI_FILETYPE_DIRECTORY) return KAFU_WASI_EISDIR;
  if (!kafu_mem_ok(m, nwritten_out, 4)) return KAFU_WASI_EFAULT;
  if (positional && offset > (uint64_t)INT64_MAX) return KAFU_WASI_EINVAL;
  iov_set s;
  if ((rc = iov_gather(m, iovs, iovs_len, &s))) return rc;
  if (!positional && (e->remote || e->broken)) {
    uint32_t put = 0;
    rc = e->broken ? KAFU_WASI_EIO : kafu_remote_write(w, e, fd, s.v, s.n, &put);
    iov_free(&s);
    if (rc) return rc;
    kafu_st32(m->base + nwritten_out, put);
    return 0;
  }
  ssize_t n;
  do {
    if (positional) {
      n = pwritev(e->host_fd, s.v, s.n, (off_t)offset);
    } else if (is_socket(e)) { /* no SIGPIPE for a peer that went away: EPIPE instead */
      struct msghdr mh = {.msg_iov = s.v, .msg_iovlen = (size_t)s.n};
      n = sendmsg(e->host_fd, &mh, MSG_NOSIGNAL);
    } else {
      n = writev(e->host_fd, s.v, s.n);
    }
  } while (n < 0 && errno == EINTR);
  int err = errno;
  iov_free(&s);
  if (n < 0) return kafu_wasi_errno(err);
  kafu_st32(m->base + nwritten_out, (uint32_t)n);
  return 0;
}

uint32_t kafu_wasi_fd_read(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                           uint32_t nread_out) {
  return do_read(w, m, fd, iovs, iovs_len, false, 0, nread_out);
}

uint32_t kafu_wasi_fd_pread(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                            uint64_t offset, uint32_t nread_out) {
  return do_read(w, m, fd, iovs, iovs_len, true, offset, nread_out);
}

uint32_t kafu_wasi_fd_write(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                            uint32_t nwritten_out) {
  return do_write(w, m, fd, iovs, iovs_len, false, 0, nwritten_out);
}

uint32_t kafu_wasi_fd_pwrite(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                             uint64_t offset, uint32_t nwritten_out) {
  return do_write(w, m, fd, iovs, iovs_len, true, offset, nwritten_out);
}

uint32_t kafu_wasi_fd_advise(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t offset, uint64_t len,
                             uint32_t advice) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_ADVISE, &e);
  if (rc) return rc;
  static const int map[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                            POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
  if (advice > 5 || offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX) return KAFU_WASI_EINVAL;
  if (e->filetype == KAFU_WASI_FILETYPE_DIRECTORY) return KAFU_WASI_EISDIR;
  int r = posix_fadvise(e->host_fd, (off_t)offset, (off_t)len, map[advice]);
  return kafu_wasi_errno(r);
}

uint32_t kafu_wasi_fd_allocate(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t offset, uint64_t len) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_ALLOCATE, &e);
  if (rc) return rc;
  if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX) return KAFU_WASI_EINVAL;
  if (offset + len > (uint64_t)INT64_MAX) return KAFU_WASI_EFBIG;
  if (e->filetype == KAFU_WASI_FILETYPE_DIRECTORY) return KAFU_WASI_EISDIR;
  if (len == 0) return KAFU_WASI_EINVAL;
  int r;
  do r = posix_fallocate(e->host_fd, (off_t)offset, (off_t)len);
  while (r == EINTR);
  return kafu_wasi_errno(r);
}

uint32_t kafu_wasi_fd_close(kafu_wasi *w, const kafu_mem *m, uint32_t fd) {
  kafu_fdt_entry *e = kafu_fdtable_take(&w->fds, fd);
  if (!e) return KAFU_WASI_EBADF;
  return kafu_wasi_close_entry(w, fd, e);
}

uint32_t kafu_wasi_fd_datasync(kafu_wasi *w, const kafu_mem *m, uint32_t fd) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_DATASYNC, &e);
  if (rc) return rc;
  return fdatasync(e->host_fd) < 0 ? kafu_wasi_errno(errno) : 0;
}

uint32_t kafu_wasi_fd_sync(kafu_wasi *w, const kafu_mem *m, uint32_t fd) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_SYNC, &e);
  if (rc) return rc;
  return fsync(e->host_fd) < 0 ? kafu_wasi_errno(errno) : 0;
}

uint32_t kafu_wasi_fd_fdstat_get(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t stat_out) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup_any(w, fd, 0, &e);
  if (rc) return rc;
  if (!kafu_mem_ok(m, stat_out, 24)) return KAFU_WASI_EFAULT;
  uint8_t ft = e->filetype;
  uint16_t flags = e->fdflags;
  if (e->broken) return KAFU_WASI_EIO;
  if (e->remote) { /* asked at home: file type and flags are the real fd's there */
    uint8_t a[3];
    if ((rc = kafu_remote_simple(w, e, fd, KAFU_HOP_FDSTAT, 0, a, sizeof a))) return rc;
    ft = a[0];
    flags = (uint16_t)((e->fdflags & ~(KAFU_WASI_FDFLAG_APPEND | KAFU_WASI_FDFLAG_NONBLOCK)) | kafu_ld16(a + 1));
  }
  uint8_t *o = m->base + stat_out;
  memset(o, 0, 24);
  o[0] = ft;
  kafu_st16(o + 2, flags);
  kafu_st64(o + 8, e->rights_base);
  kafu_st64(o + 16, e->rights_inheriting);
  return 0;
}

uint32_t kafu_wasi_fd_fdstat_set_flags(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t flags) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup_any(w, fd, KAFU_WASI_RIGHT_FD_FDSTAT_SET_FLAGS, &e);
  if (rc) return rc;
  const uint32_t all = KAFU_WASI_FDFLAG_APPEND | KAFU_WASI_FDFLAG_DSYNC | KAFU_WASI_FDFLAG_NONBLOCK |
                       KAFU_WASI_FDFLAG_RSYNC | KAFU_WASI_FDFLAG_SYNC;
  const uint32_t sync = KAFU_WASI_FDFLAG_DSYNC | KAFU_WASI_FDFLAG_RSYNC | KAFU_WASI_FDFLAG_SYNC;
  if (flags & ~all) return KAFU_WASI_EINVAL;
  /* Linux cannot change O_SYNC/O_DSYNC after open (F_SETFL ignores them). */
  if ((flags & sync) != (e->fdflags & sync)) return KAFU_WASI_ENOTSUP;
  if (e->broken) return KAFU_WASI_EIO;
  if (e->remote) { /* the real fd is at home: its flags change there */
    if ((rc = kafu_remote_simple(w, e, fd, KAFU_HOP_SETFLAGS, flags, NULL, 0))) return rc;
    e->fdflags = (uint16_t)flags;
    return 0;
  }
  int fl = fcntl(e->host_fd, F_GETFL);
  if (fl < 0) return kafu_wasi_errno(errno);
  fl &= ~(O_APPEND | O_NONBLOCK);
  if (flags & KAFU_WASI_FDFLAG_APPEND) fl |= O_APPEND;
  if (flags & KAFU_WASI_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
  if (fcntl(e->host_fd, F_SETFL, fl) < 0) return kafu_wasi_errno(errno);
  e->fdflags = (uint16_t)flags;
  return 0;
}

uint32_t kafu_wasi_fd_fdstat_set_rights(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t rights_base,
                                        uint64_t rights_inheriting) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup_any(w, fd, 0, &e); /* rights are this table's bookkeeping */
  if (rc) return rc;
  /* rights can only be dropped, never gained */
  if ((rights_base & ~e->rights_base) || (rights_inheriting & ~e->rights_inheriting))
    return KAFU_WASI_ENOTCAPABLE;
  e->rights_base = rights_base;
  e->rights_inheriting = rights_inheriting;
  return 0;
}

uint32_t kafu_wasi_fd_filestat_get(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t stat_out) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup_any(w, fd, KAFU_WASI_RIGHT_FD_FILESTAT_GET, &e);
  if (rc) return rc;
  if (!kafu_mem_ok(m, stat_out, 64)) return KAFU_WASI_EFAULT;
  if (e->broken) return KAFU_WASI_EIO;
  if (e->remote) return kafu_remote_simple(w, e, fd, KAFU_HOP_FILESTAT, 0, m->base + stat_out, 64);
  struct stat sb;
  if (fstat(e->host_fd, &sb) < 0) return kafu_wasi_errno(errno);
  kafu_wasi_store_filestat(m->base + stat_out, &sb, kafu_wasi_filetype_of(e->host_fd, sb.st_mode));
  return 0;
}

uint32_t kafu_wasi_fd_filestat_set_size(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t size) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_FILESTAT_SET_SIZE, &e);
  if (rc) return rc;
  if (size > (uint64_t)INT64_MAX) return KAFU_WASI_EINVAL;
  if (e->filetype == KAFU_WASI_FILETYPE_DIRECTORY) return KAFU_WASI_EISDIR;
  int r;
  do r = ftruncate(e->host_fd, (off_t)size);
  while (r < 0 && errno == EINTR);
  return r < 0 ? kafu_wasi_errno(errno) : 0;
}

uint32_t kafu_wasi_make_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]) {
  enum { ATIM = 1, ATIM_NOW = 2, MTIM = 4, MTIM_NOW = 8 };
  if (fst & ~0xFu) return KAFU_WASI_EINVAL;
  if ((fst & ATIM) && (fst & ATIM_NOW)) return KAFU_WASI_EINVAL;
  if ((fst & MTIM) && (fst & MTIM_NOW)) return KAFU_WASI_EINVAL;
  ts[0].tv_sec = 0;
  ts[1].tv_sec = 0;
  ts[0].tv_nsec = (fst & ATIM_NOW) ? UTIME_NOW : UTIME_OMIT;
  ts[1].tv_nsec = (fst & MTIM_NOW) ? UTIME_NOW : UTIME_OMIT;
  if (fst & ATIM) {
    ts[0].tv_sec = (time_t)(atim / 1000000000ull);
    ts[0].tv_nsec = (long)(atim % 1000000000ull);
  }
  if (fst & MTIM) {
    ts[1].tv_sec = (time_t)(mtim / 1000000000ull);
    ts[1].tv_nsec = (long)(mtim % 1000000000ull);
  }
  return 0;
}

uint32_t kafu_wasi_fd_filestat_set_times(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t atim,
                                         uint64_t mtim, uint32_t fst_flags) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_FILESTAT_SET_TIMES, &e);
  if (rc) return rc;
  struct timespec ts[2];
  if ((rc = kafu_wasi_make_times(atim, mtim, fst_flags, ts))) return rc;
  return futimens(e->host_fd, ts) < 0 ? kafu_wasi_errno(errno) : 0;
}

uint32_t kafu_wasi_fd_prestat_get(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t prestat_out) {
  kafu_fdt_entry *e = kafu_fdtable_get(&w->fds, fd);
  if (!e || e->kind != KAFU_FD_PREOPEN) return KAFU_WASI_EBADF;
  if (!kafu_mem_ok(m, prestat_out, 8)) return KAFU_WASI_EFAULT;
  uint8_t *o = m->base + prestat_out;
  memset(o, 0, 8);
  o[0] = 0; /* preopentype dir */
  kafu_st32(o + 4, (uint32_t)strlen(w->pre[e->preopen].guest));
  return 0;
}

uint32_t kafu_wasi_fd_prestat_dir_name(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t path,
                                       uint32_t path_len) {
  kafu_fdt_entry *e = kafu_fdtable_get(&w->fds, fd);
  if (!e || e->kind != KAFU_FD_PREOPEN) return KAFU_WASI_EBADF;
  const char *name = w->pre[e->preopen].guest;
  size_t l = strlen(name);
  if (path_len < l) return KAFU_WASI_ENAMETOOLONG;
  if (!kafu_mem_ok(m, path, l)) return KAFU_WASI_EFAULT;
  memcpy(m->base + path, name, l);
  return 0;
}

/* ---- readdir -------------------------------------------------------------- */

static uint8_t dtype_to_wasi(unsigned char t) {
  switch (t) {
    case DT_REG:
      return KAFU_WASI_FILETYPE_REGULAR_FILE;
    case DT_DIR:
      return KAFU_WASI_FILETYPE_DIRECTORY;
    case DT_LNK:
      return KAFU_WASI_FILETYPE_SYMBOLIC_LINK;
    case DT_CHR:
      return KAFU_WASI_FILETYPE_CHARACTER_DEVICE;
    case DT_BLK:
      return KAFU_WASI_FILETYPE_BLOCK_DEVICE;
    case DT_SOCK:
      return KAFU_WASI_FILETYPE_SOCKET_STREAM;
    default:
      return KAFU_WASI_FILETYPE_UNKNOWN;
  }
}

static int cmp_item(const void *a, const void *b) {
  return strcmp(((const kafu_dirent_item *)a)->name, ((const kafu_dirent_item *)b)->name);
}

static uint32_t list_dir(int host_fd, kafu_dirent_cache **out) {
  *out = NULL;
  int fd = openat(host_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return kafu_wasi_errno(errno);
  DIR *d = fdopendir(fd);
  if (!d) {
    int e = errno;
    close(fd);
    return kafu_wasi_errno(e);
  }
  kafu_dirent_cache *c = calloc(1, sizeof *c);
  size_t cap = 0;
  uint32_t rc = c ? 0 : KAFU_WASI_ENOMEM;
  struct dirent *de;
  while (!rc) {
    errno = 0;
    if (!(de = readdir(d))) {
      if (errno) rc = kafu_wasi_errno(errno);
      break;
    }
    if (c->n == cap) {
      cap = cap ? cap * 2 : 32;
      kafu_dirent_item *ni = realloc(c->items, cap * sizeof *ni);
      if (!ni) {
        rc = KAFU_WASI_ENOMEM;
        break;
      }
      c->items = ni;
    }
    kafu_dirent_item *it = &c->items[c->n];
    it->name = strdup(de->d_name);
    if (!it->name) {
      rc = KAFU_WASI_ENOMEM;
      break;
    }
    it->namlen = (uint32_t)strlen(it->name);
    it->ino = de->d_ino;
    it->type = dtype_to_wasi(de->d_type);
    if (de->d_type == DT_UNKNOWN) {
      struct stat sb;
      if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
        it->type = kafu_wasi_filetype_of(-1, sb.st_mode);
    }
    c->n++;
  }
  closedir(d);
  if (rc) {
    kafu_dirent_cache_free(c);
    return rc;
  }
  if (c->n) qsort(c->items, c->n, sizeof *c->items, cmp_item);
  *out = c;
  return 0;
}

uint32_t kafu_wasi_fd_readdir(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t buf, uint32_t buf_len,
                              uint64_t cookie, uint32_t bufused_out) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_READDIR, &e);
  if (rc) return rc;
  if (e->filetype != KAFU_WASI_FILETYPE_DIRECTORY) return KAFU_WASI_ENOTDIR;
  if (!kafu_mem_ok(m, buf, buf_len) || !kafu_mem_ok(m, bufused_out, 4)) return KAFU_WASI_EFAULT;
  if (cookie == 0 || !e->dir) { /* (re)start: take a fresh listing */
    kafu_dirent_cache *c;
    if ((rc = list_dir(e->host_fd, &c))) return rc;
    kafu_dirent_cache_free(e->dir);
    e->dir = c;
  }
  uint8_t *out = m->base + buf;
  uint32_t used = 0;
  for (uint64_t i = cookie; i < e->dir->n && used < buf_len; i++) {
    const kafu_dirent_item *it = &e->dir->items[i];
    uint8_t hdr[24] = {0};
    kafu_st64(hdr, i + 1); /* d_next */
    kafu_st64(hdr + 8, it->ino);
    kafu_st32(hdr + 16, it->namlen);
    hdr[20] = it->type;
    uint32_t n = buf_len - used < 24 ? buf_len - used : 24;
    memcpy(out + used, hdr, n);
    used += n;
    n = buf_len - used < it->namlen ? buf_len - used : it->namlen;
    memcpy(out + used, it->name, n);
    used += n;
  }
  kafu_st32(m->base + bufused_out, used);
  return 0;
}

uint32_t kafu_wasi_fd_renumber(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t to) {
  if (!kafu_fdtable_get(&w->fds, fd) || !kafu_fdtable_get(&w->fds, to)) return KAFU_WASI_EBADF;
  if (fd == to) return 0;
  kafu_wasi_close_entry(w, to, kafu_fdtable_take(&w->fds, to)); /* as dup2 closes `to` */
  kafu_fdt_entry *e = kafu_fdtable_take(&w->fds, fd);
  return kafu_fdtable_insert_at(&w->fds, to, e);
}

uint32_t kafu_wasi_fd_seek(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t offset, uint32_t whence,
                           uint32_t newoffset_out) {
  static const int wh[] = {SEEK_SET, SEEK_CUR, SEEK_END};
  if (whence > 2) {
    kafu_fdt_entry *e0;
    uint32_t rc0 = kafu_wasi_fd_lookup(w, fd, 0, &e0);
    return rc0 ? rc0 : KAFU_WASI_EINVAL;
  }
  kafu_fdt_entry *e;
  uint32_t rc;
  if (whence == 1 && offset == 0) { /* a pure "tell" needs either right */
    rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_TELL, &e);
    if (rc == KAFU_WASI_ENOTCAPABLE) rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_SEEK, &e);
  } else {
    rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_SEEK, &e);
  }
  if (rc) return rc;
  if (e->filetype == KAFU_WASI_FILETYPE_DIRECTORY) return KAFU_WASI_EISDIR;
  if (!kafu_mem_ok(m, newoffset_out, 8)) return KAFU_WASI_EFAULT;
  off_t r = lseek(e->host_fd, (off_t)(int64_t)offset, wh[whence]);
  if (r < 0) return kafu_wasi_errno(errno);
  kafu_st64(m->base + newoffset_out, (uint64_t)r);
  return 0;
}

uint32_t kafu_wasi_fd_tell(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t offset_out) {
  kafu_fdt_entry *e;
  uint32_t rc = kafu_wasi_fd_lookup(w, fd, KAFU_WASI_RIGHT_FD_TELL, &e);
  if (rc) return rc;
  if (e->filetype == KAFU_WASI_FILETYPE_DIRECTORY) return KAFU_WASI_EISDIR;
  if (!kafu_mem_ok(m, offset_out, 8)) return KAFU_WASI_EFAULT;
  off_t r = lseek(e->host_fd, 0, SEEK_CUR);
  if (r < 0) return kafu_wasi_errno(errno);
  kafu_st64(m->base + offset_out, (uint64_t)r);
  return 0;
}
