"""Gateways that lose their data dir: how much of what they produce afterwards is stored.

    .venv/bin/python bench/wiped_restart.py [--before 60] [--after 40] [--speed 30]

The demo's town (3 gateways, 30 heat nodes, 20 residents, 20 households) runs through a real
Mosquitto into `machimori collector run` for `--before` seconds; then every gateway's data dir
is deleted (a new SD card, a reinstall) and the gateways are started again for `--after`
seconds and stopped cleanly. Printed: per gateway, messages produced and stored before and
after the wipe (ids are <gw>:<epoch>:<seq>; each run of a data dir is one epoch).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machimori.procs import wait_for
from sim.commands import write_town
from sim.town import sim_epoch
from tests.harness import Collector, Gateway, Mosquitto


def stored(col: Collector, gw: str, epoch: str) -> tuple[int, int]:
    """(summaries, events) stored for one gateway's stream."""
    like = f"{gw}:{epoch}:%"
    s = col.query("SELECT count(*) FROM summaries WHERE id LIKE ?", (like,))[0][0]
    e = col.query("SELECT count(*) FROM events WHERE id LIKE ?", (like,))[0][0]
    return s, e


def run(gws: list[Gateway], seconds: float) -> dict[str, tuple[str, int]]:
    """Run the gateways for `seconds`, stop them (SIGTERM); (epoch, produced) per gateway."""
    for g in gws:
        g.start(exit_when_drained=False)
    end = time.monotonic() + seconds
    wait_for(lambda: time.monotonic() >= end, seconds + 5, "the run", 0.5)
    epochs = {g.id: g.stats().get("epoch", "") for g in gws}
    for g in gws:
        g.stop()
    return {g.id: (epochs[g.id], g.produced()) for g in gws}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=float, default=60.0, help="seconds before the wipe")
    ap.add_argument("--after", type=float, default=40.0, help="seconds after the wipe")
    ap.add_argument("--speed", type=float, default=30.0, help="simulated seconds per second")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="machimori-wipe-"))
    broker = Mosquitto(tmp / "mosquitto").start()
    col = Collector(tmp / "col", broker.url).start()
    try:
        _town, paths = write_town(tmp / "town", broker.url, seed=1, speed=args.speed,
                                  sim_start=sim_epoch(), wall_anchor=time.time())
        gws = [Gateway(p, p.stem, tmp / "town" / p.stem) for p in paths]
        before = run(gws, args.before)
        for g in gws:
            shutil.rmtree(g.data_dir)
        after = run(gws, args.after)
        # Clean stops drained what they could; give the collector a moment to commit.
        def settled() -> bool:
            return all(sum(stored(col, g.id, after[g.id][0])) >= after[g.id][1] for g in gws)

        try:
            wait_for(settled, 30, "the collector to store what was acknowledged")
        except TimeoutError:
            pass
        print(f"{args.speed:g}x, {args.before:g} s, wipe, {args.after:g} s; Mosquitto; "
              "messages (summaries + events)")
        print("| gateway | produced before | stored before | produced after | stored after |")
        print("|---|---:|---:|---:|---:|")
        tot = [0, 0, 0, 0]
        for g in gws:
            b = (before[g.id][1], sum(stored(col, g.id, before[g.id][0])))
            a = (after[g.id][1], sum(stored(col, g.id, after[g.id][0])))
            tot = [x + y for x, y in zip(tot, (*b, *a), strict=True)]
            print(f"| {g.id} | {b[0]:,} | {b[1]:,} | {a[0]:,} | {a[1]:,} |")
        print(f"| all | {tot[0]:,} | {tot[1]:,} | {tot[2]:,} | {tot[3]:,} |")
        sos = col.query("SELECT count(*) FROM events WHERE kind = 'sos'")[0][0]
        print(f"SOS events stored: {sos}")
    finally:
        col.stop()
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
