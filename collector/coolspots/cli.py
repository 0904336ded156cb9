"""`machimori collector coolspots ...`: import lists, alerts and forecasts; the town's settings;
operators' tasks."""

from __future__ import annotations

import argparse
import sys
import time

from ..cli import add_db_argument


def register(sub: argparse._SubParsersAction) -> None:
    from machimori.cli import subgroup

    from .layout import ALERT_RULES, KINDS

    cs = subgroup(sub, "coolspots", "cool spots, shelters, heat alerts and operators' tasks",
                  "The cool-spot registry (指定暑熱避難施設, 暑熱避難協力施設, cool spots), the "
                  "Ministry of the Environment's alerts and WBGT forecasts, and tasks.")
    imp = cs.add_parser("import", help="import a municipal list of shelters / cool spots (CSV)",
                        description="Read a list as published (UTF-8 with or without BOM, or "
                        "Shift_JIS; per-weekday opening columns such as 水曜開放開始時刻, or "
                        "free-text hours). A bad row fails the import with its line number and "
                        "nothing is stored; importing again updates, never duplicates.")
    add_db_argument(imp)
    imp.add_argument("file", help="the CSV file")
    imp.add_argument("--kind", choices=KINDS, default="shelter",
                     help="kind for rows whose category does not say (default shelter)")
    imp.add_argument("--source", default=None,
                     help="key for the list's IDs (default: each row's municipality code)")
    imp.add_argument("--alert-rule", choices=ALERT_RULES, default="hours",
                     help="hours: open by its hours; alert_open: also open all day under a "
                     "特別警戒アラート; alert_only: open (by its hours) only under one")
    imp.add_argument("--wbgt-threshold", type=float, default=None,
                     help="WBGT °C at which operators get a task for these spots "
                     "(default: the town's --task-wbgt)")
    imp.set_defaults(func=_cmd_import)

    al = cs.add_parser("alerts", help="import a 熱中症(特別)警戒アラート CSV (file or URL)",
                       description="Import the Ministry of the Environment's alert file "
                       "(alert_YYYYMMDD_HH.csv): flags per forecast area for today and tomorrow.")
    add_db_argument(al)
    _file_or_url(al)
    al.add_argument("--allow-test", action="store_true",
                    help="accept drill/test files (Status 訓練 / 試験)")
    al.set_defaults(func=_cmd_alerts)

    fc = cs.add_parser("forecast", help="import a WBGT forecast CSV (file or URL)",
                       description="Import the Ministry of the Environment's WBGT forecast "
                       "(yohou_*.csv): 3-hourly WBGT per observation point.")
    add_db_argument(fc)
    _file_or_url(fc)
    fc.set_defaults(func=_cmd_forecast)

    tw = cs.add_parser("town", help="set the town's prefecture, forecast area and point",
                       description="Where the town is, for the alerts and forecasts.")
    add_db_argument(tw)
    tw.add_argument("--pref", required=True, help="prefecture code (JIS X 0401), e.g. 22")
    tw.add_argument("--area", default=None,
                    help="府県予報区等コード (6 digits) for 熱中症警戒アラート, e.g. 220000")
    tw.add_argument("--forecast-point", default=None,
                    help="地点番号 (5 digits) of the WBGT forecast point nearest the town")
    tw.add_argument("--task-wbgt", type=float, default=28.0,
                    help="WBGT °C near a spot that gives operators a task (default 28)")
    tw.set_defaults(func=_cmd_town)

    ck = cs.add_parser("check", help="create operators' tasks due now (run from cron)",
                       description="Compare live WBGT near each spot with its threshold and "
                       "the town's alert with each shelter's rule; add the tasks due.")
    add_db_argument(ck)
    ck.set_defaults(func=_cmd_check)

    ls = cs.add_parser("list", help="list the registry with open/closed now",
                       description="Print id, kind, open now, name.")
    add_db_argument(ls)
    ls.set_defaults(func=_cmd_list)


def _file_or_url(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("file", nargs="?", help="the CSV file")
    g.add_argument("--url", help="download from this URL instead (e.g. "
                   "https://www.wbgt.env.go.jp/alert/dl/2026/alert_20260825_05.csv)")


def _db(url: str):  # type: ignore[no-untyped-def]
    from ..store import connect, migrate

    db = connect(url)
    migrate(db)
    return db


def _read(args: argparse.Namespace) -> bytes:
    from .moe import fetch

    if args.url:
        return fetch(args.url)
    with open(args.file, "rb") as f:
        return f.read()


def _cmd_import(args: argparse.Namespace) -> int:
    from .layout import ListError, parse_list
    from .registry import import_spots

    try:
        with open(args.file, "rb") as f:
            data = f.read()
    except OSError as exc:
        print(f"coolspots import: {exc}", file=sys.stderr)
        return 2
    warnings: list[tuple[int, str]] = []
    try:
        spots = parse_list(data, args.kind, warnings)
    except ListError as exc:
        for line, msg in exc.problems:
            print(f"{args.file}:{line}: {msg}", file=sys.stderr)
        print(f"coolspots import: {len(exc.problems)} bad rows; nothing imported",
              file=sys.stderr)
        return 1
    for line, msg in warnings:
        print(f"{args.file}:{line}: warning: {msg}", file=sys.stderr)
    db = _db(args.db)
    try:
        res = import_spots(db, spots, args.source, args.alert_rule, args.wbgt_threshold)
    except ValueError as exc:
        print(f"coolspots import: {exc}; nothing imported", file=sys.stderr)
        return 1
    finally:
        db.close()
    unplaced = sum(1 for s in spots if s.lat is None)
    print(f"{len(spots)} spots: {res.added} added, {res.updated} updated"
          + (f"; {unplaced} without coordinates (not on maps or routes)" if unplaced else ""))
    return 0


def _cmd_alerts(args: argparse.Namespace) -> int:
    from .moe import AlertFileError, parse_alerts, store_alerts
    from .tasks import check

    try:
        f = parse_alerts(_read(args), args.allow_test)
    except (OSError, AlertFileError) as exc:
        print(f"coolspots alerts: {exc}; nothing imported", file=sys.stderr)
        return 1
    db = _db(args.db)
    try:
        n = store_alerts(db, f)
        special = sorted({a.pref_name for a in f.areas if a.flag == 3})
        tasks = check(db)
    finally:
        db.close()
    print(f"report {f.report}: {n} area-days stored; 特別警戒アラート: "
          + (", ".join(special) if special else "none") + f"; {tasks} new tasks")
    return 0


def _cmd_forecast(args: argparse.Namespace) -> int:
    from .moe import AlertFileError, parse_forecast, store_forecast

    try:
        fcs = parse_forecast(_read(args))
    except (OSError, AlertFileError) as exc:
        print(f"coolspots forecast: {exc}; nothing imported", file=sys.stderr)
        return 1
    db = _db(args.db)
    try:
        n = store_forecast(db, fcs)
    finally:
        db.close()
    print(f"{len(fcs)} points, {n} forecast values stored")
    return 0


def _cmd_town(args: argparse.Namespace) -> int:
    import re

    from .tasks import Town, set_town

    checks = ((args.pref, r"\d{2}", "--pref: two digits, e.g. 22"),
              (args.area, r"\d{6}", "--area: six digits, e.g. 220000"),
              (args.forecast_point, r"\d{5}", "--forecast-point: five digits, e.g. 50331"))
    for value, pattern, msg in checks:
        if value is not None and not re.fullmatch(pattern, value):
            print(f"coolspots town: {msg}", file=sys.stderr)
            return 2
    db = _db(args.db)
    try:
        set_town(db, Town(args.pref, args.area, args.forecast_point, args.task_wbgt))
    finally:
        db.close()
    print(f"town: prefecture {args.pref}, area {args.area or '-'}, forecast point "
          f"{args.forecast_point or '-'}, tasks at WBGT {args.task_wbgt:g}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .tasks import check

    db = _db(args.db)
    try:
        n = check(db)
    finally:
        db.close()
    print(f"{n} new tasks")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .registry import list_spots, special_alert, spot_open
    from .tasks import town_settings

    db = _db(args.db)
    try:
        now = time.time()
        town = town_settings(db)
        level = special_alert(db, now, town.pref_code, town.area_code)["level"]
        for r in list_spots(db):
            state = "open" if spot_open(r, now, level) else "closed"
            print(f"{r['id']}\t{r['kind']}\t{state}\t{r['name']}")
    finally:
        db.close()
    return 0
