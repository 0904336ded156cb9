"""Signed, expiring acknowledgement links: whoever holds the link may act on that one alert,
as that responder, until it expires. The signing key is generated once and kept in the
database (app_secrets), so the worker that sends and the web app that answers agree."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..db import Database
from ..users import app_secret

SALT = "watch-ack"


def _serializer(db: Database) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(app_secret(db, "watch-links"), salt=SALT)


def make(db: Database, base_url: str, alert_id: int, responder: int) -> str:
    return f"{base_url}/watch/a/{_serializer(db).dumps([alert_id, responder])}"


def read(db: Database, token: str, max_age_s: float) -> tuple[int, int] | str:
    """(alert id, responder id), or the reason the link is refused."""
    try:
        a, r = _serializer(db).loads(token, max_age=int(max_age_s))
        return int(a), int(r)
    except SignatureExpired:
        return "expired"
    except (BadSignature, ValueError, TypeError):
        return "invalid"
