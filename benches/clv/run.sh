#!/usr/bin/env bash
# CLV fit + scoring: Rust (marque-clv) against Python `lifetimes`, on the same simulated file.
#   benches/clv/run.sh [CUSTOMERS (default 1000000)] [SEED (default 42)] [WORKDIR]
# Simulates CUSTOMERS from BG/NBD (r 0.243, α 4.414, a 0.793, b 2.426) + Gamma-Gamma (p 6.25,
# q 3.74, γ 15.44), first purchases spread over 365 days, time unit weeks; writes the RFM summary
# CSV; then fits both models and scores every customer (expected transactions over 12 × 4.345
# weeks, P(alive), expected spend, CLV with 1%/month discounting) in each tool, printing wall
# time, peak memory and the fitted parameters. Not run by CI (release build, Python venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-1000000}
seed=${2:-42}
work=${3:-/tmp/marque-clv-bench-$n}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/marque-target}"
venv="$HOME/.cache/marque-tools/clv-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q lifetimes
fi
# CLV_BENCH_NO_BUILD=1 skips the build (the binary from a previous build is used).
if [ -z "${CLV_BENCH_NO_BUILD:-}" ]; then
  cargo build --release -p marque-clv --no-default-features --example clv_bench >&2
fi
bin="$CARGO_TARGET_DIR/release/examples/clv_bench"
mkdir -p "$work"
csv="$work/summary.csv"

timed() { # NAME CMD...: runs CMD, prints its output, then wall time and peak memory.
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" | tee "$work/$name.out"
  read -r wall kb <"$work/$name.time"
  printf '%-8s process wall %8.2f s   peak memory %6d MB\n' "$name" "$wall" $((kb / 1024))
}

echo "CLV benchmark: $n customers, seed $seed, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
"$bin" simulate "$n" "$seed" "$csv"
timed rust "$bin" fit-score "$csv" "$work/rust_scores.csv"
timed python "$venv/bin/python" benches/clv/lifetimes_bench.py "$csv"
r=$(sed -n 's/.*fit_and_score=\([0-9.]*\).*/\1/p' "$work/rust.out")
p=$(sed -n 's/.*fit_and_score=\([0-9.]*\).*/\1/p' "$work/python.out")
read -r rw _ <"$work/rust.time"
read -r pw _ <"$work/python.time"
awk -v r="$r" -v p="$p" -v rw="$rw" -v pw="$pw" 'BEGIN {
  printf "fit+score: rust %.3f s, lifetimes %.3f s, ratio %.1fx\n", r, p, p / r
  printf "whole process (incl. CSV read, start-up): rust %.2f s, lifetimes %.2f s, ratio %.1fx\n", rw, pw, pw / rw
}'
