/*
 * trace.h — a picture of a run: read the JSON Lines events a run wrote
 * (`--events FILE` of kafu launch, kafu serve, kafu singlenode; the records
 * are described in docs/migration.md, "Events") and draw them as a timeline
 * (`kafu trace EVENTS.jsonl -o timeline.svg`): one lane per node, where the
 * program was when, every migration as an arrow with its bytes and phase
 * breakdown, failures marked.
 *
 * The model is plain data computed from the events: the migrations (a
 * sender's `migration` record joined with the receiver's `restore` record by
 * their `migration_id`), the spans of time the program ran on each node, and
 * marks (failures, records of other types). Times are nanoseconds of the
 * nodes' CLOCK_REALTIME, as the events carry them.
 */
#ifndef KAFU_TRACE_H
#define KAFU_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafu/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The six phases of a migration, in order (KAFU_TRACE_PHASES of them). */
enum {
  KAFU_TRACE_UNWIND,
  KAFU_TRACE_ENCODE,
  KAFU_TRACE_TRANSFER,
  KAFU_TRACE_DECODE,
  KAFU_TRACE_RESTORE,
  KAFU_TRACE_REWIND,
  KAFU_TRACE_PHASES
};
/* "unwind", "encode", ... */
const char *kafu_trace_phase_name(int phase);

typedef struct kafu_trace_migration {
  char id[128];          /* migration_id ("" when the events carry none) */
  char from[64], to[64]; /* node ids */
  char function[128];    /* the annotated function */
  bool enter;            /* entering it (else returning from it) */
  uint64_t t_leave;      /* the program stopped running on `from` */
  uint64_t t_arrive;     /* it runs again on `to` */
  bool timed;            /* a real checkpoint (phases and bytes known); false when only emulated */
  double phase_ms[KAFU_TRACE_PHASES];
  bool phase_known[KAFU_TRACE_PHASES];
  uint64_t wire_bytes, raw_bytes, memory_bytes;
  bool delta;
  char compression[16]; /* the codec a cluster sender used ("lz4", "zstd-1", ...; "" = not recorded) */
  bool restored;        /* a receiver's restore record was joined to it */
} kafu_trace_migration;

/* A span of time the program ran on one node. */
typedef struct kafu_trace_span {
  size_t node; /* index into nodes */
  uint64_t t0, t1;
} kafu_trace_span;

/* A failure (a run that failed or trapped) or another record worth showing. */
typedef struct kafu_trace_mark {
  size_t node;
  uint64_t t;
  bool failure;
  char type[32];  /* the record's type ("finish", ...) */
  char text[512]; /* what happened: "failed (exit 1): <message>" */
} kafu_trace_mark;

typedef struct kafu_trace {
  char **nodes; /* lanes: the start node first, then in order of appearance */
  size_t nnodes;
  kafu_trace_migration *migs; /* by t_leave */
  size_t nmigs;
  kafu_trace_span *spans; /* by t0 */
  size_t nspans;
  kafu_trace_mark *marks; /* by t */
  size_t nmarks;
  uint64_t t0, t1; /* first and last instant of the run */
  bool finished;   /* a finish record was seen */
  char status[16]; /* its status ("finished", "exited", "trapped", "failed") */
  int exit_code;
  size_t nrecords;  /* records read */
  size_t unmatched; /* restore records no migration matched */
} kafu_trace;

/* Read JSON Lines events (text of len bytes; name is used in messages). Every
 * non-empty line must be a JSON object with a string "type" and an integer
 * "time_ns", else KAFU_EFORMAT naming "<name>:<line>". Records of types this
 * version does not know become marks. On success *t is owned by the caller. */
int kafu_trace_parse(const char *text, size_t len, const char *name, kafu_trace *t, kafu_err *err);
/* The same from a file (errors name the file). */
int kafu_trace_load(const char *path, kafu_trace *t, kafu_err *err);
void kafu_trace_free(kafu_trace *t);

/* Draw t as a standalone SVG document / an HTML page (the SVG and a table of
 * the migrations). title may be NULL. Appends to out; 0 or KAFU_ENOMEM. */
int kafu_trace_svg(const kafu_trace *t, const char *title, kafu_buf *out);
int kafu_trace_html(const kafu_trace *t, const char *title, kafu_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* KAFU_TRACE_H */
