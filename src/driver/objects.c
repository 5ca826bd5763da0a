/*
 * objects.c — what `kafu cc` checks in the files around clang's steps.
 *
 * Objects. KAFU_EXPORT (Kafu's kafu.h) makes an annotated function a weak
 * definition, so the optimizer cannot reason about its body from a call site:
 * without that, clang at -O2 treats a side-effect-free annotated function as
 * pure and deletes, merges or hoists its calls, and those migrations vanish
 * without a trace. After compiling a source, `kafu cc` reads the object's
 * symbol table and names every annotated function it defines that is not
 * weak (a project's copy of the original kafu.h, a hand-written export).
 *
 * Static libraries of wasm objects without a symbol index. GNU ar writes a symbol index ("/" member) only for
 * object formats BFD knows; for wasm objects it writes none, and wasm-ld then refuses the archive ("archive
 * has no index; run ranlib to add one", where GNU ranlib does not help either). After a failed link, `kafu
 * cc` looks at the archives of the command line (.a inputs, and -lNAME found in the -L directories) and names
 * the ones built that way, with the fix: llvm-ar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/driver.h"
#include "kafu/wasm.h"

#define AR_MAGIC "!<arch>\n"
#define AR_HDR 60

/* One member header: name (16), date (12), uid (6), gid (6), mode (8), size (10), "`\n". */
static bool member(FILE *f, char name[17], long *size) {
  char h[AR_HDR];
  if (fread(h, 1, AR_HDR, f) != AR_HDR || h[58] != '`' || h[59] != '\n') return false;
  memcpy(name, h, 16);
  name[16] = 0;
  char sz[11];
  memcpy(sz, h + 48, 10);
  sz[10] = 0;
  char *end;
  *size = strtol(sz, &end, 10);
  return end != sz && *size >= 0;
}

int kafu_drv_archive_unindexed(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  char magic[8];
  int verdict = 0;
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, AR_MAGIC, 8)) goto out;
  bool first = true, indexed = false, wasm = false;
  char name[17];
  long size;
  for (int n = 0; n < 100000 && member(f, name, &size); n++) {
    if (first && (!strncmp(name, "/ ", 2) || !strncmp(name, "/SYM64/", 7) || !strncmp(name, "__.SYMDEF", 9)))
      indexed = true;
    first = false;
    long at = ftell(f);
    if (strncmp(name, "//", 2) && strncmp(name, "/ ", 2) && !wasm) {
      unsigned char m[4];
      /* BSD long names (#1/N) put the name before the data */
      long skip = !strncmp(name, "#1/", 3) ? strtol(name + 3, NULL, 10) : 0;
      if (skip > 0 && skip < size) fseek(f, skip, SEEK_CUR);
      wasm = fread(m, 1, 4, f) == 4 && !memcmp(m, "\0asm", 4);
    }
    if (at < 0 || fseek(f, at + size + (size & 1), SEEK_SET)) break;
  }
  verdict = wasm && !indexed;
out:
  fclose(f);
  return verdict;
}

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && !strcmp(s + n - m, suf);
}

static void note(kafu_buf *out, const char *path) {
  if (kafu_drv_archive_unindexed(path)) kafu_buf_printf(out, "%s%s", out->len ? ", " : "", path);
}

size_t kafu_drv_unindexed_archives(const kafu_drv *d, kafu_buf *out) {
  size_t before = out->len;
  /* the -L directories, in order */
  const char **dirs = calloc(d->nargs + 1, sizeof *dirs);
  size_t ndirs = 0;
  for (size_t i = 0; dirs && i < d->nargs; i++) {
    const char *t = d->args[i].text;
    if (d->args[i].kind != KAFU_ARG_LINK || d->args[i].is_value) continue;
    if (!strcmp(t, "-L") && i + 1 < d->nargs)
      dirs[ndirs++] = d->args[i + 1].text;
    else if (!strncmp(t, "-L", 2) && t[2])
      dirs[ndirs++] = t + 2;
  }
  for (size_t i = 0; i < d->nargs; i++) {
    const kafu_drv_arg *a = &d->args[i];
    if (a->kind == KAFU_ARG_LINKIN && ends_with(a->text, ".a")) {
      note(out, a->text);
      continue;
    }
    if (a->kind != KAFU_ARG_LINK || a->is_value || strncmp(a->text, "-l", 2)) continue;
    const char *lib = a->text[2] ? a->text + 2 : (i + 1 < d->nargs ? d->args[i + 1].text : NULL);
    if (!lib || !dirs) continue;
    for (size_t k = 0; k < ndirs; k++) {
      char p[4096];
      if (lib[0] == ':')
        snprintf(p, sizeof p, "%s/%s", dirs[k], lib + 1);
      else
        snprintf(p, sizeof p, "%s/lib%s.a", dirs[k], lib);
      if (kafu_file_exists(p)) {
        note(out, p);
        break; /* the linker takes the first one found */
      }
    }
  }
  free(dirs);
  return out->len != before;
}

/* ---- objects ------------------------------------------------------------------------ */

#define DEST_PREFIX ".kafu_dest."

bool kafu_drv_optimizes(const kafu_drv *d) {
  const char *last = NULL;
  for (size_t i = 0; i < d->nargs; i++)
    if (d->args[i].kind == KAFU_ARG_OPT && !d->args[i].is_value) last = d->args[i].text;
  if (!last) return false;
  if (!strncmp(last, "--optimize", 10))
    last = last[10] == '=' ? last + 11 : "1";
  else
    last += 2; /* after -O */
  return strcmp(last, "0") != 0;
}

size_t kafu_drv_strong_dests(const char *obj_path, kafu_buf *out) {
  uint8_t *bytes = NULL;
  size_t len = 0, found = 0;
  kafu_err err = {0};
  kafu_wasm_module m;
  if (kafu_read_file(obj_path, &bytes, &len, &err) < 0) return 0;
  if (kafu_wasm_parse(bytes, len, &m, &err) < 0) { /* LLVM bitcode (-flto): nothing to read */
    free(bytes);
    return 0;
  }
  for (uint32_t i = 0; i < m.ncustoms; i++) {
    const char *sec = m.customs[i].name;
    if (strncmp(sec, DEST_PREFIX, strlen(DEST_PREFIX))) continue;
    const char *fn = sec + strlen(DEST_PREFIX);
    size_t n = strcspn(fn, ".");
    char name[256];
    if (n == 0 || n >= sizeof name) continue;
    memcpy(name, fn, n);
    name[n] = 0;
    if (kafu_wasm_object_func_binding(&m, name, &err) == 0) {
      kafu_buf_printf(out, "%s'%s'", out->len ? ", " : "", name);
      found++;
    }
  }
  kafu_wasm_module_free(&m);
  free(bytes);
  return found;
}
