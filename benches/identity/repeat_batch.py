"""Makes the incremental bench's batch: every K-th repair order and lead of a generator dataset
again, under new record ids, as one new ingest batch (the same people coming back).

    repeat_batch.py SRC OUT K

At 1M persons and K = 100 this is the "0.7 % batch" of benches/RESULTS.md (135k mentions).
Repair orders are split by line (their order number is the unquoted first field), leads by
JSON line (their id is the first L + nine digits).
"""

import os
import re
import sys


def main() -> None:
    src, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(f"{out}/after_sales", exist_ok=True)
    os.makedirs(f"{out}/marketing", exist_ok=True)

    lines = open(f"{src}/after_sales/repair_orders.csv", "rb").read().split(b"\n")
    head, body = lines[0], [line for line in lines[1:] if line]
    again = [b"B2" + line for i, line in enumerate(body) if i % k == 0]
    with open(f"{out}/after_sales/repair_orders-b2.csv", "wb") as f:
        f.write(b"\n".join([head] + again) + b"\n")

    lead_id = re.compile(rb'"(L\d{9})"')
    lines = open(f"{src}/marketing/leads.jsonl", "rb").read().split(b"\n")
    body = [line for line in lines if line]
    again = [lead_id.sub(rb'"B2\1"', line, count=1) for i, line in enumerate(body) if i % k == 0]
    with open(f"{out}/marketing/leads-b2.jsonl", "wb") as f:
        f.write(b"\n".join(again) + b"\n")


if __name__ == "__main__":
    main()
