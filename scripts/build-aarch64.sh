#!/usr/bin/env bash
# scripts/build-aarch64.sh [BUILD_DIR] - cross-builds libgpt2c_runtime and gpt2c-run for 64-bit ARM
# Linux (GPT2C_RUNTIME_ONLY with cmake/toolchain-aarch64-linux-gnu.cmake) into BUILD_DIR (default
# build-aarch64, relative to the source tree), then runs gpt2c-run under QEMU as a smoke test.
#
# Debian 12. Idempotent: installs only the packages that are missing (root or sudo for that),
# configures once, builds what changed. The compiler (gpt2c) is not cross-built: it needs LLVM;
# compile models with the x86-64 gpt2c and run them with gpt2c-run on the board.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-aarch64}

packages=(
  cmake ninja-build pkg-config
  g++-aarch64-linux-gnu                # the cross compiler
  libfmt-dev:arm64 libpcre2-dev:arm64  # the runtime's libraries, built for arm64 (multiarch)
  libstdc++6:arm64 libgcc-s1:arm64     # the C++ runtime gpt2c-run loads, here under QEMU
  nlohmann-json3-dev                   # header-only
  qemu-user-static                     # runs arm64 programs on this machine (the smoke test)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -ne 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # The :arm64 packages come from the arm64 archive, which apt uses once dpkg knows the architecture.
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "build-aarch64: adding the arm64 architecture to dpkg" >&2
    $SUDO dpkg --add-architecture arm64
  fi
  echo "build-aarch64: installing ${missing[*]}" >&2
  # Lock::Timeout: wait for another apt or dpkg run to finish instead of failing at once.
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600)
  $SUDO "${apt[@]}" update
  $SUDO "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGPT2C_RUNTIME_ONLY=ON \
    -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchain-aarch64-linux-gnu.cmake"
fi
cmake --build "$build_dir"

# Smoke test: the binaries are AArch64 and gpt2c-run tokenizes under emulation. QEMU uses the
# multiarch arm64 loader (/lib/ld-linux-aarch64.so.1, from libc6:arm64) and libraries
# (/usr/lib/aarch64-linux-gnu), so it needs no QEMU_LD_PREFIX.
for f in "$build_dir/bin/gpt2c-run" "$build_dir/lib/libgpt2c_runtime.so"; do
  if ! readelf -h "$f" | grep -q 'Machine:.*AArch64'; then
    echo "build-aarch64: $f is not an AArch64 ELF file" >&2
    exit 1
  fi
done
ids=$(qemu-aarch64-static "$build_dir/bin/gpt2c-run" tokenize --model examples/tiny-shakespeare <<< "hello")
if [ "$ids" != "[31373,198]" ]; then
  echo "build-aarch64: gpt2c-run tokenize under QEMU printed '$ids', expected [31373,198]" >&2
  exit 1
fi
echo "build-aarch64: $build_dir/bin/gpt2c-run tokenize 'hello' under QEMU: $ids"
