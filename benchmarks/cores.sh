#!/usr/bin/env bash
# The cores scenario alone, for a machine with 4 CPUs or more: one hot topic's fan-out at S = 10k
# with Pulse on 1, 2, 4 and 8 cores (as many as the machine allows), the load generator on the
# other CPUs. Builds the Release pulse-demo and pulse-loadgen as `make bench` does, then runs
# benchmarks/run.py --only cores. Needs Pulse's build dependencies (see the README), python3 and
# taskset (util-linux); not Node.
#
# usage: benchmarks/cores.sh [--full] [other run.py options]   (JOBS: parallel build jobs)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v taskset >/dev/null; then
  echo "cores.sh: taskset is missing (Debian: apt-get install util-linux)" >&2
  exit 2
fi
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DPULSE_TESTS=OFF \
  -DCMAKE_RUNTIME_OUTPUT_DIRECTORY="$PWD/build/bin" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build build/release -j "${JOBS:-$(nproc)}" --target pulse-demo pulse-loadgen
exec python3 benchmarks/run.py --only cores "$@"
