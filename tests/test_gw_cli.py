"""The installer's commands, run as `machimori gw ...` against the sim's devices on ptys."""

from __future__ import annotations

import json
import stat
import threading
import time
from pathlib import Path

import pytest

from gateway import skstack as sk
from gateway.config import load
from machimori.cli import main
from machimori.contract import bthome
from machimori.contract import tag as tagfmt
from sim.meter_bridge import MeterBridge
from sim.pty_device import PtyDevice
from sim.routeb import DEFAULT_PASSWORD, DEFAULT_RBID, SmartMeter, WisunModule
from tests.harness import Mosquitto

KEY = "231d39c1d7cc1ab1aee224cd096db932"
MAC = "54:48:E6:8F:80:A5"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().out


def test_decode_encrypted_bthome_with_units(capsys: pytest.CaptureFixture[str]) -> None:
    sd = bthome.encrypt_service_data([(0x02, 25.06), (0x03, 50.55)], bytes.fromhex(KEY), MAC, 9)
    rc, out = run(capsys, "gw", "decode", "--service-data", f"fcd2={sd.hex()}", "--mac", MAC,
                  "--bindkey", KEY)
    assert rc == 0
    assert json.loads(out) == {"readings": [{
        "address": MAC, "kind": "bthome", "encrypted": True, "trigger": False,
        "packet_id": None, "counter": 9, "values": [
            {"name": "temperature", "value": 25.06, "unit": "°C"},
            {"name": "humidity", "value": 50.55, "unit": "%"}]}], "rejected": {}}
    rc, out = run(capsys, "gw", "decode", "--service-data", f"fcd2={sd.hex()}", "--mac", MAC)
    assert rc == 1 and json.loads(out)["rejected"]["rejected_bthome_no_bindkey"] == 1


def test_decode_tag_and_echonet(capsys: pytest.CaptureFixture[str]) -> None:
    key = bytes(range(16))
    payload = tagfmt.encode(key, 1_780_000_000, 10, tagfmt.FLAG_FALL, 64, 2)
    rc, out = run(capsys, "gw", "decode", "--manufacturer-data", f"0xFFFF={payload.hex()}",
                  "--tag-key", f"tag-7={key.hex()}", "--time", "1780000000")
    assert rc == 0
    values = json.loads(out)["readings"][0]["values"]
    assert values[0] == {"name": "tag", "value": "tag-7", "unit": ""}
    assert {"name": "fall", "value": True, "unit": ""} in values
    frame = "1081000102880105FF017203" "E704000004D2" "E00400000010" "E10101"
    rc, out = run(capsys, "gw", "decode", "--echonet", frame)
    assert rc == 0
    assert [(v["epc"], v.get("value"), v.get("unit")) for v in json.loads(out)["values"]] == [
        ("E7", 1234, "W"), ("E0", 1.6, "kWh"), ("E1", 0.1, "kWh")]
    rc, out = run(capsys, "gw", "decode", "--echonet", "1081")
    assert rc == 1 and json.loads(out)["error"] == "truncated"
    rc, out = run(capsys, "gw", "decode", "--service-data", "fcd2=zz")
    assert rc == 2 and json.loads(out)["error"] == "bad_argument"


def test_scan_against_the_sim_shows_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(capsys, "gw", "scan", "--sim", "--speed", "30", "--seconds", "1.5",
                  "--refresh", "0.3")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ADDRESS", "KIND", "RSSI", "RATE/min", "VALUES"]
    rows = [x for x in lines[2:] if x[:2] != "--" and ":" in x[:17]]
    kinds = {x.split()[1] for x in rows}
    assert "bthome" in kinds
    assert any("temperature=" in x and "°C" in x for x in rows)
    assert lines[-1].split()[1] == "devices;"


def test_enroll_writes_a_valid_config_and_names_bad_fields(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "gw.toml"
    rc, out = run(capsys, "gw", "enroll", "--config", str(cfg), "--gateway-id", "gw-07",
                  "--id", "heat-001", "--kind", "heat", "--address", "aa:bb:cc:dd:ee:01",
                  "--lat", "35.68", "--lon", "139.76", "--height-m", "1.5", "--mounting",
                  "pole", "--shade-class", "sun", "--key", KEY)
    assert rc == 0, out
    rc, out = run(capsys, "gw", "enroll", "--config", str(cfg), "--id", "tag-1", "--kind",
                  "tag", "--key", KEY, "--person", "p-1", "--household", "h-1")
    assert rc == 0, out
    c = load(cfg)
    assert [(d.id, d.kind) for d in c.devices] == [("heat-001", "heat"), ("tag-1", "tag")]
    heat = c.devices[0]
    assert (heat.address, heat.lat, heat.height_m, heat.mounting, heat.shade_class,
            heat.key) == ("AA:BB:CC:DD:EE:01", 35.68, 1.5, "pole", "sun", bytes.fromhex(KEY))
    rc, out = run(capsys, "gw", "enroll", "--config", str(cfg), "--id", "heat-002", "--kind",
                  "heat", "--lat", "35.0", "--lon", "139.0")
    assert rc == 2 and "device[2].address" in out and "needs its BLE address" in out
    assert len(load(cfg).devices) == 2  # the bad device was not written
    rc, out = run(capsys, "gw", "config", "validate", "--config", str(cfg))
    assert rc == 0 and out.startswith("OK gateway gw-07: 2 devices")
    # An inline broker password survives a later enrolment (dump() never writes secrets).
    cfg.write_text(cfg.read_text().replace("[mqtt]\n", '[mqtt]\npassword = "s3cret"\n', 1))
    rc, out = run(capsys, "gw", "enroll", "--config", str(cfg), "--id", "meter-1", "--kind",
                  "meter", "--household", "h-1")
    assert rc == 0, out
    assert load(cfg).mqtt.password == "s3cret" and len(load(cfg).devices) == 3
    cfg.write_text(cfg.read_text().replace('kind = "tag"', 'kind = "tga"'))
    rc, out = run(capsys, "gw", "config", "validate", "--config", str(cfg))
    assert rc == 2 and out.startswith("INVALID device[1].kind: must be one of heat, tag, meter")


def test_serial_probe_tells_the_devices_apart(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    mod = WisunModule(sk.BP35A1)
    with PtyDevice(mod.feed) as dev:
        rc, out = run(capsys, "gw", "serial", "probe", "--port", dev.path, "--timeout", "5")
    assert rc == 0 and json.loads(out) == {"port": dev.path, "device": "wisun",
                                           "layout": "BP35A1", "version": "1.2.10"}
    bridge = MeterBridge(tmp_path / "ttyB").plug()
    stop = threading.Event()
    ticker = threading.Thread(target=lambda: [bridge.line() for _ in iter(
        lambda: stop.wait(0.2), True)])  # a line every 0.2 s, as the firmware does every 10 s
    ticker.start()
    try:
        rc, out = run(capsys, "gw", "serial", "probe", "--port", bridge.port, "--timeout", "5")
    finally:
        stop.set()
        ticker.join()
        bridge.unplug()
    assert rc == 0 and json.loads(out)["device"] == "meter-bridge"
    with PtyDevice(lambda b: b"") as quiet:
        rc, out = run(capsys, "gw", "serial", "probe", "--port", quiet.path, "--timeout", "0.5")
    assert rc == 1 and json.loads(out)["device"] == "unknown"


def test_routeb_pair_stores_credentials_0600(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "gw.toml"
    run(capsys, "gw", "enroll", "--config", str(cfg), "--gateway-id", "gw-01", "--id", "m-1",
        "--kind", "meter", "--household", "h-1")
    mod = WisunModule(sk.BP35C2, SmartMeter(power_w=420, energy_count=1000))
    with PtyDevice(mod.feed) as dev:
        rc, out = run(capsys, "gw", "routeb", "pair", "--config", str(cfg), "--port", dev.path,
                      "--rbid", DEFAULT_RBID, "--password", DEFAULT_PASSWORD)
        assert rc == 0, out
        assert "joined the meter: 420 W, 100.0 kWh (BP35C2)" in out
        rc, out = run(capsys, "gw", "routeb", "pair", "--config", str(cfg), "--port", dev.path,
                      "--rbid", DEFAULT_RBID, "--password", "XXXXXXXXXXXX")
        assert rc == 1 and "join_failed" in out
    c = load(cfg)
    cred = Path(c.routeb.credentials_file)
    assert stat.S_IMODE(cred.stat().st_mode) == 0o600
    assert json.loads(cred.read_text()) == {"rbid": DEFAULT_RBID, "password": DEFAULT_PASSWORD}
    assert (c.routeb.port, c.routeb.layout) == (dev.path, "BP35C2")
    assert DEFAULT_PASSWORD not in cfg.read_text()  # the secret stays in the 0600 file


def test_status_and_selftest_against_a_real_broker(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    broker = Mosquitto(tmp_path / "mosq").start()
    try:
        cfg = tmp_path / "gw.toml"
        run(capsys, "gw", "enroll", "--config", str(cfg), "--gateway-id", "gw-01", "--id",
            "heat-1", "--kind", "heat", "--address", "AA:BB:CC:DD:EE:01")
        text = cfg.read_text().replace("mqtt://127.0.0.1:1883", broker.url)
        cfg.write_text(text.replace('source = "ble"', 'source = "sim"'))
        c = load(cfg)
        c.data_dir.mkdir(parents=True, exist_ok=True)
        (c.data_dir / "stats.json").write_text(json.dumps({
            "gw": "gw-01", "wall": time.time(), "outbox_depth": 3, "last_seq": 41,
            "connects": 1, "in_flight": 2, "last_seen": {"heat-1": time.time() - 5},
            "kernel_timings": {"wbgt_moe": "0.2 ms"}, "counters": {}}))
        rc, out = run(capsys, "gw", "status", "--config", str(cfg))
        assert rc == 0
        assert "gateway gw-01: running" in out and "outbox depth 3, last seq 41" in out
        assert "heat-1" in out and "last heard 5 s ago" in out and "kernel wbgt_moe" in out
        rc, out = run(capsys, "gw", "selftest", "--config", str(cfg))
        assert rc == 0, out
        assert [x.split()[:2] for x in out.splitlines()] == [
            ["PASS", "config"], ["PASS", "decoders"], ["PASS", "data_dir"], ["PASS", "broker"],
            ["PASS", "radio"]]
    finally:
        broker.stop()
    rc, out = run(capsys, "gw", "selftest", "--config", str(cfg))
    assert rc == 1 and any(x.startswith("FAIL  broker") for x in out.splitlines())
