#!/usr/bin/env bash
#  demo.sh - zjob's main job, as `make demo` runs it
#
#  Starts a broker on its embedded default store (a journal with
#  fsync=always in a temporary directory), two zjob-workers that run
#  examples/progress_job.sh for each job, and then, with the zjob CLI:
#  submits jobs of mixed priorities, pauses and resumes one while it runs,
#  cancels one, lets one fail on every attempt and one fail once (retried
#  with backoff), follows one's progress live, and shows the results, the
#  attempt history and the broker's figures. Last, workflows: a third worker
#  serves 'fetch', 'merge' and 'report' (a small script written to the
#  temporary directory); two fetch jobs and a merge job that depends on
#  both (it waits, then gets their outputs in ZJOB_PARENT_OUTPUTS), and a
#  batch of fetches whose callback job runs once all have finished.
#  Everything it starts is stopped at the end, also on Ctrl-C or an error.
#
#  Usage: examples/demo.sh [BUILD_DIR]      (default: build)
#  The broker listens on ports the kernel picks, so a zjobd already running
#  on the default ports is left alone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${1:-$here/../build}" && pwd)
for program in zjobd zjob zjob-worker; do
    [ -x "$bin/$program" ] || { echo "demo: $bin/$program is missing; run 'make build'" >&2; exit 1; }
done
zjob () { "$bin/zjob" "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/zjob-demo-XXXXXX")
pids=()
stop_all () {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$status" -ne 0 ]; then
        echo "demo: failed (exit $status); the broker's log:" >&2
        tail -20 "$work/zjobd.log" >&2 || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then bold=$'\e[1m'; dim=$'\e[2m'; plain=$'\e[0m'; else bold= dim= plain=; fi
step () { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show () { printf '%s$ zjob %s%s\n' "$dim" "$*" "$plain"; zjob "$@"; }

#  Poll a shell condition every 50 ms until it holds, or fail after $1 s
wait_for () {
    local seconds=$1; shift
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "demo: timed out waiting for: $*" >&2; return 1; }
        sleep 0.05
    done
}

step "A broker: zjobd on its default store, file:$work/data (fsync=always)"
"$bin/zjobd" --data-dir "$work/data" --log-level warning \
    --clients 'tcp://127.0.0.1:*' --workers 'tcp://127.0.0.1:*' --events 'tcp://127.0.0.1:*' \
    --http 127.0.0.1:0 > "$work/zjobd.out" 2> "$work/zjobd.log" &
pids+=($!)
wait_for 10 grep -q '^zjobd ready' "$work/zjobd.out"
read -r _ _ clients workers events http < "$work/zjobd.out"
export ZJOB_BROKER=${clients#clients=} ZJOB_EVENTS=${events#events=} ZJOB_WORKER_BROKER=${workers#workers=}
http=${http#http=}
echo "clients at $ZJOB_BROKER, workers at $ZJOB_WORKER_BROKER, events at $ZJOB_EVENTS"
echo "the dashboard at http://$http/ (while the demo runs), Prometheus metrics at http://$http/metrics"

step "Two workers: zjob-worker runs examples/progress_job.sh once per 'render' job"
for name in worker-a worker-b; do
    "$bin/zjob-worker" --workflow render --slots 1 --name "$name" --grace 2 \
        -- "$here/progress_job.sh" 2> "$work/$name.log" &
    pids+=($!)
done
workers_ready () { [ "$(zjob workers --json | grep -c '"name"')" -ge 2 ]; }
wait_for 10 workers_ready
show workers

step "Jobs of mixed priorities; two workers, so most of them wait their turn"
long=$(zjob submit render --input '{"steps": 6, "sleep_ms": 250}' --priority low --tag demo)
pauser=$(zjob submit render --input '{"steps": 40, "sleep_ms": 200}' --priority medium --tag demo)
low=$(zjob submit render --input '{"steps": 3, "sleep_ms": 150}' --priority low --tag demo)
doomed=$(zjob submit render --input '{"steps": 2, "sleep_ms": 100, "fail": true}' --priority high --tag demo \
         --max-attempts 2 --backoff-base 300ms --jitter none)
flaky=$(zjob submit render --input '{"steps": 2, "sleep_ms": 100, "fail_attempts": 1}' --tag demo \
        --backoff-base 300ms --jitter none)
victim=$(zjob submit render --input '{"steps": 100, "sleep_ms": 200}' --priority medium --tag demo)
urgent=$(zjob submit render --input '{"steps": 4, "sleep_ms": 150}' --priority critical --tag demo --user ops)
echo "submitted 7 jobs; the critical and high ones are served before the others still queued"
echo "(one fails every attempt and goes dead after 2; a flaky one fails once, then completes)"
show list --tag demo --sort created

step "Pause a running job: its process is stopped (SIGSTOP), then resumed (SIGCONT)"
is_running () { [[ $(zjob status "$pauser") == running* ]]; }
wait_for 20 is_running
show pause "$pauser"
show status "$pauser"
sleep 1      # a visible pause: its progress does not move meanwhile
show status "$pauser"
show resume "$pauser"

step "Cancel a job: it is stopped wherever it is"
show cancel "$victim"
show status "$victim"

step "Follow one job's progress as its events arrive"
show watch "$urgent" --timeout 30 || true

step "Wait for the rest"
for id in "$long" "$pauser" "$low" "$doomed" "$flaky"; do
    zjob wait "$id" --timeout 60 > /dev/null || true
done
show list --tag demo --sort priority --desc

step "Results: outputs of a completed job, the error of a failed one"
show result "$urgent"
show result "$doomed" || true
show get "$pauser"

step "When jobs fail: each attempt's error is kept; dead jobs can be run again"
show get "$flaky"
show list --dead --tag demo
show get "$doomed"

step "The broker's figures"
show stats
printf '%s$ zjob metrics | grep ...%s\n' "$dim" "$plain"
zjob metrics | grep -E '^zjob_jobs_(completed|failed|retried)_total|^zjob_job_run_seconds_count'
printf '%s$ curl -s http://%s/readyz%s\n' "$dim" "$http" "$plain"
curl -s "http://$http/readyz"; echo

step "Workflows: a worker for 'fetch', 'merge' and 'report' jobs"
#  fetch pretends to download for 0.4 s; merge prints its parents' outputs,
#  which zjob-worker gives it as ZJOB_PARENT_OUTPUTS ({parent id: outputs});
#  report is the batch's callback: its inputs carry the batch's counts
cat > "$work/flow_job.sh" <<'SCRIPT'
#!/bin/sh
input=$(cat)
case "$ZJOB_WORKFLOW" in
    fetch) sleep 0.4; printf '{"rows": 42, "input": %s}\n' "$input" ;;
    merge) printf '{"merged": %s}\n' "${ZJOB_PARENT_OUTPUTS:-null}" ;;
    *) printf '{"report": %s}\n' "$input" ;;
esac
SCRIPT
chmod +x "$work/flow_job.sh"
"$bin/zjob-worker" --workflow fetch --workflow merge --workflow report --slots 3 \
    --name worker-flow --grace 2 -- "$work/flow_job.sh" 2> "$work/worker-flow.log" &
pids+=($!)
flow_ready () { [ "$(zjob workers --json | grep -c '"name"')" -ge 3 ]; }
wait_for 10 flow_ready

step "Dependencies: a merge job waits for its two fetch jobs, then gets their outputs"
fetch_eu=$(zjob submit fetch --input region=eu --tag flow)
fetch_us=$(zjob submit fetch --input region=us --tag flow)
merge=$(zjob submit merge --depends-on "$fetch_eu,$fetch_us" --tag flow)
echo "fetch $fetch_eu, fetch $fetch_us; merge $merge --depends-on both"
show status "$merge"
zjob wait "$merge" --timeout 20 > /dev/null
show list --tag flow --sort created --asc
show result "$merge"

step "A batch with a callback: the 'report' job runs once every member has finished"
printf '{"inputs": {"part": %d}}\n' 1 2 3 |
    zjob submit fetch --batch - --batch-id demo-batch --callback report --callback-input kind=daily
zjob batch watch demo-batch --timeout 20 > /dev/null
callback_job () {
    callback=$(zjob batch show demo-batch --json | tr -d ' \n' |
               sed -n 's/.*"callback_job":"\([^"]*\)".*/\1/p')
    [ -n "$callback" ]
}
wait_for 10 callback_job
zjob wait "$callback" --timeout 20 > /dev/null
show batch show demo-batch
show result "$callback"

step "Done: stopping the workers and the broker"
