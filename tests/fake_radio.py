"""A real `machimori gw run` process whose BLE radio (and only that) is a test double.

    python -m tests.fake_radio ADVERTS.jsonl -- gw run --config gw.toml

The daemon, its BleSource, the bleak-to-Advert boundary and everything behind it are the real
ones; bleak's scanner is replaced by one that hears what the test appends to ADVERTS.jsonl,
built as bleak's own BLEDevice / AdvertisementData; a restarted process hears only lines
written after it started. FAKE_RADIO_CLOCK_OFFSET_S starts the process's wall clock that far
off; a line {"clock_step": s} steps it by s seconds (monotonic time does not move), as NTP does to a Pi that
booted without an RTC. The test writes lines with `Radio`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

_real_time = time.time
_offset = [0.0]
_read_pos = [0]  # survives scanner restarts: each line is heard once


def _wall() -> float:
    return _real_time() + _offset[0]


class FakeScanner:
    def __init__(self, path: Path, callback: Any):
        self.path = path
        self.callback = callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        import os

        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        # Tell the test this process is listening (the daemon is past its start-up).
        self.path.with_suffix(".scanning").write_text(str(os.getpid()))

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        from bleak.backends.device import BLEDevice
        from bleak.backends.scanner import AdvertisementData

        while not self._stop.wait(0.02):
            with open(self.path, "rb") as f:
                f.seek(_read_pos[0])
                data = f.read()
            end = data.rfind(b"\n") + 1
            if not end:
                continue
            _read_pos[0] += end
            for line in data[:end].splitlines():
                item = json.loads(line)
                if "clock_step" in item:
                    _offset[0] += float(item["clock_step"])
                    continue
                adv = AdvertisementData(
                    local_name=None,
                    manufacturer_data={int(k): bytes.fromhex(v)
                                       for k, v in item.get("mfr", {}).items()},
                    service_data={k: bytes.fromhex(v) for k, v in item.get("sd", {}).items()},
                    service_uuids=list(item.get("sd", {})), tx_power=None,
                    rssi=int(item.get("rssi", -60)), platform_data=())
                self.callback(BLEDevice(item["address"], None, {}), adv)


class Radio:
    """The test's side: what the fake radio will hear next."""

    def __init__(self, path: Path):
        self.path = path
        path.write_text("")

    def scanning(self, pid: int) -> bool:
        """Whether the gateway process `pid` has its scanner running."""
        try:
            return self.path.with_suffix(".scanning").read_text() == str(pid)
        except OSError:
            return False

    def _add(self, item: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(item) + "\n")

    def tag(self, payload: bytes, address: str = "C1:00:00:00:00:01", rssi: int = -60) -> None:
        from machimori.contract import tag

        self._add({"address": address, "rssi": rssi, "mfr": {str(tag.COMPANY_ID): payload.hex()}})

    def bthome(self, address: str, service_data: bytes, rssi: int = -60) -> None:
        from machimori.contract import bthome

        self._add({"address": address, "rssi": rssi,
                   "sd": {bthome.SERVICE_UUID: service_data.hex()}})

    def phone(self, address: str, rssi: int = -65) -> None:
        """A phone's advert (Apple "nearby" data, not an iBeacon)."""
        self._add({"address": address, "rssi": rssi, "mfr": {"76": "1005"}})

    def clock_step(self, seconds: float) -> None:
        self._add({"clock_step": seconds})


def main() -> int:
    import os

    sep = sys.argv.index("--")
    adverts = Path(sys.argv[1])
    # A radio hears nothing while its gateway is down: start after what is already there.
    _read_pos[0] = adverts.stat().st_size if adverts.exists() else 0
    _offset[0] = float(os.environ.get("FAKE_RADIO_CLOCK_OFFSET_S", "0"))  # a stale RTC
    time.time = _wall  # type: ignore[assignment]
    from gateway import ble

    ble._bleak_scanner = lambda callback, mode, adapter: FakeScanner(adverts, callback)  # type: ignore[assignment]
    from machimori.cli import main as cli

    return cli(sys.argv[sep + 1:])


if __name__ == "__main__":
    sys.exit(main())
