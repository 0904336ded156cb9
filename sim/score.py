"""Score what the system reported (events, alerts) against the sim's ground truth.

An event finds a truth row when the row's `detect` kinds include the event's kind, the event's
device is one of the row's devices, and it falls between the row's start and its end plus the
kind's grace. The first such event gives the delay. An event that finds nothing is a false
alarm unless a truth row explains it (its kind is in the row's `explains`, same devices, same
span). Precision is per reported kind, recall and delay per truth kind.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .truth import KINDS, TruthRow

JUDGED = frozenset(k for detect, _, _ in KINDS.values() for k in detect)


@dataclass(frozen=True)
class Reported:
    kind: str
    device: str
    ts: float


@dataclass
class KindScore:
    truth: int = 0
    found: int = 0
    delays: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.found / self.truth if self.truth else None


@dataclass
class ReportScore:
    reported: int = 0
    true: int = 0
    explained: int = 0
    false: int = 0
    unjudged: int = 0  # a kind the sim never injects anything for (a hot spot is weather)

    @property
    def precision(self) -> float | None:
        judged = self.true + self.false
        return self.true / judged if judged else None


@dataclass(frozen=True)
class Score:
    by_truth: dict[str, KindScore]
    by_report: dict[str, ReportScore]
    false_alarms: list[Reported]


def _covers(row: TruthRow, r: Reported) -> bool:
    return r.device in row.devices and row.start <= r.ts <= row.end + row.grace_s


def score(truth: list[TruthRow], reported: list[Reported], until: float | None = None) -> Score:
    """Rows starting after `until` (the end of the run) are not counted: they never happened."""
    rows = [t for t in truth if until is None or t.start <= until]
    by_truth: dict[str, KindScore] = defaultdict(KindScore)
    by_report: dict[str, ReportScore] = defaultdict(ReportScore)
    used: set[int] = set()
    for row in rows:
        if not row.detect:
            continue
        ks = by_truth[row.kind]
        ks.truth += 1
        hits = [(r.ts, i) for i, r in enumerate(reported)
                if r.kind in row.detect and _covers(row, r)]
        if hits:
            ks.found += 1
            ks.delays.append(max(0.0, min(hits)[0] - row.start))
            used.update(i for _, i in hits)
    false: list[Reported] = []
    for i, r in enumerate(reported):
        rs = by_report[r.kind]
        rs.reported += 1
        if i in used:
            rs.true += 1
        elif r.kind not in JUDGED:
            rs.unjudged += 1
        elif any(r.kind in row.explains and _covers(row, r) for row in rows):
            rs.explained += 1
        else:
            rs.false += 1
            false.append(r)
    return Score(dict(by_truth), dict(by_report), false)


# Event kinds that are not about anomalies (the heat level moving with the weather).
NOT_ANOMALIES = ("wbgt_level",)


def read_events(db: Path) -> list[Reported]:
    con = _open(db)
    try:
        rows = con.execute("SELECT kind, device, ts FROM events ORDER BY ts").fetchall()
    finally:
        con.close()
    return [Reported(str(k), str(d), float(t)) for k, d, t in rows if k not in NOT_ANOMALIES]


def read_alerts(db: Path) -> list[Reported] | None:
    """Alerts from the alert engine's table, when this database has one (None otherwise).

    An alert is dated and named by the event that opened it (its log's "opened" row names the
    event: "<kind> <id>"): the engine runs on the collector's clock, which in a demo or a replay
    is not the sim's, and its causes group kinds ("inactivity" for no_sign_of_life) that the
    truth file names by event kind. An alert whose opening event is not in the store (or one
    opened by no event, a gateway going offline) keeps its cause and opening time."""
    con = _open(db)
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        table = next((t for t in ("watch_alerts", "alerts") if t in names), None)
        if table is None:
            return None
        cols = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
        kind = next((c for c in ("cause", "kind") if c in cols), None)
        ts = next((c for c in ("opened_at", "ts", "created_at") if c in cols), None)
        if kind is None or ts is None or "device" not in cols:
            return None
        if table == "watch_alerts" and {"watch_alert_log", "events"} <= names:
            rows = con.execute(
                "SELECT a.cause, a.device, a.opened_at, e.kind, e.device, e.ts FROM watch_alerts a"
                " LEFT JOIN watch_alert_log l ON l.alert = a.id AND l.action = 'opened'"
                " LEFT JOIN events e ON e.id = substr(l.note, instr(l.note, ' ') + 1)"
                " ORDER BY a.id").fetchall()
            out = [Reported(str(ek), str(ed or ""), float(et)) if ek is not None
                   else Reported(str(k), str(d or ""), float(t))
                   for k, d, t, ek, ed, et in rows]
            return sorted(out, key=lambda r: r.ts)
        rows = con.execute(f"SELECT {kind}, device, {ts} FROM {table} ORDER BY {ts}").fetchall()
    finally:
        con.close()
    return [Reported(str(k), str(d or ""), float(t)) for k, d, t in rows]


def _open(db: Path) -> sqlite3.Connection:
    if not db.exists():
        raise FileNotFoundError(f"{db}: no such database")
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)


def table(s: Score) -> list[str]:
    """The score as Markdown tables (recall and delay per truth kind, precision per kind)."""
    out = ["| truth kind | injected | found | recall | median delay (min) | p95 delay (min) |",
           "|---|---:|---:|---:|---:|---:|"]
    for k in sorted(s.by_truth):
        ks = s.by_truth[k]
        d = np.array(ks.delays) / 60.0
        med = f"{np.median(d):.1f}" if d.size else "–"
        p95 = f"{np.percentile(d, 95):.1f}" if d.size else "–"
        rec = f"{ks.recall:.2f}" if ks.recall is not None else "–"
        out.append(f"| {k} | {ks.truth} | {ks.found} | {rec} | {med} | {p95} |")
    out += ["", "| reported kind | reported | true | explained | false | precision |",
            "|---|---:|---:|---:|---:|---:|"]
    other = sorted(k for k, rs in s.by_report.items() if rs.unjudged == rs.reported)
    for k in sorted(set(s.by_report) - set(other)):
        rs = s.by_report[k]
        prec = f"{rs.precision:.2f}" if rs.precision is not None else "–"
        out.append(f"| {k} | {rs.reported} | {rs.true} | {rs.explained} | {rs.false} | {prec} |")
    if other:
        out += ["", "Not scored (nothing injected for them): " + ", ".join(
            f"{k} ×{s.by_report[k].reported}" for k in other)]
    return out
