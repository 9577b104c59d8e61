#!/usr/bin/env bash
# scripts/test.sh - set up, build, and run the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
# The AArch64 runtime and gpt2c-run (cross-compiled; the e2e_aarch64 test runs them under qemu).
bash scripts/build-aarch64.sh build-aarch64
bash scripts/build.sh build -DGPT2C_AARCH64_RUN="$PWD/build-aarch64/bin/gpt2c-run"
ctest --test-dir build --output-on-failure -j 2
