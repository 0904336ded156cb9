"""BTHome v2 decoder: spec examples, cross-checks against bthome-ble, encryption, replay, fuzzing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bthome_ble import BTHomeBluetoothDeviceData
from bthome_ble.const import MEAS_TYPES
from habluetooth import BluetoothServiceInfoBleak
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.decoders.bthome import DecodeError, decode
from gateway.decoders.tracker import BTHomeTracker
from machimori.contract import bthome as contract

VECTORS = json.loads((Path(__file__).parent / "vectors" / "bthome_spec.json").read_text())
MAC = "54:48:E6:8F:80:A5"
KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")


def reference(data: bytes, bindkey: bytes | None = None, mac: str = MAC) -> dict[str, object]:
    """What bthome-ble (Home Assistant's receiver) makes of the same service data."""
    adv = AdvertisementData(local_name="node", manufacturer_data={},
                            service_data={contract.SERVICE_UUID: data},
                            service_uuids=[contract.SERVICE_UUID], tx_power=None, rssi=-60,
                            platform_data=())
    info = BluetoothServiceInfoBleak("node", mac, -60, {}, {contract.SERVICE_UUID: data},
                                     [contract.SERVICE_UUID], "local", BLEDevice(mac, None, {}),
                                     adv, False, 0.0, None)
    dev = BTHomeBluetoothDeviceData(bindkey)
    update = dev.update(info)
    out: dict[str, object] = {k.key: v.native_value for k, v in update.entity_values.items()}
    out.update({k.key: v.native_value for k, v in update.binary_entity_values.items()})
    out.pop("signal_strength", None)  # RSSI, not advert content
    return out


# Our reading name -> bthome-ble's device class, from the two tables (same object ids).
_DEVICE_CLASS = {spec.name: str(MEAS_TYPES[oid].meas_format.device_class)
                 for oid, spec in contract.OBJECTS.items()
                 if spec.kind in ("sensor", "binary") and oid}


def ours_as_reference(data: bytes, **kw: object) -> dict[str, object]:
    """Our reading keyed the way bthome-ble keys it (device class, _1/_2 for repeats)."""
    r = decode(data, **kw)  # type: ignore[arg-type]
    names = [_DEVICE_CLASS[n] for n, _ in r.values]
    seen: dict[str, int] = {}
    out: dict[str, object] = {} if r.packet_id is None else {"packet_id": r.packet_id}
    for cls, (_, v) in zip(names, r.values, strict=True):
        if names.count(cls) > 1:
            seen[cls] = seen.get(cls, 0) + 1
            out[f"{cls}_{seen[cls]}"] = v
        else:
            out[cls] = v
    return out


@pytest.mark.parametrize("vec", VECTORS["vectors"], ids=lambda v: v["hex"])
def test_every_spec_example(vec: dict) -> None:
    r = decode(bytes.fromhex(vec["hex"]))
    assert r.values[0] == (vec["name"], vec["value"])
    assert r.encrypted is False and r.packet_id is None and r.unknown_object is None


def test_every_object_id_of_the_table_has_a_spec_example_or_is_special() -> None:
    covered = {bytes.fromhex(v["hex"])[1] for v in VECTORS["vectors"]}
    plain = {oid for oid, s in contract.OBJECTS.items() if s.kind in ("sensor", "binary")}
    # The rest of the plain ids are checked against bthome-ble below.
    assert len(covered & plain) >= 60
    assert set(contract.OBJECTS) == set(MEAS_TYPES)  # the whole current object list, no more


@pytest.mark.parametrize("oid", sorted(o for o, s in contract.OBJECTS.items()
                                      if s.kind in ("sensor", "binary") and o))
def test_each_plain_object_matches_bthome_ble(oid: int) -> None:
    spec = contract.OBJECTS[oid]
    raw = bytes(range(0x11, 0x11 + spec.length))
    data = bytes([0x40, oid]) + raw
    assert ours_as_reference(data) == reference(data)


def test_whole_heat_node_advert_byte_exact_and_same_as_bthome_ble() -> None:
    objs = contract.heat_node_objects(7, 88, 31.25, 62.5, 45000.0, 44.1, 35.0)
    data = contract.encode_service_data(objs)
    assert data.hex() == "400007015802350c023a1102ac0d036a180520aa44"
    r = decode(data)
    assert r.packet_id == 7
    assert r.values == (("battery", 88.0), ("temperature", 31.25), ("temperature", 44.1),
                        ("temperature", 35.0), ("humidity", 62.5), ("illuminance", 45000.0))
    assert r.all("temperature") == [31.25, 44.1, 35.0]
    assert ours_as_reference(data) == reference(data)


def test_events_text_raw_timestamp_and_device_info() -> None:
    # Button, dimmer, timestamp, text, raw, then device type and a 4-part firmware version.
    data = bytes.fromhex("44" "3a02" "3c0205" "505d396164" "530341424b" "5402beef" "f00100"
                         "f100010204")
    r = decode(data)
    assert r.trigger is True
    assert r.values == (("button", "double_press"), ("dimmer", "rotate_right"),
                        ("dimmer_steps", 5), ("timestamp", 1684093277), ("text", "ABK"),
                        ("raw", "beef"), ("device_type_id", 1), ("firmware_version", "4.2.1.0"))
    assert decode(bytes.fromhex("40f2000106")).values == (("firmware_version", "6.1.0"),)


def test_command_object_length_byte_counts_arguments() -> None:
    # 0x3B: length byte low 5 bits = number of argument bytes after the opcode.
    r = decode(bytes.fromhex("403b02" "03" "0a0b" "0161"))
    assert r.values == (("command", "step_up"), ("command_args", "0a0b"), ("battery", 97.0))


def test_unknown_object_stops_parsing_but_keeps_what_came_before() -> None:
    r = decode(bytes.fromhex("40" "0161" "7712" "0235"))
    assert r.values == (("battery", 97.0),)
    assert r.unknown_object == 0x77
    assert ours_as_reference(bytes.fromhex("400161770235")) == reference(
        bytes.fromhex("400161770235"))


@pytest.mark.parametrize("hexdata, reason", [
    ("", "truncated"), ("20", "version"), ("400235", "truncated"), ("4053", "truncated"),
    ("40530548", "truncated"), ("4053024142ff", "unknown_object"), ("4153", "no_bindkey"),
    ("4053 02 c328".replace(" ", ""), "bad_text"),
])
def test_bad_bytes_are_typed_rejections(hexdata: str, reason: str) -> None:
    data = bytes.fromhex(hexdata)
    if reason == "unknown_object":  # not an error: the reading says where parsing stopped
        assert decode(data).unknown_object == 0xFF
        return
    with pytest.raises(DecodeError) as e:
        decode(data)
    assert e.value.reason == reason


def test_encrypted_advert_decrypts_like_bthome_ble() -> None:
    objs = [(0x02, 25.06), (0x03, 50.55)]
    data = contract.encrypt_service_data(objs, KEY, MAC, counter=0x00112233)
    assert data[0] == 0x41 and data[-8:-4] == bytes.fromhex("33221100")
    r = decode(data, bindkey=KEY, mac=MAC)
    assert r.encrypted and r.counter == 0x00112233
    assert r.values == (("temperature", 25.06), ("humidity", 50.55))
    assert reference(data, KEY) == {"temperature": 25.06, "humidity": 50.55}


def test_encrypted_advert_with_wrong_key_mac_or_flipped_bit_is_rejected() -> None:
    data = contract.encrypt_service_data([(0x02, 25.0)], KEY, MAC, counter=5)
    for kw in ({"bindkey": bytes(16), "mac": MAC}, {"bindkey": KEY, "mac": "54:48:E6:8F:80:A6"}):
        with pytest.raises(DecodeError) as e:
            decode(data, **kw)  # type: ignore[arg-type]
        assert e.value.reason == "bad_mic"
    flipped = bytearray(data)
    flipped[2] ^= 1
    with pytest.raises(DecodeError) as e:
        decode(bytes(flipped), bindkey=KEY, mac=MAC)
    assert e.value.reason == "bad_mic"
    with pytest.raises(DecodeError) as e:
        decode(data, bindkey=KEY)
    assert e.value.reason == "no_mac"
    with pytest.raises(DecodeError) as e:
        decode(data, bindkey=b"short", mac=MAC)
    assert e.value.reason == "bad_key"


def test_replayed_counter_is_rejected_and_repeats_are_duplicates() -> None:
    t = BTHomeTracker()
    adv = [decode(contract.encrypt_service_data([(0x02, 20.0 + c)], KEY, MAC, counter=c),
                  bindkey=KEY, mac=MAC) for c in (10, 11, 12)]
    assert t.check(MAC, adv[0], 100.0) is None
    assert t.check(MAC, adv[0], 100.1) == "duplicate_packet"  # the node's own repeat
    assert t.check(MAC, adv[1], 110.0) is None
    assert t.check(MAC, adv[0], 111.0) == "replay"  # an older counter, replayed later
    assert t.check(MAC, adv[1], 130.0) == "replay"  # the same counter long after
    assert t.check(MAC, adv[2], 131.0) is None
    t.forget(MAC)  # re-enrolment after a node reset accepts any counter again
    assert t.check(MAC, adv[0], 140.0) is None


def test_packet_id_dedup_window_and_wrap() -> None:
    t = BTHomeTracker()

    def pid(p: int) -> object:
        return decode(contract.encode_service_data([(0x00, p), (0x01, 50)]))

    assert t.check("A", pid(254), 0.0) is None  # type: ignore[arg-type]
    assert t.check("A", pid(254), 0.1) == "duplicate_packet"  # type: ignore[arg-type]
    assert t.check("A", pid(253), 0.2) == "duplicate_packet"  # type: ignore[arg-type]
    assert t.check("A", pid(1), 0.3) is None  # type: ignore[arg-type]  # wrapped: newer
    assert t.check("A", pid(1), 10.0) is None  # type: ignore[arg-type]  # too late to be a repeat
    assert t.check("B", pid(1), 10.0) is None  # type: ignore[arg-type]  # per device


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40), st.one_of(st.none(), st.binary(min_size=16, max_size=16)))
def test_fuzz_only_typed_rejections(data: bytes, key: bytes | None) -> None:
    try:
        r = decode(data, bindkey=key, mac=MAC)
    except DecodeError as e:
        assert re.fullmatch(r"[a-z_]+", e.reason)
        return
    assert all(isinstance(n, str) for n, _ in r.values)


def _comparable(oids: list[int]) -> bool:
    # bthome-ble numbers repeats per format, so e.g. volume in L and in mL (same device class,
    # two formats) land on one key there and overwrite each other: leave such mixes out.
    fmt: dict[str, object] = {}
    for o in oids:
        f = MEAS_TYPES[o].meas_format
        if fmt.setdefault(_DEVICE_CLASS[contract.OBJECTS[o].name], f) is not f:
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(sorted(o for o, s in contract.OBJECTS.items()
                                        if s.kind == "sensor" and o)),
                min_size=1, max_size=6).map(sorted).filter(_comparable),
       st.randoms(use_true_random=False))
def test_fuzz_valid_adverts_agree_with_bthome_ble(oids: list[int], rnd: object) -> None:
    data = bytearray([0x40])
    for oid in oids:
        data.append(oid)
        data += bytes(rnd.randrange(256) for _ in range(contract.OBJECTS[oid].length))  # type: ignore[attr-defined]
    assert ours_as_reference(bytes(data)) == reference(bytes(data))


def test_replay_protection_survives_a_restart() -> None:
    """A captured encrypted advert replayed after the gateway restarted is still refused."""
    key = bytes(range(16))
    mac = "A4:C1:38:00:00:01"
    older, newer = (contract.encrypt_service_data([(0x02, 25.0)], key, mac, c) for c in (7, 8))
    before = BTHomeTracker()
    assert before.check(mac, decode(newer, key, mac), 100.0) is None
    saved = before.counters()
    after = BTHomeTracker()
    after.restore(saved)
    assert after.check(mac, decode(older, key, mac), 1000.0) == "replay"
    fresh = BTHomeTracker()
    assert fresh.check(mac, decode(older, key, mac), 1000.0) is None  # what a restart would do


def test_a_new_encryption_counter_is_new_whatever_its_packet_id() -> None:
    """Encrypted adverts are de-duplicated by their counter; a packet id that did not move
    forward (a device that sends one anyway) must not make a new advert a duplicate."""
    key = bytes(range(16))
    mac = "A4:C1:38:00:00:02"
    t = BTHomeTracker()
    for ts, counter, packet in ((0.0, 1, 5), (1.0, 2, 5), (2.0, 3, 200)):
        data = contract.encrypt_service_data([(0x00, packet), (0x02, 25.0)], key, mac, counter)
        assert t.check(mac, decode(data, key, mac), ts) is None, (counter, packet)
    again = contract.encrypt_service_data([(0x00, 200), (0x02, 25.0)], key, mac, 3)
    assert t.check(mac, decode(again, key, mac), 2.5) == "duplicate_packet"
