"""The Ministry of the Environment's 熱中症予防情報サイト files (令和7年度 manual, section 3/4):

- alerts `alert_YYYYMMDD_HH.csv`: metadata lines (Title, ReportDate, TargetDate1/2, Status, …),
  then one row per 府県予報区 with TargetDate1/TargetDate2 flags — 0 none, 1 熱中症警戒アラート,
  2 特別警戒アラート judged (not issued), 3 特別警戒アラート issued, 9 outside the issuing hours
  (no information: never stored over what is known);
- WBGT forecasts `yohou_*.csv`: a first row of target times YYYYMMDDHH (JST; hour 24 = next
  day's 0:00), then per point: 地点番号, update time, WBGT × 10 per target (blank: none).

Pure parsers (bytes in, records out, AlertFileError with the line number) and their stores.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..db import Database
from .hours import JST

FLAGS = {0: "none", 1: "warning", 2: "special_judged", 3: "special", 9: "outside_hours"}
REAL_STATUS = "通常"  # 訓練 (drill) and 試験 (test) files are refused unless asked for


class AlertFileError(ValueError):
    pass


@dataclass(frozen=True)
class AreaAlert:
    area_code: str
    area_name: str
    pref_code: str
    pref_name: str
    target_date: str  # YYYY-MM-DD
    flag: int
    max_wbgt: dict[str, int]


@dataclass(frozen=True)
class AlertFile:
    report: str  # "YYYY-MM-DD HH:MM:SS" JST
    status: str
    areas: tuple[AreaAlert, ...]


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp932")
        except UnicodeDecodeError:
            raise AlertFileError("not UTF-8 or Shift_JIS text") from None


def _date(v: str, line: int) -> str:
    try:
        return datetime.strptime(v.strip(), "%Y/%m/%d").strftime("%Y-%m-%d")
    except ValueError:
        raise AlertFileError(f"line {line}: {v!r} is not a date YYYY/MM/DD") from None


def _max_wbgt(cell: str, line: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in cell.split("/"))):
        name, sep, val = part.rpartition(":")
        if not sep or not re.fullmatch(r"-?\d{1,2}", val.strip()):
            raise AlertFileError(f"line {line}: {part!r} is not 地点名:値")
        out[name.strip()[:40]] = int(val)
    return out


def parse_alerts(data: bytes, allow_test: bool = False) -> AlertFile:
    rows = list(csv.reader(io.StringIO(_text(data), newline="")))
    meta: dict[str, str] = {}
    header_at = None
    for i, row in enumerate(rows):
        if row and row[0].strip() == "府県予報区":
            header_at = i
            break
        if row and row[0].strip():
            meta[row[0].strip()] = row[1].strip() if len(row) > 1 else ""
    if header_at is None or "TargetDate1" not in meta or "ReportDate" not in meta:
        raise AlertFileError("not a 熱中症警戒アラート file (no metadata or no 府県予報区 header)")
    status = meta.get("Status", REAL_STATUS)
    if status != REAL_STATUS and not allow_test:
        raise AlertFileError(f"Status is {status!r} (a drill or test file), not 通常")
    targets = (_date(meta["TargetDate1"], 0),
               _date(meta["TargetDate2"], 0) if meta.get("TargetDate2") else None)
    report = f"{_date(meta['ReportDate'], 0)} {meta.get('ReportTime', '00:00:00')}"
    areas = []
    for i, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) < 8:
            raise AlertFileError(f"line {i}: {len(row)} columns, expected 11")
        name, code, pname, pcode = row[0].strip(), row[3].strip(), row[4].strip(), row[5].strip()
        if not re.fullmatch(r"\d{6}", code) or not re.fullmatch(r"\d{2}", pcode):
            raise AlertFileError(f"line {i}: area code {code!r} / prefecture code {pcode!r}")
        for k, target in enumerate(targets):
            flag_text = row[6 + k].strip()
            if not re.fullmatch(r"[01239]", flag_text):
                raise AlertFileError(f"line {i}: flag {flag_text!r} is not 0, 1, 2, 3 or 9")
            flag = int(flag_text)
            if target is None or flag == 9:
                continue
            # Column 9/10 (10:00, 17:00 runs) judge TargetDate2, column 11 (5:00) TargetDate1.
            cells = [row[10]] if k == 0 and len(row) > 10 else row[8:10] if k == 1 else []
            wbgt: dict[str, int] = {}
            for c in cells:
                for p, v in _max_wbgt(c, i).items():
                    wbgt[p] = max(v, wbgt.get(p, v))
            areas.append(AreaAlert(code, name[:40], pcode, pname[:20], target, flag, wbgt))
    return AlertFile(report, status, tuple(areas))


def store_alerts(db: Database, f: AlertFile, now: float | None = None) -> int:
    """Upsert per (area, day); a row from an older report never overwrites a newer one."""
    now = time.time() if now is None else now
    db.begin()
    try:
        n = 0
        for a in f.areas:
            cur = db.execute("SELECT report FROM heat_alerts WHERE area_code = ? AND "
                             "target_date = ?", (a.area_code, a.target_date)).fetchone()
            if cur is not None and cur[0] > f.report:
                continue
            db.execute(
                "INSERT INTO heat_alerts (area_code, target_date, area_name, pref_code, "
                "pref_name, flag, max_wbgt, report, imported_at) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (area_code, target_date) DO UPDATE SET flag = excluded.flag, "
                "max_wbgt = excluded.max_wbgt, report = excluded.report, "
                "area_name = excluded.area_name, imported_at = excluded.imported_at",
                (a.area_code, a.target_date, a.area_name, a.pref_code, a.pref_name, a.flag,
                 json.dumps(a.max_wbgt, ensure_ascii=False), f.report, now))
            n += 1
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return n


@dataclass(frozen=True)
class Forecast:
    point: str
    issued: str
    values: tuple[tuple[float, float], ...]  # (unix target time, WBGT °C)


def _target_time(text: str, line: int) -> float:
    t = text.strip()
    if not re.fullmatch(r"\d{10}", t):
        raise AlertFileError(f"line {line}: target time {text!r} is not YYYYMMDDHH")
    day = datetime.strptime(t[:8], "%Y%m%d").replace(tzinfo=JST)
    hour = int(t[8:])
    if hour > 24:
        raise AlertFileError(f"line {line}: hour {hour} in {text!r}")
    return (day + timedelta(hours=hour)).timestamp()


def parse_forecast(data: bytes) -> list[Forecast]:
    rows = list(csv.reader(io.StringIO(_text(data), newline="")))
    if not rows:
        raise AlertFileError("the file is empty")
    # First row: two blank (or renamed) cells, then the target times.
    targets = [_target_time(c, 1) for c in rows[0][2:] if c.strip()]
    if not targets:
        raise AlertFileError("line 1: no target times (YYYYMMDDHH)")
    out = []
    for i, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        point = row[0].strip()
        if not re.fullmatch(r"\d{5}", point):
            raise AlertFileError(f"line {i}: point {point!r} is not a 5-digit 地点番号")
        vals = []
        for t, cell in zip(targets, row[2:], strict=False):
            c = cell.strip()
            if not c:
                continue
            if not re.fullmatch(r"-?\d{1,3}", c):
                raise AlertFileError(f"line {i}: WBGT×10 {cell!r} is not a whole number")
            vals.append((t, int(c) / 10.0))
        out.append(Forecast(point, row[1].strip()[:20] if len(row) > 1 else "", tuple(vals)))
    return out


def store_forecast(db: Database, forecasts: list[Forecast], now: float | None = None) -> int:
    now = time.time() if now is None else now
    rows = [(f.point, t, v, f.issued, now) for f in forecasts for t, v in f.values]
    db.begin()
    try:
        db.executemany(
            "INSERT INTO wbgt_forecasts (point, target, wbgt, issued, imported_at) "
            "VALUES (?,?,?,?,?) ON CONFLICT (point, target) DO UPDATE SET wbgt = excluded.wbgt, "
            "issued = excluded.issued, imported_at = excluded.imported_at", rows)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return len(rows)


def forecast_at(db: Database, point: str | None, at: float) -> float | None:
    """The forecast WBGT for a point at the 3-hourly target nearest `at` (within 3 h)."""
    if not point:
        return None
    r = db.execute("SELECT wbgt, target FROM wbgt_forecasts WHERE point = ? AND target >= ? "
                   "AND target <= ? ORDER BY abs(target - ?) LIMIT 1",
                   (point, at - 3 * 3600, at + 3 * 3600, at)).fetchone()
    return None if r is None else float(r[0])


def fetch(url: str, timeout: float = 30.0) -> bytes:
    """The file at a URL (http/https only), at most 10 MB."""
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise AlertFileError(f"{url}: only http:// and https:// URLs")
    req = urllib.request.Request(url, headers={"User-Agent": "machimori"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        data = r.read(10_000_001)
    if len(data) > 10_000_000:
        raise AlertFileError(f"{url}: larger than 10 MB")
    return bytes(data)


