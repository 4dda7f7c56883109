#!/usr/bin/env bash
#  install_test.sh - libzjob as a user gets it: install the build into a
#  temporary prefix, then compile and link the C examples with nothing but
#  `pkg-config --cflags --libs libzjob`, and run one against the installed
#  shared library. It also holds the library to its public API
#  (docs/ARCHITECTURE.md, "Public API and ABI"): only the public headers
#  are installed, each compiles on its own with no header of the source
#  tree, every function they mark ZJOB_EXPORT is exported, and nothing
#  else is. Usage: tests/install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source=$(cd "${1:?usage: install_test.sh SOURCE_DIR BUILD_DIR}" && pwd)
build=$(cd "${2:?usage: install_test.sh SOURCE_DIR BUILD_DIR}" && pwd)
prefix=$(mktemp -d "${TMPDIR:-/tmp}/zjob-install-XXXXXX")
trap 'rm -rf "$prefix"' EXIT
fail () { echo "install_test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" > /dev/null
for file in bin/zjobd bin/zjob bin/zjob-worker include/zjob/zjob_client.h include/zjob/zjob_worker.h; do
    [ -e "$prefix/$file" ] || fail "$file was not installed"
done
pc=$(find "$prefix" -name libzjob.pc | head -1)
[ -n "$pc" ] || fail "no libzjob.pc installed"
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs libzjob)
cflags=$(pkg-config --cflags libzjob)
libdir=$(pkg-config --variable=libdir libzjob)

#  The public headers, exactly
public="zjob_client.h zjob_connect.h zjob_error.h zjob_export.h zjob_id.h zjob_job.h zjob_json.h zjob_msg.h
        zjob_query.h zjob_version.h zjob_worker.h"
installed=$(cd "$prefix/include/zjob" && ls | sort | tr '\n' ' ')
expected=$(tr -s ' \n' '\n' <<< "$public" | grep . | sort | tr '\n' ' ')
[ "$installed" = "$expected" ] \
    || fail "installed headers are [$installed], the public ones [$expected]"
for internal in zjob_job_impl.h zjob_proto.h zjob_util.h zjob_msgpack.h zjob_runner.h; do
    [ ! -e "$prefix/include/zjob/$internal" ] || fail "internal header $internal was installed"
done
#  Each compiles alone, with only what pkg-config gives (-I of the
#  installed headers): an include of an uninstalled header fails here
for header in $public; do
    echo "#include <$header>" | cc -std=c11 -Wall -Werror -fsyntax-only $cflags -x c - \
        || fail "$header does not compile on its own with the installed headers"
done

#  Exports: what the installed headers declare ZJOB_EXPORT, no more, no less
declared=$(cat "$prefix"/include/zjob/*.h \
    | awk '/^ZJOB_EXPORT / { getline; if (match ($0, /zjob_[a-z0-9_]+/)) print substr ($0, RSTART, RLENGTH) }' \
    | sort -u)
exported=$(nm -D --defined-only "$libdir/libzjob.so" | awk '{ print $3 }' | grep -v '^_' | sort -u)
[ -n "$declared" ] || fail "no ZJOB_EXPORT declaration found in the installed headers"
extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
[ -z "$extra" ] || fail "exported but not public:" $extra
[ -z "$missing" ] || fail "public but not exported:" $missing
for symbol in zjob_packbuf_int zjob_msg_decode zjob_job_new zjob_crc32c zjob_runner_new; do
    ! grep -qx "$symbol" <<< "$exported" || fail "internal symbol $symbol is exported"
done
soname=$(objdump -p "$libdir/libzjob.so" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = "libzjob.so.3" ] || fail "SONAME is '$soname', docs/ARCHITECTURE.md says libzjob.so.3"

for example in hello_client hello_worker; do
    # The sanitizer build's library needs the sanitizer runtimes too
    cc -std=c11 -Wall -Werror "$source/examples/$example.c" $flags ${ZJOB_EXTRA_LDFLAGS:-} \
        -o "$prefix/$example"
done
#  (ldd's output whole first: grep -q would close the pipe early, and
#  pipefail would count ldd's SIGPIPE as a failure)
libraries=$(LD_LIBRARY_PATH=$libdir ldd "$prefix/hello_client")
grep -q "$libdir/libzjob.so" <<< "$libraries" \
    || fail "hello_client does not use the installed libzjob:" $'\n'"$libraries"
#  The version the program was compiled with is the one it runs with
cat > "$prefix/version.c" <<'PROGRAM'
#include <stdio.h>
#include <zjob_version.h>
int main (void)
{
    int major, minor, patch;
    int version = zjob_version (&major, &minor, &patch);
    printf ("%d.%d.%d\n", major, minor, patch);
    return version == ZJOB_VERSION
        && version == ZJOB_MAKE_VERSION (major, minor, patch)? 0: 1;
}
PROGRAM
cc -std=c11 "$prefix/version.c" $flags ${ZJOB_EXTRA_LDFLAGS:-} -o "$prefix/version"
version=$(LD_LIBRARY_PATH=$libdir "$prefix/version") || fail "zjob_version () disagrees with ZJOB_VERSION"
[ "$version" = "$(pkg-config --modversion libzjob)" ] \
    || fail "zjob_version () says $version, libzjob.pc $(pkg-config --modversion libzjob)"
#  With no broker it must fail cleanly, saying so, within its timeout (an
#  ipc endpoint of our own: on a shared machine a TCP port can be taken)
if output=$(LD_LIBRARY_PATH=$libdir timeout 20 "$prefix/hello_client" Ada "ipc://$prefix/no-broker" 2>&1); then
    fail "hello_client succeeded without a broker"
fi
grep -q "did not answer" <<< "$output" || fail "unexpected: $output"
echo "1 passed, 0 failed"
