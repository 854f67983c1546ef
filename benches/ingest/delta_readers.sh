#!/usr/bin/env bash
# Reproduces the check that Delta tables written by Marque open unchanged in other engines:
# ingests a small generated dataset (plus an optimize, so tables have several versions and
# removed files), then reads every table with Polars (`pl.read_delta`, through the deltalake
# Python package) and with DuckDB's delta extension, comparing row counts with Marque's own.
#   benches/ingest/delta_readers.sh [MARQUE_BIN (default target/debug/marque)]
# DuckDB's delta extension is downloaded by DuckDB at first use; offline it cannot be, and the
# script says so instead of failing.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/marque-target}"
bin=${1:-$CARGO_TARGET_DIR/debug/marque}
venv="$HOME/.cache/marque-tools/polars-venv"
if ! "$venv/bin/python" -c 'import polars, deltalake, duckdb' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q polars deltalake duckdb
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" gen --persons 2000 --seed 3 --out "$work/src" >/dev/null
"$bin" --lake "$work/lake" ingest --quiet --input "$work/src" >/dev/null
"$bin" --lake "$work/lake" ingest --quiet --input "$work/src" >/dev/null
"$bin" --lake "$work/lake" lake optimize >/dev/null
status=0
for t in raw_sales raw_service_orders raw_leads raw_app_events quarantine ingest_batches; do
  want=$("$bin" --lake "$work/lake" sql "SELECT count(*) AS n FROM $t" | grep -Eo '[0-9]+' | tail -1)
  got=$("$venv/bin/python" -c "import polars as pl, sys; print(pl.read_delta(sys.argv[1]).height)" "$work/lake/$t")
  duck=$("$venv/bin/python" - "$work/lake/$t" <<'PY' 2>/dev/null || echo "unavailable (extension not downloadable)"
import duckdb, sys
print(duckdb.connect().execute(f"SELECT count(*) FROM delta_scan('{sys.argv[1]}')").fetchone()[0])
PY
)
  printf '%-20s marque %8s  polars %8s  duckdb %s\n' "$t" "$want" "$got" "$duck"
  [ "$want" = "$got" ] || status=1
done
exit $status
