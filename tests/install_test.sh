#!/usr/bin/env bash
#  install_test.sh - libzjob as a user gets it: install the build into a
#  temporary prefix, then compile and link the C examples with nothing but
#  `pkg-config --cflags --libs libzjob`, and run one against the installed
#  shared library. Usage: tests/install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source=$(cd "${1:?usage: install_test.sh SOURCE_DIR BUILD_DIR}" && pwd)
build=$(cd "${2:?usage: install_test.sh SOURCE_DIR BUILD_DIR}" && pwd)
prefix=$(mktemp -d "${TMPDIR:-/tmp}/zjob-install-XXXXXX")
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" > /dev/null
for file in bin/zjobd bin/zjob bin/zjob-worker include/zjob/zjob_client.h include/zjob/zjob_worker.h; do
    [ -e "$prefix/$file" ] || { echo "install_test: $file was not installed" >&2; exit 1; }
done
pc=$(find "$prefix" -name libzjob.pc | head -1)
[ -n "$pc" ] || { echo "install_test: no libzjob.pc installed" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs libzjob)
for example in hello_client hello_worker; do
    # The sanitizer build's library needs the sanitizer runtimes too
    cc "$source/examples/$example.c" $flags ${ZJOB_EXTRA_LDFLAGS:-} -o "$prefix/$example"
done
libdir=$(pkg-config --variable=libdir libzjob)
#  (ldd's output whole first: grep -q would close the pipe early, and
#  pipefail would count ldd's SIGPIPE as a failure)
libraries=$(LD_LIBRARY_PATH=$libdir ldd "$prefix/hello_client")
grep -q "$libdir/libzjob.so" <<< "$libraries" \
    || { echo "install_test: hello_client does not use the installed libzjob:" >&2;
         echo "$libraries" >&2; exit 1; }
#  With no broker it must fail cleanly, saying so, within its timeout
if output=$(LD_LIBRARY_PATH=$libdir timeout 20 "$prefix/hello_client" Ada tcp://127.0.0.1:1 2>&1); then
    echo "install_test: hello_client succeeded without a broker" >&2; exit 1
fi
grep -q "did not answer" <<< "$output" || { echo "install_test: unexpected: $output" >&2; exit 1; }
echo "1 passed, 0 failed"
