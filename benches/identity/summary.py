"""Prints the side-by-side table of the identity benchmark from the files run.sh leaves in WORKDIR.

    summary.py WORKDIR PERSONS

Reads WORKDIR/{marque,splink}.time (GNU time -v), WORKDIR/{marque,splink}_eval.json
(`marque eval --json`) and WORKDIR/mentions.parquet (for the mention count).
"""

import json
import re
import sys

import duckdb


def gnu_time(path: str) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) from `/usr/bin/time -v` output."""
    text = open(path, encoding="utf-8").read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    if not wall:
        sys.exit(f"{path}: no wall clock time")
    h, m, s = wall.groups()
    secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not rss:
        sys.exit(f"{path}: no maximum resident set size")
    return secs, int(rss.group(1))


def main() -> None:
    work, persons = sys.argv[1], int(sys.argv[2])
    mentions = duckdb.sql(f"SELECT count(*) FROM '{work}/mentions.parquet'").fetchall()[0][0]
    rows = {}
    for tool in ("marque", "splink"):
        wall, rss = gnu_time(f"{work}/{tool}.time")
        report = json.load(open(f"{work}/{tool}_eval.json", encoding="utf-8"))
        rows[tool] = (wall, rss, report)
    print()
    print(f"persons {persons:,}   mentions {mentions:,}   "
          f"customer_map rows {rows['marque'][2]['coverage']['predicted']:,}")
    head = ("tool", "wall s", "peak RSS MB", "mentions/s", "B3 P", "B3 R", "B3 F1",
            "pair P", "pair R", "pair F1", "customers", "over-merged")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for tool, (wall, rss, r) in rows.items():
        b, p, c = r["bcubed"], r["pairwise"], r["clusters"]
        cells = (tool, f"{wall:.1f}", f"{rss / 1024:.0f}", f"{mentions / wall:,.0f}",
                 f"{b['precision']:.4f}", f"{b['recall']:.4f}", f"{b['f1']:.4f}",
                 f"{p['precision']:.4f}", f"{p['recall']:.4f}", f"{p['f1']:.4f}",
                 f"{c['customers']:,}", f"{c['over_merged_customers']:,}")
        print("| " + " | ".join(cells) + " |")
    ratio = rows["splink"][0] / rows["marque"][0]
    df1 = rows["marque"][2]["bcubed"]["f1"] - rows["splink"][2]["bcubed"]["f1"]
    print(f"\nthroughput ratio marque/splink: {ratio:.1f}x   B-cubed F1 marque - splink: {df1:+.4f}")
    for tool, (_, _, r) in rows.items():
        cov = r["coverage"]
        if cov["missing_unbroken"] or cov["unknown"]:
            print(f"WARNING {tool}: {cov['missing_unbroken']} unbroken mentions missing, "
                  f"{cov['unknown']} unknown")


if __name__ == "__main__":
    main()
