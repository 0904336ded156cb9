"""BTHome v2 decoder: spec examples, cross-checks against bthome-ble, encryption, replay, fuzzing."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
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


# Entities bthome-ble shows besides sensors: text, raw bytes (hex) and the timestamp (datetime).
_DEVICE_CLASS.update(text="text", raw="raw", timestamp="timestamp")


def ours_as_reference(data: bytes, **kw: object) -> dict[str, object]:
    """Our reading keyed the way bthome-ble keys it (device class, _1/_2 for repeats); a refusal
    is an empty dict, as bthome-ble then shows nothing. Events and commands are not entities
    there (they fire events), so they are left out here."""
    try:
        r = decode(data, **kw)  # type: ignore[arg-type]
    except DecodeError:
        return {}
    kept = [(n, v) for n, v in r.values if n in _DEVICE_CLASS]
    names = [_DEVICE_CLASS[n] for n, _ in kept]
    seen: dict[str, int] = {}
    out: dict[str, object] = {} if r.packet_id is None else {"packet_id": r.packet_id}
    for cls, (_, v) in zip(names, kept, strict=True):
        if cls == "timestamp":
            v = datetime.fromtimestamp(v, UTC)  # type: ignore[arg-type]
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


# --- bthome-ble parity on the held-out cases: MAC in payload, truncated tail, downgrade ---------

DEVICE_MAC = "A4:C1:38:12:34:56"  # the device's own MAC, carried in the payload (random address)


def test_mac_in_payload_plain_is_read_and_skipped_like_bthome_ble() -> None:
    data = contract.encode_service_data([(0x01, 97), (0x02, 25.5)], mac=DEVICE_MAC)
    assert data[0] == 0x42 and data[1:7] == bytes.fromhex("563412 38c1a4")
    r = decode(data)
    assert r.mac == DEVICE_MAC and r.values == (("battery", 97.0), ("temperature", 25.5))
    assert reference(data) == {"battery": 97, "temperature": 25.5}
    assert ours_as_reference(data) == reference(data)


def test_mac_in_payload_encrypted_uses_that_mac_for_the_nonce() -> None:
    data = contract.encrypt_service_data([(0x02, 25.06), (0x03, 50.55)], KEY, DEVICE_MAC, 9,
                                         mac_in_payload=True)
    assert data[0] == 0x43
    # The advert comes from a random address (MAC): only the payload's MAC opens it.
    r = decode(data, bindkey=KEY, mac=MAC)
    assert r.encrypted and r.mac == DEVICE_MAC and r.counter == 9
    assert r.values == (("temperature", 25.06), ("humidity", 50.55))
    assert reference(data, KEY, mac=MAC) == {"temperature": 25.06, "humidity": 50.55}
    # The same sealed bytes with the MAC flag cleared would need the advertiser's address.
    with pytest.raises(DecodeError) as e:
        decode(bytes([0x41]) + data[7:], bindkey=KEY, mac=MAC)
    assert e.value.reason == "bad_mic"
    assert reference(bytes([0x41]) + data[7:], KEY, mac=MAC) == {}


def test_mac_flag_without_six_mac_bytes_is_refused_by_both() -> None:
    for h in ("42", "42a4c1", "43a4c138"):
        with pytest.raises(DecodeError) as e:
            decode(bytes.fromhex(h), bindkey=KEY if h.startswith("43") else None, mac=MAC)
        assert e.value.reason == "truncated"
        assert reference(bytes.fromhex(h), KEY if h.startswith("43") else None) == {}


@pytest.mark.parametrize("hexdata, kept", [
    ("40_0161_0235", {"battery": 97}),  # temperature cut to one byte
    ("40_0007_0161_02", {"packet_id": 7, "battery": 97}),  # temperature with no bytes
    ("40_0161_53", {"battery": 97}),  # text with no length byte
    ("40_0161_530548656c", {"battery": 97}),  # text shorter than its length byte
    ("40_0007_02", {"packet_id": 7}),  # only the packet id: still an update there
])
def test_truncated_tail_keeps_the_objects_before_it(hexdata: str, kept: dict) -> None:
    data = bytes.fromhex(hexdata.replace("_", ""))
    r = decode(data)
    assert r.dropped == "truncated"
    assert reference(data) == kept
    assert ours_as_reference(data) == kept


def test_text_that_is_not_utf8_costs_that_object_only() -> None:
    data = bytes.fromhex("40" "0161" "5302c328" "5402beef")
    r = decode(data)
    assert r.dropped == "bad_text" and r.values == (("battery", 97.0), ("raw", "beef"))
    assert reference(data) == ours_as_reference(data) == {"battery": 97, "raw": "beef"}


def test_plaintext_from_a_device_with_a_bindkey_is_a_downgrade() -> None:
    plain = contract.encode_service_data([(0x02, 25.0)])
    with pytest.raises(DecodeError) as e:
        decode(plain, bindkey=KEY, mac=MAC)
    assert e.value.reason == "downgrade"
    assert reference(plain, KEY) == {}
    assert reference(plain) == {"temperature": 25.0}  # the same bytes from a keyless device


def test_advert_decoder_counts_downgrade_partial_and_keys_by_payload_mac() -> None:
    from gateway.decoders.advert import AdvertDecoder
    from gateway.frames import Advert

    dec = AdvertDecoder(bindkeys={DEVICE_MAC: KEY})
    random_addr = "7B:11:22:33:44:55"
    sealed = contract.encrypt_service_data([(0x02, 30.0)], KEY, DEVICE_MAC, 1,
                                           mac_in_payload=True)
    out = dec.decode(Advert(random_addr, 0.0, -60, {contract.SERVICE_UUID: sealed}))
    assert [(d.address, d.reading.values) for d in out] == [(DEVICE_MAC,
                                                              (("temperature", 30.0),))]
    # plaintext claiming to be that device, from its payload MAC or from its address
    for adv_addr, sd in ((random_addr, contract.encode_service_data([(0x02, 99.0)],
                                                                    mac=DEVICE_MAC)),
                         (DEVICE_MAC, contract.encode_service_data([(0x02, 99.0)]))):
        assert dec.decode(Advert(adv_addr, 1.0, -60, {contract.SERVICE_UUID: sd})) == []
    assert dec.counters["rejected_bthome_downgrade"] == 2
    cut = bytes.fromhex("40" "0161" "0235")
    out = dec.decode(Advert("11:22:33:44:55:66", 2.0, -60, {contract.SERVICE_UUID: cut}))
    assert out[0].reading.values == (("battery", 97.0),)
    assert dec.counters["bthome_partial_truncated"] == 1


def test_encrypted_payload_needs_two_bytes_and_a_16_byte_key_as_in_bthome_ble() -> None:
    sealed = contract.encrypt_service_data([(0x01, 50)], KEY, MAC, 3)
    assert len(sealed) == 1 + 2 + 8
    assert ours_as_reference(sealed, bindkey=KEY, mac=MAC) == reference(sealed, KEY) == {
        "battery": 50}
    short = sealed[:1] + sealed[2:]  # one byte of ciphertext
    assert ours_as_reference(short, bindkey=KEY, mac=MAC) == reference(short, KEY) == {}
    long_key = KEY + KEY
    with pytest.raises(DecodeError) as e:
        decode(sealed, bindkey=long_key, mac=MAC)
    assert e.value.reason == "bad_key"
    assert reference(sealed, long_key) == {}


_NUMERIC = sorted(o for o, s in contract.OBJECTS.items() if s.kind in ("sensor", "binary"))
_UNKNOWN = sorted(set(range(256)) - set(contract.OBJECTS))


def _object_bytes(oid: int, rnd: random.Random) -> bytes:
    spec = contract.OBJECTS.get(oid)
    if spec is None:  # an id we do not know: parsing stops there on both sides
        return bytes([oid]) + rnd.randbytes(rnd.randrange(4))
    if spec.length:
        return bytes([oid]) + rnd.randbytes(spec.length)
    body = (rnd.choice([b"ok", "暑い".encode(), b"\xc3\x28", b""]) if oid == 0x53
            else rnd.randbytes(rnd.randrange(5)))
    return bytes([oid, len(body)]) + body


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_NUMERIC + [0x50, 0x53, 0x54]), max_size=5).map(sorted)
       .filter(lambda o: _comparable([x for x in o if x in MEAS_TYPES
                                      and MEAS_TYPES[x].meas_format is not None
                                      and contract.OBJECTS[x].name in _DEVICE_CLASS
                                      and x not in (0x50, 0x53, 0x54)]))
       .filter(lambda o: o.count(0x53) <= 1 and o.count(0x54) <= 1 and o.count(0x50) <= 1),
       st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans(),
       st.integers(0, 4), st.integers(0, 40), st.randoms(use_true_random=False))
def test_differential_generated_adverts_match_bthome_ble(
        oids: list[int], encrypted: bool, mac_in: bool, trigger: bool, key_known: bool,
        unknown_tail: bool, cut: int, flip: int, rnd: random.Random) -> None:
    """Generated adverts — plain and encrypted, MAC in payload or not, cut short, an unknown id,
    a flipped byte, a key or none — give the same entities as bthome-ble, refusals included."""
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    body = b"".join(_object_bytes(o, rnd) for o in oids)
    if unknown_tail:
        body += _object_bytes(rnd.choice(_UNKNOWN), rnd) + _object_bytes(0x01, rnd)
    info = 0x40 | (0x01 if encrypted else 0) | (0x02 if mac_in else 0) | (0x04 if trigger else 0)
    head = bytes([info]) + (contract.mac_field(DEVICE_MAC) if mac_in else b"")
    if encrypted:
        ctr = rnd.randrange(1 << 32).to_bytes(4, "little")
        sealed = AESCCM(KEY, tag_length=4).encrypt(
            contract.nonce(DEVICE_MAC if mac_in else MAC, info, ctr), body, None)
        data = bytearray(head + sealed[:-4] + ctr + sealed[-4:])
    else:
        data = bytearray(head + body[:len(body) - cut] if cut < len(body) else head)
    if flip < len(data) and flip % 3 == 0:
        data[flip] ^= 1 << (flip % 8)
    key = KEY if key_known else None
    assert ours_as_reference(bytes(data), bindkey=key, mac=MAC) == _one_packet_id(
        reference(bytes(data), key))


def _one_packet_id(ref: dict[str, object]) -> dict[str, object]:
    """Junk bytes can hold several packet-id objects: bthome-ble shows packet_id_1, _2, … and
    de-duplicates on the last; our reading keeps that last one only."""
    ids = sorted(k for k in ref if k.startswith("packet_id_"))
    if ids:
        ref = {k: v for k, v in ref.items() if k not in ids} | {"packet_id": ref[ids[-1]]}
    return ref


def test_gw_decode_shows_the_carried_mac_partial_tail_and_downgrade(
        capsys: pytest.CaptureFixture[str]) -> None:
    """What an installer sees from `machimori gw decode` for the three held-out cases."""
    from machimori.cli import main

    def run(*argv: str) -> tuple[int, dict]:
        rc = main(["gw", "decode", *argv])
        return rc, json.loads(capsys.readouterr().out)

    random_addr = "7B:11:22:33:44:55"
    sealed = contract.encrypt_service_data([(0x02, 25.06)], KEY, DEVICE_MAC, 4,
                                           mac_in_payload=True)
    rc, out = run("--service-data", f"fcd2={sealed.hex()}", "--mac", random_addr,
                  "--bindkey", KEY.hex())
    assert rc == 0
    [r] = out["readings"]
    assert (r["address"], r["mac"], r["values"]) == (
        DEVICE_MAC, DEVICE_MAC, [{"name": "temperature", "value": 25.06, "unit": "°C"}])
    rc, out = run("--service-data", "fcd2=4001610235", "--mac", MAC)
    assert rc == 0 and out["readings"][0]["dropped"] == "truncated"
    assert out["readings"][0]["values"] == [{"name": "battery", "value": 97.0, "unit": "%"}]
    assert out["rejected"] == {"bthome_partial_truncated": 1}
    rc, out = run("--service-data", "fcd2=40020a09", "--mac", MAC, "--bindkey", KEY.hex())
    assert rc == 1 and out == {"readings": [], "rejected": {"rejected_bthome_downgrade": 1,
                                                            "no_reading": 1}}
