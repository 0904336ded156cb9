"""The bleak adapter with the radio faked by hand-built bleak objects; presence learning."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakDBusError, BleakError

from gateway.ble import BleSource, to_advert
from gateway.presence import Presence
from machimori.contract import bthome
from machimori.procs import wait_for

SD = bthome.encode_service_data([(0x00, 1), (0x02, 25.0)])


def adv_data(rssi: int = -61) -> AdvertisementData:
    return AdvertisementData(local_name="heat-1", manufacturer_data={0x0499: b"\x05\x01"},
                             service_data={bthome.SERVICE_UUID: SD},
                             service_uuids=[bthome.SERVICE_UUID], tx_power=None, rssi=rssi,
                             platform_data=())


def test_bleak_objects_become_our_frame() -> None:
    a = to_advert(BLEDevice("aa:bb:cc:dd:ee:01", "heat-1", {}), adv_data(), 12.5)
    assert (a.address, a.ts, a.rssi, a.local_name) == ("AA:BB:CC:DD:EE:01", 12.5, -61, "heat-1")
    assert a.service_data == {bthome.SERVICE_UUID: SD}
    assert a.manufacturer_data == {0x0499: b"\x05\x01"}


class FakeRadio:
    """Stands in for BlueZ: fails the way BlueZ does, then delivers hand-built adverts."""

    def __init__(self, failures: list[BaseException], passive_ok: bool = False):
        self.failures = list(failures)
        self.passive_ok = passive_ok
        self.started: list[str] = []
        self.stopped = 0
        self.callback: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def factory(self, callback: Any, mode: str, adapter: str | None) -> Any:
        radio = self

        class Scanner:
            async def start(self) -> None:
                radio.started.append(f"{mode}@{adapter}")
                if mode == "passive" and not radio.passive_ok:
                    raise BleakError("passive scanning mode requires bluez or_patterns")
                if radio.failures:
                    raise radio.failures.pop(0)
                radio.callback = callback
                radio.loop = asyncio.get_running_loop()

            async def stop(self) -> None:
                radio.stopped += 1

        return Scanner()

    def emit(self, address: str, rssi: int = -60) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(
            self.callback, BLEDevice(address, None, {}), adv_data(rssi))


def test_scanner_restarts_with_backoff_after_in_progress_and_falls_back_to_active() -> None:
    in_progress = BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"])
    radio = FakeRadio([in_progress, in_progress, OSError("adapter gone")])
    src = BleSource("hci1", passive=True, backoff=(0.01, 0.04),
                    scanner_factory=radio.factory).start()
    try:
        wait_for(lambda: radio.callback is not None, 10, "the scanner to run")
        radio.emit("AA:00:00:00:00:01")
        radio.emit("AA:00:00:00:00:02", -70)
        got: list = []
        wait_for(lambda: bool(got.extend(src.poll()[0])) or len(got) == 2, 10, "2 adverts")
        assert [(a.address, a.rssi) for a in got] == [("AA:00:00:00:00:01", -60),
                                                      ("AA:00:00:00:00:02", -70)]
        assert src.mode == "active"
        assert all(s.endswith("@hci1") for s in radio.started)
        assert src.counters["scanner_in_progress"] == 2
        assert src.counters["scanner_errors"] == 3
        assert src.counters["scanner_restarts"] == 3
        assert src.counters["passive_unsupported"] == 4
    finally:
        src.stop()
    assert radio.stopped >= 1


def test_passive_when_supported_and_watchdog_restarts_a_silent_scanner() -> None:
    radio = FakeRadio([], passive_ok=True)
    src = BleSource(None, passive=True, watchdog_s=0.2, backoff=(0.01, 0.01),
                    scanner_factory=radio.factory).start()
    try:
        wait_for(lambda: src.counters["watchdog_restarts"] >= 1, 10, "the watchdog")
        assert src.mode == "passive" and radio.started[0] == "passive@None"
        assert src.counters["scanner_starts"] >= 2 or radio.stopped >= 1
    finally:
        src.stop()


def test_a_callback_with_junk_is_counted_not_raised() -> None:
    src = BleSource(scanner_factory=FakeRadio([]).factory)
    src._on_advert(object(), object())
    assert src.counters["rejected_bleak_advert"] == 1 and src.poll()[0] == []


def test_presence_learns_each_devices_interval() -> None:
    p = Presence()
    for k in range(10):  # fast node: every 10 s, each advert repeated 0.1 s later
        p.seen("fast", 1000 + 10 * k)
        p.seen("fast", 1000 + 10 * k + 0.1)
    for k in range(4):  # slow node: every 300 s
        p.seen("slow", 1000 + 300 * k)
    assert p.interval("fast") == pytest.approx(10.0)
    assert p.interval("slow") == pytest.approx(300.0)
    assert p.timeout("fast") == pytest.approx(30.0)
    now = 1000 + 90 + 40  # fast last heard at 1090.1: silent 40 s = 4 intervals
    assert not p.available("fast", now)
    assert p.available("slow", 1900 + 600)  # 600 s silence is 2 of its intervals
    assert not p.available("slow", 1900 + 901)
    assert p.unavailable(now) == ["fast"]
    assert p.rate_per_min("fast", 1090.1) == pytest.approx(20 * 60 / 90.1)
    q = Presence()
    q.seen("new", 0.0)
    assert q.timeout("new") == 300.0 and q.available("new", 299.0)
