"""A virtual meter bridge on a pty: the pulse-bridge lines the firmware writes, byte for byte.

Lines come from the one encoder (machimori.contract.pulse). Tests can also push raw bytes
(line noise), skip sequence numbers, reboot the bridge, or unplug and replug it.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from machimori.contract import pulse

from .pty_device import PtyDevice


class MeterBridge:
    def __init__(self, link: str | Path | None = None, pulses_per_line: int = 3,
                 start_count: int = 1000):
        self.link = link
        self.pulses_per_line = pulses_per_line
        self.seq = 0
        self.count = start_count
        self.uptime = 0
        self.dev = PtyDevice(None, link)
        self._lock = threading.Lock()

    @property
    def port(self) -> str:
        return self.dev.port

    def plug(self) -> MeterBridge:
        self.dev = PtyDevice(None, self.link).open()
        return self

    def unplug(self) -> None:
        self.dev.close()

    def line(self) -> bytes:
        """Write the next line (what the firmware does once per interval) and return it."""
        with self._lock:
            data = pulse.encode(self.seq, self.count, self.uptime)
            self.seq = (self.seq + 1) & 0xFFFFFFFF
            self.count += self.pulses_per_line
            self.uptime += 10
        self.dev.write(data)
        return data

    def skip(self, n: int) -> None:
        """Lose n lines (as a noisy cable would)."""
        with self._lock:
            self.seq += n
            self.count += n * self.pulses_per_line

    def reboot(self) -> None:
        with self._lock:
            self.seq = 0
            self.uptime = 0

    def raw(self, data: bytes) -> None:
        self.dev.write(data)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("meter-bridge", help="a virtual meter bridge on a pty",
                       description="Serve a virtual pulse meter bridge on a pseudo-terminal.")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between lines")
    p.add_argument("--link", help="also make this symlink point at the pty")
    p.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    import signal

    bridge = MeterBridge(args.link).plug()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(bridge.port, flush=True)
    try:
        while not stop.wait(args.interval):
            bridge.line()
    finally:
        bridge.unplug()
    return 0
