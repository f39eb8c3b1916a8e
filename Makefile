# Thin wrapper around CMake. `make demo` and `make test` work from a fresh clone:
# they install the Debian packages first (a no-op when present).
BUILD_DIR ?= build/release
ASAN_DIR  ?= build/asan
JOBS      ?= $(shell nproc)
CMAKE_GEN := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all deps build demo test test-release test-asan bench format lint clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja $(BUILD_DIR)/Makefile:
	cmake -S . -B $(BUILD_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	$(BUILD_DIR)/viya-mv demo

test: test-release test-asan lint

# The binary and every test (not the benchmarks: `make bench` builds those).
test-release: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target viya-mv all_tests
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The suites gated on a MongoDB replica set (deploy/mongodb/README.md). Without
# VIYA_MV_MONGODB_URI they would only be skipped: this target refuses instead.
.PHONY: test-mongo
test-mongo: build
	@test -n "$$VIYA_MV_MONGODB_URI" || { echo "test-mongo: set VIYA_MV_MONGODB_URI to a replica set (deploy/mongodb/start-replica-set.sh)"; exit 2; }
	cd $(BUILD_DIR) && ctest --output-on-failure -R '[Mm]ongo' --timeout 300

# Unit and property tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DVIYA_MV_SANITIZE=ON -DVIYA_MV_BENCH=OFF
	cmake --build $(ASAN_DIR) -j $(JOBS) --target unit_tests
	cd $(ASAN_DIR) && ctest --output-on-failure -j $(JOBS) -L unit --timeout 600

# Benchmarks, each figure beside its baseline measured in the same run (docs/benchmarks.md).
# BENCH_SHIPMENTS sizes the rebuild and stream figures (1M: ~5 min with the PostgreSQL
# baseline, 10M: ~1 h and ~15 GB in BENCH_DIR); HTTP_SHIPMENTS the serving ones.
BENCH_DIR       ?= /tmp/viya-mv-bench
BENCH_SHIPMENTS ?= 1000000
HTTP_SHIPMENTS  ?= 100000

.PHONY: bench-deps bench-pipeline bench-rebuild bench-http bench-operations
bench: bench-pipeline bench-rebuild bench-http bench-operations

bench-deps:
	@./scripts/install-deps.sh --bench

bench-pipeline: build
	$(BUILD_DIR)/bench/pipeline_bench

bench-rebuild: build bench-deps
	$(BUILD_DIR)/bench/rebuild_bench --shipments=$(BENCH_SHIPMENTS) --reps=2 --apply=100000 \
	  --dir=$(BENCH_DIR)/source-$(BENCH_SHIPMENTS) --csv=$(BENCH_DIR)/csv-$(BENCH_SHIPMENTS)
	bench/postgres_refresh.sh $(BENCH_DIR)/csv-$(BENCH_SHIPMENTS)

bench-http: build bench-deps
	bench/http_bench.py --build=$(BUILD_DIR) --shipments=$(HTTP_SHIPMENTS)

# import, backfill, rebuild (full and largest org) and reconcile at 1M, with freshness.
bench-operations: build
	bench/operations_bench.py --build=$(BUILD_DIR) --shipments=$(BENCH_SHIPMENTS)

# A long mixed load over many keep-alive connections, sampled from outside (bench/soak.py);
# fails on any failed request. Not part of `make test`.
SOAK_MINUTES     ?= 30
SOAK_CONNECTIONS ?= 200
.PHONY: soak
soak: build
	bench/soak.py --build=$(BUILD_DIR) --minutes=$(SOAK_MINUTES) --connections=$(SOAK_CONNECTIONS)

# Formatting is checked, never argued about.
lint:
	@command -v clang-format >/dev/null 2>&1 || { echo "lint: clang-format not installed, skipped"; exit 0; }; \
	  git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror && echo "lint: clang-format clean"

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf build

# libFuzzer targets (clang, ASan + UBSan + LSan), one per parser of outside input: each runs
# FUZZ_SECONDS on a working copy of its corpus in $(FUZZ_DIR)/corpus (seeded from
# fuzz/corpus); fails if any finds a crash. See fuzz/README.md.
FUZZ_DIR     ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= $(JOBS)
FUZZ_TARGETS ?= shipment_json tracking_event_json tracking_body query_params cursors rfc3339 \
                config_toml http_request row_codec
FUZZ_STAMP   := $(FUZZ_DIR)/$(if $(CMAKE_GEN),build.ninja,Makefile)

.PHONY: fuzz fuzz-deps fuzz-build fuzz-merge

fuzz-deps:
	@./scripts/install-deps.sh --fuzz

$(FUZZ_STAMP): | fuzz-deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) $(CMAKE_GEN) -DVIYA_MV_FUZZ=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo

fuzz-build: fuzz-deps $(FUZZ_STAMP)
	cmake --build $(FUZZ_DIR) -j $(FUZZ_JOBS) --target fuzz_targets

fuzz: fuzz-build
	@./fuzz/run.sh run $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Keeps what the last `make fuzz` found that adds coverage, in fuzz/corpus (to commit).
fuzz-merge: fuzz-build
	@./fuzz/run.sh merge $(FUZZ_DIR) $(FUZZ_TARGETS)
