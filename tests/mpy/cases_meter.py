# Meter-bridge cases, run on MicroPython by tests/test_edge_meter.py (results via mpyreport).
import micropython

import machine
import pulse_line
from hw.emu.i2c import Clock
from meter_bridge import Bridge, CountStore
from mpyreport import case
from pulse_counter import PulseCounter

PIN = 4
clock = Clock(1000)


def ticks_diff(a, b):
    return a - b


def make_counter(debounce_ms=20):
    pin = machine.Pin(PIN, machine.Pin.IN, machine.Pin.PULL_UP)
    c = PulseCounter(pin, debounce_ms, clock.now, ticks_diff, 0)
    pin.irq(handler=c.irq, trigger=machine.Pin.IRQ_FALLING, hard=True)
    return c


def pulse(bounces=0, width_ms=90):
    """One meter pulse (active low), with contact bounce on the falling edge."""
    for _ in range(bounces):
        machine.drive(PIN, 0)
        clock.advance(1)
        machine.drive(PIN, 1)
        clock.advance(1)
    machine.drive(PIN, 0)
    clock.advance(width_ms)
    machine.drive(PIN, 1)
    clock.advance(400)


def debounce():
    c = make_counter()
    for i in range(25):
        pulse(bounces=i % 4)
    return {"count": c.count, "rejected": c.rejected}


def spike():
    # A glitch already gone when the handler runs (the level is back high): not a pulse.
    c = make_counter()
    machine.drive(PIN, 1)
    c.irq(machine.pins[PIN])
    pulse()
    return {"count": c.count, "rejected": c.rejected}


def irq_heap_locked():
    c = make_counter()
    handler = c.irq  # bound once, as pin.irq() does
    p = machine.pins[PIN]
    machine.levels[PIN] = 0
    micropython.heap_lock()
    try:
        for _ in range(50):
            clock.advance(100)
            handler(p)
        errors = 0
    except MemoryError:
        errors = 1
    finally:
        micropython.heap_unlock()
    machine.levels[PIN] = 1
    return {"errors": errors, "count": c.count}


CFG = {"save_s": 60}
store = CountStore(machine.RTC(), "/flash/pulses")


def lines_and_reboots():
    machine.rtc_memory = bytearray()
    out = {}
    c = make_counter()
    b = Bridge(CFG, c, machine.UART(1), store, clock.now(), ticks_diff)
    lines = []
    for i in range(7):  # 7 reports 10 s apart, 3 pulses between each
        for _ in range(3):
            pulse()
        clock.advance(10000 - 3 * 490)
        lines.append(b.report(clock.now()))
    out["first_boot"] = lines
    # Reset (watchdog, brown-out): RTC memory survives, the count continues exactly.
    c = make_counter()
    b = Bridge(CFG, c, machine.UART(1), store, clock.now(), ticks_diff)
    pulse()
    out["after_reset"] = b.report(clock.now())
    # Power cut: only the flash copy (saved at most every save_s) is left.
    machine.rtc_memory = bytearray()
    c = make_counter()
    b = Bridge(CFG, c, machine.UART(1), store, clock.now(), ticks_diff)
    out["after_power_cut"] = b.report(clock.now())
    out["uart"] = machine.uart_out[1]
    return out


TICKS_PERIOD = 1 << 30  # ESP32's ticks_ms wraps here


def wrap_ticks():
    return clock.now() % TICKS_PERIOD


def wrap_diff(a, b):
    # time.ticks_diff's definition: the signed difference modulo the period
    return ((a - b + TICKS_PERIOD // 2) % TICKS_PERIOD) - TICKS_PERIOD // 2


def ticks_wrap():
    """Reports across a ticks_ms wrap: uptime keeps rising and saves keep happening."""
    machine.rtc_memory = bytearray()
    clock.ms = TICKS_PERIOD - 30000  # 30 s before the counter wraps
    c = make_counter()
    wstore = CountStore(machine.RTC(), "/flash/pulses-wrap")
    b = Bridge(CFG, c, machine.UART(1), wstore, wrap_ticks(), wrap_diff)
    lines = []
    for _ in range(15):  # 150 s: across the wrap and past two save periods
        pulse()
        clock.advance(10000 - 490)
        lines.append(b.report(wrap_ticks()))
    with open("/flash/pulses-wrap") as f:
        saved = int(f.read())
    return {"lines": lines, "saved": saved, "total": b.total()}


def framing():
    return [pulse_line.encode(0, 0, 0), pulse_line.encode(0xFFFFFFFF, 0xFFFFFFFF, 123456789),
            pulse_line.encode(0x100000001, 7, 1)]


def main_loop():
    import meter_main
    import mm_config

    machine.uart_out.clear()
    cfg = mm_config.validate({"role": "meter", "board": "esp32c3-devkitm-1", "pulse": 4,
                              "uart_tx": 7, "uart_rx": 6, "report_s": 1})
    machine.rtc_memory = bytearray()
    meter_main.main(cfg, loops=1)
    p = machine.pins[4]
    return {"uart": machine.uart_out[1], "pull_up": p.pull == machine.Pin.PULL_UP,
            "falling": p.trigger == machine.Pin.IRQ_FALLING}


case("debounce", debounce)
case("spike", spike)
case("irq_heap_locked", irq_heap_locked)
case("lines", lines_and_reboots)
case("ticks_wrap", ticks_wrap)
case("framing", framing)
case("main", main_loop)
