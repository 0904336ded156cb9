"""Supported sensor chips as data: bus, address, conversion, accuracy, price — from datasheets.

Each entry names its register-level emulator in hw/emu, which the firmware tests and sim/ use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sensor:
    name: str
    measures: str
    bus: str  # "i2c" or "onewire"
    addresses: tuple[int, ...]  # I2C addresses (first is the default); () for 1-Wire
    conversion: str  # raw -> physical, as the datasheet states it
    accuracy: str
    range: str
    supply_ua: str  # typical current: measuring / idle
    emulator: str  # module in hw.emu
    price_jpy: int  # approximate module (breakout) price in Japan


SENSORS: dict[str, Sensor] = {
    s.name: s
    for s in (
        Sensor("SHT4x", "air temperature, relative humidity", "i2c", (0x44, 0x45, 0x46),
               "T = -45 + 175·S_T/65535 °C; RH = -6 + 125·S_RH/65535 % (clip 0–100)",
               "SHT40: ±0.2 °C (0–65 °C), ±1.8 %RH; SHT45: ±0.1 °C, ±1.0 %RH",
               "-40…125 °C, 0…100 %RH", "320 µA measuring / 0.08 µA idle",
               "hw.emu.sht4x", 1200),
        Sensor("MLX90614", "surface temperature (infrared, 90° FOV on the -AAA)", "i2c",
               (0x5A,), "T = raw·0.02 K − 273.15 °C (RAM 0x07); bit 15 = error",
               "±0.5 °C (0–50 °C ambient and object)", "object -70…380 °C",
               "1.5 mA continuous (no useful sleep from MicroPython: power-switch it)",
               "hw.emu.mlx90614", 2200),
        Sensor("BH1750", "illuminance (shade / sun)", "i2c", (0x23, 0x5C),
               "lx = count / 1.2 × 69 / MTreg (H-resolution; the firmware sets MTreg 31)",
               "±20 % (measurement accuracy 1.2 ×0.83–1.2)",
               "0…121,556 lx at MTreg 31 (54,612 lx at the default 69: half of noon sun)",
               "120 µA measuring / 0.01 µA powered down", "hw.emu.bh1750", 500),
        Sensor("DS18B20", "black-globe temperature (inside a 150 mm black globe)", "onewire",
               (), "T = signed 16-bit / 16 °C (12-bit); 85 °C is the power-on value",
               "±0.5 °C (-10…85 °C)", "-55…125 °C", "1.5 mA converting / 1 µA idle",
               "hw.emu.ds18b20", 400),
        Sensor("LIS3DH", "acceleration (tag: free-fall interrupt, impact)", "i2c",
               (0x18, 0x19), "±8 g high-resolution: 4 mg/digit of the 12-bit left-justified "
               "value; INT1_THS 62 mg/LSB", "±40 mg zero-g offset",
               "±2/4/8/16 g", "11 µA at 100 Hz normal / 2 µA at 1 Hz low-power / 0.5 µA down",
               "hw.emu.lis3dh", 600),
    )
}
