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


def encode(seq: int, count: int, uptime_s: int) -> bytes:
    body = f"{PREFIX},{seq & 0xFFFFFFFF},{count & 0xFFFFFFFF},{uptime_s}"
    return f"{body}*{crc16_ccitt(body.encode()):04X}\r\n".encode()


def parse(line: bytes) -> PulseLine:
    if len(line) > MAX_LINE:
        raise PulseLineError(f"line longer than {MAX_LINE} bytes")
    text = line.strip(b"\r\n")
    try:
        body, crc = text.rsplit(b"*", 1)
    except ValueError:
        raise PulseLineError("no '*' before the checksum") from None
    try:
        want = int(crc, 16)
    except ValueError:
        raise PulseLineError(f"checksum {crc!r} is not hex") from None
    if len(crc) != 4 or crc16_ccitt(body) != want:
        raise PulseLineError("checksum mismatch")
    fields = body.split(b",")
    if len(fields) != 4 or fields[0] != PREFIX.encode():
        raise PulseLineError("expected PB1,<seq>,<count>,<uptime_s>")
    try:
        seq, count, uptime = (int(f) for f in fields[1:])
    except ValueError:
        raise PulseLineError("seq, count and uptime must be decimal integers") from None
    if not (0 <= seq <= 0xFFFFFFFF and 0 <= count <= 0xFFFFFFFF and uptime >= 0):
        raise PulseLineError("field out of range")
    return PulseLine(seq, count, uptime)
