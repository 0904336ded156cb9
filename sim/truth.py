"""Ground truth on file: every injected anomaly as one JSON line (truth.jsonl).

Each row names what happened (kind), to whom (device, person, household; `devices` lists every
device whose events may report it), when (start, end: unix seconds), which event kinds count as
finding it (`detect`) and which event kinds it explains without being a finding (`explains`:
a holiday explains a silent tag; nobody should be scored wrong for reporting it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .town import Anomaly, Town

SCHEMA = "machimori/truth/1"
# truth kind -> (event kinds that find it, event kinds it explains, seconds allowed after its end)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], float]] = {
    "sos": (("sos",), (), 600.0),
    "fall": (("fall",), (), 600.0),
    "stumble": ((), (), 600.0),  # a dropped tag: a fall event here is a false alarm
    "sensor_stuck": (("sensor_fault",), ("radiation_error", "surface_hot_spot"), 1800.0),
    "sensor_dead": (("sensor_silent",), (), 1800.0),
    "light_missing": ((), ("sensor_fault", "radiation_error"), 1800.0),
    "bus_noise": ((), ("sensor_fault", "sensor_silent"), 1800.0),
    "hospital": (("tag_not_seen", "no_sign_of_life"), ("morning_rise_missing",), 6 * 3600.0),
    "holiday": ((), ("tag_not_seen", "no_sign_of_life", "morning_rise_missing"), 6 * 3600.0),
    "visitor": ((), ("continuous_use",), 3600.0),
    "wandering": (("night_wandering",), ("tag_not_seen",), 1800.0),
    "no_life": (("no_sign_of_life", "morning_rise_missing"), (), 3600.0),
}


@dataclass(frozen=True)
class TruthRow:
    kind: str
    device: str
    start: float
    end: float
    devices: tuple[str, ...]
    person: str = ""
    household: str = ""

    @property
    def detect(self) -> tuple[str, ...]:
        return KINDS[self.kind][0]

    @property
    def explains(self) -> tuple[str, ...]:
        return KINDS[self.kind][1]

    @property
    def grace_s(self) -> float:
        return KINDS[self.kind][2]

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "kind": self.kind, "device": self.device,
                "person": self.person, "household": self.household,
                "devices": list(self.devices), "start": round(self.start, 3),
                "end": round(self.end, 3), "detect": list(self.detect),
                "explains": list(self.explains)}


class TruthError(ValueError):
    """A truth.jsonl line that is not a truth row; the message names the line."""


def rows_for(town: Town, start: float) -> list[TruthRow]:
    """The town's anomalies as truth rows, for a simulation that starts at `start`."""
    meters = {r.id: r.household for r in town.residents}
    tags_of: dict[str, list[str]] = {}
    for r in town.residents:
        tags_of.setdefault(r.household, []).append(r.id)
    out = []
    for a in town.anomalies:
        devices = _devices(a, meters, tags_of)
        end = a.end if a.end is not None else a.at
        out.append(TruthRow(a.kind, a.device, start + a.at, start + end, devices, a.person,
                            a.household))
    return out


def _devices(a: Anomaly, meters: dict[str, str], tags_of: dict[str, list[str]]
             ) -> tuple[str, ...]:
    if a.kind == "hospital":
        return (a.device, meters.get(a.device, a.household))
    if a.kind == "holiday":
        return (a.household, *tags_of.get(a.household, []))
    return (a.device,)


def write(path: Path, rows: Iterable[TruthRow]) -> int:
    """Write truth.jsonl atomically (a reader never sees half a file); returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def read(path: Path) -> list[TruthRow]:
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            if not isinstance(d, dict) or d.get("schema") != SCHEMA:
                raise TruthError(f"{path}:{i}: not a {SCHEMA} row")
            kind = d["kind"]
            if kind not in KINDS:
                raise TruthError(f"{path}:{i}: unknown kind {kind!r}")
            start, end = float(d["start"]), float(d["end"])
            if not (end >= start):
                raise TruthError(f"{path}:{i}: end before start")
            devices = tuple(str(x) for x in d["devices"])
            out.append(TruthRow(kind, str(d["device"]), start, end, devices,
                                str(d.get("person", "")), str(d.get("household", ""))))
        except (ValueError, KeyError, TypeError) as e:
            if isinstance(e, TruthError):
                raise
            raise TruthError(f"{path}:{i}: {e.__class__.__name__}: {e}") from None
    return out
