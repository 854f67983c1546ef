"""Exports Marque's `mentions` table from a lake to plain Parquet files for Splink.

    export_mentions.py LAKE OUTDIR

Writes, with Marque's own customer ids left out so that Splink sees only the evidence:

- OUTDIR/mentions.parquet: one row per mention (the columns of the lake's `mentions` table
  minus customer_id), plus `unique_id` = "source|role|record_id" for Splink.
- OUTDIR/records.parquet: (source, record_id, role, unique_id), one row per customer_map row.
  A mention may fold several source records (an app account's events, a customer's repair
  orders with identical evidence); `customer_map.mention_record_id` names the mention each record
  belongs to, so that a clustering of mentions can be written in the customer_map layout and
  scored by `marque eval --map`.

Not timed as part of either resolver: it is the hand-over of the same mentions to Splink.
"""

import sys
import time

import duckdb
from deltalake import DeltaTable


def main() -> None:
    lake, out = sys.argv[1], sys.argv[2]
    started = time.perf_counter()
    mentions = DeltaTable(f"{lake}/mentions").to_pyarrow_table()
    cmap = DeltaTable(f"{lake}/customer_map").to_pyarrow_table(
        columns=["source", "record_id", "role", "mention_record_id"]
    )
    con = duckdb.connect()
    con.register("mentions_in", mentions)
    con.register("cmap", cmap)
    con.execute(
        """
        CREATE TABLE m AS
        SELECT source || '|' || role || '|' || record_id AS unique_id,
               * EXCLUDE (customer_id)
        FROM mentions_in
        """
    )
    con.execute(f"COPY m TO '{out}/mentions.parquet' (FORMAT parquet)")
    con.execute(
        f"""
        COPY (
          SELECT source, record_id, role,
                 source || '|' || role || '|' || mention_record_id AS unique_id
          FROM cmap
        ) TO '{out}/records.parquet' (FORMAT parquet)
        """
    )
    n_m = con.execute("SELECT count(*) FROM m").fetchone()[0]
    n_r = con.execute(f"SELECT count(*) FROM '{out}/records.parquet'").fetchone()[0]
    n_c = cmap.num_rows
    orphans = con.execute(
        f"""
        SELECT count(*) FROM '{out}/records.parquet' r
        WHERE r.unique_id NOT IN (SELECT unique_id FROM m)
        """
    ).fetchone()[0]
    print(
        f"exported {n_m} mentions and {n_r} of {n_c} customer_map rows "
        f"in {time.perf_counter() - started:.1f}s"
    )
    if n_r != n_c or orphans:
        sys.exit(f"records.parquet: {n_r} rows for {n_c} customer_map rows, {orphans} orphans")


if __name__ == "__main__":
    main()
