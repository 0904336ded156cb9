"""The shared contracts: MQTT topics and schemas, the tag format, the pulse-bridge lines."""

from __future__ import annotations

import json

import pytest

from machimori.contract import mqtt as c
from machimori.contract import pulse, tag


def summary(**over: object) -> dict:
    body = {"schema": "machimori/summary/1", "id": "gw-01:42", "gw": "gw-01", "seq": 42,
            "kind": "heat", "device": "heat-001", "start": 60.0, "end": 120.0, "n": 6,
            "values": {"air_c": {"mean": 31.0, "min": 30.5, "max": 31.5, "last": 31.2}},
            "place": {"lat": 36.1, "lon": 139.3}, "wbgt_level": 3}
    body.update(over)
    return body


def test_topics_round_trip() -> None:
    assert c.summary_topic("gw-01", "heat") == "machimori/v1/gw/gw-01/summary/heat"
    assert c.parse_topic("machimori/v1/gw/gw-01/event/sos") == c.TopicInfo("gw-01", "event", "sos")
    assert c.parse_topic(c.status_topic("gw-9")) == c.TopicInfo("gw-9", "status", None)
    assert c.subscription() == "machimori/v1/gw/+/#"
    assert c.subscription("col") == "$share/col/machimori/v1/gw/+/#"


@pytest.mark.parametrize("topic", ["other/v1/gw/gw-01/status", "machimori/v1/gw/GW/status",
                                   "machimori/v1/gw/gw-01/summary", "machimori/v1/gw/gw-01/x/y",
                                   "machimori/v1/gw/gw-01/status/extra"])
def test_bad_topics_rejected(topic: str) -> None:
    with pytest.raises(c.ContractError):
        c.parse_topic(topic)


def test_valid_summary_decodes() -> None:
    info, body = c.decode_message("machimori/v1/gw/gw-01/summary/heat",
                                  json.dumps(summary()).encode())
    assert info.kind == "heat" and body["seq"] == 42


@pytest.mark.parametrize("raw, why", [
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", 'is not of type "object"'),
    (json.dumps(summary(id="gw-01:41")).encode(), "id must be"),
    (json.dumps(summary(end=10.0)).encode(), "end is before start"),
    (json.dumps(summary(kind="meter")).encode(), "does not match topic"),
    (json.dumps(summary(gw="gw-02", id="gw-02:42")).encode(), "does not match topic gw"),
    (json.dumps(summary(extra=1)).encode(), "'extra' was unexpected"),
    (json.dumps(summary(wbgt_level=7)).encode(), "wbgt_level"),
    (json.dumps(summary(values={"air_c": {"mean": 1}})).encode(),
     'values.air_c: "min" is a required property'),
])
def test_invalid_summaries_name_the_problem(raw: bytes, why: str) -> None:
    with pytest.raises(c.ContractError) as err:
        c.decode_message("machimori/v1/gw/gw-01/summary/heat", raw)
    assert why in str(err.value)


def test_tag_resolves_only_with_key_and_rotates() -> None:
    key, other = bytes(range(16)), bytes(range(1, 17))
    t0 = 1_785_715_200.0
    a = tag.encode(key, t0, 10, tag.FLAG_SOS, 77, 5)
    b = tag.encode(key, t0 + 1024, 10, tag.FLAG_SOS, 77, 5)  # next rotation period
    assert len(a) == tag.LENGTH and a[:2] == bytes([1, 10])
    assert a[2:] != b[2:]  # nothing after the header stays the same across a rotation
    r = tag.TagResolver({"tag-1": key, "tag-2": other})
    got = r.resolve(a, t0 + 30)
    assert got == tag.TagReading("tag-1", tag.FLAG_SOS, 77, 5, int(t0) >> 10) and got.sos
    assert tag.TagResolver({"tag-2": other}).resolve(a, t0) is None
    # One period of clock skew either way resolves in the narrow window; beyond that only the
    # wide search over tags not heard lately finds it (see the drift tests), and not beyond
    # its reach.
    narrow = tag.TagResolver({"tag-1": key})
    assert narrow.resolve(b, t0) is not None and narrow.wide_hits == 0
    far = tag.TagResolver({"tag-1": key})
    assert far.resolve(tag.encode(key, t0 + 2048, 10, 0, 77, 5), t0) is not None
    assert far.wide_hits == 1
    assert tag.TagResolver({"tag-1": key}).resolve(
        tag.encode(key, t0 + tag.WIDE_SEARCH_S + 4096, 10, 0, 77, 5), t0) is None


@pytest.mark.parametrize("payload, why", [(b"\x01\x0a" + bytes(10), "13 bytes"),
                                          (b"\x02\x0a" + bytes(11), "version"),
                                          (b"\x01\x30" + bytes(11), "exponent")])
def test_malformed_tag_adverts(payload: bytes, why: str) -> None:
    with pytest.raises(tag.TagFormatError, match=why):
        tag.TagResolver({}).resolve(payload, 0.0)


def test_pulse_line_bytes_and_checksum() -> None:
    line = pulse.encode(5, 123, 77)
    # CRC-16/CCITT-FALSE of "PB1,5,123,77"; check value of the algorithm itself first.
    assert pulse.crc16_ccitt(b"123456789") == 0x29B1
    assert line == b"PB1,5,123,77*%04X\r\n" % pulse.crc16_ccitt(b"PB1,5,123,77")
    assert pulse.parse(line) == pulse.PulseLine(5, 123, 77)


@pytest.mark.parametrize("noise, why", [
    (b"PB1,5,124,77*D427\r\n", "checksum mismatch"),
    (b"PB1,5,123,77\r\n", "no '*'"),
    (b"PB1,5,123,77*ZZZZ\r\n", "not hex"),
    (b"\x00\xff\x13garbage*0000", "checksum"),
    (b"X" * 100, "longer than"),
    (b"PB1,5,x,77*" + b"%04X" % pulse.crc16_ccitt(b"PB1,5,x,77"), "decimal"),
    (b"PB2,5,1,77*" + b"%04X" % pulse.crc16_ccitt(b"PB2,5,1,77"), "expected PB1"),
])
def test_serial_noise_is_rejected_clearly(noise: bytes, why: str) -> None:
    with pytest.raises(pulse.PulseLineError, match=why):
        pulse.parse(noise)


def test_resolver_follows_a_drifting_tag_clock() -> None:
    key = bytes(range(16))
    period = 1 << 10
    t0 = 1_785_715_200.0
    r = tag.TagResolver({"tag-1": key})
    # The tag's clock gains 3 % (an RTC without a crystal); it is heard every 10 minutes.
    resolved = 0
    for i in range(2000):  # about two weeks
        true_t = t0 + 600 * i
        tag_t = t0 + 600 * i * 1.03
        got = r.resolve(tag.encode(key, tag_t, 10, 0, 80, 0), true_t)
        resolved += got is not None
    assert resolved == 2000
    assert r.offset("tag-1") * period > 0.02 * 600 * 2000  # ran ahead by about 3 %
    # Without following the offset the same adverts would have been lost within a day:
    lost_at = next(i for i in range(2000) if abs(600 * i * 0.03) > 1.5 * period)
    assert lost_at < 144


def test_a_tag_that_drifted_unheard_is_found_again_and_offsets_survive() -> None:
    key, other = bytes(range(16)), bytes(range(1, 17))
    period = 1 << 10
    t0 = 1_785_715_200.0
    r = tag.TagResolver({"tag-1": key, "tag-2": other})
    assert r.resolve(tag.encode(key, t0, 10, 0, 80, 0), t0) is not None
    # Unheard for a day while its clock gained 5 % (72 min, four periods): found again.
    t1 = t0 + 86400
    got = r.resolve(tag.encode(key, t1 + 0.05 * 86400, 10, tag.FLAG_SOS, 80, 1), t1)
    assert got is not None and got.sos and r.wide_hits == 1 and r.offset("tag-1") in (4, 5)
    # A restarted resolver given the saved offsets resolves the next advert in its narrow
    # window (the wide search is a fallback, not the normal path).
    saved = r.state()
    again = tag.TagResolver({"tag-1": key, "tag-2": other})
    again.restore(saved)
    t2 = t1 + 600
    assert again.resolve(tag.encode(key, t2 + 4 * period, 10, 0, 80, 1), t2) is not None
    assert again.wide_hits == 0
    # Our own clock stepped forward by an hour (the tags' did not): offsets follow.
    again.shift_clock(3600.0)
    assert again.resolve(tag.encode(key, t2 + 4 * period, 10, 0, 80, 1), t2 + 3600) is not None
    assert again.wide_hits == 0
    with pytest.raises(ValueError, match="exponent"):
        tag.TagResolver({"tag-1": key}).restore({"tag-1": {"offset": 1, "k": 99}})


def test_the_wide_search_is_built_once_per_period_and_rotation(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """Someone else's tags (never ours) miss on every advert: the wide search must not redo
    its AES work for each of them, even when adverts with two rotation exponents interleave."""
    builds = []
    real = tag._eids
    monkeypatch.setattr(tag, "_eids", lambda key, run: builds.append(len(run)) or real(key, run))
    r = tag.TagResolver({"tag-1": bytes(range(16))})
    t0 = 1_785_715_200.0
    for i in range(20):
        for k in (4, 10):
            assert r.resolve(tag.encode(bytes(16), t0 + i, k, 0, 80, 0), t0 + i) is None
    assert len(builds) == 2 + 1  # K=10: one period; K=4 (16 s): t0..t0+19 crosses one boundary
