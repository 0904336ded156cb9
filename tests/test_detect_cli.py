"""`machimori detect`: NAB results format out, bad rows named and skipped."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from machimori.cli import main


def write_series(path: Path, n: int, bad: dict[int, str] | None = None) -> None:
    rng = np.random.default_rng(1)
    t0 = np.datetime64("2024-07-01T00:00:00")
    lines = ["timestamp,value"]
    for i in range(n):
        ts = str(t0 + np.timedelta64(5 * i, "m")).replace("T", " ")
        lines.append((bad or {}).get(i, f"{ts},{20 + rng.normal():.3f}"))
    path.write_text("\n".join(lines) + "\n")


def test_detect_writes_nab_results_format(tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_series(src, 600)
    assert main(["detect", "--csv", str(src), "--out", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["timestamp", "value", "anomaly_score"]
    assert len(rows) == 601
    src_rows = list(csv.reader(src.open()))
    assert [r[0] for r in rows[1:]] == [r[0] for r in src_rows[1:]]
    scores = np.array([float(r[2]) for r in rows[1:]])
    assert ((scores >= 0) & (scores <= 1)).all()


def test_detect_names_bad_rows_and_keeps_going(tmp_path: Path, capsys) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_series(src, 50, bad={3: "2024-07-01 00:15:00,abc", 7: "not-a-time,1.0", 9: "lonely"})
    assert main(["detect", "--csv", str(src), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "row 5" in err and "row 9" in err and "row 11" in err and "3 bad row(s)" in err
    assert len(list(csv.reader(out.open()))) == 1 + 47


def test_detect_rejects_missing_header(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.csv"
    src.write_text("2024-07-01 00:00:00,1.0\n")
    assert main(["detect", "--csv", str(src)]) == 2
    assert "header" in capsys.readouterr().err


def test_both_detectors_find_a_level_shift_at_once(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    rng = np.random.default_rng(7)
    t0 = np.datetime64("2024-07-01T00:00:00")
    lines = ["timestamp,value"]
    for i in range(2000):
        ts = str(t0 + np.timedelta64(5 * i, "m")).replace("T", " ")
        lines.append(f"{ts},{20 + rng.normal() + (15 if i >= 1500 else 0):.3f}")
    src.write_text("\n".join(lines) + "\n")
    for detector, alarm in (("surprise", 0.3), ("ctx", 0.65)):
        out = tmp_path / f"{detector}.csv"
        assert main(["detect", "--csv", str(src), "--out", str(out),
                     "--detector", detector]) == 0
        scores = np.array([float(r[2]) for r in list(csv.reader(out.open()))[1:]])
        alarms = np.flatnonzero(scores >= alarm)
        after = alarms[alarms >= 1500]
        assert len(after) >= 1 and after[0] <= 1505, (detector, alarms)  # within 25 minutes
        assert len(after) <= 2, (detector, alarms)  # one episode, not a storm
        # nothing during the probation (15 % of the file); after it, plain noise makes a new
        # extreme now and then, which both may call an anomaly (rates in docs/kernels.md)
        assert (scores[:300] == 0).all()


def test_the_contextual_detector_takes_a_file_shorter_than_its_minimum_probation(
        tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_series(src, 30)  # 15 % would be 4 readings; it learns from 10
    assert main(["detect", "--csv", str(src), "--out", str(out), "--detector", "ctx"]) == 0
    assert len(list(csv.reader(out.open()))) == 31
