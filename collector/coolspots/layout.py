"""Municipal lists of cooling shelters as published → validated spot records.

One table (FIELDS) maps each field to the header names lists use for it; headers are compared
after NFKC and without surrounding blanks (full-width spaces included), so names that drift
between versions still match. Per-weekday opening columns (水曜開放開始時刻 …) are found by
pattern. Bytes are read as UTF-8 (with or without BOM), else Shift_JIS (CP932). Every row is
checked before anything is stored: one bad row fails the import with its line number.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from .hours import DAY_KANJI, DAYS, Hours, add_interval, hours_from_text, interval, norm

KINDS = ("shelter", "partner", "coolspot")  # 指定暑熱避難施設, 暑熱避難協力施設, cool spot
ALERT_RULES = ("hours", "alert_open", "alert_only")
FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("ID", "No.", "No", "NO", "番号", "施設ID", "id"),
    "name": ("指定暑熱避難施設の名称", "名称", "施設名", "施設名称", "name"),
    "address": ("所在地", "住所", "所在地_連結表記", "address"),
    "lat": ("緯度", "lat", "latitude"),
    "lon": ("経度", "lon", "longitude"),
    "capacity": ("指定暑熱避難施設の開放により受け入れることが可能であると見込まれる人数",
                 "受入可能人数", "受け入れ可能人数", "収容人数", "capacity"),
    "note": ("指定暑熱避難施設を開放することができる日及び時間帯特記事項", "特記事項", "備考"),
    "url": ("URL", "ウェブサイト", "url"),
    "phone": ("電話番号", "連絡先", "phone"),
    "city_code": ("市区町村コード", "全国地方公共団体コード", "city_code"),
    "hours_text": ("開放日時", "開放日", "開放時間", "開館時間", "営業時間"),
    "amenities": ("設備", "アメニティ", "amenities"),
    "category": ("市管理区分", "施設区分", "区分", "type", "kind"),
}
_WEEKDAY_COL = re.compile(r"^([月火水木金土日])曜日?(?:開放|開館|営業)?(開始|終了)(?:時刻|時間)$")
NA = frozenset({"", "na", "n/a", "-", "なし", "null"})
MAX_TEXT = 300


class ListError(ValueError):
    """An import refused: each problem with its line number."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        super().__init__("; ".join(f"line {n}: {m}" for n, m in problems[:20]))


@dataclass(frozen=True)
class Spot:
    source_id: str
    name: str
    kind: str
    address: str | None
    lat: float | None
    lon: float | None
    capacity: int | None
    amenities: tuple[str, ...]
    hours: Hours
    hours_known: bool
    note: str | None
    url: str | None
    phone: str | None
    city_code: str | None
    category: str | None = None
    line: int = 0
    section: str = ""  # set when a list numbers its sections anew (公共施設 1…, 民間施設 1…)
    extra: dict[str, Any] = field(default_factory=dict)


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        raise ListError([(0, "not UTF-8 or Shift_JIS text")]) from None


def _header_map(header: list[str]) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    names = [norm(h).lstrip("\ufeff").strip() for h in header]
    cols: dict[str, int] = {}
    for fname, options in FIELDS.items():
        for k, opt in enumerate(options):
            if opt in names:
                cols[fname] = names.index(opt)
                # Free-text hours may sit in any of several columns: keep them all, in order.
                if fname == "hours_text":
                    for j, more in enumerate(options[k + 1:]):
                        if more in names:
                            cols[f"hours_text{j + 1}"] = names.index(more)
                break
    week: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        if m := _WEEKDAY_COL.match(n):
            week.setdefault(DAY_KANJI[m.group(1)], [-1, -1])[0 if m.group(2) == "開始" else 1] = i
    pairs = {d: (a, b) for d, (a, b) in week.items()}
    return cols, pairs


def _kind(category: str, default: str) -> str:
    c = norm(category)
    if "協力" in c:
        return "partner"
    if "指定暑熱避難" in c:
        return "shelter"
    if "クール" in c or "涼み" in c:
        return "coolspot"
    return default


def _text(v: str | None) -> str | None:
    if v is None:
        return None
    t = norm(v)
    return None if t.lower() in NA else t[:MAX_TEXT]


def _coord(v: str | None, lo: float, hi: float, what: str) -> float | None:
    t = _text(v)
    if t is None:
        return None
    x = float(t)  # ValueError names the cell below
    if not math.isfinite(x) or not lo <= x <= hi:
        raise ValueError(f"{what} {t} is outside Japan ({lo}–{hi})")
    return x


def _capacity(v: str | None) -> int | None:
    t = _text(v)
    if t is None:
        return None
    if m := re.fullmatch(r"約?\s*([\d,]+)\s*[人名]?\s*(?:程度|以上|まで|位)?", t):
        return int(m.group(1).replace(",", ""))
    parts = re.findall(r"([\d,]+)\s*[人名]", t)  # "10人 (ロビー), 20人 (プレイルーム)": rooms
    if parts:
        return sum(int(p.replace(",", "")) for p in parts)
    raise ValueError(f"capacity {v!r} is not a number of people")


def parse_list(data: bytes, kind: str = "shelter",
               warnings: list[tuple[int, str]] | None = None) -> list[Spot]:
    """Every row of a list as a Spot; ListError with line numbers if any row is bad. Doubtful
    cells that can be read safely (opening = closing: taken as closed) go to `warnings`."""
    warnings = [] if warnings is None else warnings
    if kind not in KINDS:
        raise ListError([(0, f"kind must be one of {', '.join(KINDS)}")])
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ListError([(1, "the file is empty")]) from None
    cols, week = _header_map(header)
    missing = [f for f in ("id", "name") if f not in cols]
    if missing:
        raise ListError([(1, "no column for " + ", ".join(missing) + " (header: "
                          + ", ".join(norm(h) for h in header[:12]) + ")")])
    spots: list[Spot] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str | None, str | None, str], int] = {}
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(c.strip() for c in row):
            continue
        try:
            spot = _row(row, cols, week, kind, start, warnings)
        except (ValueError, IndexError) as exc:
            problems.append((start, str(exc)))
            continue
        # Lists of several towns number each town anew, some each section of a town too.
        key = (spot.city_code, spot.category, spot.source_id)
        if key in seen:
            problems.append((start, f"ID {spot.source_id} repeats line {seen[key]}"))
            continue
        seen[key] = start
        spots.append(spot)
    if problems:
        raise ListError(problems)
    ids = Counter((sp.city_code, sp.source_id) for sp in spots)
    return [replace(sp, section=sp.category or "") if ids[(sp.city_code, sp.source_id)] > 1
            else sp for sp in spots]


def _row(row: list[str], cols: dict[str, int], week: dict[str, tuple[int, int]], kind: str,
         line: int, warnings: list[tuple[int, str]]) -> Spot:
    def cell(f: str) -> str | None:
        i = cols.get(f)
        return row[i] if i is not None and i < len(row) else None

    sid = _text(cell("id"))
    name = _text(cell("name"))
    if not sid or not re.fullmatch(r"[0-9A-Za-z_.\-]{1,40}", sid):
        raise ValueError(f"ID {cell('id')!r} is missing or not 1–40 letters/digits")
    if not name:
        raise ValueError("the name is empty")
    try:
        lat = _coord(cell("lat"), 20.0, 46.0, "latitude")
        lon = _coord(cell("lon"), 122.0, 154.0, "longitude")
    except ValueError as exc:
        raise ValueError(f"coordinates: {exc}") from None
    if (lat is None) != (lon is None):
        raise ValueError("give both latitude and longitude, or neither")
    hours: Hours = {d: [] for d in DAYS}
    known = False
    if week:
        known = True
        for d, (a, b) in week.items():
            if a < 0 or b < 0:
                raise ValueError(f"{d}: an opening column without its closing column")
            try:
                iv = interval(row[a] if a < len(row) else "", row[b] if b < len(row) else "")
            except ValueError as exc:
                if "both" in str(exc) and "give" not in str(exc):
                    warnings.append((line, f"{d}: {exc}; taken as closed that day"))
                    continue
                raise ValueError(f"{d}: {exc}") from None
            if iv:
                add_interval(hours, d, iv)
    else:
        for f in sorted(k for k in cols if k.startswith("hours_text")):
            if (ht := _text(cell(f))) is not None:
                parsed = hours_from_text(ht)
                if parsed is not None:
                    hours, known = parsed, True
                    break
    amen = tuple(a for a in (norm(x) for x in re.split(r"[、,/・;]", cell("amenities") or ""))
                 if a and a.lower() not in NA)[:20]
    city = _text(cell("city_code"))
    return Spot(sid, name, _kind(cell("category") or "", kind), _text(cell("address")), lat, lon,
                _capacity(cell("capacity")), amen, hours, known,
                _text(cell("note")) or next((t for f in sorted(cols) if f.startswith("hours_text")
                                             if (t := _text(cell(f)))), None),
                _text(cell("url")),
                _text(cell("phone")), city, _text(cell("category")), line)
