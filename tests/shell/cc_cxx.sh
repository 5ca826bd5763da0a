#!/usr/bin/env bash
# cc_cxx.sh — `kafu c++` (and `kafu clang++`, kafu-c++): C++17 programs with
# std::vector and std::string compile, link against wasm32 libc++ and run;
# -fno-exceptions is the default (a throw does not compile); -c then link;
# examples/basic-cpp builds and prints what its README says.
source "$KAFU_SRC/tests/shell/lib/common.sh"
need node nodejs
need wasm-objdump wabt
cd "$T"

cat > words.cpp <<'EOF'
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <kafu.h>

static std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

KAFU_DEST(count_words, "edge")
KAFU_EXPORT(count_words)
int count_words(const std::vector<std::string> *words, std::string *top) {
  std::map<std::string, int> freq;
  for (const auto &w : *words) freq[w]++;
  auto best = std::max_element(freq.begin(), freq.end(),
                               [](const auto &a, const auto &b) { return a.second < b.second; });
  if (auto [word, n] = *best; n > 0) *top = word + "x" + std::to_string(n);
  return (int)freq.size();
}

int main() {
  auto words = split("the quick brown fox jumps over the lazy dog the end");
  std::string top;
  int distinct = count_words(&words, &top);
  std::optional<int> total = (int)words.size();
  std::printf("%d words, %d distinct, top %s\n", *total, distinct, top.c_str());
  return distinct == 9 ? 0 : 1;
}
EOF
want="11 words, 9 distinct, top thex3"

if "$KAFU" c++ -std=c++17 -O2 words.cpp -o words.wasm 2> err.txt; then
  out=$(node_run words.wasm); rc=$?
  [ "$rc" = 0 ] && [ "$out" = "$want" ] && ok "C++17 vector/string/map program runs" || fail "rc=$rc out=$out"
  wasm-validate words.wasm || fail "words.wasm does not validate"
  wasm-objdump -h words.wasm | grep -q '"\.kafu_dest\.count_words\.edge"' && ok "C++ custom section kept" ||
    fail "C++ .kafu_dest section missing"
else
  fail "kafu c++ words.cpp: $(cat err.txt)"
fi

# the aliases and the single-path entry point
"$KAFU" clang++ -std=c++17 -O1 words.cpp -o w2.wasm && [ "$(node_run w2.wasm)" = "$want" ] && ok "kafu clang++" ||
  fail "kafu clang++"
CXXBIN="$(dirname "$KAFU")/kafu-c++"
if [ -e "$CXXBIN" ]; then
  "$CXXBIN" -std=c++17 words.cpp -o w3.wasm && [ "$(node_run w3.wasm)" = "$want" ] && ok "kafu-c++ entry point" ||
    fail "kafu-c++"
else
  fail "$CXXBIN missing"
fi

# -c with `kafu cc` on a .cpp, then link with `kafu c++` (C++ runtime needs the C++ driver)
"$KAFU" cc -std=c++17 -O2 -c words.cpp -o words.o 2> err.txt && "$KAFU" c++ words.o -o w4.wasm 2>> err.txt &&
  [ "$(node_run w4.wasm)" = "$want" ] && ok "-c then link (C++)" || fail "-c then link: $(cat err.txt)"

# exceptions are off by default: a throw is a compile error, with clang's message
cat > throw.cpp <<'EOF'
#include <stdexcept>
int main() { throw std::runtime_error("x"); }
EOF
if "$KAFU" c++ throw.cpp -o throw.wasm 2> err.txt; then
  fail "throw compiled although exceptions are disabled"
else
  grep -q "exceptions disabled" err.txt && ok "-fno-exceptions by default (clang: $(grep -m1 error: err.txt | cut -c1-80))" ||
    fail "unexpected error: $(cat err.txt)"
fi

# examples/basic-cpp
cp "$KAFU_SRC"/examples/basic-cpp/{main.cpp,Makefile,kafu-config.yaml} "$T/" 2>/dev/null || mkdir -p "$T"
if make -s -C "$T" KAFU="$KAFU" main.wasm > make.log 2>&1; then
  out=$(node_run main.wasm); rc=$?
  exp=$'Hello, from cloud!\nHello, from edge! 4 readings\nback on cloud: s1=10 s2=20 s3=30 s4=40 total=100'
  [ "$rc" = 0 ] && [ "$out" = "$exp" ] && ok "examples/basic-cpp builds and runs" || fail "basic-cpp: rc=$rc out=$out"
else
  fail "examples/basic-cpp build: $(cat make.log)"
fi

echo "cc_cxx: all passed"
