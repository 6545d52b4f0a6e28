# Pulse's verbs. `make demo` and `make test` set up everything they need themselves.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
DEV := build/dev
RELEASE := build/release
TSAN := build/tsan
CMAKE_COMMON := -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
PORT ?= 8080
BIND ?= 127.0.0.1

.PHONY: all deps web demo demo-build dev test test-cpp test-js test-browser check-format check-layers format tsan clean

all: dev

deps:
	@scripts/install-deps

## web: the sample apps' pages, bundled with esbuild into build/web
web: deps
	@node scripts/build-web.mjs

## demo: build in Release and start the demo server on $(BIND):$(PORT)
demo: demo-build
	build/bin/pulse-demo --bind $(BIND) --port $(PORT)

demo-build: web
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DPULSE_TESTS=OFF \
	  -DCMAKE_RUNTIME_OUTPUT_DIRECTORY=$(CURDIR)/build/bin $(CMAKE_COMMON) >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS) --target pulse-demo

## dev: the test build (Debug, AddressSanitizer and UndefinedBehaviorSanitizer)
dev: web
	@cmake -S . -B $(DEV) -DCMAKE_BUILD_TYPE=Debug -DPULSE_SANITIZE=ON $(CMAKE_COMMON) >/dev/null
	@cmake --build $(DEV) -j $(JOBS)

## test: every check and every test, as CI runs them
test: dev check-format check-layers test-cpp test-js test-browser

test-cpp:
	cd $(DEV) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure --no-tests=error -j $(JOBS)

test-js:
	PULSE_DEMO=$(CURDIR)/$(DEV)/bin/pulse-demo node --test --test-concurrency=1 tests/client/

# Debian's Chromium, driven by playwright-core; screenshots land in build/test-artifacts/.
test-browser:
	PULSE_DEMO=$(CURDIR)/$(DEV)/bin/pulse-demo node --test --test-concurrency=1 tests/browser/

check-format:
	@files=$$(git ls-files '*.cpp' '*.hpp'); \
	clang-format --dry-run --Werror $$files && echo "format: clean"

# transport/ must not know CAF, and nothing below apps/ may include an app.
check-layers:
	@! grep -rnE '#include [<"]caf/' transport/ || { echo "transport/ includes CAF"; exit 1; }
	@! grep -rnE '#include "apps/' actors/ transport/ || { echo "a library includes an app"; exit 1; }
	@echo "layers: clean"

## tsan: the actor and integration tests under ThreadSanitizer, with a CAF built for it
tsan: deps
	@scripts/build-tsan-caf
	@cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPULSE_CAF_ROOT=$(CURDIR)/build/tsan-caf \
	  -DPULSE_EXTRA_FLAGS="-fsanitize=thread -O1 -g" $(CMAKE_COMMON) >/dev/null
	@cmake --build $(TSAN) -j $(JOBS) --target actor_tests integration_tests
	cd $(TSAN) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure --no-tests=error -j $(JOBS) -L concurrent

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
