"""Route-B over a real pty: the sim's Wi-SUN module, momonga as an independent client, ours."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from momonga import Momonga

from gateway import echonet
from gateway import skstack as sk
from gateway.decoders.errors import DecodeError
from gateway.routeb import RouteBClient, RouteBError
from sim.pty_device import PtyDevice
from sim.routeb import DEFAULT_PASSWORD, DEFAULT_RBID, SmartMeter, WisunModule


@pytest.fixture(params=["BP35A1", "BP35C2"])
def module(request: pytest.FixtureRequest) -> Iterator[tuple[WisunModule, PtyDevice]]:
    mod = WisunModule(sk.LAYOUTS[request.param],
                      SmartMeter(power_w=1234, energy_count=56789, unit_code=0x01,
                                 coefficient=2))
    dev = PtyDevice(mod.feed).open()
    yield mod, dev
    dev.close()


def test_momonga_and_the_gateway_read_the_same_values(module: tuple[WisunModule, PtyDevice]
                                                      ) -> None:
    mod, dev = module
    m = Momonga(DEFAULT_RBID, DEFAULT_PASSWORD, dev=dev.path)
    m.internal_xmit_interval = 0
    with m:
        theirs = (m.get_instantaneous_power(), m.get_measured_cumulative_energy())
    ours = RouteBClient(dev.path, DEFAULT_RBID, DEFAULT_PASSWORD).open()
    try:
        ours.join()
        assert ours.layout is mod.layout  # detected from EINFO
        r = ours.read()
    finally:
        ours.close()
    assert theirs[0] == r.power_w == 1234
    assert theirs[1] == pytest.approx(r.energy_kwh) and r.energy_kwh == 11357.8  # 56789×0.1×2
    sends = [x for x in mod.log if x.startswith("SKSENDTO")]
    # Byte-exact request on the wire: Get E1+D3, then Get E7+E0 (TIDs 1 and 2).
    side = " 0" if mod.layout.has_side else ""
    assert sends[-2:] == [
        f"SKSENDTO 1 {mod.meter_ip6} 0E1A 2{side} 0010 <1081000105ff010288016202e100d300>",
        f"SKSENDTO 1 {mod.meter_ip6} 0E1A 2{side} 0010 <1081000205ff010288016202e700e000>"]


def test_rejoins_after_session_expiry_when_reauthentication_fails(
        module: tuple[WisunModule, PtyDevice]) -> None:
    mod, dev = module
    c = RouteBClient(dev.path, DEFAULT_RBID, DEFAULT_PASSWORD).open()
    try:
        c.join()
        assert c.read().power_w == 1234
        mod.rejoin_ok = False
        dev.write(mod.expire_session())  # EVENT 29 then EVENT 24: the module gave up
        mod.meter.power_w = 999
        assert c.read().power_w == 999
        assert c.counters["session_expired"] == 1 and c.counters["rejoin_failed"] == 1
        assert c.counters["joins"] == 2
        assert [x for x in mod.log if x.startswith("SKJOIN")] == [
            f"SKJOIN {mod.meter_ip6}"] * 2
        mod.rejoin_ok = True
        dev.write(mod.expire_session())  # EVENT 29 then 25: no SKJOIN needed
        assert c.read().power_w == 999 and c.counters["joins"] == 2
    finally:
        c.close()


def test_wrong_credentials_are_typed_failures(module: tuple[WisunModule, PtyDevice]) -> None:
    _, dev = module
    c = RouteBClient(dev.path, DEFAULT_RBID, "WRONGPASSWRD").open()
    try:
        with pytest.raises(RouteBError) as e:
            c.join()
        assert e.value.reason == "join_failed"
    finally:
        c.close()
    c = RouteBClient(dev.path, "F" * 32, DEFAULT_PASSWORD, scan_durations=(4, 4)).open()
    try:
        with pytest.raises(RouteBError) as e:
            c.join()
        assert e.value.reason == "scan_failed"
    finally:
        c.close()


@pytest.mark.parametrize("layout", [sk.BP35A1, sk.BP35C2])
def test_module_lines_are_byte_exact(layout: sk.Layout) -> None:
    mod = WisunModule(layout, SmartMeter(power_w=-5, energy_count=7), echo=False)
    side = " 0" if layout.has_side else ""
    assert mod.feed(b"ROPT\r") == b"OK 01\r"
    assert mod.feed(b"SKINFO\r\n") == (
        f"EINFO FE80:0000:0000:0000:021D:1290:1234:5678 001D129012345678 21 FFFF "
        f"{'0' if layout.has_side else 'FFFE'}\r\nOK\r\n").encode()
    mod.feed(f"SKSETRBID {DEFAULT_RBID}\r\nSKSETPWD C {DEFAULT_PASSWORD}\r\n".encode())
    scan = mod.feed(sk.skscan(layout, 6))
    assert scan == (
        f"OK\r\nEVENT 20 FE80:0000:0000:0000:C2F9:4500:4012:3456{side}\r\n"
        "EPANDESC\r\n  Channel:21\r\n  Channel Page:09\r\n  Pan ID:8888\r\n"
        "  Addr:C0F9450040123456\r\n  LQI:E1\r\n" + ("  Side:0\r\n" if side else "")
        + f"  PairID:CCDDEEFF\r\nEVENT 22 FE80:0000:0000:0000:021D:1290:1234:5678{side}\r\n"
    ).encode()
    mod.feed(b"SKSREG S2 21\r\nSKSREG S3 8888\r\n")
    assert mod.feed(f"SKJOIN {mod.meter_ip6}\r\n".encode()) == (
        f"OK\r\nEVENT 25 {mod.meter_ip6}{side}\r\n").encode()
    # The request arrives in two pieces, as serial data does.
    req = sk.sksendto(layout, mod.meter_ip6, echonet.get_request(0x1234, [0xE7]))
    assert mod.feed(req[:20]) == b""
    out = mod.feed(req[20:])
    mid = "E1 1 0" if side else "1"
    rx = (f"ERXUDP {mod.meter_ip6} {mod.ip6} 0E1A 0E1A C0F9450040123456 {mid} 0012 "
          "10811234028801" "05FF01" "7201" "E704FFFFFFFB\r\n")
    assert out == (f"EVENT 21 {mod.meter_ip6}{side} 00\r\nOK\r\n" + rx).encode()
    assert sk.parse(layout, out.split(b"\r\n")[2].decode()).data == echonet.build(  # type: ignore[union-attr]
        0x1234, echonet.GET_RES, [(0xE7, (-5).to_bytes(4, "big", signed=True))],
        echonet.SMART_METER, echonet.CONTROLLER)
    assert mod.feed(b"BOGUS 1\r\n") == b"FAIL ER04\r\n"
    assert mod.feed(b"SKSETPWD 5 abc\r\n") == b"FAIL ER06\r\n"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_fuzz_echonet_frames_only_typed_rejections(data: bytes) -> None:
    try:
        f = echonet.parse(data)
    except DecodeError as e:
        assert e.reason in ("truncated", "not_echonet")
        return
    try:
        echonet.describe(f)
    except DecodeError as e:
        assert e.reason in ("bad_length", "bad_unit")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([sk.BP35A1, sk.BP35C2]),
       st.lists(st.sampled_from(["EVENT", "ERXUDP", "21", "FE80::1", "0E1A", "zz", "0004",
                                 "01020304", "1", "0"]), max_size=12))
def test_fuzz_skstack_lines_only_typed_rejections(layout: sk.Layout, words: list[str]) -> None:
    try:
        sk.parse(layout, " ".join(words))
    except DecodeError as e:
        assert e.reason in ("bad_line", "bad_erxudp")
