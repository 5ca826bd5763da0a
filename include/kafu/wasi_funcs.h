/*
 * wasi_funcs.h — the WASI preview1 import list, as an X-macro, shared by the
 * WASI host (src/wasi) and the engine's glue generator (src/engine).
 *
 *   X(name, params, result)
 *     name    import name in module "wasi_snapshot_preview1"
 *     params  wasm parameter types, one char each: 'i' = i32, 'I' = i64
 *     result  'i' (i32 errno) or 'v' (no result: proc_exit)
 *
 * The host implements each as
 *   uint32_t kafu_wasi_<name>(kafu_wasi *w, const kafu_mem *m, <params as uint32_t/uint64_t>)
 * (void for 'v'). The host module kafu_hostmod_wasi (kafu/hostmod.h) lists them in this order.
 */
#ifndef KAFU_WASI_FUNCS_H
#define KAFU_WASI_FUNCS_H

#define KAFU_WASI_FUNCS(X)                  \
  X(args_get, "ii", 'i')                    \
  X(args_sizes_get, "ii", 'i')              \
  X(environ_get, "ii", 'i')                 \
  X(environ_sizes_get, "ii", 'i')           \
  X(clock_res_get, "ii", 'i')               \
  X(clock_time_get, "iIi", 'i')             \
  X(fd_advise, "iIIi", 'i')                 \
  X(fd_allocate, "iII", 'i')                \
  X(fd_close, "i", 'i')                     \
  X(fd_datasync, "i", 'i')                  \
  X(fd_fdstat_get, "ii", 'i')               \
  X(fd_fdstat_set_flags, "ii", 'i')         \
  X(fd_fdstat_set_rights, "iII", 'i')       \
  X(fd_filestat_get, "ii", 'i')             \
  X(fd_filestat_set_size, "iI", 'i')        \
  X(fd_filestat_set_times, "iIIi", 'i')     \
  X(fd_pread, "iiiIi", 'i')                 \
  X(fd_prestat_get, "ii", 'i')              \
  X(fd_prestat_dir_name, "iii", 'i')        \
  X(fd_pwrite, "iiiIi", 'i')                \
  X(fd_read, "iiii", 'i')                   \
  X(fd_readdir, "iiiIi", 'i')               \
  X(fd_renumber, "ii", 'i')                 \
  X(fd_seek, "iIii", 'i')                   \
  X(fd_sync, "i", 'i')                      \
  X(fd_tell, "ii", 'i')                     \
  X(fd_write, "iiii", 'i')                  \
  X(path_create_directory, "iii", 'i')      \
  X(path_filestat_get, "iiiii", 'i')        \
  X(path_filestat_set_times, "iiiiIIi", 'i') \
  X(path_link, "iiiiiii", 'i')              \
  X(path_open, "iiiiiIIii", 'i')            \
  X(path_readlink, "iiiiii", 'i')           \
  X(path_remove_directory, "iii", 'i')      \
  X(path_rename, "iiiiii", 'i')             \
  X(path_symlink, "iiiii", 'i')             \
  X(path_unlink_file, "iii", 'i')           \
  X(poll_oneoff, "iiii", 'i')               \
  X(proc_exit, "i", 'v')                    \
  X(proc_raise, "i", 'i')                   \
  X(sched_yield, "", 'i')                   \
  X(random_get, "ii", 'i')                  \
  X(sock_accept, "iii", 'i')                \
  X(sock_recv, "iiiiii", 'i')               \
  X(sock_send, "iiiii", 'i')                \
  X(sock_shutdown, "ii", 'i')

#endif
