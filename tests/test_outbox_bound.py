"""The bounded outbox: past its size cap summaries go first, then events; SOS and falls never.

The restart test runs a real gateway with its uplink down until the bound has evicted, kills it
with SIGKILL, checks the file on disk, then brings the broker up: the SOS and the fall are
delivered, and the gateway's status (outbox, free disk) reaches the collector's /metrics.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gateway.config import ConfigError, parse
from gateway.outbox import EVENT, PROTECTED, SUMMARY, Outbox, OutboxLimits, message_class
from machimori.contract import mqtt as c
from machimori.procs import free_port, wait_for
from sim.commands import write_town
from sim.town import sim_epoch

from .harness import Collector, Gateway, Mosquitto


def put(ob: Outbox, topic: str, size: int, now: float) -> int:
    return ob.append_many([lambda s: (topic, b"x" * size)], now)[0]


SUM, EV = c.summary_topic("gw-01", "heat"), c.event_topic("gw-01", "wbgt_level")
SOS, FALL = c.event_topic("gw-01", "sos"), c.event_topic("gw-01", "fall")


def kept(ob: Outbox) -> list[tuple[int, str]]:
    return [(s, t) for s, t, _ in ob.peek(0, 10_000)]


def test_message_classes() -> None:
    assert [message_class(t) for t in (SUM, EV, SOS, FALL, c.status_topic("gw-01"))] == \
        [SUMMARY, EVENT, PROTECTED, PROTECTED, SUMMARY]


def test_summaries_go_before_events_and_sos_and_fall_never(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "outbox.sqlite", OutboxLimits(max_bytes=1000, max_age_s=1e9))
    sos = put(ob, SOS, 100, 0.0)
    ev = put(ob, EV, 100, 1.0)
    sums = [put(ob, SUM, 100, 2.0 + i) for i in range(8)]  # 1,000 bytes: at the cap
    assert ob.depth() == 10 and ob.status(10.0)["outbox_bytes"] == 1000
    put(ob, SUM, 100, 11.0)  # one over: the oldest summary goes, not the older event or SOS
    assert [s for s, _ in kept(ob)] == [sos, ev, *sums[1:], sums[-1] + 1]
    fall = put(ob, FALL, 450, 12.0)  # needs room: summaries first, oldest first
    assert [s for s, _ in kept(ob)] == [sos, ev, *sums[6:], sums[-1] + 1, fall]
    st = ob.status(12.0)
    assert st["outbox_bytes"] <= 1000 and st["outbox_evicted"] == {"summaries": 6, "events": 0}
    for _ in range(3):  # SOS adverts keep coming while the uplink is down
        put(ob, SOS, 300, 13.0)
    # Every summary and then the ordinary event went; SOS and falls stay even past the cap.
    assert {t for _, t in kept(ob)} == {SOS, FALL}
    st = ob.status(13.0)
    assert st["outbox_evicted"] == {"summaries": 9, "events": 1}
    assert st["outbox_bytes"] == 100 + 450 + 900 > 1000
    assert st["outbox_bytes"] == sum(len(p) for _, _, p in ob.peek(0, 100))
    ob.close()


def test_summaries_older_than_the_age_cap_go_and_events_stay(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "outbox.sqlite", OutboxLimits(max_bytes=10**6, max_age_s=100.0))
    put(ob, SUM, 10, 0.0)
    put(ob, EV, 10, 0.0)
    put(ob, SUM, 10, 50.0)
    put(ob, SUM, 10, 120.0)  # the first summary is now 120 s old
    assert [t for _, t in kept(ob)] == [EV, SUM, SUM]
    assert ob.status(120.0)["outbox_evicted"] == {"summaries": 1, "events": 0}
    assert ob.status(120.0)["outbox_oldest_s"] == 120.0
    ob.close()


def test_ack_of_an_evicted_message_frees_nothing_twice(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "outbox.sqlite", OutboxLimits(max_bytes=250, max_age_s=1e9))
    a = put(ob, SUM, 100, 0.0)  # handed to the broker ...
    put(ob, SUM, 100, 0.0)
    put(ob, SUM, 100, 0.0)  # ... and evicted while in flight
    ob.ack([a])
    assert ob.status(0.0)["outbox_bytes"] == 200 == sum(len(p) for _, _, p in ob.peek(0, 9))
    ob.close()


@pytest.mark.parametrize("section, fix", [
    ({"max_mb": 0}, "outbox.max_mb"), ({"max_mb": "big"}, "outbox.max_mb"),
    ({"max_age_days": -1}, "outbox.max_age_days"),
])
def test_bad_outbox_settings_name_the_field(tmp_path: Path, section: dict, fix: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse({"gateway": {"id": "gw-01", "data_dir": str(tmp_path)}, "outbox": section})
    assert err.value.field == fix


def test_outbox_settings_parse(tmp_path: Path) -> None:
    cfg = parse({"gateway": {"id": "gw-01", "data_dir": str(tmp_path)},
                 "outbox": {"max_mb": 0.5, "max_age_days": 3}})
    assert (cfg.outbox.max_mb, cfg.outbox.max_age_days) == (0.5, 3.0)


def outbox_rows(path: Path) -> tuple[int, int, list[tuple[int, str]]]:
    """(bytes by the counter, bytes counted, rows) of an outbox file, read from outside."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        counter = con.execute("SELECT value FROM meta WHERE key = 'bytes'").fetchone()[0]
        total = con.execute("SELECT coalesce(sum(length(payload)), 0) FROM messages").fetchone()
        rows = con.execute("SELECT seq, topic FROM messages ORDER BY seq").fetchall()
        return counter, total[0], rows
    finally:
        con.close()


def test_full_outbox_sigkill_restart_keeps_bound_and_sos(tmp_path: Path) -> None:
    cap_mb = 0.02  # about 30 summaries
    cap = int(cap_mb * 1024 * 1024)
    port = free_port()
    broker = Mosquitto(tmp_path / "mosquitto", port=port)  # not started: the uplink is down
    # 40 simulated minutes: the town's SOS comes at 15, its fall at 25.
    _town, paths = write_town(tmp_path / "town", broker.url, seed=7, speed=600,
                             sim_start=sim_epoch(), wall_anchor=time.time(), sim_minutes=40,
                             gateways=1, nodes=8, residents=8, households=4)
    (path,) = paths
    path.write_text(path.read_text() + f"\n[outbox]\nmax_mb = {cap_mb}\n")
    g = Gateway(path, path.stem, tmp_path / "town" / path.stem)
    db = g.data_dir / "outbox.sqlite"
    g.start(exit_when_drained=False)
    try:
        def evicted_with_both() -> bool:
            st = g.stats()
            assert st.get("outbox_bytes", 0) <= cap + 2000  # the bound holds all along
            if st.get("outbox_evicted", {}).get("summaries", 0) <= 50:
                return False
            topics = {t for _, t in outbox_rows(db)[2]}
            return {c.event_topic(g.id, "sos"), c.event_topic(g.id, "fall")} <= topics

        wait_for(evicted_with_both, 90, "the bound to evict while SOS and fall wait")
        g.kill()
        counter, total, rows = outbox_rows(db)
        assert counter == total  # the byte count is exact after SIGKILL too
        protected = [(s, t) for s, t in rows if t.rsplit("/", 1)[1] in ("sos", "fall")]
        assert {t.rsplit("/", 1)[1] for _, t in protected} == {"sos", "fall"}
        assert total <= cap + 1000  # within the cap (SOS and fall are a few hundred bytes)
        assert any("/summary/" in t for _, t in rows)  # the newest summaries are kept
        out = subprocess.run([sys.executable, "-m", "machimori.cli", "gw", "status", "--config",
                              str(path)], capture_output=True, text=True, timeout=60,
                             check=False).stdout
        line = next(ln for ln in out.splitlines() if ln.startswith("stream "))
        assert f"of {cap:,} bytes, evicted unsent: " in line  # what an installer sees

        broker.start()
        col = Collector(tmp_path / "col", broker.url).start()
        try:
            g.start(exit_when_drained=False)
            from collector.store import connect
            from collector.users import add_token

            con = connect(col.db)
            token = add_token(con, "prometheus", "admin")
            con.close()
            epoch = g.stats().get("epoch")

            def stored_protected() -> set[str]:
                return {r[0] for r in col.query("SELECT id FROM events WHERE gw = ?", (g.id,))}

            want = {f"{g.id}:{epoch}:{s}" for s, _ in protected}
            wait_for(lambda: want <= stored_protected(), 60,
                     "the SOS and fall kept through the kill to be stored")

            def metrics() -> str:
                req = urllib.request.Request(col.base + "/metrics",
                                             headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.read().decode()

            wait_for(lambda: f'machimori_gateway_disk_free_bytes{{gw="{g.id}"}}' in metrics(),
                     30, "the gateway's status in /metrics")
            text = metrics()
            assert f'machimori_gateway_outbox_cap_bytes{{gw="{g.id}"}} {cap}' in text
            line = next(ln for ln in text.splitlines() if ln.startswith(
                f'machimori_gateway_outbox_evicted_total{{gw="{g.id}",message="summary"}}'))
            assert int(line.split()[-1]) > 50
            req = urllib.request.Request(col.base + "/api/v1/gateways",
                                         headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(req, timeout=5) as r:
                (item,) = json.loads(r.read())["items"]
            assert item["epoch"] == epoch and item["outbox_cap_bytes"] == cap
            assert item["disk_free_bytes"] > 0 and item["outbox_evicted_summaries"] > 50
            req = urllib.request.Request(col.base + "/admin/gateways?lang=en",
                                         headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(req, timeout=5) as r:
                page = r.read().decode()
            row = page[page.index(f'data-gw="{g.id}"'):].split("</tr>")[0]
            assert "Evicted at the bound" in page and "Disk free" in page
            assert f'<span class="warn">{item["outbox_evicted_summaries"]} / ' in row
            assert re.search(r"<td>\d+\.\d GB</td>", row)  # what the operator sees
        finally:
            col.stop()
    finally:
        g.stop()
        broker.stop()


def test_a_full_disk_evicts_summaries_to_take_the_sos(tmp_path: Path) -> None:
    """SQLite's max_page_count makes the file hit "database or disk is full" exactly as a full
    SD card does, long before the configured bound."""
    ob = Outbox(tmp_path / "outbox.sqlite", OutboxLimits(max_bytes=10**9, max_age_s=1e9))
    (pages,) = ob._db.execute("PRAGMA page_count").fetchone()
    ob._db.execute(f"PRAGMA max_page_count = {pages + 40}")  # ~160 KB of room
    for n in range(300):  # 600 KB of summaries and some events: the disk fills, nothing fails
        put(ob, EV if n % 10 == 0 else SUM, 2000, float(n))
    st = ob.status(300.0)
    assert st["outbox_evicted"]["summaries"] > 150 and st["outbox_bytes"] < 200_000
    sos = [put(ob, SOS, 2000, 300.0 + k) for k in range(5)]
    topics = dict(kept(ob))
    assert all(topics[s] == SOS for s in sos)
    # Only SOS left to keep: once summaries and events are gone, a full disk is an error the
    # daemon reports, and not one SOS was evicted on the way.
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for k in range(1000):
            sos.append(put(ob, SOS, 2000, 400.0 + k))
    topics = dict(kept(ob))
    assert set(topics.values()) == {SOS} and set(topics) == set(sos)
    assert ob.status(0.0)["outbox_bytes"] == sum(len(p) for _, _, p in ob.peek(0, 10_000))
    ob.close()
