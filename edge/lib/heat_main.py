"""Heat node on real hardware: build the drivers from the config, run one wake, deep-sleep."""

import time

import bluetooth
import machine
from bh1750 import BH1750
from ds18b20 import DS18B20
from heat_node import run
from heat_sampler import HeatSampler
from mlx90614 import MLX90614
from persist import ReservedCounter
from sht4x import SHT4x

_MLX_POWER_UP_MS = 250  # datasheet: object data valid 0.25 s after power-on


class Device:
    """The board's objects for one wake; tests build one from emulators instead."""

    def __init__(self, cfg, sleep_ms):
        self.sleep_ms = sleep_ms
        self.power = None
        if cfg["sensor_power"] is not None:
            self.power = machine.Pin(cfg["sensor_power"], machine.Pin.OUT, value=1)
            sleep_ms(_MLX_POWER_UP_MS)
        i2c = machine.I2C(0, scl=machine.Pin(cfg["scl"]), sda=machine.Pin(cfg["sda"]),
                          freq=100000)  # MLX90614's SMBus maximum
        globe = None
        if cfg["globe"]:
            import onewire

            globe = DS18B20(onewire.OneWire(machine.Pin(cfg["onewire"])))
        self.sampler = HeatSampler(
            SHT4x(i2c, cfg["sht4x_address"]),
            MLX90614(i2c, cfg["mlx90614_address"]) if cfg["surface"] else None,
            BH1750(i2c, cfg["bh1750_address"]),
            globe,
        )
        self.adc = None
        if cfg["battery_adc"] is not None:
            self.adc = machine.ADC(machine.Pin(cfg["battery_adc"]), atten=machine.ADC.ATTN_11DB)
        self.counter = ReservedCounter(machine.RTC(), "/heat_counter")
        self.ble = bluetooth.BLE()
        self.ble.active(True)
        self.mac = self.ble.config("mac")[1]  # the public address, as a receiver prints it


def main(cfg, sleep_ms=time.sleep_ms, ticks_ms=time.ticks_ms):
    start = ticks_ms()
    dev = Device(cfg, sleep_ms)
    payload = run(cfg, dev)
    dev.ble.active(False)
    if dev.power is not None:
        dev.power.value(0)
    awake = time.ticks_diff(ticks_ms(), start)
    machine.deepsleep(max(1000, cfg["interval_s"] * 1000 - awake))
    return payload
