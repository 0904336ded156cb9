"""Passive-scan filter patterns against the bytes the real firmware sends: heat node (plain and
encrypted) and tag, produced by the edge firmware on the real MicroPython (WebAssembly port)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from gateway.ble import OR_PATTERNS, ad_structures, passive_hears
from machimori.contract import bthome
from tests import mpy

pytestmark = pytest.mark.skipif(mpy.available() is not None and not os.environ.get("CI"),
                                reason=str(mpy.available()))
FLAGS_ONLY = tuple(p for p in OR_PATTERNS if p[1] == 0x01)  # what the gateway had before


@pytest.fixture(scope="module")
def heat() -> dict[str, Any]:
    return mpy.run_script("cases_heat.py")


@pytest.fixture(scope="module")
def tag() -> dict[str, Any]:
    return mpy.run_script("cases_tag.py")


def test_encrypted_heat_node_has_no_flags_and_is_still_heard(heat: dict[str, Any]) -> None:
    for payload_hex in (heat["advert_encrypted"], heat["full_wake_encrypted"]["adverts"][0][1]):
        payload = bytes.fromhex(payload_hex)
        types = [t for t, _ in ad_structures(payload)]
        assert types == [0x16]  # service data only: Flags left out to fit 31 bytes
        assert payload[0] + 1 == len(payload) <= 31
        assert passive_hears(payload)
        assert not passive_hears(payload, FLAGS_ONLY)  # the bug: never heard before


def test_plain_heat_node_is_heard(heat: dict[str, Any]) -> None:
    for payload_hex in (heat["advert_plain"], heat["full_wake_plain"]["adverts"][0][1]):
        payload = bytes.fromhex(payload_hex)
        assert [t for t, _ in ad_structures(payload)] == [0x01, 0x16]
        assert passive_hears(payload)


def test_tag_adverts_are_heard(tag: dict[str, Any]) -> None:
    adverts = tag["main"]["adverts"]
    assert adverts
    for payload_hex in adverts:
        payload = bytes.fromhex(payload_hex)
        assert 0xFF in [t for t, _ in ad_structures(payload)]
        assert passive_hears(payload)


def test_other_adverts_without_our_formats_or_flags_are_not_heard() -> None:
    # A Flags-less advert with a foreign 16-bit service data and foreign manufacturer data.
    foreign = bytes.fromhex("05160d18aabb" "05ff590001ff")
    assert not passive_hears(foreign)
    # BTHome UUID at the wrong place (inside another AD's data) does not count.
    assert not passive_hears(bytes.fromhex("0516aaaad2fc"))
    assert passive_hears(bytes.fromhex("0416d2fc40"))
    assert passive_hears(b"\x02\x01\x1a")  # a phone: people counting still hears it
    assert ad_structures(b"\x05\x16\xd2") == []  # a cut-off AD is not read past the end


def test_patterns_build_bleak_or_patterns() -> None:
    from bleak.args.bluez import OrPattern
    from bleak.assigned_numbers import AdvertisementDataType

    built = [OrPattern(s, AdvertisementDataType(t), p) for s, t, p in OR_PATTERNS]
    assert (0, AdvertisementDataType.SERVICE_DATA_UUID16,
            bthome.SERVICE_UUID16.to_bytes(2, "little")) in [tuple(b) for b in built]
