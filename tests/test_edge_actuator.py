"""Actuator firmware on the real MicroPython against the hw/ emulators (SHT4x on I2C for the
humidity interlock, GPIO for the relay and the manual override switch): every interlock refuses
or switches off on the device itself, and its lines are what the CPython contract parses."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from machimori.contract import actuator as ac
from tests import mpy

pytestmark = pytest.mark.skipif(mpy.available() is not None and not os.environ.get("CI"),
                                reason=str(mpy.available()))


def on(cid: str, hold_s: int = 0, wind_dms: int = 0) -> tuple[str, str]:
    return ("cmd", ac.encode_command(ac.Command(cid, "on", hold_s, wind_dms)).hex())


def off(cid: str) -> tuple[str, str]:
    return ("cmd", ac.encode_command(ac.Command(cid, "off", 0, 0)).hex())


# Relay active high (default): 1 = on. Config: rh_max 80 %, wind_max 5.0 m/s, max_on 600 s,
# min_off 120 s, schedule 09-19 h; the test's clock starts at 12 h with 55 % humidity.
STEPS: list[tuple[str, Any]] = [
    on("c1"),                      # 0 done
    ("advance_s", 30),             # 1 still on
    off("c2"),                     # 2 done, off
    on("c3"),                      # 3 refused: rate (min_off 120 s)
    ("advance_s", 121),            # 4
    on("c4", wind_dms=80),         # 5 refused: wind 8.0 m/s
    ("rh", 85.0),
    on("c5"),                      # 6 refused: humidity
    ("rh", 55.0),
    ("hour", 20),
    on("c6"),                      # 7 refused: schedule
    ("hour", 12),
    ("override", True),
    on("c7"),                      # 8 refused: override
    ("override", False),
    ("corrupt", True),
    on("c8"),                      # 9 refused: sensor (CRC error on the bus)
    ("corrupt", False),
    on("c9", hold_s=5000),         # 10 done (hold capped at max_on 600 s)
    ("advance_s", 599),            # 11 still on
    ("advance_s", 2),              # 12 off by itself: max on-time
    ("advance_s", 121),            # 13
    on("c10"),                     # 14 done
    ("rh", 90.0),
    ("advance_s", 30),             # 15 off by itself: humidity while on
    ("advance_s", 121),            # 16
    ("rh", 50.0),
    on("c11", hold_s=60),          # 17 done
    ("override", True),
    ("advance_s", 1),              # 18 off: the manual switch wins
    ("override", False),
    ("raw", "AC1,C,zz,on,0,0*0000\r\nnoise without end"),  # 19 bad checksum: no ack
    ("report", None),              # 20 state line
]


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    src = (Path(mpy.HERE) / "cases_actuator.py").read_text()
    main_cmd = ac.encode_command(ac.Command("m1", "on", 60, 0)).hex()
    boot = [ac.encode_command(ac.Command(f"b{i}", "on", 0, 0)).hex() for i in (1, 2)]
    script = (src + f"\nMAIN_CMD = {main_cmd!r}\nBOOT_CMD, BOOT_CMD2 = {boot!r}\n"
              "case('just_booted', just_booted)\n"
              f"case('scenario', lambda: scenario({STEPS!r}))\n"
              "case('main', main_loop)\ncase('bad_config', bad_config)\n")
    path = tmp_path_factory.mktemp("mpy") / "actuator_script.py"
    path.write_text(script)
    return mpy.run_script(str(path))


def acks(step: dict[str, Any]) -> list[ac.Ack]:
    out = [ac.parse(bytes.fromhex(h)) for h in step["acks"]]
    assert all(isinstance(a, ac.Ack) for a in out)
    return out  # type: ignore[return-value]


def test_the_relay_is_off_at_boot(res: dict[str, Any]) -> None:
    assert res["scenario"]["boot_relay"] == 0


def test_each_interlock_refuses_with_its_reason_and_the_relay_follows(res: dict[str, Any]
                                                                       ) -> None:
    s = res["scenario"]["steps"]
    want = {0: ("c1", "done", None, 1), 2: ("c2", "done", None, 0),
            3: ("c3", "refused", "rate", 0), 5: ("c4", "refused", "wind", 0),
            6: ("c5", "refused", "humidity", 0), 7: ("c6", "refused", "schedule", 0),
            8: ("c7", "refused", "override", 0), 9: ("c8", "refused", "sensor", 0),
            10: ("c9", "done", None, 1), 14: ("c10", "done", None, 1),
            17: ("c11", "done", None, 1)}
    for i, (cid, result, reason, relay) in want.items():
        [a] = acks(s[i])
        assert (a.id, a.result, a.reason, a.on) == (cid, result, reason, bool(relay)), i
        assert s[i]["relay"] == relay, i


def test_the_device_switches_off_by_itself(res: dict[str, Any]) -> None:
    s = res["scenario"]["steps"]
    assert s[1]["relay"] == 1  # 30 s into an open-ended "on"
    assert s[11]["relay"] == 1 and s[12]["relay"] == 0  # max_on_s 600 although asked 5000
    assert s[15]["relay"] == 0  # humidity rose to 90 % while on
    assert s[18]["relay"] == 0  # the manual override switch


def test_noise_and_bad_checksums_get_no_ack_and_are_counted(res: dict[str, Any]) -> None:
    step = res["scenario"]["steps"][19]
    assert step["acks"] == [] and step["rejected"] == 1


def test_state_line_parses_in_cpython(res: dict[str, Any]) -> None:
    st = ac.parse(bytes.fromhex(res["scenario"]["steps"][20]["state"]))
    assert isinstance(st, ac.State)
    assert (st.on, st.override, st.seq) == (False, False, 0)
    assert st.rh_centi == 5000  # the SHT4x emulator's 50 %, through the driver's conversion


def test_the_uart_carried_exactly_the_acks_and_the_state(res: dict[str, Any]) -> None:
    out = bytes.fromhex(res["scenario"]["uart"])
    lines = [ac.parse(x + b"\n") for x in out.split(b"\n") if x]
    assert sum(isinstance(x, ac.Ack) for x in lines) == 11
    assert isinstance(lines[-1], ac.State)


def test_main_loop_reads_the_uart_acks_and_reports(res: dict[str, Any]) -> None:
    m = res["main"]
    out = bytes.fromhex(m["uart"])
    lines = [ac.parse(x + b"\n") for x in out.split(b"\n") if x]
    assert lines[0] == ac.Ack("m1", "done", None, True)
    assert isinstance(lines[1], ac.State) and lines[1].on and lines[1].rh_centi == 5000
    assert m["relay"] == 1 and m["on"] and m["override_pull_up"]


def test_bad_configs_are_refused_naming_the_field(res: dict[str, Any]) -> None:
    a, b, c = res["bad_config"]
    assert "'override'" in a and "'rh_max'" in b and "'max_on_s'" in c


def test_a_command_right_after_boot_waits_the_minimum_off_time(res: dict[str, Any]) -> None:
    b = res["just_booted"]
    [first] = acks({"acks": b["first"]})
    [later] = acks({"acks": b["later"]})
    assert (first.result, first.reason) == ("refused", "rate")
    assert (later.result, later.on) == ("done", True) and b["relay"] == 1
