#!/usr/bin/env bash
# wasi_sandbox.sh — the WASI host end to end through `kafu run`: a real C
# program (wasi-libc) reads, writes, lists and links files in its preopened
# directory, and every escape attempt (.., absolute paths, symlinks planted on
# the host that point outside, symlinks it tries to create) is denied — with
# openat2 and with the portable resolver (KAFU_WASI_NO_OPENAT2=1). Also: stdin
# and poll() on stdin, and the error for a missing preopen directory.
source "$KAFU_SRC/tests/shell/lib/common.sh"

cat >"$T/probe.c" <<'EOF'
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int err(void) { printf("ERR %s\n", strerror(errno)); return 0; }
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *c = argv[1];
  if (!strcmp(c, "read")) {
    FILE *f = fopen(argv[2], "r");
    if (!f) return err();
    char buf[256] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    printf("%.*s\n", (int)n, buf);
  } else if (!strcmp(c, "write")) {
    FILE *f = fopen(argv[2], "w");
    if (!f) return err();
    fputs(argv[3], f);
    fclose(f);
    puts("ok");
  } else if (!strcmp(c, "ls")) {
    DIR *d = opendir(argv[2]);
    if (!d) return err();
    char *names[256];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256)
      if (de->d_name[0] != '.') names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) printf("%s%s", i ? " " : "", names[i]);
    printf("\n");
  } else if (!strcmp(c, "symlink")) {
    if (symlink(argv[2], argv[3]) < 0) return err();
    puts("ok");
  } else if (!strcmp(c, "mkdir")) {
    if (mkdir(argv[2], 0755) < 0) return err();
    puts("ok");
  } else if (!strcmp(c, "rename")) {
    if (rename(argv[2], argv[3]) < 0) return err();
    puts("ok");
  } else if (!strcmp(c, "stdin")) {
    char buf[256];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
  } else if (!strcmp(c, "poll")) {
    struct pollfd p = {.fd = 0, .events = POLLIN};
    int r = poll(&p, 1, atoi(argv[2]));
    puts(r > 0 ? "ready" : r == 0 ? "timeout" : "error");
  }
  return 0;
}
EOF
clang --target=wasm32-wasi --sysroot=/usr -O2 "$T/probe.c" -o "$T/probe.wasm" || fail "clang probe.c"

mkdir -p "$T/box/sub" "$T/outside"
echo -n "hello from the box" >"$T/box/hello.txt"
echo -n "TOP SECRET" >"$T/outside/secret"
touch "$T/box/sub/b" "$T/box/sub/a"
ln -s ../outside "$T/box/link"
ln -s /etc "$T/box/abs"
ln -s ../outside/secret "$T/box/filelink"
ln -s sub "$T/box/inside"

cd "$T"
run() { "$KAFU" run --dir "$T/box::/data" probe.wasm "$@" 2>"$T/stderr"; }
expect() { # expected-output what cmd...
  local want=$1 what=$2
  shift 2
  local got
  got=$(run "$@")
  [ "$got" = "$want" ] || fail "$what: got '$got', expected '$want' (stderr: $(head -c 300 "$T/stderr"))"
}
expect_denied() { # what cmd...
  local what=$1
  shift
  local got
  got=$(run "$@")
  case "$got" in
    ERR*) ;;
    *) fail "$what must be denied, got '$got'" ;;
  esac
}

for mode in openat2 walk; do
  if [ $mode = walk ]; then export KAFU_WASI_NO_OPENAT2=1; else unset KAFU_WASI_NO_OPENAT2; fi
  expect "hello from the box" "[$mode] read inside" read /data/hello.txt
  expect "hello from the box" "[$mode] read through an inside symlink" read /data/inside/../hello.txt
  expect "a b" "[$mode] ls" ls /data/sub
  expect "a b" "[$mode] ls through an inside symlink" ls /data/inside
  expect_denied "[$mode] .." read /data/../outside/secret
  expect_denied "[$mode] .. from a subdirectory" read /data/sub/../../outside/secret
  expect_denied "[$mode] absolute path outside the preopen" read /etc/passwd
  expect_denied "[$mode] symlinked directory to outside" read /data/link/secret
  expect_denied "[$mode] symlink to a file outside" read /data/filelink
  expect_denied "[$mode] absolute symlink" read /data/abs/passwd
  expect_denied "[$mode] listing outside via symlink" ls /data/link
  expect_denied "[$mode] writing outside via symlink" write /data/link/new x
  expect_denied "[$mode] creating a symlink that points outside" symlink ../outside/secret /data/evil
  expect_denied "[$mode] creating an absolute symlink" symlink /etc/passwd /data/evil2
  expect_denied "[$mode] mkdir outside via symlink" mkdir /data/link/newdir
  expect_denied "[$mode] renaming a file out of the sandbox" rename /data/hello.txt /data/link/stolen
  expect ok "[$mode] write inside" write /data/out-$mode.txt "written by $mode"
  [ "$(cat "$T/box/out-$mode.txt")" = "written by $mode" ] || fail "[$mode] write did not reach the host file"
  expect ok "[$mode] symlink inside" symlink sub/a /data/ok-$mode
  [ "$(readlink "$T/box/ok-$mode")" = "sub/a" ] || fail "[$mode] symlink target not stored as given"
done
unset KAFU_WASI_NO_OPENAT2
[ ! -e "$T/box/evil" ] && [ ! -e "$T/box/evil2" ] || fail "an outside-pointing symlink was created"
[ "$(ls "$T/outside")" = "secret" ] || fail "something was created outside: $(ls "$T/outside")"
[ "$(cat "$T/outside/secret")" = "TOP SECRET" ] || fail "the outside file was modified"
[ -e "$T/box/hello.txt" ] || fail "hello.txt was moved out"

# stdin and poll() on stdin
got=$(printf 'line one\nline two\n' | "$KAFU" run probe.wasm stdin) || fail "stdin run failed"
[ "$got" = $'line one\nline two' ] || fail "stdin: got '$got'"
got=$( (sleep 3; echo late) | "$KAFU" run probe.wasm poll 200)
[ "$got" = "timeout" ] || fail "poll on an idle stdin pipe should time out, got '$got'"
got=$(echo now | "$KAFU" run probe.wasm poll 10000)
[ "$got" = "ready" ] || fail "poll on stdin with data should be ready, got '$got'"

# a missing preopen directory is an error naming it
"$KAFU" run --dir "$T/no-such-dir::/x" probe.wasm ls /x >"$T/out" 2>"$T/err"
rc=$?
[ $rc -ne 0 ] || fail "missing preopen directory must fail"
grep -q "no-such-dir" "$T/err" || fail "error should name the missing directory: $(cat "$T/err")"
echo "PASS wasi_sandbox"
