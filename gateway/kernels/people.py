"""People counting without keeping addresses: keyed hashing of BLE MACs, HyperLogLog, dwell time.

The gateway derives a fresh 128-bit key every day (`daily_key`), hashes each MAC with SipHash-2-4
under it, and only ever stores or counts hashes; the key is never written anywhere, so yesterday's
hashes cannot be linked to today's nor reversed by someone without the gateway's secret.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from numba import njit

HLL_P = 10  # 2^10 registers: ±3.3 % standard error, 1 KiB per gateway-minute
HLL_M = 1 << HLL_P
MASK64 = 0xFFFFFFFFFFFFFFFF


def daily_key(secret: bytes, day: str) -> np.ndarray:
    """The day's SipHash key (two uint64) from the gateway's secret and an ISO date."""
    d = hashlib.blake2b(day.encode(), key=secret[:64], digest_size=16).digest()
    return np.frombuffer(d, dtype="<u8").copy()


def mac_to_int(mac: str) -> int:
    """'AA:BB:CC:DD:EE:FF' → 48-bit int; ValueError names the bad address."""
    parts = mac.split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"not a MAC address: {mac!r}")
    return int("".join(parts), 16)


@njit(cache=True)
def _rotl(x: np.uint64, b: int) -> np.uint64:
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@njit(cache=True, inline="always")
def _sipround(v0: np.uint64, v1: np.uint64, v2: np.uint64,
              v3: np.uint64) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """One SipRound (Aumasson & Bernstein 2012)."""
    v0 += v1
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 += v3
    v3 = _rotl(v3, 16) ^ v2
    v0 += v3
    v3 = _rotl(v3, 21) ^ v0
    v2 += v1
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


@njit(cache=True)
def siphash24(macs: np.ndarray, key: np.ndarray) -> np.ndarray:
    """SipHash-2-4 of each 48-bit address (as 8 little-endian bytes) under key (k0, k1)."""
    k0 = key[0]
    k1 = key[1]
    out = np.empty(macs.shape[0], dtype=np.uint64)
    for i in range(macs.shape[0]):
        m = np.uint64(macs[i])
        v0 = k0 ^ np.uint64(0x736F6D6570736575)
        v1 = k1 ^ np.uint64(0x646F72616E646F6D)
        v2 = k0 ^ np.uint64(0x6C7967656E657261)
        v3 = k1 ^ np.uint64(0x7465646279746573)
        # one 8-byte block (the address), then the length block (8 << 56)
        for block in (m, np.uint64(8) << np.uint64(56)):
            v3 ^= block
            for _ in range(2):  # c = 2 compression rounds
                v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
            v0 ^= block
        v2 ^= np.uint64(0xFF)
        for _ in range(4):  # d = 4 finalisation rounds
            v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
        out[i] = v0 ^ v1 ^ v2 ^ v3
    return out


@njit(cache=True)
def hll_add(hashes: np.ndarray, group: np.ndarray, registers: np.ndarray) -> None:
    """Add 64-bit hashes to HyperLogLog sketches: registers[group[i]] (shape groups × HLL_M)."""
    for i in range(hashes.shape[0]):
        h = np.uint64(hashes[i])
        j = np.int64(h >> np.uint64(64 - HLL_P))
        rest = (h << np.uint64(HLL_P)) | np.uint64(1 << (HLL_P - 1))  # sentinel bounds the rank
        rank = 1
        while rest & np.uint64(0x8000000000000000) == 0:
            rank += 1
            rest <<= np.uint64(1)
        registers[group[i], j] = max(registers[group[i], j], rank)


@njit(cache=True)
def hll_count(registers: np.ndarray) -> np.ndarray:
    """Estimated distinct count per sketch (Flajolet et al. 2007, linear counting when small)."""
    m = registers.shape[1]
    alpha = 0.7213 / (1.0 + 1.079 / m)
    out = np.empty(registers.shape[0])
    for g in range(registers.shape[0]):
        s = 0.0
        zeros = 0
        for j in range(m):
            s += 2.0 ** (-float(registers[g, j]))
            if registers[g, j] == 0:
                zeros += 1
        e = alpha * m * m / s
        if e <= 2.5 * m and zeros > 0:
            e = m * math.log(m / zeros)
        out[g] = e
    return out


@njit(cache=True)
def dwell_update(hashes: np.ndarray, t: np.ndarray, keys: np.ndarray, first: np.ndarray,
                 last: np.ndarray) -> int:
    """Record sightings near a place in an open-addressing table (keys 0 = empty); returns how
    many sightings found no free slot (the table is full: the caller should close stale ones)."""
    cap = keys.shape[0]
    dropped = 0
    for i in range(hashes.shape[0]):
        h = np.uint64(hashes[i]) | np.uint64(1)  # 0 marks an empty slot
        j = np.int64(h % np.uint64(cap))
        for _ in range(cap):
            if keys[j] == h:
                last[j] = max(last[j], t[i])
                break
            if keys[j] == 0:
                keys[j] = h
                first[j] = t[i]
                last[j] = t[i]
                break
            j = (j + 1) % cap
        else:
            dropped += 1
    return dropped


@njit(cache=True)
def dwell_close(now: float, gap: float, keys: np.ndarray, first: np.ndarray,
                last: np.ndarray) -> np.ndarray:
    """Dwell times (s) of devices unseen for more than `gap`, which leave the table.

    The table is rebuilt so that probing stays correct after removals.
    """
    cap = keys.shape[0]
    n_done = 0
    for j in range(cap):
        if keys[j] != 0 and now - last[j] > gap:
            n_done += 1
    out = np.empty(n_done)
    k = 0
    keep_k = np.zeros(cap, dtype=np.uint64)
    keep_f = np.zeros(cap)
    keep_l = np.zeros(cap)
    for j in range(cap):
        if keys[j] == 0:
            continue
        if now - last[j] > gap:
            out[k] = last[j] - first[j]
            k += 1
        else:
            keep_k[j] = keys[j]
            keep_f[j] = first[j]
            keep_l[j] = last[j]
    keys[:] = 0
    for j in range(cap):
        if keep_k[j] != 0:
            h = keep_k[j]
            s = np.int64(h % np.uint64(cap))
            while keys[s] != 0:
                s = (s + 1) % cap
            keys[s] = h
            first[s] = keep_f[j]
            last[s] = keep_l[j]
    return out


@njit(cache=True)
def day_update(hashes: np.ndarray, t: np.ndarray, keys: np.ndarray, first: np.ndarray,
               last: np.ndarray, n: np.ndarray, slot: np.ndarray) -> int:
    """The day's screening table (open addressing, keys 0 = empty): per sighting, the first and
    last time its hash was heard today and how many times. slot[i] gets the sighting's slot, or
    -1 when the table is full (those are returned as a count: the caller reports them).

    Plain reading: for each (h, t): row = table.setdefault(h, [t, t, 0]); row[1] = max(row[1], t);
    row[0] = min(row[0], t); row[2] += 1.
    """
    cap = keys.shape[0]
    dropped = 0
    for i in range(hashes.shape[0]):
        h = np.uint64(hashes[i]) | np.uint64(1)  # 0 marks an empty slot
        j = np.int64(h % np.uint64(cap))
        slot[i] = -1
        for _ in range(cap):
            if keys[j] == h:
                first[j] = min(first[j], t[i])
                last[j] = max(last[j], t[i])
                n[j] += 1
                slot[i] = j
                break
            if keys[j] == 0:
                keys[j] = h
                first[j] = t[i]
                last[j] = t[i]
                n[j] = 1
                slot[i] = j
                break
            j = (j + 1) % cap
        if slot[i] < 0:
            dropped += 1
    return dropped
