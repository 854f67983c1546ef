#!/bin/bash
# Incremental resolution against a full one on the same raw tables, at any scale.
#
#   benches/identity/incremental_vs_full.sh MARQUE_BIN SRC OUT K
#
# SRC is a `marque gen` output. Every K-th record of every source becomes a second batch. Lake
# OUT/a ingests the first batch and resolves it, ingests the second and resolves incrementally;
# lake OUT/b starts from OUT/a's state after the first run, takes the same raw tables and runs
# `resolve --full`. compare_maps.py then prints how many customers of either side span several
# of the other's and how many records carry a different id: all three must be 0.
# Needs duckdb, deltalake and pyarrow (the Splink venv of run.sh has them; PYTHON overrides).
set -euo pipefail
BIN=$1; SRC=$2; OUT=$3; K=$4
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-$HOME/.cache/marque-tools/splink-venv/bin/python}
mkdir -p "$OUT"
"$PY" "$HERE/split_batches.py" "$SRC" "$OUT" "$K"
rm -rf "$OUT/a" "$OUT/b"
"$BIN" --lake "$OUT/a" ingest --quiet --input "$OUT/p1" >/dev/null
"$BIN" --lake "$OUT/a" resolve | tail -1
cp -r "$OUT/a" "$OUT/b"
"$BIN" --lake "$OUT/a" ingest --quiet --input "$OUT/p2" >/dev/null
"$BIN" --lake "$OUT/a" resolve | tail -1
rm -rf "$OUT"/b/raw_* "$OUT/b/ingest_batches"
cp -r "$OUT"/a/raw_* "$OUT/a/ingest_batches" "$OUT/b/"
"$BIN" --lake "$OUT/b" resolve --full | tail -1
"$PY" "$HERE/compare_maps.py" "$OUT/a" "$OUT/b"
