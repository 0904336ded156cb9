"""Simulated devices as their real boards: the firmware (edge/lib) driving the hw/emu chips.

The physical state (what the chips would sense) goes into the register-level emulators; the
device's own firmware samples them over the emulated buses and builds the advert, so ranges,
resolution, saturation (the BH1750 at its MTreg), CRC errors and the firmware's rounding are those
of the real node. Each wake builds a fresh board: a reading is a pure function of its inputs.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from hw.emu.bh1750 import BH1750
from hw.emu.ds18b20 import DS18B20
from hw.emu.i2c import Clock, I2CBus
from hw.emu.lis3dh import LIS3DH
from hw.emu.mlx90614 import MLX90614
from hw.emu.onewire import OneWireBus
from hw.emu.sht4x import SHT4x

from .firmware import firmware

HEAT_BOARD = "esp32c3-devkitm-1"
_MAC = b"\xf0\x00\x00\x00\x00\x00"
_DIVIDER = 2


@dataclass(frozen=True)
class HeatPhysical:
    """What a heat node's chips are exposed to during one wake."""

    air_c: float
    humidity: float
    illuminance_lx: float  # on the BH1750's window (horizontal, facing up)
    surface_c: float  # the patch of ground the MLX90614 looks at
    globe_c: float | None  # inside the black globe (None: the node has none)
    battery_mv: int


@dataclass(frozen=True)
class Calibration:
    """One unit's fixed errors, within each datasheet's accuracy (hw/sensors.py)."""

    air_c: float = 0.0
    humidity: float = 0.0
    lux_gain: float = 1.0
    surface_c: float = 0.0
    globe_c: float = 0.0

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Calibration:
        return cls(air_c=float(rng.normal(0, 0.1)), humidity=float(rng.normal(0, 0.9)),
                   lux_gain=float(np.clip(rng.normal(1.0, 0.07), 0.83, 1.2)),
                   surface_c=float(rng.normal(0, 0.25)), globe_c=float(rng.normal(0, 0.25)))


@dataclass(frozen=True)
class Wiring:
    """Which chips answer (a fault can remove one) and how noisy the bus is."""

    light: bool = True
    surface: bool = True
    crc_error_rate: float = 0.0  # fraction of SHT4x answers garbled on the wire
    stuck_air_c: float | None = None  # a failed SHT4x that repeats one value


def heat_config(globe: bool) -> dict[str, Any]:
    """The node's /config.json, checked by the firmware's own validator."""
    raw: dict[str, Any] = {"role": "heat", "board": HEAT_BOARD, "sda": 8, "scl": 9,
                           "battery_adc": 3, "battery_divider": _DIVIDER, "globe": globe}
    if globe:
        raw["onewire"] = 4
    return dict(firmware().mm_config.validate(raw))


class _Ble:
    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def gap_advertise(self, interval_us: int | None, adv_data: bytes | None = None,
                      connectable: bool = True) -> None:
        if interval_us is not None and adv_data is not None:
            self.payloads.append(bytes(adv_data))

    def config(self, *args: Any, **kwargs: Any) -> Any:
        return (0, _MAC) if args == ("mac",) else None


class _Adc:
    def __init__(self, mv: int):
        self.mv = mv

    def read_uv(self) -> int:
        return self.mv * 1000 // _DIVIDER


class _Counter:
    def __init__(self, value: int):
        self.value = value

    def next(self) -> int:
        return self.value


def heat_wake(phys: HeatPhysical, cal: Calibration, wiring: Wiring, cfg: dict[str, Any],
              counter: int, rng: np.random.Generator) -> tuple[bytes, Any]:
    """One wake of the heat-node firmware; returns (advert payload, the firmware's sampler)."""
    fw = firmware()
    clock = Clock()
    bus = I2CBus()
    # Noise drawn at once: SHT4x repeatability (high, °C and %RH) plus the air moving between
    # rounds, the BH1750's flicker, the MLX90614's object noise (°C), and which answers the bus
    # garbles.
    rounds = int(cfg["samples"]) + 1
    noise = rng.normal(0.0, (0.03, 0.1, 0.01, 0.08), size=(rounds, 4)).tolist()
    garbled = (rng.random(rounds) < wiring.crc_error_rate).tolist()
    k = [0]

    def air_now() -> tuple[float, float]:
        if wiring.stuck_air_c is not None:
            return wiring.stuck_air_c, 50.0
        n = noise[min(k[0], rounds - 1)]
        return phys.air_c + cal.air_c + n[0], phys.humidity + cal.humidity + n[1]

    t0, h0 = air_now()
    sht = bus.attach(0x44, SHT4x(clock, temperature_c=t0, humidity=h0))
    mlx = MLX90614(object_c=phys.surface_c + cal.surface_c + noise[0][3], ambient_c=phys.air_c)
    if wiring.surface:
        bus.attach(0x5A, mlx)
    light = BH1750(clock, lux=phys.illuminance_lx * cal.lux_gain)
    if wiring.light:
        bus.attach(0x23, light)
    ow = OneWireBus()
    if phys.globe_c is not None:
        ow.attach(DS18B20(clock, temperature_c=phys.globe_c + cal.globe_c))
    sampler = fw.heat_sampler.HeatSampler(
        fw.sht4x.SHT4x(bus, cfg["sht4x_address"]),
        fw.mlx90614.MLX90614(bus, cfg["mlx90614_address"]) if cfg["surface"] else None,
        fw.bh1750.BH1750(bus, cfg["bh1750_address"]),
        fw.ds18b20.DS18B20(ow) if cfg["globe"] else None)
    sht.corrupt_crc = garbled[0]

    def sleep_ms(ms: int) -> None:
        # Between rounds the air moves a little and the bus may garble the next answer.
        clock.advance(ms)
        k[0] += 1
        i = min(k[0], rounds - 1)
        t, h = air_now()
        sht.set(t, h)
        light.set(max(0.0, phys.illuminance_lx * cal.lux_gain * (1 + noise[i][2])))
        mlx.set(phys.surface_c + cal.surface_c + noise[i][3], phys.air_c)
        sht.corrupt_crc = garbled[i]

    ble = _Ble()
    dev = types.SimpleNamespace(sampler=sampler, sleep_ms=sleep_ms, adc=_Adc(phys.battery_mv),
                                counter=_Counter(counter), ble=ble, mac=_MAC)
    payload = fw.heat_node.run(cfg, dev)
    return bytes(payload), sampler


def ad_structures(payload: bytes) -> dict[int, bytes]:
    """AD type -> data of an advertising payload."""
    out: dict[int, bytes] = {}
    i = 0
    while i + 1 < len(payload):
        n = payload[i]
        if n == 0:
            break
        out[payload[i + 1]] = payload[i + 2:i + 1 + n]
        i += 1 + n
    return out


# ---- the wearable tag

def tag_config(key: bytes) -> dict[str, Any]:
    return dict(firmware().mm_config.validate({
        "role": "tag", "board": HEAT_BOARD, "key": key.hex(), "sda": 8, "scl": 9, "button": 5,
        "accel_int": 6, "battery_adc": 3, "battery_divider": _DIVIDER}))


class _Rtc:
    def __init__(self) -> None:
        self.mem = b""

    def memory(self, data: bytes | None = None) -> bytes:
        if data is not None:
            self.mem = bytes(data)
        return self.mem


@dataclass(frozen=True)
class TagWake:
    unix_time: int
    battery_mv: int
    events: int  # incidents counted before this wake (the RTC's counter)
    sos_until: int  # hold times left over from earlier incidents
    fall_until: int
    button: bool = False  # the SOS button woke the tag
    motion: tuple[tuple[int, int, int], ...] = ()  # mg samples after a free-fall interrupt


def fall_motion() -> tuple[tuple[int, int, int], ...]:
    """A fall as the accelerometer sees it after free-fall: an impact, then lying still."""
    impact = ((400, -2600, 1500), (-300, 1800, 2400), (200, 900, 600))
    still = tuple((30, 990, 60) for _ in range(260))  # 2.6 s at 100 Hz, gravity sideways
    return impact + still


def stumble_motion() -> tuple[tuple[int, int, int], ...]:
    """A dropped tag or a stumble: free-fall, no hard impact, walking on."""
    return tuple((0, 1000 + (300 if i % 20 < 10 else -300), 100) for i in range(150))


def tag_wake(key: bytes, cfg: dict[str, Any], w: TagWake) -> bytes:
    """One wake of the tag firmware; returns its advert payload."""
    fw = firmware()
    bus = I2CBus()
    accel = bus.attach(0x18, LIS3DH())
    drv = fw.lis3dh.LIS3DH(bus, cfg["lis3dh_address"])
    drv.init()
    if w.motion:
        accel.queue(list(w.motion))
    rtc = _Rtc()
    state = fw.tag_node.TagState(rtc)
    state.events, state.sos_until, state.fall_until = w.events & 0xFF, w.sos_until, w.fall_until
    pct = fw.battery.percent(w.battery_mv)
    ble = _Ble()
    dev = types.SimpleNamespace(accel=drv, key=key, battery_pct=pct, ble=ble,
                                sleep_ms=lambda ms: None)
    payload = fw.tag_node.wake(cfg, dev, state, w.unix_time, w.button, bool(w.motion))
    return bytes(payload)
