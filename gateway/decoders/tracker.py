"""Per-device history for BTHome: encryption-counter replay protection and packet-id de-dup.

Decoding is pure; whether a reading is *new* depends on what the device sent before, so that
state lives here, keyed by address, with time passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from .bthome import BTHomeReading

# Nodes repeat each advert a few times within a second; a packet id seen again after this long
# is a new measurement (a node that rebooted, or one that sends rarely).
DUP_WINDOW_S = 4.0
# An id less than this far ahead (mod 256) is newer; anything else within the window is older.
AHEAD = 64


@dataclass(slots=True)
class _History:
    packet_id: int | None = None
    packet_ts: float = float("-inf")
    counter: int | None = None


class BTHomeTracker:
    """check(address, reading, ts) -> None if the reading is new, else a rejection reason."""

    def __init__(self) -> None:
        self._h: dict[str, _History] = {}

    def check(self, address: str, reading: BTHomeReading, ts: float) -> str | None:
        h = self._h.get(address)
        if h is None:
            h = self._h[address] = _History()
        if reading.counter is not None:
            # Nodes repeat each advert (same counter) for a moment: that is a duplicate. Any
            # other counter that does not increase is a replay of a captured advert. A node
            # that really restarted its counter must be re-enrolled (forget()).
            if h.counter is not None and reading.counter <= h.counter:
                if reading.counter == h.counter and ts - h.packet_ts < DUP_WINDOW_S:
                    return "duplicate_packet"
                return "replay"
            h.counter = reading.counter
            h.packet_ts = ts
            h.packet_id = reading.packet_id
            return None  # a new counter is a new advert: the packet id has nothing to add
        pid = reading.packet_id
        if pid is not None:
            if (h.packet_id is not None and ts - h.packet_ts < DUP_WINDOW_S
                    and not 0 < (pid - h.packet_id) % 256 < AHEAD):
                return "duplicate_packet"
            h.packet_id = pid
            h.packet_ts = ts
        return None

    def counters(self) -> dict[str, int]:
        """The last accepted encryption counter per address: what must survive a restart."""
        return {a: h.counter for a, h in self._h.items() if h.counter is not None}

    def restore(self, counters: dict[str, int]) -> None:
        """After a restart: a captured advert with an old counter is still a replay."""
        for address, counter in counters.items():
            h = self._h.get(address)
            if h is None:
                h = self._h[address] = _History()
            if h.counter is None or counter > h.counter:
                h.counter = int(counter)

    def forget(self, address: str) -> None:
        self._h.pop(address, None)
