#!/usr/bin/env bash
# tests/cli/errors_test.sh - the gpt2c CLI on bad input (clear error, nothing left behind) and a few good paths.
#
# usage: errors_test.sh GPT2C_BIN SOURCE_DIR WORK_DIR
# Every failure case must exit with status 1 (a reported error, not a crash),
# print "gpt2c: error: ..." naming the culprit on stderr, print nothing on
# stdout, and leave its output directory empty (no LIB.so/.h/.json, no .npy,
# no *.tmp-* files). Runs every case, then reports all failures at once.
set -uo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 GPT2C_BIN SOURCE_DIR WORK_DIR" >&2
    exit 2
fi
GPT2C=$(realpath "$1")
SRC=$(realpath "$2")
WORK=$3
MODELS=$SRC/tests/data/models
M1=$MODELS/m1_gelu_new_f32   # vocab 97, n_positions 32
M2=$MODELS/m2_gelu_erf_f16_untied

rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
WORK=$(pwd)

source "$SRC/tests/cli/harness.sh"

# A model directory whose config.json is m1's with a Python edit applied to the dict `c`.
config_variant() {
    local dir=$WORK/configs/$1 edit=$2
    mkdir -p "$dir"
    python3 - "$M1/config.json" "$dir/config.json" "$edit" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"), indent=2)
EOF
    echo "$dir"
}

# ------------------------------------------------------------------ compile: bad models and options

mkdir -p "$WORK/configs/not-json"
printf '{"n_layer": 2,\n' > "$WORK/configs/not-json/config.json"
o=$(out_dir not-json)
expect_error "compile: config is not JSON" 'configs/not-json/config\.json: not valid JSON' "$o" \
    "$GPT2C" compile "$WORK/configs/not-json" -o "$o/lib.so"

d=$(config_variant indivisible 'c["n_embd"] = 30')
o=$(out_dir indivisible)
expect_error "compile: n_embd not divisible by n_head" '"n_embd" \(30\) is not divisible by key "n_head" \(4\)' "$o" \
    "$GPT2C" compile "$d" -o "$o/lib.so"

d=$(config_variant activation 'c["activation_function"] = "swish"')
o=$(out_dir activation)
expect_error "compile: unknown activation" '"activation_function".*"swish"' "$o" \
    "$GPT2C" compile "$d" -o "$o/lib.so"

d=$(config_variant bert 'c["model_type"] = "bert"')
o=$(out_dir bert)
expect_error "compile: model_type bert" '"model_type".*"bert"' "$o" "$GPT2C" compile "$d" -o "$o/lib.so"

d=$(config_variant cross 'c["add_cross_attention"] = True')
o=$(out_dir cross)
expect_error "compile: add_cross_attention" '"add_cross_attention"' "$o" "$GPT2C" compile "$d" -o "$o/lib.so"

d=$(config_variant no-layers 'del c["n_layer"]')
o=$(out_dir no-layers)
expect_error "compile: missing n_layer" 'missing required key "n_layer"' "$o" "$GPT2C" compile "$d" -o "$o/lib.so"

o=$(out_dir missing-dir)
expect_error "compile: missing model directory" 'no/such/model' "$o" \
    "$GPT2C" compile "$WORK/no/such/model" -o "$o/lib.so"

mkdir -p "$WORK/configs/empty"
o=$(out_dir empty-dir)
expect_error "compile: directory without config.json" 'configs/empty.*config\.json' "$o" \
    "$GPT2C" compile "$WORK/configs/empty" -o "$o/lib.so"

o=$(out_dir unknown-option)
expect_error "compile: unknown option" "unknown option '--bogus'" "$o" \
    "$GPT2C" compile "$M1" -o "$o/lib.so" --bogus

o=$(out_dir o7)
expect_error "compile: -O7" "'-O'.*'7'" "$o" "$GPT2C" compile "$M1" -o "$o/lib.so" -O7

o=$(out_dir no-such-pass)
expect_error "compile: --passes=nosuchpass" "unknown pass 'nosuchpass'" "$o" \
    "$GPT2C" compile "$M1" -o "$o/lib.so" --passes=nosuchpass

o=$(out_dir no-such-cpu)
expect_error "compile: --target-cpu=nosuchcpu" 'nosuchcpu' "$o" \
    "$GPT2C" compile "$M1" -o "$o/lib.so" --target-cpu=nosuchcpu

o=$(out_dir no-such-feature)
expect_error "compile: --target-features=+nosuchfeature" 'nosuchfeature' "$o" \
    "$GPT2C" compile "$M1" -o "$o/lib.so" --target-features=+nosuchfeature

o=$(out_dir no-output)
expect_error "compile: no -o" "missing required option '-o'" "$o" "$GPT2C" compile "$M1"

expect_error "compile: output directory does not exist" 'no/such/dir/lib\.so' "" \
    "$GPT2C" compile "$M1" -o "$WORK/no/such/dir/lib.so"
check "compile: nothing created for a missing output directory" test ! -e "$WORK/no"

# ------------------------------------------------------------------ opt: bad input

o=$(out_dir opt-missing)
expect_error "opt: missing input file" 'no-such\.ir' "$o" "$GPT2C" opt "$WORK/no-such.ir" -o "$o/out.ir"

printf 'module @m {\n  %%x = nonsense : f32[1]\n  return %%x\n}\n' > "$WORK/bad-op.ir"
o=$(out_dir opt-bad-op)
expect_error "opt: unknown op names file:line:col" "bad-op\.ir:2:8: unknown op 'nonsense'" "$o" \
    "$GPT2C" opt "$WORK/bad-op.ir" -o "$o/out.ir"

o=$(out_dir opt-both)
expect_error "opt: -O and --passes together" 'either -O or --passes' "$o" \
    "$GPT2C" opt "$SRC/tests/ir/cse.ir" -O2 --passes=cse -o "$o/out.ir"

o=$(out_dir opt-print-after)
expect_error "opt: --print-after of an unknown pass" 'nosuchpass' "$o" \
    "$GPT2C" opt "$SRC/tests/ir/cse.ir" --print-after=nosuchpass -o "$o/out.ir"

# ------------------------------------------------------------------ compile m1 (native, and for x86-64-v2 with dumps)

LIB=$WORK/lib/m1.so
DUMPS=$WORK/dumps
mkdir -p "$WORK/lib"
expect_ok "compile m1 (native, -O3, with --dump-ir-dir)" "$GPT2C" compile "$M1" -o "$LIB" --emit-ir "$WORK/lib/m1.ir" \
    --emit-dot "$WORK/lib/m1.dot" --dump-ir-dir "$DUMPS"
check "compile writes LIB.so, LIB.h and LIB.json" test -s "$LIB" -a -s "$WORK/lib/m1.h" -a -s "$WORK/lib/m1.json"
check "compile leaves no temporary files" test -z "$(ls -A "$WORK/lib" | grep -F '.tmp-')"

LIB_V2=$WORK/lib-v2/m1.so
mkdir -p "$WORK/lib-v2"
expect_ok "compile m1 for x86-64-v2" "$GPT2C" compile "$M1" -o "$LIB_V2" --target-cpu=x86-64-v2

# ------------------------------------------------------------------ run: bad input

o=$(out_dir logits-range)
expect_error "logits: token id >= vocab" 'token id 97' "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$M1" --tokens 1,97 --out "$o/l.npy"

o=$(out_dir logits-nan)
expect_error "logits: non-numeric token list" "--tokens: '2x' is not a token id" "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$M1" --tokens 1,2x,3 --out "$o/l.npy"

o=$(out_dir logits-negative)
expect_error "logits: negative token id" "'-1' is not a token id" "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$M1" --tokens=-1 --out "$o/l.npy"

o=$(out_dir logits-empty)
expect_error "logits: empty token list" "--tokens" "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$M1" --tokens= --out "$o/l.npy"

thirty_three=$(seq -s, 1 33)
o=$(out_dir logits-long)
expect_error "logits: more tokens than the context" 'n_positions = 32' "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$M1" --tokens "$thirty_three" --out "$o/l.npy"

o=$(out_dir generate-long)
expect_error "generate: prompt plus new tokens exceed the context" 'context of 32' "$o" \
    "$GPT2C" generate --lib "$LIB" --model "$M1" --tokens 1,2,3 -n 30 --greedy

o=$(out_dir logits-no-lib)
expect_error "logits: library path does not exist" 'no-such-lib\.so' "$o" \
    "$GPT2C" logits --lib "$WORK/no-such-lib.so" --model "$M1" --tokens 1,2 --out "$o/l.npy"

LIBM=/lib/x86_64-linux-gnu/libm.so.6
[[ -e $LIBM ]] || LIBM=$(ldconfig -p | awk '/libm\.so\.6 / { print $NF; exit }')
o=$(out_dir logits-libm)
expect_error "logits: a library that is not a gpt2c library" 'libm\.so\.6.*not a gpt2c library' "$o" \
    "$GPT2C" logits --lib "$LIBM" --model "$M1" --tokens 1,2 --out "$o/l.npy"

o=$(out_dir logits-wrong-model)
expect_error "logits: checkpoint of another config" 'm2_gelu_erf_f16_untied' "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$M2" --tokens 1,2 --out "$o/l.npy"

mkdir -p "$WORK/truncated"
cp "$M1/config.json" "$WORK/truncated/"
size=$(stat -c %s "$M1/model.safetensors")
head -c $((size / 2)) "$M1/model.safetensors" > "$WORK/truncated/model.safetensors"
o=$(out_dir logits-truncated)
expect_error "logits: truncated model.safetensors" 'truncated/model\.safetensors' "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$WORK/truncated" --tokens 1,2 --out "$o/l.npy"

mkdir -p "$WORK/header-only"
cp "$M1/config.json" "$WORK/header-only/"
head -c 5 "$M1/model.safetensors" > "$WORK/header-only/model.safetensors"
o=$(out_dir logits-header-only)
expect_error "logits: model.safetensors cut inside its header length" 'header-only/model\.safetensors' "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$WORK/header-only" --tokens 1,2 --out "$o/l.npy"

o=$(out_dir logits-no-model)
expect_error "logits: model directory does not exist" 'no-such-model' "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$WORK/no-such-model" --tokens 1,2 --out "$o/l.npy"

o=$(out_dir logits-threads)
expect_error "logits: --threads out of range" "'--threads'" "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$M1" --tokens 1,2 --threads=-1 --out "$o/l.npy"

o=$(out_dir logits-no-out)
expect_error "logits: no --out" "missing required option '--out'" "$o" \
    "$GPT2C" logits --lib "$LIB" --model "$M1" --tokens 1,2

expect_error "generate: without --greedy" 'greedy' "" \
    "$GPT2C" generate --lib "$LIB" --model "$M1" --tokens 1,2 -n 3

# ------------------------------------------------------------------ run: good paths

NPY=$WORK/run/logits.npy
mkdir -p "$WORK/run"
if expect_ok "logits: writes a .npy" "$GPT2C" logits --lib "$LIB" --model "$M1" --tokens 5,6,7 --out "$NPY"; then
    check "logits: .npy header is float32 with shape (3, 97)" python3 - "$NPY" <<'EOF'
import ast, struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:6] == b"\x93NUMPY", data[:6]
major = data[6]
if major == 1:
    (n,) = struct.unpack("<H", data[8:10]); start = 10
else:
    (n,) = struct.unpack("<I", data[8:12]); start = 12
header = ast.literal_eval(data[start:start + n].decode("latin1"))
assert header["descr"] == "<f4", header
assert header["fortran_order"] is False, header
assert header["shape"] == (3, 97), header
assert (start + n) % 16 == 0, "header not 16-byte aligned"
assert len(data) == start + n + 3 * 97 * 4, (len(data), start + n)
EOF
    check "logits: no temporary file beside the .npy" test "$(ls -A "$WORK/run")" = "logits.npy"
fi

greedy_ids() {  # LIB -> the greedy continuation of 1,2,3 on stdout
    "$GPT2C" generate --lib "$1" --model "$M1" --tokens 1,2,3 -n 8 --greedy
}
expect_ok "generate: native library" greedy_ids "$LIB"
native_ids=$(cat "$WORK/stdout.txt")
check "generate --greedy -n 8 prints 8 ids in 0..96 ('$native_ids')" python3 -c "
import sys
ids = [int(t) for t in sys.argv[1].split()]
assert len(ids) == 8 and all(0 <= i < 97 for i in ids), ids
" "$native_ids"

expect_ok "generate: x86-64-v2 library" greedy_ids "$LIB_V2"
v2_ids=$(cat "$WORK/stdout.txt")
check "x86-64-v2 gives the same greedy ids as native ('$v2_ids' vs '$native_ids')" test "$v2_ids" = "$native_ids"
if expect_ok "logits: x86-64-v2 library" \
    "$GPT2C" logits --lib "$LIB_V2" --model "$M1" --tokens 5,6,7 --out "$WORK/run/logits-v2.npy"; then
    check "x86-64-v2 logits match native within 1e-4" python3 - "$NPY" "$WORK/run/logits-v2.npy" <<'EOF'
import array, sys
def floats(path):
    data = open(path, "rb").read()
    values = array.array("f")
    values.frombytes(data[-3 * 97 * 4:])
    return values
a, b = floats(sys.argv[1]), floats(sys.argv[2])
worst = max(abs(x - y) / max(1.0, abs(x)) for x, y in zip(a, b))
assert worst <= 1e-4, worst
EOF
fi

# ------------------------------------------------------------------ --dump-ir-dir, --emit-ir, --emit-dot

check "--dump-ir-dir wrote files" test -n "$(ls -A "$DUMPS" 2> /dev/null)"
check "--dump-ir-dir starts with 00-input.ir" test -s "$DUMPS/00-input.ir"
index=0
for f in "$DUMPS"/*; do
    base=$(basename "$f")
    check "dump $base is named NN-passname.ir in sequence" \
        bash -c '[[ $1 =~ ^([0-9]{2})-[a-z][a-z0-9-]*\.ir$ ]] && (( 10#${BASH_REMATCH[1]} == $2 ))' _ "$base" "$index"
    expect_ok "dump $base parses back with gpt2c opt" "$GPT2C" opt "$f"
    index=$((index + 1))
done
last_dump=$(ls "$DUMPS"/*.ir | tail -n 1)
check "the last dump is the --emit-ir output" diff <(grep -v '^//' "$last_dump") "$WORK/lib/m1.ir"

check "--emit-dot writes a digraph" bash -c 'head -n 1 "$1" | grep -q "^digraph " && tail -n 1 "$1" | grep -q "^}$"' _ \
    "$WORK/lib/m1.dot"
expect_ok "opt --emit-dot on the emitted IR" "$GPT2C" opt "$WORK/lib/m1.ir" --emit-dot "$WORK/lib/m1-opt.dot"
check "opt --emit-dot draws the same graph as compile --emit-dot" diff "$WORK/lib/m1.dot" "$WORK/lib/m1-opt.dot"
check "opt prints the IR it read unchanged" diff "$WORK/stdout.txt" "$WORK/lib/m1.ir"
if command -v dot > /dev/null; then
    check "graphviz accepts the dot file" dot -Tsvg "$WORK/lib/m1.dot" -o "$WORK/lib/m1.svg"
fi

# ------------------------------------------------------------------ summary

finish_checks
