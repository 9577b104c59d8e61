#!/usr/bin/env bash
# scripts/setup-debian.sh - installs everything gpt2c needs to build and test on Debian 12.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config ccache git  # toolchain
  llvm-19-dev clang-19                          # backend: LLVM 19 libraries; clang 19 compiles the kernels to bitcode
  lld-19                                        # backend: links libraries compiled for another architecture
  llvm-19-tools                                 # tests: lit and FileCheck
  libclang-rt-19-dev                            # tests: libFuzzer and the sanitizer runtimes for clang-19 (tests/fuzz/)
  libfmt-dev nlohmann-json3-dev libpcre2-dev    # formatting, JSON, the tokenizer's regex
  libxxhash-dev                                 # runtime: checksums of packed weights (LIB.weights), header-only use
  catch2                                        # unit tests (Catch2 v2)
  python3                                       # lit
  libcpp-httplib-dev                            # gpt2c serve: the HTTP server
  haproxy curl                                  # tests: replicas behind a load balancer (deploy/), HTTP probes
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The server tests drive gpt2c serve with the official OpenAI client on Node.js.
# A machine that has node and npm already (e.g. from NodeSource) keeps them.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The `openai` npm package at the version tests/server/node/package-lock.json pins.
node_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/server/node"
if [ ! -f "$node_dir/node_modules/openai/package.json" ]; then
  echo "setup: npm ci in $node_dir" >&2
  npm ci --prefix "$node_dir" --no-audit --no-fund
fi
