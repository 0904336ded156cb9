"""Wearable tag on real hardware: find out what woke us, run one wake, deep-sleep with wake-ups
armed on the SOS button and the accelerometer's INT1."""

import random
import time

import battery
import bluetooth
import esp32
import machine
from lis3dh import LIS3DH
from tag_node import TagState, wake

# MicroPython's epoch is 2000 on some ports and 1970 on others; the EID counter needs Unix time.
_EPOCH = 946684800 if time.gmtime(0)[0] == 2000 else 0


class Device:
    def __init__(self, cfg, sleep_ms):
        self.sleep_ms = sleep_ms
        self.key = bytes.fromhex(cfg["key"])
        i2c = machine.I2C(0, scl=machine.Pin(cfg["scl"]), sda=machine.Pin(cfg["sda"]))
        self.accel = LIS3DH(i2c, cfg["lis3dh_address"])
        self.button = machine.Pin(cfg["button"], machine.Pin.IN, machine.Pin.PULL_DOWN)
        self.int1 = machine.Pin(cfg["accel_int"], machine.Pin.IN)
        self.battery_pct = None
        if cfg["battery_adc"] is not None:
            adc = machine.ADC(machine.Pin(cfg["battery_adc"]), atten=machine.ADC.ATTN_11DB)
            self.battery_pct = battery.percent(battery.read_mv(adc, cfg["battery_divider"]))
        self.ble = bluetooth.BLE()
        self.ble.active(True)


def main(cfg, sleep_ms=time.sleep_ms):
    dev = Device(cfg, sleep_ms)
    rtc = machine.RTC()
    state = TagState(rtc)
    if machine.reset_cause() != machine.DEEPSLEEP_RESET:
        dev.accel.init()  # first boot: configure free-fall detection once
    # The accelerometer latches INT1, so reading its source tells a fall wake from a button one.
    freefall = bool(dev.accel.interrupt_source() & 0x40)
    by_pin = machine.wake_reason() not in (machine.TIMER_WAKE, 0)
    button = dev.button.value() == 1 or (by_pin and not freefall)
    payload = wake(cfg, dev, state, int(time.time()) + _EPOCH, button, freefall)
    dev.ble.active(False)
    # Wake on the button (to 3V3, pulled down: pressed = high) or INT1 (active high): one level
    # for both, as the wake APIs take a single level (wiring in docs/hardware.md).
    pins = [dev.button, dev.int1]
    if cfg["wake"] == "ext1":
        esp32.wake_on_ext1(pins, esp32.WAKEUP_ANY_HIGH)
    else:
        esp32.wake_on_gpio(pins, esp32.WAKEUP_ANY_HIGH)
    # ±10 % jitter: a fixed period would let a listener chain bursts across EID rotations.
    period = cfg["period_s"] * 1000
    machine.deepsleep(period - period // 10 + random.getrandbits(16) % (period // 5 + 1))
    return payload
