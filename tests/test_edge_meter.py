"""Meter-bridge firmware on the real MicroPython: debounced IRQ counting without allocation,
the count kept across reset and power loss, and lines the contract's CPython parser accepts."""

from __future__ import annotations

import os
from typing import Any

import pytest

from machimori.contract import pulse
from tests import mpy

# Skipped only off CI (a developer without Node); in CI a missing interpreter is a failure.
pytestmark = pytest.mark.skipif(mpy.available() is not None and not os.environ.get("CI"),
                                reason=str(mpy.available()))


@pytest.fixture(scope="module")
def res() -> dict[str, Any]:
    return mpy.run_script("cases_meter.py")


def parse_all(hexes: list[str]) -> list[pulse.PulseLine]:
    return [pulse.parse(bytes.fromhex(h)) for h in hexes]


def test_bounces_are_rejected_and_every_pulse_counted(res: dict[str, Any]) -> None:
    d = res["debounce"]
    assert d["count"] == 25
    # Pulse i bounced i % 4 times, each bounce adding one more falling edge within 20 ms.
    assert d["rejected"] == sum(i % 4 for i in range(25))


def test_a_spike_gone_before_the_handler_runs_is_not_a_pulse(res: dict[str, Any]) -> None:
    assert res["spike"] == {"count": 1, "rejected": 1}


def test_the_interrupt_handler_does_not_allocate(res: dict[str, Any]) -> None:
    assert res["irq_heap_locked"] == {"errors": 0, "count": 50}


def test_lines_parse_in_cpython_with_sequence_count_and_uptime(res: dict[str, Any]) -> None:
    lines = parse_all(res["lines"]["first_boot"])
    assert [x.seq for x in lines] == list(range(7))
    assert [x.count for x in lines] == [3 * (i + 1) for i in range(7)]
    assert [x.uptime_s for x in lines] == [10 * (i + 1) for i in range(7)]
    # The UART carried exactly those bytes, then the two boots that followed.
    assert bytes.fromhex(res["lines"]["uart"]).startswith(
        b"".join(bytes.fromhex(h) for h in res["lines"]["first_boot"]))


def test_reports_and_saves_go_on_across_a_ticks_wrap(res: dict[str, Any]) -> None:
    """ticks_ms wraps every 2**30 ms (12.4 days) on a bridge that never sleeps."""
    lines = parse_all(res["ticks_wrap"]["lines"])
    assert [x.uptime_s for x in lines] == [10 * (i + 1) for i in range(15)]
    assert [x.count for x in lines] == list(range(1, 16))
    # Saved every 60 s throughout, so the flash copy is at most one save period behind.
    assert res["ticks_wrap"]["total"] - res["ticks_wrap"]["saved"] <= 6
    assert res["ticks_wrap"]["saved"] >= 9  # saves happened after the wrap (30 s in) too


def test_count_survives_reset_exactly_and_power_loss_up_to_the_last_save(
        res: dict[str, Any]) -> None:
    last = parse_all(res["lines"]["first_boot"])[-1]
    after_reset = pulse.parse(bytes.fromhex(res["lines"]["after_reset"]))
    assert after_reset.seq == 0  # a new boot starts the sequence again (contract)
    assert after_reset.count == last.count + 1
    after_cut = pulse.parse(bytes.fromhex(res["lines"]["after_power_cut"]))
    # Saved at most every save_s (60 s) when the count moved: the 60 s report's count.
    saved = parse_all(res["lines"]["first_boot"])[5]
    assert saved.uptime_s == 60
    assert after_cut.count == saved.count


def test_framing_is_byte_exact_with_the_contract_encoder(res: dict[str, Any]) -> None:
    cases = [(0, 0, 0), (0xFFFFFFFF, 0xFFFFFFFF, 123456789), (0x100000001, 7, 1)]
    for got, (seq, count, up) in zip(res["framing"], cases, strict=True):
        assert bytes.fromhex(got) == pulse.encode(seq, count, up)
        assert len(bytes.fromhex(got)) <= pulse.MAX_LINE


def test_main_loop_on_the_fake_board(res: dict[str, Any]) -> None:
    m = res["main"]
    [line] = parse_all([m["uart"]])
    assert (line.seq, line.count) == (0, 0) and line.uptime_s in (0, 1)
    assert m["pull_up"] and m["falling"]
