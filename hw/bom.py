"""Bill of materials per role, with approximate single-unit prices in Japan (JPY, 2026).

Prices are what a small installer pays at Japanese hobby-electronics retailers for one unit;
volume pricing is typically 30–50 % lower. docs/hardware.md shows these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from hw.boards import BOARDS
from hw.sensors import SENSORS


@dataclass(frozen=True)
class Item:
    part: str
    qty: int
    price_jpy: int
    note: str = ""


def _board(name: str) -> Item:
    return Item(BOARDS[name].title, 1, BOARDS[name].price_jpy)


def _sensor(name: str, note: str = "") -> Item:
    return Item(f"{name} module", 1, SENSORS[name].price_jpy, note)


BOM: dict[str, tuple[Item, ...]] = {
    "heat": (
        _board("esp32c3-devkitm-1"),
        _sensor("SHT4x", "inside the radiation shield"),
        _sensor("MLX90614", "MLX90614ESF-AAA (90° FOV), looking down at the road surface"),
        _sensor("BH1750", "on top, under a clear dome"),
        _sensor("DS18B20", "optional: black globe"),
        Item("Black globe, 150 mm copper sphere painted matt black", 1, 3500, "optional"),
        Item("Radiation shield (multi-plate, e.g. 8-plate Stevenson type)", 1, 4000),
        Item("18650 Li-ion cell 3000 mAh + holder", 1, 1200),
        Item("Solar panel 6 V 1 W + CN3065-type charger", 1, 1500, "keeps the cell topped up"),
        Item("Low-Iq LDO 3.3 V (HT7333, 4 µA) + P-MOSFET sensor power switch", 1, 150),
        Item("Divider 2 × 1 MΩ + 100 nF for battery sense, 4.7 kΩ 1-Wire pull-up", 1, 30,
         "1 MΩ keeps the divider at 2 µA"),
        Item("IP65 enclosure, cable glands, pole clamp", 1, 1500),
    ),
    "tag": (
        Item("ESP32-C3 SuperMini-class module board (small, no USB-UART chip)", 1, 700,
             "a DevKitM-1 works for trials"),
        _sensor("LIS3DH"),
        Item("Tactile SOS button (large, recessed against accidental presses)", 1, 100),
        Item("LiPo 500 mAh + TP4056-type charger with protection", 1, 800),
        Item("Low-Iq LDO 3.3 V (HT7333)", 1, 50),
        Item("Pendant / wristband enclosure", 1, 600),
    ),
    "meter": (
        _board("esp32c3-devkitm-1"),
        Item("Pulse input: optocoupler PC817 + 1 kΩ, or an S0 interface", 1, 100,
             "S0 outputs of Japanese smart meters / pulse transmitters"),
        Item("USB cable to the gateway (power) + 3-wire UART lead", 1, 400),
        Item("Small enclosure", 1, 500),
    ),
    "actuator": (
        _board("esp32c3-devkitm-1"),
        _sensor("SHT4x", "at the spray head's height, in a small radiation shield"),
        Item("Relay module 1 ch, 5 V coil, opto-isolated, 10 A contacts", 1, 400,
             "or an SSR for an AC fan; the pump or fan is switched by it"),
        Item("Manual override switch (latching, IP65) to GND", 1, 500,
             "a person on site stops the mist: the device obeys it first"),
        Item("5 V 2 A supply (mains, inside the enclosure)", 1, 1200),
        Item("3-wire UART lead to the gateway (shielded)", 1, 400),
        Item("IP65 enclosure, cable glands", 1, 1500),
    ),
}


def total_jpy(role: str) -> int:
    return sum(i.qty * i.price_jpy for i in BOM[role])
