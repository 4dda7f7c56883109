#!/usr/bin/env bash
#  lint.sh - cppcheck over every source file the build compiles (`make
#  lint`). It reads BUILD_DIR/compile_commands.json, so it checks each file
#  with the include paths and definitions it is built with, and exits 1 on
#  any finding. Checks: warning, performance and portability (errors are
#  always on); cppcheck's "style" class is left out, a matter of taste
#  that the code review covers. Each suppression is in tests/cppcheck.supp
#  with its reason; Criterion's and jansson's macros are described to
#  cppcheck by tests/cppcheck_criterion.cfg and tests/cppcheck_jansson.cfg.
#  Usage: tests/lint.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source=$(cd "${1:?usage: lint.sh SOURCE_DIR BUILD_DIR}" && pwd)
build=$(cd "${2:?usage: lint.sh SOURCE_DIR BUILD_DIR}" && pwd)
[ -f "$build/compile_commands.json" ] \
    || { echo "lint: no $build/compile_commands.json (configure the build first)" >&2; exit 2; }
cd "$source"
#  No --cppcheck-build-dir: its cache kept a finding hidden after the
#  file it was in changed (the whole run takes under a minute without it).
#  Paths relative to the source tree, so that the suppressions match.
#  Any line cppcheck prints (--quiet: findings only) is a finding: 2.10
#  does not count those of its whole-program pass (ctunullpointer...) in
#  its exit code.
status=0
findings=$(cppcheck --project="$build/compile_commands.json" \
    --library="$source/tests/cppcheck_criterion.cfg" \
    --library="$source/tests/cppcheck_jansson.cfg" \
    --suppressions-list="$source/tests/cppcheck.supp" --inline-suppr \
    --enable=warning,performance,portability --std=c11 \
    --relative-paths="$source" -j "${JOBS:-2}" --quiet --error-exitcode=1 \
    --template='{file}:{line}: {severity} ({id}): {message}' 2>&1) || status=$?
if [ -n "$findings" ] || [ "$status" != 0 ]; then
    [ -z "$findings" ] || echo "$findings"
    echo "lint: cppcheck found the above (exit status $status)" >&2
    exit 1
fi
echo "lint: cppcheck found nothing"
