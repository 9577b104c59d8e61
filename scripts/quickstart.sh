#!/usr/bin/env bash
# scripts/quickstart.sh - the main job: set up, build, compile the bundled model, generate text.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
bash scripts/build.sh build
model=examples/tiny-shakespeare
mkdir -p build/examples
./build/bin/gpt2c compile "$model" -o build/examples/tiny-shakespeare.so
# Greedy continuation of "ROMEO:" (matches examples/tiny-shakespeare/reference_continuations.json),
# then a sampled one; text streams to stdout, statistics to stderr.
./build/bin/gpt2c run --lib build/examples/tiny-shakespeare.so --model "$model" --prompt "ROMEO:" -n 48 --greedy
echo
./build/bin/gpt2c run --lib build/examples/tiny-shakespeare.so --model "$model" --prompt "JULIET:" -n 64 \
  --temperature 0.8 --top-k 40 --seed 1
echo
