"""The outbound queue: one row per target and channel (watch_notifications), sent by the
notifier, each with its own delivery status.

A row is claimed before it is sent (its next_try moved ahead, so a second notifier or a
restarted one leaves it alone while the send is in flight), then marked sent — or failed with
a back-off, so a retry re-sends only the targets that failed. A collector killed between the
provider's answer and the commit re-sends that one message after the claim lapses (webhooks
carry an Idempotency-Key for exactly that); nothing queued is ever lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..db import Database
from . import channels, links
from .config import WatchConfig
from .crypto import Keyring
from .engine import CAUSES_JA
from .people import contact, person_name, resident_phone
from .templates import Facts, render

log = logging.getLogger("machimori.collector.watch")
CLAIM_S = 120.0  # a claimed row is left alone this long


def backoff_s(attempts: int) -> float:
    return min(5.0 * 2 ** (attempts - 1), 3600.0)


@dataclass
class NotifyStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0


class Notifier:
    def __init__(self, db: Database, cfg: WatchConfig, keys: Keyring | None, vapid_path: Path):
        self.db, self.cfg, self.keys, self.vapid_path = db, cfg, keys, vapid_path
        self.stats = NotifyStats()

    def due(self, now: float, limit: int = 50) -> list[Any]:
        return self.db.execute(
            "SELECT * FROM watch_notifications WHERE state IN ('pending', 'failed') AND "
            "next_try <= ? ORDER BY next_try, id LIMIT ?", (now, limit)).fetchall()

    def run_once(self, now: float) -> int:
        """Send what is due; returns how many were handled."""
        n = 0
        for row in self.due(now):
            claimed = self.db.execute(
                "UPDATE watch_notifications SET next_try = ? WHERE id = ? AND next_try = ? "
                "AND state IN ('pending', 'failed')", (now + CLAIM_S, row["id"], row["next_try"]))
            if claimed.rowcount != 1:
                continue  # another notifier has it
            try:
                provider_id = self._send(row, now)
            except channels.SendError as e:
                attempts = row["attempts"] + 1
                dead = e.permanent or attempts >= self.cfg.max_attempts
                self.db.execute(
                    "UPDATE watch_notifications SET state = ?, attempts = ?, next_try = ?, "
                    "last_error = ? WHERE id = ?",
                    ("dead" if dead else "failed", attempts, now + backoff_s(attempts),
                     str(e)[:500], row["id"]))
                if dead:
                    self.stats.dead += 1
                    log.error("notification %s via %s given up: %s", row["id"], row["channel"],
                              e)
                else:
                    self.stats.failed += 1
                    log.warning("notification %s via %s failed (attempt %d): %s", row["id"],
                                row["channel"], attempts, e)
            except Exception as e:  # a bug or a key problem: keep the row, say why
                self.db.execute("UPDATE watch_notifications SET state = 'failed', attempts = ?, "
                                "next_try = ?, last_error = ? WHERE id = ?",
                                (row["attempts"] + 1, now + backoff_s(row["attempts"] + 1),
                                 f"internal: {e}"[:500], row["id"]))
                log.exception("notification %s", row["id"])
            else:
                self.db.execute("UPDATE watch_notifications SET state = 'sent', attempts = ?, "
                                "sent_at = ?, provider_id = ?, last_error = NULL WHERE id = ?",
                                (row["attempts"] + 1, now, provider_id, row["id"]))
                self.stats.sent += 1
            n += 1
        return n

    def facts(self, row: Any) -> tuple[Facts, dict[str, Any]]:
        db = self.db
        assert self.keys is not None
        alert = db.execute("SELECT * FROM watch_alerts WHERE id = ?",
                           (row["alert"],)).fetchone() if row["alert"] is not None else None
        silence = db.execute("SELECT * FROM watch_silences WHERE id = ?",
                             (row["silence"],)).fetchone() if row["silence"] is not None else None
        subject = alert["subject"] if alert else silence["subject"] if silence else ""
        kind, _, ident = subject.partition(":")
        name: str | None = None
        if kind == "person":
            name = person_name(db, self.keys, ident)
        elif kind == "household":
            p = db.execute("SELECT id FROM watch_persons WHERE household = ? ORDER BY id",
                           (ident,)).fetchone()
            name = person_name(db, self.keys, p[0]) if p else None
        elif kind == "gw":
            name = ident
        link = None
        if alert is not None and row["responder"] is not None and row["template"] != "ask":
            link = links.make(db, self.cfg.public_url, alert["id"], row["responder"])
        f = Facts(row["template"], alert["cause"] if alert else "", alert["severity"]
                  if alert else 1, name, alert["opened_at"] if alert else row["created_at"],
                  row["tier"], link, until=silence["ends_at"] if silence else None,
                  reason=silence["reason"] if silence else None)
        # What a machine gets (webhooks): ids and codes; no names leave this way.
        data = {"alert": alert["id"] if alert else None, "subject": subject,
                "cause": f.cause, "cause_ja": CAUSES_JA.get(f.cause, f.cause),
                "severity": f.severity, "state": alert["state"] if alert else None,
                "template": row["template"], "tier": row["tier"],
                "opened_at": alert["opened_at"] if alert else None, "link": link}
        return f, data

    def _send(self, row: Any, now: float) -> str:
        if self.keys is None:
            raise channels.SendError("no watch key ring (--watch-key-file): names and numbers "
                                     "cannot be opened")
        f, data = self.facts(row)
        ch = row["channel"]
        msg = render(f, ch)
        if row["person"]:  # the resident themself
            to = resident_phone(self.db, self.keys, row["person"])
            if not to:
                raise channels.SendError("the resident has no phone number", permanent=True)
            return channels.sms(self.cfg, to, msg.text)
        c = contact(self.db, self.keys, row["responder"])
        if c is None:
            raise channels.SendError("responder removed", permanent=True)
        if ch == "sms" and c.phone:
            return channels.sms(self.cfg, c.phone, msg.text)
        if ch == "email" and c.email:
            return channels.email(self.cfg, c.email, msg.subject, msg.text, row["idem_key"])
        if ch == "webhook" and c.webhook_url:
            return channels.webhook(self.cfg, c.webhook_url, c.webhook_secret or "",
                                    {**data, "id": row["idem_key"]}, row["idem_key"], now)
        if ch == "push" and c.push:
            return channels.push(self.cfg, self.vapid_path, c.push,
                                 {"title": msg.subject, "body": msg.text, "url": data["link"],
                                  "tag": f"alert-{data['alert']}"})
        raise channels.SendError(f"responder has no {ch} address any more", permanent=True)
