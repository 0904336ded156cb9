"""Meter-bridge lines from a serial port: checksums, sequence gaps, and reconnecting.

`PulseStream` is pure (bytes and time in, checked lines out); `BridgePort` is the pyserial
adapter that survives the dongle being unplugged: it closes, waits with backoff, reopens.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from machimori.contract import pulse

log = logging.getLogger("machimori.gateway.serial")


@dataclass(frozen=True, slots=True)
class CheckedLine:
    ts: float
    raw: bytes
    line: pulse.PulseLine
    gap: int  # lines missing before this one (0 = none)


class PulseStream:
    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self._buf = b""
        self._last_seq: int | None = None

    def feed(self, data: bytes, ts: float) -> list[CheckedLine]:
        self._buf += data
        out: list[CheckedLine] = []
        while (i := self._buf.find(b"\n")) >= 0:
            raw, self._buf = self._buf[:i + 1], self._buf[i + 1:]
            checked = self._line(raw, ts)
            if checked is not None:
                out.append(checked)
        if len(self._buf) > pulse.MAX_LINE:  # noise without a newline: drop it
            self.counters["rejected_line_too_long"] += 1
            self._buf = b""
        return out

    def _line(self, raw: bytes, ts: float) -> CheckedLine | None:
        if not raw.strip():
            return None
        try:
            line = pulse.parse(raw)
        except pulse.PulseLineError as exc:
            # The contract says why in words; only a checksum mismatch is line noise on a
            # well-formed line, everything else is a framing problem.
            reason = "checksum" if str(exc) == "checksum mismatch" else "format"
            self.counters[f"rejected_pulse_{reason}"] += 1
            return None
        gap = 0
        if self._last_seq is not None:
            expected = (self._last_seq + 1) & 0xFFFFFFFF
            if line.seq == 0 and self._last_seq != 0xFFFFFFFF:
                self.counters["bridge_reboots"] += 1  # a reboot restarts at 0
            elif line.seq != expected:
                gap = (line.seq - expected) & 0xFFFFFFFF
                self.counters["seq_gaps"] += 1
                self.counters["lines_missing"] += gap
        self._last_seq = line.seq
        self.counters["lines"] += 1
        return CheckedLine(ts, raw, line, gap)

    def reset(self) -> None:
        """After a reconnect a partial line in the buffer belongs to nobody."""
        self._buf = b""


class BridgePort:
    """poll() -> checked lines; never raises for an unplugged or vanished port."""

    def __init__(self, port: str, baud: int = 115200, backoff: tuple[float, float] = (0.2, 10.0)):
        self.port = port
        self.baud = baud
        self.backoff_min, self.backoff_max = backoff
        self.stream = PulseStream()
        self.counters = self.stream.counters
        self._ser: Any = None
        self._delay = self.backoff_min
        self._next_try = 0.0

    @property
    def connected(self) -> bool:
        return self._ser is not None

    def _open(self, now: float) -> bool:
        import serial

        if now < self._next_try:
            return False
        try:
            self._ser = serial.Serial(self.port, self.baud, timeout=0)
        except (serial.SerialException, OSError) as exc:
            self._fail(now, f"cannot open {self.port}: {exc}")
            return False
        self.counters["connects"] += 1
        self._delay = self.backoff_min
        self.stream.reset()
        log.info("meter bridge on %s connected", self.port)
        return True

    def _fail(self, now: float, why: str) -> None:
        log.warning("meter bridge: %s; retrying in %.1f s", why, self._delay)
        self._next_try = now + self._delay
        self._delay = min(self._delay * 2, self.backoff_max)

    def poll(self, now: float | None = None) -> list[CheckedLine]:
        import serial

        mono = time.monotonic()
        if self._ser is None and not self._open(mono):
            return []
        try:
            data = self._ser.read(self._ser.in_waiting or 1)
        except (serial.SerialException, OSError) as exc:
            self.counters["disconnects"] += 1
            try:
                self._ser.close()
            except (serial.SerialException, OSError):
                pass
            self._ser = None
            self._fail(mono, f"read failed ({exc})")
            return []
        return self.stream.feed(data, time.time() if now is None else now) if data else []

    def close(self) -> None:
        if self._ser is not None:
            self._ser.close()
            self._ser = None
