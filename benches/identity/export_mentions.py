"""Exports Marque's `mentions` table from a lake to plain Parquet files for Splink.

    export_mentions.py LAKE OUTDIR

Writes, with Marque's own customer ids left out so that Splink sees only the evidence:

- OUTDIR/mentions.parquet: one row per mention (the columns of the lake's `mentions` table
  minus customer_id), plus `unique_id` = "source|role|record_id" for Splink.
- OUTDIR/records.parquet: (source, record_id, role, unique_id), one row per customer_map row.
  An app mention folds every event of one account, and the `mentions` table names only its
  first record id; this table maps each app event back to its mention, so that a clustering of
  mentions can be written in the customer_map layout and scored by `marque eval --map`.

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
        columns=["source", "record_id", "role"]
    )
    events = DeltaTable(f"{lake}/raw_app_events").to_pyarrow_table(
        columns=["record_id", "app_user_id", "unionid"]
    )
    con = duckdb.connect()
    con.register("mentions_in", mentions)
    con.register("cmap", cmap)
    con.register("events", events)
    con.execute(
        """
        CREATE TABLE m AS
        SELECT source || '|' || role || '|' || record_id AS unique_id,
               * EXCLUDE (customer_id)
        FROM mentions_in
        """
    )
    con.execute(f"COPY m TO '{out}/mentions.parquet' (FORMAT parquet)")
    # Non-app rows are their own mention. An app event belongs to the app mention of its
    # account; when an account has several mentions (its events disagree on unionid, phone or
    # nickname), the one with the same unionid and the latest first record id not after the
    # event wins, which is how the fold assigns them in record order.
    con.execute(
        f"""
        COPY (
          WITH ev AS (
            SELECT DISTINCT ON (record_id) record_id, app_user_id, unionid FROM events
            WHERE app_user_id IS NOT NULL AND trim(app_user_id) <> ''
            ORDER BY record_id
          ),
          app AS (
            SELECT c.source, c.record_id, c.role, m.unique_id,
                   row_number() OVER (
                     PARTITION BY c.record_id
                     ORDER BY (m.unionid IS NOT DISTINCT FROM nullif(trim(ev.unionid), '')) DESC,
                              (m.record_id <= c.record_id) DESC,
                              m.record_id DESC
                   ) AS pick
            FROM cmap c
            JOIN ev ON ev.record_id = c.record_id
            JOIN m ON m.source = 'app' AND m.app_user_id = ev.app_user_id
            WHERE c.source = 'app'
          )
          SELECT source, record_id, role, source || '|' || role || '|' || record_id AS unique_id
          FROM cmap WHERE source <> 'app'
          UNION ALL
          SELECT source, record_id, role, unique_id FROM app WHERE pick = 1
        ) TO '{out}/records.parquet' (FORMAT parquet)
        """
    )
    n_m = con.execute("SELECT count(*) FROM m").fetchone()[0]
    n_r = con.execute(f"SELECT count(*) FROM '{out}/records.parquet'").fetchone()[0]
    n_c = cmap.num_rows
    ambiguous = con.execute(
        """
        SELECT count(*) FROM (
          SELECT app_user_id FROM m WHERE source = 'app' GROUP BY 1 HAVING count(*) > 1
        )
        """
    ).fetchone()[0]
    print(
        f"exported {n_m} mentions and {n_r} of {n_c} customer_map rows "
        f"({ambiguous} app accounts with several mentions) "
        f"in {time.perf_counter() - started:.1f}s"
    )
    if n_r != n_c:
        sys.exit(f"records.parquet has {n_r} rows, customer_map {n_c}: the app fold was not undone")


if __name__ == "__main__":
    main()
