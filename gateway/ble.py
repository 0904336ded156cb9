"""The bleak adapter: BlueZ advertisements -> `Advert`s, with a scanner that keeps itself alive.

bleak runs in its own thread with its own event loop; the daemon drains a queue with `poll()`.
Scanning is passive where BlueZ supports it (advertisement monitor, BlueZ >= 5.56 with
experimental features) and falls back to active. Any scanner failure - including BlueZ's
"Operation already in progress" (org.bluez.Error.InProgress) that wedges some Pis - stops
the scanner and starts it again after a backoff that doubles up to a ceiling; a scanner that
goes silent for too long is restarted the same way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from machimori.contract import bthome, tag

from .decoders import ibeacon, ruuvi
from .frames import Advert

log = logging.getLogger("machimori.gateway.ble")

AD_FLAGS = 0x01
AD_SERVICE_DATA_16 = 0x16  # starts with the 16-bit UUID, little-endian
AD_MANUFACTURER = 0xFF  # starts with the company id, little-endian
EDDYSTONE_UUID16 = 0xFEAA


def _le16(v: int) -> bytes:
    return v.to_bytes(2, "little")


# Passive scanning on BlueZ (advertisement monitor) hears only adverts that match one of these
# or-patterns: (start position in the AD's data, AD type, content). Our formats are matched by
# what they carry, never by the Flags AD: the encrypted heat node leaves Flags out to fit 31
# bytes. The Flags patterns are kept for the phones and wearables that people counting counts.
OR_PATTERNS: tuple[tuple[int, int, bytes], ...] = (
    (0, AD_SERVICE_DATA_16, _le16(bthome.SERVICE_UUID16)),
    (0, AD_SERVICE_DATA_16, _le16(EDDYSTONE_UUID16)),
    (0, AD_MANUFACTURER, _le16(tag.COMPANY_ID)),
    (0, AD_MANUFACTURER, _le16(ruuvi.COMPANY_ID)),
    (0, AD_MANUFACTURER, _le16(ibeacon.COMPANY_ID)),
    (0, AD_FLAGS, b"\x06"), (0, AD_FLAGS, b"\x1a"), (0, AD_FLAGS, b"\x02"), (0, AD_FLAGS, b"\x04"),
)


def ad_structures(payload: bytes) -> list[tuple[int, bytes]]:
    """Raw advertising data -> [(AD type, data)]; stops at a zero length or a cut-off AD."""
    out = []
    i = 0
    while i < len(payload) and payload[i] and i + 1 + payload[i] <= len(payload):
        out.append((payload[i + 1], bytes(payload[i + 2:i + 1 + payload[i]])))
        i += 1 + payload[i]
    return out


def passive_hears(payload: bytes,
                  patterns: tuple[tuple[int, int, bytes], ...] = OR_PATTERNS) -> bool:
    """Whether BlueZ's advertisement monitor passes this advert on: some AD of a pattern's type
    holds the pattern's content at its start position."""
    ads = ad_structures(payload)
    return any(t == ad_type and data[start:start + len(content)] == content
               for start, ad_type, content in patterns for t, data in ads)


def to_advert(device: Any, adv: Any, ts: float) -> Advert:
    """bleak's (BLEDevice, AdvertisementData) -> our frame; the only place bleak types appear."""
    return Advert(device.address.upper(), ts, int(adv.rssi),
                  {k.lower(): bytes(v) for k, v in adv.service_data.items()},
                  {int(k): bytes(v) for k, v in adv.manufacturer_data.items()},
                  adv.local_name)


def _in_progress(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}"
    return "InProgress" in text or "already in progress" in text.lower()


class BleSource:
    """poll(limit) -> (adverts, []) for the daemon; start()/stop() run the scanner thread."""

    def __init__(self, adapter: str | None = None, passive: bool = True,
                 watchdog_s: float = 120.0, backoff: tuple[float, float] = (1.0, 60.0),
                 scanner_factory: Callable[..., Any] | None = None, max_queue: int = 100_000):
        self.adapter = adapter
        self.passive = passive
        self.watchdog_s = watchdog_s
        self.backoff_min, self.backoff_max = backoff
        self._factory = scanner_factory or _bleak_scanner
        self.counters: Counter[str] = Counter()
        self.mode = ""  # "passive" | "active" once scanning
        self._q: deque[Advert] = deque(maxlen=max_queue)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_advert = 0.0

    # ---- the daemon's side
    def poll(self, limit: float | None = None) -> tuple[list[Advert], list]:
        out = []
        while self._q:
            out.append(self._q.popleft())
        return out, []

    def start(self) -> BleSource:
        self._stop.clear()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._supervise()),
                                        name="ble", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # ---- the scanner thread
    def _on_advert(self, device: Any, adv: Any) -> None:
        try:
            a = to_advert(device, adv, time.time())
        except Exception:  # noqa: BLE001 - one odd advert must never stop the scanner
            self.counters["rejected_bleak_advert"] += 1
            return
        self._last_advert = time.monotonic()
        self.counters["adverts"] += 1
        if len(self._q) == self._q.maxlen:
            self.counters["dropped_queue_full"] += 1
        self._q.append(a)

    async def _start_scanner(self) -> Any:
        if self.passive:
            try:
                scanner = self._factory(self._on_advert, "passive", self.adapter)
                await scanner.start()
                self.mode = "passive"
                return scanner
            except Exception as exc:  # passive may be unsupported: see below
                if _in_progress(exc):
                    raise
                # No advertisement-monitor support (old BlueZ, no -E): active still works.
                log.warning("passive scanning unavailable (%s); scanning actively", exc)
                self.counters["passive_unsupported"] += 1
        scanner = self._factory(self._on_advert, "active", self.adapter)
        await scanner.start()
        self.mode = "active"
        return scanner

    async def _supervise(self) -> None:
        delay = self.backoff_min
        while not self._stop.is_set():
            scanner = None
            try:
                scanner = await self._start_scanner()
                self.counters["scanner_starts"] += 1
                log.info("BLE scanning (%s) on %s", self.mode, self.adapter or "default adapter")
                self._last_advert = time.monotonic()
                started = time.monotonic()
                while not self._stop.is_set():
                    await asyncio.sleep(0.05)
                    if time.monotonic() - self._last_advert > self.watchdog_s:
                        self.counters["watchdog_restarts"] += 1
                        raise TimeoutError(f"no advertisement for {self.watchdog_s:.0f} s")
                    if time.monotonic() - started > 60:
                        delay = self.backoff_min  # it ran fine for a while: forget the failures
            except Exception as exc:  # noqa: BLE001 - any failure: restart, never die
                self.counters["scanner_errors"] += 1
                if _in_progress(exc):
                    self.counters["scanner_in_progress"] += 1
                log.warning("BLE scanner failed (%s: %s); restarting in %.1f s",
                            type(exc).__name__, exc, delay)
            finally:
                if scanner is not None:
                    try:
                        await scanner.stop()
                    except Exception as exc:  # noqa: BLE001 - a broken scanner may not stop
                        log.debug("stopping the scanner failed: %s", exc)
            if self._stop.is_set():
                break
            self.counters["scanner_restarts"] += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)


def _bleak_scanner(callback: Callable[[Any, Any], None], mode: str, adapter: str | None) -> Any:
    from bleak import BleakScanner
    from bleak.args.bluez import OrPattern
    from bleak.assigned_numbers import AdvertisementDataType

    bluez: dict[str, Any] = {}
    if adapter:
        bluez["adapter"] = adapter
    if mode == "passive":
        bluez["or_patterns"] = [OrPattern(s, AdvertisementDataType(t), p)
                                for s, t, p in OR_PATTERNS]
    return BleakScanner(callback, scanning_mode=mode, bluez=bluez)  # type: ignore[arg-type]


def open_ble_source(cfg: Any) -> BleSource:
    """What `gw run` uses when the configuration says source = "ble"."""
    b = cfg.ble
    return BleSource(b.adapter or None, b.passive, b.watchdog_s).start()
