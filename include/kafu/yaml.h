/*
 * yaml.h — the yaml stage (src/yaml/): a tiny in-memory YAML tree emitted
 * through libyaml's emitter, shared by the config stage (`kafu config check`'s
 * normalized YAML) and the kube stage (Kubernetes manifests).
 *
 * Why a tree: producers (normalized config, Kubernetes objects) build plain
 * data, and only one place decides how a scalar is written. Strings that a YAML
 * reader would resolve to something else (null, true/yes/on, numbers, "1:20",
 * ...) are double-quoted, under both YAML 1.2 and the 1.1 rules kubectl's
 * go-yaml still applies; everything else is left to libyaml, which quotes
 * whatever needs quoting (": ", "#", leading "-", ...). So node ids, args with
 * spaces or colons always round-trip.
 *
 * Allocation failures are sticky: a NULL child marks the parent, and
 * kafu_y_emit reports KAFU_ENOMEM, so builders need no error checks.
 */
#ifndef KAFU_YAML_H
#define KAFU_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "kafu/util.h"

typedef struct kafu_ynode kafu_ynode;

kafu_ynode *kafu_y_map(void);
kafu_ynode *kafu_y_seq(void);
kafu_ynode *kafu_y_flow_seq(void); /* written as [a, b] (use for empty lists) */
kafu_ynode *kafu_y_str(const char *s);
kafu_ynode *kafu_y_int(long long v);
kafu_ynode *kafu_y_bool(bool v);
kafu_ynode *kafu_y_null(void);
kafu_ynode *kafu_y_literal(const char *s); /* block literal `|` when possible */

/* Append (key order is kept). Return the value for chaining (NULL on OOM). */
kafu_ynode *kafu_y_put(kafu_ynode *map, const char *key, kafu_ynode *v);
kafu_ynode *kafu_y_push(kafu_ynode *seq, kafu_ynode *v);
/* Shorthands. */
void kafu_y_put_str(kafu_ynode *map, const char *key, const char *s);
void kafu_y_put_int(kafu_ynode *map, const char *key, long long v);

/* Emit docs as one YAML stream (documents separated by ---) appended to out. */
int kafu_y_emit(kafu_ynode *const *docs, size_t ndocs, kafu_buf *out, kafu_err *err);
void kafu_y_free(kafu_ynode *n);

/* Would `s`, written plain, be read back as something other than this string? */
bool kafu_y_plain_ambiguous(const char *s);

#endif /* KAFU_YAML_H */
