#!/usr/bin/env bash
# HTTP benchmark: profile lookups by phone with wrk, then a soak mixing lookups and SQL.
#
#   benches/http/run.sh LAKE [SOAK_SECONDS]
#
# LAKE is a resolved lake (marque gen → ingest → resolve). Uses target/release/marque (or
# $MARQUE_BIN), wrk (apt-get install -y wrk) and curl. Prints req/s, latency percentiles, errors
# and the server's RSS over the soak.
set -euo pipefail
LAKE=${1:?usage: run.sh LAKE [SOAK_SECONDS]}
SOAK=${2:-600}
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
echo "server ready in $(echo "$(date +%s.%N) - $started" | bc) s: $(curl -s http://127.0.0.1:$PORT/readyz | head -c 300)"
rss() { awk '/VmRSS/ {printf "%d", $2/1024}' /proc/$SERVER/status; }
echo "server RSS after index build: $(rss) MB"

curl -sf "http://127.0.0.1:$PORT/v1/sql?format=csv" -H "Authorization: Bearer $ADMIN" \
  -d '{"sql":"SELECT phone FROM customers WHERE phone LIKE '\''+861%'\'' ORDER BY customer_id LIMIT 100000"}' \
  | tail -n +2 > "$WORK/phones.txt"
echo "phones for the lookups: $(wc -l < "$WORK/phones.txt")"

export MARQUE_BENCH_TOKEN=$SERVICE MARQUE_BENCH_PHONES="$WORK/phones.txt"
echo "== wrk warm-up 5 s"
wrk -t2 -c32 -d5s -s "$HERE/lookup.lua" "http://127.0.0.1:$PORT" >/dev/null
for c in 16 64; do
  echo "== wrk lookups by phone: 2 threads, $c connections, 30 s"
  wrk -t2 -c$c -d30s --latency -s "$HERE/lookup.lua" "http://127.0.0.1:$PORT"
done
echo "server RSS after the lookups: $(rss) MB"

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
  if [ "$now" -ge "$next_rss" ]; then echo "t=$((SOAK - (end - now)))s rss=$(rss)MB"; next_rss=$((now + SOAK / 10)); fi
  sleep 0.5
done
wait $WRK
cat "$WORK/soak-wrk.txt"
echo "soak SQL: $sql_ok ok, $sql_bad failed; server RSS at the end: $(rss) MB"
grep -iE "panic|error" "$WORK/server.log" | head -5 || true
