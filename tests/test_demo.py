"""`machimori demo`, the README's first command: amqtt in its own process, the collector, three
gateways; it stops after --seconds and leaves no process behind."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from machimori.procs import free_port, wait_for


def children_of_demo(data: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-af", str(data)], capture_output=True, text=True,
                         check=False).stdout
    return [ln for ln in out.splitlines() if "pgrep" not in ln]


def test_demo_runs_and_stops_clean(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    port = free_port()
    r = subprocess.run([sys.executable, "-m", "machimori.cli", "demo", "--seconds", "12",
                        "--port", str(port), "--data-dir", str(data)],
                       capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"http://127.0.0.1:{port}/" in r.stdout and "stopped 5 processes" in r.stdout
    con = sqlite3.connect(data / "collector.sqlite")
    heat = con.execute("SELECT count(DISTINCT device) FROM summaries WHERE kind='heat'").fetchone()
    kinds = {k for (k,) in con.execute("SELECT DISTINCT kind FROM summaries")}
    states = dict(con.execute("SELECT id, state FROM gateways").fetchall())
    con.close()
    assert heat[0] == 30  # every heat node of the town reached the store
    assert kinds == {"heat", "presence", "meter", "people"}
    assert states == {"gw-01": "offline", "gw-02": "offline", "gw-03": "offline"}
    assert children_of_demo(data) == []
    assert (data / "admin-password.txt").stat().st_mode & 0o777 == 0o600
    # The ground truth for `machimori sim score`: the first SOS 15 simulated minutes in
    # (the demo starts before dawn, at 04:40).
    truth = [json.loads(x) for x in (data / "truth.jsonl").read_text().splitlines()]
    sos = [t for t in truth if t["kind"] == "sos"]
    assert sos and min(t["start"] for t in sos) == 1785700500.0  # 2026-08-03 04:55 JST


def test_demo_stops_on_sigint(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "machimori.cli", "demo", "--port", str(port),
                          "--data-dir", str(data)], stdout=subprocess.PIPE, text=True)
    running = threading.Event()

    def watch() -> None:  # reads in a thread, so the deadline below really is one
        assert p.stdout is not None
        for line in p.stdout:
            if "running" in line:
                running.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        wait_for(lambda: running.is_set() or p.poll() is not None, 120, "the demo to start")
        assert running.is_set(), f"the demo exited with {p.returncode} before running"
        p.send_signal(signal.SIGINT)
        assert p.wait(60) == 0
        assert children_of_demo(data) == []
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)  # the demo stops its children on SIGTERM too
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
