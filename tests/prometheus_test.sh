#!/bin/bash
#  The broker's /metrics against the real thing (issue #13): Debian's
#  promtool must find nothing to say about the text of a broker that has
#  run jobs, and a real Prometheus server, scraping zjobd every second with
#  the admin token, must then answer a query for a zjob series.
#
#  usage: tests/prometheus_test.sh BUILD_DIR
#  Everything runs on 127.0.0.1 on ports the kernel picks (zjobd) or that
#  were free a moment before (Prometheus, which cannot report its own), in
#  a temporary directory; every process started is stopped on exit.

set -u
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
tmp=$(mktemp -d /tmp/zjob-prom.XXXXXX)
pids=()
cleanup () {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail () { echo "prometheus_test: FAIL: $*" >&2; exit 1; }

#  Wait up to $1 seconds for the command after it to succeed
wait_for () {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

command -v promtool >/dev/null && command -v prometheus >/dev/null \
    || fail "promtool and prometheus are needed (Debian's prometheus package: make deps-test)"

token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)
echo "$token" > "$tmp/token"
chmod 600 "$tmp/token"
"$build/zjobd" --store memory: --clients tcp://127.0.0.1:0 --workers tcp://127.0.0.1:0 \
    --events tcp://127.0.0.1:0 --http 127.0.0.1:0 --http-token "$tmp/token" \
    > "$tmp/ready" 2> "$tmp/zjobd.log" &
pids+=($!)
wait_for 20 grep -q '^zjobd ready' "$tmp/ready" || fail "zjobd did not start: $(cat "$tmp/zjobd.log")"
line=$(head -1 "$tmp/ready")
clients=$(sed -n 's/.* clients=\([^ ]*\).*/\1/p' <<< "$line")
workers=$(sed -n 's/.* workers=\([^ ]*\).*/\1/p' <<< "$line")
http=$(sed -n 's/.* http=\([^ ]*\).*/\1/p' <<< "$line")
[ -n "$http" ] || fail "no http= in the ready line: $line"

#  Jobs of two workflows through a real worker, one of them failing
"$build/zjob-worker" --broker "$workers" --workflow resize --workflow mail --slots 2 \
    -- sh -c 'case "$ZJOB_WORKFLOW" in mail) exit 3;; esac; echo "{}"' > "$tmp/worker.log" 2>&1 &
pids+=($!)
for n in 1 2 3; do
    "$build/zjob" --broker "$clients" submit resize --input '{"n": '$n'}' > /dev/null \
        || fail "submit"
done
"$build/zjob" --broker "$clients" submit mail --input '{}' --max-attempts 1 > /dev/null || fail "submit"
metric () {
    curl -sf -H "Authorization: Bearer $token" "http://$http/metrics" > "$tmp/metrics"
}
finished () {
    metric && grep -q '^zjob_jobs_completed_total{workflow="resize"} 3' "$tmp/metrics" \
        && grep -q '^zjob_jobs_failed_total{workflow="mail"} 1' "$tmp/metrics"
}
wait_for 30 finished || fail "the jobs did not finish in /metrics: $(grep -E 'zjob_jobs_(completed|failed)_total' "$tmp/metrics")"

#  The token is required
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$http/metrics")
[ "$code" = 401 ] || fail "/metrics without the token answered $code, not 401"

#  promtool's lint: nothing to say
lint=$(promtool check metrics < "$tmp/metrics" 2>&1) || fail "promtool check metrics failed: $lint"
[ -z "$lint" ] || fail "promtool check metrics found: $lint"
families=$(grep -c '^# TYPE' "$tmp/metrics")
echo "prometheus_test: promtool finds nothing in $families families ($(wc -c < "$tmp/metrics") bytes)"

#  A real Prometheus scraping every second, with the token
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: zjob
    authorization:
      credentials_file: $tmp/token
    static_configs:
      - targets: ['$http']
YML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$port" > "$tmp/prometheus.log" 2>&1 &
pids+=($!)
query () {
    curl -sf "http://127.0.0.1:$port/api/v1/query" \
        --data-urlencode 'query=zjob_jobs_completed_total{workflow="resize"}' > "$tmp/query" \
        && python3 - "$tmp/query" <<'PY'
import json, sys
reply = json.load (open (sys.argv [1]))
results = reply ["data"] ["result"]
sys.exit (0 if results and float (results [0] ["value"] [1]) == 3 else 1)
PY
}
wait_for 60 query || fail "Prometheus has no zjob series after 60 s: $(cat "$tmp/query" 2>/dev/null); $(tail -5 "$tmp/prometheus.log")"
up=$(curl -sf "http://127.0.0.1:$port/api/v1/query" --data-urlencode 'query=up{job="zjob"}')
grep -q '"1"\]' <<< "$up" || fail "the zjob target is not up: $up"
echo "prometheus_test: Prometheus scraped zjob: $(cat "$tmp/query")"
