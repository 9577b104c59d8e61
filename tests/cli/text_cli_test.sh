# tests/cli/text_cli_test.sh - end-to-end checks of `gpt2c run`, `tokenize` and `detokenize` on tiny-shakespeare.
# usage: text_cli_test.sh GPT2C_BIN SOURCE_DIR WORK_DIR
set -euo pipefail

GPT2C=$1
SRC=$2
WORK=$3
MODEL="$SRC/examples/tiny-shakespeare"
LIB="$WORK/ts.so"
FAILURES=0

rm -rf "$WORK"
mkdir -p "$WORK"

fail() {
    echo "FAIL: $*" >&2
    FAILURES=$((FAILURES + 1))
}

# expect_error NAME PATTERN CMD...: the command exits non-zero and stderr matches PATTERN (grep -E).
expect_error() {
    local name=$1 pattern=$2
    shift 2
    if "$@" >"$WORK/err.out" 2>"$WORK/err.txt"; then
        fail "$name: exited 0, expected an error"
    elif ! grep -qE -- "$pattern" "$WORK/err.txt"; then
        fail "$name: stderr does not match '$pattern': $(cat "$WORK/err.txt")"
    fi
}

# JSON helpers (python3 stdlib only).
json_field() {  # FILE INDEX KEY -> the field as one-line JSON
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[int(sys.argv[2])][sys.argv[3]]))' "$@"
}
json_text() {  # FILE INDEX KEY -> the string field, raw
    python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))[int(sys.argv[2])][sys.argv[3]])' "$@"
}

"$GPT2C" compile "$MODEL" -o "$LIB" >/dev/null

# --- tokenize / detokenize --------------------------------------------------
got=$(printf 'Hello world' | "$GPT2C" tokenize --model "$MODEL")
[[ $got == "[15496,995]" ]] || fail "tokenize 'Hello world': got $got, expected [15496,995]"

got=$(printf '<|endoftext|>' | "$GPT2C" tokenize --model "$MODEL" --allow-special)
[[ $got == "[50256]" ]] || fail "tokenize --allow-special: got $got, expected [50256]"
got=$(printf '<|endoftext|>' | "$GPT2C" tokenize --model "$MODEL")
[[ $got != "[50256]" ]] || fail "tokenize without --allow-special produced the special token"

got=$(printf '' | "$GPT2C" tokenize --model "$MODEL")
[[ $got == "[]" ]] || fail "tokenize of empty input: got $got, expected []"

# Round trip, byte for byte, including a trailing newline (nothing may be added or dropped).
printf 'Hello, world! Привет, мир. 你好，世界。 مرحبا 🦄🤖 naïve café — ½\n\tend\n' >"$WORK/multi.txt"
"$GPT2C" tokenize --model "$MODEL" <"$WORK/multi.txt" >"$WORK/multi.json"
"$GPT2C" detokenize --model "$MODEL" <"$WORK/multi.json" >"$WORK/multi.out"
cmp -s "$WORK/multi.txt" "$WORK/multi.out" || fail "detokenize(tokenize(text)) differs from the text"
[[ $(wc -l <"$WORK/multi.json") == 1 ]] || fail "tokenize output is not one line"

# Bytes of a partial character come out exactly, with no newline added.
printf '[12520]' | "$GPT2C" detokenize --model "$MODEL" >"$WORK/partial.out"
printf ' \xF0\x9F' | cmp -s - "$WORK/partial.out" || fail "detokenize [12520] is not ' \\xF0\\x9F' exactly"

expect_error "detokenize object" "array" sh -c "printf '{\"a\": 1}' | \"\$0\" detokenize --model \"\$1\"" "$GPT2C" "$MODEL"
expect_error "detokenize not JSON" "JSON" sh -c "printf 'hello' | \"\$0\" detokenize --model \"\$1\"" "$GPT2C" "$MODEL"
expect_error "detokenize float" "integer" sh -c "printf '[1, 2.5]' | \"\$0\" detokenize --model \"\$1\"" "$GPT2C" "$MODEL"
expect_error "detokenize string" "integer" sh -c "printf '[\"1\"]' | \"\$0\" detokenize --model \"\$1\"" "$GPT2C" "$MODEL"
expect_error "detokenize too large" "50257.*out of range" \
    sh -c "printf '[1, 50257]' | \"\$0\" detokenize --model \"\$1\"" "$GPT2C" "$MODEL"
expect_error "detokenize negative" "-1.*out of range" sh -c "printf '[-1]' | \"\$0\" detokenize --model \"\$1\"" "$GPT2C" "$MODEL"
expect_error "detokenize huge" "out of range" \
    sh -c "printf '[18446744073709551615]' | \"\$0\" detokenize --model \"\$1\"" "$GPT2C" "$MODEL"

# --- run: greedy continuation equals the reference ----------------------------
REF="$MODEL/reference_continuations.json"
[[ $(json_text "$REF" 0 prompt) == "ROMEO:" ]] || fail "reference entry 0 is not the ROMEO: prompt"
want_prompt_ids=$(json_field "$REF" 0 prompt_ids | tr -d ' ')
got=$(printf 'ROMEO:' | "$GPT2C" tokenize --model "$MODEL")
[[ $got == "$want_prompt_ids" ]] || fail "tokenize 'ROMEO:': got $got, expected $want_prompt_ids"

json_field "$REF" 0 ids | "$GPT2C" detokenize --model "$MODEL" >"$WORK/expected.txt"
"$GPT2C" run --lib "$LIB" --model "$MODEL" --greedy -n 48 --prompt "ROMEO:" >"$WORK/greedy.txt" 2>"$WORK/greedy.err"
cmp -s "$WORK/expected.txt" "$WORK/greedy.txt" ||
    fail "run --greedy -n 48 differs from the reference: got '$(cat "$WORK/greedy.txt")'"
grep -qE "prompt 3 tokens.*generated 48 tokens.*tok/s.*ms/token" "$WORK/greedy.err" ||
    fail "run statistics missing on stderr: $(cat "$WORK/greedy.err")"

# Greedy is the default here: generation_config.json has no do_sample. The prompt may come from stdin or a file.
printf 'ROMEO:' | "$GPT2C" run --lib "$LIB" --model "$MODEL" -n 48 >"$WORK/stdin.txt" 2>/dev/null
cmp -s "$WORK/expected.txt" "$WORK/stdin.txt" || fail "run with the prompt on stdin (default greedy) differs"
printf 'ROMEO:' >"$WORK/prompt.txt"
"$GPT2C" run --lib "$LIB" --model "$MODEL" -n 48 --prompt-file "$WORK/prompt.txt" >"$WORK/file.txt" 2>/dev/null
cmp -s "$WORK/expected.txt" "$WORK/file.txt" || fail "run --prompt-file differs"
"$GPT2C" run --lib "$LIB" --model "$MODEL" -n 48 --prompt "ROMEO:" --temperature 0 >"$WORK/t0.txt" 2>/dev/null
cmp -s "$WORK/expected.txt" "$WORK/t0.txt" || fail "run --temperature 0 is not greedy"

# --- run: seeded sampling reproduces ---------------------------------------------
sample() {
    "$GPT2C" run --lib "$LIB" --model "$MODEL" -n 40 --prompt "ROMEO:" --threads 1 "$@" 2>/dev/null
}
a=$(sample --seed 7 --temperature 0.8 --top-k 40)
b=$(sample --seed 7 --temperature 0.8 --top-k 40)
[[ -n $a ]] || fail "sampled run produced no text"
[[ $a == "$b" ]] || fail "two runs with --seed 7 differ"
a=$(sample --seed 3 --top-p 0.9 --repetition-penalty 1.3)
b=$(sample --seed 3 --top-p 0.9 --repetition-penalty 1.3)
[[ $a == "$b" ]] || fail "two runs with --seed 3 --top-p 0.9 differ"

# --- generation_config.json: defaults from the file, options override -------------
CFG="$WORK/model-cfg"
mkdir -p "$CFG"
for f in config.json model.safetensors vocab.json merges.txt; do ln -s "$MODEL/$f" "$CFG/$f"; done
printf '{"eos_token_id": 50256, "max_new_tokens": 5}\n' >"$CFG/generation_config.json"
"$GPT2C" run --lib "$LIB" --model "$CFG" --prompt "ROMEO:" >/dev/null 2>"$WORK/cfg.err"
grep -q "generated 5 tokens" "$WORK/cfg.err" || fail "max_new_tokens from generation_config.json: $(cat "$WORK/cfg.err")"
"$GPT2C" run --lib "$LIB" --model "$CFG" --prompt "ROMEO:" -n 7 >/dev/null 2>"$WORK/cfg.err"
grep -q "generated 7 tokens" "$WORK/cfg.err" || fail "-n does not override max_new_tokens: $(cat "$WORK/cfg.err")"
printf '{"max_length": 10}\n' >"$CFG/generation_config.json"
"$GPT2C" run --lib "$LIB" --model "$CFG" --prompt "ROMEO:" >/dev/null 2>"$WORK/cfg.err"
grep -q "generated 7 tokens" "$WORK/cfg.err" || fail "max_length counts the prompt: $(cat "$WORK/cfg.err")"
printf '{"do_sample": true, "top_k": 1}\n' >"$CFG/generation_config.json"
"$GPT2C" run --lib "$LIB" --model "$CFG" --prompt "ROMEO:" -n 48 --seed 5 >"$WORK/cfg.txt" 2>/dev/null
cmp -s "$WORK/expected.txt" "$WORK/cfg.txt" || fail "do_sample with top_k 1 is not greedy"
printf '{"top_p": 0}\n' >"$CFG/generation_config.json"
expect_error "generation_config top_p 0" "generation_config.json.*top_p" \
    "$GPT2C" run --lib "$LIB" --model "$CFG" --prompt "ROMEO:"
printf '{"do_sample": "yes"}\n' >"$CFG/generation_config.json"
expect_error "generation_config do_sample" "do_sample" "$GPT2C" run --lib "$LIB" --model "$CFG" --prompt "ROMEO:"

# --- run: errors -----------------------------------------------------------------------
long=$(for i in $(seq 300); do printf 'hello '; done)
expect_error "prompt longer than the context" "prompt has [0-9]+ tokens but the model's context is 256 positions" \
    "$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt "$long"
exact="hello"$(for i in $(seq 255); do printf ' hello'; done)
n_exact=$(printf '%s' "$exact" | "$GPT2C" tokenize --model "$MODEL" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[[ $n_exact == 256 ]] || fail "the exact-fit prompt has $n_exact tokens, expected 256"
expect_error "prompt filling the context" "no room to generate" "$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt "$exact"
expect_error "--top-p 0" "top-p" "$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt "ROMEO:" --top-p 0
expect_error "--top-p 1.5" "top-p" "$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt "ROMEO:" --top-p 1.5
expect_error "--top-k -1" "top-k" "$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt "ROMEO:" --top-k -1
expect_error "--repetition-penalty 0.5" "repetition-penalty" \
    "$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt "ROMEO:" --repetition-penalty 0.5
expect_error "--temperature nan" "temperature" "$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt "ROMEO:" --temperature nan
expect_error "--prompt and --prompt-file" "prompt-file" \
    "$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt "x" --prompt-file "$WORK/prompt.txt"
expect_error "missing prompt file" "nonexistent" \
    "$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt-file "$WORK/nonexistent.txt"
expect_error "missing --lib" "--lib" "$GPT2C" run --model "$MODEL" --prompt "x"

"$GPT2C" run --help | grep -q "U+FFFD" || fail "run --help does not document the U+FFFD policy"

if ((FAILURES > 0)); then
    echo "$FAILURES check(s) failed" >&2
    exit 1
fi
echo "text_cli: all checks passed"
