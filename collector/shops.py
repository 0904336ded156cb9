"""Shops in the heat service and the stamp programme — the data side, no Flask.

A resident who comes to a cool spot on a hot day scans the spot's QR code and gets a stamp on a
card that lives only in their browser (a random id; the database keeps its hash). Stamps are
redeemed for a coupon at participating shops, which see on their dashboard how many people pass
on hot and mild days, the stamps given at their own cool corner and the coupons redeemed. It is
the case for keeping the service running — without tracking anyone: no names, no accounts, no
positions; a card is a count of stamps.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .db import Database

JST = timezone(timedelta(hours=9))
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud at a counter
CODE_LEN = 8
MIN_LEVEL = 2  # 警戒 (WBGT ≥ 25): below that, a cool spot visit earns no stamp
LIVE_S = 2 * 3600  # how recent a heat node's reading must be to count for "now"
HOT_WBGT, MILD_WBGT = 28.0, 25.0  # a day's peak WBGT: hot ≥ 28 (厳重警戒), mild < 25


class ShopError(ValueError):
    """Input that cannot be used; the message says what to change."""


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def today(now: float) -> str:
    return datetime.fromtimestamp(now, JST).date().isoformat()


def _check_id(what: str, value: str) -> None:
    if not ID_RE.match(value):
        raise ShopError(f"{what}: 1–32 lower-case letters, digits or -")


def _check_name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 80 or any(ord(c) < 32 for c in value):
        raise ShopError("name: 1–80 characters")
    return value


def add_shop(db: Database, shop_id: str, name: str, username: str, coupon: str,
             stamps_per_coupon: int = 3, lat: float | None = None, lon: float | None = None,
             gw: str | None = None, coolspot: str | None = None, now: float | None = None
             ) -> None:
    _check_id("shop id", shop_id)
    if gw is not None:
        _check_id("gateway", gw)
    if not 1 <= stamps_per_coupon <= 20:
        raise ShopError("stamps per coupon: 1–20")
    coupon = coupon.strip()
    if not coupon or len(coupon) > 200:
        raise ShopError("coupon: 1–200 characters")
    if (lat is None) != (lon is None) or (lat is not None and not (
            -90 <= lat <= 90 and -180 <= lon <= 180)):  # type: ignore[operator]
        raise ShopError("lat/lon: both, in range")
    user = db.execute("SELECT role FROM users WHERE username = ?", (username,)).fetchone()
    if user is None or user["role"] not in ("shop", "admin"):
        raise ShopError(f"user {username!r} must exist with role shop")
    db.execute("INSERT INTO shops (id, name, username, lat, lon, gw, coolspot, coupon, "
               "stamps_per_coupon, created_at) VALUES (?,?,?,?,?,?,?,?,?,?) "
               "ON CONFLICT (id) DO UPDATE SET name = excluded.name, username = "
               "excluded.username, lat = excluded.lat, lon = excluded.lon, gw = excluded.gw, "
               "coolspot = excluded.coolspot, coupon = excluded.coupon, "
               "stamps_per_coupon = excluded.stamps_per_coupon",
               (shop_id, _check_name(name), username, lat, lon, gw, coolspot, coupon,
                stamps_per_coupon, time.time() if now is None else now))


def add_point(db: Database, point_id: str, name: str, kind: str, shop: str | None = None,
              now: float | None = None) -> str:
    """A place that gives stamps; returns the token for its QR code (/stamp/<token>)."""
    _check_id("point id", point_id)
    if kind not in ("coolspot", "shop"):
        raise ShopError("kind: coolspot or shop")
    if shop is not None and db.execute("SELECT 1 FROM shops WHERE id = ?",
                                       (shop,)).fetchone() is None:
        raise ShopError(f"no shop {shop!r}")
    row = db.execute("SELECT token FROM stamp_points WHERE id = ?", (point_id,)).fetchone()
    token = row[0] if row else secrets.token_urlsafe(12)
    db.execute("INSERT INTO stamp_points (id, name, kind, shop, token, created_at) "
               "VALUES (?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
               "kind = excluded.kind, shop = excluded.shop",
               (point_id, _check_name(name), kind, shop, token,
                time.time() if now is None else now))
    return token


def point_by_token(db: Database, token: str) -> Any:
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", token):
        return None
    return db.execute("SELECT id, name, kind, shop FROM stamp_points WHERE token = ?",
                      (token,)).fetchone()


def level_now(db: Database, now: float) -> int | None:
    """The highest WBGT level any heat node reports now (None: no live reading)."""
    row = db.execute("SELECT max(wbgt_level) FROM devices WHERE kind = 'heat' AND "
                     "latest_end > ?", (now - LIVE_S,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _fresh_code(db: Database) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LEN))
        if db.execute("SELECT 1 FROM stamp_cards WHERE code_hash = ?",
                      (_h(code),)).fetchone() is None:
            return code


def new_card(db: Database, now: float) -> str:
    """A new card: its id goes to the browser; the database keeps hashes only."""
    card = secrets.token_urlsafe(24)
    db.execute("INSERT INTO stamp_cards (id_hash, code_hash, created_at) VALUES (?,?,?)",
               (_h(card), _h(_fresh_code(db)), now))
    return card


def new_code(db: Database, card: str) -> str:
    """A new code to show at a shop's counter (the old one stops working): only its hash is
    kept, so the code is shown once, when asked for."""
    code = _fresh_code(db)
    db.execute("UPDATE stamp_cards SET code_hash = ? WHERE id_hash = ?", (_h(code), _h(card)))
    return code


def card_exists(db: Database, card: str) -> bool:
    return db.execute("SELECT 1 FROM stamp_cards WHERE id_hash = ?",
                      (_h(card),)).fetchone() is not None


@dataclass(frozen=True)
class StampResult:
    ok: bool
    reason: str  # stamped | not_hot | no_reading | already_today


def give_stamp(db: Database, card: str, point: str, now: float, min_level: int = MIN_LEVEL
               ) -> StampResult:
    level = level_now(db, now)
    if level is None:
        return StampResult(False, "no_reading")
    if level < min_level:
        return StampResult(False, "not_hot")
    row = db.execute("INSERT INTO stamps (card, point, day, wbgt_level) VALUES (?,?,?,?) "
                     "ON CONFLICT (card, point, day) DO NOTHING RETURNING id",
                     (_h(card), point, today(now), level)).fetchone()
    return StampResult(row is not None, "stamped" if row is not None else "already_today")


def balance(db: Database, card: str) -> tuple[int, int]:
    """(stamps collected, stamps already used for coupons)."""
    h = _h(card)
    got = db.execute("SELECT count(*) FROM stamps WHERE card = ?", (h,)).fetchone()[0]
    used = db.execute("SELECT coalesce(sum(stamps), 0) FROM redemptions WHERE card = ?",
                      (h,)).fetchone()[0]
    return int(got), int(used)


def redeem(db: Database, shop: str, code: str, now: float) -> int:
    """Use a card's stamps for the shop's coupon; returns the stamps left. In one transaction,
    so two counters cannot spend the same stamps."""
    code = code.strip().upper().replace("-", "").replace(" ", "")
    if not re.fullmatch(f"[{CODE_ALPHABET}]{{{CODE_LEN}}}", code):
        raise ShopError("the code has 8 letters and digits")
    db.begin(exclusive="machimori-redeem")
    try:
        row = db.execute("SELECT stamps_per_coupon FROM shops WHERE id = ?", (shop,)).fetchone()
        if row is None:
            raise ShopError(f"no shop {shop!r}")
        need = int(row[0])
        card = db.execute("SELECT id_hash FROM stamp_cards WHERE code_hash = ?",
                          (_h(code),)).fetchone()
        if card is None:
            raise ShopError("no card has this code")
        got = db.execute("SELECT count(*) FROM stamps WHERE card = ?", (card[0],)).fetchone()[0]
        used = db.execute("SELECT coalesce(sum(stamps), 0) FROM redemptions WHERE card = ?",
                          (card[0],)).fetchone()[0]
        if got - used < need:
            raise ShopError(f"this card has {got - used} stamp(s); the coupon needs {need}")
        db.execute("INSERT INTO redemptions (card, shop, stamps, day, created_at) "
                   "VALUES (?,?,?,?,?)", (card[0], shop, need, today(now), now))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return int(got - used - need)


def shops_of(db: Database, username: str, role: str) -> list[Any]:
    if role == "admin":
        return db.execute("SELECT * FROM shops ORDER BY id").fetchall()
    return db.execute("SELECT * FROM shops WHERE username = ? ORDER BY id",
                      (username,)).fetchall()


def dashboard(db: Database, shop: Any, now: float, days: int = 30) -> dict[str, Any]:
    """What the shop sees: people near it on hot and mild days, stamps at its points, coupons."""
    since = now - days * 86400
    out: dict[str, Any] = {"hot_days": 0, "mild_days": 0, "people_hot": None,
                           "people_mild": None}
    if shop["gw"]:
        people = db.json_number('"values"', "unique_devices", "last")
        wbgt = db.json_number('"values"', "wbgt_c", "max")
        per_day: dict[str, list[float]] = {}
        for kind, end, value in db.execute(
                f"SELECT kind, \"end\", CASE WHEN kind = 'people' THEN {people} ELSE {wbgt} "
                "END FROM summaries WHERE gw = ? AND kind IN ('people', 'heat') AND "
                '"end" > ?', (shop["gw"], since)).fetchall():
            if value is None:
                continue
            d = per_day.setdefault(today(end), [0.0, 0.0, -99.0])
            if kind == "people":
                d[0] += value
                d[1] += 1
            else:
                d[2] = max(d[2], value)
        hot = [d[0] / d[1] for d in per_day.values() if d[1] and d[2] >= HOT_WBGT]
        mild = [d[0] / d[1] for d in per_day.values() if d[1] and -99 < d[2] < MILD_WBGT]
        out.update(hot_days=len(hot), mild_days=len(mild),
                   people_hot=round(sum(hot) / len(hot), 1) if hot else None,
                   people_mild=round(sum(mild) / len(mild), 1) if mild else None)
    first = today(since)
    out["stamps"] = db.execute(
        "SELECT s.day, count(*) FROM stamps s JOIN stamp_points p ON p.id = s.point "
        "WHERE p.shop = ? AND s.day >= ? GROUP BY s.day ORDER BY s.day",
        (shop["id"], first)).fetchall()
    out["stamps_total"] = sum(n for _, n in out["stamps"])
    out["coupons"] = db.execute(
        "SELECT count(*) FROM redemptions WHERE shop = ? AND day >= ?",
        (shop["id"], first)).fetchone()[0]
    out["points"] = db.execute("SELECT id, name, kind, token FROM stamp_points WHERE shop = ? "
                               "ORDER BY id", (shop["id"],)).fetchall()
    out["town_stamps"] = db.execute("SELECT count(*) FROM stamps WHERE day >= ?",
                                    (first,)).fetchone()[0]
    out["town_coupons"] = db.execute("SELECT count(*) FROM redemptions WHERE day >= ?",
                                     (first,)).fetchone()[0]
    return out
