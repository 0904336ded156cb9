"""The simulated town as an independent oracle: readings through the firmware and the chip
emulators, its own physics, non-grid and real streets, ground truth on file and scored."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bthome_ble import BTHomeBluetoothDeviceData
from habluetooth import BluetoothServiceInfoBleak

from hw.emu import mlx90614, sht4x
from machimori.cli import main
from machimori.contract import bthome
from machimori.contract import tag as tagfmt
from sim import physics, streets, truth
from sim.hardware import (
    Calibration,
    HeatPhysical,
    TagWake,
    Wiring,
    ad_structures,
    fall_motion,
    heat_config,
    heat_wake,
    stumble_motion,
    tag_config,
    tag_wake,
)
from sim.places import node_in_shade, node_reading, place_state, weather
from sim.score import Reported, score
from sim.source import SimSource
from sim.town import build_town, sim_epoch

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("/work/shared/data")
if not DATA.exists():
    DATA = ROOT.parent / "shared" / "data"
NERIMA = DATA / "osm" / "tokyo_nerima_graphdecomposition.osm"
OTA = DATA / "osm" / "ota_plateau_buildings.osm"
PLATEAU = DATA / "plateau" / "51357456_bldg_6697_op.gml"
MAC = "F0:00:00:00:00:00"


# ---- layering

def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


# The sim's adapters produce the gateway's input types (Advert frames, configuration files,
# the Route-B module's SKSTACK/ECHONET tables); everything that computes the town is free of it.
ADAPTERS = {"source.py", "commands.py", "routeb.py"}


def test_sim_never_uses_gateway_code_for_its_truth() -> None:
    files = sorted((ROOT / "sim").glob("*.py"))
    assert len(files) > 10
    for f in files:
        gw = {m for m in _imports(f) if m == "gateway" or m.startswith("gateway.")}
        assert not {m for m in gw if m.startswith("gateway.kernels")}, f
        if f.name not in ADAPTERS:
            assert not gw, f"{f.name} imports {gw}"


def test_the_static_check_sees_a_kernel_import(tmp_path: Path) -> None:
    f = tmp_path / "x.py"
    f.write_text("from gateway.kernels.heat import wbgt_moe\nimport numpy\n")
    assert "gateway.kernels.heat" in _imports(f)


# ---- readings through the firmware and the emulators

def bthome_ble(service_data: bytes) -> dict[str, float]:
    uuid = bthome.SERVICE_UUID
    adv = AdvertisementData(local_name=None, manufacturer_data={}, service_data={uuid: service_data},
                            service_uuids=[uuid], tx_power=None, rssi=-60, platform_data=())
    info = BluetoothServiceInfoBleak("node", MAC, -60, {}, {uuid: service_data}, [uuid], "local",
                                     BLEDevice(MAC, None, {}), adv, False, 0.0, None)
    update = BTHomeBluetoothDeviceData().update(info)
    return {k.key + ("" if k.device_id is None else "_" + k.device_id): v.native_value
            for k, v in update.entity_values.items()}


def wake(phys: HeatPhysical, wiring: Wiring = Wiring(), globe: bool = True,  # noqa: B008
         seed: int = 1) -> tuple[bytes, object]:
    return heat_wake(phys, Calibration(), wiring, heat_config(globe), 42,
                     np.random.default_rng(seed))


def test_a_heat_advert_is_the_firmware_reading_the_emulated_chips() -> None:
    phys = HeatPhysical(31.37, 64.2, 23456.7, 47.83, 38.06, 3950)
    payload, _ = wake(phys)
    ads = ad_structures(payload)
    assert ads[0x01] == b"\x06"  # the firmware's Flags AD
    assert ads[0x16][:2] == b"\xd2\xfc"
    got = bthome_ble(ads[0x16][2:])  # an independent receiver
    assert got["packet_id"] == 42
    # Each value within its chip's resolution and noise of the physical value, through the
    # datasheet conversion (not the sim's own numbers).
    assert got["temperature_1"] == pytest.approx(
        -45 + 175 * sht4x.raw_temperature(31.37) / 65535, abs=0.06)
    assert got["humidity"] == pytest.approx(64.2, abs=0.3)
    assert got["temperature_2"] == pytest.approx(mlx90614.raw_kelvin50(47.83) / 50 - 273.15,
                                                 abs=0.2)
    assert got["temperature_3"] == pytest.approx(38.0625, abs=0.07)  # DS18B20: 1/16 °C steps
    assert got["illuminance"] == pytest.approx(23456.7, rel=0.04)
    assert got["battery"] == 75  # the firmware's Li-ion curve: 3.95 V is 75 %


def test_full_sun_saturates_the_bh1750() -> None:
    """Past the chip's range the count sticks at 0xFFFF: brighter light reads the same."""
    readings = []
    for lux in (150_000.0, 200_000.0):
        payload, s = wake(HeatPhysical(34.0, 50.0, lux, 60.0, 50.0, 3950))
        readings.append(bthome_ble(ad_structures(payload)[0x16][2:])["illuminance"])
        assert s.light.count == 0xFFFF  # type: ignore[attr-defined]
    assert readings[0] == readings[1] < 150_000 * 0.83


def test_the_town_at_noon_reads_light_through_the_bh1750s_range() -> None:
    """Noon sun at the brightest node: over the chip's full scale (at whatever MTreg the
    firmware sets) the advert says full scale, below it the light really there."""
    from sim.firmware import firmware
    from sim.places import _calibration

    full_scale = firmware().bh1750.centi_lux(0xFFFF) / 100
    town = build_town(1, gateways=1, nodes=30, residents=0, households=0)
    noon = sim_epoch("2026-08-03T12:00:00")
    i, n = max(enumerate(town.nodes),
               key=lambda k: physics.illuminance(place_state(town, k[1], noon)))
    assert not node_in_shade(n, weather(town, noon))
    real = physics.illuminance(place_state(town, n, noon)) * _calibration(town.seed, i).lux_gain
    assert real > 80_000  # summer noon sun
    r = node_reading(town, n, i, noon)
    assert r.illuminance is not None
    if real > full_scale * 1.02:
        assert r.light_count == 0xFFFF
        assert r.illuminance == pytest.approx(full_scale, rel=1e-3) and r.illuminance < real
    else:
        assert r.illuminance == pytest.approx(real, rel=0.03)


def test_crc_errors_are_refused_by_the_firmware_and_a_missing_chip_leaves_its_channel_out() -> None:
    phys = HeatPhysical(30.0, 60.0, 10_000.0, 40.0, None, 3950)
    payload, s = wake(phys, Wiring(light=False, crc_error_rate=1.0), globe=False)
    got = bthome_ble(ad_structures(payload)[0x16][2:])
    # Air failed every round, so no temperature at all (they are a prefix: air, surface, ...);
    # the unplugged BH1750 leaves illuminance out.
    assert not any(k.startswith("temperature") for k in got)
    assert "illuminance" not in got and "humidity" not in got
    assert s.errors >= 8  # type: ignore[attr-defined]


def test_a_stuck_sensor_repeats_one_value() -> None:
    vals = set()
    for seed, air in ((1, 30.0), (2, 33.0)):
        payload, _ = wake(HeatPhysical(air, 60.0, 1000.0, 40.0, None, 3950),
                          Wiring(stuck_air_c=28.5), globe=False, seed=seed)
        vals.add(bthome_ble(ad_structures(payload)[0x16][2:])["temperature_1"])
    assert vals == {28.5}


def test_tag_firmware_raises_a_fall_only_after_an_impact() -> None:
    key = bytes(range(16))
    cfg = tag_config(key)

    def flags(motion: tuple[tuple[int, int, int], ...], button: bool = False) -> tuple[int, int]:
        payload = tag_wake(key, cfg, TagWake(1_785_715_200, 3950, 4, 0, 0, button, motion))
        mfr = ad_structures(payload)[0xFF]
        assert mfr[0] | (mfr[1] << 8) == tagfmt.COMPANY_ID
        r = tagfmt.TagResolver({"t": key}).resolve(mfr[2:], 1_785_715_200)
        assert r is not None and r.tag == "t"
        return r.flags, r.events

    assert flags(()) == (0, 4)
    assert flags(fall_motion()) == (tagfmt.FLAG_FALL, 5)
    assert flags(stumble_motion()) == (0, 4)
    assert flags((), button=True) == (tagfmt.FLAG_SOS, 5)


# ---- the sim's own physics

def test_wbgt_truth_agrees_with_an_independent_liljegren_implementation() -> None:
    thermofeel = pytest.importorskip("thermofeel")
    # Liljegren's assumptions for the ground: as warm as the air, albedo 0.45.
    for elev, ta, rh, ws in ((65, 35, 45, 1.5), (30, 32, 55, 2.0), (45, 33, 60, 3.0),
                             (20, 30, 70, 1.0), (70, 36, 40, 4.0)):
        s = physics.sky(elev, 215, 0.1)
        p = physics.PlaceState(ta, rh, ws, s, 1.0, 1.0, ta, 0.45)
        mine = physics.wbgt(p).wbgt
        cz = math.sin(math.radians(elev))
        ref = float(thermofeel.calculate_wbgt_liljegren(
            np.array([ta + 273.15]), np.array([rh]), np.array([1010.0]), np.array([ws]),
            np.array([s.ghi]), np.array([s.dni * cz / s.ghi]), np.array([cz]))[0]) - 273.15
        assert abs(mine - ref) < 1.0, (elev, mine, ref)


def test_shade_and_night_are_cooler_than_sun() -> None:
    s = physics.sky(65, 215, 0.1)
    sun = physics.PlaceState(35, 45, 1.5, s, 1.0, 0.9, 55, 0.15)
    shade = physics.PlaceState(35, 45, 1.5, s, 0.0, 0.5, 38, 0.15)
    night = physics.PlaceState(28, 75, 1.0, physics.sky(-10, 215, 0.1), 0.0, 0.9, 27, 0.15)
    w_sun, w_shade = physics.wbgt(sun), physics.wbgt(shade)
    assert w_sun.globe > w_shade.globe + 8
    assert w_sun.wbgt > w_shade.wbgt + 2
    assert physics.globe_temperature(night) < 28  # radiating to a clear night sky
    # In shade the natural wet bulb stays near the psychrometric wet bulb (≈ 25.2 °C here);
    # in the sun the wick warms above it.
    assert abs(w_shade.natural_wet_bulb - 25.2) < 0.7
    assert w_sun.natural_wet_bulb > w_shade.natural_wet_bulb


# ---- streets

def grid(n: int = 8, step: float = 100.0) -> list[streets.Segment]:
    segs = []
    for i in range(n):
        for j in range(n - 1):
            segs.append(((i * step, j * step), (i * step, (j + 1) * step)))
            segs.append(((j * step, i * step), ((j + 1) * step, i * step)))
    return segs


def test_the_generated_street_pattern_is_not_a_grid() -> None:
    assert streets.orientation_order(grid()) > 0.99  # the measure itself: a grid is ordered
    for seed in (1, 2, 3):
        town = build_town(seed)
        segs = [(_m(town, a), _m(town, b)) for a, b in town.streets]
        assert streets.orientation_order(segs) < 0.3, seed


def _m(town: object, p: tuple[float, float]) -> tuple[float, float]:
    from sim.town import to_local

    return to_local(town.center, *p)  # type: ignore[attr-defined]


def _dist_to_segment(p: tuple[float, float], a: tuple[float, float],
                     b: tuple[float, float]) -> float:
    ax, ay = b[0] - a[0], b[1] - a[1]
    L2 = ax * ax + ay * ay or 1e-12
    t = max(0.0, min(1.0, ((p[0] - a[0]) * ax + (p[1] - a[1]) * ay) / L2))
    return math.dist(p, (a[0] + t * ax, a[1] + t * ay))


@pytest.mark.skipif(not NERIMA.exists(), reason="shared data not present")
def test_a_real_osm_town_puts_its_nodes_on_its_streets() -> None:
    town = build_town(1, town_file=NERIMA)
    assert town.origin == str(NERIMA)
    assert 35.73 < town.center[0] < 35.77 and 139.64 < town.center[1] < 139.69
    segs = [(_m(town, a), _m(town, b)) for a, b in town.streets]
    assert len(segs) > 1000
    for n in town.nodes:
        p = _m(town, (n.lat, n.lon))
        assert min(_dist_to_segment(p, a, b) for a, b in segs) < 4.0, n.id
    # A real street network is far from the generated one (and from a grid).
    assert 0.0 < streets.orientation_order(segs) < 0.9


@pytest.mark.skipif(not PLATEAU.exists(), reason="shared data not present")
def test_shade_follows_real_buildings_as_an_independent_ray_march_sees_it() -> None:
    """The sim's skyline against machimori.geo's height-raster shade, for the same buildings."""
    from machimori.geo import read_map
    from machimori.geo.frame import LocalFrame
    from machimori.geo.shade import height_grid, shaded

    town = build_town(1, nodes=30, town_file=PLATEAU)
    assert len(town.buildings) == 94
    m = read_map(str(PLATEAU))
    frame = LocalFrame(*town.center)
    grid_ = height_grid(m.buildings, frame)
    agree = total = 0
    for n in town.nodes:
        x, y = frame.to_xy(n.lat, n.lon)
        for az in range(5, 360, 10):
            sky_line = n.horizon[az // 10]
            for elev in (sky_line - 6, sky_line + 6):  # clearly below / above the skyline
                if not 2 < elev < 85:
                    continue
                theirs = bool(shaded(grid_, np.array([x]), np.array([y]), elev, az)[0])
                agree += theirs == (elev <= sky_line)
                total += 1
    assert total > 500
    assert agree / total > 0.9
    assert sum(max(n.horizon) > 10 for n in town.nodes) >= 10  # buildings do cast shade


# ---- determinism and restarts

def test_a_restarted_source_sends_the_same_bytes() -> None:
    town = build_town(4, gateways=1, nodes=6, residents=8, households=3)
    t0 = sim_epoch()
    a = SimSource(town, "gw-01", sim_start=t0)
    a.poll(t0)
    first = a.poll(t0 + 1200)  # the SOS at 15 minutes is inside
    later_a = a.poll(t0 + 2400)
    # "kill -9" and start again half-way: same anomalies clock, same bytes.
    b = SimSource(build_town(4, gateways=1, nodes=6, residents=8, households=3), "gw-01",
                  sim_start=t0)
    b.poll(t0 + 1200)
    later_b = b.poll(t0 + 2400)
    assert later_a == later_b
    assert first[0] and later_a[0] and later_a[1]
    tags = [x for x in first[0] if tagfmt.COMPANY_ID in x.manufacturer_data]
    assert tags


# ---- ground truth on file, and its scoring

def test_describe_writes_truth_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "describe", "--data-dir", str(tmp_path),
                 "--start", "2026-08-03T09:00:00"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert rows == doc["truth"]
    kinds = {r["kind"] for r in rows}
    assert {"sos", "fall", "sensor_stuck", "sensor_dead", "hospital", "holiday", "visitor",
            "stumble", "light_missing", "bus_noise"} <= kinds
    first_sos = min(r["start"] for r in rows if r["kind"] == "sos")
    assert first_sos == sim_epoch() + 15 * 60
    assert all(r["end"] >= r["start"] and r["devices"] for r in rows)


def test_scoring_counts_found_missed_false_and_explained() -> None:
    rows = [truth.TruthRow("sos", "tag-1", 1000.0, 1300.0, ("tag-1",)),
            truth.TruthRow("fall", "tag-2", 5000.0, 5300.0, ("tag-2",)),
            truth.TruthRow("holiday", "meter-3", 0.0, 90_000.0, ("meter-3", "tag-3")),
            truth.TruthRow("stumble", "tag-4", 7000.0, 7005.0, ("tag-4",))]
    reported = [Reported("sos", "tag-1", 1060.0), Reported("sos", "tag-1", 1120.0),
                Reported("sos", "tag-9", 1100.0),  # nobody pressed it
                Reported("tag_not_seen", "tag-3", 30_000.0),  # on holiday: explained
                Reported("fall", "tag-4", 7060.0),  # a stumble called a fall
                Reported("surface_hot_spot", "heat-1", 100.0)]
    s = score(rows, reported)
    assert (s.by_truth["sos"].found, s.by_truth["sos"].delays) == (1, [60.0])
    assert (s.by_truth["fall"].truth, s.by_truth["fall"].found) == (1, 0)
    assert s.by_report["sos"].precision == pytest.approx(2 / 3)
    assert s.by_report["fall"].precision == 0.0
    assert s.by_report["tag_not_seen"].explained == 1
    assert s.by_report["tag_not_seen"].precision is None
    assert s.by_report["surface_hot_spot"].unjudged == 1
    assert [r.device for r in s.false_alarms] == ["tag-9", "tag-4"]
    # Truth that starts after the run ended was never injected: not a miss.
    assert "fall" not in score(rows, reported, until=4000.0).by_truth


def test_sim_score_reads_the_collectors_events(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A small town through the real pipeline, outbox and collector store, scored by the CLI."""
    from collector.store import Store
    from gateway.config import SimSourceConfig
    from gateway.outbox import Outbox
    from gateway.pipeline import Pipeline, emit
    from sim.commands import gateway_configs

    town = build_town(1, gateways=2, nodes=6, residents=10, households=4)
    t0 = sim_epoch()
    truth.write(tmp_path / "truth.jsonl", truth.rows_for(town, t0))
    store = Store(tmp_path / "collector.sqlite")
    for cfg in gateway_configs(town, tmp_path, "mqtt://127.0.0.1:1", SimSourceConfig()):
        src = SimSource(town, cfg.id, sim_start=t0)
        pipe = Pipeline(cfg)
        outbox = Outbox(tmp_path / f"{cfg.id}.sqlite")
        src.poll(t0)
        pipe.tick(t0)
        t = t0
        for _ in range(40):  # 40 simulated minutes: the SOS at 15 and the fall at 25
            t += 60
            adverts, lines = src.poll(t)
            for adv in adverts:
                pipe.on_advert(adv)
            for dev, raw, ts in lines:
                pipe.on_pulse_line(dev, raw, ts)
            emit(cfg.id, pipe.tick(t), outbox, t, pipe.counters)
        store.ingest([(topic, payload) for _, topic, payload in outbox.peek(0, 10_000)])
        outbox.close()
    store.close()
    rc = main(["sim", "score", "--truth", str(tmp_path / "truth.jsonl"), "--db",
               str(tmp_path / "collector.sqlite"), "--until", str(t0 + 2400), "--json"])
    assert rc == 0
    got = json.loads(capsys.readouterr().out)["events"]
    assert got["truth"]["sos"]["found"] == got["truth"]["sos"]["injected"] == 1
    assert got["truth"]["fall"]["found"] == 1
    assert got["truth"]["sos"]["delays_s"][0] < 120
    assert got["reported"]["sos"]["precision"] == 1.0
    # The tables a person reads.
    assert main(["sim", "score", "--truth", str(tmp_path / "truth.jsonl"), "--db",
                 str(tmp_path / "collector.sqlite"), "--until", str(t0 + 2400)]) == 0
    text = capsys.readouterr().out
    assert "| sos | 1 | 1 | 1.00 |" in text


@pytest.mark.parametrize("line, message", [
    ("{not json", "line 1"),
    (('{"schema": "machimori/truth/1", "kind": "meteor", "device": "x", "devices": ["x"], '
     '"start": 1, "end": 2}'), "unknown kind 'meteor'"),
    (('{"schema": "machimori/truth/1", "kind": "sos", "device": "x", "devices": ["x"], '
     '"start": 5, "end": 2}'), "end before start"),
    ('{"kind": "sos"}', "not a machimori/truth/1 row"),
])
def test_a_bad_truth_file_is_refused_with_its_line(tmp_path: Path, line: str,
                                                   message: str) -> None:
    (tmp_path / "truth.jsonl").write_text(line + "\n")
    from collector.store import Store

    Store(tmp_path / "c.sqlite").close()
    with pytest.raises(SystemExit) as e:
        main(["sim", "score", "--truth", str(tmp_path / "truth.jsonl"), "--db",
              str(tmp_path / "c.sqlite")])
    assert message in str(e.value) and "truth.jsonl:1" in str(e.value)


def test_score_refuses_a_missing_database(tmp_path: Path) -> None:
    truth.write(tmp_path / "truth.jsonl", [])
    with pytest.raises(SystemExit, match="no such database"):
        main(["sim", "score", "--truth", str(tmp_path / "truth.jsonl"), "--db",
              str(tmp_path / "nope.sqlite")])


def test_a_bad_town_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "town.osm"
    bad.write_text('<osm><way id="1"><nd ref="9"/></way></osm>')  # a way with no nodes
    with pytest.raises(SystemExit, match=r"^--town: .*town\.osm: no streets or buildings"):
        main(["sim", "describe", "--town", str(bad)])
    bad.write_text('<osm><way id="1"><nd ref="9"/></way></os')  # cut off
    with pytest.raises(SystemExit, match=r"^--town: .*town\.osm: not OSM XML"):
        main(["sim", "describe", "--town", str(bad)])
    with pytest.raises(SystemExit, match="no such file"):
        main(["sim", "describe", "--town", str(tmp_path / "none.osm")])


def test_score_refuses_a_database_that_is_not_the_collectors(tmp_path: Path) -> None:
    import sqlite3

    truth.write(tmp_path / "truth.jsonl", [])
    con = sqlite3.connect(tmp_path / "other.sqlite")
    con.execute("CREATE TABLE t (x)")
    con.close()
    with pytest.raises(SystemExit, match="not a collector database"):
        main(["sim", "score", "--truth", str(tmp_path / "truth.jsonl"), "--db",
              str(tmp_path / "other.sqlite")])
