"""Where the daemon's adverts come from, found by name, and what it listens to besides.

Advert sources are found by name: `ble`, the real radio (gateway/ble.py), is built in; any
other registers under the entry-point group `machimori.gateway.sources` (pyproject.toml) —
the simulated town registers `sim` from sim/, so the gateway never imports the simulator. Meter bridges and a Route-B smart meter
are thin wrappers that turn pyserial adapters into plain values for the pipeline; they never
raise out (an unplugged port is retried with backoff and counted).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import GatewayConfig

log = logging.getLogger("machimori.gateway.sources")
GROUP = "machimori.gateway.sources"


@dataclass(frozen=True)
class OpenedSource:
    """What a source factory returns: `source.poll(limit)` gives (adverts, serial lines) heard
    up to `limit` on `clock`'s time scale (and `source.stop()` if it has threads)."""

    source: Any
    clock: Callable[[], float]
    # device id -> tag key of the tags this source plays (a scan without a configuration)
    tag_keys: dict[str, bytes] = field(default_factory=dict)


# A factory takes the gateway configuration (None: a scan without one) and a speed (simulated
# seconds per second, for sources that have a clock of their own; None: the configuration's).
SourceFactory = Callable[["GatewayConfig | None", "float | None"], OpenedSource]


def available_sources() -> list[str]:
    """Names a configuration's `gateway.source` may use."""
    return sorted({ep.name for ep in entry_points(group=GROUP)} | {"ble"})


def open_source(name: str, cfg: GatewayConfig | None, speed: float | None = None
                ) -> OpenedSource:
    if name == "ble":  # built in: the one production source needs no registry
        from .ble import open_ble_source

        if cfg is None:
            raise LookupError("the radio needs a gateway configuration (its [ble] section)")
        return OpenedSource(open_ble_source(cfg), time.time)
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        raise LookupError(f"no advert source named {name!r} is installed "
                          f"(have: {', '.join(available_sources())})")
    factory: SourceFactory = found[0].load()
    return factory(cfg, speed)


class MeterBridges:
    """Every meter device with a serial `port` (other than the Route-B module's)."""

    def __init__(self, cfg: GatewayConfig):
        from .serial_bridge import BridgePort

        skip = cfg.routeb.port if cfg.routeb.port else None
        self.bridges = {d.id: BridgePort(d.port) for d in cfg.devices
                        if d.kind == "meter" and d.port and d.port != skip}

    def poll(self, now: float) -> list[tuple[str, bytes, float]]:
        out = []
        for dev, bridge in self.bridges.items():
            out += [(dev, c.raw, c.ts) for c in bridge.poll(now)]
        return out

    @property
    def counters(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for b in self.bridges.values():
            total += b.counters
        return total

    def close(self) -> None:
        for b in self.bridges.values():
            b.close()


class RouteBReader:
    """Reads the smart meter over Route-B every `interval_s` in a thread of its own (joining a
    PANA session takes tens of seconds); after any failure it closes, waits and rejoins."""

    def __init__(self, cfg: GatewayConfig):
        self.cfg = cfg.routeb
        meters = [d for d in cfg.devices if d.kind == "meter"]
        self.device_id = next((d.id for d in meters if d.port == self.cfg.port),
                              meters[0].id if meters else "routeb")
        self.readings: queue.Queue[Any] = queue.Queue()
        self.counters: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _credentials(self) -> tuple[str, str]:
        doc = json.loads(Path(self.cfg.credentials_file).read_text())
        return doc["rbid"], doc["password"]

    def start(self) -> RouteBReader:
        self._thread = threading.Thread(target=self._run, name="routeb", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        from . import skstack
        from .routeb import RouteBClient, RouteBError

        delay = 5.0
        while not self._stop.is_set():
            client = None
            try:
                rbid, password = self._credentials()
                layout = skstack.LAYOUTS.get(self.cfg.layout)
                client = RouteBClient(self.cfg.port, rbid, password, layout=layout).open()
                client.join()
                delay = 5.0
                while not self._stop.is_set():
                    self.readings.put(client.read())
                    self.counters["reads"] += 1
                    self._stop.wait(self.cfg.interval_s)
            except (RouteBError, OSError, ValueError, KeyError) as exc:
                self.counters["failures"] += 1
                log.warning("Route-B: %s; rejoining in %.0f s", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 300.0)
            finally:
                if client is not None:
                    self.counters.update(client.counters)
                    client.close()

    def poll(self) -> list[Any]:
        out = []
        while True:
            try:
                out.append(self.readings.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def people_secret(data_dir: Path) -> bytes:
    """The gateway's own secret for people counting: made once, mode 0600, never sent."""
    import os

    from machimori.files import write_private

    path = data_dir / "people.key"
    if path.exists():
        return path.read_bytes()
    secret = os.urandom(32)
    write_private(path, secret)
    return secret
