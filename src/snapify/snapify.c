/*
 * snapify.c — the Snapify entry points: parse, plan (plan.c), transform
 * (transform.c) in an isolated child process, verify, append kafu.meta.
 *
 * Why a child process: libbinaryen 108 reports malformed input and some
 * unsupported constructs by printing a message and calling exit(), and can
 * assert on odd modules. Our reader and planner reject what we know about,
 * but "never crash on bad input" must hold for what we do not know about
 * too. The child writes its result (or error) into a memfd; the parent turns
 * any abnormal end into an error message that quotes Binaryen's output.
 *
 * Why verify: a function that can be on the stack at a migration point but
 * was not instrumented makes migrations silently resume in the wrong place.
 * After the transform we decode the output, find Asyncify's state global
 * through asyncify_get_state, and check that every function the plan says
 * must be instrumented (and that survived optimization) reads that global.
 * That scan also gives the instrumented/total counts for kafu.meta.
 *
 * Already-Snapified input (it has a kafu.meta section) is copied unchanged
 * (idempotent), unless a different --kafu-stack-size is requested.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapify_internal.h"

/* ---- helpers ------------------------------------------------------------------ */

int kafu_snapify_parse_size(const char *s, uint32_t *out) {
  char *end;
  errno = 0;
  if (!s || !*s || *s == '-') return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return -1;
  unsigned long long mul = 1;
  if (*end == 'k' || *end == 'K')
    mul = 1024, end++;
  else if (*end == 'm' || *end == 'M')
    mul = 1024 * 1024, end++;
  else if (*end == 'g' || *end == 'G')
    mul = 1024ull * 1024 * 1024, end++;
  if (*end == 'i' || *end == 'B' || *end == 'b') { /* KiB, KB */
    if (*end == 'i') end++;
    if (*end == 'B' || *end == 'b') end++;
  }
  if (*end || v > UINT32_MAX / mul) return -1;
  *out = (uint32_t)(v * mul);
  return 0;
}

static size_t code_size(const kafu_wasm_module *m) {
  for (uint32_t i = 0; i < m->nsections; i++)
    if (m->sections[i].id == KAFU_WASM_SEC_CODE) return m->sections[i].payload_len;
  return 0;
}

static bool strip_section(const char *name) {
  return !strncmp(name, ".debug_", 7) || !strcmp(name, "sourceMappingURL") ||
         !strcmp(name, "external_debug_info");
}

/* The input without DWARF/source-map sections: they describe code the
 * transform rewrites, so keeping them would only mislead debuggers. */
static int strip_debug(const kafu_wasm_module *m, kafu_buf *b) {
  int rc = kafu_buf_append(b, m->bytes, 8);
  uint32_t ci = 0;
  for (uint32_t i = 0; i < m->nsections && !rc; i++) {
    const kafu_wasm_section *s = &m->sections[i];
    size_t end = s->payload_offset + s->payload_len;
    if (s->id == KAFU_WASM_SEC_CUSTOM) {
      const kafu_wasm_custom *c = &m->customs[ci++];
      if (strip_section(c->name)) continue;
    }
    rc = kafu_buf_append(b, m->bytes + s->offset, end - s->offset);
  }
  return rc ? KAFU_ENOMEM : 0;
}

static void info_from_plan(kafu_snapify_info *info, const ks_plan *p) {
  info->funcs = calloc(p->nannots ? p->nannots : 1, sizeof *info->funcs);
  if (!info->funcs) return;
  for (uint32_t i = 0; i < p->nannots; i++) {
    info->funcs[i].name = strdup(p->annots[i].name);
    info->funcs[i].dest = strdup(p->annots[i].dest);
    info->funcs[i].func_index = p->annots[i].func;
    info->funcs[i].via_thunk = p->annots[i].via_thunk;
  }
  info->nfuncs = p->nannots;
  info->reaching = p->nreach;
  for (uint32_t i = 0; i < p->nannots; i++) info->reaching += p->annots[i].inner_reaches;
  info->ignore_indirect = !p->indirect_needed;
  info->mutable_globals = p->nmutable_globals;
  info->buf_size = p->buf_size;
  info->buf_addr = p->buf_addr;
}

static void info_from_meta(kafu_snapify_info *info, const kafu_meta *meta) {
  info->funcs = calloc(meta->nfuncs ? meta->nfuncs : 1, sizeof *info->funcs);
  if (!info->funcs) return;
  for (uint32_t i = 0; i < meta->nfuncs; i++) {
    info->funcs[i].name = strdup(meta->funcs[i].name);
    info->funcs[i].dest = strdup(meta->funcs[i].dest);
    info->funcs[i].func_index = UINT32_MAX;
  }
  info->nfuncs = meta->nfuncs;
  info->already_snapified = true;
  info->instrumented = meta->instrumented_functions;
  info->total_functions = meta->total_functions;
  info->buf_size = meta->asyncify_buf_size;
}

void kafu_snapify_info_free(kafu_snapify_info *info) {
  if (!info) return;
  for (uint32_t i = 0; info->funcs && i < info->nfuncs; i++) {
    free(info->funcs[i].name);
    free(info->funcs[i].dest);
  }
  free(info->funcs);
  memset(info, 0, sizeof *info);
}

const kafu_log_ctx ks_log = {"snapify"};

static void print_warnings(const ks_plan *p) {
  kafu_log_lines(&ks_log, KAFU_LOG_WARN, (const char *)p->warnings.data, p->warnings.len);
}

/* ---- isolated transform --------------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k, n -= (size_t)k;
  }
  return 0;
}

static int read_fd(int fd, kafu_buf *b) {
  if (lseek(fd, 0, SEEK_SET) < 0) return -1;
  char tmp[65536];
  for (;;) {
    ssize_t k = read(fd, tmp, sizeof tmp);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -1;
    if (k == 0) return 0;
    if (kafu_buf_append(b, tmp, (size_t)k) < 0) return -1;
  }
}

/* Binaryen's output condensed to one line for an error message. */
static void log_excerpt(const kafu_buf *log, char *out, size_t n) {
  size_t o = 0;
  bool space = false;
  for (size_t i = 0; i < log->len && o + 4 < n; i++) {
    char c = (char)log->data[i];
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = o > 0;
      continue;
    }
    if ((unsigned char)c < 0x20) continue;
    if (space) out[o++] = ' ', space = false;
    out[o++] = c;
  }
  if (o + 4 >= n && o >= 3) memcpy(out + o - 3, "...", 3);
  out[o] = 0;
}

typedef struct {
  int32_t rc;
  uint32_t msglen;
  uint64_t outlen, extralen;
} result_hdr;

/* A unit of Binaryen work, run in a child process. */
typedef int (*binaryen_job)(void *ctx, kafu_buf *out, kafu_buf *extra, kafu_err *err);

typedef struct isolated {
  binaryen_job job;
  void *ctx;
  int res_fd; /* the result goes here: result_hdr, message, out, extra */
  int log_fd; /* the parent's stderr, for our own log lines */
} isolated;

/* The child of run_isolated (its stdout/stderr are the captured log). */
static int isolated_main(void *arg) {
  isolated *iso = arg;
  /* Binaryen's own output (printf, std::cerr) is captured; our log lines keep
   * going to the real stderr */
  FILE *logf = iso->log_fd >= 0 ? fdopen(iso->log_fd, "w") : NULL;
  if (logf) kafu_log_set_output(logf);
  kafu_buf o = {0}, e = {0};
  kafu_err cerr = {0};
  int rc = iso->job(iso->ctx, &o, &e, &cerr);
  result_hdr h = {rc, rc < 0 ? (uint32_t)strlen(cerr.msg) : 0, o.len, e.len};
  int w = write_all(iso->res_fd, &h, sizeof h);
  if (!w && h.msglen) w = write_all(iso->res_fd, cerr.msg, h.msglen);
  if (!w && o.len) w = write_all(iso->res_fd, o.data, o.len);
  if (!w && e.len) w = write_all(iso->res_fd, e.data, e.len);
  return w ? 3 : 0;
}

/* Run job in a forked child; its stdout/stderr (Binaryen's messages) are
 * captured. Any abnormal end (exit() from Binaryen's Fatal, a signal) becomes
 * an error quoting those messages. Binaryen must not have been used in this
 * process before (its thread pool would not survive fork): Kafu only ever
 * calls it through here. */
static int run_isolated(binaryen_job job, void *ctx, bool verbose, kafu_buf *out, kafu_buf *extra,
                        kafu_err *err) {
  if (kafu_tunables_get()->snapify_inprocess) return job(ctx, out, extra, err);

  int resfd = memfd_create("kafu-binaryen-result", MFD_CLOEXEC);
  int logfd = memfd_create("kafu-binaryen-log", MFD_CLOEXEC);
  if (resfd < 0 || logfd < 0) {
    if (resfd >= 0) close(resfd);
    if (logfd >= 0) close(logfd);
    return kafu_err_setc(&ks_log, err, KAFU_EIO, "memfd_create: %s", strerror(errno));
  }
  isolated iso = {job, ctx, resfd, dup(STDERR_FILENO)};
  kafu_proc_opts po = {.out = {KAFU_IO_FD, .fd = logfd}, .err = {KAFU_IO_STDOUT}};
  int status = kafu_proc_fork_run(isolated_main, &iso, &po, err);
  if (iso.log_fd >= 0) close(iso.log_fd);
  if (status < 0) {
    close(resfd), close(logfd);
    return kafu_err_prefix(err, "snapify");
  }
  kafu_buf res = {0}, log = {0};
  int rc = 0;
  char excerpt[600];
  if (read_fd(resfd, &res) < 0 || read_fd(logfd, &log) < 0) {
    rc = kafu_err_setc(&ks_log, err, KAFU_EIO, "reading the Binaryen process's result: %s", strerror(errno));
    goto out;
  }
  log_excerpt(&log, excerpt, sizeof excerpt);
  if (verbose) kafu_log_lines(&ks_log, KAFU_LOG_INFO, (const char *)log.data, log.len);
  result_hdr h;
  if (status != 0 || res.len < sizeof h) {
    char how[96];
    kafu_proc_status_text(status, how, sizeof how);
    rc = kafu_err_set(err, KAFU_EUNSUP, "Binaryen 108 could not process the module (it %s): %s", how,
                      excerpt[0] ? excerpt : "no message");
    goto out;
  }
  memcpy(&h, res.data, sizeof h);
  if (sizeof h + (uint64_t)h.msglen + h.outlen + h.extralen != res.len) {
    rc = kafu_err_setc(&ks_log, err, KAFU_EIO, "truncated result from the Binaryen process");
    goto out;
  }
  const uint8_t *p = res.data + sizeof h;
  if (h.rc < 0) {
    rc = kafu_err_set(err, h.rc, "%.*s%s%s", (int)h.msglen, (const char *)p, excerpt[0] ? ": " : "", excerpt);
    goto out;
  }
  p += h.msglen;
  if ((out && kafu_buf_append(out, p, h.outlen) < 0) ||
      (extra && kafu_buf_append(extra, p + h.outlen, h.extralen) < 0))
    rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
out:
  kafu_buf_free(&res);
  kafu_buf_free(&log);
  close(resfd);
  close(logfd);
  return rc;
}

typedef struct {
  const uint8_t *in;
  size_t len;
  const ks_plan *plan;
  bool verbose;
} transform_job;

static int do_transform(void *ctx, kafu_buf *out, kafu_buf *extra, kafu_err *err) {
  transform_job *j = ctx;
  return ks_transform(j->in, j->len, j->plan, j->verbose, out, extra, err);
}

typedef struct {
  const uint8_t *in;
  size_t len;
  uint32_t features;
} validate_job;

static int do_validate(void *ctx, kafu_buf *out, kafu_buf *extra, kafu_err *err) {
  validate_job *j = ctx;
  return ks_validate(j->in, j->len, j->features, err);
}

int kafu_snapify_validate(const uint8_t *wasm, size_t len, kafu_err *err) {
  kafu_wasm_module m;
  int rc = kafu_wasm_parse(wasm, len, &m, err);
  if (rc < 0) return rc;
  validate_job j = {wasm, len, 0};
  rc = kafu_wasm_detect_features(&m, &j.features, err);
  kafu_wasm_module_free(&m);
  if (rc < 0) return rc;
  return run_isolated(do_validate, &j, false, NULL, NULL, err);
}

/* ---- verification ------------------------------------------------------------ */

typedef struct {
  uint32_t global;
  bool found;
} find_global;

static int on_first_global(void *ud, const kafu_wasm_instr *in) {
  find_global *f = ud;
  if (in->op == KAFU_WASM_OP_GLOBAL_GET) {
    f->global = (uint32_t)in->a;
    f->found = true;
    return 1;
  }
  return 0;
}

static int on_uses_global(void *ud, const kafu_wasm_instr *in) {
  const find_global *f = ud;
  return (in->op == KAFU_WASM_OP_GLOBAL_GET || in->op == KAFU_WASM_OP_GLOBAL_SET) && in->a == f->global;
}

static int verify_output(const kafu_wasm_module *om, const ks_plan *plan, const kafu_buf *expect,
                         bool verbose, uint32_t *instrumented, uint32_t *total, kafu_err *err) {
  static const char *api[] = {"asyncify_start_unwind", "asyncify_stop_unwind", "asyncify_start_rewind",
                              "asyncify_stop_rewind", "asyncify_get_state"};
  const kafu_wasm_export *e = kafu_wasm_find_export(om, "asyncify_get_state", KAFU_WASM_EXT_FUNC);
  if (!e || om->funcs[e->index].imported)
    return kafu_err_set(err, KAFU_EINVAL, "internal: the output has no asyncify_get_state export");
  find_global fg = {0};
  if (kafu_wasm_scan_code(om, e->index, on_first_global, &fg, NULL, err) < 0) return KAFU_EFORMAT;
  if (!fg.found) return kafu_err_set(err, KAFU_EINVAL, "internal: asyncify_get_state reads no global");
  uint8_t *inst = calloc(om->nfuncs ? om->nfuncs : 1, 1);
  if (!inst) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  *instrumented = *total = 0;
  for (uint32_t fi = om->nfunc_imports; fi < om->nfuncs; fi++) {
    bool is_api = false;
    for (size_t k = 0; k < sizeof api / sizeof api[0]; k++) {
      const kafu_wasm_export *ae = kafu_wasm_find_export(om, api[k], KAFU_WASM_EXT_FUNC);
      if (ae && ae->index == fi) is_api = true;
    }
    if (is_api) continue; /* Asyncify's own API: neither counted nor instrumented */
    (*total)++;
    int rc = kafu_wasm_scan_code(om, fi, on_uses_global, &fg, NULL, err);
    if (rc < 0) {
      free(inst);
      return rc;
    }
    if (rc > 0) inst[fi] = 1, (*instrumented)++;
  }
  if (verbose) {
    uint32_t shown = 0;
    kafu_infoc(&ks_log, "instrumented functions:");
    for (uint32_t fi = om->nfunc_imports; fi < om->nfuncs; fi++) {
      if (!inst[fi]) continue;
      if (shown++ == 40) {
        kafu_infoc(&ks_log, "  ...");
        break;
      }
      kafu_infoc(&ks_log, "  %s", om->funcs[fi].name ? om->funcs[fi].name : "?");
    }
  }
  int rc = 0;
  for (size_t off = 0; off < expect->len;) {
    const char *name = (const char *)expect->data + off;
    size_t n = strnlen(name, expect->len - off);
    off += n + 1;
    int64_t fi = kafu_wasm_find_func_by_name(om, name);
    if (fi >= 0 && !inst[fi]) {
      rc = kafu_err_set(
          err, KAFU_EINVAL,
          "internal: function '%s' can be on the stack at a migration point but Asyncify did not "
          "instrument it; migrations through it would resume in the wrong place",
          name);
      break;
    }
  }
  free(inst);
  if (!rc && plan->nannots && !kafu_wasm_find_import(om, "kafu", "migration_point"))
    rc = kafu_err_set(err, KAFU_EINVAL, "internal: the output lost its kafu.migration_point import");
  return rc;
}

/* ---- entry points -------------------------------------------------------------- */

int kafu_snapify_analyze(const uint8_t *in, size_t in_len, uint32_t buf_size, kafu_snapify_info *info,
                         kafu_err *err) {
  kafu_wasm_module m;
  memset(info, 0, sizeof *info);
  int rc = kafu_wasm_parse(in, in_len, &m, err);
  if (rc < 0) return rc;
  kafu_meta meta;
  rc = kafu_wasm_read_meta(&m, &meta, err);
  if (rc > 0) {
    info_from_meta(info, &meta);
    kafu_meta_free(&meta);
    rc = 0;
  } else if (rc == 0) {
    ks_plan plan;
    rc = ks_plan_build(&m, buf_size, buf_size != 0, &plan, err);
    if (rc == 0) {
      info_from_plan(info, &plan);
      info->total_functions = m.nfuncs - m.nfunc_imports;
      ks_plan_free(&plan);
    }
  }
  info->in_size = in_len;
  info->in_code_size = code_size(&m);
  kafu_wasm_module_free(&m);
  return rc;
}

int kafu_snapify_ex(const uint8_t *in, size_t in_len, const kafu_snapify_opts *opts, uint8_t **out,
                    size_t *out_len, kafu_snapify_info *info, kafu_err *err) {
  kafu_snapify_opts defaults = {0};
  if (!opts) opts = &defaults;
  kafu_snapify_info scratch;
  if (!info) info = &scratch;
  memset(info, 0, sizeof *info);
  *out = NULL;
  *out_len = 0;
  uint32_t buf_size = opts->asyncify_buf_size ? opts->asyncify_buf_size : KAFU_DEFAULT_ASYNCIFY_BUF_SIZE;

  kafu_wasm_module m, om;
  memset(&om, 0, sizeof om);
  ks_plan plan;
  memset(&plan, 0, sizeof plan);
  kafu_buf stripped = {0}, res = {0}, expect = {0}, meta_payload = {0};
  kafu_meta meta;
  memset(&meta, 0, sizeof meta);
  int rc = kafu_wasm_parse(in, in_len, &m, err);
  if (rc < 0) return rc;
  info->in_size = in_len;
  info->in_code_size = code_size(&m);

  /* already Snapified: idempotent */
  rc = kafu_wasm_read_meta(&m, &meta, err);
  if (rc < 0) goto out;
  if (rc > 0) {
    if (!(meta.flags & KAFU_META_FLAG_SNAPIFIED)) {
      rc = kafu_err_set(err, KAFU_EINVAL, "the module has a kafu.meta section without the 'snapified' flag");
      goto out;
    }
    if (opts->asyncify_buf_size && opts->asyncify_buf_size != meta.asyncify_buf_size) {
      rc = kafu_err_set(
          err, KAFU_EINVAL,
          "the module is already Snapified with --kafu-stack-size=%u; to change it to %u, snapify "
          "the original (unsnapified) module",
          meta.asyncify_buf_size, opts->asyncify_buf_size);
      goto out;
    }
    info_from_meta(info, &meta);
    info->out_size = in_len;
    info->out_code_size = info->in_code_size;
    if (!(*out = malloc(in_len ? in_len : 1))) {
      rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
      goto out;
    }
    memcpy(*out, in, in_len);
    *out_len = in_len;
    if (opts->verbose) kafu_infoc(&ks_log, "the module is already Snapified; copied unchanged");
    rc = 0;
    goto out;
  }

  if ((rc = ks_plan_build(&m, buf_size, opts->asyncify_buf_size != 0, &plan, err)) < 0) goto out;
  buf_size = plan.buf_size; /* may come from the guest support object */
  print_warnings(&plan);
  if (plan.vanished.len) { /* migrations that can never happen: an error unless asked for */
    if (opts->allow_unused_annotations) {
      kafu_log_lines(&ks_log, KAFU_LOG_WARN, (const char *)plan.vanished.data, plan.vanished.len);
    } else {
      kafu_buf msg = {0}; /* one line: "a; b" */
      for (const char *q = kafu_buf_cstr(&plan.vanished); *q;) {
        size_t n = strcspn(q, "\n");
        kafu_buf_printf(&msg, "%s%.*s", msg.len ? "; " : "", (int)n, q);
        q += n + (q[n] == '\n');
      }
      rc = kafu_err_set(err, KAFU_EINVAL,
                        "%s (for annotations left unused on purpose: kafu snapify "
                        "--allow-unused-annotations, kafu cc --kafu-allow-unused-annotations)",
                        msg.data ? kafu_buf_cstr(&msg) : "");
      kafu_buf_free(&msg);
      goto out;
    }
  }
  info_from_plan(info, &plan);
  if (opts->verbose) {
    kafu_infoc(&ks_log, "%u annotated function(s):", plan.nannots);
    for (uint32_t i = 0; i < plan.nannots; i++)
      kafu_infoc(&ks_log, "  id %u  %s -> %s  (function %u%s)", i, plan.annots[i].name, plan.annots[i].dest,
                 plan.annots[i].func, plan.annots[i].via_thunk ? ", export is a command-export thunk" : "");
    kafu_infoc(&ks_log, "%u of %u functions can be on the stack at a migration point; indirect calls %s",
               info->reaching, m.nfuncs - m.nfunc_imports,
               plan.indirect_needed ? "can reach one (only-list)" : "cannot (asyncify-ignore-indirect)");
  }
  if (strip_debug(&m, &stripped) < 0) {
    rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    goto out;
  }
  transform_job tj = {stripped.data, stripped.len, &plan, opts->verbose};
  if ((rc = run_isolated(do_transform, &tj, opts->verbose, &res, &expect, err)) < 0) goto out;

  /* verify and count */
  if ((rc = kafu_wasm_parse(res.data, res.len, &om, err)) < 0) {
    kafu_err_prefix(err, "internal: Binaryen wrote a module our reader rejects");
    goto out;
  }
  uint32_t ninst = 0, ntotal = 0;
  if ((rc = verify_output(&om, &plan, &expect, opts->verbose, &ninst, &ntotal, err)) < 0) goto out;
  info->instrumented = ninst;
  info->total_functions = ntotal;
  info->out_code_size = code_size(&om);

  /* kafu.meta */
  kafu_meta nm = {.version = KAFU_META_VERSION,
                  .flags = KAFU_META_FLAG_SNAPIFIED,
                  .asyncify_buf_size = buf_size,
                  .nfuncs = plan.nannots,
                  .instrumented_functions = ninst,
                  .total_functions = info->total_functions};
  kafu_meta_func *mf = calloc(plan.nannots ? plan.nannots : 1, sizeof *mf);
  if (!mf) {
    rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    goto out;
  }
  for (uint32_t i = 0; i < plan.nannots; i++)
    mf[i] = (kafu_meta_func){i, plan.annots[i].name, plan.annots[i].dest};
  nm.funcs = mf;
  rc = kafu_meta_encode(&nm, &meta_payload);
  free(mf);
  if (rc < 0 || kafu_wasm_append_custom(&res, KAFU_META_SECTION, meta_payload.data, meta_payload.len) < 0) {
    rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
    goto out;
  }
  info->out_size = res.len;
  if (opts->verbose)
    kafu_infoc(&ks_log, "instrumented %u of %u functions; code %zu -> %zu bytes, file %zu -> %zu bytes", ninst,
               info->total_functions, info->in_code_size, info->out_code_size, info->in_size, info->out_size);
  *out = res.data;
  *out_len = res.len;
  res.data = NULL;
  rc = 0;
out:
  kafu_wasm_module_free(&om);
  kafu_wasm_module_free(&m);
  ks_plan_free(&plan);
  kafu_meta_free(&meta);
  kafu_buf_free(&stripped);
  kafu_buf_free(&res);
  kafu_buf_free(&expect);
  kafu_buf_free(&meta_payload);
  if (info == &scratch) kafu_snapify_info_free(&scratch);
  return rc;
}

int kafu_snapify(const uint8_t *in, size_t in_len, const kafu_snapify_opts *opts, uint8_t **out,
                 size_t *out_len, kafu_err *err) {
  return kafu_snapify_ex(in, in_len, opts, out, out_len, NULL, err);
}

int kafu_snapify_file(const char *in_path, const char *out_path, const kafu_snapify_opts *opts,
                      kafu_err *err) {
  uint8_t *in = NULL, *out = NULL;
  size_t in_len = 0, out_len = 0;
  int rc = kafu_read_file(in_path, &in, &in_len, err);
  if (rc < 0) return rc;
  rc = kafu_snapify(in, in_len, opts, &out, &out_len, err);
  if (rc < 0) {
    kafu_err_prefix(err, "%s", in_path);
  } else {
    rc = kafu_write_file_atomic(out_path, out, out_len, err);
  }
  free(in);
  free(out);
  return rc;
}
