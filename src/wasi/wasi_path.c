/*
 * wasi_path.c — the path_* imports of WASI preview1.
 *
 * All of them resolve the guest path beneath the directory fd it is relative
 * to (sandbox.c): path_open through kafu_sb_open (openat2 RESOLVE_BENEATH or
 * the safe walk), the others through kafu_sb_resolve, which yields a parent
 * directory fd inside the sandbox plus one final name for an *at() call.
 *
 * Trailing slashes: calls that never follow a final symlink in the kernel
 * (mkdir, unlink, rmdir, rename, symlink, link target) get the name with its
 * trailing slash, so the kernel applies POSIX's "must be a directory" rules
 * (unlink("file/") -> ENOTDIR, link(..., "new/") -> ENOENT, ...). Calls that
 * would follow (stat, utimens, readlink, link source) get the name without it
 * after we resolved the symlink ourselves and checked for a directory.
 *
 * path_symlink refuses link targets that are absolute or climb above the
 * preopened directory from where the link is created, so the guest cannot
 * plant links pointing outside for other (host) programs to follow.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi_internal.h"

/* name as given to calls that keep POSIX trailing-slash semantics */
static const char *slashed(const kafu_sb_res *r, char buf[260]) {
  if (!r->slash) return r->name;
  snprintf(buf, 260, "%s/", r->name);
  return buf;
}

/* Look up a directory fd with rights, and copy + resolve a guest path. */
static uint32_t prepare(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint64_t rights, uint32_t path,
                        uint32_t path_len, int follow, kafu_fdt_entry **d, kafu_sb_res *r) {
  r->parent = -1;
  r->own = false;
  r->dirpart = NULL;
  uint32_t rc = kafu_wasi_fd_lookup(w, fd, rights, d);
  if (rc) return rc;
  if ((*d)->filetype != KAFU_WASI_FILETYPE_DIRECTORY) return KAFU_WASI_ENOTDIR;
  char *p;
  if ((rc = kafu_wasi_guest_path(m, path, path_len, &p))) return rc;
  rc = kafu_sb_resolve(w, (*d)->host_fd, p, follow, r);
  free(p);
  return rc;
}

/* stat the resolved final name (never following); enforce trailing-slash = dir */
static uint32_t stat_final(const kafu_sb_res *r, struct stat *sb) {
  if (fstatat(r->parent, r->name, sb, AT_SYMLINK_NOFOLLOW) < 0) return kafu_wasi_errno(errno);
  if (r->slash && !S_ISDIR(sb->st_mode)) return KAFU_WASI_ENOTDIR;
  return 0;
}

uint32_t kafu_wasi_path_open(kafu_wasi *w, const kafu_mem *m, uint32_t dirfd, uint32_t dirflags,
                             uint32_t path, uint32_t path_len, uint32_t oflags, uint64_t rights_base,
                             uint64_t rights_inheriting, uint32_t fdflags, uint32_t fd_out) {
  uint64_t need = KAFU_WASI_RIGHT_PATH_OPEN;
  if (oflags & KAFU_WASI_O_CREAT) need |= KAFU_WASI_RIGHT_PATH_CREATE_FILE;
  if (oflags & KAFU_WASI_O_TRUNC) need |= KAFU_WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
  kafu_fdt_entry *d;
  uint32_t rc = kafu_wasi_fd_lookup(w, dirfd, need, &d);
  if (rc) return rc;
  if (d->filetype != KAFU_WASI_FILETYPE_DIRECTORY) return KAFU_WASI_ENOTDIR;
  if ((oflags & ~0xFu) || (fdflags & ~0x1Fu) || (dirflags & ~1u)) return KAFU_WASI_EINVAL;
  if ((oflags & KAFU_WASI_O_CREAT) && (oflags & KAFU_WASI_O_DIRECTORY)) return KAFU_WASI_EINVAL;
  if (!kafu_mem_ok(m, fd_out, 4)) return KAFU_WASI_EFAULT;
  /* a derived fd can only get rights its directory may hand down */
  if ((rights_base | rights_inheriting) & ~d->rights_inheriting) return KAFU_WASI_ENOTCAPABLE;
  char *p;
  if ((rc = kafu_wasi_guest_path(m, path, path_len, &p))) return rc;

  int flags = O_NOCTTY | kafu_wasi_access_flags(rights_base);
  if ((oflags & KAFU_WASI_O_TRUNC) && (flags & O_ACCMODE) == O_RDONLY)
    flags = (flags & ~O_ACCMODE) | O_WRONLY;
  if (oflags & KAFU_WASI_O_CREAT) flags |= O_CREAT;
  if (oflags & KAFU_WASI_O_DIRECTORY) flags |= O_DIRECTORY;
  if (oflags & KAFU_WASI_O_EXCL) flags |= O_EXCL;
  if (oflags & KAFU_WASI_O_TRUNC) flags |= O_TRUNC;
  if (fdflags & KAFU_WASI_FDFLAG_APPEND) flags |= O_APPEND;
  if (fdflags & KAFU_WASI_FDFLAG_DSYNC) flags |= O_DSYNC;
  if (fdflags & KAFU_WASI_FDFLAG_NONBLOCK) flags |= O_NONBLOCK;
  if (fdflags & (KAFU_WASI_FDFLAG_RSYNC | KAFU_WASI_FDFLAG_SYNC)) flags |= O_SYNC;
  bool follow = dirflags & KAFU_WASI_LOOKUP_SYMLINK_FOLLOW;

  int h = -1;
  rc = kafu_sb_open(w, d->host_fd, p, flags, 0666, follow, &h);
  if (rc) {
    free(p);
    return rc;
  }
  struct stat sb;
  if (fstat(h, &sb) < 0) {
    rc = kafu_wasi_errno(errno);
    close(h);
    free(p);
    return rc;
  }
  uint8_t ft = kafu_wasi_filetype_of(h, sb.st_mode);
  bool dir = ft == KAFU_WASI_FILETYPE_DIRECTORY;
  kafu_fdt_entry *e = kafu_fdt_entry_new(h, dir ? KAFU_FD_DIR : KAFU_FD_FILE, ft);
  if (!e) {
    close(h);
    free(p);
    return KAFU_WASI_ENOMEM;
  }
  e->rights_base = rights_base & kafu_wasi_rights_for(ft, isatty(h));
  e->rights_inheriting = dir ? rights_inheriting : 0;
  e->fdflags = (uint16_t)fdflags;
  e->oflags = oflags;
  e->preopen = d->preopen;
  /* where the file lives, relative to its preopen: ask the kernel (exact even
   * through symlinks), else normalise lexically */
  bool outside = false;
  e->path = kafu_wasi_proc_relpath(w, h, d->preopen, &outside);
  if (!e->path && !outside && d->path) e->path = kafu_wasi_path_normalize(d->path, p);
  free(p);
  uint32_t fd;
  if ((rc = kafu_fdtable_insert(&w->fds, e, &fd))) {
    kafu_fdt_entry_free(e);
    return rc;
  }
  kafu_st32(m->base + fd_out, fd);
  return 0;
}

uint32_t kafu_wasi_path_create_directory(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t path,
                                         uint32_t path_len) {
  kafu_fdt_entry *d;
  kafu_sb_res r;
  uint32_t rc =
      prepare(w, m, fd, KAFU_WASI_RIGHT_PATH_CREATE_DIRECTORY, path, path_len, KAFU_SB_NOFOLLOW, &d, &r);
  if (!rc) {
    char b[260];
    if (mkdirat(r.parent, slashed(&r, b), 0777) < 0) rc = kafu_wasi_errno(errno);
  }
  kafu_sb_res_close(&r);
  return rc;
}

uint32_t kafu_wasi_path_filestat_get(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t lookupflags,
                                     uint32_t path, uint32_t path_len, uint32_t stat_out) {
  kafu_fdt_entry *d;
  kafu_sb_res r;
  if (!kafu_mem_ok(m, stat_out, 64)) {
    kafu_fdt_entry *e;
    uint32_t rc0 = kafu_wasi_fd_lookup(w, fd, 0, &e);
    return rc0 ? rc0 : KAFU_WASI_EFAULT;
  }
  uint32_t rc = prepare(
      w, m, fd, KAFU_WASI_RIGHT_PATH_FILESTAT_GET, path, path_len,
      (lookupflags & KAFU_WASI_LOOKUP_SYMLINK_FOLLOW) ? KAFU_SB_FOLLOW : KAFU_SB_FOLLOW_IF_SLASH, &d, &r);
  struct stat sb;
  if (!rc && !(rc = stat_final(&r, &sb)))
    kafu_wasi_store_filestat(m->base + stat_out, &sb, kafu_wasi_filetype_of(-1, sb.st_mode));
  kafu_sb_res_close(&r);
  return rc;
}

uint32_t kafu_wasi_path_filestat_set_times(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t lookupflags,
                                           uint32_t path, uint32_t path_len, uint64_t atim, uint64_t mtim,
                                           uint32_t fst_flags) {
  struct timespec ts[2];
  kafu_fdt_entry *d;
  kafu_sb_res r;
  uint32_t rc = prepare(
      w, m, fd, KAFU_WASI_RIGHT_PATH_FILESTAT_SET_TIMES, path, path_len,
      (lookupflags & KAFU_WASI_LOOKUP_SYMLINK_FOLLOW) ? KAFU_SB_FOLLOW : KAFU_SB_FOLLOW_IF_SLASH, &d, &r);
  if (!rc) rc = kafu_wasi_make_times(atim, mtim, fst_flags, ts);
  struct stat sb;
  if (!rc && r.slash) rc = stat_final(&r, &sb);
  if (!rc && utimensat(r.parent, r.name, ts, AT_SYMLINK_NOFOLLOW) < 0) rc = kafu_wasi_errno(errno);
  kafu_sb_res_close(&r);
  return rc;
}

uint32_t kafu_wasi_path_link(kafu_wasi *w, const kafu_mem *m, uint32_t old_fd, uint32_t old_flags,
                             uint32_t old_path, uint32_t old_path_len, uint32_t new_fd, uint32_t new_path,
                             uint32_t new_path_len) {
  kafu_fdt_entry *od, *nd;
  kafu_sb_res ro, rn;
  rn.parent = -1;
  rn.own = false;
  rn.dirpart = NULL;
  uint32_t rc = prepare(
      w, m, old_fd, KAFU_WASI_RIGHT_PATH_LINK_SOURCE, old_path, old_path_len,
      (old_flags & KAFU_WASI_LOOKUP_SYMLINK_FOLLOW) ? KAFU_SB_FOLLOW : KAFU_SB_FOLLOW_IF_SLASH, &od, &ro);
  if (!rc)
    rc = prepare(w, m, new_fd, KAFU_WASI_RIGHT_PATH_LINK_TARGET, new_path, new_path_len, KAFU_SB_NOFOLLOW,
                 &nd, &rn);
  if (!rc && ro.slash) { /* "x/" names a directory, and directories cannot be hard-linked */
    struct stat sb;
    rc = stat_final(&ro, &sb);
    if (!rc) rc = KAFU_WASI_EPERM;
  }
  char b[260];
  if (!rc && linkat(ro.parent, ro.name, rn.parent, slashed(&rn, b), 0) < 0) rc = kafu_wasi_errno(errno);
  kafu_sb_res_close(&ro);
  kafu_sb_res_close(&rn);
  return rc;
}

uint32_t kafu_wasi_path_readlink(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t path,
                                 uint32_t path_len, uint32_t buf, uint32_t buf_len, uint32_t bufused_out) {
  kafu_fdt_entry *d;
  kafu_sb_res r;
  uint32_t rc = prepare(w, m, fd, KAFU_WASI_RIGHT_PATH_READLINK, path, path_len, KAFU_SB_NOFOLLOW, &d, &r);
  if (!rc && (!kafu_mem_ok(m, buf, buf_len) || !kafu_mem_ok(m, bufused_out, 4))) rc = KAFU_WASI_EFAULT;
  if (!rc && r.slash) { /* "x/" is the directory behind x: never a symlink */
    kafu_sb_res_close(&r);
    char *p;
    if ((rc = kafu_wasi_guest_path(m, path, path_len, &p))) return rc;
    rc = kafu_sb_resolve(w, d->host_fd, p, KAFU_SB_FOLLOW, &r);
    free(p);
    struct stat sb;
    if (!rc && !(rc = stat_final(&r, &sb))) rc = KAFU_WASI_EINVAL;
  }
  if (!rc) {
    char tmp[PATH_MAX];
    ssize_t n = readlinkat(r.parent, r.name, tmp, sizeof tmp);
    if (n < 0) {
      rc = kafu_wasi_errno(errno);
    } else {
      uint32_t c = (uint64_t)n < buf_len ? (uint32_t)n : buf_len;
      memcpy(m->base + buf, tmp, c);
      kafu_st32(m->base + bufused_out, c);
    }
  }
  kafu_sb_res_close(&r);
  return rc;
}

uint32_t kafu_wasi_path_remove_directory(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t path,
                                         uint32_t path_len) {
  kafu_fdt_entry *d;
  kafu_sb_res r;
  uint32_t rc =
      prepare(w, m, fd, KAFU_WASI_RIGHT_PATH_REMOVE_DIRECTORY, path, path_len, KAFU_SB_NOFOLLOW, &d, &r);
  char b[260];
  if (!rc && unlinkat(r.parent, slashed(&r, b), AT_REMOVEDIR) < 0) rc = kafu_wasi_errno(errno);
  kafu_sb_res_close(&r);
  return rc;
}

uint32_t kafu_wasi_path_unlink_file(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t path,
                                    uint32_t path_len) {
  kafu_fdt_entry *d;
  kafu_sb_res r;
  uint32_t rc = prepare(w, m, fd, KAFU_WASI_RIGHT_PATH_UNLINK_FILE, path, path_len, KAFU_SB_NOFOLLOW, &d, &r);
  char b[260];
  if (!rc && unlinkat(r.parent, slashed(&r, b), 0) < 0) rc = kafu_wasi_errno(errno);
  kafu_sb_res_close(&r);
  return rc;
}

uint32_t kafu_wasi_path_rename(kafu_wasi *w, const kafu_mem *m, uint32_t fd, uint32_t old_path,
                               uint32_t old_path_len, uint32_t new_fd, uint32_t new_path,
                               uint32_t new_path_len) {
  kafu_fdt_entry *od, *nd;
  kafu_sb_res ro, rn;
  rn.parent = -1;
  rn.own = false;
  rn.dirpart = NULL;
  uint32_t rc = prepare(w, m, fd, KAFU_WASI_RIGHT_PATH_RENAME_SOURCE, old_path, old_path_len,
                        KAFU_SB_NOFOLLOW, &od, &ro);
  if (!rc)
    rc = prepare(w, m, new_fd, KAFU_WASI_RIGHT_PATH_RENAME_TARGET, new_path, new_path_len, KAFU_SB_NOFOLLOW,
                 &nd, &rn);
  char b1[260], b2[260];
  if (!rc && renameat(ro.parent, slashed(&ro, b1), rn.parent, slashed(&rn, b2)) < 0)
    rc = kafu_wasi_errno(errno);
  kafu_sb_res_close(&ro);
  kafu_sb_res_close(&rn);
  return rc;
}

uint32_t kafu_wasi_path_symlink(kafu_wasi *w, const kafu_mem *m, uint32_t old_path, uint32_t old_path_len,
                                uint32_t fd, uint32_t new_path, uint32_t new_path_len) {
  kafu_fdt_entry *d;
  kafu_sb_res r;
  r.parent = -1;
  r.own = false;
  r.dirpart = NULL;
  if (!kafu_mem_ok(m, old_path, old_path_len)) return KAFU_WASI_EFAULT;
  if (old_path_len >= PATH_MAX) return KAFU_WASI_ENAMETOOLONG;
  const uint8_t *tp = m->base + old_path;
  if (memchr(tp, 0, old_path_len)) return KAFU_WASI_EINVAL;
  if (old_path_len == 0) return KAFU_WASI_ENOENT;
  if (tp[0] == '/') return KAFU_WASI_ENOTCAPABLE; /* absolute targets always point outside */
  char *target = strndup((const char *)tp, old_path_len);
  if (!target) return KAFU_WASI_ENOMEM;
  uint32_t rc =
      prepare(w, m, fd, KAFU_WASI_RIGHT_PATH_SYMLINK, new_path, new_path_len, KAFU_SB_NOFOLLOW, &d, &r);
  /* A target may only lead downwards from the link's own directory: no ".."
   * component at all. A lexical depth count is not enough — a component may
   * itself be (or later become, or be renamed into) a symlink to "." or a
   * directory may be moved, after which "x/.." or "../y" points above the
   * preopen for any host program that follows the link. Links that only
   * descend from where they sit can never leave the preopen. */
  for (const char *c = target; !rc && *c;) {
    const char *e = strchr(c, '/');
    size_t n = e ? (size_t)(e - c) : strlen(c);
    if (n == 2 && c[0] == '.' && c[1] == '.') rc = KAFU_WASI_ENOTCAPABLE;
    c += n;
    while (*c == '/') c++;
  }
  char b[260];
  if (!rc && symlinkat(target, r.parent, slashed(&r, b)) < 0) rc = kafu_wasi_errno(errno);
  free(target);
  kafu_sb_res_close(&r);
  return rc;
}
