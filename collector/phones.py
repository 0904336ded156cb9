"""Phones and GPS terminals (OwnTracks): reports, regions and silence — the data side, no Flask.

Reports arrive over HTTP (collector/owntracks.py) or MQTT (the ingest worker) and both end in
`record()`, inside the caller's transaction. What the watch needs becomes a row in `events`
(gw "phone"), where the alert engine reads it like a gateway's event:

- `phone_enter` / `phone_leave`: a transition the phone reported (its own regions), or one the
  collector derived from a location report and the person's watch regions (home, day care);
- `phone_lwt`: the MQTT broker published the app's Last Will (its connection was lost);
- `phone_silent`: a phone linked to a person has sent nothing for longer than its limit —
  silence is not wellbeing; `phone_back` when it reports again.

Event ids are derived from the report (or the silence's start), so a redelivered report or a
check repeated after a restart writes nothing twice.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from machimori.contract.owntracks import Report

from .db import Database

GW = "phone"  # the events table's gw for what phones report
DEFAULT_SILENCE_S = 6 * 3600.0
PERSON_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
# A transition needs a fix good enough to tell inside from outside, and leaving needs the fix
# to be clearly outside (radius + margin), so a phone at the edge does not flap.
LEAVE_MARGIN_M = 30.0
PRIORITY = {"phone_enter": 0, "phone_leave": 0, "phone_back": 0, "phone_lwt": 1,
            "phone_silent": 2}


class PhoneError(ValueError):
    """A request about phones that cannot be done; the message says why."""


class PhoneBound(PhoneError):
    """The phone already reports with another device token."""


@dataclass
class RecordResult:
    stored: bool  # False: the same report was stored before (a redelivery)
    events: list[str]


def device_id(user: str, device: str) -> str:
    return f"owntracks:{user}:{device}"


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    k = math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lat2 - lat1) * 111_320.0, (lon2 - lon1) * 111_320.0 * k)


def _event(db: Database, kind: str, user: str, device: str, ts: float, now: float,
           data: dict[str, Any]) -> bool:
    eid = f"{GW}:{user}:{device}:{kind}:{round(ts * 1000)}"
    for key in ("region",):
        if data.get(key):
            eid += f":{data[key]}"
    row = db.execute(
        "INSERT INTO events (id, gw, seq, kind, device, ts, priority, data, received_at) "
        "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING RETURNING id",
        (eid, GW, max(1, int(ts)), kind, device_id(user, device), ts, PRIORITY[kind],
         orjson.dumps({"user": user, "device": device, **data}).decode(), now)).fetchone()
    return row is not None


def record(db: Database, user: str, device: str, rep: Report, via: str, now: float,
           token_id: int | None = None) -> RecordResult:
    """Store one validated report (in the caller's transaction) and derive its events."""
    phone = db.execute("SELECT person, token_id, silent_since, last_tst, lat, lon, acc, batt "
                       "FROM phones "
                       "WHERE username = ? AND device = ?", (user, device)).fetchone()
    if phone is not None and token_id is not None and phone["token_id"] not in (None, token_id):
        raise PhoneBound(f"phone {user}/{device} reports with another device token")
    new = db.execute(
        "INSERT INTO phone_reports (username, device, type, tst, lat, lon, acc, batt, event, "
        "region, via, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (username, device, type, tst, event, region) DO NOTHING RETURNING id",
        (user, device, rep.type, rep.tst, rep.lat, rep.lon, rep.acc, rep.batt, rep.event or "",
         rep.region or "", via, now)).fetchone()
    if phone is None:
        db.execute("INSERT INTO phones (username, device, token_id, first_seen, last_seen, via) "
                   "VALUES (?,?,?,?,?,?)", (user, device, token_id, now, now, via))
        person, silent_since, last_tst = None, None, None
    else:
        person, silent_since, last_tst = phone["person"], phone["silent_since"], phone["last_tst"]
    if new is None:
        return RecordResult(False, [])
    events: list[str] = []
    base = {"person": person, "via": via}
    if silent_since is not None and _event(db, "phone_back", user, device, now, now,
                                           {**base, "silent_since": silent_since}):
        events.append("phone_back")
    # Only a report newer than what we have moves the phone's position (the apps resend old
    # reports after being offline).
    newest = last_tst is None or rep.tst >= last_tst
    if rep.type == "lwt":
        if _event(db, "phone_lwt", user, device, rep.tst, now, base):
            events.append("phone_lwt")
    elif rep.type == "transition":
        kind = "phone_enter" if rep.event == "enter" else "phone_leave"
        if _event(db, kind, user, device, rep.tst, now,
                  {**base, "region": rep.region or "", "source": "phone",
                   "lat": rep.lat, "lon": rep.lon}):
            events.append(kind)
    elif newest and person is not None:
        events += _regions(db, user, device, person, rep, now, base)
    cur = dict(phone) if phone is not None else {}
    moved = newest and rep.lat is not None
    db.execute("UPDATE phones SET last_seen = ?, silent_since = NULL, via = ?, token_id = ?, "
               "last_tst = ?, lat = ?, lon = ?, acc = ?, batt = ? "
               "WHERE username = ? AND device = ?",
               (now, via, cur.get("token_id") or token_id,
                rep.tst if newest else last_tst,
                rep.lat if moved else cur.get("lat"), rep.lon if moved else cur.get("lon"),
                rep.acc if moved else cur.get("acc"),
                rep.batt if rep.batt is not None else cur.get("batt"), user, device))
    return RecordResult(True, events)


def _regions(db: Database, user: str, device: str, person: str, rep: Report, now: float,
             base: dict[str, Any]) -> list[str]:
    assert rep.lat is not None and rep.lon is not None
    out = []
    rows = db.execute("SELECT r.id, r.name, r.lat, r.lon, r.radius_m, s.inside FROM "
                      "watch_regions r LEFT JOIN phone_region_state s ON s.region_id = r.id "
                      "AND s.username = ? AND s.device = ? WHERE r.person = ?",
                      (user, device, person)).fetchall()
    for r in rows:
        acc = rep.acc or 0.0
        if acc > r["radius_m"]:
            continue  # the fix cannot tell inside from outside
        d = _metres(rep.lat, rep.lon, r["lat"], r["lon"])
        was = None if r["inside"] is None else bool(r["inside"])
        if d <= r["radius_m"]:
            inside = True
        elif d > r["radius_m"] + LEAVE_MARGIN_M:
            inside = False
        else:
            continue
        if inside == was:
            continue
        db.execute("INSERT INTO phone_region_state (username, device, region_id, inside, since) "
                   "VALUES (?,?,?,?,?) ON CONFLICT (username, device, region_id) DO UPDATE "
                   "SET inside = excluded.inside, since = excluded.since",
                   (user, device, r["id"], int(inside), rep.tst))
        if was is None:
            continue  # the first fix only sets where the phone is; nothing was crossed
        kind = "phone_enter" if inside else "phone_leave"
        if _event(db, kind, user, device, rep.tst, now,
                  {**base, "region": r["name"], "source": "collector", "lat": rep.lat,
                   "lon": rep.lon}):
            out.append(kind)
    return out


def check_silence(db: Database, now: float, default_s: float = DEFAULT_SILENCE_S) -> list[str]:
    """Raise `phone_silent` once for each linked phone silent longer than its limit."""
    raised = []
    db.begin()
    try:
        rows = db.execute("SELECT username, device, person, last_seen, max_silence_s FROM phones "
                          "WHERE person IS NOT NULL AND silent_since IS NULL").fetchall()
        for r in rows:
            limit = r["max_silence_s"] or default_s
            if now - r["last_seen"] <= limit:
                continue
            since = r["last_seen"] + limit
            db.execute("UPDATE phones SET silent_since = ? WHERE username = ? AND device = ?",
                       (since, r["username"], r["device"]))
            if _event(db, "phone_silent", r["username"], r["device"], since, now,
                      {"person": r["person"], "last_seen": r["last_seen"],
                       "limit_s": limit}):
                raised.append(device_id(r["username"], r["device"]))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return raised


def link(db: Database, user: str, device: str, person: str | None,
         max_silence_s: float | None = None) -> None:
    """Link a phone to a person under watch (None: unassign it)."""
    if person is not None and not PERSON_RE.match(person):
        raise PhoneError("person: 1–64 letters, digits or _ . : -")
    if max_silence_s is not None and not 60 <= max_silence_s <= 30 * 86400:
        raise PhoneError("max silence must be between 60 s and 30 days")
    cur = db.execute("UPDATE phones SET person = ?, max_silence_s = ?, silent_since = NULL "
                     "WHERE username = ? AND device = ? RETURNING username",
                     (person, max_silence_s, user, device)).fetchone()
    if cur is None:
        raise PhoneError(f"no phone {user}/{device} has reported yet")


def forget_binding(db: Database, user: str, device: str) -> None:
    """Let the phone report with a new device token (after the old one was revoked)."""
    cur = db.execute("UPDATE phones SET token_id = NULL WHERE username = ? AND device = ? "
                     "RETURNING username", (user, device)).fetchone()
    if cur is None:
        raise PhoneError(f"no phone {user}/{device} has reported yet")


def add_region(db: Database, person: str, name: str, lat: float, lon: float,
               radius_m: float) -> None:
    if not PERSON_RE.match(person):
        raise PhoneError("person: 1–64 letters, digits or _ . : -")
    if not name.strip() or len(name) > 64:
        raise PhoneError("region name: 1–64 characters")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise PhoneError("lat/lon out of range")
    if not 20 <= radius_m <= 5000:
        raise PhoneError("radius must be between 20 and 5000 m")
    db.execute("INSERT INTO watch_regions (person, name, lat, lon, radius_m) VALUES (?,?,?,?,?) "
               "ON CONFLICT (person, name) DO UPDATE SET lat = excluded.lat, "
               "lon = excluded.lon, radius_m = excluded.radius_m",
               (person, name.strip(), lat, lon, radius_m))


def list_phones(db: Database) -> list[Any]:
    return db.execute("SELECT username, device, person, first_seen, last_seen, last_tst, lat, "
                      "lon, acc, batt, via, silent_since, max_silence_s FROM phones "
                      "ORDER BY person IS NOT NULL, username, device").fetchall()
