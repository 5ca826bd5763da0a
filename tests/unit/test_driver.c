/* test_driver.c — unit tests for src/driver: argument classification, the
 * command lines built for each step, output checks, toolchain probes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kafu/driver.h"

/* parse a space-separated command line (no quoting needed in these tests) */
static int parse(kafu_drv *d, bool cxx, const char *line, kafu_err *e) {
  static char buf[4096];
  static char *argv[256];
  snprintf(buf, sizeof buf, "%s", line);
  int argc = 0;
  for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) argv[argc++] = t;
  return kafu_drv_parse(d, argc, argv, cxx, e);
}

static const kafu_toolchain tc = {.clang = "/usr/bin/clang",
                                  .sysroot = "/usr",
                                  .include_dir = "/k/include",
                                  .rt_source = "/k/share/kafu_rt.c"};

static int find_arg(const kafu_argv *a, const char *s) {
  for (size_t i = 0; i < a->n; i++)
    if (!strcmp(a->v[i], s)) return (int)i;
  return -1;
}

static bool has_prefix_arg(const kafu_argv *a, const char *p) {
  for (size_t i = 0; i < a->n; i++)
    if (!strncmp(a->v[i], p, strlen(p))) return true;
  return false;
}

static void test_lang_and_names(void **s) {
  assert_string_equal(kafu_drv_lang_of("a/b/main.c"), "c");
  assert_string_equal(kafu_drv_lang_of("x.cpp"), "c++");
  assert_string_equal(kafu_drv_lang_of("x.cc"), "c++");
  assert_string_equal(kafu_drv_lang_of("x.C"), "c++");
  assert_string_equal(kafu_drv_lang_of("start.S"), "assembler-with-cpp");
  assert_string_equal(kafu_drv_lang_of("m.ll"), "ir");
  assert_null(kafu_drv_lang_of("main.o"));
  assert_null(kafu_drv_lang_of("libz.a"));
  assert_null(kafu_drv_lang_of("libz.so.1"));
  assert_null(kafu_drv_lang_of("noext"));
  assert_null(kafu_drv_lang_of("dir.c/obj"));
  assert_null(kafu_drv_lang_of(".c"));
  assert_true(kafu_drv_is_cxx_name("c++"));
  assert_true(kafu_drv_is_cxx_name("clang++"));
  assert_true(kafu_drv_is_cxx_name("/opt/bin/kafu-c++"));
  assert_false(kafu_drv_is_cxx_name("cc"));
  assert_false(kafu_drv_is_cxx_name("clang"));
  assert_false(kafu_drv_is_cxx_name("kafu-cc"));
}

static void test_parse_size(void **s) {
  uint32_t v;
  assert_int_equal(kafu_drv_parse_size("1048576", &v), 0);
  assert_int_equal(v, 1048576);
  assert_int_equal(kafu_drv_parse_size("64K", &v), 0);
  assert_int_equal(v, 65536);
  assert_int_equal(kafu_drv_parse_size("4M", &v), 0);
  assert_int_equal(v, 4u << 20);
  assert_int_equal(kafu_drv_parse_size("2MiB", &v), 0);
  assert_int_equal(v, 2u << 20);
  assert_int_equal(kafu_drv_parse_size("1G", &v), 0);
  assert_int_equal(v, 1u << 30);
  assert_true(kafu_drv_parse_size("4G", &v) < 0);
  assert_true(kafu_drv_parse_size("0", &v) < 0);
  assert_true(kafu_drv_parse_size("-5", &v) < 0);
  assert_true(kafu_drv_parse_size("abc", &v) < 0);
  assert_true(kafu_drv_parse_size("12Q", &v) < 0);
  assert_true(kafu_drv_parse_size("", &v) < 0);
  assert_true(kafu_drv_parse_size("99999999999999999999999", &v) < 0);
}

static void test_modes(void **s) {
  kafu_drv d;
  kafu_err e;
  struct {
    const char *line;
    kafu_drv_mode mode;
  } cases[] = {
      {"-c main.c", KAFU_DRV_COMPILE},
      {"-S main.c -o main.s", KAFU_DRV_COMPILE},
      {"-E main.c", KAFU_DRV_COMPILE},
      {"-M main.c", KAFU_DRV_COMPILE},
      {"-MM main.c", KAFU_DRV_COMPILE},
      {"-fsyntax-only main.c", KAFU_DRV_COMPILE},
      {"-MD main.c -o app", KAFU_DRV_LINK},
      {"main.c", KAFU_DRV_LINK},
      {"main.o util.o -o app.wasm", KAFU_DRV_LINK},
      {"--version", KAFU_DRV_PASSTHROUGH},
      {"-v", KAFU_DRV_PASSTHROUGH},
      {"-print-resource-dir", KAFU_DRV_PASSTHROUGH},
      {"-### main.c", KAFU_DRV_PASSTHROUGH},
      {"-O2", KAFU_DRV_PASSTHROUGH},
      {"", KAFU_DRV_PASSTHROUGH},
      {"-- main.c -o main.wasm -O3", KAFU_DRV_PASSTHROUGH}, /* the original's `kafu clang -- ARGS` */
      {"main.c -- -o main.wasm", KAFU_DRV_PASSTHROUGH},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(parse(&d, false, cases[i].line, &e), 0);
    if (d.mode != cases[i].mode) fail_msg("'%s': mode %d, expected %d", cases[i].line, d.mode, cases[i].mode);
    kafu_drv_free(&d);
  }
}

/* `kafu clang -- ARGS`: one plain clang call with ARGS; the "--" never reaches clang */
static void test_raw(void **s) {
  kafu_drv d;
  kafu_err e;
  kafu_argv a = {0};
  assert_int_equal(parse(&d, false, "-- main.c -O3 -o main.wasm", &e), 0);
  assert_true(d.raw);
  assert_int_equal(kafu_drv_passthrough_argv(&d, &tc, &a), 0);
  assert_int_equal(find_arg(&a, "--"), -1);
  assert_true(find_arg(&a, "main.c") > 0 && find_arg(&a, "-O3") > 0 && find_arg(&a, "main.wasm") > 0);
  assert_true(find_arg(&a, "--target=wasm32-wasi") > 0);
  kafu_argv_free(&a);
  kafu_drv_free(&d);
  assert_int_equal(parse(&d, false, "main.c -o main.wasm", &e), 0);
  assert_false(d.raw);
  kafu_drv_free(&d);
}

static void test_classify(void **s) {
  kafu_drv d;
  kafu_err e;
  assert_int_equal(parse(&d, false,
                         "-O2 -I include -DX=1 a.c -std=c11 b.c x.o libz.a -lm -L /lib -Wl,--foo -g -Wall "
                         "-fbogus-flag -include pre.h -o app.wasm -Wa,-x -Xlinker --bar -mbulk-memory",
                         &e),
                   0);
  assert_int_equal(d.mode, KAFU_DRV_LINK);
  assert_int_equal(d.nsources, 2);
  assert_int_equal(d.nlinkins, 2);
  assert_string_equal(d.output, "app.wasm");
  assert_true(d.debug);
  assert_true(d.snapify);
  assert_int_equal(d.stack_size, 1024 * 1024);
  struct {
    const char *text;
    kafu_arg_kind kind;
    bool value;
  } want[] = {
      {"-O2", KAFU_ARG_OPT, 0},          {"-I", KAFU_ARG_COMPILE, 0},
      {"include", KAFU_ARG_COMPILE, 1},  {"-DX=1", KAFU_ARG_COMPILE, 0},
      {"a.c", KAFU_ARG_SOURCE, 0},       {"-std=c11", KAFU_ARG_COMPILE, 0},
      {"b.c", KAFU_ARG_SOURCE, 0},       {"x.o", KAFU_ARG_LINKIN, 0},
      {"libz.a", KAFU_ARG_LINKIN, 0},    {"-lm", KAFU_ARG_LINK, 0},
      {"-L", KAFU_ARG_LINK, 0},          {"/lib", KAFU_ARG_LINK, 1},
      {"-Wl,--foo", KAFU_ARG_LINK, 0},   {"-g", KAFU_ARG_BOTH, 0},
      {"-Wall", KAFU_ARG_BOTH, 0},       {"-fbogus-flag", KAFU_ARG_BOTH, 0},
      {"-include", KAFU_ARG_COMPILE, 0}, {"pre.h", KAFU_ARG_COMPILE, 1},
      {"-o", KAFU_ARG_OUTPUT, 0},        {"app.wasm", KAFU_ARG_OUTPUT, 1},
      {"-Wa,-x", KAFU_ARG_COMPILE, 0},   {"-Xlinker", KAFU_ARG_LINK, 0},
      {"--bar", KAFU_ARG_LINK, 1},       {"-mbulk-memory", KAFU_ARG_BOTH, 0},
  };
  assert_int_equal(d.nargs, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < d.nargs; i++) {
    assert_string_equal(d.args[i].text, want[i].text);
    if (d.args[i].kind != want[i].kind)
      fail_msg("'%s': kind %d, expected %d", want[i].text, d.args[i].kind, want[i].kind);
    assert_int_equal(d.args[i].is_value, want[i].value);
  }
  kafu_drv_free(&d);

  /* joined forms, debug toggling, -x */
  assert_int_equal(parse(&d, false, "-oapp -Iinc -g -g0 -xc prog.txt -x none data.bin -xc++ z.in", &e), 0);
  assert_string_equal(d.output, "app");
  assert_false(d.debug);
  assert_int_equal(d.args[1].kind, KAFU_ARG_COMPILE);
  assert_int_equal(d.args[4].kind, KAFU_ARG_LANG);
  assert_int_equal(d.args[5].kind, KAFU_ARG_SOURCE);
  assert_string_equal(d.args[5].lang, "c");
  assert_int_equal(d.args[8].kind, KAFU_ARG_LINKIN); /* after -x none: by extension */
  assert_int_equal(d.args[10].kind, KAFU_ARG_SOURCE);
  assert_string_equal(d.args[10].lang, "c++");
  assert_true(d.any_cxx_source);
  kafu_drv_free(&d);

  assert_int_equal(parse(&d, false, "-ggdb3 main.c -emit-llvm", &e), 0);
  assert_true(d.debug);
  assert_int_equal(d.mode, KAFU_DRV_COMPILE); /* -emit-llvm: clang decides, no split */
  kafu_drv_free(&d);
  /* -e and -u are exact-only: -emit-ast / -undef must not swallow the next token */
  assert_int_equal(parse(&d, false, "-undef main.c", &e), 0);
  assert_int_equal(d.nsources, 1);
  kafu_drv_free(&d);
}

static void test_kafu_options(void **s) {
  kafu_drv d;
  kafu_err e;
  assert_int_equal(parse(&d, false, "--kafu-stack-size=4M main.c --no-snapify --kafu-verbose", &e), 0);
  assert_int_equal(d.stack_size, 4u << 20);
  assert_false(d.snapify);
  assert_true(d.verbose);
  kafu_argv a = {0};
  assert_int_equal(kafu_drv_passthrough_argv(&d, &tc, &a), 0);
  assert_false(has_prefix_arg(&a, "--kafu"));
  assert_int_equal(find_arg(&a, "--no-snapify"), -1);
  kafu_argv_free(&a);
  char *objs[8] = {NULL, "/t/main.o"};
  assert_int_equal(kafu_drv_link_argv(&d, &tc, objs, "/t/rt.o", "/t/out.wasm", &a), 0);
  assert_false(has_prefix_arg(&a, "--kafu"));
  kafu_argv_free(&a);
  kafu_drv_free(&d);

  assert_int_equal(parse(&d, false, "--kafu-stack-size 8192 main.c", &e), 0);
  assert_int_equal(d.stack_size, 8192);
  assert_int_equal(d.nsources, 1);
  kafu_drv_free(&d);

  assert_int_equal(parse(&d, false, "--kafu-stack-size=lots main.c", &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "lots"));
  kafu_drv_free(&d);
  assert_int_equal(parse(&d, false, "--kafu-stack-size=100 main.c", &e), KAFU_EINVAL);
  kafu_drv_free(&d);
  assert_int_equal(parse(&d, false, "main.c --kafu-stack-size", &e), KAFU_EINVAL);
  kafu_drv_free(&d);
  assert_int_equal(parse(&d, false, "--kafu-frobnicate main.c", &e), KAFU_EINVAL);
  assert_non_null(strstr(e.msg, "--kafu-frobnicate"));
  kafu_drv_free(&d);
}

static void test_compile_and_link_argv(void **s) {
  kafu_drv d;
  kafu_err e;
  assert_int_equal(
      parse(&d, false, "-O2 -DX=1 -I inc a.c -lm b.o -Os -o app.wasm -Wl,--foo -fno-builtin", &e), 0);
  kafu_argv a = {0};
  /* compile step of a.c (args[4]) */
  assert_int_equal(kafu_drv_compile_argv(&d, &tc, 4, "/t/a.o", &a), 0);
  assert_string_equal(a.v[0], "/usr/bin/clang");
  assert_true(find_arg(&a, "--target=wasm32-wasi") > 0);
  assert_true(find_arg(&a, "--sysroot=/usr") > 0);
  assert_true(find_arg(&a, "-O2") > 0);
  assert_true(find_arg(&a, "-Os") > find_arg(&a, "-O2")); /* user order kept: last -O wins in clang */
  assert_int_equal(find_arg(&a, "-I") + 1, find_arg(&a, "inc"));
  assert_true(find_arg(&a, "-fno-builtin") > 0);
  assert_int_equal(find_arg(&a, "-lm"), -1);
  assert_int_equal(find_arg(&a, "-Wl,--foo"), -1);
  assert_int_equal(find_arg(&a, "b.o"), -1);
  assert_int_equal(find_arg(&a, "app.wasm"), -1);
  assert_int_equal(find_arg(&a, "-fno-exceptions"), -1); /* C */
  assert_int_equal(find_arg(&a, "-idirafter") + 1, find_arg(&a, "/k/include"));
  assert_true(find_arg(&a, "-c") > 0);
  assert_int_equal(find_arg(&a, "a.c") + 2, find_arg(&a, "/t/a.o"));
  kafu_argv_free(&a);
  /* a non-source index is refused */
  assert_int_equal(kafu_drv_compile_argv(&d, &tc, 0, "/t/x.o", &a), KAFU_EINVAL);

  /* link step */
  char *objs[16] = {0};
  objs[4] = "/t/a.o";
  assert_int_equal(kafu_drv_link_argv(&d, &tc, objs, "/t/rt.o", "/t/linked.wasm", &a), 0);
  for (size_t i = 0; i < a.n; i++)
    if (a.v[i][0] == '-' && a.v[i][1] == 'O') fail_msg("link step got %s", a.v[i]);
  assert_int_equal(find_arg(&a, "-DX=1"), -1);
  assert_int_equal(find_arg(&a, "a.c"), -1);
  assert_true(find_arg(&a, "/t/a.o") < find_arg(&a, "-lm")); /* order of inputs and libraries kept */
  assert_true(find_arg(&a, "-lm") < find_arg(&a, "b.o"));
  assert_true(find_arg(&a, "-Wl,--foo") > 0);
  assert_true(find_arg(&a, "-fno-builtin") > 0);
  assert_true(find_arg(&a, "/t/rt.o") > 0);
  assert_true(find_arg(&a, "-Wl,--export=__kafu_asyncify_buf") > 0);
  assert_true(find_arg(&a, "-Wl,--strip-debug") > 0);
  assert_true(find_arg(&a, "-Qunused-arguments") > 0);
  assert_int_equal(find_arg(&a, "-o") + 1, find_arg(&a, "/t/linked.wasm"));
  assert_int_equal(find_arg(&a, "app.wasm"), -1);
  kafu_argv_free(&a);
  /* a missing object for a source is refused */
  objs[4] = NULL;
  assert_int_equal(kafu_drv_link_argv(&d, &tc, objs, "/t/rt.o", "/t/linked.wasm", &a), KAFU_EINVAL);
  kafu_drv_free(&d);

  /* -g keeps DWARF; object-only links get no -Qunused-arguments (clang's own warnings) */
  assert_int_equal(parse(&d, false, "-g -O3 x.o y.o", &e), 0);
  assert_int_equal(kafu_drv_link_argv(&d, &tc, NULL, NULL, "/t/l.wasm", &a), 0);
  assert_int_equal(find_arg(&a, "-Wl,--strip-debug"), -1);
  assert_int_equal(find_arg(&a, "-Qunused-arguments"), -1);
  assert_int_equal(find_arg(&a, "-O3"), -1);
  assert_true(find_arg(&a, "-g") > 0);
  kafu_argv_free(&a);
  kafu_drv_free(&d);

  /* -x applies per source; the link sees objects, never -x */
  assert_int_equal(parse(&d, false, "-x c prog.txt -o p", &e), 0);
  assert_int_equal(kafu_drv_compile_argv(&d, &tc, 2, "/t/p.o", &a), 0);
  assert_int_equal(find_arg(&a, "-x") + 1, find_arg(&a, "c"));
  assert_int_equal(find_arg(&a, "c") + 1, find_arg(&a, "prog.txt"));
  kafu_argv_free(&a);
  char *o2[4] = {NULL, NULL, "/t/p.o"};
  assert_int_equal(kafu_drv_link_argv(&d, &tc, o2, NULL, "/t/l.wasm", &a), 0);
  assert_int_equal(find_arg(&a, "-x"), -1);
  assert_true(find_arg(&a, "/t/p.o") > 0);
  kafu_argv_free(&a);
  kafu_drv_free(&d);
}

static void test_cxx(void **s) {
  kafu_drv d;
  kafu_err e;
  kafu_argv a = {0};
  assert_int_equal(parse(&d, true, "-std=c++17 m.cpp -fexceptions -o m.wasm", &e), 0);
  assert_int_equal(kafu_drv_compile_argv(&d, &tc, 1, "/t/m.o", &a), 0);
  assert_string_equal(a.v[1], "--driver-mode=g++");
  assert_true(find_arg(&a, "-fno-exceptions") > 0);
  assert_true(find_arg(&a, "-fexceptions") > find_arg(&a, "-fno-exceptions")); /* the user's wins */
  kafu_argv_free(&a);
  char *objs[4] = {NULL, "/t/m.o"};
  assert_int_equal(kafu_drv_link_argv(&d, &tc, objs, "/t/rt.o", "/t/l.wasm", &a), 0);
  assert_string_equal(a.v[1], "--driver-mode=g++"); /* links libc++ */
  kafu_argv_free(&a);
  /* the support object is C, compiled by the C driver */
  assert_int_equal(kafu_drv_rt_argv(&d, &tc, "/t/rt.o", &a), 0);
  assert_int_equal(find_arg(&a, "--driver-mode=g++"), -1);
  kafu_argv_free(&a);
  kafu_drv_free(&d);
  /* kafu cc on a C++ source also gets -fno-exceptions */
  assert_int_equal(parse(&d, false, "-c m.cc", &e), 0);
  assert_int_equal(kafu_drv_passthrough_argv(&d, &tc, &a), 0);
  assert_true(find_arg(&a, "-fno-exceptions") > 0);
  assert_int_equal(find_arg(&a, "--driver-mode=g++"), -1);
  kafu_argv_free(&a);
  kafu_drv_free(&d);
}

static void test_rt_argv(void **s) {
  kafu_drv d;
  kafu_err e;
  kafu_argv a = {0};
  assert_int_equal(
      parse(&d, false, "--kafu-stack-size=64K -O0 -mbulk-memory -pthread -mllvm -foo -DY m.c", &e), 0);
  assert_int_equal(kafu_drv_rt_argv(&d, &tc, "/t/rt.o", &a), 0);
  assert_true(find_arg(&a, "-DKAFU_ASYNCIFY_BUF_SIZE=65536") > 0);
  assert_true(find_arg(&a, "-mbulk-memory") > 0);
  assert_true(find_arg(&a, "-pthread") > 0);
  assert_int_equal(find_arg(&a, "-mllvm"), -1);
  assert_int_equal(find_arg(&a, "-DY"), -1);
  assert_int_equal(find_arg(&a, "-x") + 1, find_arg(&a, "c"));
  assert_true(find_arg(&a, "/k/share/kafu_rt.c") > 0);
  assert_int_equal(find_arg(&a, "-o") + 1, find_arg(&a, "/t/rt.o"));
  kafu_argv_free(&a);
  kafu_drv_free(&d);
}

static void test_depfiles(void **s) {
  kafu_drv d;
  kafu_err e;
  kafu_argv a = {0};
  /* like clang's compile+link: deps named after -o, target = -o */
  assert_int_equal(parse(&d, false, "-MD src/main.c -o out/app.wasm", &e), 0);
  assert_int_equal(kafu_drv_compile_argv(&d, &tc, 1, "/t/m.o", &a), 0);
  assert_string_equal(a.v[find_arg(&a, "-MF") + 1], "out/app.d");
  assert_string_equal(a.v[find_arg(&a, "-MT") + 1], "out/app.wasm");
  kafu_argv_free(&a);
  kafu_drv_free(&d);
  /* no -o: named after the source, in the current directory */
  assert_int_equal(parse(&d, false, "-MMD src/main.c", &e), 0);
  assert_int_equal(kafu_drv_compile_argv(&d, &tc, 1, "/t/m.o", &a), 0);
  assert_string_equal(a.v[find_arg(&a, "-MF") + 1], "main.d");
  assert_string_equal(a.v[find_arg(&a, "-MT") + 1], "main.o");
  kafu_argv_free(&a);
  kafu_drv_free(&d);
  /* the user's -MF/-MT are kept and not duplicated */
  assert_int_equal(parse(&d, false, "-MD -MF x.d -MT tgt main.c", &e), 0);
  assert_int_equal(kafu_drv_compile_argv(&d, &tc, 5, "/t/m.o", &a), 0);
  int mf = find_arg(&a, "-MF");
  assert_string_equal(a.v[mf + 1], "x.d");
  for (size_t i = (size_t)mf + 1; i < a.n; i++) assert_string_not_equal(a.v[i], "-MF");
  kafu_argv_free(&a);
  kafu_drv_free(&d);
}

static void test_response_file(void **s) {
  char path[] = "/tmp/kafu-drv-rsp-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *txt = "-O2 'my file.c'\n-DMSG=\"a b\"\t -o out.wasm\n";
  assert_int_equal(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
  close(fd);
  char at[64];
  snprintf(at, sizeof at, "@%s", path);
  char *argv[] = {"-g", at, "@/nonexistent/rsp"};
  kafu_drv d;
  kafu_err e;
  assert_int_equal(kafu_drv_parse(&d, 3, argv, false, &e), 0);
  assert_int_equal(d.nargs, 7);
  assert_string_equal(d.args[1].text, "-O2");
  assert_string_equal(d.args[2].text, "my file.c");
  assert_int_equal(d.args[2].kind, KAFU_ARG_SOURCE);
  assert_string_equal(d.args[3].text, "-DMSG=a b");
  assert_string_equal(d.output, "out.wasm");
  assert_string_equal(d.args[6].text, "@/nonexistent/rsp"); /* unreadable: kept, clang reports it */
  kafu_drv_free(&d);
  unlink(path);
}

static void test_argv_join(void **s) {
  kafu_argv a = {0};
  kafu_argv_push(&a, "clang");
  kafu_argv_push(&a, "-DX=a b");
  kafu_argv_push(&a, "it's");
  char *j = kafu_argv_join(&a);
  assert_string_equal(j, "clang '-DX=a b' 'it'\\''s'");
  free(j);
  assert_null(a.v[a.n]);
  kafu_argv_free(&a);
}

static void test_check_output(void **s) {
  kafu_err e;
  char dir[] = "/tmp/kafu-drv-out-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char p[256];
  snprintf(p, sizeof p, "%s/app.wasm", dir);
  assert_int_equal(kafu_drv_check_output(p, &e), 0);
  assert_int_equal(kafu_drv_check_output("-", &e), 0);
  assert_int_equal(kafu_drv_check_output("/dev/null", &e), 0);
  assert_true(kafu_drv_check_output(dir, &e) < 0); /* a directory */
  assert_non_null(strstr(e.msg, "directory"));
  snprintf(p, sizeof p, "%s/missing/app.wasm", dir);
  assert_true(kafu_drv_check_output(p, &e) < 0);
  assert_non_null(strstr(e.msg, "does not exist"));
  assert_true(kafu_drv_check_output("/proc/kafu-test.wasm", &e) < 0); /* no file can be created there */
  assert_true(kafu_drv_check_output("", &e) < 0);

  /* install: executable like a linker's output; no temp files left */
  char src[256], dst[256];
  snprintf(src, sizeof src, "%s/in.wasm", dir);
  snprintf(dst, sizeof dst, "%s/out.wasm", dir);
  assert_int_equal(kafu_write_file_atomic(src, "\0asm\1\0\0\0", 8, NULL), 0);
  assert_int_equal(kafu_drv_install_output(src, dst, &e), 0);
  struct stat st;
  assert_int_equal(stat(dst, &st), 0);
  assert_int_equal(st.st_size, 8);
  assert_true(st.st_mode & S_IXUSR);
  assert_int_equal(kafu_drv_install_output(src, "/dev/null", &e), 0);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 2 && rm -rf %s", dir, dir);
  assert_int_equal(system(cmd), 0);
}

static void test_toolchain_env(void **s) {
  kafu_toolchain t;
  kafu_err e;
  setenv("KAFU_CLANG", "/nonexistent/clang", 1);
  kafu_tunables_reload();
  kafu_toolchain_find(&t);
  assert_null(t.clang);
  assert_int_equal(kafu_toolchain_missing(&t, false, false, &e), KAFU_ENOENT);
  assert_non_null(strstr(e.msg, "KAFU_CLANG=/nonexistent/clang"));
  assert_non_null(strstr(e.msg, "Debian package clang"));
  kafu_toolchain_free(&t);
  unsetenv("KAFU_CLANG");
  kafu_tunables_reload();

  setenv("KAFU_WASI_SYSROOT", "/nonexistent", 1);
  kafu_tunables_reload();
  kafu_toolchain_find(&t);
  assert_string_equal(t.sysroot, "/nonexistent");
  if (t.clang) {
    assert_int_equal(kafu_toolchain_missing(&t, false, true, &e), KAFU_ENOENT);
    assert_non_null(strstr(e.msg, "wasi-libc"));
  }
  kafu_tc_check c[16];
  size_t n = kafu_toolchain_check(&t, c, 16);
  assert_true(n >= 8);
  bool saw = false;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(c[i].name, "libc++ (wasm32)")) saw = true, assert_false(c[i].ok);
  assert_true(saw);
  kafu_toolchain_free(&t);
  unsetenv("KAFU_WASI_SYSROOT");
  kafu_tunables_reload();

  setenv("KAFU_CLANG_RT_BUILTINS", "/nonexistent/libclang_rt.a", 1);
  kafu_tunables_reload();
  kafu_toolchain_find(&t);
  if (t.clang) {
    assert_int_equal(kafu_toolchain_missing(&t, false, false, &e), 0); /* compile-only: not needed */
    assert_int_equal(kafu_toolchain_missing(&t, false, true, &e), KAFU_ENOENT);
    assert_non_null(strstr(e.msg, "libclang-rt-14-dev-wasm32"));
  }
  kafu_toolchain_free(&t);
  unsetenv("KAFU_CLANG_RT_BUILTINS");
  kafu_tunables_reload();
}

static void test_capture_line(void **s) {
  char line[64];
  char *argv[] = {"sh", "-c", "echo first; echo second; echo err >&2; exit 3", NULL};
  assert_int_equal(kafu_capture_line(argv, line, sizeof line), 3);
  assert_string_equal(line, "first");
  char *bad[] = {"/nonexistent/prog", NULL};
  assert_int_equal(kafu_capture_line(bad, line, sizeof line), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lang_and_names),
      cmocka_unit_test(test_parse_size),
      cmocka_unit_test(test_modes),
      cmocka_unit_test(test_raw),
      cmocka_unit_test(test_classify),
      cmocka_unit_test(test_kafu_options),
      cmocka_unit_test(test_compile_and_link_argv),
      cmocka_unit_test(test_cxx),
      cmocka_unit_test(test_rt_argv),
      cmocka_unit_test(test_depfiles),
      cmocka_unit_test(test_response_file),
      cmocka_unit_test(test_argv_join),
      cmocka_unit_test(test_check_output),
      cmocka_unit_test(test_toolchain_env),
      cmocka_unit_test(test_capture_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
