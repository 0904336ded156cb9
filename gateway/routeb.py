"""Route-B client: a Wi-SUN module (SKSTACK-IP) on a serial port, reading the smart meter.

Thin adapter: pyserial and the clock live here; line layouts are in gateway.skstack and frames
in gateway.echonet. Session expiry (EVENT 29) is followed by the module's own re-authentication;
when that fails (EVENT 24) the client joins again before the next request.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from . import echonet
from . import skstack as sk
from .decoders.errors import DecodeError

log = logging.getLogger("machimori.gateway.routeb")
BAUD = 115200


class RouteBError(RuntimeError):
    """A Route-B step that failed; `reason` is a counter key (scan_failed, join_failed, ...)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class MeterReading:
    ts: float
    power_w: int | None
    energy_kwh: float | None


class RouteBClient:
    def __init__(self, port: str, rbid: str, password: str, layout: sk.Layout | None = None,
                 timeout_s: float = 10.0, scan_durations: tuple[int, ...] = (4, 5, 6, 7)):
        self.port = port
        self.rbid = rbid
        self.password = password
        self.layout = layout
        self.timeout = timeout_s
        self.scan_durations = scan_durations
        self.counters: Counter[str] = Counter()
        self.meter_ip6: str | None = None
        self.session = False
        self._ser: Any = None
        self._buf = b""
        self._tid = 0
        self._unit: float | None = None
        self._coeff = 1

    # ---- serial lines
    def open(self) -> RouteBClient:
        import serial

        self._ser = serial.Serial(self.port, BAUD, timeout=0.05)
        self._ser.reset_input_buffer()
        self._ser.write(b"\r\n")
        self._command("SKSREG SFE 0")  # no echo: every line we read is the module's own
        info = self._command("SKINFO", want="EINFO")
        fields = info[-1].split() if info else []
        if self.layout is None:
            # BP35A1 ends EINFO with its short address FFFE; BP35C2 with its side (0 or 1).
            self.layout = sk.BP35A1 if fields[-1:] == ["FFFE"] else sk.BP35C2
        log.info("Wi-SUN module on %s speaks the %s layout", self.port, self.layout.name)
        return self

    def close(self) -> None:
        if self._ser is not None:
            try:
                if self.session:
                    self._command("SKTERM", want=("EVENT 27", "EVENT 28"), timeout=3)
            except (RouteBError, OSError):
                pass
            self._ser.close()
            self._ser = None

    def _readline(self, deadline: float) -> str | None:
        # Lines end in CR LF, except ROPT/WOPT answers (CR only): split on CR, drop the LF.
        while True:
            i = self._buf.find(b"\r")
            if i >= 0:
                line, self._buf = self._buf[:i], self._buf[i + 1:]
                return line.lstrip(b"\n").decode(errors="replace")
            if time.monotonic() >= deadline:
                return None
            chunk = self._ser.read(self._ser.in_waiting or 1)
            if chunk:
                self._buf += chunk

    def _write(self, data: bytes) -> None:
        self._ser.write(data)
        self._ser.flush()

    def _command(self, line: str, want: str | tuple[str, ...] = "OK",
                 timeout: float | None = None) -> list[str]:
        """Send a command; collect lines until one starts with `want`. FAIL -> RouteBError."""
        self._write(line.encode() + b"\r\n")
        return self._collect(line.split()[0], want, timeout)

    def _collect(self, what: str, want: str | tuple[str, ...],
                 timeout: float | None = None) -> list[str]:
        wants = (want,) if isinstance(want, str) else want
        deadline = time.monotonic() + (timeout or self.timeout)
        lines: list[str] = []
        while True:
            line = self._readline(deadline)
            if line is None:
                raise RouteBError("timeout", f"{what}: no {'/'.join(wants)} in time")
            if not line.strip():
                continue
            lines.append(line)
            if line.startswith("FAIL"):
                raise RouteBError("command_failed", f"{what}: {line}")
            self._on_async(line)
            if line.startswith(wants):
                return lines

    def _on_async(self, line: str) -> None:
        if not line.startswith("EVENT") or self.layout is None:
            return
        try:
            ev = sk.parse(self.layout, line)
        except DecodeError:
            self.counters["bad_line"] += 1
            return
        if isinstance(ev, sk.Event):
            if ev.num == sk.EV_SESSION_EXPIRED:
                self.counters["session_expired"] += 1
            elif ev.num == sk.EV_JOIN_FAILED:
                self.counters["rejoin_failed"] += 1
                self.session = False
            elif ev.num == sk.EV_JOINED:
                self.session = True

    # ---- Route-B steps
    def join(self) -> None:
        assert self.layout is not None
        self._command(f"SKSETRBID {self.rbid}")
        self._command(f"SKSETPWD {len(self.password):X} {self.password}")
        desc: dict[str, str] = {}
        for duration in self.scan_durations:
            self._write(sk.skscan(self.layout, duration))
            lines = self._collect("SKSCAN", "EVENT 22", timeout=self.timeout + 2**duration * 0.5)
            desc = {k.strip(): v.strip() for line in lines if line.startswith("  ")
                    for k, _, v in [line.partition(":")]}
            if "Addr" in desc:
                break
        else:
            self.counters["scan_failed"] += 1
            raise RouteBError("scan_failed", "no smart meter answered: check the Route-B id")
        self.meter_ip6 = self._command(f"SKLL64 {desc['Addr']}", want="FE80:")[-1].strip()
        self._command(f"SKSREG S2 {desc['Channel']}")
        self._command(f"SKSREG S3 {desc['Pan ID']}")
        self._join_session()

    def _join_session(self) -> None:
        lines = self._command(f"SKJOIN {self.meter_ip6}", want=("EVENT 24", "EVENT 25"),
                              timeout=self.timeout + 30)
        if lines[-1].startswith("EVENT 24"):
            self.counters["join_failed"] += 1
            raise RouteBError("join_failed", "PANA authentication failed: check the password")
        self.session = True
        self.counters["joins"] += 1

    def get(self, epcs: list[int], retries: int = 3) -> echonet.Frame:
        """ECHONET Lite Get to the meter; rejoins first if the session was lost."""
        assert self.layout is not None and self.meter_ip6 is not None
        for _ in range(retries):
            if not self.session:
                self._join_session()
            self._tid = (self._tid + 1) & 0xFFFF
            self._write(sk.sksendto(self.layout, self.meter_ip6,
                                    echonet.get_request(self._tid, epcs)))
            deadline = time.monotonic() + self.timeout
            while (line := self._readline(deadline)) is not None:
                if line.startswith("FAIL"):
                    raise RouteBError("command_failed", f"SKSENDTO: {line}")
                self._on_async(line)
                if line.startswith("EVENT 21") and line.rstrip().endswith(" 01"):
                    self.counters["send_failed"] += 1
                    break  # not sent: the session may be gone; try again
                if not line.startswith("ERXUDP"):
                    continue
                try:
                    rx = sk.parse(self.layout, line)
                    assert isinstance(rx, sk.RxUdp)
                    if rx.src != self.meter_ip6 or rx.src_port != echonet.PORT:
                        continue
                    frame = echonet.parse(rx.data)
                except DecodeError as exc:
                    self.counters[f"rejected_{exc.reason}"] += 1
                    continue
                if frame.tid == self._tid and frame.seoj == echonet.SMART_METER:
                    return frame
            self.counters["request_retries"] += 1
        raise RouteBError("no_answer", f"the meter did not answer EPCs {epcs}")

    def read(self) -> MeterReading:
        """Instantaneous power (E7) and cumulative energy (E0 × E1 unit × D3 coefficient)."""
        if self._unit is None:
            f = self.get([echonet.E1_UNIT, echonet.D3_COEFF])
            self._unit = echonet.unit_kwh(f.get(echonet.E1_UNIT) or b"")
            coeff = f.get(echonet.D3_COEFF)
            self._coeff = int.from_bytes(coeff, "big") if coeff else 1  # D3 is optional
        f = self.get([echonet.E7_POWER, echonet.E0_ENERGY])
        e7, e0 = f.get(echonet.E7_POWER), f.get(echonet.E0_ENERGY)
        return MeterReading(time.time(), echonet.power_w(e7) if e7 else None,
                            echonet.energy_kwh(e0, self._unit, self._coeff) if e0 else None)
