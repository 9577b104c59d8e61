#!/usr/bin/env bash
# tests/cli/hostile_test.sh - every broken input gets a clear error, never a crash.
#
# usage: hostile_test.sh GPT2C_BIN SOURCE_DIR WORK_DIR
#
# Broken config.json files, checkpoints, compiled libraries, tokenizer files,
# token ids and prompts, made at test time from the good models in
# tests/data/models (python3 standard library and the C compiler only; see
# tests/data/hostile/). Every failure case must:
#   - exit with status 1 (a reported error; not 134/139, i.e. no abort or signal),
#   - print "gpt2c: error: ..." on stderr naming the culprit (file and key or
#     tensor, what was found, what was expected: checked with grep -E),
#   - print no sanitizer report and nothing on stdout,
#   - leave its output directory empty (no LIB.so/.h/.json, .npy or temporary files).
# A few inputs are accepted on purpose (a UTF-8 BOM before config.json, an
# empty prompt, -n 0, a prompt that leaves one free position); those must
# succeed. Complements tests/cli/errors_test.sh (cases there are not repeated).
# Runs every case, then reports all failures at once; VERBOSE=1 also prints every error message.
set -uo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 GPT2C_BIN SOURCE_DIR WORK_DIR" >&2
    exit 2
fi
GPT2C=$(realpath "$1")
SRC=$(realpath "$2")
WORK=$3
MODELS=$SRC/tests/data/models
M1=$MODELS/m1_gelu_new_f32 # vocab 97, n_positions 32, n_embd 32, 2 layers, "transformer." names, F32
M2=$MODELS/m2_gelu_erf_f16_untied
TOOLS=$SRC/tests/data/hostile/hostile_tools.py
FAKE_C=$SRC/tests/data/hostile/fake_library.c
CC=${GPT2C_CC:-cc}
unset GPT2C_CC

rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
WORK=$(pwd)

source "$SRC/tests/cli/harness.sh"

# Variants are made by tests/data/hostile/hostile_tools.py in batches (one Python start-up per
# section, not per case): the helpers below queue their edit, and the checks that need the
# files are deferred until `make_and_run` has made them all.
BATCH=$WORK/batch.tsv
: > "$BATCH"
queue() { # COMMAND ARGS... : one line for `hostile_tools.py batch`
    local IFS=$'\t'
    echo "$*" >> "$BATCH"
}
DEFERRED=()
defer() { # FUNCTION ARGS... : run later by make_and_run (arguments must not contain tabs)
    local IFS=$'\t'
    DEFERRED+=("$*")
}
make_files() {
    if [[ -s $BATCH ]]; then
        python3 "$TOOLS" batch < "$BATCH" || echo "hostile_tools.py batch reported errors (see above)"
    fi
    : > "$BATCH"
}
make_and_run() {
    make_files
    local item args
    for item in "${DEFERRED[@]}"; do
        IFS=$'\t' read -r -a args <<< "$item"
        "${args[@]}"
    done
    DEFERRED=()
}
# repeat N TEXT : TEXT written N times (deeply nested JSON without a Python start-up).
repeat() {
    local out=$2
    local n=1
    while ((n * 2 <= $1)); do
        out+=$out
        n=$((n * 2))
    done
    printf '%s' "$out"
    ((n < $1)) && repeat $(($1 - n)) "$2"
    return 0
}
DEEP_ARRAY=$(repeat 100000 '[')$(repeat 100000 ']')

# ================================================================== config.json

# config_variant NAME PYTHON : a model directory whose config.json is m1's with PYTHON applied to the dict `c`.
config_variant() {
    local dir=$WORK/configs/$1
    mkdir -p "$dir"
    queue config-edit "$M1/config.json" "$dir/config.json" "$2"
    echo "$dir"
}

# config_text NAME : a model directory whose config.json is stdin, byte for byte.
config_text() {
    local dir=$WORK/configs/$1
    mkdir -p "$dir"
    cat > "$dir/config.json"
    echo "$dir"
}

# compile_error NAME REGEX DIR : compiling DIR fails naming DIR's config.json and REGEX, leaving nothing.
compile_error() { defer compile_error_now "$@"; }
compile_error_now() {
    local o
    o=$(out_dir "compile-$1")
    expect_error "compile: $1" "configs/$1/config\.json.*$2" "$o" "$GPT2C" compile "$3" -o "$o/lib.so" -O0
}

# Wrong JSON types for every integer key: "found <type>" names what was there.
for key in n_layer n_head n_embd n_positions vocab_size n_inner bos_token_id eos_token_id; do
    for value in '"8"' 8.5 '[8]' '{"v": 8}' true; do
        case $value in
            '"8"') found='string "8"' ;;
            8.5) found='floating-point number 8.5' ;;
            '[8]') found='array \[8\]' ;;
            true) found='boolean true' ;;
            *) found='object' ;;
        esac
        name="$key-as-${found%% *}"
        d=$(config_variant "$name" "c['$key'] = json.loads('$value')")
        compile_error "$name" "key \"$key\": expected .*integer.*found $found" "$d"
    done
done
# null: an error for required sizes; HF's "absent" for n_inner and the token ids (accepted below).
for key in n_layer n_head n_embd n_positions vocab_size; do
    d=$(config_variant "$key-null" "c['$key'] = None")
    compile_error "$key-null" "key \"$key\": expected a positive integer, found null" "$d"
done
d=$(config_variant "n_ctx-string" "del c['n_positions']; c['n_ctx'] = '32'")
compile_error "n_ctx-string" 'key "n_ctx": expected a positive integer, found string "32"' "$d"

# Booleans.
for key in scale_attn_weights scale_attn_by_inverse_layer_idx reorder_and_upcast_attn tie_word_embeddings \
    add_cross_attention is_encoder_decoder; do
    for value in '"true"' 1 null '[]' '{}'; do
        name="$key-$(tr '"[]{}' 'sAAOO' <<< "$value")"
        d=$(config_variant "$name" "c['$key'] = json.loads('$value')")
        compile_error "$name" "key \"$key\": expected a boolean, found" "$d"
    done
done

# Floats (layer_norm_epsilon) and strings (activation_function, model_type).
for value in '"1e-5"' null '[]' '{}' 0 -1e-5 true; do
    name="eps-$(tr '"[]{}' 'sAAOO' <<< "$value")"
    d=$(config_variant "$name" "c['layer_norm_epsilon'] = json.loads('$value')")
    compile_error "$name" 'key "layer_norm_epsilon": expected a finite positive number, found' "$d"
done
for value in 1 null '["gelu"]' '"GELU_NEW"' '" gelu_new"' '""'; do
    name="act-$(tr '"[] ' 'sAA_' <<< "$value")"
    d=$(config_variant "$name" "c['activation_function'] = json.loads('$value')")
    compile_error "$name" 'key "activation_function": unsupported activation .*expected one of gelu_new' "$d"
done
d=$(config_variant model-type-int "c['model_type'] = 2")
compile_error model-type-int 'key "model_type": expected "gpt2", found integer 2' "$d"

# Zero, negative and absurd sizes.
for key in n_layer n_head n_embd n_positions vocab_size n_inner; do
    for value in 0 -1 -9223372036854775808; do
        d=$(config_variant "$key=$value" "c['$key'] = $value")
        compile_error "$key=$value" "key \"$key\": expected a positive integer, found $value" "$d"
    done
done
# Absurd sizes and ids: NAME|PYTHON EDIT OF c|EXPECTED ERROR (grep -E).
while IFS="|" read -r name edit regex; do
    d=$(config_variant "$name" "$edit")
    compile_error "$name" "$regex" "$d"
done <<'CASES'
n_embd=2e40|c['n_embd'] = 2**40|key "n_embd": 1099511627776 exceeds the limit of 65536
vocab=1e12|c['vocab_size'] = 1e12|key "vocab_size": expected a positive integer, found floating-point number 1000000000000
vocab=10e12|c['vocab_size'] = 10**12|key "vocab_size": 1000000000000 exceeds the limit
n_layer=1e6|c['n_layer'] = 10**6|key "n_layer": 1000000 exceeds the limit of 1024
n_positions=2e31|c['n_positions'] = 2**31|key "n_positions": 2147483648 exceeds the limit of 65536
n_inner=2e40|c['n_inner'] = 2**40|key "n_inner": 1099511627776 exceeds the limit
n_layer=2e63|c['n_layer'] = 2**63|key "n_layer": 9223372036854775808 exceeds the limit
n_layer=2e64|c['n_layer'] = 2**64|key "n_layer": expected a positive integer, found floating-point number
eos=2e63|c['eos_token_id'] = 2**63|key "eos_token_id": integer 9223372036854775808 is out of range
bos=-1|c['bos_token_id'] = -1|key "bos_token_id": expected a non-negative token id or null, found -1
too-many-params|c.update(vocab_size=4194304, n_embd=65536, n_head=1)|parameters, more than the limit
CASES

# Each required key missing (n_layer is in errors_test.sh).
for key in n_head n_embd vocab_size; do
    d=$(config_variant "no-$key" "del c['$key']")
    compile_error "no-$key" "missing required key \"$key\"" "$d"
done
d=$(config_variant no-positions "del c['n_positions']; del c['n_ctx']")
compile_error no-positions 'missing required key "n_positions" \(or its legacy name "n_ctx"\)' "$d"

# Not JSON, or not an object.
d=$(printf '' | config_text empty)
compile_error empty 'not valid JSON.*(empty input|unexpected end of input)' "$d"
d=$(printf '  \n\t\n' | config_text blank)
compile_error blank 'not valid JSON' "$d"
d=$( (cat "$M1/config.json"; printf 'garbage') | config_text trailing-garbage)
compile_error trailing-garbage 'not valid JSON \(error at byte [0-9]+\)' "$d"
d=$( (cat "$M1/config.json"; printf '{}') | config_text two-objects)
compile_error two-objects 'not valid JSON' "$d"
d=$(head -c 100 "$M1/config.json" | config_text truncated-in-key)
compile_error truncated-in-key 'not valid JSON' "$d"
d=$(printf '[1, 2]' | config_text top-array)
compile_error top-array 'expected a JSON object at the top level, found array' "$d"
d=$(printf 'null' | config_text top-null)
compile_error top-null 'expected a JSON object at the top level, found null' "$d"
d=$(printf '{"n_layer": 2, "n_head": 4, "n_embd": 32, "vocab_size": 97, "n_positions": 32, "x": "\xff"}' |
    config_text bad-utf8)
compile_error bad-utf8 'not valid JSON.*(invalid string|UTF-8)' "$d"
d=$(printf '{"n_layer": 2,\x00 "n_head": 4}' | config_text nul-byte)
compile_error nul-byte 'not valid JSON' "$d"
d=$(sed 's/"n_embd": 32/"n_embd": 1e400/' "$M1/config.json" | config_text huge-number)
compile_error huge-number 'not valid JSON.*1e400' "$d"
d=$(sed 's/"layer_norm_epsilon": 1e-05/"layer_norm_epsilon": 1e-400/' "$M1/config.json" | config_text tiny-number)
compile_error tiny-number 'key "layer_norm_epsilon": expected a finite positive number, found floating-point number 0' "$d"
d=$(repeat 100000 '[' | config_text deep-open)
compile_error deep-open 'JSON nested deeper than 256 levels at byte 256' "$d"
d=$(printf '%s' "$DEEP_ARRAY" | config_text deep-array)
compile_error deep-array 'JSON nested deeper than 256 levels at byte [0-9]+; expected at most 256' "$d"
d=$( (printf '{"n_layer": '; repeat 100000 '{"a": '; printf 1; repeat 100001 '}') | config_text deep-value)
compile_error deep-value 'JSON nested deeper than 256 levels at byte [0-9]+; expected at most 256' "$d"
d=$( (head -c -2 "$M1/config.json"; printf ', "task_specific_params": %s}' "$DEEP_ARRAY") | config_text deep-ignored-key)
compile_error deep-ignored-key 'JSON nested deeper than 256 levels at byte [0-9]+; expected at most 256' "$d"
mkdir -p "$WORK/configs/dir-config/config.json"
o=$(out_dir compile-dir-config)
expect_error "compile: config.json is a directory" 'dir-config/config\.json: is a directory' "$o" \
    "$GPT2C" compile "$WORK/configs/dir-config" -o "$o/lib.so"
o=$(out_dir compile-dev-zero)
expect_error "compile: config is /dev/zero (endless)" '/dev/zero.*(larger than|not a regular file)' "$o" \
    "$GPT2C" compile /dev/zero -o "$o/lib.so"

# Accepted on purpose: a UTF-8 byte order mark before the JSON (Windows editors write one); and null
# for n_inner and the token ids (Hugging Face's "default").
d=$( (printf '\xef\xbb\xbf'; cat "$M1/config.json") | config_text bom)
o=$(out_dir compile-bom)
expect_ok "compile: a UTF-8 BOM before config.json is accepted" "$GPT2C" compile "$d" -o "$o/lib.so" -O0
d=$( (printf '\xef\xbb\xbf\xef\xbb\xbf'; cat "$M1/config.json") | config_text double-bom)
compile_error double-bom 'not valid JSON' "$d"

make_and_run

# ================================================================== the libraries used below

mkdir -p "$WORK/lib"
LIB=$WORK/lib/m1.so
expect_ok "compile m1" "$GPT2C" compile "$M1" -o "$LIB" || {
    echo "cannot continue without m1's library"
    exit 1
}
TINY=$WORK/tiny # vocab 300 (byte-level tokenizer + 7 merges + <|endoftext|>), n_positions 16
mkdir -p "$TINY" && python3 "$TOOLS" tiny-model "$TINY"
TINY_LIB=$WORK/lib/tiny.so
expect_ok "compile the tiny model" "$GPT2C" compile "$TINY" -o "$TINY_LIB" || {
    echo "cannot continue without the tiny model's library"
    exit 1
}

# logits_error NAME REGEX MODEL [LIB] : `gpt2c logits` on MODEL (a checkpoint file or directory) fails.
logits_error() { defer logits_error_now "$@"; }
logits_error_now() {
    local o
    o=$(out_dir "logits-$1")
    expect_error "logits: $1" "$2" "$o" "$GPT2C" logits --lib "${4:-$LIB}" --model "$3" --tokens 1,2 --out "$o/l.npy"
}

# ================================================================== model.safetensors

ST=$WORK/st
mkdir -p "$ST"
GOOD_ST=$M1/model.safetensors
# st_variant NAME PYTHON : m1's checkpoint edited by PYTHON (h: header dict, data: bytearray; see hostile_tools.py).
st_variant() {
    queue st-edit "$GOOD_ST" "$ST/$1.safetensors" "$2"
    echo "$ST/$1.safetensors"
}
WTE=transformer.wte.weight
QKV=transformer.h.0.attn.c_attn.weight

: > "$ST/empty.safetensors"
logits_error "empty checkpoint" 'st/empty\.safetensors: file is empty \(0 bytes\); expected an 8-byte header length' \
    "$ST/empty.safetensors"
head -c 7 "$GOOD_ST" > "$ST/seven.safetensors"
logits_error "7-byte checkpoint" 'st/seven\.safetensors: file is 7 bytes, shorter than the 8-byte header length' \
    "$ST/seven.safetensors"
f=$(st_variant header-past-end "raw = struct.pack('<Q', 10**6) + b'{}'")
logits_error "header length > file" 'header-past-end\.safetensors: header length 1000000 is larger than the file' "$f"
f=$(st_variant header-2e63 "raw = struct.pack('<Q', 2**63) + b'{}' * 8")
logits_error "header length 2^63" 'header-2e63\.safetensors: header length 9223372036854775808 is larger than the file' "$f"
f=$(st_variant header-max "raw = struct.pack('<Q', 2**64 - 1) + b'{}'")
logits_error "header length 2^64-1" 'header-max\.safetensors: header length 18446744073709551615' "$f"
f=$(st_variant header-not-json "raw = struct.pack('<Q', 8) + b'not json'")
logits_error "header not JSON" 'header-not-json\.safetensors: header is not valid JSON' "$f"
f=$(st_variant header-array "raw = struct.pack('<Q', 6) + b'[1, 2]'")
logits_error "header is a JSON array" 'header-array\.safetensors: header is a JSON array, expected an object' "$f"
f=$(st_variant header-empty "raw = struct.pack('<Q', 0)")
logits_error "header of 0 bytes" 'header-empty\.safetensors: header is not valid JSON' "$f"
f=$(st_variant header-deep "t = b'[' * 100000 + b']' * 100000; raw = struct.pack('<Q', len(t)) + t")
logits_error "header nested 100000 deep" 'header-deep\.safetensors: JSON nested deeper than 256 levels at byte [0-9]+' "$f"
f=$(st_variant offsets-deep "t = b'{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": ' + b'[' * 100000 + b']' * 100000 + b'}}'; raw = struct.pack('<Q', len(t)) + t")
logits_error "data_offsets nested 100000 deep" 'offsets-deep\.safetensors: JSON nested deeper than 256 levels at byte [0-9]+' "$f"
f=$(st_variant header-dup "t = b'{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [0, 0]}, \"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [0, 0]}}'; raw = struct.pack('<Q', len(t)) + t")
logits_error "tensor named twice in the header" "header-dup\.safetensors: tensor 'a' appears more than once" "$f"
for key in dtype shape data_offsets; do
    f=$(st_variant "no-$key" "del h['$QKV']['$key']")
    logits_error "tensor entry without $key" "no-$key\.safetensors: tensor '$QKV': missing key '$key'" "$f"
done
f=$(st_variant entry-string "h['$QKV'] = 'F32'")
logits_error "tensor entry is a string" "entry-string\.safetensors: tensor '$QKV': entry is a JSON string, expected an object" "$f"
f=$(st_variant metadata-array "h['__metadata__'] = [1]")
logits_error "__metadata__ is an array" "metadata-array\.safetensors: '__metadata__' is a JSON array, expected an object" "$f"
f=$(st_variant dtype-unknown "h['$QKV']['dtype'] = 'F128'")
logits_error "unknown dtype" "dtype-unknown\.safetensors: tensor '$QKV': unknown dtype 'F128'; expected one of" "$f"
f=$(st_variant dtype-int "h['$QKV']['dtype'] = 4")
logits_error "dtype is a number" "dtype-int\.safetensors: tensor '$QKV': 'dtype' is a JSON number, expected a string" "$f"
f=$(st_variant wte-i64 "b = bytes(97 * 32 * 8); h['$WTE'] = {'dtype': 'I64', 'shape': [97, 32], 'data_offsets': [len(data), len(data) + len(b)]}; data += b")
logits_error "I64 for wte" "wte-i64\.safetensors: tensor '$WTE': cannot convert dtype I64 to F32; supported dtypes are F32, F16 and BF16" "$f"
f=$(st_variant wte-i32 "h['$WTE']['dtype'] = 'I32'")
logits_error "I32 for wte" "wte-i32\.safetensors: tensor '$WTE': cannot convert dtype I32" "$f"
f=$(st_variant qkv-transposed "h['$QKV']['shape'] = [96, 32]")
logits_error "c_attn weight transposed" "qkv-transposed\.safetensors: tensor \"$QKV\" has shape \[96, 32\], but the compiled config needs \[32, 96\]" "$f"
f=$(st_variant qkv-flat "h['$QKV']['shape'] = [3072]")
logits_error "c_attn weight flattened" "qkv-flat\.safetensors: tensor \"$QKV\" has shape \[3072\], but the compiled config needs \[32, 96\]" "$f"
f=$(st_variant shape-negative "h['$QKV']['shape'] = [-32, -96]")
logits_error "negative dimension" "shape-negative\.safetensors: tensor '$QKV': shape\[0\] is -32, expected a non-negative dimension" "$f"
f=$(st_variant shape-float "h['$QKV']['shape'] = [32.0, 96]")
logits_error "float dimension" "shape-float\.safetensors: tensor '$QKV': shape\[0\] is a JSON number \(32.0\), expected a non-negative integer" "$f"
f=$(st_variant shape-overflow "h['$QKV']['shape'] = [2**62, 2**62]")
logits_error "element count overflows" "shape-overflow\.safetensors: tensor '$QKV': element count of shape \[4611686018427387904, 4611686018427387904\] overflows" "$f"
f=$(st_variant bytes-overflow "h['$QKV']['shape'] = [2**61, 2]")
logits_error "byte size overflows" "bytes-overflow\.safetensors: tensor '$QKV': byte size of shape .* overflows" "$f"
f=$(st_variant offsets-out "b, e = h['$QKV']['data_offsets']; h['$QKV']['data_offsets'] = [len(data) - (e - b) + 4, len(data) + 4]")
logits_error "offsets past the data section" "offsets-out\.safetensors: tensor '$QKV': data_offsets end [0-9]+ is beyond the data section of [0-9]+ bytes" "$f"
f=$(st_variant offsets-huge "h['$QKV']['data_offsets'] = [2**64 - 12288, 2**64 - 1]")
logits_error "offsets near 2^64" "offsets-huge\.safetensors: tensor '$QKV': data_offsets end 18446744073709551615 is beyond the data section" "$f"
f=$(st_variant offsets-reversed "b, e = h['$QKV']['data_offsets']; h['$QKV']['data_offsets'] = [e, b]")
logits_error "offsets reversed" "offsets-reversed\.safetensors: tensor '$QKV': data_offsets \[[0-9]+, [0-9]+\] have begin > end" "$f"
f=$(st_variant offsets-three "h['$QKV']['data_offsets'] += [0]")
logits_error "three offsets" "offsets-three\.safetensors: tensor '$QKV': 'data_offsets' is \[.*\], expected an array of two non-negative integers" "$f"
f=$(st_variant offsets-negative "h['$QKV']['data_offsets'] = [-4, 12284]")
logits_error "negative offset" "offsets-negative\.safetensors: tensor '$QKV': 'data_offsets' is \[-4,12284\], expected an array of two non-negative" "$f"
f=$(st_variant offsets-short "b, e = h['$QKV']['data_offsets']; h['$QKV']['data_offsets'] = [b, e - 4]")
logits_error "offsets span too few bytes" "offsets-short\.safetensors: tensor '$QKV': dtype F32 and shape \[32, 96\] need 12288 bytes, but data_offsets .* span 12284 bytes" "$f"
LN1W=transformer.h.0.ln_1.weight
LN1B=transformer.h.0.ln_1.bias
f=$(st_variant overlap "h['$LN1B']['data_offsets'] = list(h['$LN1W']['data_offsets'])")
logits_error "overlapping tensors" "overlap\.safetensors: tensors '.*ln_1\..*' \[[0-9]+, [0-9]+\) and '.*ln_1\..*' \[[0-9]+, [0-9]+\) overlap" "$f"
f=$(st_variant overlap-partial "b, e = h['$LN1W']['data_offsets']; h['$LN1B']['data_offsets'] = [b + 4, e + 4]")
logits_error "partly overlapping tensors" "overlap-partial\.safetensors: tensors .* overlap" "$f"
f=$(st_variant missing-tensor "del h['transformer.h.1.mlp.c_fc.bias']")
logits_error "missing tensor" 'missing-tensor\.safetensors: missing tensor "h\.1\.mlp\.c_fc\.bias" \(also looked for "transformer\.h\.1\.mlp\.c_fc\.bias"\)' "$f"
f=$(st_variant missing-wte "del h['$WTE']")
logits_error "missing wte" 'missing-wte\.safetensors: missing tensor "wte\.weight"' "$f"
f=$(st_variant both-names "b = tensor_bytes('$LN1W'); h['h.0.ln_1.weight'] = {'dtype': 'F32', 'shape': [32], 'data_offsets': [len(data), len(data) + len(b)]}; data += b")
logits_error "tensor with and without transformer." 'both-names\.safetensors: tensor "h\.0\.ln_1\.weight" is stored twice, as "h\.0\.ln_1\.weight" and "transformer\.h\.0\.ln_1\.weight"' "$f"
f=$(st_variant extra-layer "b = tensor_bytes('$LN1W'); h['transformer.h.2.ln_1.weight'] = {'dtype': 'F32', 'shape': [32], 'data_offsets': [len(data), len(data) + len(b)]}; data += b")
logits_error "tensor of layer 2 (n_layer 2)" 'extra-layer\.safetensors: tensor "transformer\.h\.2\.ln_1\.weight" belongs to layer 2, but the compiled config has n_layer = 2' "$f"
f=$(st_variant extra-layer-huge "h['h.99999999999999999999999.ln_1.weight'] = {'dtype': 'F32', 'shape': [0], 'data_offsets': [0, 0]}")
logits_error "tensor of layer 10^23" 'extra-layer-huge\.safetensors: tensor "h\.99999999999999999999999\.ln_1\.weight" belongs to layer 99999999999999999999999, but the compiled config has n_layer = 2' "$f"
f=$(st_variant cut-last-byte "raw = open('$GOOD_ST', 'rb').read()[:-1]")
logits_error "data section one byte short" "cut-last-byte\.safetensors: tensor '.*': data_offsets end [0-9]+ is beyond the data section" "$f"
mkdir -p "$ST/dir.safetensors"
logits_error "checkpoint is a directory" 'dir\.safetensors.*(not a regular file|no model\.safetensors)' "$ST/dir.safetensors"
logits_error "checkpoint is /dev/zero" '/dev/zero: not a regular file' /dev/zero

# NaN and infinity in the weights are rejected (they would make every logit NaN), naming the tensor and element.
f=$(st_variant nan-wte "set_f32('$WTE', 5, float('nan'))")
logits_error "NaN in wte" "nan-wte\.safetensors: tensor '$WTE': element 5 is nan; expected finite weights" "$f"
f=$(st_variant inf-qkv "set_f32('$QKV', 3071, float('-inf'))")
logits_error "-inf in c_attn" "inf-qkv\.safetensors: tensor '$QKV': element 3071 is -inf; expected finite weights" "$f"
f=$(st_variant nan-bf16 "b = struct.pack('<32H', *([0x3f80] * 31 + [0x7fc1])); h['$LN1W'] = {'dtype': 'BF16', 'shape': [32], 'data_offsets': [len(data), len(data) + len(b)]}; data += b")
logits_error "NaN in a BF16 tensor" "nan-bf16\.safetensors: tensor '$LN1W': element 31 is nan" "$f"
f=$(st_variant inf-f16 "b = struct.pack('<32H', *([0x3c00] * 7 + [0x7c00] + [0x3c00] * 24)); h['$LN1W'] = {'dtype': 'F16', 'shape': [32], 'data_offsets': [len(data), len(data) + len(b)]}; data += b")
logits_error "inf in an F16 tensor" "inf-f16\.safetensors: tensor '$LN1W': element 7 is inf" "$f"

# A library compiled for another config: name the tensor and both shapes.
logits_error "m1's library, m2's weights" \
    'm2_gelu_erf_f16_untied/model\.safetensors: tensor ".*" has shape \[[0-9, ]+\], but the compiled config needs \[[0-9, ]+\]' "$M2"
logits_error "m1's library, the tiny model's weights" 'tiny/model\.safetensors: tensor "wte\.weight" has shape \[300, 8\], but the compiled config needs \[97, 32\]' "$TINY"

# ...but attn.bias / masked_bias buffers are never loaded, so theirs do not matter (GPT-2 stores -1e4 or -inf there).
f=$(st_variant inf-masked-bias "h['transformer.h.0.attn.masked_bias'] = {'dtype': 'F32', 'shape': [1], 'data_offsets': [len(data), len(data) + 4]}; data += struct.pack('<f', float('-inf'))")
make_and_run
o=$(out_dir logits-inf-masked-bias)
expect_ok "logits: -inf in attn.masked_bias (not a weight) is fine" \
    "$GPT2C" logits --lib "$LIB" --model "$f" --tokens 1,2 --out "$o/l.npy"

# ================================================================== compiled libraries

FAKE=$WORK/fake
mkdir -p "$FAKE"
# fake_lib NAME VARIANT [PYTHON] : $FAKE/NAME.so, made by build_fakes from fake_library.c with
# -DVARIANT_<VARIANT> and m1's metadata edited by PYTHON (m: the metadata dict; or set `text`). The metadata string goes
# through a generated header (-include): -D cannot hold multi-line text.
FAKES=()
fake_lib() {
    local name=$1 variant=$2 edit=${3:-pass}
    queue c-string "$WORK/lib/m1.json" "$FAKE/$name.inc" "$edit"
    FAKES+=("$name:$variant")
}
build_fakes() {
    local item name variant
    for item in "${FAKES[@]}"; do
        name=${item%%:*} variant=${item#*:}
        {
            printf '#define GPT2C_FAKE_METADATA \\\n'
            sed 's/$/ \\/' "$FAKE/$name.inc"
            printf '\n'
        } > "$FAKE/$name.h"
        "$CC" -shared -fPIC -O0 -o "$FAKE/$name.so" -I"$SRC/include" "-DVARIANT_$variant" \
            -include "$FAKE/$name.h" "$FAKE_C" 2> "$FAKE/$name.log" || echo "cc $name failed: $(cat "$FAKE/$name.log")"
    done
    FAKES=()
}
lib_error() { # NAME REGEX LIB
    logits_error "$1" "$2" "$M1" "$3"
}

fake_lib good META && good_fake=$FAKE/good.so

fake_lib query-null QUERY_NULL && l=$FAKE/query-null.so
lib_error "library for another ABI version (query returns NULL)" \
    'fake/query-null\.so: the library was built for another gpt2c ABI version \(this runtime speaks version [0-9]+\)' "$l"
fake_lib abi-v2 ABI_V2 && l=$FAKE/abi-v2.so
lib_error "descriptor says the next ABI version" 'fake/abi-v2\.so: malformed library descriptor: it says ABI version ([0-9]+), expected [0-9]+' "$l"
fake_lib null-metadata NULL_METADATA && l=$FAKE/null-metadata.so
lib_error "descriptor without metadata" 'fake/null-metadata\.so: malformed library descriptor: metadata_json is NULL' "$l"
fake_lib null-forward NULL_FORWARD && l=$FAKE/null-forward.so
lib_error "descriptor without forward" 'fake/null-forward\.so: malformed library descriptor: forward is NULL' "$l"
fake_lib small-descriptor SMALL_DESCRIPTOR && l=$FAKE/small-descriptor.so
lib_error "descriptor_size too small" 'fake/small-descriptor\.so: malformed library descriptor: descriptor_size is 8, expected at least' "$l"
fake_lib null-prepare NULL_PREPARE && l=$FAKE/null-prepare.so
lib_error "descriptor without prepare" 'fake/null-prepare\.so: malformed library descriptor: prepare is NULL' "$l"
fake_lib no-symbol NO_SYMBOL && l=$FAKE/no-symbol.so
lib_error "library without the query symbol" 'fake/no-symbol\.so: not a gpt2c library \(no gpt2c_library_query symbol\)' "$l"

# meta_error NAME REGEX PYTHON : a fake library whose metadata is m1's edited by PYTHON is rejected.
meta_error() {
    local l
    fake_lib "meta-$1" META "$3" && l=$FAKE/meta-$1.so
    lib_error "metadata: $1" "fake/meta-$1\.so.*$2" "$l"
}
meta_error not-json 'malformed metadata: .*parse error' "text = '{\"abi_version\": 1,'"
meta_error array 'malformed metadata: expected a JSON object, found \[1,2,3\]' "text = '[1, 2, 3]'"
meta_error empty 'malformed metadata' "text = ''"
meta_error deep 'malformed metadata: JSON nested deeper than 256 levels' "text = '{\"config\": ' + '[' * 100000 + ']' * 100000 + '}'"
meta_error deep-pipeline 'malformed metadata: JSON nested deeper than 256 levels' "m['pipeline'] = 0; text = json.dumps(m).replace('\"pipeline\": 0', '\"pipeline\": ' + '[' * 100000 + ']' * 100000)"
for key in config weights prepared arena_bytes kv_cache_bytes kv_dtype target; do
    meta_error "no-$key" "malformed metadata: the metadata has no key \"$key\"" "del m['$key']"
done
meta_error no-isa-features 'malformed metadata: metadata key "target" has no key "isa_features"' "del m['target']['isa_features']"
meta_error no-arch 'malformed metadata: metadata key "target" has no key "arch"' "del m['target']['arch']"
meta_error isa-features-string 'metadata key "isa_features": expected an array of feature names, found "\+avx2"' \
    "m['target']['isa_features'] = '+avx2'"
meta_error isa-features-numbers 'metadata key "isa_features": expected an array of feature names, found \[1,2\]' \
    "m['target']['isa_features'] = [1, 2]"
meta_error arch-other 'metadata says the library is for riscv64, but this runtime runs on x86_64' "m['target']['arch'] = 'riscv64'"
meta_error target-string 'malformed metadata: metadata key "target" is "x86", expected a JSON object' "m['target'] = 'x86'"
meta_error arena-huge 'metadata arena_bytes 4611686018427387904 is out of range' "m['arena_bytes'] = 2**62"
meta_error arena-negative 'metadata arena_bytes -1 is out of range' "m['arena_bytes'] = -1"
meta_error arena-string 'metadata key "arena_bytes": expected a 64-bit integer, found "24576"' "m['arena_bytes'] = '24576'"
meta_error arena-2e64 'metadata key "arena_bytes": expected a 64-bit integer, found 18446744073709551615' "m['arena_bytes'] = 2**64 - 1"
meta_error arena-float 'metadata key "arena_bytes": expected a 64-bit integer, found 24576.5' "m['arena_bytes'] = 24576.5"
meta_error kv-plus-one 'metadata kv_cache_bytes 16385 does not match its config and kv_dtype f32 \(16384 expected\)' \
    "m['kv_cache_bytes'] += 1"
meta_error kv-negative 'metadata kv_cache_bytes -1 does not match' "m['kv_cache_bytes'] = -1"
meta_error kv-dtype-bf16 'metadata kv_cache_bytes 16384 does not match its config and kv_dtype bf16 \(8192 expected\)' \
    "m['kv_dtype'] = 'bf16'"
meta_error kv-dtype-int8 'metadata kv_cache_bytes 16384 does not match its config and kv_dtype int8 \([0-9]+ expected\)' \
    "m['kv_dtype'] = 'int8'"
meta_error kv-dtype-other 'metadata kv_dtype "f16": expected "f32", "bf16" or "int8"' "m['kv_dtype'] = 'f16'"
meta_error config-invalid '\(embedded config\): key "n_head": expected a positive integer, found 0' "m['config']['n_head'] = 0"
meta_error config-indivisible '\(embedded config\): key "n_embd" \(30\) is not divisible' "m['config']['n_embd'] = 30"
meta_error config-string '\(embedded config\): expected a JSON object' "m['config'] = 'gpt2'"
meta_error weights-object 'metadata key "weights" must be an array' "m['weights'] = {}"
meta_error weight-negative 'metadata tensor "wpe\.weight" has an invalid shape' "m['weights'][1]['shape'] = [-32, 32]"
meta_error weight-huge 'metadata tensor "wpe\.weight" has an invalid shape' "m['weights'][1]['shape'] = [2**40, 2**40]"
meta_error weight-wrong-shape 'metadata tensor "wpe\.weight" has shape \[64, 32\], but its config needs \[32, 32\]' "m['weights'][1]['shape'] = [64, 32]"
meta_error weight-unknown 'metadata tensor "h\.7\.ln_1\.weight" is not a weight of its config' "m['weights'][2]['name'] = 'h.7.ln_1.weight'"
meta_error weight-twice 'metadata tensor "wte\.weight" is listed twice' "m['weights'][1] = dict(m['weights'][0])"
meta_error weight-name-int 'metadata key "name": expected a string, found 7' "m['weights'][0]['name'] = 7"
meta_error weight-not-object 'malformed metadata: weights\[0\] is 7, expected a JSON object' "m['weights'][0] = 7"
meta_error weight-used-string 'metadata tensor "wte\.weight": used_by_forward is "yes", expected true or false' "m['weights'][0]['used_by_forward'] = 'yes'"
meta_error lm-head-tied 'metadata tensor "lm_head\.weight" is not a weight of its config' "m['weights'].append({'name': 'lm_head.weight', 'shape': [97, 32]})"
meta_error prepared-bytes-huge 'metadata tensor "[^"]*" has [0-9]+ bytes for [0-9]+ elements' "m['prepared'][0]['bytes'] = 2**62"
meta_error prepared-bytes-negative 'metadata tensor "[^"]*" has -5 bytes for' "m['prepared'][0]['bytes'] = -5"
meta_error prepared-total 'metadata: the prepared tensors need [0-9]+ bytes in all, more than the limit' \
    "m['prepared'] = [{'name': f'p{i}', 'shape': [2**30], 'bytes': 2**32, 'inputs': {'weights': [], 'prepared': []}} for i in range(64)]"
# Prepared inputs: the runtime frees a tensor after its last listed use, so indices must be in range and earlier.
meta_error prepared-no-inputs 'malformed metadata: prepared\[0\] has no key "inputs"' "del m['prepared'][0]['inputs']"
meta_error prepared-input-weight-range 'inputs\.weights holds 9999, expected a weight index in 0\.\.[0-9]+' \
    "m['prepared'][0]['inputs']['weights'] = [9999]"
meta_error prepared-input-self 'inputs\.prepared holds 0, expected an earlier prepared tensor \(index below 0\)' \
    "m['prepared'][0]['inputs']['prepared'] = [0]"
meta_error prepared-inputs-not-array 'inputs\.weights is "all", expected an array' \
    "m['prepared'][0]['inputs']['weights'] = 'all'"
if ! grep -qw avx512_fp16 /proc/cpuinfo; then
    meta_error needs-avx512fp16 "compiled for CPU '.*' with instruction-set features this CPU lacks: avx512fp16" \
        "m['target']['isa_features'] = ['avx2', 'avx512fp16']"
fi
if ! grep -qw amx_tile /proc/cpuinfo; then
    meta_error needs-amx "instruction-set features this CPU lacks: amx-tile, amx-int8" \
        "m['target']['isa_features'] = ['amx-tile', 'amx-int8']"
fi
# System and privileged features never count, even when a library lists them: this one loads and reaches prepare().
fake_lib system-features META "m['target']['isa_features'] = ['sse2', 'invpcid', 'pcid', 'rdpid', 'sgx', 'rtm', 'hle']" &&
    system_fake=$FAKE/system-features.so

make_files
build_fakes
# expect_reaches_prepare NAME LIB: LIB loads and its prepare() runs (the fakes' prepare aborts).
expect_reaches_prepare() {
    checks=$((checks + 1))
    "$GPT2C" logits --lib "$2" --model "$M1" --tokens 1,2 --out "$WORK/fake.npy" > /dev/null 2>&1
    local rc=$?
    if [[ $rc -eq 134 ]]; then
        echo "ok: $1 reaches prepare() (abort)"
    else
        fail "$1: exit status $rc, expected 134 (abort in prepare)"
    fi
    rm -f "$WORK/fake.npy"
}
# The good fake reaches prepare(): proves the fakes are loaded and that every case
# here is rejected before any library code beyond gpt2c_library_query runs.
expect_reaches_prepare "the unmodified fake library" "$good_fake"
expect_reaches_prepare "a library listing system features this CPU may lack (invpcid, sgx, rtm, ...)" "$system_fake"
make_and_run

# Files that are not shared objects.
printf 'this is not a shared object\n' > "$FAKE/text.so"
lib_error "library is a text file" 'fake/text\.so: cannot load the compiled library' "$FAKE/text.so"
: > "$FAKE/empty.so"
lib_error "library is an empty file" 'fake/empty\.so: cannot load the compiled library' "$FAKE/empty.so"
# Truncated copies of a real library (dlopen would map the missing segments and die with SIGBUS).
lib_size=$(stat -c %s "$LIB")
for cut in 1 63 64 200 4096 $((lib_size / 4)) $((lib_size / 2)) $((lib_size * 3 / 4)) $((lib_size - 1)); do
    head -c "$cut" "$LIB" > "$FAKE/truncated-$cut.so"
    lib_error "library is a real one cut to $cut of $lib_size bytes" "fake/truncated-$cut\.so: cannot load the compiled library" \
        "$FAKE/truncated-$cut.so"
done
mkdir -p "$FAKE/dir.so"
lib_error "library is a directory" 'fake/dir\.so: cannot load the compiled library' "$FAKE/dir.so"
lib_error "library is /dev/zero" '/dev/zero: cannot load the compiled library' /dev/zero
logits_error "m1's library, the tiny model's checkpoint file" 'tiny/model\.safetensors: tensor "wte\.weight" has shape \[300, 8\]' \
    "$TINY/model.safetensors"

# Compiled for CPU features this machine lacks: must fail before any generated code runs, naming them.
if ! grep -qw avx512_fp16 /proc/cpuinfo; then
    o=$(out_dir fp16-lib)
    if expect_ok "compile for x86-64 +avx512fp16" "$GPT2C" compile "$M1" -o "$o/fp16.so" --target-cpu=x86-64 \
        --target-features=+avx512fp16; then
        lib_error "library needs avx512fp16" "fp16\.so: compiled for CPU 'x86-64' with instruction-set features this CPU lacks: .*avx512fp16" \
            "$o/fp16.so"
    fi
fi
if ! grep -qw amx_tile /proc/cpuinfo; then
    o=$(out_dir spr-lib)
    if expect_ok "compile for sapphirerapids" "$GPT2C" compile "$M1" -o "$o/spr.so" --target-cpu=sapphirerapids; then
        lib_error "library for sapphirerapids (features implied by the CPU name)" \
            "spr\.so: compiled for CPU 'sapphirerapids' with instruction-set features this CPU lacks: .*amx-tile" "$o/spr.so"
    fi
fi

make_and_run

# ================================================================== vocab.json / merges.txt

# tok_variant NAME : a copy of the tiny model's tokenizer files to break; prints its directory.
tok_variant() {
    local dir=$WORK/tok/$1
    mkdir -p "$dir"
    cp "$TINY/vocab.json" "$TINY/merges.txt" "$dir/"
    echo "$dir"
}
# vocab_edit DIR PYTHON : applies PYTHON to vocab.json as the dict `v`.
vocab_edit() { queue vocab-edit "$1/vocab.json" "$2"; }
tok_error() { defer tok_error_now "$@"; }
tok_error_now() { # NAME REGEX DIR
    STDIN=$WORK/hello.txt expect_error "tokenize: $1" "$2" "" "$GPT2C" tokenize --model "$3"
}
printf 'hello there' > "$WORK/hello.txt"

d=$(tok_variant vocab-not-json) && printf '{"a": 1,' > "$d/vocab.json"
tok_error "vocab.json not JSON" 'tok/vocab-not-json/vocab\.json: not valid JSON' "$d"
d=$(tok_variant vocab-array) && printf '["a", "b"]' > "$d/vocab.json"
tok_error "vocab.json is an array" 'vocab-array/vocab\.json: expected a JSON object of token -> id, found a JSON array' "$d"
d=$(tok_variant vocab-empty) && printf '{}' > "$d/vocab.json"
tok_error "vocab.json is empty" 'vocab-empty/vocab\.json: the vocabulary is empty' "$d"
d=$(tok_variant vocab-zero-bytes) && : > "$d/vocab.json"
tok_error "vocab.json has 0 bytes" 'vocab-zero-bytes/vocab\.json: not valid JSON' "$d"
d=$(tok_variant vocab-string-id) && vocab_edit "$d" 'v["a"] = "97"'
tok_error "vocab id is a string" 'vocab-string-id/vocab\.json: key "a": expected an integer id, found "97"' "$d"
d=$(tok_variant vocab-float-id) && vocab_edit "$d" 'v["a"] = 97.0'
tok_error "vocab id is a float" 'vocab-float-id/vocab\.json: key "a": expected an integer id, found 97\.0' "$d"
d=$(tok_variant vocab-negative-id) && vocab_edit "$d" 'v["a"] = -1'
tok_error "vocab id is negative" 'vocab-negative-id/vocab\.json: key "a": id -1 is out of range' "$d"
d=$(tok_variant vocab-big-id) && vocab_edit "$d" 'v["a"] = 2**40'
tok_error "vocab id is 2^40" 'vocab-big-id/vocab\.json: key "a": id 1099511627776 is out of range' "$d"
d=$(tok_variant vocab-huge-id) && vocab_edit "$d" 'v["a"] = 2**64 - 1'
tok_error "vocab id is 2^64-1" 'vocab-huge-id/vocab\.json: key "a": .*18446744073709551615.*' "$d"
d=$(tok_variant vocab-overflow-id) && sed -i 's/"a": *97/"a": 1e400/' "$d/vocab.json"
tok_error "vocab id is 1e400" 'vocab-overflow-id/vocab\.json: not valid JSON.*1e400' "$d"
d=$(tok_variant vocab-dup-id) && vocab_edit "$d" 'v["a"] = v["b"]'
tok_error "two tokens with one id" 'vocab-dup-id/vocab\.json: key "[ab]": id 98 is already used by key "[ab]"' "$d"
d=$(tok_variant vocab-no-byte) && vocab_edit "$d" 'del v["<|endoftext|>"]; v["<|endoftext|>"] = v.pop("a")'
tok_error "a byte without a token" 'vocab-no-byte/vocab\.json: no token for byte 0x61' "$d"
d=$(tok_variant vocab-not-bytes) && vocab_edit "$d" 'v["中"] = v.pop("<|endoftext|>")'
tok_error "token that is not byte-level" 'vocab-not-bytes/vocab\.json: key "中": U\+4E2D is not a byte-level character' "$d"
d=$(tok_variant vocab-deep) && printf '{"a": %s}' "$DEEP_ARRAY" > "$d/vocab.json"
tok_error "vocab.json nested 100000 deep" 'vocab-deep/vocab\.json: JSON nested deeper than 256 levels at byte [0-9]+' "$d"
d=$(tok_variant vocab-missing) && rm "$d/vocab.json"
tok_error "vocab.json missing" 'vocab-missing/vocab\.json: cannot open' "$d"
d=$(tok_variant vocab-dir) && rm "$d/vocab.json" && mkdir "$d/vocab.json"
tok_error "vocab.json is a directory" 'vocab-dir/vocab\.json: (cannot open|cannot read|is a directory|not a regular file)' "$d"

d=$(tok_variant merges-missing) && rm "$d/merges.txt"
tok_error "merges.txt missing" 'merges-missing/merges\.txt: cannot open' "$d"
d=$(tok_variant merges-one-token) && printf '#version: 0.2\nt h\nhe\n' > "$d/merges.txt"
tok_error "merges line with one token" 'merges-one-token/merges\.txt:3: expected "A B" \(two tokens separated by one space\), found "he"' "$d"
d=$(tok_variant merges-three) && printf '#version: 0.2\nt h e\n' > "$d/merges.txt"
tok_error "merges line with three tokens" 'merges-three/merges\.txt:2: expected "A B".*found "t h e"' "$d"
d=$(tok_variant merges-blank) && printf '#version: 0.2\nt h\n\nh e\n' > "$d/merges.txt"
tok_error "blank line inside merges.txt" 'merges-blank/merges\.txt:3: expected "A B"' "$d"
d=$(tok_variant merges-unknown) && printf '#version: 0.2\nt h\nq 中\n' > "$d/merges.txt"
tok_error "merge of an unknown token" 'merges-unknown/merges\.txt:3: token "中" is not in the vocabulary' "$d"
d=$(tok_variant merges-result) && printf '#version: 0.2\nx y\n' > "$d/merges.txt"
tok_error "merge whose result is not in the vocabulary" 'merges-result/merges\.txt:2: the merge result "xy" is not in the vocabulary' "$d"
d=$(tok_variant merges-dup) && printf '#version: 0.2\nt h\nh e\nt h\n' > "$d/merges.txt"
tok_error "duplicate merge" 'merges-dup/merges\.txt:4: duplicate merge "t h" \(first on line 2\)' "$d"
d=$(tok_variant merges-binary) && printf 't\xff h\n' > "$d/merges.txt"
tok_error "merges.txt with invalid UTF-8" 'merges-binary/merges\.txt:1: token "t.*" is not in the vocabulary' "$d"
d=$(tok_variant merges-dir) && rm "$d/merges.txt" && mkdir "$d/merges.txt"
tok_error "merges.txt is a directory" 'merges-dir/merges\.txt: (cannot open|cannot read|is a directory|not a regular file)' "$d"

make_and_run

# detokenize: ids that are not token ids (-1, 50257, 2^64-1, 2.5 and "1" are in text_cli_test.sh).
detok_error() { # NAME REGEX JSON
    printf '%s' "$3" > "$WORK/ids.json"
    STDIN=$WORK/ids.json expect_error "detokenize: $1" "$2" "" "$GPT2C" detokenize --model "$TINY"
}
detok_error "id = vocab size" 'element 1 of the array, 264, is out of range: the vocabulary has 264 tokens \(0\.\.263\)' '[1, 264]'
detok_error "id 2^40" 'element 0 of the array, 1099511627776, is out of range' '[1099511627776]'
detok_error "id 2^31" 'element 0 of the array, 2147483648, is out of range' '[2147483648]'
detok_error "id -2^31" 'element 0 of the array, -2147483648, is out of range' '[-2147483648]'
detok_error "id -2^63" 'element 0 of the array, -9223372036854775808, is out of range' '[-9223372036854775808]'
detok_error "id 1.5" 'element 0 of the array is 1\.5, expected an integer token id' '[1.5]'
detok_error "id 1e3" 'element 0 of the array is 1000\.0, expected an integer token id' '[1e3]'
detok_error "id 1e400" 'not JSON.*1e400' '[1e400]'
detok_error "id null" 'element 2 of the array is null, expected an integer' '[1, 2, null]'
detok_error "id true" 'element 0 of the array is true, expected an integer' '[true]'
detok_error "id nested" 'element 0 of the array is \[1\], expected an integer' '[[1]]'
detok_error "ids deeply nested" 'stdin: JSON nested deeper than 256 levels' "$DEEP_ARRAY"
detok_error "ids not JSON" 'stdin is not JSON' '[1, 2'
detok_error "empty stdin" 'stdin is not JSON' ''

# Invalid UTF-8 in the text: replaced by U+FFFD (one per maximal ill-formed subsequence, as Python), never an error.
printf 'a\xef\xbf\xbdb\xef\xbf\xbd\xef\xbf\xbd' > "$WORK/replaced.txt"
STDIN=$WORK/replaced.txt expect_ok "tokenize: text with U+FFFD" "$GPT2C" tokenize --model "$TINY"
want=$(cat "$WORK/stdout.txt")
printf 'a\xffb\xe2\x82\xc0' > "$WORK/invalid.txt"
STDIN=$WORK/invalid.txt expect_ok "tokenize: invalid UTF-8" "$GPT2C" tokenize --model "$TINY"
check "tokenize: invalid UTF-8 becomes U+FFFD ($(cat "$WORK/stdout.txt") = $want)" test "$(cat "$WORK/stdout.txt")" = "$want"
printf '\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf\xff\xfe' > "$WORK/invalid2.txt" # surrogate, > U+10FFFF, overlong
STDIN=$WORK/invalid2.txt expect_ok "tokenize: surrogates, overlongs and code points above U+10FFFF" \
    "$GPT2C" tokenize --model "$TINY"
check "tokenize: each maximal ill-formed subsequence is one U+FFFD (11 bytes -> 11 x U+FFFD = 33 ids)" \
    python3 -c 'import json,sys; ids = json.loads(sys.argv[1]); assert ids == [239, 191, 189] * 11, ids' \
    "$(cat "$WORK/stdout.txt")"

# ================================================================== run / logits / generate: prompts and limits

# run with invalid UTF-8: the prompt is the replaced text (same token count as the U+FFFD text).
expect_ok "run: prompt with invalid UTF-8" "$GPT2C" run --lib "$TINY_LIB" --model "$TINY" --prompt-file "$WORK/invalid.txt" -n 2
n_want=$(($(tr -cd , <<< "$want" | wc -c) + 1))
check "run: invalid UTF-8 prompt is tokenized with U+FFFD (prompt $n_want tokens)" grep -q "prompt $n_want tokens" "$WORK/stderr.txt"

expect_ok "run: empty prompt starts from <|endoftext|>" "$GPT2C" run --lib "$TINY_LIB" --model "$TINY" --prompt "" -n 3
check "run: empty prompt generated 3 tokens" grep -q 'prompt 1 tokens.*generated 3 tokens' "$WORK/stderr.txt"
expect_ok "run: -n 0 generates nothing" "$GPT2C" run --lib "$TINY_LIB" --model "$TINY" --prompt "the" -n 0
check "run: -n 0 prints nothing" test ! -s "$WORK/stdout.txt"
check "run: -n 0 reports 0 generated tokens" grep -q 'generated 0 tokens' "$WORK/stderr.txt"
expect_ok "run: -n 1048576 is clipped to the context" "$GPT2C" run --lib "$TINY_LIB" --model "$TINY" --prompt "the" -n 1048576 --greedy
check "run: -n huge stops at the end of the context (1 + 15 = 16 positions)" grep -q 'prompt 1 tokens.*generated 15 tokens' "$WORK/stderr.txt"
o=$(out_dir run-n-too-big)
expect_error "run: -n 2^31" "option '-n' expects an integer in 0\.\.1048576, got '2147483648'" "$o" \
    "$GPT2C" run --lib "$TINY_LIB" --model "$TINY" --prompt "the" -n 2147483648
expect_error "run: -n -1" "option '-n' expects an integer in 0\.\.1048576, got '-1'" "" \
    "$GPT2C" run --lib "$TINY_LIB" --model "$TINY" --prompt "the" -n -1
expect_error "run: -n 1.5" "option '-n' expects an integer.*got '1\.5'" "" \
    "$GPT2C" run --lib "$TINY_LIB" --model "$TINY" --prompt "the" -n 1.5
# A prompt of exactly n_positions - 1 = 15 tokens (one byte each: no merges apply) and -n large:
# one token fits, then generation stops at the end of the context.
expect_ok "run: prompt of n_positions-1 tokens, -n 1000" \
    "$GPT2C" run --lib "$TINY_LIB" --model "$TINY" --prompt "abcdefghijklmno" -n 1000 --greedy
check "run: stops at the end of the context (prompt 15, generated 1)" grep -q 'prompt 15 tokens.*generated 1 tokens' "$WORK/stderr.txt"
expect_ok "run: sampling with a prompt of n_positions-1 tokens" \
    "$GPT2C" run --lib "$TINY_LIB" --model "$TINY" --prompt "abcdefghijklmno" -n 1000 --temperature 1.5 --seed 9
expect_error "run: prompt of n_positions+1 tokens" "prompt has 17 tokens but the model's context is 16 positions" "" \
    "$GPT2C" run --lib "$TINY_LIB" --model "$TINY" --prompt "abcdefghijklmnopq"
mkdir -p "$WORK/tiny-tok-m1"
ln -sf "$M1/config.json" "$M1/model.safetensors" "$TINY/vocab.json" "$TINY/merges.txt" "$WORK/tiny-tok-m1/"
expect_error "run: tokenizer ids beyond the model's vocabulary" 'tiny-tok-m1/vocab\.json: the prompt encodes to token id 258, but the model.s vocabulary has 97 tokens' "" \
    "$GPT2C" run --lib "$LIB" --model "$WORK/tiny-tok-m1" --prompt "the"

# logits --decode: exactly n_positions tokens through the KV cache works; n_positions + 1 fails cleanly.
sixteen=$(seq -s, 1 16)
seventeen=$(seq -s, 1 17)
o=$(out_dir logits-full-context)
expect_ok "logits --decode with exactly n_positions tokens" \
    "$GPT2C" logits --lib "$TINY_LIB" --model "$TINY" --tokens "$sixteen" --decode --out "$o/l.npy"
check "logits --decode wrote [16, 300] floats" test "$(stat -c %s "$o/l.npy" 2> /dev/null)" = $((128 + 16 * 300 * 4))
expect_ok "logits (prefill) with exactly n_positions tokens" \
    "$GPT2C" logits --lib "$TINY_LIB" --model "$TINY" --tokens "$sixteen" --out "$o/p.npy"
check "prefill and decode logits agree" python3 - "$o/l.npy" "$o/p.npy" << 'EOF'
import array, sys
def floats(path):
    a = array.array("f"); a.frombytes(open(path, "rb").read()[128:]); return a
a, b = floats(sys.argv[1]), floats(sys.argv[2])
worst = max(abs(x - y) for x, y in zip(a, b))
assert len(a) == len(b) == 16 * 300 and worst < 1e-3, worst
EOF
o=$(out_dir logits-over-context)
expect_error "logits --decode with n_positions + 1 tokens" \
    'context overflow: 16 tokens already in the context plus 1 new exceed n_positions = 16' "$o" \
    "$GPT2C" logits --lib "$TINY_LIB" --model "$TINY" --tokens "$seventeen" --decode --out "$o/l.npy"
o=$(out_dir generate-full)
expect_error "generate: n_positions prompt tokens and -n 1" 'exceed the context of 16 positions' "$o" \
    "$GPT2C" generate --lib "$TINY_LIB" --model "$TINY" --tokens "$sixteen" -n 1 --greedy
expect_ok "generate: n_positions-1 prompt tokens and -n 1" \
    "$GPT2C" generate --lib "$TINY_LIB" --model "$TINY" --tokens "$(seq -s, 1 15)" -n 1 --greedy
o=$(out_dir logits-id-2e31)
expect_error "logits: token id 2^31" "'2147483648' is not a token id" "$o" \
    "$GPT2C" logits --lib "$TINY_LIB" --model "$TINY" --tokens 2147483648 --out "$o/l.npy"
expect_error "logits: token id 2^31-1" 'token id 2147483647 at position 1 is out of range: the vocabulary has 300 tokens' "$o" \
    "$GPT2C" logits --lib "$TINY_LIB" --model "$TINY" --tokens 1,2147483647 --out "$o/l.npy"
expect_error "logits: trailing comma" "--tokens: '' is not a token id" "$o" \
    "$GPT2C" logits --lib "$TINY_LIB" --model "$TINY" --tokens 1,2, --out "$o/l.npy"
expect_error "logits: hex token id" "--tokens: '0x10' is not a token id" "$o" \
    "$GPT2C" logits --lib "$TINY_LIB" --model "$TINY" --tokens 0x10 --out "$o/l.npy"

# generation_config.json beside the model: deep nesting and wrong types are errors naming the key.
G=$WORK/genconf
mkdir -p "$G"
for f in config.json model.safetensors vocab.json merges.txt; do ln -sf "$TINY/$f" "$G/$f"; done
printf '{"do_sample": %s}' "$DEEP_ARRAY" > "$G/generation_config.json"
expect_error "run: generation_config.json nested 100000 deep" 'genconf/generation_config\.json: JSON nested deeper than 256 levels at byte [0-9]+' "" \
    "$GPT2C" run --lib "$TINY_LIB" --model "$G" --prompt "the"
# genconf_error NAME REGEX JSON: `gpt2c run` with JSON as generation_config.json fails naming it.
genconf_error() {
    printf '%s' "$3" > "$G/generation_config.json"
    expect_error "run: $1" "$2" "" "$GPT2C" run --lib "$TINY_LIB" --model "$G" --prompt "the"
}
genconf_error "generation_config.json with 1e400" 'genconf/generation_config\.json: not valid JSON.*1e400' '{"max_new_tokens": 1e400}'
genconf_error "max_new_tokens 2.5" 'generation_config\.json: key "max_new_tokens" must be an integer' '{"max_new_tokens": 2.5}'
genconf_error "eos_token_id [1e400]" 'generation_config\.json: not valid JSON' '{"eos_token_id": [1e400]}'
genconf_error "eos_token_id = tokenizer vocab size" 'generation_config\.json: key "eos_token_id" must be a token id in 0\.\.263, got 264' '{"eos_token_id": 264}'
genconf_error "eos_token_id 2^64-1" 'generation_config\.json: key "eos_token_id" must be a token id' '{"eos_token_id": 18446744073709551615}'

# ================================================================== no partial output

# Output directory is a file.
: > "$WORK/a-file"
expect_error "compile: output directory is a regular file" 'a-file/lib\.so' "" \
    "$GPT2C" compile "$M1" -o "$WORK/a-file/lib.so" -O0
check "compile: the file standing in for a directory is untouched" test ! -s "$WORK/a-file"
# Output path is an existing directory.
o=$(out_dir compile-onto-dir)
mkdir -p "$o/lib.so"
expect_error "compile: -o names an existing directory" 'lib\.so' "" "$GPT2C" compile "$M1" -o "$o/lib.so" -O0
check "compile onto a directory leaves only that directory" test "$(ls -A "$o")" = "lib.so" -a -z "$(ls -A "$o/lib.so")"
o=$(out_dir compile-proc)
expect_error "compile: output in /proc (cannot create files)" '/proc/' "" "$GPT2C" compile "$M1" -o /proc/gpt2c-hostile.so -O0
if [[ $(id -u) -ne 0 ]]; then
    o=$(out_dir compile-readonly)
    chmod 555 "$o"
    expect_error "compile: unwritable output directory" 'compile-readonly/lib\.so' "$o" "$GPT2C" compile "$M1" -o "$o/lib.so" -O0
    chmod 755 "$o"
fi
# Linker failures: nothing is left behind (no LIB.so/.h/.json, no .o, no link log, no temporaries).
o=$(out_dir compile-cc-false)
expect_error "compile: linker fails (GPT2C_CC=/bin/false)" "linking .*lib\.so.* with '/bin/false' failed" "$o" \
    env GPT2C_CC=/bin/false "$GPT2C" compile "$M1" -o "$o/lib.so" -O0
o=$(out_dir compile-cc-missing)
expect_error "compile: linker driver missing" "cannot run the linker '/no/such/cc' \(set GPT2C_CC to a C compiler\)" "$o" \
    env GPT2C_CC=/no/such/cc "$GPT2C" compile "$M1" -o "$o/lib.so" -O0
o=$(out_dir compile-lld-missing)
expect_error "compile for aarch64: lld missing" "cannot run the linker '/no/such/lld' \(set GPT2C_LLD to LLVM's ld\.lld\)" "$o" \
    env GPT2C_LLD=/no/such/lld "$GPT2C" compile "$M1" -o "$o/lib.so" -O0 --target=aarch64-linux-gnu
# Targets gpt2c has no kernels for, and a CPU that cannot be the host's.
o=$(out_dir compile-riscv)
expect_error "compile: --target=riscv64" "--target=riscv64-linux-gnu: gpt2c compiles for 64-bit x86 and ARM Linux" "$o" \
    "$GPT2C" compile "$M1" -o "$o/lib.so" --target=riscv64-linux-gnu
o=$(out_dir compile-aarch64-native)
expect_error "compile: --target=aarch64 --target-cpu=native" "--target-cpu=native: this machine is x86_64, the target aarch64" \
    "$o" "$GPT2C" compile "$M1" -o "$o/lib.so" --target=aarch64-linux-gnu --target-cpu=native
o=$(out_dir compile-aarch64-x86cpu)
expect_error "compile: --target=aarch64 --target-cpu=haswell" "--target-cpu=haswell: not a CPU LLVM knows for aarch64" \
    "$o" "$GPT2C" compile "$M1" -o "$o/lib.so" --target=aarch64-linux-gnu --target-cpu=haswell
# A library for another architecture is refused before dlopen, naming both.
o=$(out_dir aarch64-lib)
if expect_ok "compile m1 for aarch64" "$GPT2C" compile "$M1" -o "$o/arm.so" --target=aarch64-linux-gnu; then
    lib_error "an aarch64 library on x86_64" \
        "arm\.so: cannot load the compiled library: it was compiled for aarch64, but this runtime runs on x86_64" "$o/arm.so"
fi
o=$(out_dir compile-cc-true)
expect_error "compile: linker succeeds without writing the library (GPT2C_CC=/bin/true)" 'lib\.so' "$o" \
    env GPT2C_CC=/bin/true "$GPT2C" compile "$M1" -o "$o/lib.so" -O0
cat > "$WORK/half-linker.sh" << 'EOF'
#!/bin/sh
# Writes half an output, then fails: like a linker killed by the disk filling up.
while [ $# -gt 0 ]; do [ "$1" = -o ] && { printf '\177ELF' > "$2"; }; shift; done
exit 1
EOF
chmod +x "$WORK/half-linker.sh"
o=$(out_dir compile-cc-half)
expect_error "compile: linker writes half a library, then fails" 'linking .*failed' "$o" \
    env GPT2C_CC="$WORK/half-linker.sh" "$GPT2C" compile "$M1" -o "$o/lib.so" -O0
# A failed recompile keeps the previous LIB.so, LIB.h and LIB.json as they were (all three, unchanged).
o=$(out_dir compile-keep-old)
expect_ok "compile: a first, good library" "$GPT2C" compile "$M1" -o "$o/lib.so" -O0
sums=$(cd "$o" && md5sum lib.so lib.h lib.json)
expect_error "compile: a failing recompile (linker writes nothing)" 'lib\.so' "" \
    env GPT2C_CC=/bin/true "$GPT2C" compile "$M1" -o "$o/lib.so" -O0
check "compile: the failed recompile left lib.so, lib.h and lib.json unchanged and nothing else" \
    test "$(cd "$o" && md5sum lib.so lib.h lib.json 2> /dev/null)" = "$sums" -a "$(ls -A "$o" | wc -l)" = 3
expect_error "compile: a failing recompile (linker fails)" 'linking' "" \
    env GPT2C_CC=/bin/false "$GPT2C" compile "$M1" -o "$o/lib.so" -O0
check "compile: the failed link left lib.so, lib.h and lib.json unchanged and nothing else" \
    test "$(cd "$o" && md5sum lib.so lib.h lib.json 2> /dev/null)" = "$sums" -a "$(ls -A "$o" | wc -l)" = 3

# logits --out: a failing run leaves no .npy and no temporary file.
o=$(out_dir logits-out-dir)
mkdir -p "$o/l.npy"
expect_error "logits: --out names a directory" 'l\.npy' "" \
    "$GPT2C" logits --lib "$TINY_LIB" --model "$TINY" --tokens 1,2 --out "$o/l.npy"
check "logits: --out onto a directory leaves no temporary file" test "$(ls -A "$o")" = "l.npy"
expect_error "logits: --out in a missing directory" 'no/such/dir/l\.npy' "" \
    "$GPT2C" logits --lib "$TINY_LIB" --model "$TINY" --tokens 1,2 --out "$WORK/no/such/dir/l.npy"
check "logits: nothing created for a missing directory" test ! -e "$WORK/no"
o=$(out_dir logits-keep-old)
printf 'old' > "$o/l.npy"
expect_error "logits: a failing run keeps the old .npy" 'token id 300' "" \
    "$GPT2C" logits --lib "$TINY_LIB" --model "$TINY" --tokens 1,300 --out "$o/l.npy"
check "logits: the old .npy is unchanged and alone" test "$(cat "$o/l.npy")" = old -a "$(ls -A "$o")" = "l.npy"

# ================================================================== summary

finish_checks
