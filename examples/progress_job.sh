#!/bin/sh
#  progress_job.sh - an example command for zjob-worker
#
#  Reads the job's inputs, a JSON object, on stdin:
#      {"steps": 5, "sleep_ms": 100, "fail": false, "fail_attempts": 0}
#  (every key optional; these are the defaults), works through the steps,
#  reporting progress after each on descriptor 3 as zjob-worker reads it
#  ("FRACTION MESSAGE" lines), and prints its outputs as a JSON object:
#      {"steps_done": 5, "job_id": "...", "workflow": "...", "attempt": 1}
#  With "fail": true it writes an error on stderr and exits with status 3,
#  which fails the job (kind "exit", the stderr text as the message): the
#  broker retries it until its attempts are used up. With "fail_attempts":
#  N it fails its first N attempts only (a flaky job: $ZJOB_ATTEMPT, set by
#  zjob-worker, counts them), so a later attempt completes.
#
#  Try it with a broker running:
#      zjob-worker --workflow demo -- examples/progress_job.sh &
#      zjob submit demo --input '{"steps": 3}' --json
#  or by hand, without a worker (progress then goes to stderr):
#      echo '{"steps": 2, "sleep_ms": 10}' | examples/progress_job.sh
#
#  A real job would read its inputs with jq; this example keeps to POSIX
#  sh and sed, so it reads only flat keys with number or boolean values.
set -eu

input=$(cat)

#  The value of a top-level number or boolean key, or $2 if absent
field () {
    value=$(printf '%s' "$input" | tr -d '\n' |
            sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*\([0-9a-z.]*\).*/\1/p')
    printf '%s' "${value:-$2}"
}

steps=$(field steps 5)
sleep_ms=$(field sleep_ms 100)
fail=$(field fail false)
fail_attempts=$(field fail_attempts 0)
case "$steps$sleep_ms$fail_attempts" in
    *[!0-9]*)
        echo "progress_job: steps, sleep_ms and fail_attempts must be whole numbers" >&2
        exit 2 ;;
esac

#  Progress goes to fd 3 under zjob-worker, else to stderr
progress () {
    if [ -n "${ZJOB_PROGRESS_FD:-}" ]; then
        echo "$1" >&3
    else
        echo "progress: $1" >&2
    fi
}

step=0
while [ "$step" -lt "$steps" ]; do
    sleep "$((sleep_ms / 1000)).$(printf '%03d' $((sleep_ms % 1000)))"
    step=$((step + 1))
    #  FRACTION as a decimal, from integers: step / steps
    progress "$((step / steps)).$(printf '%02d' $((step * 100 / steps % 100))) step $step of $steps"
done

if [ "$fail" = true ]; then
    echo "progress_job: failing after step $step of $steps, as asked" >&2
    exit 3
fi
if [ "${ZJOB_ATTEMPT:-1}" -le "$fail_attempts" ]; then
    echo "progress_job: attempt ${ZJOB_ATTEMPT:-1} of the $fail_attempts set to fail" >&2
    exit 3
fi
printf '{"steps_done": %d, "job_id": "%s", "workflow": "%s", "attempt": %d}\n' \
    "$step" "${ZJOB_JOB_ID:-}" "${ZJOB_WORKFLOW:-}" "${ZJOB_ATTEMPT:-0}"
