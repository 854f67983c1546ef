#!/usr/bin/env bash
# Identity resolution side by side: Marque vs Splink 5 (DuckDB) on the same mentions, same run.
#   benches/identity/run.sh [PERSONS (default 20000)] [SEED (default 42)]
#
# 1. `marque gen` with every kind of dirt at its default rate (all on; see `marque gen
#    --list-dirt`), `marque ingest`, then `marque resolve`, timed (wall, peak RSS).
# 2. export_mentions.py writes the lake's `mentions` table (Marque's customer ids dropped) to
#    plain Parquet; not timed.
# 3. splink_run.py resolves those mentions with Splink; the whole script is timed.
# 4. `marque eval --json` scores Marque's customer_map and `marque eval --map` Splink's
#    clusters, against the same truth; summary.py prints the table.
#
# Environment:
#   MARQUE_BIN   marque binary that ingests and resolves (default: the release build
#                $CARGO_TARGET_DIR/release/marque; a release binary is what should be timed).
#   EVAL_BIN     marque binary with `eval --map` (default: $MARQUE_BIN if it has --map, else
#                the debug build $CARGO_TARGET_DIR/debug/marque).
#   SPLINK_VENV  Python venv with splink 5, duckdb and deltalake; created with pip when absent
#                (default ~/.cache/marque-tools/splink-venv).
#   WORKDIR      scratch directory (default /tmp/marque-identity-PERSONS-SEED), wiped first.
#   SPLINK_ARGS  extra arguments for splink_run.py, e.g. "--cluster-threshold 0.99".
# Not run by CI: it needs a release binary and PyPI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
persons=${1:-20000}
seed=${2:-42}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/marque-target}"
bin=${MARQUE_BIN:-$CARGO_TARGET_DIR/release/marque}
work=${WORKDIR:-/tmp/marque-identity-$persons-$seed}
venv=${SPLINK_VENV:-$HOME/.cache/marque-tools/splink-venv}

[[ -x $bin ]] || { echo "no marque binary at $bin (set MARQUE_BIN)" >&2; exit 1; }
has_map() { "$1" eval --help 2>/dev/null | grep -q -- '--map'; }
if [[ -n ${EVAL_BIN:-} ]]; then
  eval_bin=$EVAL_BIN
elif has_map "$bin"; then
  eval_bin=$bin
else
  eval_bin=$CARGO_TARGET_DIR/debug/marque
fi
has_map "$eval_bin" || { echo "$eval_bin has no \`eval --map\` (set EVAL_BIN)" >&2; exit 1; }

if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'splink>=5,<6' duckdb deltalake pyarrow
fi
py=$venv/bin/python

rm -rf "$work" && mkdir -p "$work"
log() { printf '%s\n' "$*" >&2; }
echo "identity resolution, Marque vs Splink, $persons persons, seed $seed ($(nproc) cores)," \
  "$(date -u +%Y-%m-%dT%H:%MZ)"
echo "marque: $bin ($("$bin" --version)); eval: $eval_bin"
"$py" -c 'import splink, duckdb; print(f"splink {splink.__version__}, duckdb {duckdb.__version__}")'

log "generating and ingesting…"
"$bin" gen --persons "$persons" --seed "$seed" --out "$work/src" >"$work/gen.out"
"$bin" --lake "$work/lake" ingest --input "$work/src" >"$work/ingest.out"

log "marque resolve…"
/usr/bin/time -v -o "$work/marque.time" "$bin" --lake "$work/lake" resolve >"$work/marque.out"
cat "$work/marque.out"

log "exporting mentions…"
"$py" "$here/export_mentions.py" "$work/lake" "$work"

log "splink…"
# shellcheck disable=SC2086  # SPLINK_ARGS is a list of words
/usr/bin/time -v -o "$work/splink.time" "$py" "$here/splink_run.py" "$work" ${SPLINK_ARGS:-} \
  >"$work/splink.out" 2>"$work/splink.err" || { cat "$work/splink.err" >&2; exit 1; }
cat "$work/splink.out"

log "evaluating…"
"$eval_bin" --lake "$work/lake" eval --truth "$work/src" --json >"$work/marque_eval.json"
"$eval_bin" eval --truth "$work/src" --map "$work/splink_map.parquet" --json \
  >"$work/splink_eval.json"
"$py" "$here/summary.py" "$work" "$persons"
