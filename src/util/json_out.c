/*
 * json_out.c — the project's one JSON string escaper (see util.h for the
 * rules). One encoder, two sinks: a kafu_buf and a stdio stream.
 */
#include <string.h>

#include "kafu/util.h"

/* The escape for byte c, or NULL when it is written as is. */
static const char *escape(unsigned char c, char tmp[8]) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      if (c >= 0x20 && c != 0x7f) return NULL;
      snprintf(tmp, 8, "\\u%04x", c);
      return tmp;
  }
}

int kafu_json_quote(kafu_buf *b, const char *s) {
  if (!s) return kafu_buf_append(b, "null", 4);
  int rc = kafu_buf_putc(b, '"');
  const char *run = s; /* bytes written as is, not yet appended */
  for (const char *p = s; *p && !rc; p++) {
    char tmp[8];
    const char *e = escape((unsigned char)*p, tmp);
    if (!e) continue;
    rc = kafu_buf_append(b, run, (size_t)(p - run));
    if (!rc) rc = kafu_buf_append(b, e, strlen(e));
    run = p + 1;
  }
  if (!rc) rc = kafu_buf_append(b, run, strlen(run));
  if (!rc) rc = kafu_buf_putc(b, '"');
  return rc;
}

int kafu_json_fquote(FILE *f, const char *s) {
  if (!s) return fputs("null", f) < 0 ? KAFU_EIO : 0;
  int ok = fputc('"', f) != EOF;
  const char *run = s;
  for (const char *p = s; *p && ok; p++) {
    char tmp[8];
    const char *e = escape((unsigned char)*p, tmp);
    if (!e) continue;
    ok = fwrite(run, 1, (size_t)(p - run), f) == (size_t)(p - run) && fputs(e, f) >= 0;
    run = p + 1;
  }
  if (ok) ok = fwrite(run, 1, strlen(run), f) == strlen(run) && fputc('"', f) != EOF;
  return ok ? 0 : KAFU_EIO;
}
