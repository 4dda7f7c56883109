# zjob - the two commands: `make demo` and `make test`.
# Everything CMake does not do lives here: installing the Debian packages
# that are missing, driving the normal and sanitizer builds, and the code
# tools: `make lint` (cppcheck) and `make format-check` (clang-format),
# which `make test` runs after the tests, and `make format`, which fixes
# what format-check finds; and the fuzzing (`make fuzz`, `make fuzz-short`,
# which `make test` runs last).

DEBS      := build-essential cmake pkg-config libzmq3-dev libczmq-dev \
             libmsgpack-dev libcriterion-dev libjansson-dev libicu-dev \
             libmicrohttpd-dev curl libsqlite3-dev libpq-dev libhiredis-dev
# (curl: the demo reads /readyz with it; libsqlite3-dev and libpq-dev:
# the SQLite and PostgreSQL stores; libhiredis-dev: bench_peers' Redis
# client, so that the bench is built, and linted, with everything else.) What make test needs beyond the
# build: cppcheck for its lint and
# clang-format for its format check, prometheus for promtool check metrics
TEST_DEBS := cppcheck clang-format prometheus
# The SQL stores' tests: a real PostgreSQL server (started by the tests in
# a temporary directory) and the sqlite3 shell (an operator's query while
# zjobd runs)
TEST_DEBS += postgresql sqlite3
# What the fuzz harnesses need (make fuzz, fuzz-short): clang and its
# libFuzzer runtime (libclang_rt.fuzzer; Debian 12's clang is clang-14)
FUZZ_DEBS := clang libclang-rt-14-dev
# make test also runs the dashboard in a real browser (tests/browser/):
# headless Chromium, its driver and Selenium (for Debian's python3)
TEST_DEBS += chromium chromium-driver python3-selenium
# make bench and bench-peers: the servers bench_peers starts and measures
# zjob against (beanstalkd, Redis)
BENCH_DEBS := beanstalkd redis-server
BUILD     := build
ASAN      := build-asan
FUZZ      := build-fuzz
# Seconds each fuzz harness runs in make fuzz (fuzz-short: 10, which keeps
# make test under its fifteen minutes on 2 cores)
FUZZ_SECONDS ?= 300
FUZZERS   := msg job journal json config cron
JOBS      ?= 2
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The C files clang-format looks after: those git tracks
FORMAT_FILES = $(shell git ls-files '*.c' '*.h')

.PHONY: all deps deps-test build build-asan test test-release test-asan demo bench \
        bench-peers deps-bench \
        format format-check lint clean deps-fuzz build-fuzz fuzz fuzz-short fuzz-seeds \
        failover

all: build

# Install those of the packages $(1) that are missing
define install_missing
	@missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "zjob: installing $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call install_missing,$(DEBS))

deps-test:
	$(call install_missing,$(TEST_DEBS))

deps-fuzz:
	$(call install_missing,$(FUZZ_DEBS))

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZJOB_WERROR=ON

$(ASAN)/Makefile: CMakeLists.txt
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DZJOB_WERROR=ON -DZJOB_SANITIZE=ON \
	    -DZJOB_BENCH=OFF

$(FUZZ)/Makefile: CMakeLists.txt
	CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZJOB_WERROR=ON \
	    -DZJOB_FUZZ=ON -DBUILD_TESTING=OFF

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(ASAN)/Makefile
	cmake --build $(ASAN) -j $(JOBS)

test-release: build deps-test
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan deps-test
	tests/sanitize_check.sh $(ASAN) -j $(JOBS)

test: test-release test-asan lint format-check fuzz-short

# The libFuzzer harnesses of tests/fuzz (docs/ARCHITECTURE.md), in their
# own clang build: make fuzz runs each for FUZZ_SECONDS on a copy of its
# seed corpus (build-fuzz/corpus; crashes in build-fuzz/artifacts) and
# fails on any crash, leak, UB or hang; make fuzz-short is its short
# form, the last step of make test. make fuzz-seeds rewrites the seed
# corpora (tests/fuzz/corpus) from real messages, journals and jobs.
build-fuzz: deps deps-fuzz $(FUZZ)/Makefile
	cmake --build $(FUZZ) -j $(JOBS) --target zjob_fuzz

fuzz: build-fuzz
	tests/fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS) $(FUZZERS)

fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=10

fuzz-seeds: build-fuzz
	./$(FUZZ)/zjob_fuzz_seeds tests/fuzz/corpus

deps-bench:
	$(call install_missing,$(BENCH_DEBS))

bench: deps-bench build
	./$(BUILD)/bench_core

# zjob against beanstalkd and Redis on the same workload, in one run
# (bench/bench_peers.c); PEERS_ARGS, e.g. --quick or --rounds 3
bench-peers: deps-bench build
	./$(BUILD)/bench_peers $(PEERS_ARGS)

# Two zjobd on one PostgreSQL database, the active one killed (-9) under
# load FAILOVER_ROUNDS times (make test runs 3): the time until the
# standby serves and until the workers are back, per round, with the
# median and the max (tests/test_zjob_failover_e2e.c); ctest starts the
# PostgreSQL server (the fixture pg)
FAILOVER_ROUNDS ?= 20
failover: build deps-test
	cd $(BUILD) && ZJOB_FAILOVER_ROUNDS=$(FAILOVER_ROUNDS) \
	    ctest -R '^test_zjob_failover_e2e$$' --output-on-failure -V

demo: build
	examples/demo.sh $(BUILD)

# clang-format with .clang-format, in place; format-check changes nothing
# and fails listing the files that format would change. .clang-format says
# what of the house style it cannot express: use it on new code.
format: deps-test
	clang-format -i $(FORMAT_FILES)

format-check: deps-test
	@changed=$$(for f in $(FORMAT_FILES); do \
	    clang-format --dry-run --Werror $$f >/dev/null 2>&1 || echo $$f; done); \
	if [ -n "$$changed" ]; then \
	  echo "zjob: make format would change:"; echo "$$changed" | sed 's/^/    /'; exit 1; \
	fi; echo "zjob: formatted"

# cppcheck on every file the build compiles (tests/lint.sh); part of make test
lint: deps-test $(BUILD)/Makefile
	JOBS=$(JOBS) tests/lint.sh . $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
