"""hw/ emulators on CPython (as sim/ uses them) against datasheet vectors, and hw/ data sanity."""

from __future__ import annotations

import importlib

import pytest

from hw.boards import BOARDS, ROLES
from hw.bom import BOM, total_jpy
from hw.emu import bh1750, crc, ds18b20, lis3dh, mlx90614, sht4x
from hw.emu.i2c import Clock, I2CBus
from hw.emu.onewire import OneWireBus
from hw.sensors import SENSORS


def test_crc_variants_match_the_datasheet_examples() -> None:
    assert crc.crc8_sensirion(b"\xbe\xef") == 0x92  # SHT4x datasheet, section 4.4
    # MLX90614 datasheet PEC example: SA 0x5A, read RAM 0x07 -> D2 3A, PEC 0x30.
    assert crc.crc8_smbus(bytes([0xB4, 0x07, 0xB5, 0xD2, 0x3A])) == 0x30
    assert crc.crc8_maxim(bytes([0x02, 0x1C, 0xB8, 0x01, 0, 0, 0])) == 0xA2  # Maxim AN27


def test_sht4x_answers_after_the_measurement_time_with_valid_crcs() -> None:
    clock = Clock()
    bus = I2CBus()
    bus.attach(sht4x.ADDRESS, sht4x.SHT4x(clock, temperature_c=-12.5, humidity=33.3))
    bus.writeto(0x44, b"\xfd")
    with pytest.raises(OSError):
        bus.readfrom(0x44, 6)  # NACK while measuring
    clock.advance(9)
    b = bus.readfrom(0x44, 6)
    assert crc.crc8_sensirion(b[:2]) == b[2] and crc.crc8_sensirion(b[3:5]) == b[5]
    t = -45 + 175 * int.from_bytes(b[:2], "big") / 65535
    rh = -6 + 125 * int.from_bytes(b[3:5], "big") / 65535
    assert t == pytest.approx(-12.5, abs=0.003) and rh == pytest.approx(33.3, abs=0.002)
    with pytest.raises(OSError):
        bus.readfrom(0x44, 6)  # one result per command


def test_mlx90614_read_word_with_pec_and_error_flag() -> None:
    bus = I2CBus()
    chip = bus.attach(0x5A, mlx90614.MLX90614(object_c=55.55, ambient_c=20.0))
    b = bus.readfrom_mem(0x5A, 0x07, 3)
    assert crc.crc8_smbus(bytes([0xB4, 0x07, 0xB5]) + b[:2]) == b[2]
    assert int.from_bytes(b[:2], "little") * 0.02 - 273.15 == pytest.approx(55.55, abs=0.011)
    chip.set(10.0, error=True)
    assert bus.readfrom_mem(0x5A, 0x07, 3)[1] & 0x80


def test_bh1750_one_time_mode_counts_and_powers_down() -> None:
    clock = Clock()
    bus = I2CBus()
    bus.attach(0x23, bh1750.BH1750(clock, lux=1000.0))
    bus.writeto(0x23, b"\x20")
    clock.advance(180)
    assert int.from_bytes(bus.readfrom(0x23, 2), "big") == 1200  # lx * 1.2
    bus.writeto(0x23, b"\x42")  # MTreg high bits: 0b010 -> MT = 69 & 0x1F | 0x40 = 69
    bus.writeto(0x23, b"\x7f")  # MTreg low bits: 0b11111 -> MT = 0x5F = 95
    bus.writeto(0x23, b"\x20")
    clock.advance(250)
    assert int.from_bytes(bus.readfrom(0x23, 2), "big") == int(1000 * 1.2 * 95 / 69)
    with pytest.raises(OSError):
        bus.writeto(0x23, b"\x99")  # not an opcode


def test_bh1750_at_mtreg_31_reaches_full_sun_then_saturates() -> None:
    clock = Clock()
    bus = I2CBus()
    chip = bus.attach(0x23, bh1750.BH1750(clock, lux=110_000.0))

    def measure() -> int:
        for op in (b"\x40", b"\x7f", b"\x20"):  # MTreg 31 (0b000_11111), one-time H
            bus.writeto(0x23, op)
        clock.advance(81)  # 180 ms × 31 / 69
        return int.from_bytes(bus.readfrom(0x23, 2), "big")

    assert measure() == int(110_000 * 1.2 * 31 / 69) < 0xFFFF  # 54.6 klx was the old ceiling
    chip.set(121_000.0)
    assert measure() < 0xFFFF
    chip.set(125_000.0)
    assert measure() == 0xFFFF


def test_onewire_search_finds_every_device_and_scratchpad_crc_holds() -> None:
    clock = Clock()
    ow = OneWireBus()
    chips = [ow.attach(ds18b20.DS18B20(clock, serial=s, temperature_c=t))
             for s, t in ((0x1111, 21.5), (0x2222, -3.25), (0xABCDEF, 85.0))]
    assert sorted(ow.scan()) == sorted(c.rom for c in chips)
    for rom in ow.scan():
        assert crc.crc8_maxim(rom[:7]) == rom[7] and rom[0] == ds18b20.FAMILY
    ow.select_rom(chips[1].rom)
    ow.writebyte(0x44)
    assert ow.readbit() == 0  # converting
    clock.advance(750)
    assert ow.readbit() == 1
    ow.select_rom(chips[1].rom)
    ow.writebyte(0xBE)
    pad = bytearray(9)
    ow.readinto(pad)
    assert crc.crc8_maxim(pad[:8]) == pad[8]
    assert int.from_bytes(pad[:2], "little", signed=True) / 16 == -3.25


def test_lis3dh_free_fall_interrupt_latches_until_read() -> None:
    bus = I2CBus()
    chip = bus.attach(0x18, lis3dh.LIS3DH())
    assert bus.readfrom_mem(0x18, 0x0F, 1) == b"\x33"
    for reg, val in ((0x20, 0x57), (0x23, 0x28), (0x24, 0x08), (0x32, 5), (0x33, 6),
                     (0x30, 0x95), (0x22, 0x40)):
        bus.writeto_mem(0x18, reg, bytes([val]))
    chip.run([(0, 0, 1000)] * 10)
    assert chip.int1 == 0
    chip.run([(10, 10, 10)] * 6)
    assert chip.int1 == 0  # duration 6: needs a 7th sample
    chip.run([(10, 10, 10)])
    assert chip.int1 == 1
    chip.run([(0, 0, 1000)] * 3)
    assert chip.int1 == 1  # latched
    assert bus.readfrom_mem(0x18, 0x31, 1)[0] == 0x55
    assert chip.int1 == 0
    chip.queue([(1000, -2000, 3000)])
    x, y, z = (int.from_bytes(bytes(p), "little", signed=True) >> 4
               for p in zip(*[iter(bus.readfrom_mem(0x18, 0xA8, 6))] * 2, strict=True))
    assert (x * 4, y * 4, z * 4) == (1000, -2000, 3000)  # 4 mg/digit at ±8 g high resolution


def test_boards_pins_avoid_reserved_pins_and_wake_pins_can_wake() -> None:
    for b in BOARDS.values():
        assert set(b.pins) == set(ROLES)
        for role, pins in b.pins.items():
            used = list(pins.values())
            assert len(used) == len(set(used)), (b.name, role)
            assert not set(used) & set(b.avoid), (b.name, role)
            if "battery_adc" in pins:
                assert pins["battery_adc"] in b.adc_pins
        assert {b.pins["tag"]["button"], b.pins["tag"]["accel_int"]} <= set(b.wake_pins)


def test_every_sensor_names_an_emulator_and_every_role_has_a_priced_bom() -> None:
    for s in SENSORS.values():
        assert importlib.import_module(s.emulator)
        assert s.price_jpy > 0
    for role in ROLES:
        assert BOM[role] and total_jpy(role) > 0
