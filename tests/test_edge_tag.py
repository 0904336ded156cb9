"""Wearable-tag firmware on the real MicroPython: its adverts resolve with the contract's
TagResolver (AES by the `cryptography` package, independent of the test-side cryptolib)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from machimori.contract import tag
from tests import mpy

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")  # cases_tag.py
# Skipped only off CI (a developer without Node); in CI a missing interpreter is a failure.
pytestmark = pytest.mark.skipif(mpy.available() is not None and not os.environ.get("CI"),
                                reason=str(mpy.available()))


@pytest.fixture(scope="module")
def res() -> dict[str, Any]:
    return mpy.run_script("cases_tag.py")


def manufacturer_data(payload_hex: str) -> bytes:
    """The 13-byte tag frame from an advert: Flags AD, then AD 0xFF with company id 0xFFFF."""
    p = bytes.fromhex(payload_hex)
    assert p[:3] == b"\x02\x01\x06"
    assert p[3] == len(p) - 4 and p[4] == 0xFF
    assert int.from_bytes(p[5:7], "little") == tag.COMPANY_ID
    return p[7:]


def test_frames_are_byte_exact_with_the_contract(res: dict[str, Any]) -> None:
    fields = [(0, 80, 0), (1, 80, 1), (6, 9, 255)]
    for (t, frame), (flags, battery, events) in zip(res["frames"], fields, strict=True):
        assert bytes.fromhex(frame) == tag.encode(KEY, t, 10, flags, battery, events)


def test_frames_resolve_and_the_eid_changes_every_rotation(res: dict[str, Any]) -> None:
    resolver = tag.TagResolver({"tag-1": KEY, "other": bytes(16)})
    eids = set()
    for t, frame in res["frames"]:
        data = bytes.fromhex(frame)
        got = resolver.resolve(data, t)
        assert got is not None and got.tag == "tag-1" and got.counter == t >> 10
        eids.add(data[2:10])
    assert len(eids) == 3
    # Another key holder, or nobody, sees nothing.
    assert tag.TagResolver({"x": bytes(range(16))}).resolve(bytes.fromhex(res["frames"][0][1]),
                                                            res["frames"][0][0]) is None


def test_sos_is_counted_once_held_then_cleared_and_survives_deep_sleep(res: dict[str, Any]) -> None:
    resolver = tag.TagResolver({"tag-1": KEY})
    got = []
    for w in res["wakes"]:
        r = resolver.resolve(manufacturer_data(w["payload"]), w["t"])
        assert r is not None
        got.append((r.sos, r.events, w["interval_us"]))
    assert got == [(False, 0, 100_000),  # timer wake
                   (True, 1, 20_000),  # button: SOS, one event, fast burst
                   (True, 1, 20_000),  # still held (sos_hold_s 300) and not counted again
                   (False, 1, 100_000)]  # hold over; event counter kept in RTC memory


def test_a_new_private_address_is_asked_for_at_every_wake(res: dict[str, Any]) -> None:
    assert [w["addr_modes"] for w in res["wakes"]] == [1, 2, 3, 4]


def test_free_fall_impact_then_stillness_is_a_fall(res: dict[str, Any]) -> None:
    f = res["fall"]
    assert f["int1_source"] & 0x40  # the chip's own free-fall interrupt fired
    assert f["int1_source"] & 0x15 == 0x15  # X, Y and Z all low
    assert f["int1_after_read"] == 0  # reading INT1_SRC released the latched pin
    assert f["fall"] is True
    assert f["ms"] >= 2000  # it waited for the stillness


@pytest.mark.parametrize("case", ["walked_away", "no_impact"])
def test_drops_that_are_not_falls_are_ruled_out(res: dict[str, Any], case: str) -> None:
    assert res[case]["int1_source"] & 0x40
    assert res[case]["fall"] is False


def test_whole_wake_on_the_fake_board(res: dict[str, Any]) -> None:
    m = res["main"]
    [adv] = m["adverts"]
    r = tag.TagResolver({"tag-1": KEY}).resolve(manufacturer_data(adv), m["now"])
    assert r is not None and r.sos and r.events == 1
    assert 25 <= r.battery <= 40  # 3.72 V on the Li-ion curve (3.70 V = 25 %, 3.75 V = 40 %)
    assert 9_000 <= m["slept_ms"] <= 11_000  # period_s 10 with ±10 % jitter
    assert m["wake"] == {"gpio": [[4, 5], True]}  # button and INT1, active high
    assert m["pull"] is True
