"""What the gateway has learnt, on disk: one snapshot file in the data dir, written atomically.

Tag-resolver clock offsets, learnt household profiles, tag gaps and home areas, heat-node
detector state, advert intervals, people-counting dwell and day screening tables, the open
window and the SOS/fall counters already reported. Saved at each status period and on shutdown, restored at start, so
a restart, an upgrade or a power cut does not blind the watch while it learns again.

Everything is keyed by device id (not by row), so adding or removing a device keeps the others'
state; a device no longer enrolled is dropped. Raw BLE addresses of passers-by never reach the
file (only the day's keyed hashes do, as in memory).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from .kernels import watch

log = logging.getLogger("machimori.gateway.state")
FILE = "state.json"
VERSION = 1
OLD_METER_STATE_SIZE = 10  # a household's watch state before activity was judged per span


class StateError(ValueError):
    """A snapshot that cannot be restored; the message says what is wrong with it."""


def _f(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def _nan(x: Any) -> float:
    return np.nan if x is None else float(x)


def snapshot(p: Any) -> dict[str, Any]:
    """The pipeline's learnt state as plain JSON values."""
    hd, mw, tw = p.heat_detect, p.meter_watch, p.tag_watch
    heat = {}
    for row, d in enumerate(p.heat):
        heat[d.id] = {
            "level": int(p._levels[row]), "sun": int(hd.sun_state[row]),
            "faults": {ch: [_f(x) for x in st[row]] for ch, st in hd.fault_state.items()},
            "fault_prev": sorted(hd.fault_prev[row]), "hot": bool(hd.hot_prev[row]),
            "radiation": bool(hd.radiation_prev[row]), "silent": bool(hd.silent_prev[row])}
    meters = {}
    for row, d in enumerate(p.meters):
        m: dict[str, Any] = {"prev_flags": int(mw.prev[row]), "routeb": row in p._routeb}
        if row in mw.state:
            st, profile = mw.state[row]
            m["state"] = [_f(x) for x in st]
            m["profile"] = profile.tolist()
        if d.id in p._meter_prev:
            m["anchor"] = list(p._meter_prev[d.id])
        meters[d.id] = m
    tags = {d.id: {"last_seen": _f(tw.last_seen[row]), "max_gap": float(tw.max_gap[row]),
                   "counts": tw.counts[row].tolist(), "missing": bool(tw.missing_prev[row]),
                   "events_seen": p._tag_events_seen.get(d.id),
                   "routine": _routine_doc(tw.routine[row], tw.routine_day[row])}
            for row, d in enumerate(p.tags)}
    return {
        "version": VERSION, "window_start": p._window_start, "tags_started": tw.started,
        "resolver": p.decoder.resolver.state(), "heat": heat, "meters": meters, "tags": tags,
        "presence": p.presence.state(), "last_seen": dict(p.last_seen),
        "people": p.people.state()}


def restore(p: Any, doc: dict[str, Any]) -> None:
    """Put a snapshot back into a freshly built pipeline (same or changed device list)."""
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise StateError(f"not a version {VERSION} gateway state snapshot")
    try:
        _restore(p, doc)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise StateError(f"{type(exc).__name__}: {exc}") from None


def _restore(p: Any, doc: dict[str, Any]) -> None:
    hd, mw, tw = p.heat_detect, p.meter_watch, p.tag_watch
    if doc.get("window_start") is not None:
        p._window_start = float(doc["window_start"])
    p.decoder.resolver.restore(doc.get("resolver", {}))
    heat_rows = {d.id: r for r, d in enumerate(p.heat)}
    for did, h in doc.get("heat", {}).items():
        row = heat_rows.get(did)
        if row is None:
            continue
        p._levels[row] = int(h["level"])
        hd.sun_state[row] = int(h["sun"])
        for ch, vals in h["faults"].items():
            # a state from before a field was added: the new fields keep their fresh values
            fields = [_nan(x) for x in vals][:hd.fault_state[ch].shape[1]]
            hd.fault_state[ch][row, :len(fields)] = fields
        hd.fault_prev[row] = frozenset(h["fault_prev"])
        hd.hot_prev[row], hd.radiation_prev[row] = bool(h["hot"]), bool(h["radiation"])
        hd.silent_prev[row] = bool(h["silent"])
    meter_rows = {d.id: r for r, d in enumerate(p.meters)}
    for did, m in doc.get("meters", {}).items():
        row = meter_rows.get(did)
        if row is None:
            continue
        if m.get("routeb"):
            p._routeb.add(row)
        if "state" in m:
            st = np.array([_nan(x) for x in m["state"]])
            profile = np.array(m["profile"], dtype=np.float64)
            if st.shape == (OLD_METER_STATE_SIZE,) and profile.shape == (watch.HOURS_PER_WEEK, 2):
                # Layout 1 judged activity reading by reading: its flat runs are not this
                # layout's. The household is learnt afresh (its other devices keep theirs).
                log.warning("meter %s: household watch state from an older layout; "
                            "learning it afresh", did)
                p.counters["meter_state_relearn"] += 1
            elif st.shape != (watch.METER_STATE_SIZE,) or profile.shape != (
                    watch.HOURS_PER_WEEK, 2):
                raise ValueError(f"meter {did}: state of the wrong shape")
            else:
                mw.state[row] = (st, profile)
                mw.prev[row] = int(m["prev_flags"])
        if "anchor" in m:
            t, c = m["anchor"]
            p._meter_prev[did] = (float(t), float(c))
    tag_rows = {d.id: r for r, d in enumerate(p.tags)}
    if doc.get("tags_started") is not None:
        tw.started = float(doc["tags_started"])
    for did, t in doc.get("tags", {}).items():
        row = tag_rows.get(did)
        if row is None:
            continue
        tw.last_seen[row] = _nan(t["last_seen"])
        tw.max_gap[row] = float(t["max_gap"])
        counts = t["counts"]
        tw.counts[row, :len(counts)] = counts[:tw.counts.shape[1]]
        tw.missing_prev[row] = bool(t["missing"])
        if "routine" in t:  # absent in files written before routines were learnt: learnt afresh
            _restore_routine(p, did, row, t["routine"])
        if t.get("events_seen") is not None:
            p._tag_events_seen[did] = int(t["events_seen"])
    enrolled = {d.address for d in p.heat}
    p.presence.restore({a: v for a, v in doc.get("presence", {}).items() if a in enrolled})
    known = {d.id for d in p.cfg.devices}
    p.last_seen.update({k: float(v) for k, v in doc.get("last_seen", {}).items() if k in known})
    p.people.restore(doc.get("people") or {})


def _routine_doc(gaps: np.ndarray, days: np.ndarray) -> dict[str, Any]:
    """A tag's routine: the local day number of each ring column and, per column, the seconds
    unheard by the end of each hour of that day (whole seconds)."""
    held = days >= 0
    return {"days": [int(d) if h else None for d, h in zip(days, held, strict=True)],
            "gaps": [[round(float(x)) for x in gaps[:, c]] if held[c] else None
                     for c in range(days.shape[0])]}


def _restore_routine(p: Any, did: str, row: int, doc: Any) -> None:
    """Put one tag's routine back; one of another shape (another ring length, a damaged file)
    is dropped and counted: that tag learns its routine afresh, the rest of the state stays."""
    tw = p.tag_watch
    try:
        days, gaps = doc["days"], doc["gaps"]
        if len(days) != watch.TAG_DAYS or len(gaps) != watch.TAG_DAYS:
            raise ValueError(f"{len(days)} days, not {watch.TAG_DAYS}")
        col_days = np.full(watch.TAG_DAYS, -1.0)
        cols = np.zeros((watch.TAG_HOURS, watch.TAG_DAYS))
        for c, (d, g) in enumerate(zip(days, gaps, strict=True)):
            if d is None:
                continue
            v = np.array(g, dtype=np.float64)
            if v.shape != (watch.TAG_HOURS,) or not np.isfinite(v).all() or (v < 0).any():
                raise ValueError(f"column {c} is not {watch.TAG_HOURS} gaps")
            if int(d) % watch.TAG_DAYS != c:
                raise ValueError(f"day {d} in column {c}")
            col_days[c], cols[:, c] = float(int(d)), v
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("tag %s: routine not restored (%s); it is learnt afresh", did, exc)
        p.counters["state_tag_routine_dropped"] += 1
        return
    tw.routine[row], tw.routine_day[row] = cols, col_days


def save(path: Path, doc: dict[str, Any]) -> None:
    """Write-then-rename with fsync: after a power cut the file is the old or the new one."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def load_into(p: Any, path: Path) -> str:
    """Restore from `path`: "restored", "absent", or "failed". An unreadable snapshot is kept
    aside (`.bad`) and logged; the caller then starts from a fresh pipeline (this one may be
    half restored) rather than not starting at all."""
    if not path.exists():
        return "absent"
    try:
        restore(p, json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        log.error("cannot restore %s (%s): kept as %s.bad; learning starts afresh",
                  path, exc, path.with_suffix(".json.bad").name)
        os.replace(path, path.with_suffix(".json.bad"))
        return "failed"
    p.counters["state_restored"] += 1
    return "restored"
