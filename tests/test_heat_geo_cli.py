"""`machimori heat buildings|shade|route`: what a planner runs, on real and hand-made files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from machimori.cli import main

from .geo_scenes import END, START, write_osm
from .test_geo import NERIMA, OTA, PLATEAU


def test_buildings_from_plateau_tiles_with_sentinels(tmp_path: Path, capsys) -> None:
    out = tmp_path / "b.geojson"
    assert main(["heat", "buildings", "--citygml", str(PLATEAU / "51357456_bldg_6697_op.gml"),
                 str(PLATEAU / "51357441_bldg_Issue138.gml"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "[2/2]" in err and "97 buildings" in err
    feats = json.loads(out.read_text())["features"]
    assert len(feats) == 97
    assert all(0 < f["properties"]["height_m"] < 100 for f in feats)  # no 9999 m
    unknown = [f for f in feats if not f["properties"]["height_known"]]
    assert unknown and {f["properties"]["height_source"] for f in unknown} == {"lod1"}


def test_buildings_from_osm_and_from_the_simulated_town(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ota.geojson"
    assert main(["heat", "buildings", "--osm", str(OTA), "--out", str(out)]) == 0
    feats = json.loads(out.read_text())["features"]
    assert len(feats) > 2000 and feats[0]["properties"]["height_source"] == "tag"
    assert main(["heat", "buildings", "--sim-seed", "1"]) == 0
    sim = json.loads(capsys.readouterr().out)["features"]
    # The simulated town's own buildings: those that cast the sim's shade.
    from sim.town import build_town

    assert len(sim) == len(build_town(1).buildings) > 100
    assert {f["id"][:13] for f in sim} == {"sim:building-"}


@pytest.mark.parametrize("name", ["town.osm", "town.osm.bz2"])
def test_route_json_from_an_osm_file(tmp_path: Path, capsys, name: str) -> None:
    osm = write_osm(tmp_path / name)
    args = ["heat", "route", "--osm", str(osm), "--from", f"{START[0]},{START[1]}",
            "--to", f"{END[0]},{END[1]}", "--at", "2026-08-03T12:00", "--mode", "coolest",
            "--json"]
    assert main(args) == 0
    plan = json.loads(capsys.readouterr().out)
    assert set(plan) >= {"shortest", "cool"}
    assert plan["shortest"]["length_m"] == pytest.approx(200, abs=0.5)
    assert plan["cool"]["length_m"] == pytest.approx(280, abs=1)
    assert plan["cool"]["sun_m"] < plan["shortest"]["sun_m"]
    line = plan["cool"]["geometry"]
    assert line["type"] == "LineString"
    assert line["coordinates"][0] == [round(START[1], 7), round(START[0], 7)]
    assert line["coordinates"][-1] == [round(END[1], 7), round(END[0], 7)]


def test_route_with_a_buildings_file_and_a_summary(tmp_path: Path, capsys) -> None:
    osm = write_osm(tmp_path / "town.osm")
    b = tmp_path / "b.geojson"
    assert main(["heat", "buildings", "--osm", str(osm), "--out", str(b)]) == 0
    capsys.readouterr()
    assert main(["heat", "route", "--osm", str(NERIMA), "--buildings", str(b), "--from",
                 "35.742,139.66", "--to", "35.756,139.678", "--at", "2026-08-03T07:00"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("shortest: ") and "m in the sun" in out[0]
    assert out[1].strip().startswith("balanced: ")


def test_shade_day_file(tmp_path: Path) -> None:
    osm = write_osm(tmp_path / "town.osm")
    out = tmp_path / "shade.geojson"
    assert main(["heat", "shade", "--osm", str(osm), "--date", "2026-08-03", "--hours", "11-13",
                 "--out", str(out)]) == 0
    feats = json.loads(out.read_text())["features"]
    hours = {tuple(f["properties"]["sun"]) for f in feats}
    assert hours == {("11", "12", "13")}
    noon = sorted(f["properties"]["sun"]["12"] for f in feats)
    assert noon[0] < 0.3 and noon[-1] == 1.0


@pytest.mark.parametrize("extra, words", [
    (["--from", "35.7", "--to", "35.75,139.67"], "--from must be LAT,LON"),
    (["--from", "95,139", "--to", "35.75,139.67"], "is not a latitude,longitude"),
    (["--from", "35.0,139.0", "--to", "35.75,139.67"], "from the nearest street"),
    (["--from", "35.74,139.66", "--to", "35.75,139.67", "--at", "noon"], "--at must be an ISO 8601 time"),
])
def test_route_errors_are_one_clear_line(capsys, extra: list[str], words: str) -> None:
    assert main(["heat", "route", "--osm", str(NERIMA), *extra]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # after the progress line, if any
    assert words in last and last.startswith("heat route: ")


def test_unreadable_files_are_named(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.gml"
    bad.write_text("<not closed")
    assert main(["heat", "buildings", "--citygml", str(bad)]) == 2
    assert f"{bad}: not CityGML" in capsys.readouterr().err
    assert main(["heat", "route", "--osm", str(tmp_path / "none.osm"), "--from", "1,1",
                 "--to", "2,2"]) == 2
    assert "cannot read" in capsys.readouterr().err
