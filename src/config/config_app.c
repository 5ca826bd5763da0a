/*
 * config_app.c — get the module bytes a config names: app.path from disk, or
 * app.url through libcurl (http, https, file), then verify app.sha256.
 *
 * The digest is checked before any caller sees the bytes, so a node never runs
 * (or AOT-compiles, or caches) a module other than the one the config pins.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "kafu/config.h"

/* A wasm module larger than this is almost certainly a wrong URL (an ISO...). */
#define MAX_MODULE_BYTES ((size_t)4 << 30)

typedef struct sink {
  kafu_buf buf;
  bool too_big;
  bool oom;
} sink;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
  sink *s = userdata;
  size_t n = size * nmemb;
  if (s->buf.len + n > MAX_MODULE_BYTES) {
    s->too_big = true;
    return 0; /* makes curl fail with CURLE_WRITE_ERROR */
  }
  if (kafu_buf_append(&s->buf, ptr, n)) {
    s->oom = true;
    return 0;
  }
  return n;
}

int kafu_config_fetch_url(const char *url, uint8_t **bytes, size_t *len, kafu_err *err) {
  *bytes = NULL;
  *len = 0;
  if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8) && strncasecmp(url, "file://", 7))
    return kafu_err_set(err, KAFU_EINVAL, "%s: only http://, https:// and file:// URLs are supported", url);
  CURL *h = curl_easy_init();
  if (!h) return kafu_err_set(err, KAFU_ENOMEM, "%s: cannot initialize libcurl", url);
  sink s = {0};
  char ebuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE));
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  /* no overall timeout (modules can be large); give up on a stalled transfer */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "kafu/" KAFU_VERSION);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
  CURLcode cc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  if (cc != CURLE_OK) {
    kafu_buf_free(&s.buf);
    if (s.too_big)
      return kafu_err_set(err, KAFU_EINVAL, "%s: larger than %zu bytes; not a module", url, MAX_MODULE_BYTES);
    if (s.oom) return kafu_err_set(err, KAFU_ENOMEM, "%s: out of memory", url);
    return kafu_err_set(err, KAFU_EIO, "cannot fetch %s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(cc));
  }
  if (!s.buf.data && kafu_buf_reserve(&s.buf, 1))
    return kafu_err_set(err, KAFU_ENOMEM, "%s: out of memory", url);
  kafu_buf_cstr(&s.buf); /* NUL beyond len, like kafu_read_file */
  *bytes = s.buf.data;
  *len = s.buf.len;
  return 0;
}

int kafu_config_load_app(const kafu_config *c, uint8_t **bytes, size_t *len, kafu_err *err) {
  *bytes = NULL;
  *len = 0;
  int rc;
  if (c->app.path)
    rc = kafu_read_file(c->app.path, bytes, len, err);
  else if (c->app.url)
    rc = kafu_config_fetch_url(c->app.url, bytes, len, err);
  else
    rc = kafu_err_set(err, KAFU_EINVAL, "%s: no app.path or app.url", c->config_path);
  if (rc < 0) return kafu_err_prefix(err, "app (%s)", c->config_path);
  if (c->app.has_sha256) {
    uint8_t got[KAFU_SHA256_LEN];
    kafu_sha256(*bytes, *len, got);
    if (memcmp(got, c->app.sha256, KAFU_SHA256_LEN)) {
      char want_hex[2 * KAFU_SHA256_LEN + 1], got_hex[2 * KAFU_SHA256_LEN + 1];
      kafu_hex(c->app.sha256, KAFU_SHA256_LEN, want_hex);
      kafu_hex(got, KAFU_SHA256_LEN, got_hex);
      free(*bytes);
      *bytes = NULL;
      *len = 0;
      return kafu_err_set(
          err, KAFU_EINVAL,
          "%s: app.sha256 mismatch for %s: expected %s, got %s (the module changed, or the digest "
          "in the config is stale)",
          c->config_path, kafu_config_app_location(c), want_hex, got_hex);
    }
  }
  return 0;
}
