# Kafu — the front door. `make demo` and `make test` do all the set-up on a
# fresh Debian 12 machine (as root): install packages, build, run.
BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build deps deps-cross build-aarch64 image test test-asan asan-unit demo install clean bench bench-keep bench-migration bench-pipeline bench-overhead bench-startup bench-snapshot-codec bench-simd bench-nn bench-failover bench-links bench-peers bench-edge-service bench-heterogeneous fuzz format

all: build

deps:
	@bash scripts/install-deps.sh

# aarch64 cross toolchain, qemu-user and arm64 libraries (docs/heterogeneous.md);
# `make test` needs them for the cross-ISA tests.
deps-cross:
	@bash scripts/install-deps-cross.sh

# kafu for aarch64-linux-gnu (a node build: no Snapify) into build-aarch64/;
# run it with `qemu-aarch64 -L / build-aarch64/bin/kafu ...` on x86-64.
build-aarch64:
	bash scripts/build-aarch64.sh build-aarch64

# Optional: the container images (full and slim) from a locally made Debian
# base image (debootstrap + docker import; no registry needed). Needs a
# running Docker daemon; see scripts/image.sh and docs/kubernetes.md.
image:
	bash scripts/image.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The whole suite: every test in the normal build, then the unit tests and the
# fuzz-corpus replays again under ASan+UBSan (separate build dir).
test: deps deps-cross
	$(MAKE) asan-unit
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

test-asan: deps asan-unit

asan-unit:
	$(MAKE) build BUILD=build-asan CMAKE_FLAGS="-DKAFU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"
	cd build-asan && ctest --output-on-failure -j $(JOBS) -R '^(unit|fuzz)/'

demo: deps
	$(MAKE) build
	bash scripts/demo.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

fuzz: deps
	bash scripts/fuzz.sh

# Benchmarks (never part of `make test`): each prints a table, writes CSV (and
# plots) under $(BUILD)/bench-results/ and ends with one machine-readable
# summary line. bench/results/ holds the curated results docs/benchmarks.md
# cites: copy a run there deliberately (`make bench-keep`), never by default.
bench: bench-overhead bench-startup bench-migration bench-pipeline bench-simd bench-edge-service
bench-migration bench-pipeline bench-overhead bench-startup bench-snapshot-codec bench-simd bench-nn bench-failover bench-links bench-peers bench-edge-service bench-heterogeneous: build
	KAFU=$(CURDIR)/$(BUILD)/bin/kafu KAFU_BUILD=$(CURDIR)/$(BUILD) bash bench/$(subst bench-,,$@).sh

# Replace the committed results with the last run's (then describe the run in
# docs/benchmarks.md).
bench-keep:
	cp -v $(BUILD)/bench-results/* bench/results/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan
