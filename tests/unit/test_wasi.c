/*
 * test_wasi.c — WASI host: context, args/environ, clocks, random, proc, the
 * fd_* calls (success and error paths), poll_oneoff and sockets, all called
 * directly with a fake linear memory.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "kafu/hostmod.h"
#include "test_wasi_common.h"

/* ---- context -------------------------------------------------------------- */

static void test_new_defaults(void **state) {
  (void)state;
  kafu_wasi *w = NULL;
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_new(NULL, &w, &err), 0);
  /* stdio present, nothing at 3 */
  assert_int_equal(kafu_wasi_fd_fdstat_get(w, &M, 0, A_OUT), 0);
  assert_int_equal(kafu_wasi_fd_fdstat_get(w, &M, 1, A_OUT), 0);
  assert_int_equal(kafu_wasi_fd_fdstat_get(w, &M, 2, A_OUT), 0);
  assert_int_equal(kafu_wasi_fd_fdstat_get(w, &M, 3, A_OUT), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_prestat_get(w, &M, 3, A_OUT), KAFU_WASI_EBADF);
  kafu_wasi_free(w);
  kafu_wasi_free(NULL);
}

static void test_new_missing_preopen(void **state) {
  (void)state;
  kafu_preopen po = {"/nonexistent/kafu-dir-xyz", "/data"};
  kafu_wasi_config cfg = {.preopens = &po, .npreopens = 1};
  kafu_wasi *w = NULL;
  kafu_err err = {0};
  assert_true(kafu_wasi_new(&cfg, &w, &err) < 0);
  assert_null(w);
  assert_non_null(strstr(err.msg, "/nonexistent/kafu-dir-xyz"));
  /* a file is not a directory */
  char *d = make_tmpdir();
  write_host_file(d, "f", "x");
  char fp[4096];
  snprintf(fp, sizeof fp, "%s/f", d);
  po.host_path = fp;
  assert_true(kafu_wasi_new(&cfg, &w, &err) < 0);
  assert_non_null(strstr(err.msg, "not a directory"));
  /* bad environment entry */
  char *env[] = {"NOEQUALS"};
  kafu_wasi_config c2 = {.envc = 1, .envp = env};
  assert_true(kafu_wasi_new(&c2, &w, &err) < 0);
  assert_non_null(strstr(err.msg, "NOEQUALS"));
  /* listening "socket" that is not a socket */
  int notsock = open(fp, O_RDONLY);
  kafu_wasi_config c3 = {.listen_fds = &notsock, .nlisten_fds = 1};
  assert_true(kafu_wasi_new(&c3, &w, &err) < 0);
  close(notsock);
  rm_rf(d);
  free(d);
}

static void test_stdio_absent(void **state) {
  (void)state;
  kafu_wasi_config cfg = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
  kafu_wasi *w = NULL;
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_new(&cfg, &w, &err), 0);
  assert_int_equal(wr(w, 1, "x", NULL), KAFU_WASI_EBADF);
  kafu_wasi_free(w);
}

/* ---- args / environ ------------------------------------------------------- */

static void test_args_env(void **state) {
  (void)state;
  char *argv[] = {"prog.wasm", "a b", ""};
  char *envp[] = {"A=1", "EMPTY="};
  kafu_wasi_config cfg = {.argc = 3, .argv = argv, .envc = 2, .envp = envp};
  kafu_wasi *w = NULL;
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_new(&cfg, &w, &err), 0);
  assert_int_equal(kafu_wasi_args_sizes_get(w, &M, A_OUT, A_OUT + 4), 0);
  assert_int_equal(ld32(A_OUT), 3);
  assert_int_equal(ld32(A_OUT + 4), strlen("prog.wasm") + 1 + 4 + 1);
  assert_int_equal(kafu_wasi_args_get(w, &M, A_OUT, A_BUF), 0);
  assert_string_equal((char *)g_mem + ld32(A_OUT), "prog.wasm");
  assert_string_equal((char *)g_mem + ld32(A_OUT + 4), "a b");
  assert_string_equal((char *)g_mem + ld32(A_OUT + 8), "");
  assert_int_equal(kafu_wasi_environ_sizes_get(w, &M, A_OUT, A_OUT + 4), 0);
  assert_int_equal(ld32(A_OUT), 2);
  assert_int_equal(ld32(A_OUT + 4), 4 + 7);
  assert_int_equal(kafu_wasi_environ_get(w, &M, A_OUT, A_BUF), 0);
  assert_string_equal((char *)g_mem + ld32(A_OUT), "A=1");
  assert_string_equal((char *)g_mem + ld32(A_OUT + 4), "EMPTY=");
  /* out of range pointers */
  assert_int_equal(kafu_wasi_args_get(w, &M, MEM_SIZE - 4, A_BUF), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_args_get(w, &M, A_OUT, MEM_SIZE - 3), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_args_sizes_get(w, &M, MEM_SIZE - 2, A_OUT), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_environ_get(w, &M, 0xFFFFFFFFu, A_BUF), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_environ_sizes_get(w, &M, A_OUT, 0xFFFFFFFEu), KAFU_WASI_EFAULT);
  kafu_wasi_free(w);
}

/* ---- clocks, random, proc ------------------------------------------------- */

static void test_clocks(void **state) {
  (void)state;
  kafu_wasi *w = NULL;
  assert_int_equal(kafu_wasi_new(NULL, &w, NULL), 0);
  for (uint32_t id = 0; id < 4; id++) {
    assert_int_equal(kafu_wasi_clock_res_get(w, &M, id, A_OUT), 0);
    assert_true(ld64(A_OUT) > 0);
    assert_int_equal(kafu_wasi_clock_time_get(w, &M, id, 0, A_OUT), 0);
  }
  assert_int_equal(kafu_wasi_clock_time_get(w, &M, 0, 1, A_OUT), 0);
  assert_true(ld64(A_OUT) > 1600000000ull * 1000000000ull);
  assert_int_equal(kafu_wasi_clock_res_get(w, &M, 4, A_OUT), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_clock_time_get(w, &M, 99, 0, A_OUT), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_clock_time_get(w, &M, 1, 0, MEM_SIZE - 7), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_clock_res_get(w, &M, 1, MEM_SIZE), KAFU_WASI_EFAULT);
  /* monotonic continuity after a migration: resume from a later saved value */
  assert_int_equal(kafu_wasi_clock_time_get(w, &M, 1, 0, A_OUT), 0);
  uint64_t t0 = ld64(A_OUT);
  uint64_t saved = t0 + 1000000000000ull; /* the source node was 1000 s ahead */
  kafu_wasi_monotonic_resume(w, saved);
  assert_int_equal(kafu_wasi_clock_time_get(w, &M, 1, 0, A_OUT), 0);
  assert_true(ld64(A_OUT) >= saved);
  assert_true(kafu_wasi_monotonic_now(w) >= saved);
  kafu_wasi_monotonic_resume(w, 5); /* never moves backwards */
  assert_true(kafu_wasi_monotonic_now(w) >= saved);
  /* the process CPU-time clock (2) likewise */
  assert_int_equal(kafu_wasi_clock_time_get(w, &M, 2, 0, A_OUT), 0);
  saved = ld64(A_OUT) + 300000000000ull; /* the source node's process had used 300 s more */
  kafu_wasi_cputime_resume(w, saved);
  assert_int_equal(kafu_wasi_clock_time_get(w, &M, 2, 0, A_OUT), 0);
  assert_true(ld64(A_OUT) >= saved);
  kafu_wasi_cputime_resume(w, 5);
  assert_true(kafu_wasi_cputime_now(w) >= saved);
  kafu_wasi_free(w);
}

static void test_random(void **state) {
  (void)state;
  kafu_wasi *w = NULL;
  assert_int_equal(kafu_wasi_new(NULL, &w, NULL), 0);
  memset(g_mem + A_BUF, 0, 4096);
  assert_int_equal(kafu_wasi_random_get(w, &M, A_BUF, 4096), 0);
  int nonzero = 0;
  for (int i = 0; i < 4096; i++) nonzero += g_mem[A_BUF + i] != 0;
  assert_true(nonzero > 3000);
  assert_int_equal(kafu_wasi_random_get(w, &M, A_BUF, 0), 0);
  assert_int_equal(kafu_wasi_random_get(w, &M, MEM_SIZE, 0), 0);
  assert_int_equal(kafu_wasi_random_get(w, &M, MEM_SIZE - 10, 11), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_random_get(w, &M, 0xFFFFFFF0u, 0x20), KAFU_WASI_EFAULT);
  kafu_wasi_free(w);
}

static jmp_buf g_jb;
static void exit_hook(void *ctx, uint32_t code) {
  *(uint32_t *)ctx = code;
  longjmp(g_jb, 1);
}

static void test_proc(void **state) {
  (void)state;
  kafu_wasi *w = NULL;
  assert_int_equal(kafu_wasi_new(NULL, &w, NULL), 0);
  uint32_t code = 0;
  assert_false(kafu_wasi_exited(w, &code));
  kafu_wasi_proc_exit(w, &M, 7); /* no hook: records and returns */
  assert_true(kafu_wasi_exited(w, &code));
  assert_int_equal(code, 7);
  uint32_t seen = 0;
  kafu_wasi_set_exit_hook(w, exit_hook, &seen);
  if (setjmp(g_jb) == 0) {
    kafu_wasi_proc_exit(w, &M, 42);
    fail_msg("exit hook returned");
  }
  assert_int_equal(seen, 42);
  assert_true(kafu_wasi_exited(w, &code));
  assert_int_equal(code, 42);
  assert_int_equal(kafu_wasi_sched_yield(w, &M), 0);
  assert_int_equal(kafu_wasi_proc_raise(w, &M, 9), KAFU_WASI_ENOSYS);
  kafu_wasi_free(w);
}

/* the WASI host as a host module: every X-macro entry, in order, with its
 * handler and signature; proc_exit (no result) is the one that exits */
static void test_import_table(void **state) {
  (void)state;
  const kafu_hostmod *hm = &kafu_hostmod_wasi;
  assert_string_equal(hm->name, "wasi_snapshot_preview1");
  assert_int_equal(hm->ctx, KAFU_HOSTCTX_WASI);
  assert_true(hm->ctx_required);
  size_t i = 0;
#define CHECK(fn_, p_, r_)                                             \
  assert_true(i < hm->nfns);                                           \
  assert_string_equal(hm->fns[i].name, #fn_);                          \
  assert_string_equal(hm->fns[i].params, p_);                          \
  assert_string_equal(hm->fns[i].results, (r_) == 'v' ? "" : "i");     \
  assert_ptr_equal(hm->fns[i].fn, (const void *)kafu_wasi_##fn_);      \
  assert_int_equal(hm->fns[i].flags != 0, !strcmp(#fn_, "proc_exit")); \
  i++;
  KAFU_WASI_FUNCS(CHECK)
  assert_int_equal(i, hm->nfns);
}

/* ---- fd_* ----------------------------------------------------------------- */

typedef struct fx {
  char *dir;
  kafu_wasi *w;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = make_tmpdir();
  f->w = new_ctx(f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  kafu_wasi_free(f->w);
  rm_rf(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

static void test_prestat(void **state) {
  fx *f = *state;
  assert_int_equal(kafu_wasi_fd_prestat_get(f->w, &M, 3, A_OUT), 0);
  assert_int_equal(g_mem[A_OUT], 0);
  assert_int_equal(ld32(A_OUT + 4), 1);
  assert_int_equal(kafu_wasi_fd_prestat_dir_name(f->w, &M, 3, A_BUF, 1), 0);
  assert_int_equal(g_mem[A_BUF], '/');
  assert_int_equal(kafu_wasi_fd_prestat_dir_name(f->w, &M, 3, A_BUF, 0), KAFU_WASI_ENAMETOOLONG);
  assert_int_equal(kafu_wasi_fd_prestat_dir_name(f->w, &M, 3, MEM_SIZE, 4), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_fd_prestat_get(f->w, &M, 3, MEM_SIZE - 4), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_fd_prestat_get(f->w, &M, 1, A_OUT), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_prestat_get(f->w, &M, 4, A_OUT), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_prestat_dir_name(f->w, &M, 9, A_BUF, 10), KAFU_WASI_EBADF);
  /* the preopen carries directory rights, and file rights to inherit */
  assert_int_equal(kafu_wasi_fd_fdstat_get(f->w, &M, 3, A_OUT), 0);
  assert_int_equal(g_mem[A_OUT], KAFU_WASI_FILETYPE_DIRECTORY);
  uint64_t base = ld64(A_OUT + 8), inh = ld64(A_OUT + 16);
  assert_true(base & KAFU_WASI_RIGHT_PATH_OPEN);
  assert_false(base & KAFU_WASI_RIGHT_FD_READ);
  assert_false(base & KAFU_WASI_RIGHT_FD_FILESTAT_SET_SIZE);
  assert_true(inh & KAFU_WASI_RIGHT_FD_WRITE);
}

static void test_read_write_seek(void **state) {
  fx *f = *state;
  uint32_t fd, n, rc;
  assert_int_equal(popen_at(f->w, 3, 0, "f.txt", KAFU_WASI_O_CREAT, RW, 0, 0, &fd), 0);
  assert_true(fd > 3);
  assert_int_equal(wr(f->w, fd, "hello world", &n), 0);
  assert_int_equal(n, 11);
  assert_int_equal(kafu_wasi_fd_tell(f->w, &M, fd, A_OUT), 0);
  assert_int_equal(ld64(A_OUT), 11);
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, fd, 6, 0, A_OUT), 0);
  assert_int_equal(ld64(A_OUT), 6);
  assert_string_equal(rd(f->w, fd, 100, &rc), "world");
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, fd, (uint64_t)-5, 2, A_OUT), 0);
  assert_int_equal(ld64(A_OUT), 6);
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, fd, (uint64_t)-1, 1, A_OUT), 0);
  assert_int_equal(ld64(A_OUT), 5);
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, fd, (uint64_t)-100, 1, A_OUT), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, fd, 0, 3, A_OUT), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, fd, 0, 0, MEM_SIZE - 4), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_fd_tell(f->w, &M, fd, MEM_SIZE), KAFU_WASI_EFAULT);
  /* multiple iovecs, one of zero length at the very end of memory */
  put_str(A_BUF, "abc");
  put_str(A_BUF + 100, "def");
  st32(A_IOV, A_BUF);
  st32(A_IOV + 4, 3);
  st32(A_IOV + 8, MEM_SIZE);
  st32(A_IOV + 12, 0);
  st32(A_IOV + 16, A_BUF + 100);
  st32(A_IOV + 20, 3);
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, fd, 0, 2, A_OUT), 0);
  assert_int_equal(kafu_wasi_fd_write(f->w, &M, fd, A_IOV, 3, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 6);
  /* pread / pwrite do not move the offset */
  st32(A_IOV, A_BUF);
  st32(A_IOV + 4, 5);
  assert_int_equal(kafu_wasi_fd_pread(f->w, &M, fd, A_IOV, 1, 0, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 5);
  assert_memory_equal(g_mem + A_BUF, "hello", 5);
  put_str(A_BUF, "HELLO");
  assert_int_equal(kafu_wasi_fd_pwrite(f->w, &M, fd, A_IOV, 1, 0, A_OUT), 0);
  assert_int_equal(kafu_wasi_fd_tell(f->w, &M, fd, A_OUT), 0);
  assert_int_equal(ld64(A_OUT), 17);
  assert_int_equal(kafu_wasi_fd_pread(f->w, &M, fd, A_IOV, 1, 11, A_OUT), 0);
  assert_memory_equal(g_mem + A_BUF, "abcde", 5);
  assert_int_equal(kafu_wasi_fd_pread(f->w, &M, fd, A_IOV, 1, 1ull << 63, A_OUT), KAFU_WASI_EINVAL);
  /* bad iovecs */
  st32(A_IOV, MEM_SIZE - 2);
  st32(A_IOV + 4, 3);
  assert_int_equal(kafu_wasi_fd_write(f->w, &M, fd, A_IOV, 1, A_OUT), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_fd_read(f->w, &M, fd, A_IOV, 1, A_OUT), KAFU_WASI_EFAULT);
  st32(A_IOV, 0xFFFFFFFFu);
  st32(A_IOV + 4, 0xFFFFFFFFu);
  assert_int_equal(kafu_wasi_fd_pread(f->w, &M, fd, A_IOV, 1, 0, A_OUT), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_fd_pwrite(f->w, &M, fd, A_IOV, 1, 0, A_OUT), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_fd_write(f->w, &M, fd, MEM_SIZE - 4, 1, A_OUT), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_fd_write(f->w, &M, fd, A_IOV, 0x20000000u, A_OUT), KAFU_WASI_EFAULT);
  st32(A_IOV, A_BUF);
  st32(A_IOV + 4, 1);
  assert_int_equal(kafu_wasi_fd_write(f->w, &M, fd, A_IOV, 1, MEM_SIZE - 1), KAFU_WASI_EFAULT);
  /* bad fd */
  assert_int_equal(wr(f->w, 77, "x", NULL), KAFU_WASI_EBADF);
  assert_null(rd(f->w, 77, 1, &rc));
  assert_int_equal(rc, KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, 77, 0, 0, A_OUT), KAFU_WASI_EBADF);
  /* directory: no read/write/seek rights */
  assert_null(rd(f->w, 3, 1, &rc));
  assert_int_equal(rc, KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(wr(f->w, 3, "x", NULL), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, 3, 0, 1, A_OUT), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_tell(f->w, &M, 3, A_OUT), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_close(f->w, &M, fd), 0);
  assert_int_equal(kafu_wasi_fd_close(f->w, &M, fd), KAFU_WASI_EBADF);
}

static void test_rights(void **state) {
  fx *f = *state;
  uint32_t fd, rc;
  /* read-only fd cannot write, write-only cannot read */
  assert_int_equal(popen_at(f->w, 3, 0, "r", KAFU_WASI_O_CREAT, KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd), 0);
  assert_int_equal(wr(f->w, fd, "x", NULL), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_fdstat_get(f->w, &M, fd, A_OUT), 0);
  assert_int_equal(ld64(A_OUT + 8), KAFU_WASI_RIGHT_FD_READ);
  assert_int_equal(kafu_wasi_fd_close(f->w, &M, fd), 0);
  assert_int_equal(popen_at(f->w, 3, 0, "r", 0, KAFU_WASI_RIGHT_FD_WRITE, 0, 0, &fd), 0);
  assert_null(rd(f->w, fd, 4, &rc));
  assert_int_equal(rc, KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(wr(f->w, fd, "xy", NULL), 0);
  /* narrowing works, widening does not */
  assert_int_equal(kafu_wasi_fd_fdstat_set_rights(f->w, &M, fd, 0, 0), 0);
  assert_int_equal(wr(f->w, fd, "x", NULL), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_fdstat_set_rights(f->w, &M, fd, KAFU_WASI_RIGHT_FD_WRITE, 0),
                   KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_fdstat_set_rights(f->w, &M, 99, 0, 0), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_close(f->w, &M, fd), 0);
  /* a directory whose inheriting rights lack FD_WRITE cannot hand it out */
  uint32_t dfd;
  assert_int_equal(MKDIR(f->w, 3, "d"), 0);
  assert_int_equal(
      popen_at(f->w, 3, 0, "d", KAFU_WASI_O_DIRECTORY,
               KAFU_WASI_RIGHT_PATH_OPEN | KAFU_WASI_RIGHT_PATH_CREATE_FILE | KAFU_WASI_RIGHT_FD_SEEK,
               KAFU_WASI_RIGHT_FD_READ, 0, &dfd),
      0);
  assert_int_equal(kafu_wasi_fd_fdstat_get(f->w, &M, dfd, A_OUT), 0);
  assert_false(ld64(A_OUT + 8) & KAFU_WASI_RIGHT_FD_SEEK); /* not a directory right */
  assert_int_equal(popen_at(f->w, dfd, 0, "x", KAFU_WASI_O_CREAT, KAFU_WASI_RIGHT_FD_WRITE, 0, 0, &fd),
                   KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(popen_at(f->w, dfd, 0, "x", KAFU_WASI_O_CREAT, KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd), 0);
  assert_int_equal(kafu_wasi_fd_close(f->w, &M, fd), 0);
  /* no PATH_FILESTAT_SET_SIZE: no O_TRUNC; no PATH_CREATE_DIRECTORY: no mkdir */
  assert_int_equal(popen_at(f->w, dfd, 0, "x", KAFU_WASI_O_TRUNC, 0, 0, 0, &fd), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(MKDIR(f->w, dfd, "sub"), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_close(f->w, &M, dfd), 0);
}

static void test_fdstat_flags(void **state) {
  fx *f = *state;
  uint32_t fd;
  assert_int_equal(popen_at(f->w, 3, 0, "a", KAFU_WASI_O_CREAT, RW | KAFU_WASI_RIGHT_FD_FDSTAT_SET_FLAGS, 0,
                            KAFU_WASI_FDFLAG_APPEND, &fd),
                   0);
  assert_int_equal(kafu_wasi_fd_fdstat_get(f->w, &M, fd, A_OUT), 0);
  assert_int_equal(g_mem[A_OUT], KAFU_WASI_FILETYPE_REGULAR_FILE);
  assert_int_equal(g_mem[A_OUT + 2], KAFU_WASI_FDFLAG_APPEND);
  assert_int_equal(wr(f->w, fd, "12345", NULL), 0);
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, fd, 0, 0, A_OUT), 0);
  assert_int_equal(wr(f->w, fd, "67", NULL), 0); /* appended */
  assert_int_equal(kafu_wasi_fd_tell(f->w, &M, fd, A_OUT), 0);
  assert_int_equal(ld64(A_OUT), 7);
  assert_int_equal(kafu_wasi_fd_fdstat_set_flags(f->w, &M, fd, 0), 0);
  assert_int_equal(kafu_wasi_fd_seek(f->w, &M, fd, 0, 0, A_OUT), 0);
  assert_int_equal(wr(f->w, fd, "X", NULL), 0); /* overwrites */
  assert_int_equal(kafu_wasi_fd_pread(f->w, &M, fd, A_IOV, 1, 0, A_OUT), 0);
  assert_int_equal(g_mem[A_BUF], 'X');
  assert_int_equal(kafu_wasi_fd_fdstat_set_flags(f->w, &M, fd, KAFU_WASI_FDFLAG_NONBLOCK), 0);
  assert_int_equal(kafu_wasi_fd_fdstat_get(f->w, &M, fd, A_OUT), 0);
  assert_int_equal(g_mem[A_OUT + 2], KAFU_WASI_FDFLAG_NONBLOCK);
  assert_int_equal(kafu_wasi_fd_fdstat_set_flags(f->w, &M, fd, KAFU_WASI_FDFLAG_SYNC), KAFU_WASI_ENOTSUP);
  assert_int_equal(kafu_wasi_fd_fdstat_set_flags(f->w, &M, fd, 0x100), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_fd_fdstat_get(f->w, &M, fd, MEM_SIZE - 8), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_fd_fdstat_get(f->w, &M, 123, A_OUT), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_fdstat_set_flags(f->w, &M, 123, 0), KAFU_WASI_EBADF);
  kafu_wasi_fd_fdstat_set_rights(f->w, &M, fd, RW, 0);
  assert_int_equal(kafu_wasi_fd_fdstat_set_flags(f->w, &M, fd, 0), KAFU_WASI_ENOTCAPABLE);
  kafu_wasi_fd_close(f->w, &M, fd);
}

static void test_filestat(void **state) {
  fx *f = *state;
  uint32_t fd;
  uint64_t r = RW | KAFU_WASI_RIGHT_FD_FILESTAT_GET | KAFU_WASI_RIGHT_FD_FILESTAT_SET_SIZE |
               KAFU_WASI_RIGHT_FD_FILESTAT_SET_TIMES | KAFU_WASI_RIGHT_FD_ADVISE |
               KAFU_WASI_RIGHT_FD_ALLOCATE | KAFU_WASI_RIGHT_FD_SYNC | KAFU_WASI_RIGHT_FD_DATASYNC;
  assert_int_equal(popen_at(f->w, 3, 0, "s", KAFU_WASI_O_CREAT, r, 0, 0, &fd), 0);
  assert_int_equal(kafu_wasi_fd_filestat_get(f->w, &M, fd, A_OUT), 0);
  assert_int_equal(g_mem[A_OUT + 16], KAFU_WASI_FILETYPE_REGULAR_FILE);
  assert_int_equal(ld64(A_OUT + 32), 0);
  assert_int_equal(ld64(A_OUT + 24), 1); /* nlink */
  assert_int_equal(kafu_wasi_fd_filestat_set_size(f->w, &M, fd, 100), 0);
  assert_int_equal(kafu_wasi_fd_filestat_get(f->w, &M, fd, A_OUT), 0);
  assert_int_equal(ld64(A_OUT + 32), 100);
  uint64_t mt = ld64(A_OUT + 48) - 12345, at = ld64(A_OUT + 40);
  assert_int_equal(kafu_wasi_fd_filestat_set_times(f->w, &M, fd, 0, mt, 4 /* MTIM */), 0);
  assert_int_equal(kafu_wasi_fd_filestat_get(f->w, &M, fd, A_OUT), 0);
  assert_int_equal(ld64(A_OUT + 48), mt);
  assert_int_equal(ld64(A_OUT + 40), at);
  assert_int_equal(kafu_wasi_fd_filestat_set_times(f->w, &M, fd, 1, 0, 1 | 2), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_fd_filestat_set_times(f->w, &M, fd, 0, 1, 4 | 8), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_fd_filestat_set_times(f->w, &M, fd, 0, 0, 16), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_fd_filestat_set_times(f->w, &M, fd, 0, 0, 2 | 8), 0);
  assert_int_equal(kafu_wasi_fd_filestat_set_size(f->w, &M, fd, 1ull << 63), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_fd_filestat_get(f->w, &M, fd, MEM_SIZE - 63), KAFU_WASI_EFAULT);
  /* advise, allocate, sync */
  assert_int_equal(kafu_wasi_fd_advise(f->w, &M, fd, 0, 10, 0), 0);
  assert_int_equal(kafu_wasi_fd_advise(f->w, &M, fd, 0, 10, 6), KAFU_WASI_EINVAL);
  uint32_t arc = kafu_wasi_fd_allocate(f->w, &M, fd, 100, 50);
  if (arc == 0) {
    assert_int_equal(kafu_wasi_fd_filestat_get(f->w, &M, fd, A_OUT), 0);
    assert_int_equal(ld64(A_OUT + 32), 150);
    assert_int_equal(kafu_wasi_fd_allocate(f->w, &M, fd, 0, 10), 0); /* never shrinks */
    assert_int_equal(kafu_wasi_fd_filestat_get(f->w, &M, fd, A_OUT), 0);
    assert_int_equal(ld64(A_OUT + 32), 150);
  } else {
    assert_int_equal(arc, KAFU_WASI_ENOTSUP);
  }
  assert_int_equal(kafu_wasi_fd_allocate(f->w, &M, fd, 1ull << 63, 1), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_fd_sync(f->w, &M, fd), 0);
  assert_int_equal(kafu_wasi_fd_datasync(f->w, &M, fd), 0);
  /* without rights */
  kafu_wasi_fd_fdstat_set_rights(f->w, &M, fd, KAFU_WASI_RIGHT_FD_READ, 0);
  assert_int_equal(kafu_wasi_fd_filestat_get(f->w, &M, fd, A_OUT), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_filestat_set_size(f->w, &M, fd, 1), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_filestat_set_times(f->w, &M, fd, 0, 0, 2), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_advise(f->w, &M, fd, 0, 0, 0), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_allocate(f->w, &M, fd, 0, 1), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_sync(f->w, &M, fd), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_datasync(f->w, &M, fd), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_sync(f->w, &M, 99), KAFU_WASI_EBADF);
  /* directory: stat works, size does not */
  assert_int_equal(kafu_wasi_fd_filestat_get(f->w, &M, 3, A_OUT), 0);
  assert_int_equal(g_mem[A_OUT + 16], KAFU_WASI_FILETYPE_DIRECTORY);
  assert_int_equal(kafu_wasi_fd_filestat_set_size(f->w, &M, 3, 0), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_fd_allocate(f->w, &M, 3, 0, 1), KAFU_WASI_ENOTCAPABLE);
  kafu_wasi_fd_close(f->w, &M, fd);
}

/* parse fd_readdir output into names; returns count, sets d_next of entries */
static int parse_dirents(uint32_t used, char names[][64], uint64_t *nexts, uint8_t *types) {
  int n = 0;
  uint32_t off = 0;
  while (off + 24 <= used) {
    uint32_t nl = ld32(A_BUF + off + 16);
    if (off + 24 + nl > used) break;
    nexts[n] = ld64(A_BUF + off);
    types[n] = g_mem[A_BUF + off + 20];
    memcpy(names[n], g_mem + A_BUF + off + 24, nl);
    names[n][nl] = 0;
    n++;
    off += 24 + nl;
  }
  return n;
}

static void test_readdir(void **state) {
  fx *f = *state;
  char names[300][64];
  uint64_t nexts[300];
  uint8_t types[300];
  assert_int_equal(kafu_wasi_fd_readdir(f->w, &M, 3, A_BUF, 4096, 0, A_OUT), 0);
  int n = parse_dirents(ld32(A_OUT), names, nexts, types);
  assert_int_equal(n, 2);
  assert_string_equal(names[0], ".");
  assert_string_equal(names[1], "..");
  assert_int_equal(types[0], KAFU_WASI_FILETYPE_DIRECTORY);
  for (int i = 0; i < 50; i++) {
    char nm[32];
    snprintf(nm, sizeof nm, "file%02d", i);
    write_host_file(f->dir, nm, "x");
  }
  assert_int_equal(MKDIR(f->w, 3, "zdir"), 0);
  /* read with a small buffer, following d_next cookies */
  uint64_t cookie = 0;
  int total = 0, files = 0, dirs = 0;
  for (int round = 0; round < 200; round++) {
    assert_int_equal(kafu_wasi_fd_readdir(f->w, &M, 3, A_BUF, 128, cookie, A_OUT), 0);
    uint32_t used = ld32(A_OUT);
    n = parse_dirents(used, names, nexts, types);
    for (int i = 0; i < n; i++) {
      if (types[i] == KAFU_WASI_FILETYPE_REGULAR_FILE) files++;
      if (types[i] == KAFU_WASI_FILETYPE_DIRECTORY) dirs++;
    }
    total += n;
    if (used < 128) break;
    assert_true(n > 0);
    cookie = nexts[n - 1];
  }
  assert_int_equal(total, 53);
  assert_int_equal(files, 50);
  assert_int_equal(dirs, 3);
  /* a cookie past the end yields nothing; a tiny buffer is filled completely */
  assert_int_equal(kafu_wasi_fd_readdir(f->w, &M, 3, A_BUF, 4096, 1000, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 0);
  assert_int_equal(kafu_wasi_fd_readdir(f->w, &M, 3, A_BUF, 10, 0, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 10);
  /* errors */
  assert_int_equal(kafu_wasi_fd_readdir(f->w, &M, 3, MEM_SIZE - 10, 128, 0, A_OUT), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_fd_readdir(f->w, &M, 3, A_BUF, 128, 0, MEM_SIZE), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_fd_readdir(f->w, &M, 44, A_BUF, 128, 0, A_OUT), KAFU_WASI_EBADF);
  uint32_t fd;
  assert_int_equal(
      popen_at(f->w, 3, 0, "file00", 0, KAFU_WASI_RIGHT_FD_READDIR | KAFU_WASI_RIGHT_FD_READ, 0, 0, &fd), 0);
  assert_int_equal(kafu_wasi_fd_readdir(f->w, &M, fd, A_BUF, 128, 0, A_OUT), KAFU_WASI_ENOTCAPABLE);
  kafu_wasi_fd_close(f->w, &M, fd);
}

static void test_renumber(void **state) {
  fx *f = *state;
  uint32_t a, b;
  assert_int_equal(popen_at(f->w, 3, 0, "a", KAFU_WASI_O_CREAT, RW, 0, 0, &a), 0);
  assert_int_equal(popen_at(f->w, 3, 0, "b", KAFU_WASI_O_CREAT, RW, 0, 0, &b), 0);
  assert_int_equal(wr(f->w, a, "from-a", NULL), 0);
  assert_int_equal(kafu_wasi_fd_renumber(f->w, &M, a, b), 0);
  assert_int_equal(kafu_wasi_fd_close(f->w, &M, a), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_tell(f->w, &M, b, A_OUT), 0);
  assert_int_equal(ld64(A_OUT), 6);                                         /* b is now a's file */
  assert_int_equal(kafu_wasi_fd_renumber(f->w, &M, b, a), KAFU_WASI_EBADF); /* a is closed */
  assert_int_equal(kafu_wasi_fd_renumber(f->w, &M, 99, b), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_renumber(f->w, &M, b, b), 0);
  /* stdio can be renumbered onto a file and the number is freed */
  assert_int_equal(kafu_wasi_fd_renumber(f->w, &M, 0, b), 0);
  assert_int_equal(kafu_wasi_fd_fdstat_get(f->w, &M, 0, A_OUT), KAFU_WASI_EBADF);
  /* lowest free number is reused */
  uint32_t c;
  assert_int_equal(popen_at(f->w, 3, 0, "c", KAFU_WASI_O_CREAT, RW, 0, 0, &c), 0);
  assert_int_equal(c, 0);
  kafu_wasi_fd_close(f->w, &M, c);
  kafu_wasi_fd_close(f->w, &M, b);
  /* the preopen itself can be closed */
  assert_int_equal(kafu_wasi_fd_close(f->w, &M, 3), 0);
  assert_int_equal(kafu_wasi_fd_prestat_get(f->w, &M, 3, A_OUT), KAFU_WASI_EBADF);
}

/* ---- poll_oneoff ---------------------------------------------------------- */

static void sub_clock(uint32_t at, uint64_t ud, uint32_t clock, uint64_t timeout, uint16_t flags) {
  memset(g_mem + at, 0, 48);
  memcpy(g_mem + at, &ud, 8);
  g_mem[at + 8] = 0;
  memcpy(g_mem + at + 16, &clock, 4);
  memcpy(g_mem + at + 24, &timeout, 8);
  memcpy(g_mem + at + 40, &flags, 2);
}

static void sub_fd(uint32_t at, uint64_t ud, uint8_t tag, uint32_t fd) {
  memset(g_mem + at, 0, 48);
  memcpy(g_mem + at, &ud, 8);
  g_mem[at + 8] = tag;
  memcpy(g_mem + at + 16, &fd, 4);
}

static uint64_t mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

#define A_SUBS 16384u
#define A_EVS 20480u

static void test_poll(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  kafu_wasi_config cfg = {.stdin_fd = p[0]};
  kafu_wasi *w = NULL;
  assert_int_equal(kafu_wasi_new(&cfg, &w, NULL), 0);
  /* clock only: sleeps about the timeout */
  sub_clock(A_SUBS, 11, 1, 30000000, 0);
  uint64_t t0 = mono();
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_SUBS, A_EVS, 1, A_OUT), 0);
  assert_true(mono() - t0 >= 30000000);
  assert_int_equal(ld32(A_OUT), 1);
  assert_int_equal(ld64(A_EVS), 11);
  assert_int_equal(g_mem[A_EVS + 10], 0);
  /* absolute realtime deadline in the past fires at once */
  sub_clock(A_SUBS, 12, 0, 1, 1);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_SUBS, A_EVS, 1, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 1);
  /* stdin (empty pipe) + clock: the clock wins */
  sub_clock(A_SUBS, 1, 1, 20000000, 0);
  sub_fd(A_SUBS + 48, 2, 1, 0);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_SUBS, A_EVS, 2, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 1);
  assert_int_equal(ld64(A_EVS), 1);
  /* data on stdin: the fd event comes with nbytes */
  assert_int_equal(write(p[1], "abc", 3), 3);
  sub_clock(A_SUBS, 1, 1, 5000000000ull, 0);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_SUBS, A_EVS, 2, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 1);
  assert_int_equal(ld64(A_EVS), 2);
  assert_int_equal(g_mem[A_EVS + 10], 1);
  assert_int_equal(ld64(A_EVS + 16), 3);
  /* stdout is writable; a bad fd produces an EBADF event; a bad tag EINVAL */
  sub_fd(A_SUBS, 5, 2, 1);
  sub_fd(A_SUBS + 48, 6, 1, 99);
  sub_fd(A_SUBS + 96, 7, 9, 1);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_SUBS, A_EVS, 3, A_OUT), 0);
  assert_true(ld32(A_OUT) >= 2);
  bool saw_badf = false, saw_inval = false;
  for (uint32_t i = 0; i < ld32(A_OUT); i++) {
    if (ld64(A_EVS + 32 * i) == 6) saw_badf = g_mem[A_EVS + 32 * i + 8] == KAFU_WASI_EBADF;
    if (ld64(A_EVS + 32 * i) == 7) saw_inval = g_mem[A_EVS + 32 * i + 8] == KAFU_WASI_EINVAL;
  }
  assert_true(saw_badf);
  assert_true(saw_inval);
  /* hang-up is reported */
  close(p[1]);
  char buf[8];
  assert_int_equal(read(p[0], buf, sizeof buf), 3);
  sub_fd(A_SUBS, 9, 1, 0);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_SUBS, A_EVS, 1, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 1);
  assert_int_equal(g_mem[A_EVS + 24] & 1, 1);
  /* errors */
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_SUBS, A_EVS, 0, A_OUT), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, MEM_SIZE - 40, A_EVS, 1, A_OUT), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_SUBS, MEM_SIZE - 31, 1, A_OUT), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_SUBS, A_EVS, 0x10000000u, A_OUT), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_poll_oneoff(w, &M, A_SUBS, A_EVS, 1, MEM_SIZE), KAFU_WASI_EFAULT);
  kafu_wasi_free(w);
  close(p[0]);
}

/* ---- sockets -------------------------------------------------------------- */

static void test_sockets(void **state) {
  (void)state;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(ls >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(ls, 4), 0);
  assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &al), 0);
  char *dir = make_tmpdir();
  kafu_preopen po = {dir, "/"};
  kafu_wasi_config cfg = {.preopens = &po, .npreopens = 1, .listen_fds = &ls, .nlisten_fds = 1};
  kafu_wasi *w = NULL;
  kafu_err err = {0};
  assert_int_equal(kafu_wasi_new(&cfg, &w, &err), 0);
  /* listening socket is fd 4 (after the preopen), not a preopen */
  assert_int_equal(kafu_wasi_fd_prestat_get(w, &M, 4, A_OUT), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_fd_fdstat_get(w, &M, 4, A_OUT), 0);
  assert_int_equal(g_mem[A_OUT], KAFU_WASI_FILETYPE_SOCKET_STREAM);
  /* no connection yet: a non-blocking listener says EAGAIN */
  assert_int_equal(kafu_wasi_fd_fdstat_set_flags(w, &M, 4, KAFU_WASI_FDFLAG_NONBLOCK), 0);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 4, 0, A_OUT), KAFU_WASI_EAGAIN);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 4, 0, A_OUT), 0);
  uint32_t s = ld32(A_OUT);
  assert_int_equal(send(c, "ping", 4, 0), 4);
  st32(A_IOV, A_BUF);
  st32(A_IOV + 4, 16);
  assert_int_equal(kafu_wasi_sock_recv(w, &M, s, A_IOV, 1, 0, A_OUT, A_OUT + 4), 0);
  assert_int_equal(ld32(A_OUT), 4);
  assert_memory_equal(g_mem + A_BUF, "ping", 4);
  put_str(A_BUF, "pong");
  st32(A_IOV + 4, 4);
  assert_int_equal(kafu_wasi_sock_send(w, &M, s, A_IOV, 1, 0, A_OUT), 0);
  assert_int_equal(ld32(A_OUT), 4);
  char buf[8] = {0};
  assert_int_equal(recv(c, buf, sizeof buf, 0), 4);
  assert_string_equal(buf, "pong");
  /* plain fd_read/fd_write work on sockets too */
  assert_int_equal(wr(w, s, "hi", NULL), 0);
  assert_int_equal(recv(c, buf, sizeof buf, 0), 2);
  /* errors */
  assert_int_equal(kafu_wasi_sock_send(w, &M, s, A_IOV, 1, 1, A_OUT), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_sock_recv(w, &M, s, A_IOV, 1, 4, A_OUT, A_OUT + 4), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_sock_recv(w, &M, s, MEM_SIZE - 4, 1, 0, A_OUT, A_OUT + 4), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_sock_send(w, &M, s, A_IOV, 1, 0, MEM_SIZE), KAFU_WASI_EFAULT);
  assert_int_equal(kafu_wasi_sock_shutdown(w, &M, s, 0), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_sock_shutdown(w, &M, s, 2), 0);
  assert_int_equal(recv(c, buf, sizeof buf, 0), 0); /* peer sees EOF */
  assert_int_equal(kafu_wasi_sock_shutdown(w, &M, 1, 3), KAFU_WASI_ENOTSOCK);
  assert_int_equal(kafu_wasi_sock_shutdown(w, &M, 3, 3), KAFU_WASI_ENOTSOCK);
  assert_int_equal(kafu_wasi_sock_shutdown(w, &M, 50, 3), KAFU_WASI_EBADF);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 1, 0, A_OUT), KAFU_WASI_ENOTSOCK);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 4, 1, A_OUT), KAFU_WASI_EINVAL);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, s, 0, A_OUT), KAFU_WASI_ENOTCAPABLE);
  assert_int_equal(kafu_wasi_sock_recv(w, &M, 2, A_IOV, 1, 0, A_OUT, A_OUT + 4), KAFU_WASI_ENOTSOCK);
  assert_int_equal(kafu_wasi_sock_send(w, &M, 66, A_IOV, 1, 0, A_OUT), KAFU_WASI_EBADF);
  /* writing to a closed peer gives EPIPE, not a SIGPIPE */
  close(c);
  uint32_t rc = 0;
  for (int i = 0; i < 50 && rc == 0; i++) rc = wr(w, s, "x", NULL);
  assert_true(rc == KAFU_WASI_EPIPE || rc == KAFU_WASI_ECONNRESET);
  /* snapshots: the listening socket re-binds, the connection cannot migrate */
  kafu_fd_entry *ents;
  size_t n;
  assert_int_equal(kafu_wasi_fd_export(w, &ents, &n, &err), 0);
  bool saw_listen = false;
  for (size_t i = 0; i < n; i++)
    if (ents[i].fd == 4) saw_listen = ents[i].kind == KAFU_FD_LISTEN && ents[i].index == 0;
  assert_true(saw_listen);
  assert_true(kafu_wasi_fd_restore(w, ents, n, &err) < 0);
  assert_non_null(strstr(err.msg, "socket"));
  char fdname[16];
  snprintf(fdname, sizeof fdname, "fd %u", s);
  assert_non_null(strstr(err.msg, fdname));
  kafu_wasi_fd_close(w, &M, s);
  kafu_fd_entries_free(ents, n);
  assert_int_equal(kafu_wasi_fd_export(w, &ents, &n, &err), 0);
  assert_int_equal(kafu_wasi_fd_restore(w, ents, n, &err), 0);
  assert_int_equal(kafu_wasi_sock_accept(w, &M, 4, 0, A_OUT),
                   KAFU_WASI_EAGAIN); /* same description: still non-blocking */
  kafu_fd_entries_free(ents, n);
  kafu_wasi_free(w);
  close(ls);
  rm_rf(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_defaults),
      cmocka_unit_test(test_new_missing_preopen),
      cmocka_unit_test(test_stdio_absent),
      cmocka_unit_test(test_args_env),
      cmocka_unit_test(test_clocks),
      cmocka_unit_test(test_random),
      cmocka_unit_test(test_proc),
      cmocka_unit_test(test_import_table),
      cmocka_unit_test_setup_teardown(test_prestat, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_write_seek, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rights, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fdstat_flags, setup, teardown),
      cmocka_unit_test_setup_teardown(test_filestat, setup, teardown),
      cmocka_unit_test_setup_teardown(test_readdir, setup, teardown),
      cmocka_unit_test_setup_teardown(test_renumber, setup, teardown),
      cmocka_unit_test(test_poll),
      cmocka_unit_test(test_sockets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
