"""The wearable tag's advert (docs/tag-format.md): a rotating ephemeral id that only key holders resolve.

Manufacturer-specific data, company id 0xFFFF (the Bluetooth SIG's id for tests and for products
before an id is assigned), 13 bytes after the company id:

    0      version (1)
    1      K: the id rotates every 2**K seconds
    2..9   EID = AES-128(key, b"MMEIDv1\\0" + counter as 8 bytes big-endian)[:8],
           counter = floor(unix_time / 2**K)
    10..12 flags, battery %, event counter, each XORed with
           AES-128(key, b"MMDATv1\\0" + counter)[:3]  (so they cannot link two rotations)

flags: bit 0 SOS pressed, bit 1 fall detected, bit 2 battery low.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

COMPANY_ID = 0xFFFF
VERSION = 1
LENGTH = 13
FLAG_SOS = 0x01
FLAG_FALL = 0x02
FLAG_BATTERY_LOW = 0x04
EID_PREFIX = b"MMEIDv1\x00"
DATA_PREFIX = b"MMDATv1\x00"


class TagFormatError(ValueError):
    """Bytes that are not a machimori tag advert; the message says why."""


def _aes(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def counter_at(unix_time: float, k: int) -> int:
    return int(unix_time) >> k


def eid(key: bytes, counter: int) -> bytes:
    return _aes(key, EID_PREFIX + counter.to_bytes(8, "big"))[:8]


def _mask(key: bytes, counter: int) -> bytes:
    return _aes(key, DATA_PREFIX + counter.to_bytes(8, "big"))[:3]


def encode(key: bytes, unix_time: float, k: int, flags: int, battery: int, events: int) -> bytes:
    """The 13 bytes after the company id."""
    if len(key) != 16:
        raise ValueError("tag key must be 16 bytes")
    if not 0 <= k <= 20:
        raise ValueError("rotation exponent K must be 0..20")
    c = counter_at(unix_time, k)
    m = _mask(key, c)
    tail = bytes([(flags & 0xFF) ^ m[0], (battery & 0xFF) ^ m[1], (events & 0xFF) ^ m[2]])
    return bytes([VERSION, k]) + eid(key, c) + tail


@dataclass(frozen=True)
class TagReading:
    tag: str
    flags: int
    battery: int
    events: int
    counter: int

    @property
    def sos(self) -> bool:
        return bool(self.flags & FLAG_SOS)

    @property
    def fall(self) -> bool:
        return bool(self.flags & FLAG_FALL)


# A tag unheard for a while may have drifted past the ±1-period window (an ESP32 RTC without a
# crystal: up to ~5 %, i.e. ~1 h a day). Misses are then searched over this much drift either
# way, for tags not resolved in the last two periods, at most WIDE_MAX_PERIODS periods.
WIDE_SEARCH_S = 2 * 86400.0
WIDE_MAX_PERIODS = 256


def _eids(key: bytes, counters: range) -> list[bytes]:
    """EIDs of one key for a run of counters, with one AES context (the wide search's cost)."""
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    blob = enc.update(b"".join(EID_PREFIX + c.to_bytes(8, "big") for c in counters))
    return [blob[i:i + 8] for i in range(0, len(blob), 16)]


class TagResolver:
    """Resolves EIDs to registered tags; caches each tag's EIDs for the counters around now.

    Tag clocks drift (an ESP32's RTC without a crystal: a few per cent), so the resolver follows
    each tag's offset: every resolution re-centres that tag's window of ±1 period on the
    counter it really used, as Eddystone-EID resolvers do. A miss is searched again, once per
    period, over a wide window for the tags that have not been resolved lately, so a tag that
    drifted while nobody heard it is found again. `state()`/`restore()` carry the offsets over
    a restart; `shift_clock()` keeps them right when the receiver's own clock is stepped.
    """

    def __init__(self, keys: dict[str, bytes]):
        self._keys = dict(keys)
        self._offset: dict[str, int] = {t: 0 for t in keys}
        self._k: dict[str, int] = {}  # the K each tag's offset is counted in
        self._resolved_at: dict[str, float] = {}
        self._table: dict[tuple[int, bytes], tuple[str, int]] = {}
        self._centre: dict[str, tuple[int, int]] = {}  # tag -> (k, counter) its entries are for
        self._fresh: tuple[int, int] | None = None  # (k, counter) the table is right for
        self._wide: dict[int, tuple[int, dict[bytes, tuple[str, int]]]] = {}  # k -> (c, table)
        self.wide_hits = 0

    def _refresh(self, k: int, unix_time: float) -> None:
        c = counter_at(unix_time, k)
        if self._fresh == (k, c):
            return  # the hot path: nothing moved since the last advert
        self._fresh = (k, c)
        for tag, key in self._keys.items():
            centre = (k, c + self._offset[tag])
            if self._centre.get(tag) == centre:
                continue
            old = self._centre.get(tag)
            if old is not None:
                for cc in (old[1] - 1, old[1], old[1] + 1):
                    self._table.pop((old[0], eid(key, cc)), None)
            for cc in (centre[1] - 1, centre[1], centre[1] + 1):
                self._table[(k, eid(key, cc))] = (tag, cc)
            self._centre[tag] = centre

    def _search_wide(self, k: int, unix_time: float, e: bytes) -> tuple[str, int] | None:
        c = counter_at(unix_time, k)
        fresh = self._wide.get(k)
        if fresh is None or fresh[0] != c:
            table: dict[bytes, tuple[str, int]] = {}
            self._wide[k] = (c, table)
            period = float(1 << k)
            span = max(2, min(WIDE_MAX_PERIODS, int(WIDE_SEARCH_S / period) + 1))
            for tag, key in self._keys.items():
                seen = self._resolved_at.get(tag)
                if seen is not None and unix_time - seen < 2 * period:
                    continue  # heard lately: its narrow window is right
                centre = c + self._offset[tag]
                run = range(max(0, centre - span), centre + span + 1)
                for cc, x in zip(run, _eids(key, run), strict=True):
                    table[x] = (tag, cc)
            return table.get(e)
        return fresh[1].get(e)

    def offset(self, tag: str) -> int:
        """How many periods this tag's clock runs ahead (negative: behind)."""
        return self._offset[tag]

    def state(self) -> dict[str, dict[str, float]]:
        """What a restart must not forget: each tag's offset (in periods of its K), when heard."""
        return {t: {"offset": self._offset[t], "k": self._k[t],
                    "resolved_at": self._resolved_at.get(t, 0.0)}
                for t in self._keys if t in self._k}

    def restore(self, state: dict[str, dict[str, float]]) -> None:
        """Offsets saved by `state()`; tags no longer enrolled are ignored."""
        for tag, s in state.items():
            if tag not in self._keys:
                continue
            k = int(s["k"])
            if not 0 <= k <= 20:
                raise ValueError(f"tag {tag}: rotation exponent {k} out of range")
            self._offset[tag] = int(s["offset"])
            self._k[tag] = k
            if s.get("resolved_at"):
                self._resolved_at[tag] = float(s["resolved_at"])
        self._fresh = None
        self._wide.clear()

    def shift_clock(self, delta_s: float) -> None:
        """Our clock was stepped by delta_s (tags' clocks were not): move every offset back."""
        for tag, k in self._k.items():
            self._offset[tag] -= round(delta_s / (1 << k))
        self._resolved_at = {t: v + delta_s for t, v in self._resolved_at.items()}
        self._fresh = None
        self._wide.clear()

    def resolve(self, payload: bytes, unix_time: float) -> TagReading | None:
        """None when the tag is not one of ours; TagFormatError when the bytes are malformed."""
        if len(payload) != LENGTH:
            raise TagFormatError(f"tag advert must be {LENGTH} bytes, got {len(payload)}")
        if payload[0] != VERSION:
            raise TagFormatError(f"unknown tag format version {payload[0]}")
        k = payload[1]
        if k > 20:
            raise TagFormatError(f"rotation exponent {k} out of range")
        self._refresh(k, unix_time)
        e = bytes(payload[2:10])
        hit = self._table.get((k, e))
        if hit is None:
            hit = self._search_wide(k, unix_time, e)
            if hit is None:
                return None
            self.wide_hits += 1
        tag, c = hit
        offset = c - counter_at(unix_time, k)
        self._resolved_at[tag] = unix_time
        if offset != self._offset[tag] or self._k.get(tag) != k:
            self._offset[tag] = offset
            self._k[tag] = k
            self._fresh = None  # re-centre this tag's window at the next advert
        m = _mask(self._keys[tag], c)
        return TagReading(tag, payload[10] ^ m[0], payload[11] ^ m[1], payload[12] ^ m[2], c)
