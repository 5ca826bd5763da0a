/*
 * symbolize.c — turn the native PCs of a trap into wasm function names.
 *
 * wasm2c runs with --no-debug-names, so every wasm function becomes a static C
 * function named w2c_f<index> (or w2c_<export name> for exported ones). The
 * artifact keeps its ELF .symtab (we never strip it), which gives each such
 * function's address range; the wasm "name" section, read at load time, then
 * gives the source-level name (demangled C++ included). Symbols are loaded
 * lazily, on the first trap only, so normal runs pay nothing.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot_internal.h"

static int sym_cmp(const void *a, const void *b) {
  const sym_entry *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* wasm function index of a generated C symbol, -1 when it is not a wasm function */
static int32_t func_of_symbol(const kafu_module *m, const char *sym) {
  char base[512];
  size_t n = strcspn(sym, "."); /* .part.0 / .isra.0 / .constprop.0 / .cold clones */
  if (n >= sizeof base) return -1;
  memcpy(base, sym, n);
  base[n] = 0;
  /* the glue's invoker of export N and wasm2c's export wrappers contain only
   * the exported function's code (inlined into them) */
  unsigned inv;
  char tail;
  if (sscanf(base, "kafu_inv_%u%c", &inv, &tail) == 1 && inv < m->wi.nexports &&
      m->wi.exports[inv].kind == WI_EXT_FUNC)
    return (int32_t)m->wi.exports[inv].index;
  char mg[512];
  if (!strncmp(base, "Z_appZ_", 7)) {
    for (uint32_t i = 0; i < m->wi.nexports; i++) {
      if (m->wi.exports[i].kind != WI_EXT_FUNC) continue;
      kafu_aot_mangle(m->wi.exports[i].name, mg, sizeof mg);
      if (!strcmp(mg, base + 7)) return (int32_t)m->wi.exports[i].index;
    }
    return -1;
  }
  if (strncmp(base, "w2c_", 4) != 0) return -1;
  const char *r = base + 4;
  if (r[0] == 'f' && r[1]) {
    char *end;
    unsigned long v = strtoul(r + 1, &end, 10);
    if (!*end && v < wi_nfuncs_total(&m->wi)) return (int32_t)v;
  }
  char leg[512];
  for (uint32_t i = 0; i < m->wi.nexports; i++) {
    const wi_export *ex = &m->wi.exports[i];
    if (ex->kind != WI_EXT_FUNC) continue;
    kafu_aot_legalize(ex->name, leg, sizeof leg);
    if (!strcmp(leg, r)) return (int32_t)ex->index;
  }
  return -1;
}

static void load_symbols(kafu_module *m) {
  aot_mod(m)->sym_loaded = true;
  struct link_map *lm = NULL;
  if (!aot_mod(m)->art.dl || dlinfo(aot_mod(m)->art.dl, RTLD_DI_LINKMAP, &lm) != 0 || !lm) return;
  aot_mod(m)->load_base = (uintptr_t)lm->l_addr;
  uint8_t *f = NULL;
  size_t len = 0;
  if (kafu_read_file(aot_mod(m)->art.path, &f, &len, NULL) != 0) return;
  if (len < sizeof(Elf64_Ehdr) || memcmp(f, ELFMAG, SELFMAG) != 0 || f[EI_CLASS] != ELFCLASS64) goto out;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
  if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
      eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len)
    goto out;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
    const Elf64_Shdr *st = &sh[sh[i].sh_link];
    if (sh[i].sh_offset + sh[i].sh_size > len || st->sh_offset + st->sh_size > len) goto out;
    const Elf64_Sym *syms = (const Elf64_Sym *)(f + sh[i].sh_offset);
    size_t nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
    const char *strs = (const char *)(f + st->sh_offset);
    aot_mod(m)->syms = calloc(nsyms ? nsyms : 1, sizeof *aot_mod(m)->syms);
    if (!aot_mod(m)->syms) goto out;
    for (size_t k = 0; k < nsyms; k++) {
      if (ELF64_ST_TYPE(syms[k].st_info) != STT_FUNC || !syms[k].st_size || syms[k].st_name >= st->sh_size)
        continue;
      const char *name = strs + syms[k].st_name;
      if (!memchr(name, 0, st->sh_size - syms[k].st_name)) continue;
      sym_entry *e = &aot_mod(m)->syms[aot_mod(m)->nsyms++];
      e->start = syms[k].st_value;
      e->end = syms[k].st_value + syms[k].st_size;
      e->func = func_of_symbol(m, name);
    }
    qsort(aot_mod(m)->syms, aot_mod(m)->nsyms, sizeof *aot_mod(m)->syms, sym_cmp);
    break;
  }
out:
  free(f);
}

/* -2: address not in a known function of the artifact; else func index or -1 */
static int32_t lookup(const kafu_module *m, uintptr_t addr) {
  if (addr < aot_mod(m)->load_base) return -2;
  uintptr_t off = addr - aot_mod(m)->load_base;
  size_t lo = 0, hi = aot_mod(m)->nsyms;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (aot_mod(m)->syms[mid].start <= off)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0) return -2;
  const sym_entry *e = &aot_mod(m)->syms[lo - 1];
  return off < e->end ? e->func : -2;
}

void kafu_function_display_name(const kafu_module *m, int32_t func, char *out, size_t cap) {
  if (func >= 0 && m->wi.func_names && (uint32_t)func < wi_nfuncs_total(&m->wi) && m->wi.func_names[func]) {
    snprintf(out, cap, "%s", m->wi.func_names[func]);
    return;
  }
  for (uint32_t i = 0; i < m->wi.nexports; i++)
    if (m->wi.exports[i].kind == WI_EXT_FUNC && m->wi.exports[i].index == (uint32_t)func) {
      snprintf(out, cap, "%s", m->wi.exports[i].name);
      return;
    }
  snprintf(out, cap, "function #%d", func);
}

/* Expand frames with addr2line (binutils, installed with gcc): the artifact is
 * built with -g1, whose DWARF records which wasm functions the C compiler
 * inlined where, so the innermost wasm function is named even when it was
 * inlined into its caller. Returns the number of functions written, or -1. */
static int addr2line_frames(const kafu_module *m, const uintptr_t *offs, int n, int32_t *funcs, int max) {
  char *tool = kafu_which("addr2line");
  if (!tool) return -1;
  char *argv[KAFU_BT_MAX + 10];
  char addrs[KAFU_BT_MAX + 1][24];
  int k = 0;
  argv[k++] = tool;
  argv[k++] = "-f";
  argv[k++] = "-i";
  argv[k++] = "-a";
  argv[k++] = "-e";
  argv[k++] = (char *)aot_mod(m)->art.path;
  for (int i = 0; i < n && i <= KAFU_BT_MAX; i++) {
    snprintf(addrs[i], sizeof addrs[i], "0x%lx", (unsigned long)offs[i]);
    argv[k++] = addrs[i];
  }
  argv[k] = NULL;
  kafu_buf out = {0};
  int rc = kafu_engine_capture(argv, &out);
  free(tool);
  if (rc != 0 || !out.data) {
    kafu_buf_free(&out);
    return -1;
  }
  kafu_debugc(&kafu_engine_log, "addr2line:\n%s", (char *)out.data);
  /* groups: "0x<addr>" then pairs of lines (function, file:line), innermost first */
  int nf = 0, line_in_group = 0;
  int32_t group_last = -3;
  for (char *save = NULL, *ln = strtok_r((char *)out.data, "\n", &save); ln && nf < max;
       ln = strtok_r(NULL, "\n", &save)) {
    if (ln[0] == '0' && ln[1] == 'x') {
      line_in_group = 0;
      group_last = -3;
      continue;
    }
    if (line_in_group++ % 2) continue; /* file:line */
    int32_t f = func_of_symbol(m, ln);
    /* an export wrapper/invoker inlining its function is one wasm frame */
    if (f >= 0 && f != group_last) funcs[nf++] = f;
    if (f >= 0) group_last = f;
  }
  kafu_buf_free(&out);
  return nf;
}

void kafu_symbolize(kafu_module *m, const kafu_exec *ex, kafu_outcome *out) {
  out->function[0] = out->backtrace[0] = 0;
  if (!ex->pc && ex->nbt == 0) return;
  pthread_mutex_lock(&aot_mod(m)->sym_mu);
  if (!aot_mod(m)->sym_loaded) load_symbols(m);
  pthread_mutex_unlock(&aot_mod(m)->sym_mu);
  if (!aot_mod(m)->nsyms) return;
  /* artifact offsets of the frames, innermost first. Return addresses are
   * looked up at addr-1 so a call at a function's very end (to a noreturn trap)
   * still resolves to the caller; the faulting PC of a signal is exact. */
  uintptr_t offs[KAFU_BT_MAX + 1];
  int32_t funcs[4 * KAFU_BT_MAX];
  int noffs = 0, nf = 0;
  if (ex->pc && lookup(m, (uintptr_t)ex->pc) != -2) offs[noffs++] = (uintptr_t)ex->pc - aot_mod(m)->load_base;
  for (int i = 0; i < ex->nbt && noffs <= KAFU_BT_MAX; i++) {
    if (ex->bt[i] == ex->pc) continue;
    uintptr_t a = (uintptr_t)ex->bt[i] - 1;
    if (lookup(m, a) != -2) offs[noffs++] = a - aot_mod(m)->load_base;
  }
  if (!noffs) return;
  nf = kafu_tunables_get()->no_addr2line
           ? -1
           : addr2line_frames(m, offs, noffs, funcs, (int)(sizeof funcs / sizeof funcs[0]));
  if (nf <= 0) {
    nf = 0;
    for (int i = 0; i < noffs; i++) {
      int32_t f = lookup(m, offs[i] + aot_mod(m)->load_base);
      if (f >= 0) funcs[nf++] = f;
    }
  }
  if (!nf) return;
  kafu_function_display_name(m, funcs[0], out->function, sizeof out->function);
  size_t used = 0, cap = sizeof out->backtrace;
  for (int i = 0; i < nf;) {
    int j = i;
    while (j < nf && funcs[j] == funcs[i]) j++;
    char name[256], item[300];
    kafu_function_display_name(m, funcs[i], name, sizeof name);
    if (j - i > 1)
      snprintf(item, sizeof item, "%s%s (x%d%s)", i ? " <- " : "", name, j - i,
               j == nf && ex->nbt == KAFU_BT_MAX ? "+" : "");
    else
      snprintf(item, sizeof item, "%s%s", i ? " <- " : "", name);
    size_t il = strlen(item);
    if (used + il + 5 >= cap) {
      snprintf(out->backtrace + used, cap - used, " ...");
      break;
    }
    memcpy(out->backtrace + used, item, il + 1);
    used += il;
    i = j;
  }
}

void kafu_symbols_free(kafu_module *m) {
  free(aot_mod(m)->syms);
  aot_mod(m)->syms = NULL;
  aot_mod(m)->nsyms = 0;
  aot_mod(m)->sym_loaded = false;
}
