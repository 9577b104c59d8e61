# tests/cli/harness.sh - the shared checks of the CLI test scripts (sourced, not run).
#
# The sourcing script sets WORK (its scratch directory, the current directory) first.
# expect_error / expect_ok / check count and report each case; finish_checks prints the
# summary and exits non-zero when any check failed. Commands read stdin from $STDIN
# (default /dev/null), and any sanitizer report on stderr fails the case, so the same
# scripts check the ASan+UBSan build (scripts/test-sanitizers.sh).

failures=0
checks=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

show_output() {
    sed 's/^/    | /' "$WORK/stderr.txt" | head -20
}

# A fresh empty directory for one case's outputs; prints its path.
out_dir() {
    local dir=$WORK/out/$1
    rm -rf "$dir" && mkdir -p "$dir"
    echo "$dir"
}

SANITIZER_REPORT='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|Sanitizer:DEADLYSIGNAL'

# expect_error NAME REGEX OUTDIR COMMAND... : COMMAND (stdin from $STDIN, default /dev/null) exits with
# status 1, its "gpt2c: error:" line matches REGEX (grep -E), it prints nothing on stdout and no
# sanitizer report, and OUTDIR (when not empty) is left empty.
expect_error() {
    local name=$1 regex=$2 outdir=$3
    shift 3
    checks=$((checks + 1))
    "$@" < "${STDIN:-/dev/null}" > "$WORK/stdout.txt" 2> "$WORK/stderr.txt"
    local rc=$?
    local ok=1
    if [[ $rc -ne 1 ]]; then
        fail "$name: exit status $rc, expected 1$( ((rc > 128)) && echo " (signal $((rc - 128)))")"
        ok=0
    elif ! grep -q '^gpt2c: error: ' "$WORK/stderr.txt"; then
        fail "$name: no 'gpt2c: error:' line on stderr"
        ok=0
    elif ! grep -a '^gpt2c: error: ' "$WORK/stderr.txt" | LC_ALL=C grep -aEq -- "$regex"; then
        fail "$name: the error does not match /$regex/"
        ok=0
    fi
    if grep -aEq "$SANITIZER_REPORT" "$WORK/stderr.txt"; then
        fail "$name: sanitizer report on stderr"
        ok=0
    fi
    if [[ -s $WORK/stdout.txt ]]; then
        fail "$name: printed on stdout: $(head -c 200 "$WORK/stdout.txt")"
        ok=0
    fi
    if [[ -n $outdir ]] && [[ -n $(ls -A "$outdir") ]]; then
        fail "$name: left files behind in $outdir: $(ls -A "$outdir" | tr '\n' ' ')"
        ok=0
    fi
    if [[ $ok -eq 1 ]]; then
        echo "ok: $name"
        # VERBOSE=1 shows every message, to read them all at once.
        [[ -z ${VERBOSE:-} ]] || grep -a '^gpt2c: error: ' "$WORK/stderr.txt" | head -c 400 | sed 's/^/    /'
    else
        echo "  command: ${*:0:12}"
        show_output
    fi
}

# expect_ok NAME COMMAND... : COMMAND (stdin from $STDIN) succeeds without a sanitizer report;
# its stdout is left in $WORK/stdout.txt and stderr in $WORK/stderr.txt.
expect_ok() {
    local name=$1
    shift
    checks=$((checks + 1))
    "$@" < "${STDIN:-/dev/null}" > "$WORK/stdout.txt" 2> "$WORK/stderr.txt"
    local rc=$?
    if [[ $rc -eq 0 ]] && ! grep -aEq "$SANITIZER_REPORT" "$WORK/stderr.txt"; then
        echo "ok: $name"
        return 0
    fi
    fail "$name: exit status $rc$(grep -aEq "$SANITIZER_REPORT" "$WORK/stderr.txt" && echo ", sanitizer report")"
    echo "  command: ${*:0:12}"
    show_output
    return 1
}

# check NAME CONDITION... : a plain assertion (runs CONDITION as a command).
check() {
    local name=$1
    shift
    checks=$((checks + 1))
    if "$@"; then
        echo "ok: $name"
    else
        fail "$name"
    fi
}

# finish_checks: the summary line; exit status 1 when any check failed.
finish_checks() {
    echo
    if [[ $failures -ne 0 ]]; then
        echo "$failures of $checks checks failed"
        exit 1
    fi
    echo "all $checks checks passed"
}
