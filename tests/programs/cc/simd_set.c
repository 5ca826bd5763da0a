/* simd_set.c — a self-checking Wasm SIMD test set: every group computes the
 * same thing with wasm_simd128.h intrinsics and with scalar code, and counts
 * mismatches. Built with -msimd128 it uses SIMD (explicitly and through
 * clang's auto-vectorizer); without, only the scalar half runs, so both builds
 * print the same checksum line. Kafu's engine refuses the SIMD build (naming
 * the first instruction), which tests/shell/simd.sh checks; bench/simd.sh runs
 * both builds under Node.js to measure what SIMD would bring. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define N 1024
static int32_t ia[N], ib[N], ic[N];
static int16_t sa[N], sb[N];
static uint8_t ua[N], ub[N], uc[N];
static float fa[N], fb[N], fc[N];
static double da[N], db[N], dc[N];
static int mismatches;

static void fill(uint32_t seed) {
  for (int i = 0; i < N; i++) {
    seed = seed * 1103515245u + 12345u;
    ia[i] = (int32_t)(seed >> 3) - (1 << 27);
    ib[i] = (int32_t)(seed % 2001u) - 1000;
    sa[i] = (int16_t)(seed >> 7);
    sb[i] = (int16_t)(seed >> 13);
    ua[i] = (uint8_t)(seed >> 5);
    ub[i] = (uint8_t)(seed >> 19);
    fa[i] = (float)((int32_t)(seed % 20001u) - 10000) / 64.0f;
    fb[i] = (float)(seed % 997u) / 7.0f + 0.5f;
    da[i] = (double)((int32_t)(seed % 40001u) - 20000) / 3.0;
    db[i] = (double)(seed % 1009u) / 11.0 + 0.25;
  }
}

static void check_i32(const char *what, int32_t got, int32_t want) {
  if (got != want) {
    printf("MISMATCH %s: %d != %d\n", what, got, want);
    mismatches++;
  }
}

/* auto-vectorizable loops (identical source in both builds) */
static uint32_t loops(void) {
  uint32_t h = 0;
  for (int i = 0; i < N; i++) ic[i] = ia[i] * 3 + (ib[i] >> 2);
  for (int i = 0; i < N; i++) uc[i] = (uint8_t)(ua[i] + ub[i]);
  for (int i = 0; i < N; i++) fc[i] = fa[i] * fb[i] + 1.0f;
  for (int i = 0; i < N; i++) dc[i] = da[i] / db[i];
  for (int i = 0; i < N; i++) h = h * 31u + (uint32_t)ic[i] + uc[i];
  for (int i = 0; i < N; i++) {
    uint32_t u;
    memcpy(&u, &fc[i], 4);
    h ^= u + (uint32_t)(int64_t)dc[i];
  }
  return h;
}

#ifdef __wasm_simd128__
static void intrinsics(void) {
  for (int i = 0; i < N; i += 4) {
    v128_t a = wasm_v128_load(ia + i), b = wasm_v128_load(ib + i);
    int32_t t[4];
    wasm_v128_store(t, wasm_i32x4_add(wasm_i32x4_mul(a, wasm_i32x4_splat(3)), wasm_i32x4_shr(b, 2)));
    for (int k = 0; k < 4; k++) check_i32("i32x4 mul/add/shr", t[k], ia[i + k] * 3 + (ib[i + k] >> 2));
    wasm_v128_store(t, wasm_v128_bitselect(a, b, wasm_i32x4_gt(a, b)));
    for (int k = 0; k < 4; k++) check_i32("bitselect/gt", t[k], ia[i + k] > ib[i + k] ? ia[i + k] : ib[i + k]);
    check_i32("extract_lane", wasm_i32x4_extract_lane(wasm_i32x4_replace_lane(a, 2, 7), 2), 7);
    check_i32("all_true", wasm_i32x4_all_true(wasm_i32x4_ne(b, wasm_i32x4_splat(5000))), 1);
  }
  for (int i = 0; i < N; i += 16) {
    v128_t a = wasm_v128_load(ua + i), b = wasm_v128_load(ub + i);
    uint8_t t[16];
    wasm_v128_store(t, wasm_u8x16_add_sat(a, b));
    for (int k = 0; k < 16; k++) {
      int s = ua[i + k] + ub[i + k];
      check_i32("u8x16.add_sat", t[k], s > 255 ? 255 : s);
    }
    wasm_v128_store(t, wasm_i8x16_shuffle(a, b, 15, 14, 13, 12, 11, 10, 9, 8, 23, 22, 21, 20, 19, 18, 17, 16));
    for (int k = 0; k < 8; k++) check_i32("shuffle", t[k], ua[i + 15 - k]);
    wasm_v128_store(t, wasm_i8x16_popcnt(a));
    for (int k = 0; k < 16; k++) check_i32("popcnt", t[k], __builtin_popcount(ua[i + k]));
  }
  for (int i = 0; i < N; i += 8) {
    int32_t t[4];
    wasm_v128_store(t, wasm_i32x4_dot_i16x8(wasm_v128_load(sa + i), wasm_v128_load(sb + i)));
    for (int k = 0; k < 4; k++)
      check_i32("dot_i16x8", t[k], sa[i + 2 * k] * sb[i + 2 * k] + sa[i + 2 * k + 1] * sb[i + 2 * k + 1]);
  }
  for (int i = 0; i < N; i += 4) {
    v128_t a = wasm_v128_load(fa + i), b = wasm_v128_load(fb + i);
    float t[4];
    int32_t q[4];
    wasm_v128_store(t, wasm_f32x4_sqrt(wasm_f32x4_max(wasm_f32x4_mul(a, b), wasm_f32x4_splat(0))));
    for (int k = 0; k < 4; k++) {
      float p = fa[i + k] * fb[i + k];
      float want = __builtin_sqrtf(p > 0 ? p : 0);
      if (t[k] != want) check_i32("f32x4 sqrt/max/mul", 0, 1);
    }
    wasm_v128_store(q, wasm_i32x4_trunc_sat_f32x4(a));
    for (int k = 0; k < 4; k++) check_i32("trunc_sat_f32x4", q[k], (int32_t)fa[i + k]);
  }
  for (int i = 0; i < N; i += 2) {
    double t[2];
    wasm_v128_store(t, wasm_f64x2_div(wasm_v128_load(da + i), wasm_v128_load(db + i)));
    for (int k = 0; k < 2; k++)
      if (t[k] != da[i + k] / db[i + k]) check_i32("f64x2.div", 0, 1);
  }
}
#endif

int main(void) {
  uint32_t h = 0;
  for (uint32_t round = 1; round <= 200; round++) {
    fill(round);
    h = h * 2654435761u + loops();
#ifdef __wasm_simd128__
    intrinsics();
#endif
  }
  printf("simd_set: checksum %08x, %d mismatches\n", h, mismatches);
  return mismatches != 0;
}
