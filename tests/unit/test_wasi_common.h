/*
 * test_wasi_common.h — helpers for the WASI unit tests (test_wasi*.c): a fake
 * linear memory, temp directories, and thin wrappers that place strings and
 * iovecs in that memory before calling the imports directly.
 */
#ifndef KAFU_TEST_WASI_COMMON_H
#define KAFU_TEST_WASI_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kafu/wasi.h"

#define MEM_SIZE 65536u
static uint8_t g_mem[MEM_SIZE];
static kafu_mem M = {g_mem, MEM_SIZE};

/* scratch areas inside the fake memory */
#define A_PATH 1024u  /* path strings */
#define A_PATH2 3072u /* second path */
#define A_OUT 8192u   /* results */
#define A_IOV 9216u   /* iovec arrays */
#define A_BUF 12288u  /* data buffers */

static inline uint32_t put_str(uint32_t at, const char *s) {
  size_t l = strlen(s);
  memcpy(g_mem + at, s, l);
  return (uint32_t)l;
}

static inline uint32_t ld32(uint32_t at) {
  uint32_t v;
  memcpy(&v, g_mem + at, 4);
  return v;
}
static inline uint64_t ld64(uint32_t at) {
  uint64_t v;
  memcpy(&v, g_mem + at, 8);
  return v;
}
static inline void st32(uint32_t at, uint32_t v) { memcpy(g_mem + at, &v, 4); }

static inline int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static inline void rm_rf(const char *dir) { nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static inline char *make_tmpdir(void) {
  char tmpl[] = "/tmp/kafu-wasi-test-XXXXXX";
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  return strdup(d);
}

static inline void write_host_file(const char *dir, const char *name, const char *content) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(content, f);
  fclose(f);
}

static inline bool host_exists(const char *dir, const char *name) {
  char p[4096];
  struct stat sb;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return lstat(p, &sb) == 0;
}

/* context with one preopen of `dir` as guest "/" (fd 3) */
static inline kafu_wasi *new_ctx(const char *dir) {
  kafu_preopen po = {dir, "/"};
  kafu_wasi_config cfg = {0};
  cfg.preopens = &po;
  cfg.npreopens = 1;
  kafu_wasi *w = NULL;
  kafu_err err = {0};
  int rc = kafu_wasi_new(&cfg, &w, &err);
  if (rc) fprintf(stderr, "kafu_wasi_new: %s\n", err.msg);
  assert_int_equal(rc, 0);
  return w;
}

static inline uint32_t popen_at(kafu_wasi *w, uint32_t dirfd, uint32_t lookup, const char *path,
                                uint32_t oflags, uint64_t base, uint64_t inh, uint32_t fdflags,
                                uint32_t *fd) {
  uint32_t len = put_str(A_PATH, path);
  uint32_t rc = kafu_wasi_path_open(w, &M, dirfd, lookup, A_PATH, len, oflags, base, inh, fdflags, A_OUT);
  if (fd) *fd = rc == 0 ? ld32(A_OUT) : UINT32_MAX; /* never left unset */
  return rc;
}

#define RW \
  (KAFU_WASI_RIGHT_FD_READ | KAFU_WASI_RIGHT_FD_WRITE | KAFU_WASI_RIGHT_FD_SEEK | KAFU_WASI_RIGHT_FD_TELL)

static inline uint32_t wr(kafu_wasi *w, uint32_t fd, const char *data, uint32_t *n) {
  uint32_t l = put_str(A_BUF, data);
  st32(A_IOV, A_BUF);
  st32(A_IOV + 4, l);
  uint32_t rc = kafu_wasi_fd_write(w, &M, fd, A_IOV, 1, A_OUT);
  if (n) *n = ld32(A_OUT);
  return rc;
}

/* read up to cap bytes into a static string */
static inline const char *rd(kafu_wasi *w, uint32_t fd, uint32_t cap, uint32_t *rc_out) {
  static char s[4096];
  memset(g_mem + A_BUF, 0, cap);
  st32(A_IOV, A_BUF);
  st32(A_IOV + 4, cap);
  uint32_t rc = kafu_wasi_fd_read(w, &M, fd, A_IOV, 1, A_OUT);
  if (rc_out) *rc_out = rc;
  if (rc) return NULL;
  uint32_t n = ld32(A_OUT);
  memcpy(s, g_mem + A_BUF, n);
  s[n] = 0;
  return s;
}

static inline uint32_t path_call1(uint32_t (*f)(kafu_wasi *, const kafu_mem *, uint32_t, uint32_t, uint32_t),
                                  kafu_wasi *w, uint32_t fd, const char *path) {
  uint32_t l = put_str(A_PATH, path);
  return f(w, &M, fd, A_PATH, l);
}
#define MKDIR(w, fd, p) path_call1(kafu_wasi_path_create_directory, w, fd, p)
#define RMDIR(w, fd, p) path_call1(kafu_wasi_path_remove_directory, w, fd, p)
#define UNLINK(w, fd, p) path_call1(kafu_wasi_path_unlink_file, w, fd, p)

static inline uint32_t SYMLINK(kafu_wasi *w, const char *target, uint32_t fd, const char *path) {
  uint32_t tl = put_str(A_PATH2, target), pl = put_str(A_PATH, path);
  return kafu_wasi_path_symlink(w, &M, A_PATH2, tl, fd, A_PATH, pl);
}

static inline uint32_t RENAME(kafu_wasi *w, uint32_t fd, const char *from, uint32_t nfd, const char *to) {
  uint32_t fl = put_str(A_PATH, from), tl = put_str(A_PATH2, to);
  return kafu_wasi_path_rename(w, &M, fd, A_PATH, fl, nfd, A_PATH2, tl);
}

static inline uint32_t LINK(kafu_wasi *w, uint32_t fd, uint32_t flags, const char *from, uint32_t nfd,
                            const char *to) {
  uint32_t fl = put_str(A_PATH, from), tl = put_str(A_PATH2, to);
  return kafu_wasi_path_link(w, &M, fd, flags, A_PATH, fl, nfd, A_PATH2, tl);
}

/* filestat via path: returns errno, filetype in *ft, size in *size */
static inline uint32_t PSTAT(kafu_wasi *w, uint32_t fd, uint32_t flags, const char *path, uint8_t *ft,
                             uint64_t *size) {
  uint32_t l = put_str(A_PATH, path);
  uint32_t rc = kafu_wasi_path_filestat_get(w, &M, fd, flags, A_PATH, l, A_OUT);
  if (!rc) {
    if (ft) *ft = g_mem[A_OUT + 16];
    if (size) *size = ld64(A_OUT + 32);
  }
  return rc;
}

#endif
