#!/usr/bin/env bash
# tests/cli/runtime_only_test.sh - gpt2c-run, the runtime-only CLI: no LLVM, no compiler, and the
# same results as gpt2c for every runtime command on the compiled tiny-shakespeare model.
#
# usage: runtime_only_test.sh GPT2C_BIN GPT2C_RUN_BIN RUNTIME_LIB SOURCE_DIR WORK_DIR
set -uo pipefail

if [[ $# -ne 5 ]]; then
    echo "usage: $0 GPT2C_BIN GPT2C_RUN_BIN RUNTIME_LIB SOURCE_DIR WORK_DIR" >&2
    exit 2
fi
GPT2C=$(realpath "$1")
RUN=$(realpath "$2")
RUNTIME_LIB=$(realpath "$3")
SRC=$(realpath "$4")
WORK=$5
MODEL=$SRC/examples/tiny-shakespeare

rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
WORK=$(pwd)

source "$SRC/tests/cli/harness.sh"

# ------------------------------------------------------------------ what gpt2c-run links and offers

no_llvm() {  # FILE: no NEEDED entry names LLVM (or clang)
    ! readelf -d "$1" | grep NEEDED | grep -iqE 'llvm|clang'
}
check "gpt2c-run needs no LLVM library" no_llvm "$RUN"
check "libgpt2c_runtime needs no LLVM library" no_llvm "$RUNTIME_LIB"

for command in compile opt; do
    checks=$((checks + 1))
    "$RUN" "$command" "$MODEL" -o "$WORK/refused.so" < /dev/null > "$WORK/stdout.txt" 2> "$WORK/stderr.txt"
    rc=$?
    if [[ $rc -eq 0 ]]; then
        fail "gpt2c-run $command: exit status 0, expected a refusal"
    elif ! grep -q "^gpt2c-run: '$command' is not available: .*gpt2c, the compiler" "$WORK/stderr.txt"; then
        fail "gpt2c-run $command: no clear refusal on stderr"
        show_output
    elif [[ -s $WORK/stdout.txt || -e $WORK/refused.so ]]; then
        fail "gpt2c-run $command: printed on stdout or wrote a library"
    else
        echo "ok: gpt2c-run $command is refused (exit status $rc)"
    fi
done

expect_ok "gpt2c-run --help" "$RUN" --help
listed=$(sed -n '/^commands:/,$ s/^  \([a-z-]*\) .*/\1/p' "$WORK/stdout.txt" | tr '\n' ' ')
# serve is there when the build found cpp-httplib (always, with the set-up's packages).
check "gpt2c-run --help lists exactly the runtime commands ('$listed')" \
    test "$listed" = "logits generate run tokenize detokenize bench pack-weights serve "
check "gpt2c-run --help names gpt2c-run" grep -q '^usage: gpt2c-run <command>' "$WORK/stdout.txt"

# ------------------------------------------------------------------ same results as gpt2c

# same_output NAME ARGS... : gpt2c ARGS and gpt2c-run ARGS (stdin from $STDIN) exit with the same
# status and print the same bytes on stdout. An argument "{out}" stands for a file each program
# writes (gpt2c.out / gpt2c-run.out), compared too. With SAME_STDERR=1 their stderr must also be
# the same, but for the program's name (for messages; run's statistics hold timings).
same_output() {
    local name=$1
    shift
    checks=$((checks + 1))
    local prog status=()
    for prog in gpt2c gpt2c-run; do
        local bin=$GPT2C
        [[ $prog == gpt2c-run ]] && bin=$RUN
        rm -f "$WORK/$prog.out"
        "$bin" "${@//\{out\}/$WORK/$prog.out}" < "${STDIN:-/dev/null}" > "$WORK/$prog.stdout" 2> "$WORK/$prog.stderr"
        status+=($?)
        sed -i "s/gpt2c-run/gpt2c/g" "$WORK/$prog.stderr"
    done
    if [[ ${status[0]} -ne ${status[1]} ]]; then
        fail "$name: gpt2c exited ${status[0]}, gpt2c-run ${status[1]}"
        sed 's/^/    | /' "$WORK/gpt2c-run.stderr" | head -10
    elif ! cmp -s "$WORK/gpt2c.stdout" "$WORK/gpt2c-run.stdout"; then
        fail "$name: stdout differs: '$(head -c 200 "$WORK/gpt2c.stdout")' vs '$(head -c 200 "$WORK/gpt2c-run.stdout")'"
    elif [[ -e $WORK/gpt2c.out || -e $WORK/gpt2c-run.out ]] && ! cmp -s "$WORK/gpt2c.out" "$WORK/gpt2c-run.out"; then
        fail "$name: the written files differ"
    elif [[ ${SAME_STDERR:-} == 1 ]] && ! cmp -s "$WORK/gpt2c.stderr" "$WORK/gpt2c-run.stderr"; then
        fail "$name: stderr differs: '$(head -c 200 "$WORK/gpt2c.stderr")' vs '$(head -c 200 "$WORK/gpt2c-run.stderr")'"
    else
        echo "ok: $name (exit status ${status[0]})"
    fi
}

LIB=$WORK/ts.so
expect_ok "gpt2c compile tiny-shakespeare" "$GPT2C" compile "$MODEL" -o "$LIB"

printf 'ROMEO: Hello, world! Привет 🦄\n' > "$WORK/text.txt"
STDIN=$WORK/text.txt same_output "tokenize" tokenize --model "$MODEL"
printf 'a<|endoftext|>b' > "$WORK/special.txt"
STDIN=$WORK/special.txt same_output "tokenize --allow-special" tokenize --model "$MODEL" --allow-special
"$GPT2C" tokenize --model "$MODEL" < "$WORK/text.txt" > "$WORK/ids.json"
STDIN=$WORK/ids.json same_output "detokenize" detokenize --model "$MODEL"

same_output "run --greedy" run --lib "$LIB" --model "$MODEL" --prompt "ROMEO:" -n 24 --greedy
same_output "run, seeded sampling" run --lib "$LIB" --model "$MODEL" --prompt "ROMEO:" -n 24 --threads 1 \
    --seed 7 --temperature 0.8 --top-k 40
same_output "generate --greedy" generate --lib "$LIB" --model "$MODEL" --tokens 49,2662,46,25 -n 8 --greedy
same_output "logits" logits --lib "$LIB" --model "$MODEL" --tokens 49,2662,46,25 --out "{out}"
same_output "logits --decode" logits --lib "$LIB" --model "$MODEL" --tokens 49,2662,46,25 --decode --out "{out}"
expect_ok "gpt2c-run bench" "$RUN" bench --lib "$LIB" --model "$MODEL" --prompt-tokens 8 --gen 2 --repeats 1 --json
check "gpt2c-run bench prints its JSON" grep -q '"decode_ms_per_token"' "$WORK/stdout.txt"

# Packed weights (LIB.weights): written by gpt2c-run pack-weights, then used by both programs,
# with the same text as from the checkpoint.
"$RUN" run --lib "$LIB" --model "$MODEL" --prompt "ROMEO:" -n 24 --greedy > "$WORK/from-checkpoint.txt" 2> /dev/null
expect_ok "gpt2c-run pack-weights" "$RUN" pack-weights --lib "$LIB" --model "$MODEL"
check "pack-weights wrote ts.weights beside the library" test -s "$WORK/ts.weights"
same_output "run --greedy from packed weights" run --lib "$LIB" --model "$MODEL" --prompt "ROMEO:" -n 24 --greedy
check "packed weights give the checkpoint's text" cmp -s "$WORK/gpt2c-run.stdout" "$WORK/from-checkpoint.txt"
expect_ok "gpt2c-run bench with packed weights" "$RUN" bench --lib "$LIB" --model "$MODEL" --prompt-tokens 8 --gen 2 \
    --repeats 1 --json
check "bench says the weights came from ts.weights" grep -q '"weights_source":"packed weights [^"]*/ts.weights"' \
    "$WORK/stdout.txt"
expect_ok "gpt2c compile --pack-weights" "$GPT2C" compile "$MODEL" -o "$WORK/ts2.so" --pack-weights
check "compile --pack-weights wrote ts2.weights" test -s "$WORK/ts2.weights"
check "the same library packs the same bytes" cmp -s "$WORK/ts.weights" "$WORK/ts2.weights"
"$GPT2C" compile "$MODEL" -o "$WORK/ts2.so" -O2 2> /dev/null  # ts2.weights is now stale
expect_ok "run with a stale pack" "$RUN" run --lib "$WORK/ts2.so" --model "$MODEL" --prompt "ROMEO:" -n 4 --greedy
check "a stale pack is noted on stderr, with how to refresh it" \
    grep -q "note: loaded the checkpoint .*ts2.weights was packed by another build.*pack-weights --lib" "$WORK/stderr.txt"
printf 'garbage' | dd of="$WORK/ts.weights" bs=1 seek=5000 conv=notrunc status=none
expect_error "run with damaged packed weights" "ts.weights: the data is damaged" "" \
    "$GPT2C" run --lib "$LIB" --model "$MODEL" --prompt "ROMEO:" -n 4 --greedy
rm -f "$WORK/ts.weights"

# The same errors, through the same option parser and commands.
printf '[1, 50257]' > "$WORK/bad-ids.json"
STDIN=$WORK/bad-ids.json SAME_STDERR=1 same_output "detokenize: id out of range" detokenize --model "$MODEL"
SAME_STDERR=1 same_output "tokenize: unknown option" tokenize --model "$MODEL" --bogus
SAME_STDERR=1 same_output "generate: missing --greedy" generate --lib "$LIB" --model "$MODEL" --tokens 1
SAME_STDERR=1 same_output "run: missing library" run --lib "$WORK/missing.so" --model "$MODEL" --prompt x
same_output "unknown command" frobnicate  # usage on stderr: each lists its own commands

finish_checks
