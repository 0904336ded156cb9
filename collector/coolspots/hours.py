"""Opening hours: per weekday lists of [open, close) in Japan time, "HH:MM" strings.

`{"mon": [["08:30", "17:15"]], "sat": [], ...}`; a day that is absent or empty is closed.
Times as municipal lists write them: `8:30`, `08:30`, `8時30分`, full-width digits; `-` closed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone

JST = timezone(timedelta(hours=9))
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_KANJI = {"月": "mon", "火": "tue", "水": "wed", "木": "thu", "金": "fri", "土": "sat",
             "日": "sun"}
CLOSED = frozenset({"", "-", "‐", "−", "—", "ー", "休", "休館", "閉", "閉館", "なし", "×",
                    "na", "n/a"})
_TIME = re.compile(r"^(\d{1,2})(?::|時)(\d{2})?分?$|^(\d{1,2})時$")
Hours = dict[str, list[list[str]]]


def norm(text: str) -> str:
    """NFKC (full-width digits and colons to ASCII) without surrounding blanks of any width."""
    return unicodedata.normalize("NFKC", text).strip()


def parse_time(text: str) -> str | None:
    """"HH:MM" for a time of day (24:00 allowed as a closing time); None for a closed mark;
    ValueError for anything else."""
    t = norm(text).replace(" ", "")
    if t.lower() in CLOSED:
        return None
    m = _TIME.match(t)
    if not m:
        raise ValueError(f"{text!r} is not a time like 8:30")
    h = int(m.group(1) or m.group(3))
    mi = int(m.group(2) or 0)
    if not (0 <= h <= 24 and 0 <= mi < 60) or (h == 24 and mi):
        raise ValueError(f"{text!r} is not a time of day")
    return f"{h:02d}:{mi:02d}"


def interval(start: str, end: str) -> list[str] | None:
    """[open, close] from two cells; None when the day is closed; ValueError when only one is
    given or they are equal (no way to tell "closed" from "24 hours"). A close before the open
    runs past midnight: [open, close] with close < open (see day_intervals)."""
    a, b = parse_time(start), parse_time(end)
    if a is None and b is None:
        return None
    if a is None or b is None:
        raise ValueError(f"opening {start!r} and closing {end!r}: give both or mark closed")
    if b == a:
        raise ValueError(f"opening and closing are both {a}")
    return [a, b]


def add_interval(hours: Hours, day: str, iv: list[str]) -> None:
    """Store an interval; one past midnight is split at 24:00 onto the next day."""
    a, b = iv
    if b > a:
        hours.setdefault(day, []).append([a, b])
        return
    hours.setdefault(day, []).append([a, "24:00"])
    if b != "00:00":
        nxt = DAYS[(DAYS.index(day) + 1) % 7]
        hours.setdefault(nxt, []).append(["00:00", b])


def is_open(hours: Hours, unix_time: float) -> bool:
    t = datetime.fromtimestamp(unix_time, JST)
    now = f"{t.hour:02d}:{t.minute:02d}"
    return any(a <= now < b for a, b in hours.get(DAYS[t.weekday()], []))


_SEG_TIME = re.compile(r"(\d{1,2})[:時](\d{2})?分?\s*[-~〜～から]+\s*(?:午後)?(\d{1,2})[:時](\d{2})?分?")
_DAY_RANGE = re.compile(r"([月火水木金土日])曜?日?\s*(?:から|[-~〜～])\s*([月火水木金土日])曜?日?")
_DAY_ONE = re.compile(r"([月火水木金土日])曜")


def _days(spec: str) -> list[str]:
    out: list[str] = []
    if "平日" in spec:
        out += DAYS[:5]
    if "土日" in spec:
        out += ["sat", "sun"]
    if "毎日" in spec or "無休" in spec:
        out += list(DAYS)
    for a, b in _DAY_RANGE.findall(spec):
        i, j = DAYS.index(DAY_KANJI[a]), DAYS.index(DAY_KANJI[b])
        out += [DAYS[(i + k) % 7] for k in range((j - i) % 7 + 1)]
        spec = spec.replace(a, "", 1)
    rest = _DAY_RANGE.sub("", spec)
    out += [DAY_KANJI[d] for d in _DAY_ONE.findall(rest)]
    return list(dict.fromkeys(out))


def hours_from_text(text: str) -> Hours | None:
    """Best effort for free-text hours ("平日 9:30-21:00, 日曜 9:30-17:00, 水曜, 祝日 …を除く");
    None when no time range can be read. Holidays (祝日) are not modelled."""
    t = norm(text).replace("午前", "")
    matches = list(_SEG_TIME.finditer(t))
    if not matches:
        return None
    hours: Hours = {}
    pos = 0
    for m in matches:
        h1 = int(m.group(3)) + (12 if "午後" in m.group(0) and int(m.group(3)) < 12 else 0)
        try:
            iv = interval(f"{m.group(1)}:{m.group(2) or '00'}", f"{h1}:{m.group(4) or '00'}")
        except ValueError:
            return None
        days = _days(t[pos:m.start()]) or (list(DAYS) if not hours else [])
        for d in days:
            if iv is not None:
                add_interval(hours, d, iv)
        pos = m.end()
    if "除" in t[pos:]:
        # Days named after the last time are closed days, except conditional or monthly ones
        # ("水曜が祝日の場合の翌日木曜", "毎月第2日曜"), which the weekly model cannot hold.
        tail = re.sub(r"[^,、]*(?:の場合|第\d)[^,、]*", "", t[pos:])
        for d in _days(tail):
            hours.pop(d, None)
    return {d: hours.get(d, []) for d in DAYS}
