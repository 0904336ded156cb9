# Wearable-tag cases, run on MicroPython by tests/test_edge_tag.py (results via mpyreport).
import time

import bluetooth
import eid
import esp32
import machine
import tag_node
from hw.emu import lis3dh as e_lis
from hw.emu.i2c import Clock, I2CBus
from lis3dh import LIS3DH
from mpyreport import case

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
T0 = 1780000000  # a fixed Unix time so the CPython side can recompute
clock = Clock()
bus = I2CBus()
chip = bus.attach(0x18, e_lis.LIS3DH())
accel = LIS3DH(bus)
CFG = {"rotation_k": 10, "sos_hold_s": 300, "fall_hold_s": 300, "burst_ms": 300,
       "adv_interval_ms": 100}


class Dev:
    def __init__(self, pct=80):
        self.key = KEY
        self.accel = accel
        self.sleep_ms = clock.advance
        self.battery_pct = pct
        self.ble = bluetooth.BLE()
        self.ble.active(True)


def frames():
    # The same tag across three rotation periods, and its flag/battery/event fields.
    return [[t, eid.frame(KEY, t, 10, f, b, e)]
            for t, f, b, e in ((T0, 0, 80, 0), (T0 + 1024, 1, 80, 1), (T0 + 2048, 6, 9, 255))]


def wakes():
    machine.rtc_memory = bytearray()
    out = []
    for t, button in ((T0, False), (T0 + 10, True), (T0 + 20, False), (T0 + 400, False)):
        bluetooth.adverts.clear()
        state = tag_node.TagState(machine.RTC())  # reloaded from RTC memory, as after deep sleep
        payload = tag_node.wake(CFG, Dev(), state, t, button, False)
        interval, adv, _conn = bluetooth.adverts[-1]
        out.append({"t": t, "payload": payload, "interval_us": interval,
                    "addr_modes": len(bluetooth.addr_modes)})
    return out


def fall_case(after_impact):
    """Free-fall seen by the chip's own interrupt while the MCU sleeps, then what follows."""
    accel.init()
    chip.run([(0, 0, 1000)] * 5 + [(40, -30, 60)] * 12)  # 120 ms near 0 g: a drop
    src = accel.interrupt_source()
    chip.queue([(200, 2800, 1900)] * 3 + after_impact)
    t0 = clock.now()
    fell = tag_node.confirm_fall(accel, t0, clock.advance)
    return {"int1_source": src, "int1_after_read": chip.int1, "fall": fell,
            "ms": clock.now() - t0}


def lying_still():
    return [(20, 30, 990)] * 250


def walking():
    return [(300, 200, 1600), (-200, 100, 500)] * 125


def bad_impact():
    # No impact after the drop (e.g. a little jump): not a fall.
    return [(0, 0, 1000)] * 150


def full_main():
    import mm_config
    import tag_main

    machine.i2c_buses[0] = bus
    machine.adc_uv[3] = 1_860_000  # 3.72 V
    machine.reset["cause"] = machine.PWRON_RESET
    machine.rtc_memory = bytearray()
    bluetooth.adverts.clear()
    cfg = mm_config.validate({"role": "tag", "board": "esp32c3-devkitm-1", "key": KEY.hex(),
                              "sda": 6, "scl": 7, "button": 4, "accel_int": 5,
                              "battery_adc": 3, "period_s": 10})
    machine.levels[4] = 1  # SOS held at boot
    now = int(time.time()) + tag_main._EPOCH
    try:
        tag_main.main(cfg, sleep_ms=clock.advance)
        slept = None
    except machine.DeepSleep as e:
        slept = e.args[0]
    machine.levels[4] = 0
    return {"now": now, "adverts": [a[1] for a in bluetooth.adverts], "slept_ms": slept,
            "wake": esp32.wake, "pull": machine.pins[4].pull == machine.Pin.PULL_DOWN}


case("frames", frames)
case("wakes", wakes)
case("fall", lambda: fall_case(lying_still()))
case("walked_away", lambda: fall_case(walking()))
case("no_impact", lambda: fall_case(bad_impact()))
case("main", full_main)
