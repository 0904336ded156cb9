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
