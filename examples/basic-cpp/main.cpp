/*
 * Kafu with C++17: the standard library works as usual (wasm32-wasi libc++,
 * compiled without exceptions). summarize() runs on "edge"; the vector and
 * strings it reads were built on "cloud" and travel with the program's memory.
 */
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <kafu.h>

struct Reading {
  std::string sensor;
  int value;
};

KAFU_DEST(summarize, "edge")
KAFU_EXPORT(summarize)
int summarize(const std::vector<Reading> *readings, std::string *report) {
  int total = std::accumulate(readings->begin(), readings->end(), 0,
                              [](int acc, const Reading &r) { return acc + r.value; });
  for (const auto &r : *readings) *report += r.sensor + "=" + std::to_string(r.value) + " ";
  std::printf("Hello, from edge! %zu readings\n", readings->size());
  std::fflush(stdout);
  return total;
}

int main() {
  std::vector<Reading> readings;
  for (int i = 1; i <= 4; i++) readings.push_back({"s" + std::to_string(i), i * 10});
  std::printf("Hello, from cloud!\n");
  std::fflush(stdout); /* stdio buffers travel with the program: flush before migrating */
  std::string report;
  int total = summarize(&readings, &report);
  std::printf("back on cloud: %stotal=%d\n", report.c_str(), total);
  std::fflush(stdout);
  return total == 100 ? 0 : 1;
}
