/*
 * spectest.h — print values through the host's "spectest" module.
 *
 * The WebAssembly spec interpreter's test harness provides a host module named
 * "spectest" with a few printing functions; Wasmtime links the same module,
 * and Kafu provides it too, so programs written for the original Kafu that
 * print with these functions run unchanged. Each call writes one line per
 * value to the program's standard output, e.g. spectest_print_i32(-7) writes
 * "-7: i32" and spectest_print_f64(0.5) writes "0.5: f64".
 *
 * The functions are imports: there is no code behind them in the program.
 */
#ifndef KAFU_SPECTEST_H
#define KAFU_SPECTEST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__wasm__)
#define KAFU_SPECTEST_FN(fn) __attribute__((import_module("spectest"), import_name(#fn)))
#else
#define KAFU_SPECTEST_FN(fn)
#endif

/* prints nothing */
KAFU_SPECTEST_FN(print) void spectest_print(void);
/* "<v>: i32" / "<v>: i64" (signed decimal) */
KAFU_SPECTEST_FN(print_i32) void spectest_print_i32(int32_t v);
KAFU_SPECTEST_FN(print_i64) void spectest_print_i64(int64_t v);
/* "<v>: f32" / "<v>: f64" (shortest decimal that reads back exactly) */
KAFU_SPECTEST_FN(print_f32) void spectest_print_f32(float v);
KAFU_SPECTEST_FN(print_f64) void spectest_print_f64(double v);
/* two lines, one per argument */
KAFU_SPECTEST_FN(print_i32_f32) void spectest_print_i32_f32(int32_t i, float f);
KAFU_SPECTEST_FN(print_f64_f64) void spectest_print_f64_f64(double a, double b);

#undef KAFU_SPECTEST_FN

#ifdef __cplusplus
}
#endif

#endif /* KAFU_SPECTEST_H */
