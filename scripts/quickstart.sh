#!/usr/bin/env bash
# scripts/quickstart.sh - the main job: set up, build, compile the bundled model, generate text.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
bash scripts/build.sh build
model=examples/tiny-shakespeare
mkdir -p build/examples
./build/bin/gpt2c compile "$model" -o build/examples/tiny-shakespeare.so
# "ROMEO:" in GPT-2 tokens; 48 new tokens, greedy.
./build/bin/gpt2c generate --lib build/examples/tiny-shakespeare.so --model "$model" --tokens 33676,4720,25 -n 48 --greedy
