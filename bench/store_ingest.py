"""`Store.ingest` alone (no broker): v1 heat summaries in batches, into a fresh SQLite file.

    .venv/bin/python bench/store_ingest.py [--messages 40000] [--batch 500]

Prints the best of three runs in messages/s. To compare two checkouts in one session, run it
alternately with PYTHONPATH pointing at each (the machine's load varies between runs).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # PYTHONPATH wins

from collector.store import Store


def payload(gw: str, seq: int, t0: float) -> tuple[str, bytes]:
    v = 25 + (seq % 100) / 10
    stat = {"mean": v, "min": v - 0.3, "max": v + 0.3, "last": v}
    end = t0 + 60 * seq
    # Version 1: both the old and the new collector accept it.
    body = {"schema": "machimori/summary/1", "id": f"{gw}:{seq}", "gw": gw, "seq": seq,
            "kind": "heat", "device": f"heat-{seq % 50:03d}", "start": end - 60, "end": end,
            "n": 6, "values": {"air_c": stat, "humidity": stat, "illuminance": stat,
                               "wbgt_c": stat},
            "place": {"lat": 36.14, "lon": 139.38}, "wbgt_level": 2}
    return f"machimori/v1/gw/{gw}/summary/heat", json.dumps(body, separators=(",", ":")).encode()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=40_000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    items = [payload("gw-01", s, 1.7e9) for s in range(1, args.messages + 1)]
    rates = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as d:
            st = Store(str(Path(d) / "c.sqlite"))
            t = time.perf_counter()
            for i in range(0, len(items), args.batch):
                st.ingest(items[i:i + args.batch])
            rates.append(len(items) / (time.perf_counter() - t))
            st.close()
    print(f"{max(rates):,.0f} msg/s (best of 3; {args.messages} summaries, batches of "
          f"{args.batch})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
