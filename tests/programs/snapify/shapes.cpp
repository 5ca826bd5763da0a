// shapes.cpp — the C++ proof program: classes with virtual methods that call
// an annotated function (so it is reached through vtables, i.e. indirect
// calls), std::vector / std::string / std::map on the heap, std::sort with a
// lambda, and an annotated function that itself calls virtual methods.
// Built with -fno-exceptions (Binaryen 108's Asyncify cannot handle them).
#include <kafu.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

static int calls;

KAFU_DEST(measure, "cloud")
KAFU_EXPORT(measure)
double measure(double w, double h) {
  calls++;
  return w * h;
}

struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
  virtual std::string name() const = 0;
};

struct Rect : Shape {
  double w, h;
  Rect(double w, double h) : w(w), h(h) {}
  double area() const override { return measure(w, h); }
  std::string name() const override {
    return "rect " + std::to_string((int)w) + "x" + std::to_string((int)h);
  }
};

struct Tri : Shape {
  double b, h;
  Tri(double b, double h) : b(b), h(h) {}
  double area() const override { return measure(b, h) / 2; }
  std::string name() const override { return "tri " + std::to_string((int)b) + "/" + std::to_string((int)h); }
};

struct Circle : Shape {
  double r;
  explicit Circle(double r) : r(r) {}
  double area() const override { return 3.0 * r * r; }  // never migrates
  std::string name() const override { return "circle " + std::to_string((int)r); }
};

KAFU_DEST(summarize, "edge")
KAFU_EXPORT(summarize)
int summarize(int n) {
  calls++;
  std::vector<std::unique_ptr<Shape>> shapes;
  for (int i = 1; i <= n; i++) {
    if (i % 3 == 0)
      shapes.push_back(std::make_unique<Circle>(i));
    else if (i % 3 == 1)
      shapes.push_back(std::make_unique<Rect>(i, i + 1));
    else
      shapes.push_back(std::make_unique<Tri>(i, 2 * i));
  }
  std::sort(shapes.begin(), shapes.end(), [](const auto &a, const auto &b) { return a->area() > b->area(); });
  std::map<std::string, double> by_kind;
  for (auto &s : shapes) {
    std::string nm = s->name();
    by_kind[nm.substr(0, nm.find(' '))] += s->area();
    std::printf("%-12s %8.1f\n", nm.c_str(), s->area());
  }
  for (auto &kv : by_kind) std::printf("total %-6s %8.1f\n", kv.first.c_str(), kv.second);
  return (int)shapes.size();
}

int main() {
  int n = summarize(7);
  std::printf("shapes: %d\n", n);
  std::printf("annotated calls: %d\n", calls);
  return 0;
}
