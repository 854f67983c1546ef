"""Splits a generator dataset into two ingest batches: every K-th record of every source file
goes to OUT/p2 (under new file names, so it is a new batch), the rest to OUT/p1.

    split_batches.py SRC OUT K

Used by incremental_vs_full.sh. Text files are split by line (a quoted line break in a dirty
row lands in both halves as two bad rows; both lakes see the same raw tables, so the comparison
is unaffected); Parquet files by row.
"""

import os
import shutil
import sys

import pyarrow.parquet as pq


def main() -> None:
    src, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for part in ("p1", "p2"):
        shutil.rmtree(f"{out}/{part}", ignore_errors=True)
    for root, _, files in os.walk(src):
        rel = os.path.relpath(root, src)
        if rel.startswith("truth"):
            continue
        for f in files:
            if f == "manifest.json":
                continue
            path = os.path.join(root, f)
            for part in ("p1", "p2"):
                os.makedirs(f"{out}/{part}/{rel}", exist_ok=True)
            name, ext = os.path.splitext(f)
            if ext == ".parquet":
                t = pq.read_table(path)
                rows = range(t.num_rows)
                pq.write_table(t.take([i for i in rows if i % k]), f"{out}/p1/{rel}/{f}")
                pq.write_table(
                    t.take([i for i in rows if i % k == 0]), f"{out}/p2/{rel}/{name}-b2{ext}"
                )
                continue
            lines = open(path, "rb").read().split(b"\n")
            head = [lines[0]] if ext == ".csv" else []
            body = [line for line in lines[len(head) :] if line]
            first = head + [line for i, line in enumerate(body) if i % k]
            second = head + [line for i, line in enumerate(body) if i % k == 0]
            open(f"{out}/p1/{rel}/{f}", "wb").write(b"\n".join(first) + b"\n")
            open(f"{out}/p2/{rel}/{name}-b2{ext}", "wb").write(b"\n".join(second) + b"\n")


if __name__ == "__main__":
    main()
