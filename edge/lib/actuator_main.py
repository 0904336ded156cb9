"""Actuator on real hardware (mains-powered through the relay board, so it never sleeps)."""

import time

import machine
from actuator_node import Actuator
from sht4x import SHT4x

TICK_MS = 100


def main(cfg, loops=-1, sleep_ms=None, ticks_ms=None, hour=None):
    # Tests pass the emulators' clock; on the device these are the time module's.
    sleep_ms = sleep_ms or time.sleep_ms
    ticks_ms = ticks_ms or time.ticks_ms
    hour = hour or (lambda: time.localtime()[3])
    relay = machine.Pin(cfg["relay"], machine.Pin.OUT)
    pull = machine.Pin.PULL_UP if cfg["override_active"] == "low" else machine.Pin.PULL_DOWN
    override = machine.Pin(cfg["override"], machine.Pin.IN, pull)
    i2c = machine.I2C(0, scl=machine.Pin(cfg["scl"]), sda=machine.Pin(cfg["sda"]))
    uart = machine.UART(cfg["uart_id"], baudrate=cfg["baud"], tx=cfg["uart_tx"],
                        rx=cfg["uart_rx"])
    # min_off_s counts from boot, so main cannot switch on before then (docs/actuators.md).
    act = Actuator(cfg, relay, override, SHT4x(i2c, cfg["sht4x_address"]), uart,
                   ticks_ms(), time.ticks_diff, sleep_ms, hour)
    period = cfg["state_s"] * 1000
    next_state = ticks_ms()
    while loops != 0:
        now = ticks_ms()
        data = uart.read()
        if data:
            act.feed(data, now)
        due = time.ticks_diff(now, next_state) >= 0
        act.tick(now, measure=due)
        if due:
            act.report(now)
            next_state = time.ticks_add(next_state, period)
        sleep_ms(TICK_MS)
        loops -= 1
    return act
