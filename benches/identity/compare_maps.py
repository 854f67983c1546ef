"""Compares the customer partitions of two lakes' `customer_map` tables.

    compare_maps.py LAKE_A LAKE_B

Used to check that an incremental resolution gives the same customers as a full one at a scale
the tests do not reach: resolve LAKE_A fully, ingest a batch, resolve it incrementally; copy the
raw tables and the stored model (`identity_model`, `identity_name_frequency`) into LAKE_B and
run `marque resolve --full` there. Prints how many customers of either side span several of the
other's and how many records carry a different id. Needs duckdb and deltalake (the Splink venv
of benches/identity/run.sh has both).
"""

import sys

import duckdb
from deltalake import DeltaTable, QueryBuilder


def main() -> None:
    con = duckdb.connect()
    for name, lake in (("a", sys.argv[1]), ("b", sys.argv[2])):
        # Read through delta-rs, not the files' list: an incremental run marks replaced rows
        # deleted with deletion vectors, which reading the Parquet files directly would miss.
        qb = QueryBuilder().register("t", DeltaTable(f"{lake}/customer_map"))
        rows = qb.execute("SELECT source, record_id, role, customer_id FROM t").read_all()
        con.register(f"{name}_rows", rows)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_rows")
    one = lambda sql: con.execute(sql).fetchone()
    print("records", one("SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)"))
    con.execute(
        "CREATE TABLE j AS SELECT a.customer_id ca, b.customer_id cb "
        "FROM a JOIN b USING (source, record_id, role)"
    )
    print("joined", one("SELECT count(*) FROM j")[0])
    for side, other in (("ca", "cb"), ("cb", "ca")):
        n = one(
            f"SELECT count(*) FROM (SELECT {side} FROM j GROUP BY {side} "
            f"HAVING count(DISTINCT {other}) > 1)"
        )[0]
        print(f"customers of {side[1].upper()} spanning several of the other", n)
    print("records with a different id", one("SELECT count(*) FROM j WHERE ca <> cb")[0])


if __name__ == "__main__":
    main()
