#!/usr/bin/env bash
# scripts/test-sanitizers.sh [BUILD_DIR] - the whole ctest suite under AddressSanitizer + UndefinedBehaviorSanitizer.
#
# Configures BUILD_DIR (default build-asan) with -DGPT2C_SANITIZE=ON (RelWithDebInfo: -O2 -g, so
# reports have line numbers), builds everything and runs every test. UBSan is fatal
# (-fno-sanitize-recover); LeakSanitizer is on (ASan's default on Linux), with no suppressions.
# The test scripts fail a case on any sanitizer report (tests/cli/harness.sh).
# The libFuzzer targets are skipped here (-DGPT2C_FUZZ=OFF): they are always ASan+UBSan builds
# and already run in the normal suite (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-asan}
bash scripts/setup-debian.sh
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPT2C_SANITIZE=ON -DGPT2C_FUZZ=OFF
fi
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure -j 2
