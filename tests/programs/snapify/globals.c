/* globals.c — several mutable wasm globals besides __stack_pointer (defined
 * in globals_asm.s: an i32, an i64 and an f64), updated across annotated
 * calls. A restore that forgot any kafu_global_<N> would print zeros. */
#include <kafu.h>
#include <stdio.h>

int get_counter(void);
void set_counter(int);
long long get_big(void);
void set_big(long long);
double get_real(void);
void set_real(double);

static int calls;

KAFU_DEST(bump, "cloud")
KAFU_EXPORT(bump)
void bump(int k) {
  calls++;
  set_counter(get_counter() + k);
  set_big(get_big() * 3 + k);
  set_real(get_real() / 2 + k);
}

int main(void) {
  set_counter(1);
  set_big(1000000000000LL);
  set_real(1.5);
  for (int i = 1; i <= 5; i++) {
    bump(i);
    printf("after bump(%d): counter=%d big=%lld real=%.6f\n", i, get_counter(), get_big(), get_real());
  }
  printf("annotated calls: %d\n", calls);
  return 0;
}
