"""`machimori heat indices`: columns as documented, values from the kernels, bad rows named."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from machimori.cli import build_parser, main

ROWS = """timestamp,ta,rh,wind,solar,pressure,tg,tnw
2024-08-01T13:00:00,34.5,55,2.0,850,1008,52,28
2024-08-01T13:10:00+09:00,35.0,50,2.5,,,,
2024-08-01T15:00:00,abc,50,2.5,700,,,
2024-08-01T16:00:00,33.0,150,2.5,700,,,
2024-08-01T23:00:00,29.0,75,1.0,0,,,
"""


def test_heat_indices_columns_and_values(tmp_path: Path, capsys) -> None:
    src, out = tmp_path / "w.csv", tmp_path / "o.csv"
    src.write_text(ROWS)
    assert main(["heat", "indices", "--csv", str(src), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "row 4" in err and "ta='abc'" in err and "row 5" in err and "rh=150.0" in err
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3
    first = rows[0]
    assert float(first["wbgt_measured"]) == pytest.approx(0.7 * 28 + 0.2 * 52 + 0.1 * 34.5,
                                                          abs=0.01)
    assert float(first["wbgt_indoor"]) == pytest.approx(0.7 * 28 + 0.3 * 52, abs=0.01)
    moe = (0.735 * 34.5 + 0.0374 * 55 + 0.00292 * 34.5 * 55 + 7.619 * 0.85 - 4.557 * 0.85 ** 2
           - 0.0572 * 2.0 - 4.064)
    assert float(first["wbgt_moe"]) == pytest.approx(moe, abs=0.01)
    assert first["level"] == "4" and first["level_ja"] == "危険"
    # UTCI from the globe: Tmrt by ISO 7726 (wind 2 m/s at 10 m -> 2 m by the kernel's own
    # profile, read back from the Liljegren input), checked against pythermalcomfort's UTCI.
    tmrt = float(first["tmrt"])
    assert 52 < tmrt < 90  # a sunlit globe at 52 °C over 34.5 °C air
    from pythermalcomfort.models import utci as ref_utci

    want = ref_utci(tdb=34.5, tr=tmrt, v=2.0, rh=55, round_output=False)
    want = float(getattr(want, "utci", want))
    assert float(first["utci"]) == pytest.approx(want, abs=0.05)
    assert rows[1]["utci"] == "" and rows[1]["tmrt"] == ""  # no globe, no UTCI
    # sun up in the afternoon, down at 23:00 JST
    assert float(rows[0]["cos_zenith"]) > 0.5 and float(rows[2]["cos_zenith"]) < 0
    assert rows[1]["wbgt_measured"] == "" and rows[2]["heat_index"] != ""
    # a night row: Liljegren in the shade is below the sunlit afternoon
    assert float(rows[2]["wbgt_liljegren"]) < float(rows[0]["wbgt_liljegren"])


def test_heat_indices_missing_column(tmp_path: Path, capsys) -> None:
    src = tmp_path / "w.csv"
    src.write_text("timestamp,ta,rh\n2024-08-01T13:00:00,30,50\n")
    assert main(["heat", "indices", "--csv", str(src)]) == 2
    assert "wind" in capsys.readouterr().err


def test_help_documents_every_column() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["heat"]
    indices = next(a for a in sub._actions if a.dest == "heat_command").choices["indices"]
    text = indices.format_help()
    for col in ("timestamp", "ta", "rh", "wind", "solar", "pressure", "tg", "tnw",
                "wbgt_liljegren", "wbgt_moe", "heat_index", "level_ja"):
        assert col in text
    doc = (Path(__file__).parents[1] / "docs" / "kernels.md").read_text()
    for col in ("solar", "pressure", "tg", "tnw", "--wind-height", "--utc-offset"):
        assert col in doc
