#!/bin/bash
# The 1M-person identity bench: a full run, then an incremental one, each timed, both evaluated.
#
#   benches/identity/bench1m.sh MARQUE_BIN RAW TRUTH BATCH WORK [full]
#
# RAW is a lake holding only ingested raw tables (`marque gen --persons 1000000 --seed 42`,
# then `marque ingest`), TRUTH that generator output (for `eval`), BATCH the repeat batch of
# repeat_batch.py. WORK/a gets a fresh copy of RAW's raw tables and a full `resolve` (timed by
# /usr/bin/time, then `eval`). With a sixth argument `full` the script stops there; with
# `incremental` it skips the full run and starts from the WORK/a an earlier run left.
# Otherwise WORK/a ingests BATCH and resolves incrementally (timed); WORK/b takes WORK/a's
# state from before the batch plus the same raw tables and runs `resolve --full` (timed); and
# compare_maps.py prints how far the two disagree. Needs ~10 GB free at 1M persons.
set -euo pipefail
BIN=$1; RAW=$2; TRUTH=$3; BATCH=$4; WORK=$5; ONLY=${6:-}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-$HOME/.cache/marque-tools/splink-venv/bin/python}
export MARQUE_LOG=${MARQUE_LOG:-warn,marque_identity=info}
timed() { /usr/bin/time -f "TIME wall %e s, user %U s, sys %S s, peak RSS %M KB" "$@"; }
rm -rf "$WORK/b"
if [ "$ONLY" != incremental ]; then
  rm -rf "$WORK/a"
  mkdir -p "$WORK/a"
  cp -r "$RAW"/raw_* "$RAW/ingest_batches" "$WORK/a/"
  echo "== full run"
  timed "$BIN" --lake "$WORK/a" resolve 2>&1 | grep -E "TIME|phase|marked|assigned|written|resolved" || true
  "$BIN" --lake "$WORK/a" eval --truth "$TRUTH" | tail -14
  [ "$ONLY" = full ] && exit 0
fi
cp -r "$WORK/a" "$WORK/b"
"$BIN" --lake "$WORK/a" ingest --quiet --input "$BATCH" >/dev/null
echo "== incremental run"
timed "$BIN" --lake "$WORK/a" resolve 2>&1 | grep -E "TIME|affected|loaded|linked|assigned|written|resolved" || true
rm -rf "$WORK"/b/raw_* "$WORK/b/ingest_batches"
cp -r "$WORK"/a/raw_* "$WORK/a/ingest_batches" "$WORK/b/"
echo "== full rerun on the resolved lake"
timed "$BIN" --lake "$WORK/b" resolve --full 2>&1 | grep -E "TIME|resolved" || true
"$PY" "$HERE/compare_maps.py" "$WORK/a" "$WORK/b"
