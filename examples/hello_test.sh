#!/usr/bin/env bash
#  hello_test.sh - runs the C examples as a user would: a broker, the
#  hello_worker example serving "hello", and the hello_client example
#  submitting a job and printing the greeting. `make test` runs it, so the
#  examples cannot rot. Usage: examples/hello_test.sh BUILD_DIR
set -euo pipefail
bin=$(cd "${1:?usage: hello_test.sh BUILD_DIR}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/zjob-hello-XXXXXX")
pids=()
stop_all () {
    local status=$?
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ "$status" -eq 0 ] || { echo "--- zjobd log"; cat "$work/zjobd.log"; echo "--- worker log"; cat "$work/worker.log"; } >&2
    rm -rf "$work"
    exit "$status"
}
trap stop_all EXIT

"$bin/zjobd" --store memory: --log-level warning \
    --clients 'tcp://127.0.0.1:*' --workers 'tcp://127.0.0.1:*' --events 'tcp://127.0.0.1:*' \
    > "$work/zjobd.out" 2> "$work/zjobd.log" &
pids+=($!)
deadline=$((SECONDS + 10))
until grep -q '^zjobd ready' "$work/zjobd.out"; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "hello_test: zjobd did not start" >&2; exit 1; }
    sleep 0.05
done
read -r _ _ clients workers events < "$work/zjobd.out"

"$bin/hello_worker" "${workers#workers=}" 2> "$work/worker.log" &
pids+=($!)
output=$(timeout 30 "$bin/hello_client" Ada "${clients#clients=}" "${events#events=}")
echo "$output"
grep -q 'Hello, Ada!' <<< "$output" || { echo "hello_test: no greeting in the client's output" >&2; exit 1; }
grep -q 'attempt 1 on hello-worker' <<< "$output" || { echo "hello_test: no job record in the client's output" >&2; exit 1; }
echo "1 passed, 0 failed"
