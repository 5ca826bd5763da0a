/*
 * json_in.c — reading the little JSON Kafu exchanges: the cluster endpoints'
 * bodies and the --events lines (`kafu trace`), flat objects of strings,
 * numbers and booleans ({"exit_code": 0, "reason": "..."}). A full JSON
 * library would be a new dependency for a dozen keys; this scanner reads any
 * valid JSON object (nested values are skipped over) and never reads past
 * len, so a malformed body is an error, not a crash. Writing strings is
 * kafu_json_quote (json_out.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/util.h"

typedef struct {
  const char *p, *end;
} scan;

static void ws(scan *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parse a string at s->p (the opening quote). out may be NULL (skip). */
static int str(scan *s, char *out, size_t cap) {
  size_t n = 0;
  if (s->p >= s->end || *s->p != '"') return -1;
  s->p++;
  while (s->p < s->end && *s->p != '"') {
    unsigned cp = (unsigned char)*s->p++;
    if (cp == '\\') {
      if (s->p >= s->end) return -1;
      char e = *s->p++;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          cp = (unsigned char)e;
          break;
        case 'n':
          cp = '\n';
          break;
        case 't':
          cp = '\t';
          break;
        case 'r':
          cp = '\r';
          break;
        case 'b':
          cp = '\b';
          break;
        case 'f':
          cp = '\f';
          break;
        case 'u': {
          if (s->end - s->p < 4) return -1;
          cp = 0;
          for (int i = 0; i < 4; i++) {
            int h = hexval(s->p[i]);
            if (h < 0) return -1;
            cp = cp * 16 + (unsigned)h;
          }
          s->p += 4;
          break;
        }
        default:
          return -1;
      }
      /* UTF-8 encode (surrogate pairs are kept as two 3-byte sequences: good enough for messages) */
      char u[3];
      size_t un = 0;
      if (cp < 0x80)
        u[un++] = (char)cp;
      else if (cp < 0x800)
        u[un++] = (char)(0xc0 | (cp >> 6)), u[un++] = (char)(0x80 | (cp & 0x3f));
      else
        u[un++] = (char)(0xe0 | (cp >> 12)), u[un++] = (char)(0x80 | ((cp >> 6) & 0x3f)),
        u[un++] = (char)(0x80 | (cp & 0x3f));
      for (size_t i = 0; i < un; i++)
        if (out && n + 1 < cap) out[n++] = u[i];
    } else if (cp < 0x20) {
      return -1;
    } else if (out && n + 1 < cap) {
      out[n++] = (char)cp;
    }
  }
  if (s->p >= s->end) return -1;
  s->p++;
  if (out && cap) out[n] = 0;
  return 0;
}

static int value(scan *s, int depth);

static int container(scan *s, int depth, char close) {
  s->p++;
  ws(s);
  if (s->p < s->end && *s->p == close) {
    s->p++;
    return 0;
  }
  for (;;) {
    ws(s);
    if (close == '}') {
      if (str(s, NULL, 0)) return -1;
      ws(s);
      if (s->p >= s->end || *s->p != ':') return -1;
      s->p++;
    }
    if (value(s, depth + 1)) return -1;
    ws(s);
    if (s->p >= s->end) return -1;
    if (*s->p == ',') {
      s->p++;
      continue;
    }
    if (*s->p == close) {
      s->p++;
      return 0;
    }
    return -1;
  }
}

static int value(scan *s, int depth) {
  if (depth > 32) return -1;
  ws(s);
  if (s->p >= s->end) return -1;
  char c = *s->p;
  if (c == '"') return str(s, NULL, 0);
  if (c == '{') return container(s, depth, '}');
  if (c == '[') return container(s, depth, ']');
  static const char *const words[] = {"true", "false", "null"};
  for (int i = 0; i < 3; i++) {
    size_t wl = strlen(words[i]);
    if ((size_t)(s->end - s->p) >= wl && !memcmp(s->p, words[i], wl)) {
      s->p += wl;
      return 0;
    }
  }
  const char *st = s->p;
  while (s->p < s->end && *s->p && strchr("+-0123456789.eE", *s->p)) s->p++;
  return s->p > st ? 0 : -1;
}

/* Find key at top level: on success s->p is at its value. */
static int find(const char *json, size_t len, const char *key, scan *s) {
  if (!json) return KAFU_EFORMAT; /* an empty body (no buffer): not an object */
  s->p = json;
  s->end = json + len;
  ws(s);
  if (s->p >= s->end || *s->p != '{') return KAFU_EFORMAT;
  s->p++;
  ws(s);
  if (s->p < s->end && *s->p == '}') return KAFU_ENOENT;
  for (;;) {
    char k[128];
    ws(s);
    const char *kstart = s->p;
    if (str(s, k, sizeof k)) return KAFU_EFORMAT;
    bool long_key = (size_t)(s->p - kstart) > sizeof k; /* never equal to a short wanted key */
    ws(s);
    if (s->p >= s->end || *s->p != ':') return KAFU_EFORMAT;
    s->p++;
    ws(s);
    if (!long_key && !strcmp(k, key)) return 0;
    if (value(s, 1)) return KAFU_EFORMAT;
    ws(s);
    if (s->p >= s->end) return KAFU_EFORMAT;
    if (*s->p == ',') {
      s->p++;
      continue;
    }
    if (*s->p == '}') return KAFU_ENOENT;
    return KAFU_EFORMAT;
  }
}

int kafu_json_get_str(const char *json, size_t len, const char *key, char *out, size_t cap) {
  scan s;
  int rc = find(json, len, key, &s);
  if (rc) return rc;
  return str(&s, out, cap) ? KAFU_EFORMAT : 0;
}

int kafu_json_get_int(const char *json, size_t len, const char *key, long long *out) {
  scan s;
  int rc = find(json, len, key, &s);
  if (rc) return rc;
  char num[32];
  size_t n = 0;
  while (s.p < s.end && n + 1 < sizeof num && (*s.p == '-' || (*s.p >= '0' && *s.p <= '9')))
    num[n++] = *s.p++;
  num[n] = 0;
  if (!n || (s.p < s.end && *s.p && strchr(".eE0123456789", *s.p))) return KAFU_EFORMAT;
  char *e;
  *out = strtoll(num, &e, 10);
  return *e ? KAFU_EFORMAT : 0;
}

int kafu_json_get_bool(const char *json, size_t len, const char *key, bool *out) {
  scan s;
  int rc = find(json, len, key, &s);
  if (rc) return rc;
  if (s.end - s.p >= 4 && !memcmp(s.p, "true", 4))
    *out = true;
  else if (s.end - s.p >= 5 && !memcmp(s.p, "false", 5))
    *out = false;
  else
    return KAFU_EFORMAT;
  return 0;
}

int kafu_json_get_double(const char *json, size_t len, const char *key, double *out) {
  scan s;
  int rc = find(json, len, key, &s);
  if (rc) return rc;
  char num[64];
  size_t n = 0;
  while (s.p < s.end && n + 1 < sizeof num && strchr("+-0123456789.eE", *s.p) && *s.p) num[n++] = *s.p++;
  num[n] = 0;
  if (!n) return KAFU_EFORMAT;
  char *e;
  *out = strtod(num, &e);
  return *e ? KAFU_EFORMAT : 0;
}
