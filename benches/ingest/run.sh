#!/usr/bin/env bash
# Ingestion throughput: the generator's dataset ingested into the lake by `marque ingest`, and
# in the same run DuckDB converting the same CSV / JSON Lines / Parquet files to Parquet.
# Prints MB/s, rows/s and peak memory of both, and the ratio.
#   benches/ingest/run.sh [PERSONS (default 200000)] [WORKDIR] [MARQUE_BIN]
# RUNS=3 repeats both tools (alternating) and reports the median wall time and peak memory.
# SRC=DIR uses an existing generator output instead of generating one into WORKDIR/src.
# MARQUE_BIN defaults to target/release/marque (built if missing). DuckDB comes from PyPI in
# ~/.cache/marque-tools/duckdb-venv. DuckDB has no GBK reader offline, so its sales step is
# `iconv -f GB18030 -t UTF-8 -c | duckdb` (timed; -c drops the bytes iconv cannot convert,
# which Marque quarantines instead).
set -euo pipefail
cd "$(dirname "$0")/../.."
persons=${1:-200000}
work=${2:-/tmp/marque-ingest-bench-$persons}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/marque-target}"
bin=${3:-$CARGO_TARGET_DIR/release/marque}
[ -x "$bin" ] || cargo build --release --bin marque >&2
venv="$HOME/.cache/marque-tools/duckdb-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q duckdb
fi
mkdir -p "$work"
if [ -z "${SRC:-}" ] && [ ! -f "$work/src/manifest.json" ]; then
  "$bin" gen --persons "$persons" --seed 42 --out "$work/src" >/dev/null
fi
src="${SRC:-$work/src}"
runs=${RUNS:-1}
bytes=$(du -cb "$src"/sales/*.csv "$src"/after_sales/*.csv "$src"/marketing/*.jsonl "$src"/app/*.parquet | tail -1 | cut -f1)
mb=$(echo "$bytes / 1048576" | bc -l)

timed() { # name, command...
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err"
  read -r wall kb <"$work/$name.time"
  echo "$wall $kb"
}

cat >"$work/duck.py" <<PY
import duckdb, subprocess, sys
src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("PRAGMA threads=2")
subprocess.run(f"iconv -f GB18030 -t UTF-8 -c {src}/sales/dms_sales.csv > {out}/sales.csv", shell=True, check=True)
n = 0
for name, rel in [
    ("sales", f"read_csv('{out}/sales.csv', all_varchar=true, delim=',', quote='\"', header=true, strict_mode=false, null_padding=true, ignore_errors=true)"),
    ("after_sales", f"read_csv('{src}/after_sales/*.csv', all_varchar=true, delim=',', quote='\"', header=true, strict_mode=false, null_padding=true, ignore_errors=true)"),
    ("marketing", f"read_json('{src}/marketing/*.jsonl', format='newline_delimited', ignore_errors=true)"),
    ("app", f"read_parquet('{src}/app/*.parquet')"),
]:
    con.execute(f"COPY (SELECT * FROM {rel}) TO '{out}/{name}.parquet' (FORMAT parquet)")
    n += con.execute(f"SELECT count(*) FROM '{out}/{name}.parquet'").fetchone()[0]
print(n)
PY
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$work/marque.runs"
: >"$work/duckdb.runs"
quiet=$("$bin" ingest --help | grep -q -- --quiet && echo --quiet || true)
for i in $(seq "$runs"); do
  rm -rf "$work/lake" "$work/duck"
  mkdir -p "$work/duck"
  timed marque "$bin" --lake "$work/lake" ingest $quiet --input "$src" >>"$work/marque.runs"
  timed duckdb "$venv/bin/python" "$work/duck.py" "$src" "$work/duck" >>"$work/duckdb.runs"
done
rows=$(grep -o 'landed [0-9]* of [0-9]* rows' "$work/marque.out" | awk '{s+=$4} END {print s}')
d_rows=$(cat "$work/duckdb.out")
m_wall=$(cut -d' ' -f1 "$work/marque.runs" | median)
m_kb=$(cut -d' ' -f2 "$work/marque.runs" | median)
d_wall=$(cut -d' ' -f1 "$work/duckdb.runs" | median)
d_kb=$(cut -d' ' -f2 "$work/duckdb.runs" | median)

echo "ingest benchmark: $persons persons, $(printf %.0f "$mb") MB of source files, $(nproc) cores, $runs run(s) (medians), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "marque walls: $(cut -d' ' -f1 "$work/marque.runs" | tr '\n' ' ')  duckdb walls: $(cut -d' ' -f1 "$work/duckdb.runs" | tr '\n' ' ')"
printf '%-8s %8s %10s %12s %10s\n' tool wall_s MB/s rows/s peak_MB
printf '%-8s %8.1f %10.1f %12.0f %10d\n' marque "$m_wall" "$(echo "$mb / $m_wall" | bc -l)" "$(echo "$rows / $m_wall" | bc -l)" $((m_kb / 1024))
printf '%-8s %8.1f %10.1f %12.0f %10d\n' duckdb "$d_wall" "$(echo "$mb / $d_wall" | bc -l)" "$(echo "$d_rows / $d_wall" | bc -l)" $((d_kb / 1024))
printf 'marque throughput / duckdb throughput = %.2f (rows: marque read %s, duckdb wrote %s)\n' "$(echo "$d_wall / $m_wall" | bc -l)" "$rows" "$d_rows"
