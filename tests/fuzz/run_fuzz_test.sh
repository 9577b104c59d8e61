#!/usr/bin/env bash
# tests/fuzz/run_fuzz_test.sh FUZZER SEED_CORPUS REGRESSIONS WORK_DIR SECONDS
#
# The ctest of one libFuzzer target:
#   1. replays every file in REGRESSIONS (inputs that once crashed; libFuzzer
#      runs each file given as an argument once and stops at the first failure);
#   2. copies SEED_CORPUS to WORK_DIR/corpus (the source tree is never written)
#      and fuzzes it for SECONDS seconds ($GPT2C_FUZZ_SECONDS overrides it),
#      with the dictionary tests/fuzz/dict/<target>.dict when there is one.
# A crash, sanitizer report, leak, timeout (-timeout=30 s per input) or
# RSS over 2048 MB fails the test; the input is saved under WORK_DIR/artifacts/.
set -euo pipefail

if [[ $# -ne 5 ]]; then
    echo "usage: $0 FUZZER SEED_CORPUS REGRESSIONS WORK_DIR SECONDS" >&2
    exit 2
fi
FUZZER=$1
SEEDS=$2
REGRESSIONS=$3
WORK=$4
SECONDS_TO_FUZZ=${GPT2C_FUZZ_SECONDS:-$5}
NAME=$(basename "$FUZZER")
DICT=$(cd "$(dirname "$0")" && pwd)/dict/$NAME.dict

rm -rf "$WORK"
mkdir -p "$WORK/corpus" "$WORK/artifacts"
COMMON=(-rss_limit_mb=2048 -timeout=30 -artifact_prefix="$WORK/artifacts/")
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

mapfile -t regressions < <(find "$REGRESSIONS" -type f ! -name '.*' ! -name 'README*' 2>/dev/null | sort)
if [[ ${#regressions[@]} -gt 0 ]]; then
    echo "== $NAME: replaying ${#regressions[@]} regression input(s) from $REGRESSIONS"
    "$FUZZER" "${COMMON[@]}" "${regressions[@]}" > "$WORK/regressions.log" 2>&1 || {
        cat "$WORK/regressions.log"
        echo "run_fuzz_test: FAIL: $NAME fails on a regression input (see above)" >&2
        exit 1
    }
fi

cp -R "$SEEDS/." "$WORK/corpus/"
args=("${COMMON[@]}" -max_total_time="$SECONDS_TO_FUZZ" -print_final_stats=1)
[[ -f "$DICT" ]] && args+=(-dict="$DICT")
echo "== $NAME: fuzzing for $SECONDS_TO_FUZZ s from $(find "$WORK/corpus" -type f | wc -l) seed(s)"
set +e
"$FUZZER" "${args[@]}" "$WORK/corpus" > "$WORK/fuzz.log" 2>&1
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
    tail -n 120 "$WORK/fuzz.log"
    echo "run_fuzz_test: FAIL: $NAME exited with status $rc; the input is in $WORK/artifacts/:" >&2
    ls -l "$WORK/artifacts" >&2
    echo "reproduce with: $FUZZER $WORK/artifacts/<file>; then fix it and add the file to $REGRESSIONS" >&2
    exit 1
fi
grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)' "$WORK/fuzz.log" || true
echo "run_fuzz_test: PASS: $NAME"
