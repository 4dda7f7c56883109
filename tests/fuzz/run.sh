#!/usr/bin/env bash
#  run.sh - run each fuzz harness for a while (`make fuzz`, `make fuzz-short`)
#
#  Usage: tests/fuzz/run.sh BUILD_DIR SECONDS NAME...
#  Each harness BUILD_DIR/fuzz_NAME runs for SECONDS on its working corpus,
#  BUILD_DIR/corpus/NAME: the repository's seeds (tests/fuzz/corpus/NAME)
#  copied in, plus what earlier runs found, so the committed corpus is
#  never written to. A crash, leak, UB report or timeout stops the harness
#  and fails the run; libFuzzer writes the input that caused it to
#  BUILD_DIR/artifacts/NAME-crash-<sha1> (or leak-, timeout-, oom-), and
#  the log's end is printed. The executions of each harness are printed
#  from libFuzzer's final stats. Options for every harness may be added in
#  FUZZ_ARGS (-jobs, -max_len...).
set -uo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR SECONDS NAME...}" && pwd)
seconds=${2:?usage: run.sh BUILD_DIR SECONDS NAME...}
shift 2
source=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/artifacts" "$build/fuzz-logs"
#  Leaks are checked (libFuzzer's -detect_leaks, on by default); UB stops
#  the run (the libraries are built with -fno-sanitize-recover)
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for name in "$@"; do
    corpus="$build/corpus/$name"
    mkdir -p "$corpus"
    cp -r "$source/corpus/$name/." "$corpus/"
    dict=()
    [ -f "$source/$name.dict" ] && dict=(-dict="$source/$name.dict")
    log="$build/fuzz-logs/$name.log"
    #  -timeout: an input that takes over 10 s is a hang; -max_len: the
    #  largest seed (a journal) with room to grow
    "$build/fuzz_$name" "$corpus" "${dict[@]}" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$name-" ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1)
    if [ "$rc" != 0 ]; then
        echo "fuzz_$name: FAILED (exit $rc) after ${execs:-?} executions; log $log:"
        grep -av '^#' "$log" | tail -40
        status=1
    else
        echo "fuzz_$name: ${execs:-?} executions in ${seconds} s, ${cov:-cov: ?}," \
             "corpus $(ls "$corpus" | wc -l) inputs"
    fi
done
exit $status
