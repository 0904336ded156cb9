"""RuuviTag format 5, iBeacon, Eddystone, the machimori tag, and the advert dispatcher."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.decoders import eddystone, ibeacon, ruuvi
from gateway.decoders.advert import AdvertDecoder, to_json
from gateway.decoders.errors import DecodeError
from gateway.frames import Advert
from machimori.contract import bthome
from machimori.contract import tag as tagfmt

# Ruuvi's published test vectors for data format 5 (docs.ruuvi.com, "Data format 5").
RUUVI_VALID = "0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F"
RUUVI_MAX = "057FFFFFFEFFFE7FFF7FFF7FFFFFDEFEFFFECBB8334C884F"
RUUVI_MIN = "058001000000008001800180010000000000CBB8334C884F"
RUUVI_INVALID = "058000FFFFFFFF800080008000FFFFFFFFFFFFFFFFFFFFFF"


def test_ruuvi_valid_vector() -> None:
    r = ruuvi.decode(bytes.fromhex(RUUVI_VALID))
    assert r == ruuvi.RuuviReading("CB:B8:33:4C:88:4F", 24.3, 53.49, 1000.44, 0.004, -0.004,
                                   1.036, 2.977, 4, 66, 205)


def test_ruuvi_extremes_and_not_available() -> None:
    hi = ruuvi.decode(bytes.fromhex(RUUVI_MAX))
    assert (hi.temperature, hi.humidity, hi.pressure, hi.acceleration_x, hi.battery_voltage,
            hi.tx_power, hi.movement_counter, hi.sequence) == (
        163.835, 163.835, 1155.34, 32.767, 3.646, 20, 254, 65534)
    lo = ruuvi.decode(bytes.fromhex(RUUVI_MIN))
    assert (lo.temperature, lo.humidity, lo.pressure, lo.acceleration_z, lo.battery_voltage,
            lo.tx_power, lo.movement_counter, lo.sequence) == (
        -163.835, 0.0, 500.0, -32.767, 1.6, -40, 0, 0)
    none = ruuvi.decode(bytes.fromhex(RUUVI_INVALID))
    assert none.values == ()
    assert none.mac == "FF:FF:FF:FF:FF:FF"


@pytest.mark.parametrize("hexdata, reason", [
    ("", "truncated"), ("03", "unsupported_format"), (RUUVI_VALID[:-2], "truncated")])
def test_ruuvi_rejections(hexdata: str, reason: str) -> None:
    with pytest.raises(DecodeError) as e:
        ruuvi.decode(bytes.fromhex(hexdata))
    assert e.value.reason == reason


def test_ibeacon() -> None:
    data = bytes.fromhex("0215" "fda50693a4e24fb1afcfc6eb07647825" "2775" "4e1f" "c5")
    assert ibeacon.decode(data) == ibeacon.IBeaconReading(
        "fda50693-a4e2-4fb1-afcf-c6eb07647825", 10101, 19999, -59)
    for bad, reason in ((b"\x12\x02\x00", "not_ibeacon"), (data[:10], "truncated"),
                        (b"\x02", "truncated")):
        with pytest.raises(DecodeError) as e:
            ibeacon.decode(bad)
        assert e.value.reason == reason


def test_eddystone_frames() -> None:
    uid = eddystone.decode(bytes.fromhex("00e7" "00112233445566778899" "aabbccddeeff" "0000"))
    assert uid == eddystone.EddystoneUID(-25, "00112233445566778899", "aabbccddeeff")
    url = eddystone.decode(bytes.fromhex("10eb") + b"\x03machimori" + b"\x07" + b"/x")
    assert url == eddystone.EddystoneURL(-21, "https://machimori.com/x")
    tlm = eddystone.decode(bytes.fromhex("2000" "0bb8" "1980" "00000100" "00000e10"))
    assert tlm == eddystone.EddystoneTLM(3.0, 25.5, 256, 360.0)
    tlm_none = eddystone.decode(bytes.fromhex("2000" "0000" "8000" "00000001" "00000001"))
    assert (tlm_none.battery_voltage, tlm_none.temperature) == (None, None)
    eid = eddystone.decode(bytes.fromhex("30f0" "0102030405060708"))
    assert eid == eddystone.EddystoneEID(-16, "0102030405060708")


@pytest.mark.parametrize("hexdata, reason", [
    ("", "truncated"), ("00e7001122", "truncated"), ("1000", "truncated"),
    ("10eb09616263", "bad_url"), ("10eb0361620f", "bad_url"), ("2001" + "00" * 16, "encrypted_tlm"),
    ("200001", "truncated"), ("30f00102", "truncated"), ("40", "unsupported_frame"),
    ("10eb03" + "61" * 18, "too_long")])
def test_eddystone_rejections(hexdata: str, reason: str) -> None:
    with pytest.raises(DecodeError) as e:
        eddystone.decode(bytes.fromhex(hexdata))
    assert e.value.reason == reason


@pytest.mark.parametrize("decoder", [ruuvi.decode, ibeacon.decode, eddystone.decode])
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=30))
def test_fuzz_beacon_decoders_only_typed_rejections(decoder: Callable, data: bytes) -> None:
    try:
        decoder(data)
    except DecodeError as e:
        assert e.reason.isidentifier()


KEY = bytes(range(16))
NOW = 1_780_000_000.0


def test_dispatcher_decodes_every_format_and_counts_rejections() -> None:
    dec = AdvertDecoder(tag_keys={"tag-1": KEY})
    tag_payload = tagfmt.encode(KEY, NOW, 10, tagfmt.FLAG_SOS, 77, 3)
    stranger = tagfmt.encode(bytes(16), NOW, 10, 0, 50, 0)
    adverts = [
        Advert("AA:00:00:00:00:01", NOW, -50, {bthome.SERVICE_UUID: bytes.fromhex("40026009")}),
        Advert("AA:00:00:00:00:02", NOW, -51, manufacturer_data={
            ruuvi.COMPANY_ID: bytes.fromhex(RUUVI_VALID)}),
        Advert("AA:00:00:00:00:03", NOW, -52, manufacturer_data={
            tagfmt.COMPANY_ID: tag_payload}),
        Advert("AA:00:00:00:00:04", NOW, -53, manufacturer_data={tagfmt.COMPANY_ID: stranger}),
        Advert("AA:00:00:00:00:05", NOW, -54, {eddystone.SERVICE_UUID: bytes.fromhex(
            "30f00102030405060708")}),
        Advert("AA:00:00:00:00:06", NOW, -55, {bthome.SERVICE_UUID: b"\x40\x02"}),  # truncated
        Advert("AA:00:00:00:00:07", NOW, -56, manufacturer_data={tagfmt.COMPANY_ID: b"\x01"}),
        Advert("AA:00:00:00:00:08", NOW, -57, manufacturer_data={0x0059: b"\x01\x02"}),
    ]
    kinds = [[d.kind for d in dec.decode(a)] for a in adverts]
    assert kinds == [["bthome"], ["ruuvi"], ["tag"], ["tag_unknown"], ["eddystone_eid"], [],
                     [], []]
    assert dict(dec.counters) == {
        "decoded_bthome": 1, "decoded_ruuvi": 1, "decoded_tag": 1, "decoded_tag_unknown": 1,
        "decoded_eddystone_eid": 1, "rejected_bthome_truncated": 1, "rejected_tag_format": 1,
        "ignored_format": 1, "no_reading": 3}
    tag = dec.decode(Advert("AA:00:00:00:00:03", NOW + 1, -50,
                            manufacturer_data={tagfmt.COMPANY_ID: tag_payload}))[0]
    doc = to_json(tag)
    assert doc["values"][:3] == [{"name": "tag", "value": "tag-1", "unit": ""},
                                 {"name": "battery", "value": 77, "unit": "%"},
                                 {"name": "sos", "value": True, "unit": ""}]


def test_dispatcher_dedups_bthome_repeats_per_device() -> None:
    dec = AdvertDecoder()
    sd = bthome.encode_service_data([(0x00, 9), (0x02, 24.0)])
    first = dec.decode(Advert("AA:00:00:00:00:01", NOW, -50, {bthome.SERVICE_UUID: sd}))
    again = dec.decode(Advert("AA:00:00:00:00:01", NOW + 0.1, -50, {bthome.SERVICE_UUID: sd}))
    assert len(first) == 1 and again == []
    assert dec.counters["rejected_bthome_duplicate_packet"] == 1
    assert to_json(first[0])["values"] == [{"name": "temperature", "value": 24.0, "unit": "°C"}]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([bthome.SERVICE_UUID, eddystone.SERVICE_UUID, "x"]),
                       st.binary(max_size=30), max_size=2),
       st.dictionaries(st.sampled_from([ruuvi.COMPANY_ID, ibeacon.COMPANY_ID, tagfmt.COMPANY_ID,
                                        7]), st.binary(max_size=30), max_size=3))
def test_fuzz_dispatcher_never_raises(sd: dict, md: dict) -> None:
    dec = AdvertDecoder(bindkeys={"AA:00:00:00:00:01": KEY}, tag_keys={"t": KEY})
    out = dec.decode(Advert("AA:00:00:00:00:01", NOW, -60, sd, md))
    assert all(to_json(d)["kind"] == d.kind for d in out)
    assert sum(dec.counters.values()) >= 1
