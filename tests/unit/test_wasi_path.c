/*
 * test_wasi_path.c — WASI path_* calls and the sandbox.
 *
 * Every test runs twice: with openat2(RESOLVE_BENEATH) and with the portable
 * component-by-component walk (KAFU_WASI_NO_OPENAT2=1), so both resolvers
 * must deny the same escapes: "..", absolute paths, symlinks (absolute or
 * relative) leading outside, symlink loops, ".." through a symlinked
 * directory, and creation through dangling symlinks.
 */
#include "test_wasi_common.h"

typedef struct fx {
  char *root;    /* parent of both */
  char *dir;     /* the preopen */
  char *outside; /* a sibling the guest must never reach */
  kafu_wasi *w;
} fx;

static int setup_mode(void **state, bool walk) {
  fx *f = calloc(1, sizeof *f);
  f->root = make_tmpdir();
  char p[4096];
  snprintf(p, sizeof p, "%s/sandbox", f->root);
  mkdir(p, 0755);
  f->dir = strdup(p);
  snprintf(p, sizeof p, "%s/outside", f->root);
  mkdir(p, 0755);
  f->outside = strdup(p);
  write_host_file(f->outside, "secret", "TOP SECRET");
  if (walk) setenv("KAFU_WASI_NO_OPENAT2", "1", 1);
  f->w = new_ctx(f->dir);
  unsetenv("KAFU_WASI_NO_OPENAT2");
  *state = f;
  return 0;
}
static int setup_openat2(void **state) { return setup_mode(state, false); }
static int setup_walk(void **state) { return setup_mode(state, true); }

static int teardown(void **state) {
  fx *f = *state;
  kafu_wasi_free(f->w);
  rm_rf(f->root);
  free(f->root);
  free(f->dir);
  free(f->outside);
  free(f);
  return 0;
}

static void host_symlink(fx *f, const char *target, const char *name) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", f->dir, name);
  assert_int_equal(symlink(target, p), 0);
}

static void touch(kafu_wasi *w, uint32_t dirfd, const char *path) {
  uint32_t fd;
  assert_int_equal(popen_at(w, dirfd, 0, path, KAFU_WASI_O_CREAT, RW, 0, 0, &fd), 0);
  assert_int_equal(kafu_wasi_fd_close(w, &M, fd), 0);
}

#define FOLLOW KAFU_WASI_LOOKUP_SYMLINK_FOLLOW

/* ---- path_open ------------------------------------------------------------ */

static void test_open(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->w;
  uint32_t fd;
  assert_int_equal(popen_at(w, 3, 0, "missing", 0, RW, 0, 0, &fd), KAFU_WASI_ENOENT);
  touch(w, 3, "file");
  assert_int_equal(popen_at(w, 3, 0, "file", KAFU_WASI_O_CREAT | KAFU_WASI_O_EXCL, RW, 0, 0, &fd),
                   KAFU_WASI_EEXIST);
  assert_int_equal(popen_at(w, 3, 0, "file", KAFU_WASI_O_DIRECTORY, 0, 0, 0, &fd), KAFU_WASI_ENOTDIR);
  assert_int_equal(popen_at(w, 3, 0, "x", KAFU_WASI_O_CREAT | KAFU_WASI_O_DIRECTORY, 0, 0, 0, &fd),
                   KAFU_WASI_EINVAL);
  assert_int_equal(popen_at(w, 3, 0, "file", 0x10, 0, 0, 0, &fd), KAFU_WASI_EINVAL);
  assert_int_equal(popen_at(w, 3, 0, "file", 0, 0, 0, 0x20, &fd), KAFU_WASI_EINVAL);
  assert_int_equal(popen_at(w, 3, 0, "file/", 0, 0, 0, 0, &fd), KAFU_WASI_ENOTDIR);
  assert_int_equal(popen_at(w, 3, 0, "", 0, 0, 0, 0, &fd), KAFU_WASI_ENOENT);
  assert_int_equal(popen_at(w, 77, 0, "file", 0, 0, 0, 0, &fd), KAFU_WASI_EBADF);
  /* NUL inside the path */
  memcpy(g_mem + A_PATH, "file\0x", 6);
  assert_int_equal(kafu_wasi_path_open(w, &M, 3, 0, A_PATH, 6, 0, 0, 0, 0, A_OUT), KAFU_WASI_EINVAL);
  /* path / result out of range */
  assert_int_equal(kafu_wasi_path_open(w, &M, 3, 0, MEM_SIZE - 2, 4, 0, 0, 0, 0, A_OUT), KAFU_WASI_EFAULT);
  put_str(A_PATH, "file");
  assert_int_equal(kafu_wasi_path_open(w, &M, 3, 0, A_PATH, 4, 0, 0, 0, 0, MEM_SIZE - 3), KAFU_WASI_EFAULT);
  /* write something, then O_TRUNC empties it */
  assert_int_equal(popen_at(w, 3, 0, "file", 0, RW, 0, 0, &fd), 0);
  assert_int_equal(wr(w, fd, "data", NULL), 0);
  kafu_wasi_fd_close(w, &M, fd);
  uint64_t size;
  assert_int_equal(PSTAT(w, 3, 0, "file", NULL, &size), 0);
  assert_int_equal(size, 4);
  assert_int_equal(popen_at(w, 3, 0, "file", KAFU_WASI_O_TRUNC, 0, 0, 0, &fd), 0);
  kafu_wasi_fd_close(w, &M, fd);
  assert_int_equal(PSTAT(w, 3, 0, "file", NULL, &size), 0);
  assert_int_equal(size, 0);
  /* directories: "." works; asking for write on a directory is EISDIR */
  assert_int_equal(popen_at(w, 3, 0, ".", 0, 0, 0, 0, &fd), 0);
  kafu_wasi_fd_close(w, &M, fd);
  assert_int_equal(popen_at(w, 3, 0, ".", KAFU_WASI_O_DIRECTORY, KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd), 0);
  kafu_wasi_fd_close(w, &M, fd);
  assert_int_equal(popen_at(w, 3, 0, ".", KAFU_WASI_O_DIRECTORY, RW, 0, 0, &fd), KAFU_WASI_EISDIR);
  assert_int_equal(popen_at(w, 3, 0, ".", 0, 0, 0, KAFU_WASI_FDFLAG_NONBLOCK, &fd), 0);
  kafu_wasi_fd_close(w, &M, fd);
  /* a file fd is not a directory: no path rights */
  uint32_t ffd;
  assert_int_equal(popen_at(w, 3, 0, "file", 0, RW, 0, 0, &ffd), 0);
  uint32_t rc = popen_at(w, ffd, 0, "x", KAFU_WASI_O_CREAT, 0, 0, 0, &fd);
  assert_true(rc == KAFU_WASI_ENOTCAPABLE || rc == KAFU_WASI_ENOTDIR);
  kafu_wasi_fd_close(w, &M, ffd);
  /* symlinks: without FOLLOW the final link is not followed (ELOOP) */
  assert_int_equal(SYMLINK(w, "file", 3, "lnk"), 0);
  assert_int_equal(popen_at(w, 3, 0, "lnk", 0, RW, 0, 0, &fd), KAFU_WASI_ELOOP);
  assert_int_equal(popen_at(w, 3, FOLLOW, "lnk", 0, RW, 0, 0, &fd), 0);
  kafu_wasi_fd_close(w, &M, fd);
  /* nested paths with . and .. inside the sandbox */
  assert_int_equal(MKDIR(w, 3, "dir"), 0);
  assert_int_equal(MKDIR(w, 3, "dir/nested"), 0);
  touch(w, 3, "dir/nested/f");
  assert_int_equal(popen_at(w, 3, 0, "dir/.//nested/../../dir/nested/../nested///./f", 0, RW, 0, 0, &fd), 0);
  kafu_wasi_fd_close(w, &M, fd);
  assert_int_equal(popen_at(w, 3, 0, "dir/nested///", 0, 0, 0, 0, &fd), 0);
  kafu_wasi_fd_close(w, &M, fd);
  assert_int_equal(popen_at(w, 3, 0, "dir/..", KAFU_WASI_O_DIRECTORY, 0, 0, 0, &fd), 0);
  kafu_wasi_fd_close(w, &M, fd);
}

/* ---- other path calls ----------------------------------------------------- */

static void test_dirs_and_unlink(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->w;
  assert_int_equal(MKDIR(w, 3, "d"), 0);
  assert_int_equal(MKDIR(w, 3, "d"), KAFU_WASI_EEXIST);
  assert_int_equal(MKDIR(w, 3, "nope/d"), KAFU_WASI_ENOENT);
  assert_int_equal(MKDIR(w, 3, "d/e/"), 0);
  assert_int_equal(RMDIR(w, 3, "d"), KAFU_WASI_ENOTEMPTY);
  assert_int_equal(RMDIR(w, 3, "d/e/"), 0);
  touch(w, 3, "d/file");
  assert_int_equal(RMDIR(w, 3, "d/file"), KAFU_WASI_ENOTDIR);
  assert_int_equal(RMDIR(w, 3, "d/file/"), KAFU_WASI_ENOTDIR);
  assert_int_equal(RMDIR(w, 3, "d/missing"), KAFU_WASI_ENOENT);
  assert_int_equal(UNLINK(w, 3, "d"), KAFU_WASI_EISDIR);
  assert_int_equal(UNLINK(w, 3, "d/"), KAFU_WASI_EISDIR);
  assert_int_equal(UNLINK(w, 3, "d/file/"), KAFU_WASI_ENOTDIR);
  assert_int_equal(UNLINK(w, 3, "d/missing"), KAFU_WASI_ENOENT);
  assert_int_equal(UNLINK(w, 3, "d/file"), 0);
  assert_false(host_exists(f->dir, "d/file"));
  assert_int_equal(RMDIR(w, 3, "d"), 0);
  assert_int_equal(MKDIR(w, 99, "x"), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_path_create_directory(w, &M, 3, MEM_SIZE, 1), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_path_remove_directory(w, &M, 3, 0xFFFFFFFFu, 2), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_path_unlink_file(w, &M, 3, MEM_SIZE - 1, 2), KAFU_WASI_EFAULT);
  /* rights */
  assert_int_equal(kafu_wasi_fd_fdstat_set_rights(w, &M, 3, KAFU_WASI_RIGHT_PATH_OPEN, 0), 0);
  assert_int_equal(MKDIR(w, 3, "x"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(RMDIR(w, 3, "x"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(UNLINK(w, 3, "x"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(SYMLINK(w, "a", 3, "x"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(RENAME(w, 3, "a", 3, "b"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(LINK(w, 3, 0, "a", 3, "b"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(PSTAT(w, 3, 0, "a", NULL, NULL), KAFU_WASI_ENOTCAPABLE);
}

static void test_rename(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->w;
  touch(w, 3, "a");
  assert_int_equal(RENAME(w, 3, "a", 3, "b"), 0);
  assert_false(host_exists(f->dir, "a"));
  assert_true(host_exists(f->dir, "b"));
  touch(w, 3, "c");
  assert_int_equal(RENAME(w, 3, "c", 3, "b"), 0); /* replaces */
  assert_int_equal(RENAME(w, 3, "missing", 3, "z"), KAFU_WASI_ENOENT);
  assert_int_equal(MKDIR(w, 3, "src"), 0);
  assert_int_equal(MKDIR(w, 3, "dst"), 0);
  assert_int_equal(RENAME(w, 3, "src/", 3, "dst/"), 0); /* onto an empty dir */
  assert_int_equal(MKDIR(w, 3, "src"), 0);
  touch(w, 3, "dst/inner");
  assert_int_equal(RENAME(w, 3, "src", 3, "dst"), KAFU_WASI_ENOTEMPTY);
  assert_int_equal(RENAME(w, 3, "b", 3, "src"), KAFU_WASI_EISDIR);
  assert_int_equal(RENAME(w, 3, "src", 3, "b"), KAFU_WASI_ENOTDIR);
  assert_int_equal(RENAME(w, 99, "b", 3, "q"), KAFU_WASI_EBADF);
  assert_int_equal(RENAME(w, 3, "b", 99, "q"), KAFU_WASI_EBADF);
  /* between two directory fds */
  uint32_t dfd;
  assert_int_equal(
      popen_at(w, 3, 0, "dst", KAFU_WASI_O_DIRECTORY, KAFU_WASI_RIGHT_PATH_RENAME_TARGET, 0, 0, &dfd), 0);
  assert_int_equal(RENAME(w, 3, "b", dfd, "moved"), 0);
  assert_true(host_exists(f->dir, "dst/moved"));
  kafu_wasi_fd_close(w, &M, dfd);
}

static void test_links_and_stat(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->w;
  touch(w, 3, "file");
  assert_int_equal(LINK(w, 3, 0, "file", 3, "hard"), 0);
  uint8_t ft;
  assert_int_equal(PSTAT(w, 3, 0, "file", &ft, NULL), 0);
  assert_int_equal(ld64(A_OUT + 24), 2); /* nlink */
  assert_int_equal(LINK(w, 3, 0, "file", 3, "hard"), KAFU_WASI_EEXIST);
  assert_int_equal(LINK(w, 3, 0, "file", 3, "new/"), KAFU_WASI_ENOENT);
  assert_int_equal(LINK(w, 3, 0, "missing", 3, "x"), KAFU_WASI_ENOENT);
  assert_int_equal(MKDIR(w, 3, "dir"), 0);
  assert_int_equal(LINK(w, 3, 0, "dir", 3, "dl"), KAFU_WASI_EPERM);
  /* symlinks, readlink, filestat with and without follow */
  assert_int_equal(SYMLINK(w, "file", 3, "sym"), 0);
  assert_int_equal(SYMLINK(w, "file", 3, "sym"), KAFU_WASI_EEXIST);
  assert_int_equal(SYMLINK(w, "x", 3, "dir"), KAFU_WASI_EEXIST);
  assert_int_equal(SYMLINK(w, "x", 3, "nodir/"), KAFU_WASI_ENOENT);
  assert_int_equal(PSTAT(w, 3, 0, "sym", &ft, NULL), 0);
  assert_int_equal(ft, KAFU_WASI_FILETYPE_SYMBOLIC_LINK);
  assert_int_equal(PSTAT(w, 3, FOLLOW, "sym", &ft, NULL), 0);
  assert_int_equal(ft, KAFU_WASI_FILETYPE_REGULAR_FILE);
  assert_int_equal(PSTAT(w, 3, 0, "dir/", &ft, NULL), 0);
  assert_int_equal(ft, KAFU_WASI_FILETYPE_DIRECTORY);
  assert_int_equal(PSTAT(w, 3, 0, "file/", &ft, NULL), KAFU_WASI_ENOTDIR);
  assert_int_equal(PSTAT(w, 3, 0, "missing", &ft, NULL), KAFU_WASI_ENOENT);
  put_str(A_PATH, "file");
  assert_int_equal(kafu_wasi_path_filestat_get(w, &M, 3, 0, A_PATH, 4, MEM_SIZE - 60), KAFU_WASI_EFAULT);
  /* readlink: stored target, truncated to the buffer, untouched remainder */
  uint32_t l = put_str(A_PATH, "sym");
  memset(g_mem + A_BUF, 0, 16);
  assert_int_equal(kafu_wasi_path_readlink(w, &M, 3, A_PATH, l, A_BUF, 10, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 4);
  assert_memory_equal(g_mem + A_BUF, "file\0", 5);
  assert_int_equal(kafu_wasi_path_readlink(w, &M, 3, A_PATH, l, A_BUF, 2, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 2);
  l = put_str(A_PATH, "file");
  assert_int_equal(kafu_wasi_path_readlink(w, &M, 3, A_PATH, l, A_BUF, 10, A_OUT), KAFU_WASI_EINVAL);
  l = put_str(A_PATH, "sym");
  assert_int_equal(kafu_wasi_path_readlink(w, &M, 3, A_PATH, l, MEM_SIZE - 1, 10, A_OUT), KAFU_WASI_EFAULT);
  /* a hard link of a dangling symlink is fine; following it is not */
  assert_int_equal(SYMLINK(w, "nowhere", 3, "dangling"), 0);
  assert_int_equal(LINK(w, 3, 0, "dangling", 3, "dl2"), 0);
  assert_int_equal(LINK(w, 3, FOLLOW, "dangling", 3, "dl3"), KAFU_WASI_ENOENT);
  /* set_times: without FOLLOW the link changes, not the file */
  assert_int_equal(PSTAT(w, 3, 0, "file", NULL, NULL), 0);
  uint64_t file_mtim = ld64(A_OUT + 48);
  assert_int_equal(PSTAT(w, 3, 0, "sym", NULL, NULL), 0);
  uint64_t new_mtim = ld64(A_OUT + 48) - 200;
  l = put_str(A_PATH, "sym");
  assert_int_equal(kafu_wasi_path_filestat_set_times(w, &M, 3, 0, A_PATH, l, 0, new_mtim, 4), 0);
  assert_int_equal(PSTAT(w, 3, 0, "sym", NULL, NULL), 0);
  assert_int_equal(ld64(A_OUT + 48), new_mtim);
  assert_int_equal(PSTAT(w, 3, 0, "file", NULL, NULL), 0);
  assert_int_equal(ld64(A_OUT + 48), file_mtim);
  l = put_str(A_PATH, "sym");
  assert_int_equal(kafu_wasi_path_filestat_set_times(w, &M, 3, FOLLOW, A_PATH, l, 0, new_mtim, 4), 0);
  assert_int_equal(PSTAT(w, 3, 0, "file", NULL, NULL), 0);
  assert_int_equal(ld64(A_OUT + 48), new_mtim);
  assert_int_equal(kafu_wasi_path_filestat_set_times(w, &M, 3, 0, A_PATH, l, 0, 0, 4 | 8), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_path_filestat_set_times(w, &M, 3, 0, A_PATH, l, 0, 0, 1 | 2), KAFU_WASI_EINVAL);
  l = put_str(A_PATH, "missing");
  assert_int_equal(kafu_wasi_path_filestat_set_times(w, &M, 3, 0, A_PATH, l, 0, 0, 2), KAFU_WASI_ENOENT);
}

/* ---- sandbox escapes ------------------------------------------------------ */

static void assert_outside_untouched(fx *f) {
  char p[4096];
  snprintf(p, sizeof p, "%s/secret", f->outside);
  FILE *fp = fopen(p, "r");
  assert_non_null(fp);
  char buf[32] = {0};
  assert_non_null(fgets(buf, sizeof buf, fp));
  fclose(fp);
  assert_string_equal(buf, "TOP SECRET");
  assert_false(host_exists(f->outside, "new"));
  assert_false(host_exists(f->outside, "newdir"));
}

static void test_escape_dotdot_and_absolute(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->w;
  uint32_t fd;
  const char *bad[] = {
      "..",   "../outside/secret", "a/../../outside/secret", "./../outside", "a/../..", "/etc/passwd", "/",
      "//tmp"};
  assert_int_equal(MKDIR(w, 3, "a"), 0);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(popen_at(w, 3, 0, bad[i], 0, KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd), KAFU_WASI_ENOTCAPABLE);
    assert_int_equal(popen_at(w, 3, FOLLOW, bad[i], 0, KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd),
                     KAFU_WASI_ENOTCAPABLE);
    uint32_t rc = PSTAT(w, 3, FOLLOW, bad[i], NULL, NULL);
    assert_int_equal(rc, KAFU_WASI_ENOTCAPABLE);
  }
  assert_int_equal(MKDIR(w, 3, "../outside/newdir"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(UNLINK(w, 3, "../outside/secret"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(RENAME(w, 3, "../outside/secret", 3, "stolen"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(LINK(w, 3, 0, "../outside/secret", 3, "stolen"), KAFU_WASI_ENOTCAPABLE);
  touch(w, 3, "mine");
  assert_int_equal(RENAME(w, 3, "mine", 3, "../outside/new"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(popen_at(w, 3, 0, "../outside/new", KAFU_WASI_O_CREAT, RW, 0, 0, &fd),
                   KAFU_WASI_ENOTCAPABLE);
  /* "a/.." is the root itself: allowed */
  assert_int_equal(popen_at(w, 3, 0, "a/..", KAFU_WASI_O_DIRECTORY, 0, 0, 0, &fd), 0);
  kafu_wasi_fd_close(w, &M, fd);
  /* a subdirectory fd is its own sandbox: ".." out of it is refused */
  uint32_t sub;
  assert_int_equal(popen_at(w, 3, 0, "a", KAFU_WASI_O_DIRECTORY, KAFU_WASI_RIGHT_PATH_OPEN, 0, 0, &sub), 0);
  assert_int_equal(popen_at(w, sub, 0, "../mine", 0, 0, 0, 0, &fd), KAFU_WASI_ENOTCAPABLE);
  kafu_wasi_fd_close(w, &M, sub);
  assert_outside_untouched(f);
}

static void test_escape_symlinks(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->w;
  uint32_t fd;
  /* links planted on the host (the guest cannot create them itself) */
  assert_int_equal(MKDIR(w, 3, "sub"), 0);
  host_symlink(f, "/etc", "abs");
  host_symlink(f, "../outside", "rel");
  host_symlink(f, "../outside/secret", "relfile");
  host_symlink(f, "../outside/new", "dang");
  host_symlink(f, "sub/../../outside", "tricky");
  const char *bad[] = {"abs/passwd", "rel/secret", "relfile", "rel", "abs", "tricky/secret", "rel/"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(popen_at(w, 3, FOLLOW, bad[i], 0, KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd),
                     KAFU_WASI_ENOTCAPABLE);
    assert_int_equal(PSTAT(w, 3, FOLLOW, bad[i], NULL, NULL), KAFU_WASI_ENOTCAPABLE);
  }
  /* intermediate components are always followed, and refused */
  assert_int_equal(popen_at(w, 3, 0, "rel/secret", 0, KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd),
                   KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(PSTAT(w, 3, 0, "rel/secret", NULL, NULL), KAFU_WASI_ENOTCAPABLE);
  /* the link itself (not followed) may be inspected */
  uint8_t ft;
  assert_int_equal(PSTAT(w, 3, 0, "rel", &ft, NULL), 0);
  assert_int_equal(ft, KAFU_WASI_FILETYPE_SYMBOLIC_LINK);
  /* creating through a dangling link that points outside */
  assert_int_equal(popen_at(w, 3, FOLLOW, "dang", KAFU_WASI_O_CREAT, RW, 0, 0, &fd), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(popen_at(w, 3, 0, "dang", KAFU_WASI_O_CREAT, RW, 0, 0, &fd), KAFU_WASI_ELOOP);
  /* operations through a link to outside */
  assert_int_equal(MKDIR(w, 3, "rel/newdir"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(UNLINK(w, 3, "rel/secret"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(RMDIR(w, 3, "rel/"), KAFU_WASI_ENOTDIR); /* the link is not a directory; nothing removed */
  assert_int_equal(RENAME(w, 3, "rel/secret", 3, "stolen"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(LINK(w, 3, FOLLOW, "relfile", 3, "stolen"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(SYMLINK(w, "x", 3, "rel/newlink"), KAFU_WASI_ENOTCAPABLE);
  uint32_t l = put_str(A_PATH, "rel");
  assert_int_equal(kafu_wasi_path_filestat_set_times(w, &M, 3, FOLLOW, A_PATH, l, 0, 0, 2 | 8),
                   KAFU_WASI_ENOTCAPABLE);
  l = put_str(A_PATH, "rel/secret");
  assert_int_equal(kafu_wasi_path_readlink(w, &M, 3, A_PATH, l, A_BUF, 10, A_OUT), KAFU_WASI_ENOTCAPABLE);
  /* readlink of the link returns the stored target (no resolution) */
  l = put_str(A_PATH, "rel");
  assert_int_equal(kafu_wasi_path_readlink(w, &M, 3, A_PATH, l, A_BUF, 64, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), strlen("../outside"));
  assert_memory_equal(g_mem + A_BUF, "../outside", 10);
  /* removing the links themselves is fine and leaves the targets alone */
  assert_int_equal(UNLINK(w, 3, "rel"), 0);
  assert_int_equal(UNLINK(w, 3, "relfile"), 0);
  assert_outside_untouched(f);
}

static void test_escape_via_symlinked_dir(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->w;
  uint32_t fd;
  assert_int_equal(MKDIR(w, 3, "sub"), 0);
  assert_int_equal(MKDIR(w, 3, "sub/sub2"), 0);
  touch(w, 3, "top");
  assert_int_equal(SYMLINK(w, "sub/sub2", 3, "deep"), 0);
  /* deep/.. is sub (the kernel's view), not the root (the lexical view) */
  assert_int_equal(popen_at(w, 3, 0, "deep/../../top", 0, KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd), 0);
  kafu_wasi_fd_close(w, &M, fd);
  assert_int_equal(popen_at(w, 3, 0, "deep/../../../outside/secret", 0, KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd),
                   KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(PSTAT(w, 3, 0, "deep/../../..", NULL, NULL), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(MKDIR(w, 3, "deep/../../../outside/newdir"), KAFU_WASI_ENOTCAPABLE);
  /* a link whose target climbs out through a symlinked directory */
  host_symlink(f, "deep/../../../outside", "climb");
  assert_int_equal(popen_at(w, 3, FOLLOW, "climb/secret", 0, KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd),
                   KAFU_WASI_ENOTCAPABLE);
  assert_outside_untouched(f);
}

static void test_symlink_loops(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->w;
  uint32_t fd;
  assert_int_equal(SYMLINK(w, "self", 3, "self"), 0);
  assert_int_equal(SYMLINK(w, "l2", 3, "l1"), 0);
  assert_int_equal(SYMLINK(w, "l1", 3, "l2"), 0);
  assert_int_equal(popen_at(w, 3, 0, "self", 0, 0, 0, 0, &fd), KAFU_WASI_ELOOP);
  assert_int_equal(popen_at(w, 3, FOLLOW, "self", 0, 0, 0, 0, &fd), KAFU_WASI_ELOOP);
  assert_int_equal(popen_at(w, 3, FOLLOW, "l1", 0, 0, 0, 0, &fd), KAFU_WASI_ELOOP);
  assert_int_equal(popen_at(w, 3, 0, "l1/x", 0, 0, 0, 0, &fd), KAFU_WASI_ELOOP);
  assert_int_equal(PSTAT(w, 3, FOLLOW, "l2", NULL, NULL), KAFU_WASI_ELOOP);
  assert_int_equal(MKDIR(w, 3, "l1/x"), KAFU_WASI_ELOOP);
  uint8_t ft;
  assert_int_equal(PSTAT(w, 3, 0, "self", &ft, NULL), 0);
  assert_int_equal(ft, KAFU_WASI_FILETYPE_SYMBOLIC_LINK);
  assert_int_equal(UNLINK(w, 3, "self"), 0);
}

static void test_symlink_creation_checks(void **state) {
  fx *f = *state;
  kafu_wasi *w = f->w;
  assert_int_equal(SYMLINK(w, "/etc/passwd", 3, "a1"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(SYMLINK(w, "/", 3, "a2"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(SYMLINK(w, "..", 3, "a3"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(SYMLINK(w, "../outside/secret", 3, "a4"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(SYMLINK(w, "sub/../../x", 3, "a5"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(MKDIR(w, 3, "sub"), 0);
  assert_int_equal(SYMLINK(w, "../../outside", 3, "sub/a6"), KAFU_WASI_ENOTCAPABLE);
  /* no ".." at all: a lexical count can be fooled by a component that is (or
   * later becomes) a symlink to "." — `up -> .` then `esc -> up/..` pointed
   * above the preopen for host programs (review finding) */
  assert_int_equal(SYMLINK(w, "../top", 3, "sub/a7"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(SYMLINK(w, "sub/./x/..", 3, "a8"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(SYMLINK(w, ".", 3, "up"), 0);
  assert_int_equal(SYMLINK(w, "up/..", 3, "a9"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(SYMLINK(w, "up/up/up/../../../etc", 3, "a10"), KAFU_WASI_ENOTCAPABLE);
  assert_false(host_exists(f->dir, "a8") || host_exists(f->dir, "a9") || host_exists(f->dir, "a10"));
  /* links that only descend are fine, dangling or not */
  assert_int_equal(SYMLINK(w, "sub/./x", 3, "ok2"), 0);
  assert_int_equal(SYMLINK(w, "dangling-target", 3, "ok3"), 0);
  assert_int_equal(SYMLINK(w, "..x/y..", 3, "ok4"), 0);
  /* empty target and NUL */
  assert_int_equal(SYMLINK(w, "", 3, "e"), KAFU_WASI_ENOENT);
  memcpy(g_mem + A_PATH2, "a\0b", 3);
  put_str(A_PATH, "nul");
  assert_int_equal(kafu_wasi_path_symlink(w, &M, A_PATH2, 3, 3, A_PATH, 3), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_path_symlink(w, &M, MEM_SIZE - 1, 3, 3, A_PATH, 3), KAFU_WASI_EFAULT);
  for (int i = 1; i <= 5; i++) {
    char nm[8];
    snprintf(nm, sizeof nm, "a%d", i);
    assert_false(host_exists(f->dir, nm));
  }
}

#define BOTH(t)                                                \
  cmocka_unit_test_setup_teardown(t, setup_openat2, teardown), \
      cmocka_unit_test_setup_teardown(t, setup_walk, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      BOTH(test_open),
      BOTH(test_dirs_and_unlink),
      BOTH(test_rename),
      BOTH(test_links_and_stat),
      BOTH(test_escape_dotdot_and_absolute),
      BOTH(test_escape_symlinks),
      BOTH(test_escape_via_symlinked_dir),
      BOTH(test_symlink_loops),
      BOTH(test_symlink_creation_checks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
