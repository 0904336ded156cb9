"""A virtual Wi-SUN module (BP35A1 or BP35C2 layout) with a low-voltage smart meter behind it.

`WisunModule.feed(bytes) -> bytes` is the whole module as a pure state machine: commands in,
exactly the lines a real module writes out. `machimori sim routeb` puts it on a pty.
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway import echonet
from gateway import skstack as sk

DEFAULT_RBID = "00112233445566778899AABBCCDDEEFF"
DEFAULT_PASSWORD = "0123456789AB"


@dataclass
class SmartMeter:
    """ECHONET Lite low-voltage smart meter (class 0x0288): E7, E0, E1, D3, D7, E8."""

    power_w: int | Callable[[], int] = 1234
    energy_count: int | Callable[[], int] = 56789  # in units of E1
    unit_code: int = 0x01  # 0.1 kWh
    coefficient: int | None = 1  # None: the meter has no D3 (answered "not possible")
    digits: int = 6

    def _v(self, x: int | Callable[[], int]) -> int:
        return x() if callable(x) else x

    def answer(self, request: bytes) -> bytes | None:
        try:
            f = echonet.parse(request)
        except ValueError:
            return None
        if f.deoj != echonet.SMART_METER or f.esv != echonet.GET:
            return None
        props: list[tuple[int, bytes]] = []
        ok = True
        for epc, _ in f.props:
            edt = self._property(epc)
            ok &= edt is not None
            props.append((epc, edt or b""))
        return echonet.build(f.tid, echonet.GET_RES if ok else echonet.GET_SNA, props,
                             seoj=echonet.SMART_METER, deoj=f.seoj)

    def _property(self, epc: int) -> bytes | None:
        if epc == echonet.E7_POWER:
            return self._v(self.power_w).to_bytes(4, "big", signed=True)
        if epc == echonet.E0_ENERGY:
            return (self._v(self.energy_count) % 10**self.digits).to_bytes(4, "big")
        if epc == echonet.E1_UNIT:
            return bytes([self.unit_code])
        if epc == echonet.D3_COEFF:
            return None if self.coefficient is None else self.coefficient.to_bytes(4, "big")
        if epc == echonet.D7_DIGITS:
            return bytes([self.digits])
        if epc == echonet.E8_CURRENT:
            deci_amps = round(self._v(self.power_w) / 100 / 2 * 10)  # 100 V, two phases
            return deci_amps.to_bytes(2, "big", signed=True) * 2
        return None


@dataclass
class WisunModule:
    layout: sk.Layout = sk.BP35C2
    meter: SmartMeter = field(default_factory=SmartMeter)
    rbid: str = DEFAULT_RBID  # what the meter was provisioned with
    password: str = DEFAULT_PASSWORD
    mac64: str = "001D129012345678"
    meter_mac64: str = "C0F9450040123456"
    channel: int = 0x21
    pan_id: int = 0x8888
    echo: bool = True  # real modules echo commands until SKSREG SFE 0
    rejoin_ok: bool = True  # whether re-authentication after EVENT 29 succeeds
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.ip6 = sk.ll64(self.mac64)
        self.meter_ip6 = sk.ll64(self.meter_mac64)
        self._buf = b""
        self._skip_lf = False
        self.reset()
        self.log: list[str] = []  # commands received (secrets masked), for tests and --verbose

    def reset(self) -> None:
        self.regs: dict[str, str] = {"S2": "21", "S3": "FFFF", "SFE": "1" if self.echo else "0"}
        self.set_rbid: str | None = None
        self.set_pwd: str | None = None
        self.session = False

    # ---- bytes in, bytes out
    def feed(self, data: bytes) -> bytes:
        with self.lock:
            self._buf += data
            out = bytearray()
            while True:
                chunk = self._next_command()
                if chunk is None:
                    break
                out += chunk
            return bytes(out)

    def _next_command(self) -> bytes | None:
        buf = self._buf
        if self._skip_lf and buf[:1] == b"\n":
            buf = buf[1:]
        self._skip_lf = False
        if buf.startswith(b"SKSENDTO "):
            n = 7 if self.layout.has_side else 6  # tokens including the length field
            parts = buf.split(b" ", n)
            if len(parts) <= n:
                self._buf = buf
                return None
            try:
                length = int(parts[n - 1], 16)
            except ValueError:
                self._buf = b""
                return b"FAIL ER06\r\n"
            rest = parts[n]
            if len(rest) < length:
                self._buf = buf
                return None
            self._buf = rest[length:]
            head = b" ".join(parts[:n])
            return self._echo(head + b" ") + self._sendto(
                [p.decode(errors="replace") for p in parts[:n]], rest[:length])
        cr = buf.find(b"\r")
        if cr < 0:
            self._buf = buf[-256:] if len(buf) > 256 else buf  # line noise cannot grow forever
            return None
        line, self._buf = buf[:cr], buf[cr + 1:]
        if self._buf[:1] == b"\n":
            self._buf = self._buf[1:]
        elif not self._buf:
            self._skip_lf = True
        text = line.decode(errors="replace").strip()
        if not text:
            return b""
        return self._echo(line + b"\r\n") + self._command(text.split())

    def _echo(self, data: bytes) -> bytes:
        return data if self.regs.get("SFE", "1") != "0" else b""

    def _ev(self, num: int, addr: str, param: int | None = None) -> bytes:
        return sk.event(self.layout, num, addr, param)

    def _command(self, a: list[str]) -> bytes:
        cmd = a[0]
        self.log.append(cmd if cmd in ("SKSETPWD", "SKSETRBID") else " ".join(a))
        ok = b"OK\r\n"
        if cmd == "SKVER":
            return f"EVER {'1.2.10' if self.layout is sk.BP35A1 else '1.5.2'}\r\n".encode() + ok
        if cmd == "SKAPPVER":
            return b"EAPPVER rev26e\r\n" + ok
        if cmd == "SKINFO":
            last = "FFFE" if not self.layout.has_side else "0"
            return (f"EINFO {self.ip6} {self.mac64} {self.regs['S2']} {self.regs['S3']} "
                    f"{last}\r\n").encode() + ok
        if cmd == "SKRESET":
            self.reset()
            return ok
        if cmd == "ROPT":
            return b"OK 01\r"
        if cmd == "WOPT":
            return b"OK\r"
        if cmd == "SKSREG" and len(a) == 3:
            self.regs[a[1].upper()] = a[2].upper()
            return ok
        if cmd == "SKSREG" and len(a) == 2:
            return f"ESREG {self.regs.get(a[1].upper(), '0')}\r\n".encode() + ok
        if cmd == "SKSETRBID" and len(a) == 2:
            self.set_rbid = a[1]
            return ok
        if cmd == "SKSETPWD" and len(a) == 3:
            if int(a[1], 16) != len(a[2]):
                return b"FAIL ER06\r\n"
            self.set_pwd = a[2]
            return ok
        if cmd == "SKSCAN":
            if len(a) != (5 if self.layout.has_side else 4):
                return b"FAIL ER06\r\n"
            out = bytearray(ok)
            if self.set_rbid == self.rbid:  # the meter answers only its own pairing id
                out += self._ev(sk.EV_BEACON, self.meter_ip6)
                out += sk.epandesc(self.layout, self.channel, self.pan_id, self.meter_mac64,
                                   0xE1, self.rbid[-8:])
            return bytes(out + self._ev(sk.EV_SCAN_DONE, self.ip6))
        if cmd == "SKLL64" and len(a) == 2:
            return (sk.ll64(a[1]) + "\r\n").encode()
        if cmd == "SKJOIN" and len(a) == 2:
            good = (a[1] == self.meter_ip6 and self.set_rbid == self.rbid
                    and self.set_pwd == self.password
                    and int(self.regs["S2"], 16) == self.channel
                    and int(self.regs["S3"], 16) == self.pan_id)
            self.session = good
            return ok + self._ev(sk.EV_JOINED if good else sk.EV_JOIN_FAILED, a[1])
        if cmd == "SKTERM":
            was, self.session = self.session, False
            return ok + self._ev(sk.EV_SESSION_CLOSED if was else sk.EV_NO_SESSION,
                                 self.meter_ip6)
        return b"FAIL ER04\r\n"

    def _sendto(self, head: list[str], payload: bytes) -> bytes:
        self.log.append(" ".join(head[:-1]) + f" {head[-1]} <{payload.hex()}>")
        dst, port = head[2], int(head[3], 16)
        if not self.session or dst != self.meter_ip6:
            return self._ev(sk.EV_UDP_SENT, dst, 0x01) + b"OK\r\n"
        out = self._ev(sk.EV_UDP_SENT, dst, 0x00) + b"OK\r\n"
        answer = self.meter.answer(payload) if port == echonet.PORT else None
        if answer is not None:
            out += sk.erxudp(self.layout, sk.RxUdp(
                self.meter_ip6, self.ip6, echonet.PORT, echonet.PORT, self.meter_mac64, 0xE1,
                True, 0, answer))
        return out

    def expire_session(self) -> bytes:
        """The PANA session lifetime ends: EVENT 29, then the module re-authenticates."""
        with self.lock:
            if not self.session:
                return b""
            self.session = self.rejoin_ok
            return (self._ev(sk.EV_SESSION_EXPIRED, self.meter_ip6)
                    + self._ev(sk.EV_JOINED if self.rejoin_ok else sk.EV_JOIN_FAILED,
                               self.meter_ip6))


def household_meter(start: float | None = None) -> SmartMeter:
    """A meter whose readings move like a household's: ~300-900 W, energy integrating it."""
    t0 = time.time() if start is None else start

    def watts() -> int:
        t = time.time()
        return int(550 + 300 * math.sin(2 * math.pi * (t % 86400) / 86400))

    def count() -> int:  # 0.1 kWh units
        return 123_450 + int((time.time() - t0) * 550 / 3600 / 1000 * 10)

    return SmartMeter(power_w=watts, energy_count=count)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("routeb", help="a virtual Wi-SUN module + smart meter on a pty",
                       description="Serve a virtual Wi-SUN module (SKSTACK-IP) with a smart "
                                   "meter behind it on a pseudo-terminal until stopped.")
    p.add_argument("--layout", choices=sorted(sk.LAYOUTS), default="BP35C2")
    p.add_argument("--rbid", default=DEFAULT_RBID, help="Route-B id the meter accepts")
    p.add_argument("--password", default=DEFAULT_PASSWORD, help="Route-B password")
    p.add_argument("--link", help="also make this symlink point at the pty")
    p.add_argument("--power-w", type=int, help="fixed instantaneous power (default: varies)")
    p.add_argument("--energy-count", type=int, help="fixed E0 count (default: grows)")
    p.add_argument("--expire-every", type=float, default=0.0,
                   help="end the PANA session every N seconds (EVENT 29), 0 = never")
    p.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    import signal

    from .pty_device import PtyDevice

    meter = household_meter()
    if args.power_w is not None:
        meter.power_w = args.power_w
    if args.energy_count is not None:
        meter.energy_count = args.energy_count
    module = WisunModule(sk.LAYOUTS[args.layout], meter, args.rbid, args.password)
    dev = PtyDevice(module.feed, args.link).open()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(dev.port, flush=True)
    try:
        while not stop.wait(args.expire_every or 3600):
            if args.expire_every:
                dev.write(module.expire_session())
    finally:
        dev.close()
    return 0
