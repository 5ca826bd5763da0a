// The C++ flavour of basic/: compiled by kafu_clang (the C driver) with
// -lstdc++ -O3, like the original SDK's C++ example; uses the C++ library on
// both nodes. Expected output (any mode):
//   10: i32
//   15: i32
//   0.5: f32
//   15: i32
#include "kafu.h"
#include "spectest.h"

#include <numeric>
#include <vector>

static std::vector<int> values;

KAFU_DEST(collect, "cloud1")
KAFU_EXPORT(collect)
void collect();

KAFU_DEST(summarize, "edge1")
KAFU_EXPORT(summarize)
int summarize(int extra);

int main() { collect(); }

void collect() {
  for (int i = 1; i <= 4; i++) values.push_back(i);
  spectest_print_i32(std::accumulate(values.begin(), values.end(), 0));
  int total = summarize(5);
  spectest_print_i32(total);
}

int summarize(int extra) {
  values.push_back(extra);
  int total = std::accumulate(values.begin(), values.end(), 0);
  spectest_print_i32(total);
  spectest_print_f32(values.size() / 10.0f);
  return total;
}
