"""The SQL analytics benchmark: each sql/bench query on marque (DataFusion, through the `marque
sql` binary) and on DuckDB (in process), over the same Parquet files, in the same run.

DuckDB gets the lake's Delta tables as views over the Parquet files the latest Delta log lists,
and the same view and segment SQL files (they are written in SQL both engines accept).
marque is timed as a process; its start-up (opening the lake, planning the views) is measured
with `SELECT 1` and reported separately, and subtracted to give its query time.

usage: run.py MARQUE LAKE SQL_DIR BENCH_DIR RUNS
"""
import glob
import json
import os
import statistics
import subprocess
import sys
import time

import duckdb


def active_files(table_dir):
    """Parquet files of the latest version: replay add/remove actions of the JSON commits.

    A file with a deletion vector (left by an incremental `marque resolve`) is refused: read
    as plain Parquet, DuckDB would count the rows the vector deletes. Run the benchmark on a
    lake after a full resolve (`marque resolve --full` writes no vectors)."""
    files = {}
    logs = sorted(glob.glob(os.path.join(table_dir, "_delta_log", "*.json")))
    if glob.glob(os.path.join(table_dir, "_delta_log", "*.checkpoint*.parquet")):
        raise SystemExit(f"{table_dir}: checkpoints are not supported by this script")
    for log in logs:
        with open(log) as f:
            for line in f:
                action = json.loads(line)
                if "add" in action:
                    files[action["add"]["path"]] = action["add"].get("deletionVector")
                elif "remove" in action:
                    files.pop(action["remove"]["path"], None)
    with_vectors = [p for p, dv in files.items() if dv]
    if with_vectors:
        raise SystemExit(
            f"{table_dir}: {len(with_vectors)} data files carry deletion vectors, which this "
            "script does not apply; run it after `marque resolve --full`"
        )
    return [os.path.join(table_dir, p) for p in files]


CLV_STUB = (
    "SELECT CAST(NULL AS VARCHAR) AS customer_id, "
    + ", ".join(
        f"CAST(NULL AS DOUBLE) AS {c}"
        for c in ["frequency", "recency", "t", "monetary_value", "expected_transactions",
                  "p_alive", "expected_spend", "clv"]
    )
    + " WHERE false"
)


def duckdb_session(lake, sql_dir):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {os.cpu_count()}")
    tables = set()
    for d in sorted(os.listdir(lake)):
        if os.path.isdir(os.path.join(lake, d, "_delta_log")):
            files = active_files(os.path.join(lake, d))
            if files:
                con.execute(f"CREATE VIEW {d} AS SELECT * FROM read_parquet({files!r})")
                tables.add(d)
    if "customer_clv" not in tables:
        con.execute(f"CREATE VIEW customer_clv AS {CLV_STUB}")
    pending = {}
    for path in sorted(glob.glob(os.path.join(sql_dir, "*.sql"))):
        name = os.path.splitext(os.path.basename(path))[0]
        if name in tables or name == "customer_clv":
            continue
        with open(path) as f:
            pending[name] = f.read().strip().rstrip(";")
    last = None
    while pending:  # views use each other: create in passes
        progress = False
        for name, sql in list(pending.items()):
            try:
                con.execute(f"CREATE VIEW {name} AS {sql}")
                del pending[name]
                progress = True
            except duckdb.Error as e:
                last = (name, e)
        if not progress:
            raise SystemExit(f"DuckDB cannot create views {sorted(pending)}: {last}")
    return con


def time_marque(marque, lake, sql, cwd):
    start = time.perf_counter()
    # `--` because the queries start with a `--` comment; CSV output where the binary has it
    fmt = ["--format", "csv"] if "--format" in HELP else []
    out = subprocess.run([marque, "--lake", lake, "sql", *fmt, "--", sql],
                         cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"marque failed on {sql[:60]!r}: {out.stderr[-2000:]}")
    return elapsed, out.stdout


HELP = ""


def main():
    global HELP
    marque, lake, sql_dir, bench_dir, runs = sys.argv[1:6]
    runs = int(runs)
    cwd = os.path.dirname(os.path.dirname(sql_dir))  # marque reads ./sql/views
    HELP = subprocess.run([marque, "sql", "--help"], capture_output=True, text=True).stdout
    con = duckdb_session(lake, sql_dir)
    startup = [time_marque(marque, lake, "SELECT 1", cwd)[0] for _ in range(runs)]
    startup_med = statistics.median(startup)
    print(f"marque start-up (SELECT 1, process + lake open + view planning): median {startup_med:.3f}s")
    print(f"{'query':<20} {'duckdb s':>9} {'marque s':>9} {'marque-startup s':>17} {'ratio':>6}  rows")
    for path in sorted(glob.glob(os.path.join(bench_dir, "*.sql"))):
        name = os.path.splitext(os.path.basename(path))[0]
        with open(path) as f:
            sql = f.read()
        dtimes, drows = [], 0
        for _ in range(runs):
            start = time.perf_counter()
            drows = len(con.execute(sql).fetchall())
            dtimes.append(time.perf_counter() - start)
        mtimes = [time_marque(marque, lake, sql, cwd)[0] for _ in range(runs)]
        d, m = statistics.median(dtimes), statistics.median(mtimes)
        q = max(m - startup_med, 0.0)
        print(f"{name:<20} {d:>9.3f} {m:>9.3f} {q:>17.3f} {q / d if d else float('nan'):>6.2f}  {drows}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
