/*
 * cxxstate.cpp — C++ objects across migrations (nodes cloud, edge, fog):
 * std::vector, std::string (short, inline and long, heap), std::map,
 * std::unique_ptr to objects with virtual methods (vtable pointers are
 * addresses in the module's memory/table), a global object built by a
 * static constructor, and a lambda in std::function. Each round edge and
 * fog change all of them; cloud prints a digest. Usage: cxxstate.wasm [rounds]
 */
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <kafu.h>

struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
  virtual std::string name() const = 0;
  virtual void grow(int k) = 0;
};
struct Rect : Shape {
  double w, h;
  Rect(double w_, double h_) : w(w_), h(h_) {}
  double area() const override { return w * h; }
  std::string name() const override { return "rect"; }
  void grow(int k) override { w += k; }
};
struct Circle : Shape {
  double r;
  explicit Circle(double r_) : r(r_) {}
  double area() const override { return 3.0 * r * r; }
  std::string name() const override { return "circle"; }
  void grow(int k) override { r += 0.5 * k; }
};

struct World {
  std::vector<std::string> log;
  std::map<std::string, long long> counters;
  std::vector<std::unique_ptr<Shape>> shapes;
  std::function<long long(long long)> step;
  std::string big;
};

/* built by a static constructor before main */
static std::map<int, std::string> g_names = {{1, "one"}, {2, "two"}, {3, "three"}};

extern "C" {
void on_edge(World *w, int round);
void on_fog(World *w, int round);
}

KAFU_DEST(on_fog, "fog")
KAFU_EXPORT(on_fog)
void on_fog(World *w, int round) {
  w->log.push_back("fog" + std::to_string(round) + ":" + std::string(round * 7 + 1, 'f'));
  w->counters["fog"] += w->step(round);
  for (auto &s : w->shapes) s->grow(round + 1);
  w->shapes.push_back(round % 2 ? std::unique_ptr<Shape>(new Rect(round, 2))
                                : std::unique_ptr<Shape>(new Circle(round)));
  w->big.append(1000, char('a' + round));
  g_names[round + 10] = "fog-" + std::to_string(round);
}

KAFU_DEST(on_edge, "edge")
KAFU_EXPORT(on_edge)
void on_edge(World *w, int round) {
  w->log.push_back("edge" + std::to_string(round));
  w->counters["edge"] += round * 3 + 1;
  long long before = w->counters["fog"];
  on_fog(w, round);
  w->counters["edge-saw-fog"] += w->counters["fog"] - before;
  auto old = w->step;
  w->step = [old, round](long long x) { return old(x) * 2 + round; };
  std::printf("edge %d: %zu shapes, %zu log entries, g_names %zu\n", round, w->shapes.size(), w->log.size(),
              g_names.size());
  std::fflush(stdout);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 4;
  World w;
  w.step = [](long long x) { return x + 1; };
  w.shapes.emplace_back(new Rect(1, 1));
  w.big = "start";
  for (int r = 0; r < rounds; r++) {
    on_edge(&w, r);
    double area = 0;
    std::string names;
    for (auto &s : w.shapes) area += s->area(), names += s->name()[0];
    unsigned long long h = 1469598103934665603ULL;
    for (auto &s : w.log)
      for (char c : s) h = (h ^ (unsigned char)c) * 1099511628211ULL;
    for (char c : w.big) h = (h ^ (unsigned char)c) * 1099511628211ULL;
    std::printf("cloud %d: area %.2f shapes %s counters", r, area, names.c_str());
    for (auto &kv : w.counters) std::printf(" %s=%lld", kv.first.c_str(), kv.second);
    std::printf(" step(5)=%lld big=%zu log=%016llx %s\n", w.step(5), w.big.size(), h,
                g_names[r + 10].c_str());
    std::fflush(stdout);
  }
  return 0;
}
