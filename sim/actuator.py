"""A virtual actuator on a pty: the firmware's line protocol and interlocks, for tests and the demo.

Lines come from the one codec (machimori.contract.actuator). It keeps the firmware's rules
(docs/actuators.md) in their simplest form: the override switch, the humidity ceiling, wind,
max on-time and min off-time; the real firmware is tested on MicroPython in
tests/test_edge_actuator.py. Tests set its humidity and switch, and read the relay.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable

from machimori.contract import actuator as ac

from .pty_device import PtyDevice


class SimActuator:
    def __init__(self, rh: float = 55.0, rh_max: float = 80.0, wind_max_dms: int = 50,
                 max_on_s: float = 900.0, min_off_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        self.rh, self.rh_max, self.wind_max_dms = rh, rh_max, wind_max_dms
        self.max_on_s, self.min_off_s = max_on_s, min_off_s
        self.override = False
        self.on = False
        self.clock = clock
        self._on_at = 0.0
        self._until = 0.0
        self._off_at: float | None = None
        self._buf = b""
        self.seq = 0
        self.commands: list[ac.Command] = []
        self.dev = PtyDevice(self.feed)
        self._lock = threading.Lock()

    @property
    def port(self) -> str:
        return self.dev.port

    def plug(self) -> SimActuator:
        self.dev.open()
        return self

    def unplug(self) -> None:
        self.dev.close()

    def _refuse(self, c: ac.Command, now: float) -> str | None:
        if self.override:
            return "override"
        if c.wind_dms > self.wind_max_dms:
            return "wind"
        if self.rh > self.rh_max:
            return "humidity"
        if not self.on and self._off_at is not None and now - self._off_at < self.min_off_s:
            return "rate"
        return None

    def handle(self, c: ac.Command) -> bytes:
        now = self.clock()
        self.commands.append(c)
        with self._lock:
            self._expire(now)
            reason = self._refuse(c, now) if c.action == "on" else None
            if c.action == "on" and reason is None:
                if not self.on:
                    self.on, self._on_at = True, now
                hold = self.max_on_s if c.hold_s == 0 else min(c.hold_s, self.max_on_s)
                self._until = min(now + hold, self._on_at + self.max_on_s)
            elif c.action == "off":
                self._switch_off(now)
            return ac.encode_ack(ac.Ack(c.id, "refused" if reason else "done", reason, self.on))

    def _switch_off(self, now: float) -> None:
        if self.on:
            self.on, self._off_at = False, now

    def _expire(self, now: float) -> None:
        if self.on and (now >= self._until or self.override or self.rh > self.rh_max):
            self._switch_off(now)

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        out = b""
        while (i := self._buf.find(b"\n")) >= 0:
            raw, self._buf = self._buf[:i + 1], self._buf[i + 1:]
            try:
                line = ac.parse(raw)
            except ac.ActuatorLineError:
                continue  # the firmware drops noise silently too
            if isinstance(line, ac.Command):
                out += self.handle(line)
        return out

    def state_line(self) -> bytes:
        with self._lock:
            now = self.clock()
            self._expire(now)
            line = ac.encode_state(ac.State(self.seq, self.on, round(self.rh * 100),
                                            self.override,
                                            int(now - self._on_at) if self.on else 0))
            self.seq += 1
        self.dev.write(line)
        return line


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("actuator", help="a virtual mist/fan actuator on a pty",
                       description="Serve a virtual actuator (docs/actuators.md) on a "
                                   "pseudo-terminal; prints the pty path.")
    p.add_argument("--humidity", type=float, default=55.0, help="its SHT4x humidity in %%")
    p.add_argument("--state-interval", type=float, default=30.0,
                   help="seconds between state lines")
    p.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    import signal

    dev = SimActuator(rh=args.humidity).plug()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(dev.port, flush=True)
    try:
        while not stop.wait(args.state_interval):
            dev.state_line()
    finally:
        dev.unplug()
    return 0
