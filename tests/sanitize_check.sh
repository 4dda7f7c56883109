#!/usr/bin/env bash
# Runs ctest in a sanitizer build and fails if any sanitizer wrote a report.
#
# Criterion runs each test in a forked worker and takes the result from it
# before the worker exits, so a sanitizer report written at exit (a leak)
# would pass unseen with default options. Here every sanitizer aborts on
# its first report (the test then fails as crashed), and every report goes
# to a log file that this script prints, failing the run if any exists.
set -uo pipefail
build=$(cd "${1:?usage: sanitize_check.sh BUILD_DIR [ctest args]}" && pwd)
shift
logs="$build/sanitizer-logs"
rm -rf "$logs" && mkdir -p "$logs"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp"
(cd "$build" && ctest --output-on-failure "$@")
status=$?
reports=$(find "$logs" -type f -size +0 | sort)
if [ -n "$reports" ]; then
    echo "sanitizer reports:"
    for report in $reports; do
        echo "== $report"
        head -60 "$report"
    done
    echo "0 passed, 1 failed: sanitizer reports found"
    exit 1
fi
exit $status
