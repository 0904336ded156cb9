"""Meter bridge on real hardware (powered from the gateway's USB, so it never sleeps)."""

import time

import machine
from meter_bridge import Bridge, CountStore
from pulse_counter import PulseCounter


def main(cfg, loops=-1):
    active = 0 if cfg["pulse_edge"] == "falling" else 1
    pull = machine.Pin.PULL_UP if active == 0 else machine.Pin.PULL_DOWN
    pin = machine.Pin(cfg["pulse"], machine.Pin.IN, pull)
    counter = PulseCounter(pin, cfg["debounce_ms"], time.ticks_ms, time.ticks_diff, active)
    trigger = machine.Pin.IRQ_FALLING if active == 0 else machine.Pin.IRQ_RISING
    pin.irq(handler=counter.irq, trigger=trigger, hard=True)
    uart = machine.UART(cfg["uart_id"], baudrate=cfg["baud"], tx=cfg["uart_tx"], rx=cfg["uart_rx"])
    bridge = Bridge(cfg, counter, uart, CountStore(machine.RTC(), "/pulses"), time.ticks_ms(),
                    time.ticks_diff)
    period = cfg["report_s"] * 1000
    next_at = time.ticks_add(time.ticks_ms(), period)
    while loops != 0:
        time.sleep_ms(max(0, time.ticks_diff(next_at, time.ticks_ms())))
        bridge.report(time.ticks_ms())
        next_at = time.ticks_add(next_at, period)
        loops -= 1
