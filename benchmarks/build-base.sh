#!/usr/bin/env bash
# Builds another revision's pulse-demo for `make bench BASE=REV` and prints the binary's path.
#
# The revision gets a tree of its own (git archive into build/base-src/SHA, built in
# build/base/SHA, binaries in build/base/SHA/bin): the working tree, build/release and build/bin
# are never touched. Both are reused when there. Only the pulse-demo target is built, Release,
# without tests: its CMake configure needs no web build (the pages are bundled by
# scripts/build-web.mjs, outside CMake; the binary only records where they would be), so the
# base needs no node_modules.
#
# usage: benchmarks/build-base.sh REV   (JOBS: parallel jobs, nproc by default)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: benchmarks/build-base.sh REV" >&2
  exit 2
fi
rev="$1"
if ! sha="$(git -C "$root" rev-parse --verify --quiet "$rev^{commit}")"; then
  echo "build-base: '$rev' is not a revision of this repository" >&2
  exit 2
fi
short="${sha:0:12}"
src="$root/build/base-src/$short"
build="$root/build/base/$short"

# The marker is written last: an interrupted extraction is redone, not built half.
if [ ! -f "$src/.extracted" ]; then
  echo "build-base: sources of $rev ($short) into build/base-src/$short" >&2
  rm -rf "$src"
  mkdir -p "$src"
  git -C "$root" archive --format=tar "$sha" | tar -x -C "$src"
  touch "$src/.extracted"
fi
if ! grep -qs 'pulse-demo' "$src/apps/demo/CMakeLists.txt"; then
  echo "build-base: $rev ($short) has no pulse-demo target (apps/demo/CMakeLists.txt)" >&2
  exit 2
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPULSE_TESTS=OFF \
    -DCMAKE_RUNTIME_OUTPUT_DIRECTORY="$build/bin" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
fi
# stdout carries only the path: the build's own output goes to stderr.
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target pulse-demo >&2
# What it was built from, for run.py: a name like HEAD~1 may point elsewhere by the time it runs.
echo "$sha" >"$build/revision"
echo "$build/bin/pulse-demo"
