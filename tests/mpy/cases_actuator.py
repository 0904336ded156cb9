# Actuator cases, run on MicroPython by tests/test_edge_actuator.py (results via mpyreport).
import machine
import mm_config
from actuator_node import Actuator
from hw.emu import sht4x as e_sht
from hw.emu.i2c import Clock, I2CBus
from mpyreport import case
from sht4x import SHT4x

RELAY, OVERRIDE = 10, 4
clock = Clock(1000)
bus = I2CBus()
sht = bus.attach(0x44, e_sht.SHT4x(clock, temperature_c=33.0, humidity=55.0))
hour = [12]
CFG = mm_config.validate({"role": "actuator", "board": "esp32c3-devkitm-1", "relay": RELAY,
                          "override": OVERRIDE, "sda": 0, "scl": 1, "uart_tx": 7, "uart_rx": 6,
                          "rh_max": 80, "wind_max_dms": 50, "max_on_s": 600, "min_off_s": 120,
                          "on_from_h": 9, "on_until_h": 19})


def ticks_diff(a, b):
    return a - b


def make(cfg=CFG, booted_ago_ms=0):
    machine.uart_out.clear()
    relay = machine.Pin(RELAY, machine.Pin.OUT)
    override = machine.Pin(OVERRIDE, machine.Pin.IN, machine.Pin.PULL_UP)
    return Actuator(cfg, relay, override, SHT4x(bus), machine.UART(1),
                    clock.now() - booted_ago_ms, ticks_diff, clock.advance, lambda: hour[0])


def cmd(act, line_hex):
    """The gateway's command line (built by the CPython contract encoder) into the device."""
    return act.feed(bytes.fromhex(line_hex), clock.now())


def relay():
    return machine.levels[RELAY]


def scenario(lines):
    """Each step: (what, arg). Returns what the device did at each step."""
    sht.set(33.0, 55.0)
    hour[0] = 12
    machine.levels[OVERRIDE] = 1
    act = make(booted_ago_ms=CFG["min_off_s"] * 1000)
    out = {"boot_relay": relay(), "steps": []}
    for what, arg in lines:
        if what == "cmd":
            acks = cmd(act, arg)
            out["steps"].append({"acks": acks, "relay": relay(), "on": act.on})
        elif what == "advance_s":
            clock.advance(arg * 1000)
            act.tick(clock.now(), measure=True)
            out["steps"].append({"relay": relay(), "on": act.on})
        elif what == "rh":
            sht.set(33.0, arg)
        elif what == "hour":
            hour[0] = arg
        elif what == "override":
            machine.levels[OVERRIDE] = 0 if arg else 1
        elif what == "corrupt":
            sht.corrupt_crc = arg
        elif what == "raw":
            acks = act.feed(arg.encode(), clock.now())
            out["steps"].append({"acks": acks, "rejected": act.rejected_lines})
        elif what == "report":
            out["steps"].append({"state": act.report(clock.now())})
    out["uart"] = machine.uart_out[1]
    return out


def just_booted():
    """A command right after boot waits min_off_s, as after any switch-off (reset loops)."""
    sht.set(33.0, 55.0)
    hour[0] = 12
    machine.levels[OVERRIDE] = 1
    act = make()
    first = cmd(act, BOOT_CMD)
    clock.advance(CFG["min_off_s"] * 1000)
    return {"first": first, "later": cmd(act, BOOT_CMD2), "relay": relay()}


def main_loop():
    """The board's main loop: reads a command from the UART, acks it, reports a state line."""
    import actuator_main

    machine.uart_out.clear()
    sht.set(30.0, 50.0)
    cfg = mm_config.validate({"role": "actuator", "board": "esp32c3-devkitm-1", "relay": RELAY,
                              "override": OVERRIDE, "sda": 0, "scl": 1, "uart_tx": 7,
                              "uart_rx": 6, "on_from_h": 0, "on_until_h": 24, "min_off_s": 0})
    machine.i2c_buses[0] = bus
    machine.uart_in[1] = bytearray(bytes.fromhex(MAIN_CMD))
    act = actuator_main.main(cfg, loops=2, sleep_ms=clock.advance, ticks_ms=clock.now,
                             hour=lambda: 12)
    return {"uart": machine.uart_out[1], "relay": machine.levels[RELAY], "on": act.on,
            "override_pull_up": machine.pins[OVERRIDE].pull == machine.Pin.PULL_UP}


def bad_config():
    out = []
    for raw in ({"relay": 4, "override": 4}, {"rh_max": 101}, {"max_on_s": 5}):
        base = {"role": "actuator", "board": "b", "relay": 10, "override": 4, "sda": 0,
                "scl": 1, "uart_tx": 7, "uart_rx": 6}
        base.update(raw)
        try:
            mm_config.validate(base)
            out.append("accepted")
        except mm_config.ConfigError as e:
            out.append(str(e))
    return out
