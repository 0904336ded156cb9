"""The meter bridge's UART line protocol (docs/protocol.md, "Pulse bridge").

    PB1,<seq>,<count>,<uptime_s>*<crc>\\r\\n

seq: uint32 line sequence (wraps); count: cumulative pulses since installation (uint32, kept
across reboots); uptime_s: seconds since boot; crc: CRC-16/CCITT-FALSE of everything before '*',
four upper-case hex digits. A line after a reboot starts again at seq 0.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "PB1"
MAX_LINE = 64


class PulseLineError(ValueError):
    """A line that is not a valid pulse-bridge line; the message says why."""


def crc16_ccitt(data: bytes, crc: int = 0xFFFF) -> int:
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


@dataclass(frozen=True)
class PulseLine:
    seq: int
    count: int
    uptime_s: int


def frame(body: str) -> bytes:
    """One checksummed line: `<body>*<CRC-16/CCITT of body, 4 hex>\r\n` (every serial device
    of ours frames its lines this way: the meter bridge, the actuator)."""
    return f"{body}*{crc16_ccitt(body.encode()):04X}\r\n".encode()


def checked_fields(line: bytes, max_line: int, error: type[ValueError]) -> list[bytes]:
    """The comma-separated fields of one framed line, or `error` saying what is wrong with it."""
    if len(line) > max_line:
        raise error(f"line longer than {max_line} bytes")
    text = line.strip(b"\r\n")
    try:
        body, crc = text.rsplit(b"*", 1)
    except ValueError:
        raise error("no '*' before the checksum") from None
    try:
        want = int(crc, 16)
    except ValueError:
        raise error(f"checksum {crc!r} is not hex") from None
    if len(crc) != 4 or crc16_ccitt(body) != want:
        raise error("checksum mismatch")
    return body.split(b",")


def encode(seq: int, count: int, uptime_s: int) -> bytes:
    return frame(f"{PREFIX},{seq & 0xFFFFFFFF},{count & 0xFFFFFFFF},{uptime_s}")


def parse(line: bytes) -> PulseLine:
    fields = checked_fields(line, MAX_LINE, PulseLineError)
    if len(fields) != 4 or fields[0] != PREFIX.encode():
        raise PulseLineError("expected PB1,<seq>,<count>,<uptime_s>")
    try:
        seq, count, uptime = (int(f) for f in fields[1:])
    except ValueError:
        raise PulseLineError("seq, count and uptime must be decimal integers") from None
    if not (0 <= seq <= 0xFFFFFFFF and 0 <= count <= 0xFFFFFFFF and uptime >= 0):
        raise PulseLineError("field out of range")
    return PulseLine(seq, count, uptime)
