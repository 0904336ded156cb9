"""`machimori demo` shows the watch working: in its first minutes the simulated town raises an
SOS, a fall, a night wandering and a household with no sign of life, end to end (gateways →
MQTT → collector → alert engine → the demo's SMS recorder); for the household, the resident is
asked first and, without a reply, the chain starts. The gateways start with two weeks
of household watch learnt (machimori/demo_prelearn.py), so they judge from the first window."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from collector.watch.engine import CAUSES_JA
from machimori.procs import free_port, wait_for
from sim.town import sim_epoch

# What a responder's phone shows for each incident (the alert's cause, in Japanese).
WANTED = {"sos": CAUSES_JA["sos"], "fall": CAUSES_JA["fall"],
          "night_wandering": CAUSES_JA["night_wandering"],
          "no_sign_of_life": CAUSES_JA["inactivity"],
          "morning_rise_missing": CAUSES_JA["morning_rise_missing"]}
ASK = "お変わりありませんか"  # the question to the resident (collector/watch/templates.py)


def _sms(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:  # the recorder may be writing this line right now
            pass
    return out


def _told(path: Path) -> set[str]:
    bodies = [m["body"] for m in _sms(path)]
    return {kind for kind, text in WANTED.items() if any(text in b for b in bodies)}


def _resident_of(db: Path, household: str) -> int:
    """The demo's number of the person living in `household` (their phones: +8170<n>, their
    family's +8180<n>; machimori/demo_watch.py)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        (person,), = con.execute("SELECT id FROM watch_persons WHERE household = ?",
                                 (household,)).fetchall()
    finally:
        con.close()
    return int(person.removeprefix("person-"))


def _asked_then_chain(sms: Path, n: int) -> bool:
    """The resident was asked first, and — no reply — their family (tier 1) was told."""
    msgs = _sms(sms)
    asked = [m["at"] for m in msgs if m["to"] == f"+8170{n:08d}" and ASK in m["body"]]
    chain = [m["at"] for m in msgs
             if m["to"] == f"+8180{n:08d}" and CAUSES_JA["inactivity"] in m["body"]]
    return bool(asked and chain)


def test_demo_sends_sos_fall_wandering_and_no_life_sms(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    port = free_port()
    lines: list[str] = []
    p = subprocess.Popen([sys.executable, "-m", "machimori.cli", "demo", "--port", str(port),
                          "--data-dir", str(data), "--speed", "100"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def read() -> None:
        assert p.stdout is not None
        lines.extend(p.stdout)

    threading.Thread(target=read, daemon=True).start()
    sms = data / "sms.jsonl"
    try:
        wait_for(lambda: (data / "truth.jsonl").exists() or p.poll() is not None, 120,
                 "the demo's ground truth")
        truth = {t["kind"]: t for t in map(json.loads, (data / "truth.jsonl").read_text()
                                            .splitlines())}
        assert {"sos", "fall", "wandering", "no_life"} <= set(truth)
        assert truth["wandering"]["detect"] == ["night_wandering"]
        # The household has shown no sign of life since the previous day's breakfast.
        assert "no_sign_of_life" in truth["no_life"]["detect"]
        assert truth["no_life"]["start"] < sim_epoch("2026-08-03T04:40") - 12 * 3600
        # 04:40 → the hour 06:00–07:00 closes at 07:00: 8400 simulated s, 84 s at ×100; the
        # no-life household is reported in the gateways' first window, its resident asked,
        # and 30 simulated minutes later (18 s) the family told.
        wait_for(lambda: _told(sms) == set(WANTED) or p.poll() is not None, 240,
                 "SMS for the SOS, the fall, the night wandering and the no-life household")
        assert p.poll() is None, "".join(lines)
        assert _told(sms) == set(WANTED)
        n = _resident_of(data / "collector.sqlite", truth["no_life"]["household"])
        wait_for(lambda: _asked_then_chain(sms, n) or p.poll() is not None, 120,
                 "the no-life household's resident asked, then their family told")
        msgs = _sms(sms)
        asked = [m for m in msgs if m["to"] == f"+8170{n:08d}"]
        assert asked and all(ASK in m["body"] for m in asked)  # the resident is only asked
        told = [m for m in msgs if CAUSES_JA["inactivity"] in m["body"]]
        # Asked first: nobody hears of the household's inactivity before the resident is asked.
        assert min(m["at"] for m in told) > min(m["at"] for m in asked)
        assert told[0]["to"] == f"+8180{n:08d}"  # then the chain, from tier 1 (the family)
        # The wandering resident's family hears about it: the SMS names the incident and goes
        # to the family responder of that person (demo_watch: +8180 and the resident's number).
        w = int(truth["wandering"]["person"].removeprefix("person-"))
        to_family = [m for m in msgs if m["to"] == f"+8180{w:08d}"]
        assert any(CAUSES_JA["night_wandering"] in m["body"] for m in to_family)
        assert any("SMS →" in ln for ln in lines)  # the console shows who was told
        # `sim score` judges the alerts on the sim's clock and by the events that opened them:
        # every alert the SMS were about is a finding, none a false alarm.
        r = subprocess.run([sys.executable, "-m", "machimori.cli", "sim", "score", "--truth",
                            str(data / "truth.jsonl"), "--db", str(data / "collector.sqlite"),
                            "--json"], capture_output=True, text=True, timeout=120, check=True)
        alerts = json.loads(r.stdout)["alerts"]
        for kind in ("sos", "fall", "wandering", "no_life"):
            assert alerts["truth"][kind]["found"] >= 1, (kind, alerts["truth"])
        for kind in ("sos", "fall", "night_wandering", "no_sign_of_life"):
            assert alerts["reported"][kind]["false"] == 0, (kind, alerts["reported"])
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
    assert p.returncode == 0


def test_learnt_state_restores_past_learning(tmp_path: Path) -> None:
    """The written snapshot is what a gateway restores: past learning, nothing alarmed, and a
    gateway restart keeps it (an existing state.json is never overwritten by the demo)."""
    from gateway import config, state
    from gateway.kernels import watch
    from gateway.pipeline import Pipeline
    from machimori.demo_prelearn import write_learnt
    from sim.commands import write_town
    from sim.town import sim_epoch

    start = sim_epoch("2026-08-03T04:40")
    town, paths = write_town(tmp_path, "mqtt://127.0.0.1:1", speed=30.0, sim_start=start,
                             wall_anchor=time.time(), gateways=1, nodes=1, residents=4,
                             households=4)
    written = write_learnt(paths, town, start)
    assert len(written) == 1
    cfg = config.load(paths[0])
    p = Pipeline(cfg)
    assert state.load_into(p, cfg.data_dir / state.FILE) == "restored"
    local = start + cfg.watch.tz_offset_s
    assert len(p.meter_watch.state) == 4
    for st, profile in p.meter_watch.state.values():
        assert st[watch.M_LEARN_UNTIL] <= local  # judging from the first window
        assert (profile[:, 1] >= 2).all()  # every hour of the week seen at least twice
    assert p.tag_watch.started is not None and start - p.tag_watch.started >= 14 * 86400
    assert (p.tag_watch.counts >= cfg.watch.wander_min_count).all()  # home: not wandering
    assert not p.meter_watch.prev.any() and not p.tag_watch.missing_prev.any()
    before = (cfg.data_dir / state.FILE).read_bytes()
    assert write_learnt(paths, town, start) == []
    assert (cfg.data_dir / state.FILE).read_bytes() == before
    assert np.isfinite(p.tag_watch.last_seen).all()


def test_bad_start_and_quiet_hours_are_clear_errors(tmp_path: Path) -> None:
    import pytest

    from collector.watch.config import quiet_hours

    r = subprocess.run([sys.executable, "-m", "machimori.cli", "demo", "--start", "dawn",
                        "--data-dir", str(tmp_path / "d")], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 2 and "--start 'dawn'" in r.stdout
    assert not (tmp_path / "d").exists()  # nothing started, nothing written
    assert quiet_hours("22:00-07:00") == (1320, 420)
    assert quiet_hours("none") == (0, 0)
    for bad in ("22-7", "25:00-07:00", "22:00", "<script>-07:00", ""):
        with pytest.raises(ValueError, match="--quiet-hours"):
            quiet_hours(bad)
