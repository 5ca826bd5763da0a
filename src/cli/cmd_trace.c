/*
 * cmd_trace.c — `kafu trace EVENTS.jsonl -o timeline.svg|.html`: draw the
 * events a run wrote (--events) as a timeline (src/trace, kafu/trace.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafu/trace.h"

void kafu_usage_trace(void) {
  printf(
      "Usage: kafu trace EVENTS.jsonl [-o FILE] [--format svg|html] [--title TEXT] [-q]\n"
      "\n"
      "Draw a run from the events it wrote (`--events FILE` of kafu launch, kafu serve\n"
      "or kafu singlenode) as a timeline: one lane per node, where the program was\n"
      "when, each migration as an arrow with its bytes on the wire and its phases\n"
      "(unwind, encode, transfer, decode, restore, rewind), failures marked.\n"
      "\n"
      "Options:\n"
      "  -o, --output FILE   write here (default: EVENTS with .svg instead of .jsonl;\n"
      "                      - = stdout); FILE ending in .html gives an HTML page with\n"
      "                      the picture and a table of the migrations\n"
      "  --format svg|html   the format, whatever the file is called\n"
      "  --title TEXT        a title for the picture (default: the events file's name)\n"
      "  -q, --quiet         do not say where the picture went\n"
      "  -h, --help          show this help\n"
      "\n"
      "The records and how they are joined (a migration and its restore share a\n"
      "migration_id) are in docs/migration.md, \"Events\".\n");
}

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && !strcmp(s + n - m, suf);
}

int kafu_cmd_trace(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *format = NULL, *title = NULL;
  bool quiet = false;
  kafu_err oerr = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r;
    if ((r = kafu_opt_value(argc, argv, &i, "--output", "-o", &out, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--format", NULL, &format, &oerr)) ||
        (r = kafu_opt_value(argc, argv, &i, "--title", NULL, &title, &oerr))) {
      if (r < 0) return kafu_cli_usage_error("trace", "%s", oerr.msg);
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = true;
    } else if (!strcmp(a, "--") && i + 1 < argc && !in) {
      in = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      return kafu_cli_usage_error("trace", "unknown option '%s'", a);
    } else if (in) {
      return kafu_cli_usage_error("trace", "unexpected argument '%s' (one events file only)", a);
    } else {
      in = a;
    }
  }
  if (!in) return kafu_cli_usage_error("trace", "missing EVENTS.jsonl (the file a run's --events wrote)");
  if (format && strcmp(format, "svg") && strcmp(format, "html"))
    return kafu_cli_usage_error("trace", "--format '%s': expected svg or html", format);
  char *def = NULL;
  if (!out) { /* next to the events */
    kafu_buf b = {0};
    size_t n = strlen(in);
    if (ends_with(in, ".jsonl")) n -= 6;
    kafu_buf_printf(&b, "%.*s.%s", (int)n, in, format ? format : "svg");
    out = def = kafu_buf_cstr(&b);
  }
  bool html = format ? !strcmp(format, "html") : ends_with(out, ".html") || ends_with(out, ".htm");
  kafu_err err = {0};
  kafu_trace t;
  int rc = kafu_trace_load(in, &t, &err);
  if (rc) {
    fprintf(stderr, "kafu trace: error: %s\n", err.msg);
    free(def);
    return 1;
  }
  kafu_buf doc = {0};
  const char *name = title ? title : kafu_path_basename(in);
  rc = html ? kafu_trace_html(&t, name, &doc) : kafu_trace_svg(&t, name, &doc);
  if (rc == 0) {
    if (!strcmp(out, "-")) {
      if (fwrite(doc.data, 1, doc.len, stdout) != doc.len || fflush(stdout))
        rc = kafu_err_set(&err, KAFU_EIO, "writing to stdout failed");
    } else {
      rc = kafu_write_file_atomic(out, doc.data, doc.len, &err);
    }
  } else {
    kafu_err_set(&err, rc, "out of memory");
  }
  if (rc)
    fprintf(stderr, "kafu trace: error: %s\n", err.msg);
  else if (!quiet && strcmp(out, "-"))
    fprintf(stderr, "kafu trace: %s: %zu migration%s between %zu node%s%s%s -> %s\n", in, t.nmigs,
            t.nmigs == 1 ? "" : "s", t.nnodes, t.nnodes == 1 ? "" : "s", t.nmarks ? ", " : "",
            t.nmarks ? "events marked" : "", out);
  kafu_buf_free(&doc);
  kafu_trace_free(&t);
  free(def);
  return rc ? 1 : 0;
}
