"""The engine's state in the database: load it, run the pure engine, write back — in one
transaction, so a crash at any point leaves either the whole step or none of it.

Every writer (the watch worker, a responder's acknowledgement in the web app, an SMS reply)
goes through `run`, and SQLite's BEGIN IMMEDIATE / PostgreSQL's advisory lock make them take
turns.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..db import Database
from .engine import (
    RULES,
    Alert,
    Directory,
    Engine,
    EventIn,
    Notify,
    Policy,
    Responder,
    Settings,
    Silence,
    Step,
)
from .people import Duty

T = TypeVar("T")
ALERT_COLS = ("subject", "cause", "severity", "state", "muted", "opened_at", "updated_at",
              "last_event_at", "events", "step", "next_at", "asked_at", "gw", "device",
              "acked_by", "acked_at", "resolved_at", "note")
LOOKBACK_S = 300.0  # events are read again this far behind the newest consumed (late commits)
GATEWAY_STALE_S = 180.0  # a gateway whose status is older than this counts as offline


@dataclass
class CycleResult:
    events: int = 0
    notifications: int = 0
    opened: int = 0


def directory(db: Database) -> Directory:
    dp, dh = {}, {}
    for r in db.execute("SELECT device, person, household FROM watch_links").fetchall():
        if r["person"]:
            dp[r["device"]] = r["person"]
        if r["household"]:
            dh[r["device"]] = r["household"]
    ph: dict[str, str] = {}
    phones = set()
    for r in db.execute("SELECT id, household, phone_enc FROM watch_persons").fetchall():
        if r["household"]:
            ph[r["id"]] = r["household"]
        if r["phone_enc"]:
            phones.add(r["id"])
    responders = {r["id"]: Responder(int(r["id"]), int(r["tier"]), Duty.parse(r["duty"]))
                  for r in db.execute("SELECT id, tier, duty FROM watch_responders").fetchall()}
    chains: dict[str, list[Responder]] = defaultdict(list)
    persons = {r[0] for r in db.execute("SELECT id FROM watch_persons").fetchall()}
    for p in persons:
        chains["person:" + p] = []
    for r in db.execute("SELECT person, responder FROM watch_assignments ORDER BY responder"
                        ).fetchall():
        if r["responder"] in responders:
            chains["person:" + r["person"]].append(responders[r["responder"]])
            if r["person"] in ph:
                h = chains["household:" + ph[r["person"]]]
                if responders[r["responder"]] not in h:
                    h.append(responders[r["responder"]])
    for h in db.execute("SELECT id FROM watch_households").fetchall():
        chains.setdefault("household:" + h[0], [])
    staff = tuple(r for r in responders.values() if r.tier == 4)
    return Directory(dp, dh, ph, {k: tuple(v) for k, v in chains.items()}, staff,
                     frozenset(phones))


def _alert(r: Any) -> Alert:
    a = Alert(**{c: r[c] for c in ALERT_COLS if c != "muted"}, muted=r["muted"], id=r["id"])
    a.dirty = False
    return a


def save_policy(db: Database, severity: int, policy: Policy) -> None:
    """Store (or replace) the escalation policy of one severity; `load` reads it back."""
    db.execute("INSERT INTO watch_policies (severity, steps, renotify_s, ask_s) "
               "VALUES (?,?,?,?) ON CONFLICT (severity) DO UPDATE SET "
               "steps=excluded.steps, renotify_s=excluded.renotify_s, ask_s=excluded.ask_s",
               (severity, json.dumps([(st.tier, st.wait_s) for st in policy.steps]),
                policy.renotify_s, policy.ask_s))


def load(db: Database, settings: Settings, now: float) -> Engine:
    alerts = [_alert(r) for r in db.execute(
        "SELECT * FROM watch_alerts WHERE state <> 'resolved'").fetchall()]
    silences = [Silence(r["id"], r["subject"], r["cause"], r["starts_at"], r["ends_at"],
                        r["reason"], r["created_by"], bool(r["notice_sent"]))
                for r in db.execute("SELECT * FROM watch_silences WHERE ends_at > ?",
                                    (now - 86400,)).fetchall()]
    policies = {int(r["severity"]): Policy(tuple(Step(int(t), float(w))
                                                 for t, w in json.loads(r["steps"])),
                                           float(r["renotify_s"]), float(r["ask_s"]))
                for r in db.execute("SELECT * FROM watch_policies").fetchall()}
    eng = Engine(alerts, silences, lambda: directory(db), policies, settings)
    eng.handled_outages = {r[0].removeprefix("gw:"): float(r[1]) for r in db.execute(
        "SELECT subject, max(last_event_at) FROM watch_alerts WHERE cause = 'gateway_offline' "
        "AND state = 'resolved' GROUP BY subject").fetchall()}
    return eng


def channels_of(db: Database, n: Notify) -> list[str]:
    if n.to_resident:
        return ["sms"]
    r = db.execute("SELECT phone_enc, email_enc, webhook_url, push_enc FROM watch_responders "
                   "WHERE id = ?", (n.responder,)).fetchone()
    if r is None:
        return []
    return [c for c, col in (("sms", "phone_enc"), ("email", "email_enc"),
                             ("webhook", "webhook_url"), ("push", "push_enc")) if r[col]]


def save(db: Database, eng: Engine, notes: list[Notify], now: float) -> int:
    for a in [*eng.alerts.values(), *eng.closed]:
        if not a.dirty:
            continue
        vals = [getattr(a, c) for c in ALERT_COLS]
        if a.id is None:
            row = db.execute(f"INSERT INTO watch_alerts ({', '.join(ALERT_COLS)}) VALUES ("
                             + ",".join("?" * len(ALERT_COLS)) + ") RETURNING id",
                             vals).fetchone()
            a.id = int(row[0])
        else:
            db.execute(f"UPDATE watch_alerts SET {', '.join(c + ' = ?' for c in ALERT_COLS)} "
                       "WHERE id = ?", (*vals, a.id))
        db.executemany("INSERT INTO watch_alert_log (alert, ts, actor, action, note) "
                       "VALUES (?,?,?,?,?)", [(a.id, *e) for e in a.log])
        a.log.clear()
        a.dirty = False
    for s in eng.silences:
        if s.dirty and s.id is not None:
            db.execute("UPDATE watch_silences SET notice_sent = ? WHERE id = ?",
                       (int(s.notice_sent), s.id))
    rows = []
    for n in notes:
        for ch in channels_of(db, n):
            rows.append((n.alert.id if n.alert else None, n.silence.id if n.silence else None,
                         n.responder, n.to_resident, ch, n.template, n.tier,
                         secrets.token_hex(16), "pending", now, now))
    db.executemany("INSERT INTO watch_notifications (alert, silence, responder, person, channel, "
                   "template, tier, idem_key, state, next_try, created_at) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    return len(rows)


def run(db: Database, settings: Settings, now: float,
        fn: Callable[[Engine], T]) -> tuple[T, int]:
    """Load, apply `fn` and the clock, save: one transaction. Returns fn's value and the
    number of notifications queued."""
    db.begin(exclusive="machimori-watch")
    try:
        eng = load(db, settings, now)
        value = fn(eng)
        seen = last_seen_fn(db)
        notes = eng.tick(now, seen)
        n = save(db, eng, notes, now)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return value, n


def last_seen_fn(db: Database) -> Callable[[str], float | None]:
    cache: dict[str, float | None] = {}

    def seen(device: str) -> float | None:
        if device not in cache:
            r = db.execute("SELECT latest_end FROM devices WHERE id = ?", (device,)).fetchone()
            cache[device] = float(r[0]) if r else None
        return cache[device]
    return seen


def cycle(db: Database, settings: Settings, now: float, limit: int = 500) -> CycleResult:
    """One turn of the worker: new events, gateway states, the clock."""
    res = CycleResult()

    def step(eng: Engine) -> None:
        # Gateways first: an outage must be known before the "not seen" events behind it.
        for g in db.execute("SELECT id, state, updated_at FROM gateways").fetchall():
            online = g["state"] == "online" and now - g["updated_at"] < GATEWAY_STALE_S
            eng.gateway(g["id"], online, now, since=g["updated_at"])
        row = db.execute("SELECT max(received_at) FROM watch_processed").fetchone()
        since = (row[0] or 0.0) - LOOKBACK_S
        kinds = sorted(RULES)
        evs = db.execute(
            "SELECT id, kind, device, gw, ts, data, received_at FROM events e WHERE "
            f"kind IN ({','.join('?' * len(kinds))}) AND received_at >= ? AND NOT EXISTS "
            "(SELECT 1 FROM watch_processed p WHERE p.id = e.id) "
            "ORDER BY received_at, ts, id LIMIT ?", (*kinds, since, limit)).fetchall()
        seen = last_seen_fn(db)
        for r in evs:
            before = len(eng.alerts)
            eng.event(EventIn(r["id"], r["kind"], r["device"], r["gw"], r["ts"],
                              json.loads(r["data"])), now, seen)
            res.opened += len(eng.alerts) > before
        db.executemany("INSERT INTO watch_processed (id, received_at) VALUES (?, ?)",
                       [(r["id"], r["received_at"]) for r in evs])
        res.events = len(evs)
        if evs:
            db.execute("DELETE FROM watch_processed WHERE received_at < ?",
                       (evs[-1]["received_at"] - 4 * LOOKBACK_S,))

    _, res.notifications = run(db, settings, now, step)
    return res


def add_silence(db: Database, subject: str, cause: str, starts_at: float, ends_at: float,
                reason: str, who: str) -> int:
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    if cause != "*" and cause not in {r.cause for r in RULES.values()} | {"gateway_offline"}:
        raise ValueError(f"unknown cause {cause!r}")
    row = db.execute("INSERT INTO watch_silences (subject, cause, starts_at, ends_at, reason, "
                     "created_by) VALUES (?,?,?,?,?,?) RETURNING id",
                     (subject, cause, starts_at, ends_at, reason, who)).fetchone()
    return int(row[0])


def act(db: Database, settings: Settings, alert_id: int, action: str, who: str, now: float,
        note: str | None = None) -> Alert | None:
    """A person acts on an alert: acknowledge | resolve | escalate. None if no such alert."""
    def fn(eng: Engine) -> Alert | None:
        for a in eng.alerts.values():
            if a.id == alert_id:
                getattr(eng, {"acknowledge": "acknowledge", "resolve": "resolve",
                              "escalate": "escalate"}[action])(a, who, now, note)
                return a
        return None
    return run(db, settings, now, fn)[0]
