/*
 * trace.c — events (JSON Lines) to the timeline model of kafu/trace.h.
 *
 * Where a migration sits in time follows from who wrote its record when
 * (docs/migration.md, "Events"):
 *  - a cluster sender writes `migration` once the receiver acknowledged, and
 *    its transfer_ms runs from the first byte to that acknowledgement (the
 *    encode overlaps it, the receiver's decode and restore are inside it): the
 *    program left at time_ns - transfer_ms - unwind_ms; the receiver's
 *    `restore` record (same migration_id) is written after the rewind, when
 *    the program runs there again;
 *  - `kafu singlenode --verify` writes one `migration` record after the
 *    rewind, with all six phases: it left at time_ns minus their sum;
 *  - emulated migrations (plain `kafu singlenode`) take no time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/trace.h"

static const char *const k_phase[KAFU_TRACE_PHASES] = {"unwind", "encode",  "transfer",
                                                       "decode", "restore", "rewind"};

const char *kafu_trace_phase_name(int phase) {
  return phase >= 0 && phase < KAFU_TRACE_PHASES ? k_phase[phase] : "?";
}

/* One record, as read. */
typedef struct rec {
  char type[32];
  uint64_t t;
  char node[64], from[64], to[64], function[128], kind[8], id[128], status[16], message[400], lost[64];
  char compression[16];
  double ms[KAFU_TRACE_PHASES];
  bool has[KAFU_TRACE_PHASES];
  long long wire, raw, mem, exit_code;
  bool has_bytes, delta;
  size_t line;
} rec;

static int grow(void **v, size_t n, size_t *cap, size_t size) {
  if (n < *cap) return 0;
  size_t nc = *cap ? 2 * *cap : 16;
  void *p = realloc(*v, nc * size);
  if (!p) return KAFU_ENOMEM;
  *v = p;
  *cap = nc;
  return 0;
}

static int lane(kafu_trace *t, size_t *cap, const char *node, size_t *out) {
  for (size_t i = 0; i < t->nnodes; i++)
    if (!strcmp(t->nodes[i], node)) return *out = i, 0;
  if (grow((void **)&t->nodes, t->nnodes, cap, sizeof *t->nodes)) return KAFU_ENOMEM;
  if (!(t->nodes[t->nnodes] = strdup(node))) return KAFU_ENOMEM;
  *out = t->nnodes++;
  return 0;
}

static int read_rec(const char *s, size_t n, rec *r) {
  memset(r, 0, sizeof *r);
  long long tn;
  if (kafu_json_get_str(s, n, "type", r->type, sizeof r->type) || kafu_json_get_int(s, n, "time_ns", &tn) ||
      tn < 0)
    return KAFU_EFORMAT;
  r->t = (uint64_t)tn;
  kafu_json_get_str(s, n, "node", r->node, sizeof r->node);
  kafu_json_get_str(s, n, "from", r->from, sizeof r->from);
  kafu_json_get_str(s, n, "to", r->to, sizeof r->to);
  kafu_json_get_str(s, n, "function", r->function, sizeof r->function);
  kafu_json_get_str(s, n, "kind", r->kind, sizeof r->kind);
  kafu_json_get_str(s, n, "migration_id", r->id, sizeof r->id);
  kafu_json_get_str(s, n, "status", r->status, sizeof r->status);
  kafu_json_get_str(s, n, "message", r->message, sizeof r->message);
  kafu_json_get_str(s, n, "lost", r->lost, sizeof r->lost);
  kafu_json_get_str(s, n, "compression", r->compression, sizeof r->compression);
  for (int p = 0; p < KAFU_TRACE_PHASES; p++) {
    char key[32];
    snprintf(key, sizeof key, "%s_ms", k_phase[p]);
    r->has[p] = kafu_json_get_double(s, n, key, &r->ms[p]) == 0 && r->ms[p] >= 0;
    if (!r->has[p]) r->ms[p] = 0;
  }
  r->has_bytes = kafu_json_get_int(s, n, "wire_bytes", &r->wire) == 0;
  kafu_json_get_int(s, n, "raw_bytes", &r->raw);
  kafu_json_get_int(s, n, "memory_bytes", &r->mem);
  kafu_json_get_bool(s, n, "delta", &r->delta);
  if (kafu_json_get_int(s, n, "exit_code", &r->exit_code)) r->exit_code = 0;
  return 0;
}

static int by_time(const void *a, const void *b) {
  const rec *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return x->line < y->line ? -1 : x->line > y->line;
}

static uint64_t minus_ms(uint64_t t, double ms) {
  uint64_t d = (uint64_t)(ms * 1e6);
  return d < t ? t - d : 0;
}

static int add_mark(kafu_trace *t, size_t *lane_cap, size_t *cap, const rec *r, bool failure,
                    const char *text) {
  size_t node;
  if (lane(t, lane_cap, r->node[0] ? r->node : "?", &node)) return KAFU_ENOMEM;
  if (grow((void **)&t->marks, t->nmarks, cap, sizeof *t->marks)) return KAFU_ENOMEM;
  kafu_trace_mark *m = &t->marks[t->nmarks++];
  memset(m, 0, sizeof *m);
  m->node = node;
  m->t = r->t;
  m->failure = failure;
  snprintf(m->type, sizeof m->type, "%s", r->type);
  snprintf(m->text, sizeof m->text, "%s", text);
  return 0;
}

/* The migration a restore record completes: the same id, else (events
 * without ids) the earliest unrestored one from its sender to its node. */
static kafu_trace_migration *match(kafu_trace *t, const rec *r) {
  for (size_t i = 0; i < t->nmigs; i++) {
    kafu_trace_migration *m = &t->migs[i];
    if (m->restored) continue;
    if (r->id[0] ? !strcmp(m->id, r->id)
                 : (!m->id[0] && !strcmp(m->from, r->from) && !strcmp(m->to, r->node)))
      return m;
  }
  return NULL;
}

static int by_leave(const void *a, const void *b) {
  const kafu_trace_migration *x = a, *y = b;
  return x->t_leave < y->t_leave ? -1 : x->t_leave > y->t_leave;
}

static int build(kafu_trace *t, rec *rs, size_t n) {
  size_t lane_cap = 0, mig_cap = 0, mark_cap = 0, span_cap = 0;
  qsort(rs, n, sizeof *rs, by_time);
  /* lanes: the start node first (a run resumed from a saved snapshot, `kafu
   * restore`, has no start record: the node of its first restore then) */
  for (int pass = 0; pass < 2 && !t->nnodes; pass++)
    for (size_t i = 0; i < n; i++)
      if (!strcmp(rs[i].type, pass ? "restore" : "start") && rs[i].node[0]) {
        size_t k;
        if (lane(t, &lane_cap, rs[i].node, &k)) return KAFU_ENOMEM;
        break;
      }
  t->t0 = n ? rs[0].t : 0;
  t->t1 = n ? rs[n - 1].t : 0;
  /* migrations first (a restore may come before its migration in time order:
   * the sender writes once acknowledged) */
  for (size_t i = 0; i < n; i++) {
    rec *r = &rs[i];
    if (strcmp(r->type, "migration")) continue;
    size_t k;
    if (lane(t, &lane_cap, r->from, &k) || lane(t, &lane_cap, r->to, &k)) return KAFU_ENOMEM;
    if (grow((void **)&t->migs, t->nmigs, &mig_cap, sizeof *t->migs)) return KAFU_ENOMEM;
    kafu_trace_migration *m = &t->migs[t->nmigs++];
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", r->id);
    snprintf(m->from, sizeof m->from, "%s", r->from);
    snprintf(m->to, sizeof m->to, "%s", r->to);
    snprintf(m->function, sizeof m->function, "%s", r->function);
    m->enter = strcmp(r->kind, "exit") != 0;
    m->timed = r->has_bytes;
    for (int p = 0; p < KAFU_TRACE_PHASES; p++) m->phase_ms[p] = r->ms[p], m->phase_known[p] = r->has[p];
    m->wire_bytes = r->has_bytes ? (uint64_t)r->wire : 0;
    m->raw_bytes = (uint64_t)(r->raw > 0 ? r->raw : 0);
    m->memory_bytes = (uint64_t)(r->mem > 0 ? r->mem : 0);
    m->delta = r->delta;
    snprintf(m->compression, sizeof m->compression, "%s", r->compression);
    if (r->ms[KAFU_TRACE_TRANSFER] > 0 && !r->has[KAFU_TRACE_DECODE]) {
      /* a cluster sender: written at the acknowledgement */
      m->t_leave = minus_ms(r->t, r->ms[KAFU_TRACE_TRANSFER] + r->ms[KAFU_TRACE_UNWIND]);
      m->t_arrive = r->t;
    } else {
      double sum = 0;
      for (int p = 0; p < KAFU_TRACE_PHASES; p++) sum += r->ms[p];
      m->t_leave = minus_ms(r->t, sum);
      m->t_arrive = r->t;
    }
  }
  for (size_t i = 0; i < n; i++) {
    rec *r = &rs[i];
    if (!strcmp(r->type, "restore")) {
      kafu_trace_migration *m = match(t, r);
      if (!m) {
        t->unmatched++;
        continue;
      }
      m->restored = true;
      for (int p = KAFU_TRACE_DECODE; p < KAFU_TRACE_PHASES; p++)
        if (r->has[p]) m->phase_ms[p] = r->ms[p], m->phase_known[p] = true;
      m->t_arrive = r->t; /* written once the program runs again (after the rewind) */
      if (m->t_arrive < m->t_leave) m->t_arrive = m->t_leave;
    } else if (!strcmp(r->type, "finish")) {
      t->finished = true;
      snprintf(t->status, sizeof t->status, "%s", r->status);
      t->exit_code = (int)r->exit_code;
      bool bad = !strcmp(r->status, "failed") || !strcmp(r->status, "trapped");
      if (bad) {
        char text[512];
        snprintf(text, sizeof text, "%s (exit code %lld)%s%s", r->status, r->exit_code,
                 r->message[0] ? ": " : "", r->message);
        if (add_mark(t, &lane_cap, &mark_cap, r, true, text)) return KAFU_ENOMEM;
      }
    } else if (strcmp(r->type, "start") && strcmp(r->type, "migration")) {
      /* a record this version does not draw by itself: show it where it happened */
      char text[512];
      /* a long message is cut to the mark's text: the start is what the picture shows */
      int len;
      if (r->lost[0]) /* a failover record: which node was lost, and where the call went */
        len = snprintf(text, sizeof text, "%s: node %s lost; %s%s%s%s%s", r->type, r->lost, r->function,
                       r->to[0] ? " again on " : "", r->to, r->message[0] ? ": " : "", r->message);
      else
        len = snprintf(text, sizeof text, "%s%s%s", r->type, r->message[0] ? ": " : "", r->message);
      (void)len;
      bool failure = strstr(r->type, "fail") || strstr(r->type, "lost") || strstr(r->type, "error");
      if (add_mark(t, &lane_cap, &mark_cap, r, failure, text)) return KAFU_ENOMEM;
    }
  }
  /* where the program was: from the start, hop by hop, to the end */
  qsort(t->migs, t->nmigs, sizeof *t->migs, by_leave);
  const char *at = t->nnodes ? t->nodes[0] : NULL;
  uint64_t since = t->t0;
  for (size_t i = 0; i <= t->nmigs && at; i++) {
    uint64_t until = i < t->nmigs ? t->migs[i].t_leave : t->t1;
    if (until < since) until = since;
    size_t k;
    if (lane(t, &lane_cap, at, &k)) return KAFU_ENOMEM;
    if (grow((void **)&t->spans, t->nspans, &span_cap, sizeof *t->spans)) return KAFU_ENOMEM;
    t->spans[t->nspans++] = (kafu_trace_span){k, since, until};
    if (i < t->nmigs) {
      at = t->migs[i].to;
      since = t->migs[i].t_arrive;
    }
  }
  for (size_t i = 0; i < t->nmigs; i++) {
    if (t->migs[i].t_arrive > t->t1) t->t1 = t->migs[i].t_arrive;
    if (t->migs[i].t_leave < t->t0) t->t0 = t->migs[i].t_leave;
  }
  return 0;
}

int kafu_trace_parse(const char *text, size_t len, const char *name, kafu_trace *t, kafu_err *err) {
  memset(t, 0, sizeof *t);
  rec *rs = NULL;
  size_t n = 0, cap = 0, line = 0;
  int rc = 0;
  for (size_t pos = 0; pos < len;) {
    const char *s = text + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t l = nl ? (size_t)(nl - s) : len - pos;
    pos += l + (nl ? 1 : 0);
    line++;
    size_t k = 0;
    while (k < l && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r')) k++;
    if (k == l) continue;
    if (grow((void **)&rs, n, &cap, sizeof *rs)) {
      rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
      goto out;
    }
    if (read_rec(s, l, &rs[n])) {
      rc = kafu_err_set(err, KAFU_EFORMAT,
                        "%s:%zu: not an event: expected a JSON object with a string \"type\" and an integer "
                        "\"time_ns\" (the records of --events)",
                        name, line);
      goto out;
    }
    rs[n++].line = line;
  }
  t->nrecords = n;
  if (n == 0) {
    rc = kafu_err_set(err, KAFU_EFORMAT, "%s: no events (an empty file; was the run started with --events?)",
                      name);
    goto out;
  }
  if (build(t, rs, n)) rc = kafu_err_set(err, KAFU_ENOMEM, "out of memory");
out:
  free(rs);
  if (rc) kafu_trace_free(t);
  return rc;
}

int kafu_trace_load(const char *path, kafu_trace *t, kafu_err *err) {
  uint8_t *data;
  size_t len;
  memset(t, 0, sizeof *t);
  int rc = kafu_read_file(path, &data, &len, err);
  if (rc) return rc;
  rc = kafu_trace_parse((const char *)data, len, path, t, err);
  free(data);
  return rc;
}

void kafu_trace_free(kafu_trace *t) {
  for (size_t i = 0; i < t->nnodes; i++) free(t->nodes[i]);
  free(t->nodes);
  free(t->migs);
  free(t->spans);
  free(t->marks);
  memset(t, 0, sizeof *t);
}
