#!/usr/bin/env bash
# scripts/test.sh - set up, build, and run the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
bash scripts/build.sh build
ctest --test-dir build --output-on-failure -j 2
