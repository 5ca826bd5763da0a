/*
 * test_cluster.c — unit tests of the cluster stage's pieces that need no
 * runtime: the JSON scanner, address helpers, the line prefixer of `kafu
 * launch`, metrics rendering, and the HTTP server/client pair over loopback
 * (buffered and streamed bodies, a 64 MiB stream, early rejection, a client
 * that gives up mid-body, a busy port).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster/cluster_internal.h"

/* ---- addresses --------------------------------------------------------------------------- */

static void test_addresses(void **state) {
  (void)state;
  char h[64], hp[80];
  uint16_t port;
  kafu_err err = {0};
  assert_int_equal(kafu_parse_listen("127.0.0.1:8080", h, sizeof h, &port, &err), 0);
  assert_string_equal(h, "127.0.0.1");
  assert_int_equal(port, 8080);
  assert_int_equal(kafu_parse_listen(":9000", h, sizeof h, &port, &err), 0);
  assert_string_equal(h, "");
  assert_int_equal(port, 9000);
  assert_int_equal(kafu_parse_listen("0.0.0.0", h, sizeof h, &port, &err), 0);
  assert_string_equal(h, "0.0.0.0");
  assert_int_equal(port, 0);
  assert_int_equal(kafu_parse_listen("[::1]:7", h, sizeof h, &port, &err), 0);
  assert_string_equal(h, "::1");
  assert_int_equal(port, 7);
  assert_int_equal(kafu_parse_listen("::", h, sizeof h, &port, &err), 0);
  assert_string_equal(h, "::");
  assert_int_equal(kafu_parse_listen("host:99999", h, sizeof h, &port, &err), KAFU_EINVAL);
  assert_non_null(strstr(err.msg, "99999"));
  assert_int_equal(kafu_parse_listen("[::1", h, sizeof h, &port, &err), KAFU_EINVAL);
  assert_int_equal(kafu_parse_listen("h:x", h, sizeof h, &port, &err), KAFU_EINVAL);
  assert_int_equal(kafu_parse_listen("", h, sizeof h, &port, &err), KAFU_EINVAL);

  kafu_hostport("::1", 5, hp, sizeof hp);
  assert_string_equal(hp, "[::1]:5");
  kafu_hostport("edge", 5, hp, sizeof hp);
  assert_string_equal(hp, "edge:5");

  assert_true(kafu_addr_is_loopback("127.0.0.1"));
  assert_true(kafu_addr_is_loopback("127.1.2.3"));
  assert_true(kafu_addr_is_loopback("localhost"));
  assert_true(kafu_addr_is_loopback("::1"));
  assert_true(kafu_addr_is_loopback("[::1]"));
  assert_false(kafu_addr_is_loopback("10.0.0.1"));
  assert_false(kafu_addr_is_loopback("cloud.example.com"));
  assert_false(kafu_addr_is_loopback("128.0.0.1"));
  assert_false(kafu_addr_is_loopback(NULL));
}

static void test_port_in_use(void **state) {
  (void)state;
  kafu_err err = {0};
  uint16_t port = 0;
  int fd = kafu_listen_socket("127.0.0.1", 0, &port, &err);
  assert_true(fd >= 0);
  assert_true(port > 0);
  int fd2 = kafu_listen_socket("127.0.0.1", port, NULL, &err);
  assert_true(fd2 < 0);
  char want[64];
  snprintf(want, sizeof want, "127.0.0.1:%u: address already in use", port);
  assert_non_null(strstr(err.msg, want));
  close(fd);
}

/* ---- line prefixer ------------------------------------------------------------------------- */

static char *read_all(int fd) {
  static char buf[1 << 18];
  size_t n = 0;
  ssize_t r;
  while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
  buf[n] = 0;
  return buf;
}

static void test_line_prefixer(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20); /* room for a KAFU_LINE_MAX line without a reader */
  kafu_line_prefixer lp;
  kafu_line_prefixer_init(&lp, "[edge] ", p[1]);
  assert_int_equal(kafu_line_prefixer_feed(&lp, "hel", 3), 0);
  assert_string_equal(read_all(p[0]), ""); /* nothing until the line is complete */
  assert_int_equal(kafu_line_prefixer_feed(&lp, "lo\nwor", 6), 0);
  assert_string_equal(read_all(p[0]), "[edge] hello\n");
  assert_int_equal(kafu_line_prefixer_feed(&lp, "ld\n\nx\ny", 7), 0);
  assert_string_equal(read_all(p[0]), "[edge] world\n[edge] \n[edge] x\n");
  assert_int_equal(kafu_line_prefixer_flush(&lp), 0);
  assert_string_equal(read_all(p[0]), "[edge] y\n"); /* last line without newline gets one */
  assert_int_equal(kafu_line_prefixer_flush(&lp), 0);
  assert_string_equal(read_all(p[0]), "");
  /* an endless line is cut at KAFU_LINE_MAX */
  char *big = malloc(KAFU_LINE_MAX + 10);
  memset(big, 'z', KAFU_LINE_MAX + 10);
  assert_int_equal(kafu_line_prefixer_feed(&lp, big, KAFU_LINE_MAX + 10), 0);
  char *got = read_all(p[0]);
  assert_int_equal(strlen(got), strlen("[edge] ") + KAFU_LINE_MAX + 1);
  assert_int_equal(kafu_line_prefixer_flush(&lp), 0);
  assert_string_equal(read_all(p[0]), "[edge] zzzzzzzzzz\n");
  free(big);
  kafu_line_prefixer_free(&lp);
  close(p[0]);
  close(p[1]);
}

/* ---- metrics ---------------------------------------------------------------------------------- */

static void test_metrics(void **state) {
  (void)state;
  kafu_metrics m;
  kafu_metrics_init(&m);
  kafu_metrics_add(&m, &m.migrations_in, 3);
  kafu_metrics_add(&m, &m.wire_bytes, 1000);
  kafu_metrics_observe(&m, KAFU_PHASE_TRANSFER, 0.7);  /* 0.0007 s -> le 0.001 */
  kafu_metrics_observe(&m, KAFU_PHASE_TRANSFER, 30.0); /* 0.03 s -> le 0.05 */
  kafu_metrics_observe(&m, KAFU_PHASE_TRANSFER, 9e6);  /* +Inf */
  kafu_buf out = {0};
  kafu_metrics_render(&m, "edge", &out);
  const char *t = kafu_buf_cstr(&out);
  assert_non_null(strstr(t, "kafu_migrations_total{node=\"edge\",direction=\"in\"} 3\n"));
  assert_non_null(strstr(t, "kafu_migrations_total{node=\"edge\",direction=\"out\"} 0\n"));
  assert_non_null(strstr(t, "kafu_migration_bytes_total{node=\"edge\",kind=\"wire\"} 1000\n"));
  assert_non_null(strstr(t, "kafu_heartbeat_failures_total{node=\"edge\"} 0\n"));
  assert_non_null(strstr(t, "# TYPE kafu_migration_phase_seconds histogram\n"));
  assert_non_null(
      strstr(t, "kafu_migration_phase_seconds_bucket{node=\"edge\",phase=\"transfer\",le=\"0.0005\"} 0\n"));
  assert_non_null(
      strstr(t, "kafu_migration_phase_seconds_bucket{node=\"edge\",phase=\"transfer\",le=\"0.001\"} 1\n"));
  assert_non_null(
      strstr(t, "kafu_migration_phase_seconds_bucket{node=\"edge\",phase=\"transfer\",le=\"0.05\"} 2\n"));
  assert_non_null(
      strstr(t, "kafu_migration_phase_seconds_bucket{node=\"edge\",phase=\"transfer\",le=\"+Inf\"} 3\n"));
  assert_non_null(strstr(t, "kafu_migration_phase_seconds_count{node=\"edge\",phase=\"transfer\"} 3\n"));
  assert_non_null(strstr(t, "kafu_migration_phase_seconds_count{node=\"edge\",phase=\"receive\"} 0\n"));
  kafu_buf_free(&out);
  kafu_metrics_destroy(&m);
}

/* ---- HTTP server + client ---------------------------------------------------------------------- */

typedef struct srv_state {
  pthread_mutex_t mu;
  uint64_t streamed, stream_hash;
  int aborted, completed;
  size_t reject_after; /* STREAM: data() fails once this many bytes arrived (0 = never) */
} srv_state;

static kafu_http_mode t_begin(void *ctx, kafu_http_request *r, kafu_http_response *resp) {
  (void)ctx;
  if (!strcmp(r->url, "/hello")) {
    resp->status = 200;
    resp->content_type = "text/plain";
    kafu_buf_printf(&resp->body, "hello %s", r->method);
    return KAFU_HTTP_RESPOND;
  }
  if (!strcmp(r->url, "/busy")) {
    kafu_http_error(resp, 409, "t", "busy", "try later");
    return KAFU_HTTP_RESPOND;
  }
  if (!strcmp(r->url, "/buf")) return KAFU_HTTP_BUFFER;
  if (!strcmp(r->url, "/stream")) return KAFU_HTTP_STREAM;
  kafu_http_error(resp, 404, "t", "not_found", "%s", r->url);
  return KAFU_HTTP_RESPOND;
}

static int t_data(void *ctx, kafu_http_request *r, const uint8_t *p, size_t n) {
  srv_state *s = ctx;
  (void)r;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < n; i++) s->stream_hash = s->stream_hash * 31 + p[i];
  s->streamed += n;
  int rc = s->reject_after && s->streamed >= s->reject_after ? -1 : 0;
  pthread_mutex_unlock(&s->mu);
  return rc;
}

static void t_complete(void *ctx, kafu_http_request *r, kafu_http_response *resp) {
  srv_state *s = ctx;
  pthread_mutex_lock(&s->mu);
  s->completed++;
  pthread_mutex_unlock(&s->mu);
  if (r->discarding) {
    kafu_http_error(resp, 400, "t", "invalid", "rejected after %llu bytes",
                    (unsigned long long)r->body_bytes);
    return;
  }
  resp->status = 200;
  kafu_buf_printf(&resp->body, "{\"bytes\":%llu}", (unsigned long long)r->body_bytes);
  if (r->mode == KAFU_HTTP_BUFFER)
    kafu_buf_append(&resp->body, r->body.data, r->body.len > 16 ? 16 : r->body.len);
}

static void t_aborted(void *ctx, kafu_http_request *r) {
  srv_state *s = ctx;
  (void)r;
  pthread_mutex_lock(&s->mu);
  s->aborted++;
  pthread_mutex_unlock(&s->mu);
}

typedef struct gen {
  uint64_t total, sent, hash;
  uint64_t fail_at; /* return -1 once this many bytes were produced (0 = never) */
} gen;

static long gen_read(void *ctx, uint8_t *buf, size_t cap) {
  gen *g = ctx;
  if (g->fail_at && g->sent >= g->fail_at) return -1;
  size_t n = g->total - g->sent < cap ? (size_t)(g->total - g->sent) : cap;
  if (n > 100000) n = 100000 - (g->sent % 7); /* odd piece sizes */
  for (size_t i = 0; i < n; i++) {
    buf[i] = (uint8_t)((g->sent + i) * 2654435761u >> 13);
    g->hash = g->hash * 31 + buf[i];
  }
  g->sent += n;
  return (long)n;
}

typedef struct fixture {
  kafu_http_server *srv;
  srv_state st;
  uint16_t port;
  kafu_http_client cl;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  pthread_mutex_init(&f->st.mu, NULL);
  kafu_err err = {0};
  int fd = kafu_listen_socket("127.0.0.1", 0, &f->port, &err);
  if (fd < 0) return -1;
  kafu_http_handlers h = {
      .ctx = &f->st, .begin = t_begin, .data = t_data, .complete = t_complete, .aborted = t_aborted};
  if (kafu_http_server_start(fd, &h, NULL, &f->srv, &err)) return -1;
  if (kafu_http_client_init(&f->cl, "127.0.0.1", f->port, "tok", NULL, &err)) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  kafu_http_client_free(&f->cl);
  kafu_http_server_stop(f->srv, 100);
  pthread_mutex_destroy(&f->st.mu);
  free(f);
  return 0;
}

static void test_http_basic(void **state) {
  fixture *f = *state;
  kafu_err err = {0};
  long st = 0;
  kafu_buf b = {0};
  assert_int_equal(kafu_http_get(&f->cl, "/hello", 2000, &st, &b, &err), 0);
  assert_int_equal(st, 200);
  assert_string_equal(kafu_buf_cstr(&b), "hello GET");
  b.len = 0;
  assert_int_equal(kafu_http_get(&f->cl, "/nope", 2000, &st, &b, &err), 0); /* same connection */
  assert_int_equal(st, 404);
  char kind[32];
  assert_int_equal(kafu_json_get_str((char *)b.data, b.len, "error", kind, sizeof kind), 0);
  assert_string_equal(kind, "not_found");
  b.len = 0;
  assert_int_equal(kafu_http_post(&f->cl, "/buf", "{\"x\":1}", 7, 2000, &st, &b, &err), 0);
  assert_int_equal(st, 200);
  assert_string_equal(kafu_buf_cstr(&b), "{\"bytes\":7}{\"x\":1}");
  /* too big for a buffered endpoint */
  size_t big = 200000;
  char *p = calloc(1, big);
  b.len = 0;
  assert_int_equal(kafu_http_post(&f->cl, "/buf", p, big, 5000, &st, &b, &err), 0);
  assert_int_equal(st, 413);
  free(p);
  /* and the server is still fine */
  b.len = 0;
  assert_int_equal(kafu_http_get(&f->cl, "/hello", 2000, &st, &b, &err), 0);
  assert_int_equal(st, 200);
  kafu_buf_free(&b);
}

static void test_http_stream(void **state) {
  fixture *f = *state;
  kafu_err err = {0};
  long st = 0;
  kafu_buf b = {0};
  gen g = {.total = 64ull << 20};
  assert_int_equal(kafu_http_post_stream(&f->cl, "/stream", NULL, gen_read, &g, true, &st, &b, &err), 0);
  assert_int_equal(st, 200);
  pthread_mutex_lock(&f->st.mu);
  assert_int_equal(f->st.streamed, g.total);
  assert_true(f->st.stream_hash == g.hash);
  pthread_mutex_unlock(&f->st.mu);
  long long n;
  assert_int_equal(kafu_json_get_int((char *)b.data, b.len, "bytes", &n), 0);
  assert_int_equal(n, (long long)g.total);
  kafu_buf_free(&b);
}

static void test_http_stream_reject(void **state) {
  fixture *f = *state;
  kafu_err err = {0};
  long st = 0;
  kafu_buf b = {0};
  /* early: the answer comes before the body (Expect: 100-continue) */
  gen g = {.total = 8u << 20};
  assert_int_equal(kafu_http_post_stream(&f->cl, "/busy", NULL, gen_read, &g, true, &st, &b, &err), 0);
  assert_int_equal(st, 409);
  assert_true(g.sent < g.total);
  /* late: the handler rejects midway; the rest is drained and a clean 400 comes back */
  f->st.reject_after = 1 << 20;
  gen g2 = {.total = 8u << 20};
  b.len = 0;
  assert_int_equal(kafu_http_post_stream(&f->cl, "/stream", NULL, gen_read, &g2, true, &st, &b, &err), 0);
  assert_int_equal(st, 400);
  assert_int_equal(g2.sent, g2.total);
  f->st.reject_after = 0;
  /* the client gives up midway: the server sees an aborted request */
  gen g3 = {.total = 8u << 20, .fail_at = 1 << 20};
  assert_true(kafu_http_post_stream(&f->cl, "/stream", NULL, gen_read, &g3, true, &st, &b, &err) < 0);
  for (int i = 0; i < 200; i++) {
    pthread_mutex_lock(&f->st.mu);
    int a = f->st.aborted;
    pthread_mutex_unlock(&f->st.mu);
    if (a) break;
    usleep(10000);
  }
  pthread_mutex_lock(&f->st.mu);
  assert_int_equal(f->st.aborted, 1);
  pthread_mutex_unlock(&f->st.mu);
  /* a refused connection is a transport error, not a status */
  kafu_http_client c2;
  kafu_http_client_init(&c2, "127.0.0.1", 1, NULL, NULL, &err);
  assert_true(kafu_http_get(&c2, "/hello", 1000, &st, NULL, &err) < 0);
  assert_int_equal(st, 0);
  assert_non_null(strstr(err.msg, "127.0.0.1:1/hello"));
  kafu_http_client_free(&c2);
  kafu_buf_free(&b);
}

/* A body sent without "Expect: 100-continue" (a node sends a snapshot it
 * could encode first that way): an early answer must reach the client intact
 * every time, not as "broken pipe" when the server closed while the client
 * was still sending (the server now drains the body before answering), and
 * the connection stays usable. Streams keep Expect and get their early
 * answer before the upload. */
static void test_http_early_answer_no_expect(void **state) {
  fixture *f = *state;
  kafu_err err = {0};
  long st = 0;
  kafu_buf b = {0};
  setenv("KAFU_HTTP_EXPECT", "0", 1);
  kafu_tunables_reload();
  for (int i = 0; i < 10; i++) {
    gen g = {.total = 8u << 20};
    b.len = 0;
    int rc = kafu_http_post_stream(&f->cl, "/busy", NULL, gen_read, &g, true, &st, &b, &err);
    if (rc) fail_msg("attempt %d: %s", i, err.msg);
    assert_int_equal(st, 409);
    assert_non_null(strstr(kafu_buf_cstr(&b), "busy"));
  }
  unsetenv("KAFU_HTTP_EXPECT");
  kafu_tunables_reload();
  size_t len = 3u << 20;
  uint8_t *p = malloc(len);
  assert_non_null(p);
  for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(i * 2654435761u >> 13);
  b.len = 0;
  assert_int_equal(kafu_http_post_octets(&f->cl, "/busy", "X-Test: 1", p, len, &st, &b, &err), 0);
  assert_int_equal(st, 409);
  b.len = 0;
  assert_int_equal(kafu_http_post_octets(&f->cl, "/stream", NULL, p, len, &st, &b, &err), 0);
  assert_int_equal(st, 200);
  long long n;
  assert_int_equal(kafu_json_get_int((char *)b.data, b.len, "bytes", &n), 0);
  assert_int_equal(n, (long long)len);
  free(p);
  for (int i = 0; i < 5; i++) {
    gen g = {.total = 8u << 20};
    assert_int_equal(kafu_http_post_stream(&f->cl, "/busy", NULL, gen_read, &g, true, &st, &b, &err), 0);
    assert_int_equal(st, 409);
    assert_true(g.sent < g.total);
  }
  /* a stream that does not ask first uploads its body (the server drains it)
   * and still gets the early answer intact */
  for (int i = 0; i < 3; i++) {
    gen g = {.total = 2u << 20};
    assert_int_equal(kafu_http_post_stream(&f->cl, "/busy", NULL, gen_read, &g, false, &st, &b, &err), 0);
    assert_int_equal(st, 409);
    assert_true(g.sent == g.total);
  }
  kafu_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_addresses),
      cmocka_unit_test(test_port_in_use),
      cmocka_unit_test(test_line_prefixer),
      cmocka_unit_test(test_metrics),
      cmocka_unit_test_setup_teardown(test_http_basic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_http_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(test_http_stream_reject, setup, teardown),
      cmocka_unit_test_setup_teardown(test_http_early_answer_no_expect, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
