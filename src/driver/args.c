/*
 * args.c — classification of a `kafu cc` command line (see kafu/driver.h).
 *
 * The driver must split one compiler command into several clang calls
 * (compile each source, compile kafu_rt.c, link without -O), so every token
 * needs a destination. Known flags are listed in one table; every unknown flag
 * goes to both the compile and the link step, where clang decides what it means
 * (the link step gets -Qunused-arguments so flags meant for compilation do not
 * produce "argument unused" noise there). Tokens are never rewritten: clang sees
 * the user's spelling, so its diagnostics stay the user's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/driver.h"

/* ---- flag table ------------------------------------------------------------ */

typedef enum { VAL_SEPARATE, VAL_JOINED_OR_SEPARATE } val_style;

typedef struct flag_spec {
  const char *name;
  kafu_arg_kind kind;
  val_style style;
} flag_spec;

/* Flags that take a value. Exact matches consume the next token; JOINED_OR_SEPARATE
 * flags also match "<name><value>" in one token (longest name wins). */
static const flag_spec value_flags[] = {
    {"-o", KAFU_ARG_OUTPUT, VAL_JOINED_OR_SEPARATE},
    {"-x", KAFU_ARG_LANG, VAL_JOINED_OR_SEPARATE},
    {"-D", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-U", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-I", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-F", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-include", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-imacros", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-isystem", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-idirafter", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-iquote", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-iprefix", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-iwithprefix", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-iwithprefixbefore", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-isysroot", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-iframework", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-cxx-isystem", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-include-pch", KAFU_ARG_COMPILE, VAL_SEPARATE},
    {"-ivfsoverlay", KAFU_ARG_COMPILE, VAL_SEPARATE},
    {"-MF", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-MT", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-MQ", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-MJ", KAFU_ARG_COMPILE, VAL_JOINED_OR_SEPARATE},
    {"-Xclang", KAFU_ARG_COMPILE, VAL_SEPARATE},
    {"-Xpreprocessor", KAFU_ARG_COMPILE, VAL_SEPARATE},
    {"-Xassembler", KAFU_ARG_COMPILE, VAL_SEPARATE},
    {"-Xanalyzer", KAFU_ARG_COMPILE, VAL_SEPARATE},
    {"-serialize-diagnostics", KAFU_ARG_COMPILE, VAL_SEPARATE},
    {"-dependency-file", KAFU_ARG_COMPILE, VAL_SEPARATE},
    {"-dependency-dot", KAFU_ARG_COMPILE, VAL_SEPARATE},
    {"-L", KAFU_ARG_LINK, VAL_JOINED_OR_SEPARATE},
    {"-l", KAFU_ARG_LINK, VAL_JOINED_OR_SEPARATE},
    {"-Xlinker", KAFU_ARG_LINK, VAL_SEPARATE},
    {"-u", KAFU_ARG_LINK, VAL_SEPARATE},
    {"-e", KAFU_ARG_LINK, VAL_SEPARATE},
    {"-T", KAFU_ARG_LINK, VAL_SEPARATE},
    {"-z", KAFU_ARG_LINK, VAL_SEPARATE},
    {"-mllvm", KAFU_ARG_BOTH, VAL_SEPARATE},
    {"-target", KAFU_ARG_BOTH, VAL_SEPARATE},
    {"--target", KAFU_ARG_BOTH, VAL_SEPARATE},
    {"--sysroot", KAFU_ARG_BOTH, VAL_SEPARATE},
    {"-arch", KAFU_ARG_BOTH, VAL_SEPARATE},
    {"-B", KAFU_ARG_BOTH, VAL_JOINED_OR_SEPARATE},
    {"--gcc-toolchain", KAFU_ARG_BOTH, VAL_SEPARATE},
    {"-working-directory", KAFU_ARG_BOTH, VAL_SEPARATE},
    {"-resource-dir", KAFU_ARG_BOTH, VAL_SEPARATE},
    {"--kafu-stack-size", KAFU_ARG_KAFU, VAL_SEPARATE},
};
#define NVALUE_FLAGS (sizeof value_flags / sizeof value_flags[0])

static bool starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static bool in_list(const char *s, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(s, *list)) return true;
  return false;
}

/* Flags that stop clang before linking: the driver then runs clang once. */
static const char *const compile_only_flags[] = {
    "-c",        "-S",           "-E",        "-M",         "-MM",           "-fsyntax-only",
    "--analyze", "--precompile", "-emit-ast", "-emit-llvm", "-fdriver-only", NULL};
/* Flags that make clang print something and stop (or that show its plan). */
static const char *const info_flags[] = {"--version", "-dumpversion", "-dumpmachine",  "-###",
                                         "--help",    "-help",        "--help-hidden", NULL};
/* Single-token preprocessor/language flags meaningless to the linker. */
static const char *const compile_flags[] = {
    "-ansi", "-trigraphs", "-nostdinc", "-nostdinc++", "-nostdlibinc", "-nobuiltininc", "-P",
    "-C",    "-CC",        "-H",        "-undef",      "-dM",          "-dD",           "-dI",
    "-MD",   "-MMD",       "-MP",       "-MG",         "-MV",          "--pedantic",    NULL};
/* Single-token linker flags meaningless to the compiler. */
static const char *const link_flags[] = {"-nostdlib", "-nostartfiles", "-nodefaultlibs",
                                         "-nolibc",   "-nostdlib++",   "-static",
                                         "-shared",   "-rdynamic",     "-s",
                                         "-pie",      "-no-pie",       "-r",
                                         "-Bstatic",  "-Bdynamic",     NULL};

/* ---- helpers ------------------------------------------------------------- */

bool kafu_drv_is_cxx_name(const char *name) {
  const char *b = kafu_path_basename(name);
  return !strcmp(b, "c++") || !strcmp(b, "clang++") || !strcmp(b, "kafu-c++") || !strcmp(b, "g++");
}

const char *kafu_drv_lang_of(const char *path) {
  const char *base = kafu_path_basename(path);
  const char *dot = strrchr(base, '.');
  if (!dot || dot == base) return NULL;
  const char *e = dot + 1;
  static const struct {
    const char *ext, *lang;
  } map[] = {
      {"c", "c"},
      {"i", "cpp-output"},
      {"C", "c++"},
      {"cc", "c++"},
      {"cp", "c++"},
      {"cpp", "c++"},
      {"cxx", "c++"},
      {"CPP", "c++"},
      {"c++", "c++"},
      {"CC", "c++"},
      {"ii", "c++-cpp-output"},
      {"m", "objective-c"},
      {"mm", "objective-c++"},
      {"M", "objective-c++"},
      {"s", "assembler"},
      {"S", "assembler-with-cpp"},
      {"sx", "assembler-with-cpp"},
      {"ll", "ir"},
      {"bc", "ir"},
      {"h", "c-header"},
      {"hh", "c++-header"},
      {"hpp", "c++-header"},
      {"hxx", "c++-header"},
      {"H", "c++-header"},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(e, map[i].ext)) return map[i].lang;
  return NULL;
}

static bool lang_is_cxx(const char *lang) { return lang && starts(lang, "c++"); }

int kafu_drv_parse_size(const char *s, uint32_t *out) {
  if (!s || !*s || *s == '-' || *s == '+') return KAFU_EINVAL;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return KAFU_EINVAL;
  unsigned long long mul = 1;
  if (*end) {
    switch (*end) {
      case 'k':
      case 'K':
        mul = 1ull << 10;
        break;
      case 'm':
      case 'M':
        mul = 1ull << 20;
        break;
      case 'g':
      case 'G':
        mul = 1ull << 30;
        break;
      default:
        return KAFU_EINVAL;
    }
    end++;
    if (*end == 'i' || *end == 'I') end++; /* KiB / MiB */
    if (*end == 'b' || *end == 'B') end++;
    if (*end) return KAFU_EINVAL;
  }
  if (v == 0 || v > UINT32_MAX / mul) return KAFU_EINVAL;
  *out = (uint32_t)(v * mul);
  return 0;
}

/* ---- response files --------------------------------------------------------- */

/* Split a GNU-style response file: whitespace separates, quotes group,
 * backslash escapes the next character. */
static int split_response(const char *text, kafu_argv *out) {
  const char *p = text;
  kafu_buf tok = {0};
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (!*p) break;
    tok.len = 0;
    char quote = 0;
    for (; *p; p++) {
      if (quote) {
        if (*p == quote)
          quote = 0;
        else if (*p == '\\' && quote == '"' && p[1])
          kafu_buf_putc(&tok, *++p);
        else
          kafu_buf_putc(&tok, *p);
      } else if (*p == '\'' || *p == '"') {
        quote = *p;
      } else if (*p == '\\' && p[1]) {
        kafu_buf_putc(&tok, *++p);
      } else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        break;
      } else {
        kafu_buf_putc(&tok, *p);
      }
    }
    if (kafu_argv_push(out, kafu_buf_cstr(&tok)) < 0) {
      kafu_buf_free(&tok);
      return KAFU_ENOMEM;
    }
  }
  kafu_buf_free(&tok);
  return 0;
}

/* Expand @file tokens (recursively, bounded) into out. Unreadable @file tokens
 * are kept as they are, as clang does; clang then reports them. */
static int expand_responses(int argc, char **argv, kafu_argv *out, int depth) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    uint8_t *data = NULL;
    size_t len;
    if (a[0] == '@' && a[1] && depth < 16 && kafu_read_file(a + 1, &data, &len, NULL) == 0) {
      kafu_argv inner = {0};
      int rc = split_response((const char *)data, &inner);
      free(data);
      if (rc == 0) rc = expand_responses((int)inner.n, inner.v, out, depth + 1);
      kafu_argv_free(&inner);
      if (rc < 0) return rc;
    } else if (kafu_argv_push(out, a) < 0) {
      return KAFU_ENOMEM;
    }
  }
  return 0;
}

/* ---- parse ----------------------------------------------------------------- */

static const flag_spec *match_value_flag(const char *tok, bool *joined) {
  for (size_t i = 0; i < NVALUE_FLAGS; i++)
    if (!strcmp(tok, value_flags[i].name)) {
      *joined = false;
      return &value_flags[i];
    }
  const flag_spec *best = NULL;
  for (size_t i = 0; i < NVALUE_FLAGS; i++) {
    const flag_spec *f = &value_flags[i];
    if (f->style == VAL_JOINED_OR_SEPARATE && starts(tok, f->name) &&
        (!best || strlen(f->name) > strlen(best->name)))
      best = f;
  }
  *joined = best != NULL;
  return best;
}

static void update_debug(kafu_drv *d, const char *t) {
  if (!strcmp(t, "-g0")) {
    d->debug = false;
    return;
  }
  static const char *const on[] = {"-g",
                                   "-g1",
                                   "-g2",
                                   "-g3",
                                   "-glldb",
                                   "-gsce",
                                   "-gdbx",
                                   "-gfull",
                                   "-gused",
                                   "-gline-tables-only",
                                   "-gline-directives-only",
                                   NULL};
  if (in_list(t, on) || starts(t, "-ggdb") || starts(t, "-gdwarf")) d->debug = true;
}

static int parse_kafu_option(kafu_drv *d, const char *t, const char *value, kafu_err *err) {
  if (!strcmp(t, "--no-snapify") || !strcmp(t, "--kafu-no-snapify")) {
    d->snapify = false;
  } else if (!strcmp(t, "--kafu-verbose")) {
    d->verbose = true;
  } else if (starts(t, "--kafu-c-stack-size")) {
    const char *v = value ? value : (t[19] == '=' ? t + 20 : NULL);
    if (!v || (t[19] && t[19] != '='))
      return kafu_err_set(err, KAFU_EINVAL, "option '%s' needs a size, e.g. --kafu-c-stack-size=4M", t);
    if (kafu_drv_parse_size(v, &d->c_stack_size) < 0 || d->c_stack_size < 4096 || d->c_stack_size % 16)
      return kafu_err_set(err, KAFU_EINVAL,
                          "invalid --kafu-c-stack-size '%s': expected bytes >= 4096, a multiple of 16, < 4G "
                          "(suffix K, M, G allowed)",
                          v);
  } else if (!strcmp(t, "--kafu-allow-unused-annotations")) {
    d->allow_unused_annotations = true;
  } else if (starts(t, "--kafu-stack-size")) {
    const char *v = value ? value : (t[17] == '=' ? t + 18 : NULL);
    if (!v || (t[17] && t[17] != '='))
      return kafu_err_set(err, KAFU_EINVAL, "option '%s' needs a size, e.g. --kafu-stack-size=4M", t);
    if (kafu_drv_parse_size(v, &d->stack_size) < 0 || d->stack_size < 4096)
      return kafu_err_set(
          err, KAFU_EINVAL,
          "invalid --kafu-stack-size '%s': expected bytes >= 4096 and < 4G (suffix K, M, G allowed)", v);
  } else {
    return kafu_err_set(err, KAFU_EINVAL,
                        "unknown kafu option '%s' (kafu options: --kafu-stack-size=BYTES, "
                        "--kafu-c-stack-size=BYTES, --no-snapify, --kafu-verbose, "
                        "--kafu-allow-unused-annotations)",
                        t);
  }
  return 0;
}

static bool is_kafu_option(const char *t) { return starts(t, "--kafu-") || !strcmp(t, "--no-snapify"); }

int kafu_drv_parse(kafu_drv *d, int argc, char **argv, bool cxx, kafu_err *err) {
  memset(d, 0, sizeof *d);
  d->cxx = cxx;
  d->snapify = true;
  d->stack_size = 1024u * 1024u;
  d->c_stack_size = 1024u * 1024u;

  kafu_argv toks = {0};
  int rc = expand_responses(argc, argv, &toks, 0);
  if (rc < 0) {
    kafu_argv_free(&toks);
    return kafu_err_set(err, rc, "out of memory");
  }
  /* the classified args point into toks, which d now owns */
  d->owned = toks.v;
  d->nowned = toks.n;
  d->args = calloc(toks.n ? toks.n : 1, sizeof *d->args);
  if (!d->args) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");

  bool compile_only = false, info = false;
  const char *xlang = NULL; /* -x in effect ("none" resets) */
  for (size_t i = 0; i < toks.n; i++) {
    const char *t = toks.v[i];
    kafu_drv_arg *a = &d->args[d->nargs++];
    a->text = t;
    if (t[0] != '-' || !strcmp(t, "-")) { /* an input */
      const char *lang = xlang ? xlang : (!strcmp(t, "-") ? "" : kafu_drv_lang_of(t));
      if (lang) {
        a->kind = KAFU_ARG_SOURCE;
        a->lang = (xlang && *xlang) ? xlang : NULL;
        d->nsources++;
        if (lang_is_cxx(lang)) d->any_cxx_source = true;
      } else {
        a->kind = KAFU_ARG_LINKIN;
        d->nlinkins++;
      }
      continue;
    }
    bool joined;
    const flag_spec *f = match_value_flag(t, &joined);
    if (f) {
      a->kind = f->kind;
      const char *value = joined ? t + strlen(f->name) : NULL;
      if (!joined && i + 1 < toks.n) {
        kafu_drv_arg *v = &d->args[d->nargs++];
        value = toks.v[++i];
        v->text = value;
        v->kind = f->kind;
        v->is_value = true;
      }
      if (f->kind == KAFU_ARG_KAFU) {
        if (!value) return kafu_err_set(err, KAFU_EINVAL, "option '%s' needs a value", t);
        if ((rc = parse_kafu_option(d, t, value, err)) < 0) return rc;
      } else if (f->kind == KAFU_ARG_OUTPUT && value) {
        d->output = value;
      } else if (f->kind == KAFU_ARG_LANG && value) {
        xlang = !strcmp(value, "none") ? NULL : value;
      } else if (!strcmp(f->name, "-MF")) {
        d->dep_mf = true;
      } else if (!strcmp(f->name, "-MT") || !strcmp(f->name, "-MQ")) {
        d->dep_mt = true;
      }
      continue;
    }
    if (!strcmp(t, "--")) { /* the original kafu_clang: plain clang, nothing of Kafu's */
      a->kind = KAFU_ARG_KAFU;
      d->raw = true;
    } else if (is_kafu_option(t)) {
      a->kind = KAFU_ARG_KAFU;
      if ((rc = parse_kafu_option(d, t, NULL, err)) < 0) return rc;
    } else if (in_list(t, compile_only_flags)) {
      a->kind = KAFU_ARG_COMPILE;
      compile_only = true;
    } else if (in_list(t, info_flags) || starts(t, "-print-") || starts(t, "--print-")) {
      a->kind = KAFU_ARG_BOTH;
      info = true;
    } else if (t[1] == 'O' || starts(t, "--optimize")) {
      a->kind = KAFU_ARG_OPT;
    } else if (starts(t, "-Wl,")) {
      a->kind = KAFU_ARG_LINK;
    } else if (starts(t, "-Wa,") || starts(t, "-Wp,")) {
      a->kind = KAFU_ARG_COMPILE;
    } else if (starts(t, "-std=") || starts(t, "--std=") || starts(t, "-pedantic") || starts(t, "-i") ||
               in_list(t, compile_flags)) {
      a->kind = KAFU_ARG_COMPILE;
      if (!strcmp(t, "-MD") || !strcmp(t, "-MMD")) d->dep_md = true;
    } else if (in_list(t, link_flags) || starts(t, "-static-") || starts(t, "-mexec-model=") ||
               starts(t, "-fuse-ld=") || starts(t, "--ld-path=") || starts(t, "-rtlib=") ||
               starts(t, "--rtlib=") || starts(t, "-unwindlib=") || starts(t, "--unwindlib=")) {
      a->kind = KAFU_ARG_LINK;
    } else {
      a->kind = KAFU_ARG_BOTH; /* -f* -m* -g* -W* -v -pthread and anything unknown: clang decides */
      if (t[1] == 'g') update_debug(d, t);
    }
  }

  if (info || d->raw)
    d->mode = KAFU_DRV_PASSTHROUGH;
  else if (compile_only)
    d->mode = KAFU_DRV_COMPILE;
  else if (d->nsources + d->nlinkins == 0)
    d->mode = KAFU_DRV_PASSTHROUGH; /* clang: "no input files" */
  else
    d->mode = KAFU_DRV_LINK;
  return 0;
}

void kafu_drv_free(kafu_drv *d) {
  if (!d) return;
  kafu_argv a = {d->owned, d->nowned, d->nowned};
  kafu_argv_free(&a);
  free(d->args);
  memset(d, 0, sizeof *d);
}

/* ---- argv building ------------------------------------------------------------ */

int kafu_argv_push(kafu_argv *a, const char *s) {
  if (a->n + 2 > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 16;
    char **v = realloc(a->v, cap * sizeof *v);
    if (!v) return KAFU_ENOMEM;
    a->v = v;
    a->cap = cap;
  }
  char *c = strdup(s);
  if (!c) return KAFU_ENOMEM;
  a->v[a->n++] = c;
  a->v[a->n] = NULL;
  return 0;
}

void kafu_argv_free(kafu_argv *a) {
  for (size_t i = 0; i < a->n; i++) free(a->v[i]);
  free(a->v);
  memset(a, 0, sizeof *a);
}

char *kafu_argv_join(const kafu_argv *a) {
  kafu_buf b = {0};
  for (size_t i = 0; i < a->n; i++) {
    const char *s = a->v[i];
    if (i) kafu_buf_putc(&b, ' ');
    if (*s && !strpbrk(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!")) {
      kafu_buf_printf(&b, "%s", s);
      continue;
    }
    kafu_buf_putc(&b, '\'');
    for (; *s; s++) {
      if (*s == '\'')
        kafu_buf_printf(&b, "'\\''");
      else
        kafu_buf_putc(&b, *s);
    }
    kafu_buf_putc(&b, '\'');
  }
  return kafu_buf_cstr(&b);
}

#define PUSH(s)                                 \
  do {                                          \
    if (kafu_argv_push(out, (s)) < 0) goto oom; \
  } while (0)

/* clang, driver mode, target and sysroot: the start of every command. */
static int push_base(kafu_argv *out, const kafu_toolchain *tc, bool cxx_driver) {
  char sysroot[PATH_MAX + 16];
  snprintf(sysroot, sizeof sysroot, "--sysroot=%s", tc->sysroot ? tc->sysroot : "/usr");
  PUSH(tc->clang ? tc->clang : "clang");
  if (cxx_driver) PUSH("--driver-mode=g++");
  PUSH("--target=wasm32-wasi");
  PUSH(sysroot);
  return 0;
oom:
  return KAFU_ENOMEM;
}

/* wasm32-wasi libc++ is built without exception support: C++ code compiles with
 * -fno-exceptions unless the user's own later -fexceptions overrides it. */
static bool wants_no_exceptions(const kafu_drv *d) { return d->cxx || d->any_cxx_source; }

int kafu_drv_passthrough_argv(const kafu_drv *d, const kafu_toolchain *tc, kafu_argv *out) {
  if (push_base(out, tc, d->cxx) < 0) goto oom;
  if (wants_no_exceptions(d)) PUSH("-fno-exceptions");
  for (size_t i = 0; i < d->nargs; i++)
    if (d->args[i].kind != KAFU_ARG_KAFU) PUSH(d->args[i].text);
  /* -idirafter, not -I: an install prefix such as /usr/local/include may hold
   * native headers that must never shadow wasi-libc's; only kafu.h is found there */
  PUSH("-idirafter");
  PUSH(tc->include_dir ? tc->include_dir : ".");
  return 0;
oom:
  kafu_argv_free(out);
  return KAFU_ENOMEM;
}

/* path with its extension replaced (extension = after the last '.' of the basename) */
static char *replace_ext(const char *path, const char *ext) {
  const char *base = kafu_path_basename(path);
  const char *dot = strrchr(base, '.');
  size_t keep = dot && dot != base ? (size_t)(dot - path) : strlen(path);
  char *r = malloc(keep + strlen(ext) + 1);
  if (!r) return NULL;
  memcpy(r, path, keep);
  strcpy(r + keep, ext);
  return r;
}

int kafu_drv_compile_argv(const kafu_drv *d, const kafu_toolchain *tc, size_t argi, const char *obj,
                          kafu_argv *out) {
  char *depfile = NULL, *deptarget = NULL;
  if (argi >= d->nargs || d->args[argi].kind != KAFU_ARG_SOURCE) return KAFU_EINVAL;
  const kafu_drv_arg *src = &d->args[argi];
  if (push_base(out, tc, d->cxx) < 0) goto oom;
  if (wants_no_exceptions(d)) PUSH("-fno-exceptions");
  for (size_t i = 0; i < d->nargs; i++) {
    kafu_arg_kind k = d->args[i].kind;
    if (k == KAFU_ARG_COMPILE || k == KAFU_ARG_OPT || k == KAFU_ARG_BOTH) PUSH(d->args[i].text);
  }
  /* -MD in a compile+link: clang names the dependency file after -o (else the
   * source) and uses -o as the target; keep that although the object is temporary */
  if (d->dep_md) {
    const char *stem_src = d->output ? d->output : kafu_path_basename(src->text);
    if (!d->dep_mf) {
      if (!(depfile = replace_ext(stem_src, ".d"))) goto oom;
      PUSH("-MF");
      PUSH(depfile);
    }
    if (!d->dep_mt) {
      if (!(deptarget = d->output ? strdup(d->output) : replace_ext(stem_src, ".o"))) goto oom;
      PUSH("-MT");
      PUSH(deptarget);
    }
  }
  PUSH("-idirafter");
  PUSH(tc->include_dir ? tc->include_dir : ".");
  PUSH("-c");
  if (src->lang) {
    PUSH("-x");
    PUSH(src->lang);
  }
  PUSH(src->text);
  PUSH("-o");
  PUSH(obj);
  free(depfile);
  free(deptarget);
  return 0;
oom:
  free(depfile);
  free(deptarget);
  kafu_argv_free(out);
  return KAFU_ENOMEM;
}

int kafu_drv_rt_argv(const kafu_drv *d, const kafu_toolchain *tc, const char *obj, kafu_argv *out) {
  char def[64];
  snprintf(def, sizeof def, "-DKAFU_ASYNCIFY_BUF_SIZE=%u", (unsigned)d->stack_size);
  if (push_base(out, tc, false) < 0) goto oom;
  PUSH("-O2");
  /* target features must agree across objects (e.g. -pthread / -matomics for
   * shared memory), so the user's -m flags apply here too */
  for (size_t i = 0; i < d->nargs; i++) {
    const kafu_drv_arg *a = &d->args[i];
    if (a->kind != KAFU_ARG_BOTH || a->is_value) continue;
    if ((starts(a->text, "-m") && strcmp(a->text, "-mllvm")) || starts(a->text, "-pthread")) PUSH(a->text);
  }
  PUSH(def);
  PUSH("-c");
  PUSH("-x");
  PUSH("c");
  PUSH(tc->rt_source ? tc->rt_source : "kafu_rt.c");
  PUSH("-o");
  PUSH(obj);
  return 0;
oom:
  kafu_argv_free(out);
  return KAFU_ENOMEM;
}

int kafu_drv_link_argv(const kafu_drv *d, const kafu_toolchain *tc, char *const *objs, const char *rt_obj,
                       const char *out_path, kafu_argv *out) {
  if (push_base(out, tc, d->cxx) < 0) goto oom;
  for (size_t i = 0; i < d->nargs; i++) {
    const kafu_drv_arg *a = &d->args[i];
    switch (a->kind) {
      case KAFU_ARG_SOURCE:
        if (!objs || !objs[i]) {
          kafu_argv_free(out);
          return KAFU_EINVAL;
        }
        PUSH(objs[i]);
        break;
      case KAFU_ARG_LINKIN:
      case KAFU_ARG_LINK:
      case KAFU_ARG_BOTH:
        PUSH(a->text);
        break;
      default:
        break; /* -O* never reaches the link: clang would run wasm-opt */
    }
  }
  if (rt_obj) {
    PUSH(rt_obj);
    PUSH("-Wl,--export=__kafu_asyncify_buf");
    PUSH("-Wl,--export=__kafu_asyncify_buf_size");
  }
  /* the C stack below the data: an overflow wraps below address 0 and traps
   * (out of bounds, named "C stack overflow" by the engine) instead of
   * silently overwriting globals and the heap */
  PUSH("-Wl,--stack-first");
  bool own_size = false;
  for (size_t i = 0; i < d->nargs; i++)
    own_size |= (d->args[i].kind == KAFU_ARG_LINK || d->args[i].kind == KAFU_ARG_BOTH) &&
                strstr(d->args[i].text, "stack-size") != NULL;
  if (!own_size) {
    char ss[64];
    snprintf(ss, sizeof ss, "-Wl,-z,stack-size=%u", (unsigned)d->c_stack_size);
    PUSH(ss);
  }
  if (!d->debug) PUSH("-Wl,--strip-debug"); /* DWARF only; custom sections such as .kafu_dest.* stay */
  if (d->nsources) PUSH("-Qunused-arguments");
  PUSH("-o");
  PUSH(out_path);
  return 0;
oom:
  kafu_argv_free(out);
  return KAFU_ENOMEM;
}
