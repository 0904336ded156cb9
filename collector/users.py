"""Users, roles and API tokens: the data side of auth (no Flask here).

Passwords are hashed with argon2id; API tokens are random and stored as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .db import Database

# family: sees only the person(s) they are assigned to, through the watch pages; shop: its own
# dashboard; device: a phone or terminal that posts its own reports (API tokens only, no pages).
ROLES = ("admin", "planner", "responder", "viewer", "family", "shop", "device")
# Roles a person can sign in with; `device` is for API tokens of phones and terminals only.
PEOPLE_ROLES = tuple(r for r in ROLES if r != "device")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "mm_"
# Login rate limits: failures per user name and per client address within the window.
WINDOW_S = 15 * 60
MAX_FAILS_USER = 5
MAX_FAILS_IP = 20

_hasher = PasswordHasher()


class UserError(ValueError):
    """Invalid user input; the message says what to change."""


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "token"
    id: int
    name: str
    role: str


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")


def _check_person_role(role: str) -> None:
    _check_role(role)
    if role not in PEOPLE_ROLES:
        raise UserError(f"role {role!r} is for API tokens; people get one of "
                        f"{', '.join(PEOPLE_ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password must be at least {MIN_PASSWORD} characters")


def add_user(db: Database, username: str, password: str, role: str) -> None:
    if not USERNAME_RE.match(username):
        raise UserError("user name: 3–64 letters, digits or _ . @ -")
    _check_password(password)
    _check_person_role(role)
    if db.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
        raise UserError(f"user {username!r} already exists")
    db.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES (?,?,?,?)",
               (username, _hasher.hash(password), role, time.time()))


def list_users(db: Database) -> list[tuple[int, str, str, bool]]:
    return [(r[0], r[1], r[2], bool(r[3])) for r in db.execute(
        "SELECT id, username, role, disabled FROM users ORDER BY username").fetchall()]


def authenticate(db: Database, username: str, password: str) -> Principal | None:
    row = db.execute("SELECT id, username, password_hash, role, disabled FROM users "
                     "WHERE username = ?", (username,)).fetchone()
    if row is None:
        _hasher.hash(password)  # same work either way: no user-name oracle by timing
        return None
    try:
        _hasher.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return None
    if row["disabled"]:
        return None
    return Principal("user", row["id"], row["username"], row["role"])


def _uid(db: Database, username: str) -> int:
    row = db.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
    if row is None:
        raise UserError(f"no user {username!r}")
    return int(row[0])


# ---- server-side sessions: the cookie holds a random id, its hash is kept here
SESSION_SEEN_EVERY_S = 300  # how stale user_sessions.last_seen may be


def _sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start_session(db: Database, uid: int, ip: str, now: float) -> str:
    sid = secrets.token_urlsafe(32)
    db.execute("INSERT INTO user_sessions (id_hash, user_id, created_at, last_seen, ip) "
               "VALUES (?,?,?,?,?)", (_sid_hash(sid), uid, now, now, ip[:64]))
    return sid


def session_user(db: Database, sid: str) -> tuple[Principal, float] | None:
    """The signed-in user of a live session and when it was last recorded as seen."""
    row = db.execute("SELECT u.id, u.username, u.role, u.disabled, s.last_seen FROM "
                     "user_sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?",
                     (_sid_hash(sid),)).fetchone()
    if row is None or row["disabled"]:
        return None
    return Principal("user", row["id"], row["username"], row["role"]), row["last_seen"]


def session_seen(db: Database, sid: str, now: float) -> None:
    db.execute("UPDATE user_sessions SET last_seen = ? WHERE id_hash = ?", (now, _sid_hash(sid)))


def end_session(db: Database, sid: str) -> None:
    db.execute("DELETE FROM user_sessions WHERE id_hash = ?", (_sid_hash(sid),))


def end_sessions(db: Database, username: str) -> int:
    """Sign the user out everywhere; returns how many sessions ended."""
    return len(db.execute("DELETE FROM user_sessions WHERE user_id = ? RETURNING user_id",
                          (_uid(db, username),)).fetchall())


def session_counts(db: Database) -> dict[int, int]:
    return {r[0]: r[1] for r in db.execute(
        "SELECT user_id, count(*) FROM user_sessions GROUP BY user_id").fetchall()}


# ---- offboarding: every change that takes rights away also ends the user's sessions
def set_disabled(db: Database, username: str, disabled: bool) -> None:
    uid = _uid(db, username)
    db.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), uid))
    if disabled:
        end_sessions(db, username)


def set_role(db: Database, username: str, role: str) -> None:
    _check_person_role(role)
    uid = _uid(db, username)
    db.execute("UPDATE users SET role = ? WHERE id = ?", (role, uid))
    end_sessions(db, username)


def set_password(db: Database, username: str, password: str) -> None:
    _check_password(password)
    uid = _uid(db, username)
    db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (_hasher.hash(password), uid))
    end_sessions(db, username)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_token(db: Database, name: str, role: str) -> str:
    """Create an API token; the plain token is returned once and never stored."""
    if not name.strip():
        raise UserError("token name must not be empty")
    _check_role(role)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.execute("INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES (?,?,?,?)",
               (name, _token_hash(token), role, time.time()))
    return token


LAST_USED_EVERY_S = 300  # how stale api_tokens.last_used may be: not a write per request


def token_lookup(db: Database, token: str) -> tuple[Principal, float | None] | None:
    """The token's principal and when it was last recorded as used (read only)."""
    row = db.execute("SELECT id, name, role, last_used FROM api_tokens WHERE token_hash = ? "
                     "AND revoked = 0", (_token_hash(token),)).fetchone()
    if row is None:
        return None
    return Principal("token", row["id"], row["name"], row["role"]), row["last_used"]


def list_tokens(db: Database) -> list[Any]:
    return db.execute("SELECT id, name, role, created_at, last_used, revoked FROM api_tokens "
                      "ORDER BY id").fetchall()


def revoke_token(db: Database, token_id: int) -> None:
    if db.execute("UPDATE api_tokens SET revoked = 1 WHERE id = ? RETURNING id",
                  (token_id,)).fetchone() is None:
        raise UserError(f"no token with id {token_id}")


def token_used(db: Database, token_id: int, now: float) -> None:
    db.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?", (now, token_id))


def login_blocked(db: Database, username: str, ip: str, now: float) -> float:
    """Seconds until another attempt is allowed (0: allowed)."""
    since = now - WINDOW_S
    waits = []
    for col, value, limit in (("username", username, MAX_FAILS_USER), ("ip", ip, MAX_FAILS_IP)):
        rows = db.execute(f"SELECT ts FROM login_attempts WHERE {col} = ? AND ts > ? AND ok = 0 "
                          "ORDER BY ts DESC LIMIT ?", (value, since, limit)).fetchall()
        if len(rows) >= limit:
            waits.append(rows[-1][0] + WINDOW_S - now)
    return max(waits, default=0.0)


def record_login(db: Database, username: str, ip: str, ok: bool, now: float) -> None:
    """Only failures count against the limits; a success clears the user's. Attempts older
    than the window can never matter again and are pruned here."""
    db.execute("DELETE FROM login_attempts WHERE ts <= ?", (now - WINDOW_S,))
    if ok:
        db.execute("DELETE FROM login_attempts WHERE username = ?", (username,))
    else:
        db.execute("INSERT INTO login_attempts (username, ip, ts, ok) VALUES (?,?,?,0)",
                   (username, ip, now))


def app_secret(db: Database, name: str) -> str:
    row = db.execute("SELECT value FROM app_secrets WHERE name = ?", (name,)).fetchone()
    if row:
        return row[0]
    value = secrets.token_hex(32)
    db.execute("INSERT INTO app_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
               (name, value))
    return db.execute("SELECT value FROM app_secrets WHERE name = ?", (name,)).fetchone()[0]
