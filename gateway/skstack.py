"""SKSTACK-IP line layouts of ROHM Wi-SUN modules, both directions, for BP35A1 and BP35C2.

The one definition used by the gateway's Route-B client and by the sim's virtual module. The two
modules differ in a "side" field: BP35C2 puts it in EVENT, ERXUDP (which also carries LQI),
SKSCAN, SKSENDTO and EPANDESC; BP35A1 has none (its EINFO ends with the short address FFFE).
"""

from __future__ import annotations

from dataclasses import dataclass

from .decoders.errors import DecodeError


@dataclass(frozen=True)
class Layout:
    name: str
    has_side: bool


BP35A1 = Layout("BP35A1", False)
BP35C2 = Layout("BP35C2", True)
LAYOUTS = {"BP35A1": BP35A1, "BP35C2": BP35C2}

EV_UDP_SENT = 0x21  # param 00 ok, 01 failed, 02 neighbour solicitation
EV_BEACON = 0x20
EV_SCAN_DONE = 0x22
EV_JOIN_FAILED = 0x24
EV_JOINED = 0x25
EV_SESSION_CLOSED = 0x27
EV_NO_SESSION = 0x28
EV_SESSION_EXPIRED = 0x29  # the module re-authenticates on its own: 25 or 24 follows


@dataclass(frozen=True, slots=True)
class Event:
    num: int
    addr: str
    side: int | None
    param: int | None


@dataclass(frozen=True, slots=True)
class RxUdp:
    src: str
    dst: str
    src_port: int
    dst_port: int
    src_mac: str
    lqi: int | None
    secured: bool
    side: int | None
    data: bytes


def ll64(mac64: str) -> str:
    """SKLL64: the link-local IPv6 address of a 64-bit MAC (universal/local bit flipped)."""
    b = bytearray(bytes.fromhex(mac64))
    b[0] ^= 0x02
    return "FE80:0000:0000:0000:" + ":".join(b[i:i + 2].hex().upper() for i in range(0, 8, 2))


def skscan(layout: Layout, duration: int) -> bytes:
    return f"SKSCAN 2 FFFFFFFF {duration}{' 0' if layout.has_side else ''}\r\n".encode()


def sksendto(layout: Layout, ip6: str, data: bytes, handle: int = 1, port: int = 0x0E1A,
             sec: int = 2, side: int = 0) -> bytes:
    # No line end: the module reads exactly <len> raw bytes after the space.
    head = f"SKSENDTO {handle} {ip6} {port:04X} {sec}"
    if layout.has_side:
        head += f" {side}"
    return f"{head} {len(data):04X} ".encode() + data


def event(layout: Layout, num: int, addr: str, param: int | None = None, side: int = 0) -> bytes:
    parts = [f"EVENT {num:02X}", addr]
    if layout.has_side:
        parts.append(str(side))
    if param is not None:
        parts.append(f"{param:02X}")
    return (" ".join(parts) + "\r\n").encode()


def erxudp(layout: Layout, rx: RxUdp) -> bytes:
    parts = ["ERXUDP", rx.src, rx.dst, f"{rx.src_port:04X}", f"{rx.dst_port:04X}", rx.src_mac]
    if layout.has_side:
        parts += [f"{rx.lqi or 0:02X}", "1" if rx.secured else "0", str(rx.side or 0)]
    else:
        parts.append("1" if rx.secured else "0")
    parts += [f"{len(rx.data):04X}", rx.data.hex().upper()]
    return (" ".join(parts) + "\r\n").encode()


def epandesc(layout: Layout, channel: int, pan_id: int, addr: str, lqi: int, pair_id: str,
             side: int = 0) -> bytes:
    lines = ["EPANDESC", f"  Channel:{channel:02X}", "  Channel Page:09",
             f"  Pan ID:{pan_id:04X}", f"  Addr:{addr}", f"  LQI:{lqi:02X}"]
    if layout.has_side:
        lines.append(f"  Side:{side}")
    lines.append(f"  PairID:{pair_id}")
    return "".join(x + "\r\n" for x in lines).encode()


def parse(layout: Layout, line: str) -> Event | RxUdp | None:
    """EVENT / ERXUDP lines -> typed; other lines -> None. Malformed -> DecodeError."""
    parts = line.split()
    if not parts or parts[0] not in ("EVENT", "ERXUDP"):
        return None
    try:
        if parts[0] == "EVENT":
            rest = parts[3:]
            side = None
            if layout.has_side and rest:
                side, rest = int(rest[0], 16), rest[1:]
            return Event(int(parts[1], 16), parts[2], side, int(rest[0], 16) if rest else None)
        want = 11 if layout.has_side else 9
        if len(parts) != want:
            raise DecodeError("bad_erxudp", f"{layout.name} ERXUDP has {want} fields, "
                                            f"got {len(parts)}")
        data = bytes.fromhex(parts[-1])
        if len(data) != int(parts[-2], 16):
            raise DecodeError("bad_erxudp", "data length field does not match the data")
        if layout.has_side:
            return RxUdp(parts[1], parts[2], int(parts[3], 16), int(parts[4], 16), parts[5],
                         int(parts[6], 16), parts[7] == "1", int(parts[8], 16), data)
        return RxUdp(parts[1], parts[2], int(parts[3], 16), int(parts[4], 16), parts[5],
                     None, parts[6] == "1", None, data)
    except (ValueError, IndexError):
        raise DecodeError("bad_line", f"unreadable {parts[0]} line") from None
