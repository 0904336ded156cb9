"""Pages of the stamp programme (residents, anonymous) and the shops' dashboard.

- `/stamp/<token>`: the page behind a cool spot's QR code; on a hot day its button puts a stamp
  on the card kept in this browser (cookie `mm_card`, a random id; nothing else is asked).
- `/stamps`: the card — stamps collected, the code to show at a shop, the shops and coupons.
- `/shop`: a shop's dashboard (role shop; admins see every shop): people near it on hot and mild
  days, stamps given at its points, coupons redeemed, and the form to redeem a card's code.
"""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from .app import get_db
from .auth import get_write_db, require
from .i18n import TEXTS, lang
from .shops import (
    ShopError,
    balance,
    card_exists,
    dashboard,
    give_stamp,
    level_now,
    new_card,
    new_code,
    point_by_token,
    redeem,
    shops_of,
)

bp = Blueprint("shops", __name__)
CARD_COOKIE = "mm_card"
CARD_AGE_S = 400 * 86400


def _card() -> str | None:
    card = request.cookies.get(CARD_COOKIE, "")
    return card if 20 <= len(card) <= 64 and card_exists(get_db(), card) else None


@bp.route("/stamp/<token>", methods=["GET", "POST"])
def stamp(token: str) -> Any:
    t = TEXTS[lang()]
    point = point_by_token(get_db(), token)
    if point is None:
        abort(404)
    now = time.time()
    result = None
    resp_card = None
    if request.method == "POST":
        db = get_write_db()
        card = _card()
        if card is None:
            card = new_card(db, now)
            resp_card = card
        result = give_stamp(db, card, point["id"], now,
                            current_app.config.get("STAMP_MIN_LEVEL", 2)).reason
    level = level_now(get_db(), now)
    resp = make_response(render_template("stamp.html", t=t, lang=lang(), point=point,
                                         level=level, result=result))
    if resp_card:
        resp.set_cookie(CARD_COOKIE, resp_card, max_age=CARD_AGE_S, httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return resp


@bp.get("/stamps")
def card() -> Any:
    t = TEXTS[lang()]
    db = get_db()
    card = _card()
    got, used = balance(db, card) if card else (0, 0)
    shops = db.execute("SELECT name, coupon, stamps_per_coupon FROM shops ORDER BY name"
                       ).fetchall()
    return render_template("stamps.html", t=t, lang=lang(), has_card=card is not None,
                           available=got - used, collected=got, shops=shops)


@bp.post("/stamps/code")
def show_code() -> Any:
    """A new code for this card (shown once): codes are stored hashed, so the card page cannot
    show an old one; asking again replaces it."""
    card = _card()
    if card is None:
        return redirect(url_for("shops.card"))
    code = new_code(get_write_db(), card)
    t = TEXTS[lang()]
    db = get_db()
    got, used = balance(db, card)
    shops = db.execute("SELECT name, coupon, stamps_per_coupon FROM shops ORDER BY name"
                       ).fetchall()
    return render_template("stamps.html", t=t, lang=lang(), has_card=True, code=code,
                           available=got - used, collected=got, shops=shops)


@bp.route("/shop", methods=["GET", "POST"])
@require("shop", "admin")
def shop_page() -> Any:
    t = TEXTS[lang()]
    db = get_write_db()
    mine = shops_of(db, g.principal.name, g.principal.role)
    if not mine:
        return render_template("shop.html", t=t, lang=lang(), shop=None, shops=[]), 200
    wanted = request.values.get("id") or mine[0]["id"]
    shop = next((s for s in mine if s["id"] == wanted), None)
    if shop is None:
        abort(403)  # another shop's dashboard
    message = error = None
    status = 200
    if request.method == "POST":
        try:
            left = redeem(db, shop["id"], request.form.get("code", ""), time.time())
            message = str(t["redeemed"]).format(left=left)
        except ShopError as exc:
            error, status = str(exc), 400
    data = dashboard(db, shop, time.time())
    return render_template("shop.html", t=t, lang=lang(), shop=shop, shops=mine, d=data,
                           message=message, error=error), status
