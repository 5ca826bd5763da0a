/*
 * aot_split.c — split wasm2c's output into several translation units so the C
 * compiler can work on a large module with several cores at once.
 *
 * wasm2c 1.0.32 writes one file in three parts:
 *   A  macros and helpers, func_types, init_func_types, one static prototype
 *      per wasm function; then data segments and the other init_* functions
 *   B  the wasm function definitions, `static T w2c_x(Z_app_instance_t* instance,
 *      ...) {` ... `}` at column 0, one after another
 *   C  export wrappers, Z_app_init_module / instantiate / free
 * The split keeps A's first half (up to the prototypes) as a shared header with
 * the functions and func_types made non-static (they stay hidden: the .so is
 * compiled with -fvisibility=hidden), gives each worker file a share of B, and
 * leaves A's second half, one share of B and C in module.c (the glue's TU).
 *
 * Anything unexpected (another layout, function bodies that use data or element
 * segments, which stay private to module.c) -> no split: the caller compiles
 * the single file as before. Calls across parts cannot be inlined, so small
 * modules are never split (see the threshold in aot_cache.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot_internal.h"

typedef struct line {
  const char *p;
  size_t n; /* without the newline */
} line;

static bool starts(const line *l, const char *s) {
  size_t k = strlen(s);
  return l->n >= k && !memcmp(l->p, s, k);
}
static bool ends(const line *l, const char *s) {
  size_t k = strlen(s);
  return l->n >= k && !memcmp(l->p + l->n - k, s, k);
}
static bool has(const line *l, const char *s) {
  size_t k = strlen(s);
  if (l->n < k) return false;
  for (size_t i = 0; i + k <= l->n; i++)
    if (!memcmp(l->p + i, s, k)) return true;
  return false;
}
/* first line of a prototype / definition of a wasm function; long parameter
 * lists continue on the next lines */
static bool is_proto(const line *l) {
  return starts(l, "static ") && has(l, " w2c_") && has(l, "(Z_app_instance_t*") &&
         !has(l, "(Z_app_instance_t* instance") && !ends(l, "{");
}
static bool is_def(const line *l) {
  return starts(l, "static ") && has(l, " w2c_") && has(l, "(Z_app_instance_t* instance");
}
/* index of the line that ends the header starting at i (ending in `end`), or n */
static size_t header_end(const line *L, size_t n, size_t i, const char *end) {
  for (size_t k = i; k < n && k < i + 16; k++) {
    if (ends(&L[k], end)) return k;
    if (ends(&L[k], ";") || ends(&L[k], "{")) return n;
  }
  return n;
}
static bool is_blank(const line *l) { return l->n == 0; }

static void put(kafu_buf *b, const line *l) {
  kafu_buf_append(b, l->p, l->n);
  kafu_buf_putc(b, '\n');
}
/* a prototype/definition line without its leading "static " */
static void put_nonstatic(kafu_buf *b, const line *l) {
  line x = {l->p + 7, l->n - 7};
  put(b, &x);
}

int kafu_aot_split(const char *dir, int jobs, const char *worker_prelude, kafu_err *err) {
  if (jobs < 2) return 1;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/module.c", dir);
  uint8_t *src;
  size_t len;
  int rc = kafu_read_file(path, &src, &len, err);
  if (rc) return rc;
  size_t nl = 1;
  for (size_t i = 0; i < len; i++) nl += src[i] == '\n';
  line *L = malloc(nl * sizeof *L);
  size_t *def_start = malloc(nl * sizeof *def_start), *def_end = malloc(nl * sizeof *def_end);
  kafu_buf head = {0}, mainf = {0};
  kafu_buf *parts = calloc((size_t)jobs, sizeof *parts);
  int result = 1;
  if (!L || !def_start || !def_end || !parts) {
    result = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    goto out;
  }
  size_t n = 0;
  for (size_t i = 0, s = 0; i <= len; i++)
    if (i == len || src[i] == '\n') {
      if (i > s || i < len) L[n++] = (line){(const char *)src + s, i - s};
      s = i + 1;
    }

  size_t first_def = n, last_proto = n;
  for (size_t i = 0; i < n && first_def == n; i++)
    if (is_def(&L[i])) first_def = i;
  for (size_t i = 0; i < first_def; i++)
    if (is_proto(&L[i])) {
      last_proto = header_end(L, n, i, ");");
      if (last_proto == n) goto nosplit;
    }
  if (first_def == n || last_proto == n) goto nosplit;
  /* part B: consecutive definitions */
  size_t ndefs = 0, i = first_def, total = 0;
  while (i < n && is_def(&L[i])) {
    size_t h = header_end(L, n, i, ") {");
    if (h == n) goto nosplit;
    size_t j = h + 1;
    while (j < n && !(L[j].n == 1 && L[j].p[0] == '}')) {
      if (has(&L[j], "data_segment_data_") || has(&L[j], "elem_segment_exprs_") ||
          has(&L[j], "s_module_initialized"))
        goto nosplit; /* bulk-memory/table ops on private segments */
      j++;
    }
    if (j == n) goto nosplit;
    def_start[ndefs] = i;
    def_end[ndefs++] = j;
    for (size_t k = i; k <= j; k++) total += L[k].n + 1;
    i = j + 1;
    while (i < n && is_blank(&L[i])) i++;
  }
  size_t part_c = i;
  for (size_t k = part_c; k < n; k++)
    if (is_def(&L[k])) goto nosplit; /* definitions interleaved with other code */
  if (ndefs < (size_t)jobs * 2) goto nosplit;

  /* shared header: A up to the prototypes */
  kafu_buf_printf(&head, "/* split by kafu (aot_split.c): shared part of module.c */\n");
  for (size_t k = 0; k <= last_proto; k++) {
    if (is_proto(&L[k]))
      put_nonstatic(&head, &L[k]);
    else if (starts(&L[k], "static u32 func_types[")) {
      kafu_buf_printf(&head, "KAFU_SHARED ");
      put_nonstatic(&head, &L[k]);
    } else {
      put(&head, &L[k]);
    }
  }
  /* main file: header, rest of A, share 0 of B, C; workers: shares 1..jobs-1 */
  kafu_buf_printf(&mainf, "#include \"module_head.h\"\n");
  for (size_t k = last_proto + 1; k < first_def; k++) put(&mainf, &L[k]);
  for (int p = 1; p < jobs; p++)
    kafu_buf_printf(&parts[p], "%s\n#include \"module_head.h\"\n", worker_prelude);
  /* balance by bytes of C; module.c also carries the data segments (rest of A) */
  size_t acc = 0;
  for (size_t k = last_proto + 1; k < first_def; k++) acc += L[k].n + 1;
  total += acc;
  for (size_t d = 0; d < ndefs; d++) {
    size_t sz = 0;
    for (size_t k = def_start[d]; k <= def_end[d]; k++) sz += L[k].n + 1;
    int p = (int)(acc * (size_t)jobs / (total ? total : 1));
    if (p >= jobs) p = jobs - 1;
    kafu_buf *b = p == 0 ? &mainf : &parts[p];
    put_nonstatic(b, &L[def_start[d]]);
    for (size_t k = def_start[d] + 1; k <= def_end[d]; k++) put(b, &L[k]);
    kafu_buf_putc(b, '\n');
    acc += sz;
  }
  for (size_t k = part_c; k < n; k++) put(&mainf, &L[k]);

  snprintf(path, sizeof path, "%s/module_head.h", dir);
  if ((rc = kafu_write_file_atomic(path, head.data, head.len, err))) {
    result = rc;
    goto out;
  }
  for (int p = 1; p < jobs; p++) {
    snprintf(path, sizeof path, "%s/part%d.c", dir, p);
    if ((rc = kafu_write_file_atomic(path, parts[p].data, parts[p].len, err))) {
      result = rc;
      goto out;
    }
  }
  snprintf(path, sizeof path, "%s/module.c", dir);
  if ((rc = kafu_write_file_atomic(path, mainf.data, mainf.len, err))) {
    result = rc;
    goto out;
  }
  result = jobs;
  goto out;
nosplit:
  kafu_debugc(&kafu_engine_log, "wasm2c output layout not recognised for splitting; compiling one file");
  result = 1;
out:
  kafu_buf_free(&head);
  kafu_buf_free(&mainf);
  for (int p = 0; parts && p < jobs; p++) kafu_buf_free(&parts[p]);
  free(parts);
  free(def_start);
  free(def_end);
  free(L);
  free(src);
  return result;
}
