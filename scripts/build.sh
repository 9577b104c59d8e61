#!/usr/bin/env bash
# scripts/build.sh [BUILD_DIR] [extra cmake args] - configures (once) and builds gpt2c with Ninja.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
elif [ $# -gt 0 ]; then
  cmake -S . -B "$build_dir" "$@"   # new cache values for an existing build
fi
cmake --build "$build_dir"
