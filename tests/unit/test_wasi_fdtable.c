/*
 * test_wasi_fdtable.c — fd table export/restore (what a snapshot carries):
 * round trip onto a different host directory with offsets, rights, flags and
 * renumbered stdio preserved; every way a restore can be impossible fails with
 * a message naming fd and path and leaves the target table untouched.
 */
#include "test_wasi_common.h"

typedef struct fx {
  char *a, *b; /* source and destination host directories */
  kafu_wasi *src;
} fx;

static kafu_wasi *ctx_for(const char *dir, const char *guest) {
  kafu_preopen po = {dir, guest};
  kafu_wasi_config cfg = {.preopens = &po, .npreopens = 1};
  kafu_wasi *w = NULL;
  kafu_err err = {0};
  int rc = kafu_wasi_new(&cfg, &w, &err);
  if (rc) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  return w;
}

static void populate(const char *dir) {
  char p[4096];
  write_host_file(dir, "a.txt", "0123456789");
  snprintf(p, sizeof p, "%s/sub", dir);
  mkdir(p, 0755);
  write_host_file(dir, "sub/b.txt", "bbbbbb");
  for (int i = 0; i < 20; i++) {
    char nm[32];
    snprintf(nm, sizeof nm, "sub/e%02d", i);
    write_host_file(dir, nm, "");
  }
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->a = make_tmpdir();
  f->b = make_tmpdir();
  populate(f->a);
  populate(f->b);
  f->src = ctx_for(f->a, "/data");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  kafu_wasi_free(f->src);
  rm_rf(f->a);
  rm_rf(f->b);
  free(f->a);
  free(f->b);
  free(f);
  return 0;
}

static const kafu_fd_entry *find(const kafu_fd_entry *e, size_t n, uint32_t fd) {
  for (size_t i = 0; i < n; i++)
    if (e[i].fd == fd) return &e[i];
  return NULL;
}

static uint32_t fd_a, fd_b, fd_sub, fd_out;

/* open a few things in the source context */
static void open_some(kafu_wasi *w) {
  uint32_t rc;
  assert_int_equal(popen_at(w, 3, 0, "a.txt", 0, RW, 0, KAFU_WASI_FDFLAG_NONBLOCK, &fd_a), 0);
  assert_string_equal(rd(w, fd_a, 4, &rc), "0123");
  assert_int_equal(popen_at(w, 3, 0, "sub/../sub/./b.txt", 0,
                            KAFU_WASI_RIGHT_FD_READ | KAFU_WASI_RIGHT_FD_TELL, 0, 0, &fd_b),
                   0);
  assert_string_equal(rd(w, fd_b, 2, &rc), "bb");
  assert_int_equal(
      popen_at(w, 3, 0, "sub", KAFU_WASI_O_DIRECTORY,
               KAFU_WASI_RIGHT_PATH_OPEN | KAFU_WASI_RIGHT_FD_READDIR | KAFU_WASI_RIGHT_PATH_CREATE_FILE, RW,
               0, &fd_sub),
      0);
  /* guest fd that is stdout under another number */
  assert_int_equal(popen_at(w, 3, 0, "tmp", KAFU_WASI_O_CREAT, RW, 0, 0, &fd_out), 0);
  assert_int_equal(kafu_wasi_fd_renumber(w, &M, 1, fd_out), 0);
}

static void test_roundtrip(void **state) {
  fx *f = *state;
  open_some(f->src);
  kafu_fd_entry *e;
  size_t n;
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_fd_export(f->src, &e, &n, &err), 0);
  const kafu_fd_entry *x = find(e, n, 3);
  assert_non_null(x);
  assert_int_equal(x->kind, KAFU_FD_PREOPEN);
  assert_string_equal(x->preopen, "/data");
  x = find(e, n, fd_a);
  assert_non_null(x);
  assert_int_equal(x->kind, KAFU_FD_FILE);
  assert_string_equal(x->path, "a.txt");
  assert_int_equal(x->offset, 4);
  assert_int_equal(x->fdflags, KAFU_WASI_FDFLAG_NONBLOCK);
  x = find(e, n, fd_b);
  assert_string_equal(x->path, "sub/b.txt"); /* normalised */
  assert_int_equal(x->offset, 2);
  x = find(e, n, fd_sub);
  assert_int_equal(x->kind, KAFU_FD_DIR);
  assert_string_equal(x->path, "sub");
  x = find(e, n, fd_out);
  assert_int_equal(x->kind, KAFU_FD_STDIO);
  assert_int_equal(x->index, 1);
  assert_null(find(e, n, 1));
  for (size_t i = 1; i < n; i++) assert_true(e[i].fd > e[i - 1].fd); /* sorted */

  /* restore on "another node": same guest path, different host directory */
  kafu_wasi *dst = ctx_for(f->b, "/data");
  assert_int_equal(kafu_wasi_fd_restore(dst, e, n, &err), 0);
  uint32_t rc;
  assert_int_equal(kafu_wasi_fd_tell(dst, &M, fd_a, A_OUT), 0);
  assert_int_equal(ld64(A_OUT), 4);
  assert_string_equal(rd(dst, fd_a, 100, &rc), "456789");
  assert_string_equal(rd(dst, fd_b, 100, &rc), "bbbb");
  assert_int_equal(kafu_wasi_fd_fdstat_get(dst, &M, fd_b, A_OUT), 0);
  assert_int_equal(ld64(A_OUT + 8), KAFU_WASI_RIGHT_FD_READ | KAFU_WASI_RIGHT_FD_TELL);
  assert_int_equal(kafu_wasi_fd_fdstat_get(dst, &M, fd_a, A_OUT), 0);
  assert_int_equal(g_mem[A_OUT + 2], KAFU_WASI_FDFLAG_NONBLOCK);
  assert_int_equal(kafu_wasi_fd_fdstat_get(dst, &M, 1, A_OUT), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_fdstat_get(dst, &M, fd_out, A_OUT), 0); /* stdout again */
  /* the restored directory fd works inside B, not A */
  uint32_t nf;
  assert_int_equal(popen_at(dst, fd_sub, 0, "new.txt", KAFU_WASI_O_CREAT, RW, 0, 0, &nf), 0);
  assert_true(host_exists(f->b, "sub/new.txt"));
  assert_false(host_exists(f->a, "sub/new.txt"));
  /* writes through the restored file fd land in B */
  assert_int_equal(wr(dst, fd_a, "X", NULL), 0);
  kafu_wasi_free(dst);
  char p[4096];
  snprintf(p, sizeof p, "%s/a.txt", f->b);
  FILE *fp = fopen(p, "r");
  char buf[32] = {0};
  assert_non_null(fgets(buf, sizeof buf, fp));
  fclose(fp);
  assert_string_equal(buf, "0123456789X");
  kafu_fd_entries_free(e, n);
}

static void test_roundtrip_walk(void **state) {
  setenv("KAFU_WASI_NO_OPENAT2", "1", 1);
  kafu_tunables_reload();
  test_roundtrip(state);
  unsetenv("KAFU_WASI_NO_OPENAT2");
  kafu_tunables_reload();
}

static void expect_restore_fails(fx *f, kafu_fd_entry *e, size_t n, const char *want1, const char *want2) {
  kafu_wasi *dst = ctx_for(f->b, "/data");
  kafu_err err = {0};
  assert_true(kafu_wasi_fd_restore(dst, e, n, &err) < 0);
  if (want1 && !strstr(err.msg, want1)) fail_msg("'%s' not in: %s", want1, err.msg);
  if (want2 && !strstr(err.msg, want2)) fail_msg("'%s' not in: %s", want2, err.msg);
  /* the target table is untouched: its preopen is still fd 3, nothing else opened */
  assert_int_equal(kafu_wasi_fd_prestat_get(dst, &M, 3, A_OUT), 0);
  assert_int_equal(kafu_wasi_fd_fdstat_get(dst, &M, 4, A_OUT), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_fdstat_get(dst, &M, 1, A_OUT), 0);
  kafu_wasi_free(dst);
}

static void test_restore_missing_file(void **state) {
  fx *f = *state;
  open_some(f->src);
  kafu_fd_entry *e;
  size_t n;
  assert_int_equal(kafu_wasi_fd_export(f->src, &e, &n, NULL), 0);
  char p[4096], fdn[32];
  snprintf(p, sizeof p, "%s/sub/b.txt", f->b);
  assert_int_equal(unlink(p), 0);
  snprintf(fdn, sizeof fdn, "fd %u", fd_b);
  expect_restore_fails(f, e, n, fdn, "sub/b.txt");
  assert_false(host_exists(f->b, "sub/b.txt")); /* never re-created */
  kafu_fd_entries_free(e, n);
}

static void test_restore_changed_file(void **state) {
  fx *f = *state;
  open_some(f->src);
  kafu_fd_entry *e;
  size_t n;
  assert_int_equal(kafu_wasi_fd_export(f->src, &e, &n, NULL), 0);
  char fdn[32];
  /* shorter than the saved offset: not the same file */
  write_host_file(f->b, "a.txt", "01");
  snprintf(fdn, sizeof fdn, "fd %u", fd_a);
  expect_restore_fails(f, e, n, fdn, "offset");
  /* a directory where a file was */
  write_host_file(f->b, "a.txt", "0123456789");
  char p[4096];
  snprintf(p, sizeof p, "%s/sub", f->b);
  rm_rf(p);
  write_host_file(f->b, "sub", "now a file");
  snprintf(fdn, sizeof fdn, "fd %u", fd_sub);
  expect_restore_fails(f, e, n, "sub", NULL);
  kafu_fd_entries_free(e, n);
}

static void test_restore_missing_preopen(void **state) {
  fx *f = *state;
  kafu_fd_entry *e;
  size_t n;
  assert_int_equal(kafu_wasi_fd_export(f->src, &e, &n, NULL), 0);
  kafu_wasi *dst = ctx_for(f->b, "/elsewhere");
  kafu_err err = {0};
  assert_true(kafu_wasi_fd_restore(dst, e, n, &err) < 0);
  assert_non_null(strstr(err.msg, "fd 3"));
  assert_non_null(strstr(err.msg, "/data"));
  kafu_wasi_free(dst);
  kafu_fd_entries_free(e, n);
}

static void test_restore_bad_entries(void **state) {
  fx *f = *state;
  kafu_fd_entry e[2] = {{0}};
  e[0].fd = 3;
  e[0].kind = KAFU_FD_FILE;
  e[0].filetype = KAFU_WASI_FILETYPE_REGULAR_FILE;
  e[0].preopen = "/data";
  e[0].path = "../escape";
  e[0].rights_base = KAFU_WASI_RIGHT_FD_READ;
  expect_restore_fails(f, e, 1, "fd 3", "../escape");
  e[0].path = "/etc/passwd";
  expect_restore_fails(f, e, 1, "fd 3", NULL);
  e[0].path = "a.txt";
  e[0].fd = 1u << 20;
  expect_restore_fails(f, e, 1, "out of range", NULL);
  e[0].fd = 7;
  e[1] = e[0];
  expect_restore_fails(f, e, 2, "fd 7", "twice");
  e[0].kind = 99;
  expect_restore_fails(f, e, 1, "fd 7", "kind");
  e[0].kind = KAFU_FD_SOCKET;
  expect_restore_fails(f, e, 1, "fd 7", "socket");
  e[0].kind = KAFU_FD_LISTEN;
  expect_restore_fails(f, e, 1, "fd 7", "listening");
  e[0].kind = KAFU_FD_STDIO;
  e[0].index = 5;
  expect_restore_fails(f, e, 1, "fd 7", "stdio");
  kafu_fd_entries_free(NULL, 0);
}

static void test_export_rename_and_delete(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->src;
  uint32_t fd, fd2;
  assert_int_equal(popen_at(w, 3, 0, "r.txt", KAFU_WASI_O_CREAT, RW, 0, 0, &fd), 0);
  assert_int_equal(RENAME(w, 3, "r.txt", 3, "sub/r2.txt"), 0);
  /* opened through a symlinked directory: exported under the real path */
  assert_int_equal(SYMLINK(w, "sub", 3, "lnkdir"), 0);
  assert_int_equal(popen_at(w, 3, 0, "lnkdir/b.txt", 0, RW, 0, 0, &fd2), 0);
  kafu_fd_entry *e;
  size_t n;
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_fd_export(w, &e, &n, &err), 0);
  assert_string_equal(find(e, n, fd)->path, "sub/r2.txt");
  assert_string_equal(find(e, n, fd2)->path, "sub/b.txt");
  kafu_fd_entries_free(e, n);
  /* deleted while open: cannot be reopened anywhere, so export says so */
  assert_int_equal(UNLINK(w, 3, "sub/r2.txt"), 0);
  assert_true(kafu_wasi_fd_export(w, &e, &n, &err) < 0);
  char fdn[32];
  snprintf(fdn, sizeof fdn, "fd %u", fd);
  assert_non_null(strstr(err.msg, fdn));
  assert_non_null(strstr(err.msg, "deleted"));
  kafu_wasi_fd_close(w, &M, fd);
  assert_int_equal(kafu_wasi_fd_export(w, &e, &n, &err), 0);
  kafu_fd_entries_free(e, n);
}

static void test_readdir_cookie_survives(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->src;
  open_some(w);
  /* read the first part of sub/ (sorted: ".", "..", "b.txt", "e00", ...) */
  assert_int_equal(kafu_wasi_fd_readdir(w, &M, fd_sub, A_BUF, 24 * 3 + 1 + 2 + 5, 0, A_OUT), 0);
  uint64_t cookie = ld64(A_BUF + 24 + 1 + 24 + 2); /* d_next of the 3rd entry */
  assert_int_equal(cookie, 3);
  kafu_fd_entry *e;
  size_t n;
  assert_int_equal(kafu_wasi_fd_export(w, &e, &n, NULL), 0);
  kafu_wasi *dst = ctx_for(f->b, "/data");
  assert_int_equal(kafu_wasi_fd_restore(dst, e, n, NULL), 0);
  assert_int_equal(kafu_wasi_fd_readdir(dst, &M, fd_sub, A_BUF, 4096, cookie, A_OUT), 0);
  assert_int_equal(ld32(A_BUF + 16), 3);
  assert_memory_equal(g_mem + A_BUF + 24, "e00", 3);
  kafu_wasi_free(dst);
  kafu_fd_entries_free(e, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_roundtrip_walk, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restore_missing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restore_changed_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restore_missing_preopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restore_bad_entries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_export_rename_and_delete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_readdir_cookie_survives, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
