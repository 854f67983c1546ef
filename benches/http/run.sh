#!/usr/bin/env bash
# HTTP benchmark: profile lookups by phone with wrk, then a soak mixing lookups and SQL.
#
#   benches/http/run.sh LAKE [SOAK_SECONDS] [DURATION_SECONDS]
#
# LAKE is a resolved lake (marque gen → ingest → resolve); the server writes its audit log
# into it, so use a copy of a shared lake. Uses $CARGO_TARGET_DIR/release/marque (or
# $MARQUE_BIN), wrk (apt-get install -y wrk) and curl. Prints the index build (time, size,
# server RSS), then for 16 and 64 connections req/s, latency percentiles, non-2xx answers and
# the mean answer size, then a soak of lookups and SQL with the server's RSS sampled over time.
# SOAK_SECONDS=0 skips the soak; DURATION_SECONDS (30) is the length of each lookup run.
# WRK_THREADS (2) is wrk's thread count for the lookup runs: wrk shares the server's cores, and
# with 1 thread it takes at most one of them (both figures are in benches/RESULTS.md).
# CONNS ("16 64"): connection counts; RUNS (1): lookup runs per connection count (the p99 of
# each is printed, then their median). QUIET_LOCK: a file held with flock(1) during each wrk run
# (on a shared machine, the lock others take for their timings). Each run also prints the
# machine's load average before/after, the share of lookups the server itself took more than
# 1 / 2.5 ms to answer (its /metrics histogram: handler time, no queueing) and the time the
# server's threads spent runnable but waiting for a CPU (/proc/PID/task/*/schedstat), per lookup
# — what separates the server's own latency from the scheduler's.
set -euo pipefail
LAKE=${1:?usage: run.sh LAKE [SOAK_SECONDS]}
SOAK=${2:-600}
DURATION=${3:-30}
WRK_THREADS=${WRK_THREADS:-2}
CONNS=${CONNS:-16 64}
RUNS=${RUNS:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${MARQUE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/marque-target}/release/marque}
PORT=${PORT:-18080}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }

SERVICE=bench-service-token
ADMIN=bench-admin-token
cat > "$WORK/marque.toml" <<TOML
[server]
addr = "127.0.0.1:$PORT"
refresh_interval_secs = 5
memory_limit_mb = ${MEMORY_LIMIT_MB:-4096}
[[server.tokens]]
name = "bench-service"
role = "service"
sha256 = "$(printf %s $SERVICE | sha256sum | cut -d' ' -f1)"
[[server.tokens]]
name = "bench-admin"
role = "admin"
sha256 = "$(printf %s $ADMIN | sha256sum | cut -d' ' -f1)"
TOML

MARQUE_CONFIG="$WORK/marque.toml" MARQUE_LOG=warn "$BIN" --lake "$LAKE" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
started=$(date +%s.%N)
until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do
  kill -0 $SERVER 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.2
done
echo "server ready in $(echo "$(date +%s.%N) - $started" | bc) s"
curl -s "http://127.0.0.1:$PORT/readyz" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("index: %s customers, %s mentions, %s keys, %.0f MB (%s), built in %.1f s" % (
    r["customers"], r["mentions"], r.get("keys"), r.get("index_bytes", 0) / 2**20,
    ", ".join("%s %.0f MB" % (k, v / 2**20) for k, v in r.get("index_parts", {}).items()),
    r.get("build_secs", 0)))
print("build phases: " + ", ".join("%s %.1f s" % (n, t) for n, t in r.get("build_phases", [])))
s = r.get("segments") or {}
if s: print("segments: %s, computed %s for as-of %s, from %s, %s unmatched member ids" % (
    s.get("state"), s.get("computed_at"), s.get("as_of_date"), s.get("computed_from"),
    s.get("unmatched_members")))
for w in r.get("warnings", []): print("warning: " + w)
' || curl -s "http://127.0.0.1:$PORT/readyz" | head -c 600
rss() { awk '/VmRSS/ {printf "%d", $2/1024}' /proc/$SERVER/status; }
# The server's CPU time (user + system) in clock ticks: divided by the requests of a run, the
# cost of one lookup, whatever else the machine is doing.
cpu_ticks() { awk '{print $14 + $15}' /proc/$SERVER/stat; }
TCK=$(getconf CLK_TCK)
echo "server RSS after index build: $(rss) MB (peak $(awk '/VmHWM/ {printf "%d", $2/1024}' /proc/$SERVER/status) MB)"

curl -sf "http://127.0.0.1:$PORT/v1/sql?format=csv" -H "Authorization: Bearer $ADMIN" \
  -d '{"sql":"SELECT phone FROM customers WHERE phone LIKE '\''+861%'\'' ORDER BY customer_id LIMIT 100000"}' \
  | tail -n +2 > "$WORK/phones.txt"
echo "phones for the lookups: $(wc -l < "$WORK/phones.txt")"

export MARQUE_BENCH_TOKEN=$SERVICE MARQUE_BENCH_PHONES="$WORK/phones.txt"
# Mean answer size and status of one pass over a sample (wrk reports only non-2xx counts).
head -n 200 "$WORK/phones.txt" | while read -r p; do
  curl -s -o /dev/null -w '%{http_code} %{size_download}\n' \
    -H "Authorization: Bearer $SERVICE" "http://127.0.0.1:$PORT/v1/profiles?phone=%2B${p#+}"
done | awk '{n++; b+=$2; if ($1 != 200) bad++} END {printf "answers: mean %.0f bytes over %d lookups, %d not 200\n", b/n, n, bad}'

echo "== wrk warm-up 5 s"
wrk -t2 -c32 -d5s -s "$HERE/lookup.lua" "http://127.0.0.1:$PORT" >/dev/null
echo "server RSS before the lookups: $(rss) MB"
# Server threads' time waiting in the run queue (ns), summed over its threads.
run_wait() { cat /proc/$SERVER/task/*/schedstat 2>/dev/null | awk '{w += $2} END {printf "%.0f", w}'; }
# Lookups answered 200 by the server in at most 1 ms, at most 2.5 ms, and in all (handler time).
handler_hist() {
  curl -s "http://127.0.0.1:$PORT/metrics" | awk '
    /^marque_http_request_duration_seconds_bucket\{route="\/v1\/profiles",method="GET",status="200",le="0.001"\}/ {a=$2}
    /^marque_http_request_duration_seconds_bucket\{route="\/v1\/profiles",method="GET",status="200",le="0.0025"\}/ {b=$2}
    /^marque_http_request_duration_seconds_count\{route="\/v1\/profiles",method="GET",status="200"\}/ {n=$2}
    END {printf "%d %d %d\n", a, b, n}'
}
p99s="$WORK/p99s.txt"
for c in $CONNS; do
  : > "$p99s"
  for run in $(seq 1 "$RUNS"); do
    echo "== wrk lookups by phone: $WRK_THREADS thread(s), $c connections, $DURATION s (run $run of $RUNS)"
    wrk_run() {
      echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
      read -r h1a h1b h1n < <(handler_hist) || true
      w0=$(run_wait)
      t0=$(cpu_ticks)
      wrk -t$WRK_THREADS -c$c -d${DURATION}s --latency -s "$HERE/lookup.lua" "http://127.0.0.1:$PORT" > "$WORK/wrk.txt"
      t1=$(cpu_ticks)
      w1=$(run_wait)
      read -r h2a h2b h2n < <(handler_hist) || true
      echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
      cat "$WORK/wrk.txt"
      n=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
      echo "server CPU: $(echo "($t1 - $t0) * 1000000 / $TCK / $n" | bc) us per lookup; server threads waiting for a CPU: $(echo "($w1 - $w0) / 1000 / $n" | bc -l | xargs printf '%.1f') us per lookup"
      hn=$((h2n - h1n))
      if [ "$hn" -gt 0 ]; then
        echo "server handler time: $(echo "($hn - ($h2a - $h1a)) * 100 / $hn" | bc -l | xargs printf '%.3f')% of lookups over 1 ms, $(echo "($hn - ($h2b - $h1b)) * 100 / $hn" | bc -l | xargs printf '%.3f')% over 2.5 ms"
      fi
    }
    if [ -n "${QUIET_LOCK:-}" ]; then
      export -f wrk_run handler_hist run_wait cpu_ticks
      export SERVER PORT WORK HERE WRK_THREADS DURATION TCK c
      flock "$QUIET_LOCK" bash -c wrk_run
    else
      wrk_run
    fi
    awk '/^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' "$WORK/wrk.txt" >> "$p99s"
  done
  if [ "$RUNS" -gt 1 ]; then
    echo "p99 at $c connections over $RUNS runs (ms): $(tr '\n' ' ' < "$p99s")-> median $(sort -g "$p99s" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  fi
done
echo "server RSS after the lookups: $(rss) MB"
[ "$SOAK" -gt 0 ] || exit 0

echo "== soak: $SOAK s of lookups (wrk, 16 connections) and SQL (one query every 0.5 s)"
wrk -t1 -c16 -d${SOAK}s --latency -s "$HERE/lookup.lua" "http://127.0.0.1:$PORT" > "$WORK/soak-wrk.txt" &
WRK=$!
queries=(
  'SELECT city, count(*) AS n FROM customers GROUP BY city ORDER BY n DESC LIMIT 10'
  'SELECT source, count(*) AS n FROM customer_map GROUP BY source'
  'SELECT customer_id, name, phone FROM customers ORDER BY mention_count DESC LIMIT 100'
  'SELECT count(*) AS n FROM mentions WHERE vin IS NOT NULL'
)
sql_ok=0; sql_bad=0; i=0
end=$(( $(date +%s) + SOAK ))
next_rss=0
while [ "$(date +%s)" -lt "$end" ]; do
  q=${queries[$((i % ${#queries[@]}))]}; i=$((i+1))
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/sql" \
    -H "Authorization: Bearer $ADMIN" -d "{\"sql\":\"$q\"}" || echo 000)
  if [ "$code" = 200 ]; then sql_ok=$((sql_ok+1)); else sql_bad=$((sql_bad+1)); echo "sql $code: $q"; fi
  now=$(date +%s)
  if [ "$now" -ge "$next_rss" ]; then echo "t=$((SOAK - (end - now)))s rss=$(rss)MB"; next_rss=$((now + (SOAK + 9) / 10)); fi
  sleep 0.5
done
wait $WRK
echo "t=${SOAK}s rss=$(rss)MB"
cat "$WORK/soak-wrk.txt"
echo "soak SQL: $sql_ok ok, $sql_bad failed; server RSS at the end: $(rss) MB"
grep -iE "panic|error" "$WORK/server.log" | head -5 || true
