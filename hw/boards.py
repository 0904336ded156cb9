"""Supported boards as data: default pins per role, what each pin may and may not be used for.

`machimori edge build` merges a board's pins for the role into the device config; the firmware
reads them from /config.json, so the same code runs on every board listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    chip: str
    wake: str  # deep-sleep GPIO wake API: "gpio" (esp32.wake_on_gpio) or "ext1" (wake_on_ext1)
    wake_pins: tuple[int, ...]  # pins that can wake the chip from deep sleep
    adc_pins: tuple[int, ...]  # ADC1 pins (ADC2 is unusable while the radio is on)
    avoid: tuple[int, ...]  # strapping, flash/PSRAM, USB and console pins
    pins: dict[str, dict[str, int]] = field(default_factory=dict)  # role -> config field -> GPIO
    deep_sleep_ua: float = 0.0  # module alone, datasheet typical (board regulators add more)
    active_ma: float = 0.0  # CPU running with BLE advertising, average
    price_jpy: int = 0  # approximate single-unit retail price in Japan


BOARDS: dict[str, Board] = {
    b.name: b
    for b in (
        Board(
            name="esp32c3-devkitm-1",
            title="Espressif ESP32-C3-DevKitM-1",
            chip="ESP32-C3",
            wake="gpio",
            wake_pins=(0, 1, 2, 3, 4, 5),
            adc_pins=(0, 1, 2, 3, 4),
            avoid=(2, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21),
            pins={
                "heat": {"sda": 6, "scl": 7, "onewire": 10, "battery_adc": 3, "sensor_power": 1},
                "tag": {"sda": 6, "scl": 7, "button": 4, "accel_int": 5, "battery_adc": 3},
                "meter": {"pulse": 4, "uart_tx": 7, "uart_rx": 6},
                "actuator": {"relay": 10, "override": 4, "sda": 0, "scl": 1, "uart_tx": 7,
                             "uart_rx": 6},
            },
            deep_sleep_ua=5.0,
            active_ma=25.0,
            price_jpy=1500,
        ),
        Board(
            name="esp32s3-devkitc-1",
            title="Espressif ESP32-S3-DevKitC-1",
            chip="ESP32-S3",
            wake="ext1",
            wake_pins=tuple(range(22)),
            adc_pins=tuple(range(1, 11)),
            avoid=(0, 3, 19, 20, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 43, 44, 45, 46),
            pins={
                "heat": {"sda": 8, "scl": 9, "onewire": 5, "battery_adc": 1, "sensor_power": 6},
                "tag": {"sda": 8, "scl": 9, "button": 10, "accel_int": 11, "battery_adc": 1},
                "meter": {"pulse": 12, "uart_tx": 17, "uart_rx": 18},
                "actuator": {"relay": 13, "override": 12, "sda": 8, "scl": 9, "uart_tx": 17,
                             "uart_rx": 18},
            },
            deep_sleep_ua=8.0,
            active_ma=35.0,
            price_jpy=2500,
        ),
    )
}
ROLES = ("heat", "tag", "meter", "actuator")
