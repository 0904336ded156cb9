"""A gateway that loses its data dir (new SD card, reinstall) and is restarted: everything it
produces after the restart is stored, SOS included. Real processes, a real Mosquitto.

Before stream epochs, ids were <gw>:<seq>: the reinstalled gateway restarted at seq 1 and the
collector dropped each new summary and event as a duplicate of the old one with that number.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from machimori.procs import wait_for
from sim.commands import write_town
from sim.town import sim_epoch

from .harness import Collector, Gateway, Mosquitto

SMALL = {"gateways": 2, "nodes": 8, "residents": 8, "households": 4}


def stored_by_epoch(col: Collector, gw: str) -> dict[str, list[int]]:
    rows = col.query("SELECT id, seq FROM summaries WHERE gw = ? UNION ALL "
                     "SELECT id, seq FROM events WHERE gw = ?", (gw, gw))
    out: dict[str, list[int]] = {}
    for rid, seq in rows:
        out.setdefault(rid.split(":")[1], []).append(seq)
    return {e: sorted(s) for e, s in out.items()}


def test_wiped_data_dir_restart_stores_everything_after_it(tmp_path: Path,
                                                          mosquitto: Mosquitto) -> None:
    # 20 simulated minutes per run: the town's SOS comes 15 minutes into each run.
    town, paths = write_town(tmp_path / "town", mosquitto.url, seed=7, speed=120,
                             sim_start=sim_epoch(), wall_anchor=time.time(), sim_minutes=20,
                             **SMALL)
    sos_tag = next(a.device for a in town.anomalies if a.kind == "sos")
    gw_id = next(r.gw for r in town.residents if r.id == sos_tag)
    path = next(p for p in paths if p.stem == gw_id)
    g = Gateway(path, gw_id, tmp_path / "town" / gw_id)
    col = Collector(tmp_path / "col", mosquitto.url).start()
    try:
        g.start()
        assert g.wait_exit(120) == 0
        first = g.produced()
        wait_for(lambda: sum(map(len, stored_by_epoch(col, gw_id).values())) >= first, 60,
                 "the first run's messages to be stored")
        (old_epoch,) = stored_by_epoch(col, gw_id)
        shutil.rmtree(g.data_dir)  # the SD card is replaced; the configuration is kept
        # The same town replayed from its start (the sim's clock is anchored to the wall clock
        # when the configuration is written), so the second run has its own SOS too.
        write_town(tmp_path / "town", mosquitto.url, seed=7, speed=120, sim_start=sim_epoch(),
                   wall_anchor=time.time(), sim_minutes=20, **SMALL)
        shutil.rmtree(g.data_dir, ignore_errors=True)
        g.start()
        assert g.wait_exit(120) == 0
        produced = g.produced()
        assert produced > 100
        wait_for(lambda: len(stored_by_epoch(col, gw_id)) == 2
                 and len(stored_by_epoch(col, gw_id)[_other(col, gw_id, old_epoch)]) >= produced,
                 60, "the second run's messages to be stored")
        by_epoch = stored_by_epoch(col, gw_id)
        new_epoch = _other(col, gw_id, old_epoch)
        # Everything after the restart is stored, exactly once; nothing of before is lost.
        assert by_epoch[new_epoch] == list(range(1, produced + 1))
        assert by_epoch[old_epoch] == list(range(1, first + 1))
        sos = col.query("SELECT id FROM events WHERE gw = ? AND kind = 'sos'", (gw_id,))
        assert {r[0].split(":")[1] for r in sos} == {old_epoch, new_epoch}  # one SOS each run
        dup = col.query("SELECT count(*) FROM dead_letters")[0][0]
        assert dup == 0
        print(f"\nwiped-data-dir restart: before {first} produced / {len(by_epoch[old_epoch])} "
              f"stored; after {produced} produced / {len(by_epoch[new_epoch])} stored")
    finally:
        g.stop()
        col.stop()


def _other(col: Collector, gw: str, epoch: str) -> str:
    return next(e for e in stored_by_epoch(col, gw) if e != epoch)
