"""Row counts and order-independent content checksums of a lake's ingested tables.

    python benches/ingest/checksum.py LAKE

For comparing two builds' ingests of the same input: every raw table (all columns) and the
quarantine table (all columns but `quarantined_at`). Reads the tables' Parquet files directly,
so LAKE must be a freshly ingested local lake (no removed files). Needs DuckDB.
"""
import glob
import os
import sys

import duckdb

lake = sys.argv[1]
con = duckdb.connect()
for table in sorted(os.listdir(lake)):
    files = glob.glob(f"{lake}/{table}/**/*.parquet", recursive=True)
    if table.startswith("_") or not files or not (table.startswith("raw_") or table == "quarantine"):
        continue
    rel = f"read_parquet({files!r})"
    if table == "quarantine":
        cols = "connector, batch_id, file, line, byte_offset, raw, reason, header"
    else:
        cols = "*"
    query = f"SELECT count(*), sum(hash(t)::HUGEINT) FROM (SELECT {cols} FROM {rel}) t"
    n, h = con.execute(query).fetchone()
    print(f"{table:<22} {n:>10} {h}")
