# Pulse's verbs. `make demo` and `make test` set up everything they need themselves.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
DEV := build/dev
RELEASE := build/release
TSAN := build/tsan
FUZZ := build/fuzz
FUZZ_TARGETS := fuzz_frames fuzz_inflate fuzz_codec fuzz_inbound
FUZZ_SECONDS ?= 300
CMAKE_COMMON := -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
PORT ?= 8080
BIND ?= 127.0.0.1

.PHONY: install test-example example-subdir soak test-soak all deps web demo demo-build dev test test-cpp test-js test-scale test-browser test-fuzz fuzz-merge check-format check-layers format typecheck-web tsan fuzz fuzz-build clean autobahn test-autobahn autobahn-build

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
	@$(MAKE) --no-print-directory typecheck-web SERVER=build/bin/pulse-demo

## dev: the test build (Debug, AddressSanitizer and UndefinedBehaviorSanitizer)
dev: web
	@cmake -S . -B $(DEV) -DCMAKE_BUILD_TYPE=Debug -DPULSE_SANITIZE=ON $(CMAKE_COMMON) >/dev/null
	@cmake --build $(DEV) -j $(JOBS)
	@$(MAKE) --no-print-directory typecheck-web SERVER=$(DEV)/bin/pulse-demo

## typecheck-web: the pages (apps/*/web/*.tsx) against the channel types the server declares,
## generated anew by SERVER --emit-types (tsconfig.json); a page that no longer fits fails the build
SERVER ?= $(DEV)/bin/pulse-demo
typecheck-web:
	@mkdir -p build/generated
	@$(SERVER) --emit-types build/generated/channels.d.ts
	@node_modules/.bin/tsc -p tsconfig.json

## test: every check and every test, as CI runs them
test: dev check-format check-layers test-cpp test-example test-js test-scale test-browser test-soak test-autobahn

## install: the libraries, headers, CMake package, pkg-config file and pulse-demo under PREFIX
PREFIX ?= /usr/local
install: web
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DPULSE_TESTS=OFF \
	  -DCMAKE_RUNTIME_OUTPUT_DIRECTORY=$(CURDIR)/build/bin $(CMAKE_COMMON) >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS) --target pulse pulse_testing pulse-demo
	cmake --install $(RELEASE) --prefix $(PREFIX)

# examples/hello, a project of its own: built against the test build installed into build/stage
# (find_package(Pulse)) and its test run; its add_subdirectory form is configured (built in full
# by `make example-subdir`).
test-example:
	@rm -rf build/stage build/hello build/hello-subdir
	@cmake --install $(DEV) --prefix $(CURDIR)/build/stage >/dev/null
	@cmake -S examples/hello -B build/hello -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_PREFIX_PATH=$(CURDIR)/build/stage >/dev/null
	@cmake --build build/hello -j $(JOBS)
	cd build/hello && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure
	@cmake -S examples/hello -B build/hello-subdir -DPULSE_SOURCE_DIR=$(CURDIR) >/dev/null
	@echo "examples/hello: built and tested against the staged install; add_subdirectory configures"

example-subdir:
	@cmake -S examples/hello -B build/hello-subdir -DPULSE_SOURCE_DIR=$(CURDIR) >/dev/null
	@cmake --build build/hello-subdir -j $(JOBS)
	cd build/hello-subdir && ctest --output-on-failure

test-cpp:
	cd $(DEV) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure --no-tests=error -j $(JOBS)

test-js:
	PULSE_DEMO=$(CURDIR)/$(DEV)/bin/pulse-demo node --test --test-concurrency=1 --test-timeout=300000 tests/client/

# Churn around steady broadcasts against the test build: 30 s here, SOAK_SECONDS with `make soak`.
test-soak:
	PULSE_DEMO=$(CURDIR)/$(DEV)/bin/pulse-demo node tests/soak/soak.mjs --seconds 30

## soak: the soak test for SOAK_SECONDS (300 by default)
SOAK_SECONDS ?= 300
soak: dev
	PULSE_DEMO=$(CURDIR)/$(DEV)/bin/pulse-demo node tests/soak/soak.mjs --seconds $(SOAK_SECONDS)

# Debian's Chromium, driven by playwright-core; screenshots land in build/test-artifacts/.
# Three nodes behind Redis processes of the tests' own (one redis-server, with and without an
# append-only file; a master, a replica and three sentinels; a cluster of three masters and three
# replicas), on loopback ports. A node that hits undefined behaviour or leaks exits non-zero.
test-scale:
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
	  PULSE_DEMO=$(CURDIR)/$(DEV)/bin/pulse-demo node --test --test-concurrency=1 --test-timeout=300000 tests/scale/

test-browser:
	PULSE_DEMO=$(CURDIR)/$(DEV)/bin/pulse-demo node --test --test-concurrency=1 --test-timeout=300000 tests/browser/

# The Autobahn|Testsuite (its Python 3 port, beside the repository in ../shared/autobahn) against
# pulse-autobahn-echo, Pulse's transport alone: the cases dealt over AUTOBAHN_SHARDS parallel
# clients, each with echo servers of its own. Passes when every case is OK, NON-STRICT or
# INFORMATIONAL (tests/autobahn/run.py). Reports in build/autobahn/.
AUTOBAHN := $(CURDIR)/../shared/autobahn
AUTOBAHN_SHARDS ?= 4
AUTOBAHN_RUN = /usr/bin/python3 tests/autobahn/run.py --server $(DEV)/bin/pulse-autobahn-echo \
  --autobahn $(AUTOBAHN) --shards $(AUTOBAHN_SHARDS)

## autobahn: every case of 1-7, 9, 12 and 13 (12 and 13 with permessage-deflate); about 20 minutes on
## two busy cores
autobahn: autobahn-build
	$(AUTOBAHN_RUN) --set full --out build/autobahn/full

# In `make test`: 1-7, 9 and the first six sizes of each 12.x and 13.x, when the suite is there.
test-autobahn:
	@if [ -d "$(AUTOBAHN)" ]; then \
	  $(MAKE) --no-print-directory autobahn-build && \
	  $(AUTOBAHN_RUN) --set quick --out build/autobahn/quick; \
	else echo "autobahn: skipped ($(AUTOBAHN) is not there)"; fi

autobahn-build:
	@scripts/install-deps python3-twisted python3-txaio python3-six
	@cmake -S . -B $(DEV) -DCMAKE_BUILD_TYPE=Debug -DPULSE_SANITIZE=ON $(CMAKE_COMMON) >/dev/null
	@cmake --build $(DEV) -j $(JOBS) --target pulse-autobahn-echo

check-format:
	@files=$$(git ls-files '*.cpp' '*.hpp'); \
	clang-format --dry-run --Werror $$files && echo "format: clean"

# transport/ must know neither CAF nor the actors (<pulse/transport/...> only), and nothing below
# apps/ may include an app.
check-layers:
	@! grep -rnE '#include [<"]caf/' transport/ || { echo "transport/ includes CAF"; exit 1; }
	@! grep -rnE '#include <pulse/[a-z_0-9]+\.hpp>' transport/ || { echo "transport/ includes an actor header"; exit 1; }
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

## fuzz: each libFuzzer target for FUZZ_SECONDS (300 by default), from the seed corpus in the repo
fuzz: fuzz-build
	@$(MAKE) --no-print-directory run-fuzz SECONDS_EACH=$(FUZZ_SECONDS)

# test-fuzz: 20 s of libFuzzer each. `make test` replays the corpora in the test build instead
# (test-cpp: "the fuzz corpus replays cleanly"), which costs no clang build. fuzz_inbound's actors
# keep memory across inputs on other threads, so libFuzzer's leak check after each input would
# rescan the heap almost every time (5x slower): its leaks are checked once, at exit, like the
# test suites'.
test-fuzz: fuzz-build
	@$(MAKE) --no-print-directory run-fuzz SECONDS_EACH=20

fuzz-build: deps
	@scripts/install-deps clang libclang-rt-14-dev
	@cmake -S . -B $(FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE= -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" -DPULSE_FUZZ=ON $(CMAKE_COMMON) >/dev/null
	@cmake --build $(FUZZ) -j $(JOBS) --target $(FUZZ_TARGETS)

## fuzz-merge: the inputs `make fuzz` found that reach code the corpora in the repository do not,
## added to tests/fuzz/corpus (libFuzzer's -merge=1), where `make test` replays them
fuzz-merge: fuzz-build
	@for target in $(FUZZ_TARGETS); do name=$${target#fuzz_}; \
	  ASAN_OPTIONS=detect_leaks=0 $(FUZZ)/bin/$$target -merge=1 -max_len=16384 tests/fuzz/corpus/$$name \
	    $(FUZZ)/corpus/$$name 2>$(FUZZ)/$$target-merge.log || { tail -20 $(FUZZ)/$$target-merge.log; exit 1; }; \
	  echo "$$name: $$(ls tests/fuzz/corpus/$$name | wc -l) inputs"; \
	done

run-fuzz:
	@for target in $(FUZZ_TARGETS); do \
	  corpus=tests/fuzz/corpus/$${target#fuzz_}; found=$(FUZZ)/corpus/$${target#fuzz_}; \
	  mkdir -p $$found $(FUZZ)/crashes; \
	  echo "fuzzing $$target for $(SECONDS_EACH) s"; \
	  per_input_leaks=1; [ $$target = fuzz_inbound ] && per_input_leaks=0; \
	  ASAN_OPTIONS=detect_leaks=1 $(FUZZ)/bin/$$target $$found $$corpus -max_total_time=$(SECONDS_EACH) \
	    -max_len=16384 -timeout=10 -artifact_prefix=$(FUZZ)/crashes/$$target- -print_final_stats=1 \
	    -detect_leaks=$$per_input_leaks \
	    2>$(FUZZ)/$$target.log || { tail -50 $(FUZZ)/$$target.log; exit 1; }; \
	  grep -aE "stat::number_of_executed_units|stat::peak_rss" $(FUZZ)/$$target.log | tr '\n' ' '; echo; \
	done

## bench: the quick benchmark matrix (under 5 minutes), Pulse against a Node `ws` baseline on the
## same scenarios; bench-full: every scenario at every size; bench-cores: Pulse's fan-out on 1, 2,
## 4 and 8 cores alone (4 CPUs or more). BASE=<git rev>: that revision's pulse-demo runs every point
## too, built apart in build/base/ (benchmarks/build-base.sh). PEER=1: uWebSockets.js runs the
## fan-out, latency and idle points too (npm's uws-pack, into benchmarks/peer). BENCH_ARGS: more run.py options
## (--only fanout). See benchmarks/README.md; results go to benchmarks/results/ (run-DATE.json,
## latest.md, latest.svg).
BASE ?=
PEER ?=
BENCH_ARGS ?=
# Where build-base.sh puts the base's binary: named by the first 12 digits of its commit.
BASE_BIN = build/base/$(shell git rev-parse --verify --quiet '$(BASE)^{commit}' | cut -c1-12)/bin/pulse-demo
.PHONY: bench bench-full bench-cores
bench bench-full bench-cores:
	@scripts/install-deps util-linux python3
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DPULSE_TESTS=OFF \
	  -DCMAKE_RUNTIME_OUTPUT_DIRECTORY=$(CURDIR)/build/bin $(CMAKE_COMMON) >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS) --target pulse-demo pulse-loadgen
	@$(if $(BASE),JOBS=$(JOBS) benchmarks/build-base.sh '$(BASE)' >/dev/null,true)
	@$(if $(PEER),npm ci --prefix benchmarks/peer --no-audit --no-fund --loglevel=error,true)
	/usr/bin/python3 benchmarks/run.py $(if $(filter bench-full,$@),--full) \
	  $(if $(filter bench-cores,$@),--only cores) \
	  $(if $(BASE),--base $(BASE_BIN) --base-label '$(BASE)') $(if $(PEER),--peer) $(BENCH_ARGS)

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
