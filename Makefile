# zjob - the two commands: `make demo` and `make test`.
# Everything CMake does not do lives here: installing the Debian packages
# that are missing, and driving the normal and sanitizer builds.

DEBS      := build-essential cmake pkg-config libzmq3-dev libczmq-dev \
             libmsgpack-dev libcriterion-dev libjansson-dev
BUILD     := build
ASAN      := build-asan
JOBS      ?= 2
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build build-asan test test-release test-asan demo bench clean

all: build

deps:
	@missing=$$(for p in $(DEBS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "zjob: installing $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZJOB_WERROR=ON

$(ASAN)/Makefile: CMakeLists.txt
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DZJOB_WERROR=ON -DZJOB_SANITIZE=ON

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(ASAN)/Makefile
	cmake --build $(ASAN) -j $(JOBS)

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	tests/sanitize_check.sh $(ASAN) -j $(JOBS)

test: test-release test-asan

bench: build
	./$(BUILD)/bench_core

demo: build
	examples/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN)
