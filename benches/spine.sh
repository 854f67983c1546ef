#!/usr/bin/env bash
# Times the spine through the release `marque` binary on one synthetic dataset: gen, ingest,
# resolve and eval, each with wall time and peak memory, then prints the eval report.
#   benches/spine.sh [PERSONS (default 1000000)] [WORKDIR (default /tmp/marque-bench-PERSONS)]
# Not run by CI: it needs a release build and, at 1M persons, about 3 GB of disk.
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${1:-1000000}
work=${2:-/tmp/marque-bench-$persons}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/marque-target}"
cargo build --release --bin marque >&2
bin="$CARGO_TARGET_DIR/release/marque"
rm -rf "$work" && mkdir -p "$work"

step() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/$name.time" "$bin" --lake "$work/lake" "$@" >"$work/$name.out"
  read -r wall kb <"$work/$name.time"
  printf '%-8s %8.1f s wall  %7d MB peak\n' "$name" "$wall" $((kb / 1024))
}

echo "marque spine on $persons persons ($(nproc) cores), $(date -u +%Y-%m-%dT%H:%MZ)"
step gen gen --persons "$persons" --seed 42 --out "$work/src"
step ingest ingest --input "$work/src"
step resolve resolve
step eval eval --truth "$work/src"
echo
cat "$work/resolve.out" "$work/eval.out"
