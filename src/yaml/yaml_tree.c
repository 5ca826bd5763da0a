/*
 * yaml_tree.c — build a small YAML tree and write it with libyaml's emitter.
 * See include/kafu/yaml.h for why quoting is decided here.
 */
#include "kafu/yaml.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef enum { Y_MAP, Y_SEQ, Y_FLOW_SEQ, Y_STR, Y_INT, Y_BOOL, Y_NULL, Y_LITERAL } ykind;

struct kafu_ynode {
  ykind kind;
  bool oom; /* a child or key could not be allocated */
  char *text;
  kafu_ynode **kids; /* map: key (Y_STR), value, key, value...; seq: items */
  size_t nkids, cap;
};

static kafu_ynode *mk(ykind k) {
  kafu_ynode *n = calloc(1, sizeof *n);
  if (n) n->kind = k;
  return n;
}

kafu_ynode *kafu_y_map(void) { return mk(Y_MAP); }
kafu_ynode *kafu_y_seq(void) { return mk(Y_SEQ); }
kafu_ynode *kafu_y_flow_seq(void) { return mk(Y_FLOW_SEQ); }
kafu_ynode *kafu_y_null(void) { return mk(Y_NULL); }

static kafu_ynode *mk_text(ykind k, const char *s) {
  kafu_ynode *n = mk(k);
  if (!n) return NULL;
  n->text = strdup(s ? s : "");
  if (!n->text) {
    free(n);
    return NULL;
  }
  return n;
}

kafu_ynode *kafu_y_str(const char *s) { return mk_text(Y_STR, s); }
kafu_ynode *kafu_y_literal(const char *s) { return mk_text(Y_LITERAL, s); }

kafu_ynode *kafu_y_int(long long v) {
  char b[32];
  snprintf(b, sizeof b, "%lld", v);
  return mk_text(Y_INT, b);
}

kafu_ynode *kafu_y_bool(bool v) { return mk_text(Y_BOOL, v ? "true" : "false"); }

static bool add_kid(kafu_ynode *p, kafu_ynode *k) {
  if (!k) {
    p->oom = true;
    return false;
  }
  if (p->nkids == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 8;
    kafu_ynode **nk = realloc(p->kids, nc * sizeof *nk);
    if (!nk) {
      p->oom = true;
      kafu_y_free(k);
      return false;
    }
    p->kids = nk, p->cap = nc;
  }
  p->kids[p->nkids++] = k;
  return true;
}

kafu_ynode *kafu_y_put(kafu_ynode *map, const char *key, kafu_ynode *v) {
  if (!map) {
    kafu_y_free(v);
    return NULL;
  }
  kafu_ynode *k = kafu_y_str(key);
  if (!k || !v) {
    map->oom = true;
    kafu_y_free(k), kafu_y_free(v);
    return NULL;
  }
  if (!add_kid(map, k)) {
    kafu_y_free(v);
    return NULL;
  }
  if (!add_kid(map, v)) {
    /* keep pairs aligned: drop the orphan key */
    kafu_y_free(map->kids[--map->nkids]);
    return NULL;
  }
  return v;
}

kafu_ynode *kafu_y_push(kafu_ynode *seq, kafu_ynode *v) {
  if (!seq) {
    kafu_y_free(v);
    return NULL;
  }
  return add_kid(seq, v) ? v : NULL;
}

void kafu_y_put_str(kafu_ynode *map, const char *key, const char *s) { kafu_y_put(map, key, kafu_y_str(s)); }
void kafu_y_put_int(kafu_ynode *map, const char *key, long long v) { kafu_y_put(map, key, kafu_y_int(v)); }

void kafu_y_free(kafu_ynode *n) {
  if (!n) return;
  for (size_t i = 0; i < n->nkids; i++) kafu_y_free(n->kids[i]);
  free(n->kids);
  free(n->text);
  free(n);
}

/* ---- quoting decision ----------------------------------------------------- */

static bool ieq_any(const char *s, const char *const *words) {
  for (; *words; words++)
    if (!strcasecmp(s, *words)) return true;
  return false;
}

bool kafu_y_plain_ambiguous(const char *s) {
  static const char *const words[] = {"null", "~",    "true",  "false", "yes",  "no", "on", "off", "y",
                                      "n",    ".inf", "-.inf", "+.inf", ".nan", "<<", "=",  NULL};
  if (!*s) return true;
  if (ieq_any(s, words)) return true;
  /* Anything number-like (ints, floats, hex/octal/binary, 1.1 sexagesimal
   * "1:20", underscores) — be conservative: quote. */
  const char *p = s;
  if (*p == '+' || *p == '-') p++;
  if (*p == '.') p++;
  if (!isdigit((unsigned char)*p)) return false;
  for (const char *q = s; *q; q++)
    if (!strchr("0123456789abcdefABCDEFxXoO_:.+-", *q)) return false;
  return true;
}

/* ---- emitting ------------------------------------------------------------- */

static int write_cb(void *data, unsigned char *buf, size_t size) {
  return kafu_buf_append((kafu_buf *)data, buf, size) == 0;
}

static bool tree_oom(const kafu_ynode *n) {
  if (n->oom) return true;
  for (size_t i = 0; i < n->nkids; i++)
    if (tree_oom(n->kids[i])) return true;
  return false;
}

static int emit_node(yaml_emitter_t *em, const kafu_ynode *n) {
  yaml_event_t ev;
  switch (n->kind) {
    case Y_MAP:
      if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)) return -1;
      if (!yaml_emitter_emit(em, &ev)) return -1;
      for (size_t i = 0; i < n->nkids; i++)
        if (emit_node(em, n->kids[i]) < 0) return -1;
      if (!yaml_mapping_end_event_initialize(&ev)) return -1;
      return yaml_emitter_emit(em, &ev) ? 0 : -1;
    case Y_SEQ:
    case Y_FLOW_SEQ:
      if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                (n->kind == Y_FLOW_SEQ || n->nkids == 0)
                                                    ? YAML_FLOW_SEQUENCE_STYLE
                                                    : YAML_BLOCK_SEQUENCE_STYLE))
        return -1;
      if (!yaml_emitter_emit(em, &ev)) return -1;
      for (size_t i = 0; i < n->nkids; i++)
        if (emit_node(em, n->kids[i]) < 0) return -1;
      if (!yaml_sequence_end_event_initialize(&ev)) return -1;
      return yaml_emitter_emit(em, &ev) ? 0 : -1;
    default: {
      const char *text = n->kind == Y_NULL ? "null" : n->text;
      yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
      if (n->kind == Y_STR && kafu_y_plain_ambiguous(text)) style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
      if (n->kind == Y_LITERAL) style = YAML_LITERAL_SCALAR_STYLE;
      /* plain_implicit=1 lets the emitter write plain; for strings we just made
       * sure plain is not ambiguous. */
      if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1, style))
        return -1;
      return yaml_emitter_emit(em, &ev) ? 0 : -1;
    }
  }
}

int kafu_y_emit(kafu_ynode *const *docs, size_t ndocs, kafu_buf *out, kafu_err *err) {
  for (size_t i = 0; i < ndocs; i++)
    if (!docs[i] || tree_oom(docs[i])) return kafu_err_set(err, KAFU_ENOMEM, "out of memory building YAML");
  yaml_emitter_t em;
  yaml_event_t ev;
  if (!yaml_emitter_initialize(&em)) return kafu_err_set(err, KAFU_ENOMEM, "yaml emitter: out of memory");
  yaml_emitter_set_output(&em, write_cb, out);
  yaml_emitter_set_unicode(&em, 1);
  yaml_emitter_set_width(&em, -1); /* never fold long strings */
  yaml_emitter_set_indent(&em, 2);
  int rc = -1;
  if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(&em, &ev)) goto done;
  for (size_t i = 0; i < ndocs; i++) {
    if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) || !yaml_emitter_emit(&em, &ev))
      goto done;
    if (emit_node(&em, docs[i]) < 0) goto done;
    if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&em, &ev)) goto done;
  }
  if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&em, &ev)) goto done;
  if (!yaml_emitter_flush(&em)) goto done;
  rc = 0;
done:
  if (rc < 0) rc = kafu_err_set(err, KAFU_EIO, "yaml emitter: %s", em.problem ? em.problem : "write failed");
  yaml_emitter_delete(&em);
  return rc;
}
