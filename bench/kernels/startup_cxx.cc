// startup_cxx.cc — a small C++ program pulling in iostream, string, map,
// vector and algorithms (~100-200 KB of wasm): the "typical C++ module" of
// bench/startup.sh, which measures cold (AOT compile) and warm (cache hit)
// start-up. Not a compute kernel.
#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  std::map<std::string, int> count;
  std::vector<std::string> words;
  for (int i = 0; i < argc; i++) words.push_back(argv[i]);
  words.push_back("kafu");
  for (auto &w : words) count[w]++;
  std::sort(words.begin(), words.end());
  std::ostringstream os;
  for (auto &w : words) os << w << '=' << count[w] << ' ';
  std::cout << os.str() << std::endl;
  return 0;
}
