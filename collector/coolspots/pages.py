"""The operators' page: open tasks (with a button to close each) and the cool-spot registry with
what is open now. Admins and planners; Japanese first, English with ?lang=en."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from ..app import get_db
from ..auth import get_write_db, require
from ..i18n import TEXTS, lang
from .hours import DAYS, JST
from .registry import list_spots, special_alert, spot_open
from .tasks import list_tasks, mark_done, town_settings

bp = Blueprint("coolspots_pages", __name__, url_prefix="/admin/coolspots")

PAGE_TEXTS: dict[str, dict[str, Any]] = {
    "ja": {"cs_title": "クールスポット・暑熱避難施設", "cs_tasks": "対応が必要なこと",
           "cs_no_tasks": "いま対応が必要なことはありません", "cs_done": "完了",
           "cs_registry": "登録施設", "cs_open": "開放中", "cs_closed": "閉鎖中",
           "cs_today": "本日の開放時間", "cs_capacity": "受入人数", "cs_kind": "種別",
           "cs_name": "名称", "cs_created": "発生", "cs_task": "内容", "cs_alert": "本日の警戒情報",
           "cs_alerts": {"none": "発表なし", "warning": "熱中症警戒アラート",
                         "special": "熱中症特別警戒アラート"},
           "cs_kinds": {"shelter": "指定暑熱避難施設", "partner": "暑熱避難協力施設",
                        "coolspot": "クールスポット"}, "cs_unknown_hours": "時間不明",
           "cs_msg_wbgt": "付近の暑さ指数 {wbgt:.1f}℃（基準 {threshold:g}℃）: ミスト・送風を入れ、"
                          "開放されているか確認してください",
           "cs_msg_special_alert": "熱中症特別警戒アラート: 本日は終日開放してください"},
    "en": {"cs_title": "Cool spots and cooling shelters", "cs_tasks": "To do",
           "cs_no_tasks": "Nothing to do right now", "cs_done": "Done",
           "cs_registry": "Registry", "cs_open": "open", "cs_closed": "closed",
           "cs_today": "Hours today", "cs_capacity": "Capacity", "cs_kind": "Kind",
           "cs_name": "Name", "cs_created": "Since", "cs_task": "Task", "cs_alert": "Today's alert",
           "cs_alerts": {"none": "none", "warning": "heatstroke alert",
                         "special": "special heatstroke alert"},
           "cs_kinds": {"shelter": "cooling shelter", "partner": "partner facility",
                        "coolspot": "cool spot"}, "cs_unknown_hours": "hours unknown",
           "cs_msg_wbgt": "WBGT {wbgt:.1f} °C nearby (threshold {threshold:g} °C): switch on "
                          "mist and fans, check it is open",
           "cs_msg_special_alert": "Special heatstroke alert: open all day today"},
}


@bp.get("/")
@require("admin", "planner")
def page() -> Any:
    lg = lang()
    t = {**TEXTS[lg], **PAGE_TEXTS[lg]}
    db = get_db()
    now = time.time()
    town = town_settings(db)
    alert = special_alert(db, now, town.pref_code, town.area_code)
    today = DAYS[datetime.fromtimestamp(now, JST).weekday()]
    spots = []
    for r in list_spots(db):
        hours = json.loads(r["hours"])
        spots.append({"id": r["id"], "kind": r["kind"], "name": r["name"],
                      "capacity": r["capacity"], "open": spot_open(r, now, alert["level"]),
                      "known": bool(r["hours_known"]),
                      "today": ", ".join(f"{a}–{b}" for a, b in hours.get(today, []))})
    tasks = [{"id": r["id"], "name": r["name"] or r["spot"], "message": _message(t, r),
              "created": datetime.fromtimestamp(r["created_at"], JST).strftime("%m/%d %H:%M")}
             for r in list_tasks(db)]
    return render_template("coolspots_admin.html", t=t, lang=lg, spots=spots, tasks=tasks,
                           alert=alert)


def _message(t: dict[str, Any], r: Any) -> str:
    """The task in the page's language (the stored message is the API's English one)."""
    if r["kind"] == "wbgt" and r["wbgt"] is not None and r["threshold"] is not None:
        return str(t["cs_msg_wbgt"]).format(wbgt=r["wbgt"], threshold=r["threshold"])
    if r["kind"] == "special_alert":
        return str(t["cs_msg_special_alert"])
    return str(r["message"])


@bp.post("/tasks/<int:task_id>/done")
@require("admin", "planner")
def done(task_id: int) -> Any:
    mark_done(get_write_db(), task_id, g.principal.name)
    return redirect(url_for("coolspots_pages.page", lang=request.args.get("lang")))
