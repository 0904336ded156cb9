"""People counting that counts passers-by's phones, not devices: screening of hashed addresses.

Which adverts are not people at all (enrolled nodes and tags, any sensor/tag/beacon format the
decoders recognise) is decided by the pipeline with `device_format`; this counter screens the rest
as Japanese BLE/Wi-Fi people-flow field studies do (docs/people-counting.md): sightings weaker
than an RSSI floor are not "near this place", an address heard only once today is dropped, and an
address present for hours is a stationary device. Raw addresses live only in memory until the
window closes; the day's table holds SipHash values under a key derived each day from a secret
that never leaves the gateway, so hashes from two days cannot be linked.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from typing import Any

import numpy as np

from machimori.contract import bthome as bthome_contract
from machimori.contract import tag as tag_contract

from .decoders import eddystone, ibeacon, ruuvi
from .frames import Advert
from .kernels import people

# Excluded classes, each counted in its own summary value and pipeline counter.
EXCLUDED = ("enrolled", "format", "weak", "once", "stationary")
_FORMAT_UUIDS = {bthome_contract.SERVICE_UUID: "bthome", eddystone.SERVICE_UUID: "eddystone"}
_FORMAT_COMPANIES = {ruuvi.COMPANY_ID: "ruuvi", tag_contract.COMPANY_ID: "tag"}
_IBEACON_PREFIX = b"\x02\x15"  # Apple type/length of an iBeacon; other Apple adverts are phones


def device_format(adv: Advert) -> str | None:
    """The sensor/tag/beacon format an advert is in, or None (maybe a phone). Recognised by
    the formats' own markers (service UUID, company id, iBeacon prefix), valid payload or not:
    a malformed BTHome advert is still not a person."""
    for uuid in adv.service_data:
        if (fmt := _FORMAT_UUIDS.get(uuid)) is not None:
            return fmt
    for company, data in adv.manufacturer_data.items():
        if (fmt := _FORMAT_COMPANIES.get(company)) is not None:
            return fmt
        if company == ibeacon.COMPANY_ID and bytes(data[:2]) == _IBEACON_PREFIX:
            return "ibeacon"
    return None


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _unb64(s: str, dtype: str) -> np.ndarray:
    try:
        return np.frombuffer(base64.b64decode(s, validate=True), dtype=dtype).copy()
    except ValueError as exc:
        raise ValueError(f"people screening table damaged: {exc}") from None


class PeopleCounter:
    """Screened distinct phones per window and per day, and dwell near the gateway."""

    def __init__(self, secret: bytes | None = None, table: int = 4096, dwell_gap_s: float = 300,
                 rssi_floor_dbm: float = -80.0, min_sightings: int = 2,
                 stationary_s: float = 3 * 3600.0, day_table: int = 1 << 16):
        self.secret = secret or os.urandom(32)
        self.macs: list[int] = []
        self.ts: list[float] = []
        self.rssi: list[float] = []
        self.excluded_now: dict[str, set[str]] = {"enrolled": set(), "format": set()}
        self.keys = np.zeros(table, dtype=np.uint64)
        self.first = np.zeros(table)
        self.last = np.zeros(table)
        self.gap = dwell_gap_s
        self.rssi_floor = rssi_floor_dbm
        self.min_sightings = min_sightings
        self.stationary_s = stationary_s
        self.day_keys = np.zeros(day_table, dtype=np.uint64)
        self.day_first = np.zeros(day_table)
        self.day_last = np.zeros(day_table)
        self.day_n = np.zeros(day_table, dtype=np.int64)
        self.table_full = 0
        self._day: str | None = None
        self._key = np.zeros(2, dtype=np.uint64)

    def shift(self, delta_s: float) -> None:
        self.ts = [t + delta_s for t in self.ts]
        for keys, first, last in ((self.keys, self.first, self.last),
                                  (self.day_keys, self.day_first, self.day_last)):
            used = keys != 0
            first[used] += delta_s
            last[used] += delta_s

    def exclude(self, why: str, address: str) -> None:
        """An advert that is not a person (`enrolled` or `format`): counted, never hashed."""
        self.excluded_now[why].add(address)

    def seen(self, address: str, ts: float, rssi: float) -> None:
        try:
            self.macs.append(people.mac_to_int(address))
        except ValueError:
            return
        self.ts.append(ts)
        self.rssi.append(rssi)

    def _new_day(self, day: str) -> None:
        self._day, self._key = day, people.daily_key(self.secret, day)
        # Yesterday's hashes cannot be matched any more: both tables start afresh.
        for a in (self.keys, self.day_keys, self.day_n):
            a[:] = 0

    def close(self, end: float, tz_offset_s: float) -> dict[str, dict[str, float]] | None:
        day = dt.datetime.fromtimestamp(end + tz_offset_s, dt.UTC).date().isoformat()
        if day != self._day:
            self._new_day(day)
        all_ts = np.array(self.ts)
        inside = all_ts < end  # sightings already in the next window wait for it
        macs = np.array(self.macs, dtype=np.uint64)[inside]
        ts = all_ts[inside]
        rssi = np.array(self.rssi)[inside] if macs.size else np.zeros(0)
        self.macs = [m for m, keep in zip(self.macs, inside, strict=True) if not keep]
        self.rssi = [r for r, keep in zip(self.rssi, inside, strict=True) if not keep]
        self.ts = all_ts[~inside].tolist()
        excluded = {k: len(v) for k, v in self.excluded_now.items()}
        for v in self.excluded_now.values():
            v.clear()
        if macs.size == 0 and not excluded["format"]:
            return None  # only our own nodes were heard: as before, no people summary
        hashes = people.siphash24(macs, self._key)
        near = rssi >= self.rssi_floor
        slot = np.empty(int(near.sum()), dtype=np.int64)
        self.table_full += people.day_update(hashes[near], ts[near], self.day_keys,
                                             self.day_first, self.day_last, self.day_n, slot)
        slots = np.unique(slot[slot >= 0])
        once = self.day_n[slots] < self.min_sightings
        stationary = ~once & (self.day_last[slots] - self.day_first[slots] >= self.stationary_s)
        person = ~once & ~stationary
        excluded["weak"] = int(np.setdiff1d(hashes[~near], hashes[near]).size)
        excluded["once"] = int(once.sum())
        excluded["stationary"] = int(stationary.sum())
        unique = float(person.sum())
        people.dwell_update(hashes[near], ts[near], self.keys, self.first, self.last)
        dwell = people.dwell_close(end, self.gap, self.keys, self.first, self.last)
        values = {"unique_devices": unique, "day_unique": float(self.day_count())}
        values.update({f"excluded_{k}": float(excluded[k]) for k in EXCLUDED})
        out = {k: {"mean": v, "min": v, "max": v, "last": v} for k, v in values.items()}
        if dwell.size:
            out["dwell_s"] = {"mean": round(float(dwell.mean()), 1),
                              "min": round(float(dwell.min()), 1),
                              "max": round(float(dwell.max()), 1),
                              "last": round(float(dwell[-1]), 1)}
        return out

    def day_count(self) -> int:
        """Distinct screened phones today so far: heard near the place at least min_sightings
        times, and not (yet) present for stationary_s. A device that turns out stationary
        later in the day leaves this count then (it may have been in earlier windows')."""
        used = self.day_keys != 0
        span = self.day_last - self.day_first
        return int((used & (self.day_n >= self.min_sightings)
                    & (span < self.stationary_s)).sum())

    # ---- state (gateway/state.py): hashes and times only, never an address
    def state(self) -> dict[str, Any]:
        used = np.flatnonzero(self.keys)
        day = np.flatnonzero(self.day_keys)
        return {"day": self._day, "slots": used.tolist(),
                "keys": [str(int(k)) for k in self.keys[used]],
                "first": self.first[used].tolist(), "last": self.last[used].tolist(),
                "screen": {"size": int(self.day_keys.size), "slots": _b64(day.astype("<i8")),
                           "keys": _b64(self.day_keys[day].astype("<u8")),
                           "first": _b64(self.day_first[day].astype("<f8")),
                           "last": _b64(self.day_last[day].astype("<f8")),
                           "n": _b64(self.day_n[day].astype("<i8")),
                           "table_full": self.table_full}}

    def restore(self, doc: dict[str, Any]) -> None:
        if not doc.get("day"):
            return
        slots = np.array(doc["slots"], dtype=np.int64)
        if slots.size and (slots.min() < 0 or slots.max() >= self.keys.size):
            raise ValueError("people-counting slot out of range")
        self._day = str(doc["day"])
        self._key = people.daily_key(self.secret, self._day)
        self.keys[slots] = np.array([int(k) for k in doc["keys"]], dtype=np.uint64)
        self.first[slots] = doc["first"]
        self.last[slots] = doc["last"]
        screen = doc.get("screen")
        if not screen:
            return
        if int(screen["size"]) != self.day_keys.size:
            raise ValueError("people screening table of another size")
        s = _unb64(screen["slots"], "<i8")
        cols = [_unb64(screen[k], t) for k, t in (("keys", "<u8"), ("first", "<f8"),
                                                  ("last", "<f8"), ("n", "<i8"))]
        if any(c.size != s.size for c in cols) or (s.size and (s.min() < 0
                                                              or s.max() >= self.day_keys.size)):
            raise ValueError("people screening table damaged")
        self.day_keys[s], self.day_first[s], self.day_last[s], self.day_n[s] = cols
        self.table_full = int(screen.get("table_full", 0))
