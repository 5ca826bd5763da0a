/*
 * driver.h — the argument logic of the `kafu cc` / `kafu c++` compiler driver
 * (src/driver), kept apart from src/cli/cmd_cc.c so it can be unit-tested
 * without running clang.
 *
 * How a command line is handled:
 *   1. kafu_drv_parse() expands @response files and classifies every token:
 *      source, linker input, -o, compile-only flag, -O flag, link-only flag,
 *      flag for both steps (every unknown flag: clang decides), -x, kafu-only.
 *   2. The mode follows from the flags: PASSTHROUGH (--version, -###, -print-*,
 *      no inputs) and COMPILE (-c, -S, -E, -M, -fsyntax-only, ...) are a single
 *      clang call; LINK compiles each source to a temporary object with the
 *      user's flags, compiles guest/kafu_rt.c, links WITHOUT any -O flag (clang
 *      would otherwise run wasm-opt, which inlines KAFU_DEST functions and makes
 *      migrations vanish), then runs Snapify.
 *   3. kafu_drv_*_argv() build the clang command lines for each step.
 *
 * Toolchain lookup (kafu_toolchain_find) and the checks shared with
 * `kafu doctor` (kafu_toolchain_check) honour $KAFU_* overrides so the failure
 * paths can be tested: KAFU_CLANG, KAFU_WASM_LD, KAFU_WASI_SYSROOT,
 * KAFU_CLANG_RT_BUILTINS.
 */
#ifndef KAFU_DRIVER_H
#define KAFU_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  KAFU_DRV_PASSTHROUGH, /* one clang call: --version, -###, -print-*, no inputs at all, "--" */
  KAFU_DRV_COMPILE,     /* one clang call: -c, -S, -E, -M, -MM, -fsyntax-only, -emit-llvm, ... */
  KAFU_DRV_LINK,        /* compile sources separately, link without -O, Snapify */
} kafu_drv_mode;

typedef enum {
  KAFU_ARG_SOURCE,  /* input clang compiles: by extension, "-", or anything after -x LANG */
  KAFU_ARG_LINKIN,  /* linker input: .o .a .so .wasm and unknown extensions */
  KAFU_ARG_OUTPUT,  /* -o FILE / -oFILE */
  KAFU_ARG_COMPILE, /* compile steps only: -D -U -I -i* -include -std= -M* -Xclang -Wa, -Wp, ... */
  KAFU_ARG_OPT,     /* -O* / --optimize*: compile steps only, never the link (wasm-opt pitfall) */
  KAFU_ARG_LINK,    /* link only: -L -l -Wl, -Xlinker -nostdlib -static -shared -s -mexec-model= ... */
  KAFU_ARG_BOTH,    /* -f* -m* -g* -W* -v -pthread -stdlib= and every unknown flag */
  KAFU_ARG_LANG,    /* -x LANG / -xLANG: applied per source */
  KAFU_ARG_KAFU,    /* kafu-only (--kafu-stack-size=, --no-snapify, --kafu-verbose): never reach clang */
} kafu_arg_kind;

typedef struct kafu_drv_arg {
  const char *text;   /* the token */
  kafu_arg_kind kind; /* for a separate value ("-include" "x.h") both tokens get the flag's kind */
  bool is_value;      /* true for the value token of a separate-value flag */
  const char *lang;   /* SOURCE: the -x language in effect, or NULL (clang decides by extension) */
} kafu_drv_arg;

typedef struct kafu_drv {
  bool cxx; /* c++ / clang++ / kafu-c++: clang in g++ driver mode, -fno-exceptions */
  kafu_drv_mode mode;
  kafu_drv_arg *args; /* every token after the command name, classified, in order */
  size_t nargs;
  size_t nsources;     /* count of KAFU_ARG_SOURCE */
  size_t nlinkins;     /* count of KAFU_ARG_LINKIN */
  const char *output;  /* last -o value, or NULL */
  bool debug;          /* a -g flag (not cancelled by -g0): keep DWARF at link */
  bool snapify;        /* false with --no-snapify */
  bool verbose;        /* --kafu-verbose: print every command run */
  bool allow_unused_annotations; /* --kafu-allow-unused-annotations (Snapify: warn, not fail) */
  bool raw;            /* a "--" token (dropped): PASSTHROUGH, one plain clang call with the
                          rest, no Snapify (the original Kafu's `kafu clang -- ARGS`) */
  bool any_cxx_source; /* some source is C++ (by extension or -x c++) */
  bool dep_md;         /* -MD / -MMD given */
  bool dep_mf;         /* -MF given */
  bool dep_mt;         /* -MT / -MQ given */
  uint32_t stack_size; /* --kafu-stack-size (Asyncify region), default 1 MiB */
  /* --kafu-c-stack-size: the program's C stack, linked first in memory
   * (--stack-first) so that an overflow runs below address 0 and traps
   * instead of overwriting data; default 1 MiB (wasm-ld's own is 64 KiB). A
   * -Wl,-z,stack-size=N of the user's wins. */
  uint32_t c_stack_size;
  char **owned;        /* tokens read from @response files */
  size_t nowned;
} kafu_drv;

/* Default output of a link without -o, like clang and the original Kafu. */
#define KAFU_DRV_DEFAULT_OUTPUT "a.out"

/* Parse argv (argc tokens after the command name). cxx selects C++ mode.
 * Returns 0, or KAFU_EINVAL for a bad kafu-only option (err says which).
 * Call kafu_drv_free() afterwards in either case. */
int kafu_drv_parse(kafu_drv *d, int argc, char **argv, bool cxx, kafu_err *err);
void kafu_drv_free(kafu_drv *d);

/* True for the C++ spellings of the command: "c++", "clang++", "kafu-c++". */
bool kafu_drv_is_cxx_name(const char *name);
/* Language clang infers from a file name ("c", "c++", "assembler", "ir", ...)
 * or NULL when clang would hand the file to the linker. */
const char *kafu_drv_lang_of(const char *path);
/* "1048576", "512K", "4M", "1G" (binary units) -> bytes. 0 or -EINVAL. */
int kafu_drv_parse_size(const char *s, uint32_t *out);

/* ---- toolchain ------------------------------------------------------------ */

typedef struct kafu_toolchain {
  char *clang;       /* resolved clang path; NULL when not found */
  char *sysroot;     /* wasi sysroot: $KAFU_WASI_SYSROOT or /usr */
  char *include_dir; /* directory holding kafu.h (kafu_include_dir()) */
  char *rt_source;   /* guest/kafu_rt.c under kafu_share_dir() */
} kafu_toolchain;

/* Resolve clang ($KAFU_CLANG, else clang, clang-14 in PATH), the sysroot and
 * Kafu's own files. Never fails; missing pieces are NULL / checked later. */
void kafu_toolchain_find(kafu_toolchain *tc);
void kafu_toolchain_free(kafu_toolchain *tc);

typedef struct kafu_tc_check {
  const char *name;    /* what is checked, e.g. "wasm-ld" */
  const char *package; /* Debian package that provides it ("" when none) */
  bool required;
  bool ok;
  char detail[512]; /* path found, or what is missing */
} kafu_tc_check;

/* The pieces `kafu cc` needs: clang, wasm-ld, wasi-libc headers and libc.a,
 * wasm32 compiler-rt builtins, libc++/libc++abi for wasm32, Kafu's kafu.h and
 * kafu_rt.c. Fills up to max entries; returns how many were written. */
size_t kafu_toolchain_check(const kafu_toolchain *tc, kafu_tc_check *out, size_t max);

/* First missing piece among those a given step needs (cxx adds libc++, link adds
 * libraries and kafu_rt.c): returns 0, or KAFU_ENOENT with err naming the piece
 * and its Debian package. */
int kafu_toolchain_missing(const kafu_toolchain *tc, bool cxx, bool link, kafu_err *err);

/* Run argv with stdin closed, capture the first line of stdout (stderr dropped).
 * Returns the exit status, or -1 when it could not run. */
int kafu_capture_line(char *const argv[], char *line, size_t cap);

/* ---- command lines -------------------------------------------------------- */

/* NULL-terminated argv that owns its strings. */
typedef struct kafu_argv {
  char **v;
  size_t n, cap;
} kafu_argv;

int kafu_argv_push(kafu_argv *a, const char *s);
void kafu_argv_free(kafu_argv *a);
/* Shell-quoted rendering for --kafu-verbose. Caller frees. */
char *kafu_argv_join(const kafu_argv *a);

/* PASSTHROUGH / COMPILE: one clang call with the target flags and every user
 * token except kafu-only options. */
int kafu_drv_passthrough_argv(const kafu_drv *d, const kafu_toolchain *tc, kafu_argv *out);
/* LINK, step 1: compile the source at args[argi] to obj. */
int kafu_drv_compile_argv(const kafu_drv *d, const kafu_toolchain *tc, size_t argi, const char *obj,
                          kafu_argv *out);
/* LINK, step 2: compile guest/kafu_rt.c with -DKAFU_ASYNCIFY_BUF_SIZE. */
int kafu_drv_rt_argv(const kafu_drv *d, const kafu_toolchain *tc, const char *obj, kafu_argv *out);
/* LINK, step 3: link. objs[i] is the object of args[i] for every SOURCE arg
 * (other entries unused). Never passes -O*; adds rt_obj, the Asyncify buffer
 * export, and --strip-debug unless d->debug. */
int kafu_drv_link_argv(const kafu_drv *d, const kafu_toolchain *tc, char *const *objs, const char *rt_obj,
                       const char *out_path, kafu_argv *out);

/* ---- output ----------------------------------------------------------------- */

/* Fail early, before any compiler work, when path cannot be written: missing or
 * non-directory parent, parent where no file can be created, path is a
 * directory, a special file that is not writable. An existing read-only regular
 * file is replaced, as clang and ld do. "-" (stdout) is fine. */
int kafu_drv_check_output(const char *path, kafu_err *err);
/* Copy the finished module at tmp_path to path: atomically (temp + rename,
 * mode 0777 & ~umask like a linker) for regular files, in place for devices
 * such as /dev/null, to stdout for "-". */
int kafu_drv_install_output(const char *tmp_path, const char *path, kafu_err *err);

/* ---- objects and static libraries ---------------------------------------------- */

/* True when the compile steps optimize: the last -O flag is not -O0. */
bool kafu_drv_optimizes(const kafu_drv *d);
/* The annotated functions (.kafu_dest.<fn>.<node>) a relocatable object
 * defines as non-weak functions (Kafu's KAFU_EXPORT makes them weak: an
 * optimizer may otherwise delete or move calls to a pure one). Appends
 * "'f', 'g'" to out; returns how many. 0 for files that are no wasm object. */
size_t kafu_drv_strong_dests(const char *obj_path, kafu_buf *out);


/* 1 when path is an ar archive holding wasm objects but no symbol index (GNU
 * ar's output for wasm objects, which wasm-ld refuses), else 0. */
int kafu_drv_archive_unindexed(const char *path);
/* The archives of a link command line that are such archives: .a inputs and
 * -lNAME found in the -L directories (lib<NAME>.a, -l:FILE). Appends their
 * paths, comma separated, to out; returns non-zero when there was one. */
size_t kafu_drv_unindexed_archives(const kafu_drv *d, kafu_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_DRIVER_H */
