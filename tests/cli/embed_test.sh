#!/usr/bin/env bash
# tests/cli/embed_test.sh GPT2C_BUILD_DIR SOURCE_DIR WORK_DIR
#
# Installs the build tree into WORK_DIR/prefix and uses only what was
# installed: compiles examples/tiny-shakespeare with the installed gpt2c,
# builds examples/embed with find_package(gpt2c) and with pkg-config, builds
# tests/cli/embed_api_check.cpp (C API + <gpt2c/runtime.hpp>), and checks that
# each greedily continues "ROMEO:" (48 tokens) exactly as
# reference_continuations.json says.
set -euo pipefail

if [[ $# -ne 3 || -z "$1" || -z "$2" || -z "$3" ]]; then
    echo "usage: $0 GPT2C_BUILD_DIR SOURCE_DIR WORK_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
WORK=$3
PREFIX=$WORK/prefix
MODEL=$SRC/examples/tiny-shakespeare
PROMPT="ROMEO:"
N=48

fail() { echo "embed_test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
PREFIX=$WORK/prefix
# Only the installed prefix may be used from here on.
unset LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH

# lib, or lib/<multiarch> when the build was configured for the /usr prefix.
LIBDIR=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
LIBDIR=${LIBDIR:-lib}

step "install into $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" > "$WORK/install.log"
for f in bin/gpt2c bin/gpt2c-run "$LIBDIR"/libgpt2c_runtime.so include/gpt2c/abi.h include/gpt2c/runtime.h \
         include/gpt2c/runtime.hpp "$LIBDIR"/cmake/gpt2c/gpt2cConfig.cmake "$LIBDIR"/cmake/gpt2c/gpt2cConfigVersion.cmake \
         "$LIBDIR"/cmake/gpt2c/gpt2cTargets.cmake "$LIBDIR"/pkgconfig/gpt2c.pc; do
    [[ -e "$PREFIX/$f" ]] || fail "installed tree lacks $f"
done
ls "$PREFIX/$LIBDIR"/libgpt2c_runtime.so.* > /dev/null 2>&1 || fail "installed tree lacks $LIBDIR/libgpt2c_runtime.so.*"
# The package must not point into the build or source tree.
if grep -l -e "$BUILD" -e "$SRC" "$PREFIX/$LIBDIR"/cmake/gpt2c/*.cmake "$PREFIX/$LIBDIR"/pkgconfig/gpt2c.pc; then
    fail "the installed package refers to the build or source tree"
fi
# Public headers include only the C/C++ standard library and each other.
if grep -h '#include' "$PREFIX"/include/gpt2c/* | grep -v -E '#include <(gpt2c/[a-z]+\.h|[a-z_]+\.h|[a-z_]+)>'; then
    fail "an installed header includes something that is not installed"
fi
# The installed tools find the installed runtime through their RPATH.
for tool in gpt2c gpt2c-run; do
    ldd "$PREFIX/bin/$tool" > "$WORK/ldd.txt"
    loaded=$(awk '/libgpt2c_runtime\.so/ { print $3 }' "$WORK/ldd.txt")
    if [[ -z "$loaded" || "$(readlink -f "$loaded")" != "$(readlink -f "$PREFIX/$LIBDIR/libgpt2c_runtime.so")" ]]; then
        cat "$WORK/ldd.txt"
        fail "installed $tool does not load $PREFIX/$LIBDIR/libgpt2c_runtime.so"
    fi
done
GPT2C=$PREFIX/bin/gpt2c

step "compile the model with the installed gpt2c"
"$GPT2C" compile "$MODEL" -o "$WORK/shakespeare.so"

step "expected text"
IDS=$(python3 -c '
import json, sys
entries = [e for e in json.load(open(sys.argv[1])) if e["prompt"] == sys.argv[2]]
assert entries, "no reference for the prompt"
e = entries[0]
assert e["comparable"] >= int(sys.argv[3]), "reference has too few comparable ids"
print(",".join(str(i) for i in e["ids"][: int(sys.argv[3])]))
' "$MODEL/reference_continuations.json" "$PROMPT" "$N")
# The reference text: the installed gpt2c decodes the reference ids (a JSON array on stdin).
echo "[$IDS]" | "$GPT2C" detokenize --model "$MODEL" > "$WORK/expected.txt"
[[ -s "$WORK/expected.txt" ]] || fail "the expected text is empty"

# check_output NAME FILE: FILE must equal expected.txt byte for byte.
check_output() {
    local name=$1 file=$2
    [[ -s "$file" ]] || fail "$name printed nothing"
    if ! cmp -s "$file" "$WORK/expected.txt"; then
        echo "--- expected"; cat "$WORK/expected.txt"; echo; echo "--- $name printed"; cat "$file"; echo
        fail "$name: the generated text differs from the reference"
    fi
    echo "$name: output matches the reference"
}

step "build examples/embed with find_package(gpt2c)"
cmake -S "$SRC/examples/embed" -B "$WORK/embed-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$PREFIX" > "$WORK/embed-configure.log"
cmake --build "$WORK/embed-build" > "$WORK/embed-build.log"
"$WORK/embed-build/embed" "$WORK/shakespeare.so" "$MODEL" "$PROMPT" "$N" > "$WORK/cmake-out.txt" 2> "$WORK/cmake-err.txt" \
    || { cat "$WORK/cmake-err.txt"; fail "embed (CMake build) exited non-zero"; }
cat "$WORK/cmake-err.txt"
grep -q "48 generated" "$WORK/cmake-err.txt" || fail "embed did not report 48 generated tokens"
check_output "embed (CMake build)" "$WORK/cmake-out.txt"

step "errors are reported"
if "$WORK/embed-build/embed" "$WORK/missing.so" "$MODEL" "$PROMPT" 4 > /dev/null 2> "$WORK/missing-err.txt"; then
    fail "embed succeeded with a missing library"
fi
grep -q "$WORK/missing.so" "$WORK/missing-err.txt" || { cat "$WORK/missing-err.txt"; fail "the error does not name the library"; }
LONG=$(python3 -c 'print("ROMEO: " * 300)')
set +e
"$WORK/embed-build/embed" "$WORK/shakespeare.so" "$MODEL" "$LONG" 4 > /dev/null 2> "$WORK/long-err.txt"
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "embed succeeded with a prompt longer than the context"
grep -q "status 3" "$WORK/long-err.txt" || { cat "$WORK/long-err.txt"; fail "a too-long prompt is not GPT2C_ERROR_CONTEXT_FULL"; }

step "build embed.c with pkg-config"
export PKG_CONFIG_PATH=$PREFIX/$LIBDIR/pkgconfig
CC=${CC:-cc}
# shellcheck disable=SC2046
"$CC" -std=c99 -Wall -Wextra -Werror "$SRC/examples/embed/embed.c" -o "$WORK/embed-pc" \
    $(pkg-config --cflags --libs gpt2c) -Wl,-rpath,"$(pkg-config --variable=libdir gpt2c)"
"$WORK/embed-pc" "$WORK/shakespeare.so" "$MODEL" "$PROMPT" "$N" > "$WORK/pc-out.txt" 2> "$WORK/pc-err.txt" \
    || { cat "$WORK/pc-err.txt"; fail "embed (pkg-config build) exited non-zero"; }
check_output "embed (pkg-config build)" "$WORK/pc-out.txt"

step "build a C++17 program on <gpt2c/runtime.hpp> with pkg-config"
CXX=${CXX:-c++}
# shellcheck disable=SC2046
"$CXX" -std=c++17 -Wall -Wextra -Werror "$SRC/tests/cli/embed_api_check.cpp" -o "$WORK/api-check" \
    $(pkg-config --cflags --libs gpt2c) -Wl,-rpath,"$(pkg-config --variable=libdir gpt2c)" -pthread
"$WORK/api-check" "$WORK/shakespeare.so" "$MODEL" "$PROMPT" "$N" > "$WORK/cxx-out.txt" \
    || fail "embed_api_check exited non-zero (see above)"
check_output "C++ wrapper (embed_api_check)" "$WORK/cxx-out.txt"

step "build examples/continuations (contexts, batched steps) with find_package(gpt2c)"
cmake -S "$SRC/examples/continuations" -B "$WORK/cont-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$PREFIX" > "$WORK/cont-configure.log"
cmake --build "$WORK/cont-build" > "$WORK/cont-build.log"
"$WORK/cont-build/continuations" "$WORK/shakespeare.so" "$MODEL" "$PROMPT" 4 "$N" > "$WORK/cont-out.txt" \
    2> "$WORK/cont-err.txt" || { cat "$WORK/cont-err.txt"; fail "continuations exited non-zero"; }
cat "$WORK/cont-out.txt"
[[ $(wc -l < "$WORK/cont-out.txt") -eq 4 ]] || fail "continuations printed $(wc -l < "$WORK/cont-out.txt") lines, expected 4"
# Continuation 0 is the greedy continuation, which the reference holds; the others start with
# the prompt's 2nd, 3rd and 4th most likely tokens, so all four differ.
[[ "$(head -1 "$WORK/cont-out.txt" | cut -f1)" == "$IDS" ]] \
    || fail "continuation 0 is not the greedy continuation $IDS"
[[ $(cut -f1 "$WORK/cont-out.txt" | cut -d, -f1 | sort -u | wc -l) -eq 4 ]] \
    || fail "the four continuations do not start with four different tokens"
# Every continuation is what gpt2c generate gives for the prompt plus its first token alone.
PROMPT_IDS=$(printf '%s' "$PROMPT" | "$GPT2C" tokenize --model "$MODEL" | tr -d '[] ')
while IFS=$'\t' read -r ids _; do
    first=${ids%%,*}
    alone=$("$GPT2C" generate --lib "$WORK/shakespeare.so" --model "$MODEL" --tokens "$PROMPT_IDS,$first" \
        -n $((N - 1)) --greedy | tr ' ' ',')
    [[ "$first,$alone" == "$ids" ]] || fail "continuation $ids differs from running it alone: $first,$alone"
done < "$WORK/cont-out.txt"

echo "embed_test: PASS"
