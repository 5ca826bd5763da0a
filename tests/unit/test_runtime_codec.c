/* test_runtime_codec.c — `compression: auto` (src/runtime/codec.c): the
 * choice follows the link and the data, and what a transfer says about the
 * link is folded in the right way. White-box: the decision and the link
 * estimate are pure functions of runtime_internal.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "runtime/runtime_internal.h"

/* Per-page costs and ratios of the order measured on this machine for the
 * image pipeline's frames (compressible) and for random pages. */
static void frames(rt_codec_est est[RT_NCODECS]) {
  memset(est, 0, sizeof(rt_codec_est) * RT_NCODECS);
  est[1] = (rt_codec_est){0.15, 2500}; /* lz4 */
  est[2] = (rt_codec_est){0.11, 5000}; /* zstd-1 */
  est[3] = (rt_codec_est){0.10, 7000}; /* zstd-3 */
}
static void random_pages(rt_codec_est est[RT_NCODECS]) {
  memset(est, 0, sizeof(rt_codec_est) * RT_NCODECS);
  est[1] = (rt_codec_est){1.0, 400};
  est[2] = (rt_codec_est){1.0, 3000};
  est[3] = (rt_codec_est){1.0, 4000};
}

/* The model's choice alone: nothing measured, no trials. */
static int model_best(const rt_codec_est *est, double raw, double bw) {
  if (raw <= 0 || bw <= 0) return 0; /* as rt_codec_choose: nothing to send, or LZ4 for an unknown link */
  double pred[RT_NCODECS];
  rt_codec_obs none[RT_NCODECS] = {0};
  rt_codec_predict(est, raw, bw, 0, pred);
  return rt_codec_pick(pred, raw, none, 0, false);
}
static const char *pick(const rt_codec_est *est, double raw, double bw) { return rt_codecs[model_best(est, raw, bw)].name; }

static void test_choice_follows_the_link(void **s) {
  (void)s;
  rt_codec_est est[RT_NCODECS];
  frames(est);
  double R = 2e6;                                      /* a 2 MB delta */
  assert_string_equal(pick(est, R, 3e9), "none");      /* loopback */
  assert_string_equal(pick(est, R, 125e6), "lz4");     /* 1 Gbit/s */
  assert_string_equal(pick(est, R, 6.25e6), "zstd-3"); /* 50 Mbit/s */
  /* the slower the link, the more (never less) compression */
  int prev = 0;
  for (double bw = 1e10; bw > 1e5; bw /= 2) {
    int k = model_best(est, R, bw);
    assert_true(k >= prev);
    prev = k;
  }
}

static void test_choice_follows_the_data(void **s) {
  (void)s;
  rt_codec_est est[RT_NCODECS];
  random_pages(est); /* nothing to gain: never compress */
  for (double bw = 1e10; bw > 1e5; bw /= 4) assert_string_equal(pick(est, 4e6, bw), "none");
  /* codecs never measured are not chosen, whatever the link */
  memset(est, 0, sizeof est);
  assert_string_equal(pick(est, 4e6, 1e6), "none");
  /* nothing to send, or the link unknown: none (the caller picks LZ4 for an unknown link) */
  frames(est);
  assert_string_equal(pick(est, 0, 1e6), "none");
  assert_string_equal(pick(est, 4e6, 0), "none");
}

static void test_link_observe(void **s) {
  (void)s;
  rt_peer p = {0};
  rt_link_observe(&p, 10000, 0.01, false, 0.002); /* small: only the round trip */
  assert_true(p.bw == 0 && p.rtt == 0.002);
  rt_link_observe(&p, 1000000, 0.022, false, 0.005); /* rtt keeps the least seen */
  assert_true(p.rtt == 0.002);
  assert_true(p.bw > 49e6 && p.bw < 51e6); /* 1 MB in 20 ms after the round trip */
  double bw = p.bw;
  rt_link_observe(&p, 1000000, 1.0, true, 0); /* encoder-bound: says "at least 1 MB/s" */
  assert_true(p.bw == bw);
  rt_link_observe(&p, 1000000, 0.0102, true, 0); /* at least ~100 MB/s: raises */
  assert_true(p.bw > 90e6);
  bw = p.bw;
  rt_link_observe(&p, 1000000, 0.102, false, 0); /* a real measurement of ~10 MB/s moves it down */
  assert_true(p.bw < bw && p.bw > 10e6);
  bw = p.bw;
  rt_link_observe(&p, 1000000, 0, false, 0); /* nonsense is ignored */
  assert_true(p.bw == bw);
  /* only a transfer the link held up measures it exactly */
  rt_peer q = {0};
  rt_link_observe(&q, 1000000, 0.01, true, 0);
  assert_false(q.bw_exact);
  rt_link_observe(&q, 10000, 0.01, false, 0); /* too small to say anything */
  assert_false(q.bw_exact);
  rt_link_observe(&q, 1000000, 0.01, false, 0);
  assert_true(q.bw_exact);
}

/* On loopback the first transfer (LZ4, nothing known yet) is held up by the
 * receiver's decoding: 0.3 MB in ~10 ms looks like a 30 MB/s link, which
 * makes none look 20x slower than it is and it was never tried (measured: the
 * pipeline's frames went with LZ4 all run, 1.35x slower than none). While the
 * link is only known as "at least", none is counted without wire time until
 * it has been measured once. */
static void test_none_is_tried_while_the_link_is_a_lower_bound(void **s) {
  (void)s;
  rt_codec_est est[RT_NCODECS];
  frames(est);
  double R = 2e6, pred[RT_NCODECS];
  rt_peer p = {0};
  rt_link_observe(&p, 300000, 0.01, true, 0.0001); /* receiver-bound LZ4 transfer */
  rt_codec_observe(&p, 1, 0.01, R);
  rt_codec_predict_peer(&p, est, R, pred);
  assert_int_equal(rt_codec_pick(pred, R, p.obs, p.nobs, true), 0);
  /* the same lower bound taken as exact: none predicted far slower, not tried */
  rt_peer exact = p;
  exact.bw_exact = true;
  rt_codec_predict_peer(&exact, est, R, pred);
  assert_int_not_equal(rt_codec_pick(pred, R, exact.obs, exact.nobs, true), 0);
  /* once none was measured, what it took decides */
  rt_codec_observe(&p, 0, 0.02, R); /* 2x LZ4's time */
  rt_codec_predict_peer(&p, est, R, pred);
  assert_int_equal(rt_codec_pick(pred, R, p.obs, p.nobs, false), 1);
  rt_peer q = {0};
  rt_link_observe(&q, 300000, 0.01, true, 0.0001);
  rt_codec_observe(&q, 1, 0.01, R);
  rt_codec_observe(&q, 0, 0.005, R); /* half LZ4's time */
  rt_codec_predict_peer(&q, est, R, pred);
  assert_int_equal(rt_codec_pick(pred, R, q.obs, q.nobs, false), 0);
}

/* The model is wrong the way it is on loopback (compression predicted faster
 * than it is): measured transfers correct it, and a candidate within reach is
 * tried now and then. */
static void test_measurements_correct_the_model(void **s) {
  (void)s;
  const double pred[RT_NCODECS] = {2.0, 1.0, 1.5, 3.0};  /* what the model says */
  const double truth[RT_NCODECS] = {0.9, 1.5, 2.0, 3.5}; /* what transfers take */
  rt_peer p = {0};
  /* nothing measured: the model's best, then the untried candidates within
   * EXPLORE_WITHIN of it, least predicted first */
  assert_int_equal(rt_codec_pick(pred, 1.0, p.obs, p.nobs, false), 1);
  assert_int_equal(rt_codec_pick(pred, 1.0, p.obs, p.nobs, true), 2);
  int chosen[RT_NCODECS] = {0}, trials = 0;
  for (int i = 0; i < 200; i++) {
    int k = rt_codec_pick(pred, 1.0, p.obs, p.nobs, true);
    chosen[k]++;
    trials += k != rt_codec_pick(pred, 1.0, p.obs, p.nobs, false); /* not the best known: a trial */
    rt_codec_observe(&p, k, truth[k], 1.0);
  }
  /* the measured fastest wins, and trials stay rare */
  assert_int_equal(rt_codec_pick(pred, 1.0, p.obs, p.nobs, false), 0);
  assert_true(chosen[0] >= 170);
  assert_true(trials <= 20);
  /* zstd-3, predicted 3x the best, is never within reach (3.0 > 2.5 * 1.0) */
  assert_int_equal(chosen[3], 0);
  /* a candidate predicted far slower than the best is never tried */
  const double far[RT_NCODECS] = {10.0, 1.0, -1, -1};
  rt_peer q = {0};
  for (int i = 0; i < 100; i++) {
    int k = rt_codec_pick(far, 1.0, q.obs, q.nobs, true);
    assert_int_equal(k, 1);
    rt_codec_observe(&q, k, 1.0, 1.0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_choice_follows_the_link),
      cmocka_unit_test(test_choice_follows_the_data),
      cmocka_unit_test(test_link_observe),
      cmocka_unit_test(test_measurements_correct_the_model),
      cmocka_unit_test(test_none_is_tried_while_the_link_is_a_lower_bound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
