"""Persons under watch, households, their devices, consent and responders (docs/watch.md).

Names, addresses, phone numbers, e-mail addresses and push subscriptions are sealed with the
key ring before they reach the database; they are opened only for admins and for the responders
assigned to that person, and every opening is written to the audit log.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..db import Database
from .crypto import Keyring

TIERS = {1: "家族", 2: "民生委員・町内会", 3: "地域包括支援センター", 4: "市役所"}
TIERS_EN = {1: "family", 2: "welfare commissioner / neighbourhood association",
            3: "community general support centre", 4: "city staff"}
ORGS = ("family", "minsei", "chonaikai", "houkatsu", "city")
LINK_KINDS = ("tag", "meter", "phone")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
PHONE_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164, as SMS providers want it
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class WatchError(ValueError):
    """Invalid watch input; the message says what to change."""


def _id(value: str, what: str) -> str:
    if not ID_RE.match(value or ""):
        raise WatchError(f"{what} id {value!r}: letters, digits and _ . : - (max 64)")
    return value


def phone(value: str) -> str:
    """Normalise a phone number to E.164: 090-1234-5678 -> +819012345678."""
    digits = re.sub(r"[\s()-]", "", value or "")
    if digits.startswith("0") and digits[1:].isdigit():
        digits = "+81" + digits[1:]
    if not PHONE_RE.match(digits):
        raise WatchError(f"phone {value!r}: expected a number like 090-1234-5678 or +8190…")
    return digits


def audit(db: Database, actor: str, action: str, person: str | None, detail: str,
          now: float) -> None:
    db.execute("INSERT INTO watch_audit (ts, actor, action, person, detail) VALUES (?,?,?,?,?)",
               (now, actor, action, person, detail))


def add_household(db: Database, keys: Keyring, hid: str, address: str | None,
                  now: float) -> None:
    _id(hid, "household")
    db.execute("INSERT INTO watch_households (id, address_enc, created_at) VALUES (?,?,?)",
               (hid, keys.seal(address, f"household:{hid}:address") if address else None, now))


def add_person(db: Database, keys: Keyring, pid: str, name: str, now: float,
               household: str | None = None, phone_number: str | None = None) -> None:
    _id(pid, "person")
    if not name.strip():
        raise WatchError("a person needs a name")
    ph = phone(phone_number) if phone_number else None
    db.execute("INSERT INTO watch_persons (id, household, name_enc, phone_enc, phone_hash, "
               "created_at) VALUES (?,?,?,?,?,?)",
               (pid, household, keys.seal(name.strip(), f"person:{pid}:name"),
                keys.seal(ph, f"person:{pid}:phone") if ph else None,
                keys.lookup_hash(ph) if ph else None, now))


def link_device(db: Database, device: str, kind: str, now: float, person: str | None = None,
                household: str | None = None) -> None:
    if kind not in LINK_KINDS:
        raise WatchError(f"device kind must be one of {', '.join(LINK_KINDS)}")
    if (person is None) == (household is None):
        raise WatchError("link a device to a person or to a household")
    db.execute("INSERT INTO watch_links (device, kind, person, household, created_at) "
               "VALUES (?,?,?,?,?) ON CONFLICT (device) DO UPDATE SET kind=excluded.kind, "
               "person=excluded.person, household=excluded.household",
               (_id(device, "device"), kind, person, household, now))


def add_consent(db: Database, person: str, given_by: str, scope: str, now: float) -> int:
    """Who agreed (本人, 長女 …), to what (comma list: tag, meter, phone, notify), when."""
    if not given_by.strip() or not scope.strip():
        raise WatchError("consent needs who agreed and to what")
    row = db.execute("INSERT INTO watch_consents (person, given_by, scope, given_at) "
                     "VALUES (?,?,?,?) RETURNING id", (person, given_by, scope, now)).fetchone()
    return int(row[0])


def has_consent(db: Database, person: str) -> bool:
    return db.execute("SELECT 1 FROM watch_consents WHERE person = ? AND withdrawn_at IS NULL",
                      (person,)).fetchone() is not None


@dataclass(frozen=True)
class Duty:
    """When a responder takes calls: weekdays (0 = Monday) and a local time span; an empty
    tuple of spans means always."""
    spans: tuple[tuple[frozenset[int], int, int], ...] = ()

    def on(self, weekday: int, minute: int) -> bool:
        if not self.spans:
            return True
        for days, start, end in self.spans:
            if weekday not in days:
                continue
            if start <= end and start <= minute < end:
                return True
            if start > end and (minute >= start or minute < end):  # over midnight
                return True
        return False

    @staticmethod
    def parse(text: str | None) -> Duty:
        """'mon-fri 08:30-17:15; sat 09:00-12:00' (empty: always)."""
        if not text or not text.strip():
            return Duty()
        names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        spans = []
        for part in text.split(";"):
            try:
                days_s, times = part.split()
                a, b = times.split("-")
            except ValueError:
                raise WatchError(f"duty {part.strip()!r}: expected like 'mon-fri 08:30-17:15'"
                                 ) from None
            if not (TIME_RE.match(a) and TIME_RE.match(b)):
                raise WatchError(f"duty {part.strip()!r}: times as HH:MM")
            days: set[int] = set()
            for d in days_s.lower().split(","):
                lo, _, hi = d.partition("-")
                if lo not in names or (hi and hi not in names):
                    raise WatchError(f"duty {part.strip()!r}: days as mon … sun")
                i, j = names.index(lo), names.index(hi or lo)
                days.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(j + 1)])
            spans.append((frozenset(days), int(a[:2]) * 60 + int(a[3:]),
                          int(b[:2]) * 60 + int(b[3:])))
        return Duty(tuple(spans))


def add_responder(db: Database, keys: Keyring, name: str, tier: int, org: str, now: float,
                  username: str | None = None, phone_number: str | None = None,
                  email: str | None = None, webhook_url: str | None = None,
                  webhook_secret: str | None = None, duty: str | None = None) -> int:
    if tier not in TIERS:
        raise WatchError("tier: 1 family, 2 民生委員・町内会, 3 地域包括支援センター, 4 市役所")
    if org not in ORGS:
        raise WatchError(f"org must be one of {', '.join(ORGS)}")
    if not name.strip():
        raise WatchError("a responder needs a name")
    if webhook_url and not webhook_url.startswith(("http://", "https://")):
        raise WatchError("webhook URL must start with http:// or https://")
    if email and not re.match(r"^[^@\s]+@[^@\s]+$", email):
        raise WatchError(f"e-mail {email!r} is not an address")
    Duty.parse(duty)
    ph = phone(phone_number) if phone_number else None
    row = db.execute(
        "INSERT INTO watch_responders (username, tier, org, name_enc, phone_hash, duty, "
        "webhook_url, created_at) VALUES (?,?,?,?,?,?,?,?) RETURNING id",
        (username, tier, org, "", keys.lookup_hash(ph) if ph else None, duty, webhook_url, now)
    ).fetchone()
    rid = int(row[0])
    db.execute("UPDATE watch_responders SET name_enc = ?, phone_enc = ?, email_enc = ?, "
               "webhook_secret_enc = ? WHERE id = ?",
               (keys.seal(name.strip(), f"responder:{rid}:name"),
                keys.seal(ph, f"responder:{rid}:phone") if ph else None,
                keys.seal(email, f"responder:{rid}:email") if email else None,
                keys.seal(webhook_secret, f"responder:{rid}:webhook_secret")
                if webhook_secret else None, rid))
    return rid


def set_push_subscription(db: Database, keys: Keyring, rid: int, sub: dict[str, Any]) -> None:
    db.execute("UPDATE watch_responders SET push_enc = ? WHERE id = ?",
               (keys.seal(json.dumps(sub), f"responder:{rid}:push"), rid))


def assign(db: Database, person: str, responder: int) -> None:
    db.execute("INSERT INTO watch_assignments (person, responder) VALUES (?,?) "
               "ON CONFLICT DO NOTHING", (person, responder))


def responder_ids_for_user(db: Database, username: str) -> list[int]:
    return [int(r[0]) for r in db.execute("SELECT id FROM watch_responders WHERE username = ?",
                                          (username,)).fetchall()]


def persons_for_user(db: Database, username: str) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT DISTINCT a.person FROM watch_assignments a JOIN watch_responders r "
        "ON r.id = a.responder WHERE r.username = ? ORDER BY a.person", (username,)).fetchall()]


def may_see_person(db: Database, role: str, username: str, person: str) -> bool:
    """Admins, and responders or family assigned to the person."""
    if role == "admin":
        return True
    if role not in ("responder", "family"):
        return False
    return person in persons_for_user(db, username)


def open_person(db: Database, keys: Keyring, person: str, actor: str, role: str,
                now: float, why: str = "view") -> dict[str, Any] | None:
    """The person's personal data, opened — after the check, and written to the audit log.
    None when the actor may not see it (the refusal is logged too)."""
    if not may_see_person(db, role, actor, person):
        audit(db, actor, "denied", person, why, now)
        return None
    row = db.execute("SELECT p.id, p.household, p.name_enc, p.phone_enc, h.address_enc "
                     "FROM watch_persons p LEFT JOIN watch_households h ON h.id = p.household "
                     "WHERE p.id = ?", (person,)).fetchone()
    if row is None:
        return None
    audit(db, actor, "view", person, why, now)
    return {"id": row["id"], "household": row["household"],
            "name": keys.open(row["name_enc"], f"person:{person}:name"),
            "phone": keys.open(row["phone_enc"], f"person:{person}:phone")
            if row["phone_enc"] else None,
            "address": keys.open(row["address_enc"], f"household:{row['household']}:address")
            if row["address_enc"] else None}


def person_name(db: Database, keys: Keyring, person: str) -> str | None:
    """For the notifier only (a message to an assigned responder): no audit row per send; the
    notification row itself records who was told."""
    row = db.execute("SELECT name_enc FROM watch_persons WHERE id = ?", (person,)).fetchone()
    return keys.open(row[0], f"person:{person}:name") if row else None


@dataclass(frozen=True)
class Contact:
    id: int
    tier: int
    name: str
    phone: str | None
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None
    push: dict[str, Any] | None


def contact(db: Database, keys: Keyring, rid: int) -> Contact | None:
    r = db.execute("SELECT * FROM watch_responders WHERE id = ?", (rid,)).fetchone()
    if r is None:
        return None

    def op(col: str, field: str) -> str | None:
        return keys.open(r[col], f"responder:{rid}:{field}") if r[col] else None
    push = op("push_enc", "push")
    return Contact(rid, r["tier"], op("name_enc", "name") or "", op("phone_enc", "phone"),
                   op("email_enc", "email"), r["webhook_url"],
                   op("webhook_secret_enc", "webhook_secret"),
                   json.loads(push) if push else None)


def resident_phone(db: Database, keys: Keyring, person: str) -> str | None:
    row = db.execute("SELECT phone_enc FROM watch_persons WHERE id = ?", (person,)).fetchone()
    return keys.open(row[0], f"person:{person}:phone") if row and row[0] else None


def withdraw_consent(db: Database, person: str, actor: str, now: float) -> dict[str, int]:
    """Consent withdrawn: the person's data is erased (see erase_person)."""
    db.execute("UPDATE watch_consents SET withdrawn_at = ? WHERE person = ? AND "
               "withdrawn_at IS NULL", (now, person))
    return erase_person(db, person, actor, now)


def erase_person(db: Database, person: str, actor: str, now: float) -> dict[str, int]:
    """Remove the person's data from the store, the hourly tables, the sink queue and the watch.

    What stays: the consent rows (who agreed and when they withdrew, without names) and the
    audit log — the record that the erasure happened. Runs in one transaction.
    """
    gone: dict[str, int] = {}
    db.begin()
    try:
        devices = [r[0] for r in db.execute(
            "SELECT device FROM watch_links WHERE person = ?", (person,)).fetchall()]
        row = db.execute("SELECT household FROM watch_persons WHERE id = ?",
                         (person,)).fetchone()
        household = row[0] if row else None
        alone = household is not None and db.execute(
            "SELECT count(*) FROM watch_persons WHERE household = ? AND id <> ?",
            (household, person)).fetchone()[0] == 0
        if alone:  # nobody else lives there: the household's meter goes with the person
            devices += [r[0] for r in db.execute(
                "SELECT device FROM watch_links WHERE household = ?", (household,)).fetchall()]

        def rm(table: str, where: str, args: tuple[Any, ...]) -> None:
            n = db.execute(f"SELECT count(*) FROM {table} WHERE {where}", args).fetchone()[0]
            db.execute(f"DELETE FROM {table} WHERE {where}", args)
            gone[table] = gone.get(table, 0) + n

        for d in devices:
            rm("summaries", "device = ?", (d,))
            rm("summaries_hourly", "device = ?", (d,))
            rm("events", "device = ?", (d,))
            rm("devices", "id = ?", (d,))
        # The sink queue holds whole payloads: match the device inside each.
        if devices:
            ids = [r[0] for d in devices for r in db.execute(
                "SELECT id, payload FROM sink_queue WHERE payload LIKE ?",
                (f"%{d}%",)).fetchall() if json.loads(r[1]).get("device") == d]
            db.executemany("DELETE FROM sink_queue WHERE id = ?", [(i,) for i in ids])
            gone["sink_queue"] = len(ids)
        # Events naming the person in their data (a tag not yet linked, say).
        ids = [r[0] for r in db.execute("SELECT id, data FROM events WHERE data LIKE ?",
                                        (f"%{person}%",)).fetchall()
               if json.loads(r[1]).get("person") == person]
        db.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in ids])
        gone["events"] = gone.get("events", 0) + len(ids)
        subjects = [f"person:{person}"] + ([f"household:{household}"] if alone else [])
        for s in subjects:
            alerts = [r[0] for r in db.execute("SELECT id FROM watch_alerts WHERE subject = ?",
                                               (s,)).fetchall()]
            for a in alerts:
                rm("watch_notifications", "alert = ?", (a,))
                rm("watch_alert_log", "alert = ?", (a,))
            rm("watch_alerts", "subject = ?", (s,))
            rm("watch_silences", "subject = ?", (s,))
        rm("watch_links", "person = ?", (person,))
        rm("watch_assignments", "person = ?", (person,))
        rm("watch_persons", "id = ?", (person,))
        if alone:
            rm("watch_links", "household = ?", (household,))
            rm("watch_households", "id = ?", (household,))
        audit(db, actor, "erase", person, json.dumps(gone, sort_keys=True), now)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return gone


SEALED = (  # table, column, the row's AAD prefix, field name
    ("watch_persons", "name_enc", "person", "name"),
    ("watch_persons", "phone_enc", "person", "phone"),
    ("watch_households", "address_enc", "household", "address"),
    ("watch_responders", "name_enc", "responder", "name"),
    ("watch_responders", "phone_enc", "responder", "phone"),
    ("watch_responders", "email_enc", "responder", "email"),
    ("watch_responders", "webhook_secret_enc", "responder", "webhook_secret"),
    ("watch_responders", "push_enc", "responder", "push"),
)


def rekey(db: Database, keys: Keyring) -> int:
    """Re-seal every personal field under the ring's first key (and redo the lookup hashes),
    in one transaction; afterwards the older keys can leave the ring."""
    n = 0
    db.begin()
    try:
        for table, col, prefix, fld in SEALED:
            for r in db.execute(f"SELECT id, {col} FROM {table} WHERE {col} IS NOT NULL"
                                ).fetchall():
                aad = f"{prefix}:{r[0]}:{fld}"
                plain = keys.open(r[1], aad)
                db.execute(f"UPDATE {table} SET {col} = ? WHERE id = ?",
                           (keys.seal(plain, aad), r[0]))
                if fld == "phone":
                    db.execute(f"UPDATE {table} SET phone_hash = ? WHERE id = ?",
                               (keys.lookup_hash(plain), r[0]))
                n += 1
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return n
