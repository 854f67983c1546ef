#!/usr/bin/env bash
# SQL analytics benchmark: the queries of sql/bench on marque (DataFusion) and DuckDB, on the
# same Parquet files of the same lake, in the same run. Prints per-query medians and ratios.
#
#   benches/sql/run.sh LAKE [RUNS]
#
# MARQUE: the marque binary to time (default: /work/bench-bin/marque, else target/release/marque).
# DUCKDB_VENV: a Python venv with duckdb (created with pip when missing).
# Build a lake first, e.g.:
#   marque gen --persons 200000 --out SRC && marque --lake LAKE ingest --input SRC \
#     && marque --lake LAKE resolve
set -euo pipefail
LAKE=$(cd "${1:?usage: benches/sql/run.sh LAKE [RUNS]}" && pwd)
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MARQUE=${MARQUE:-/work/bench-bin/marque}
[ -x "$MARQUE" ] || MARQUE=$ROOT/target/release/marque
VENV=${DUCKDB_VENV:-$HOME/.cache/marque-tools/duckdb-venv}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q duckdb
fi
# One directory with the views and the segments (a marque built before segments existed reads
# views only), and an empty customer_clv when the lake has none (newer engines stand one in).
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/sql/views"
cp "$ROOT"/sql/views/*.sql "$ROOT"/sql/segments/*.sql "$WORK/sql/views/"
if [ ! -d "$LAKE/customer_clv/_delta_log" ]; then
  cat > "$WORK/sql/views/customer_clv.sql" <<'SQL'
SELECT CAST(NULL AS VARCHAR) AS customer_id, CAST(NULL AS DOUBLE) AS frequency,
  CAST(NULL AS DOUBLE) AS recency, CAST(NULL AS DOUBLE) AS t,
  CAST(NULL AS DOUBLE) AS monetary_value, CAST(NULL AS DOUBLE) AS expected_transactions,
  CAST(NULL AS DOUBLE) AS p_alive, CAST(NULL AS DOUBLE) AS expected_spend,
  CAST(NULL AS DOUBLE) AS clv WHERE false
SQL
fi
echo "lake $LAKE; marque $MARQUE; duckdb $("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)'); $(nproc) cores; $RUNS runs per query"
MARQUE_LOG=error "$VENV/bin/python" "$ROOT/benches/sql/run.py" "$MARQUE" "$LAKE" "$WORK/sql/views" "$ROOT/sql/bench" "$RUNS"
