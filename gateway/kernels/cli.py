"""`machimori detect` and `machimori heat indices`: the kernels as batch tools over CSV files.

Bad rows never stop a run: each is reported on stderr with its row number and reason, skipped,
and the exit status is 1 when any row was bad (0 otherwise).
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import IO

HEAT_COLUMNS = """input columns (header row; names are case-sensitive, order is free):
  timestamp  ISO 8601 time; without an offset it is local time at --utc-offset
  ta         air temperature, °C                                  (required)
  rh         relative humidity, %                                 (required)
  wind       wind speed, m/s, measured at --wind-height metres    (required)
  solar      global solar radiation, W/m² (empty: 0)              (optional)
  pressure   air pressure, hPa (empty or missing: 1013.25)        (optional)
  tg         black-globe temperature, °C                          (optional)
  tnw        natural wet-bulb temperature, °C                     (optional)
output columns:
  timestamp,ta,rh,wind,solar,cos_zenith,wbgt_liljegren,wbgt_moe,wbgt_measured,wbgt_indoor,
  heat_index,tmrt,utci,level,level_ja
  tmrt (mean radiant temperature, ISO 7726 from tg, ta and the wind at 2 m, 150 mm globe) and
  utci (UTCI, 10 m wind) when tg is given and the inputs are in UTCI's valid range (else empty);
  wbgt_measured = 0.7·tnw + 0.2·tg + 0.1·ta and wbgt_indoor = 0.7·tnw + 0.3·tg when tg and tnw
  are given (else empty); heat_index is empty below 27 °C; level is the Ministry of the
  Environment band (0 ほぼ安全 … 4 危険) of the best WBGT available (measured, else Liljegren),
  with --hysteresis °C before a level drops."""


HEAT_GROUP = "Heat-stress tools for planners: indices, buildings, shade and cool routes."


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("detect", help="score a timestamp,value CSV for anomalies (NAB format)",
                       description="Run the streaming anomaly detector over a CSV of "
                       "timestamp,value rows and write timestamp,value,anomaly_score "
                       "(score in [0, 1]), the format of NAB's results files.")
    d.add_argument("--csv", required=True, help="input CSV with a timestamp,value header")
    d.add_argument("--out", help="output CSV (default: standard output)")
    d.add_argument("--detector", choices=("surprise", "ctx"), default="surprise",
                   help="surprise: the gateway's live detector (tail probabilities and an "
                   "HTM-style likelihood, the default); ctx: contextual novelty (docs/kernels.md)")
    d.set_defaults(func=run_detect)

    from machimori.cli import subgroup

    heat_sub = subgroup(sub, "heat", "heat-stress tools for planners", HEAT_GROUP)
    h = heat_sub.add_parser("indices", help="every heat index for a CSV of weather rows",
                            description="Compute WBGT (Liljegren, MOE estimate, measured, indoor), "
                            "heat index and the MOE level for each weather row.",
                            epilog=HEAT_COLUMNS,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    h.add_argument("--csv", required=True, help="input CSV (columns below)")
    h.add_argument("--out", help="output CSV (default: standard output)")
    h.add_argument("--lat", type=float, default=35.681, help="latitude, degrees (default Tokyo)")
    h.add_argument("--lon", type=float, default=139.767, help="longitude, degrees east")
    h.add_argument("--utc-offset", type=float, default=9.0,
                   help="hours east of UTC for timestamps without an offset (default 9, JST)")
    h.add_argument("--wind-height", type=float, choices=[2.0, 10.0], default=10.0,
                   help="height of the wind measurement, m: 10 (weather station) or 2")
    h.add_argument("--hysteresis", type=float, default=0.5,
                   help="°C below a level's bound before the level drops (default 0.5)")
    h.set_defaults(func=run_heat_indices)


def _parse_time(text: str, offset_h: float) -> datetime:
    t = datetime.fromisoformat(text.strip())
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone(timedelta(hours=offset_h)))
    return t


def _open_out(path: str | None) -> IO[str]:
    return open(path, "w", newline="") if path else sys.stdout


def run_detect(args: argparse.Namespace) -> int:
    import numpy as np

    from gateway.kernels.detectors import detect_file

    stamps: list[str] = []
    local: list[float] = []
    values: list[float] = []
    bad = 0
    try:
        fh = open(args.csv, newline="")  # noqa: SIM115 - closed by the `with fh` below
    except OSError as exc:
        print(f"detect: cannot read {args.csv}: {exc.strerror}", file=sys.stderr)
        return 2
    with fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [c.strip() for c in header[:2]] != ["timestamp", "value"]:
            print(f"detect: {args.csv}: first row must be the header timestamp,value",
                  file=sys.stderr)
            return 2
        for row_no, row in enumerate(reader, start=2):
            try:
                if len(row) < 2:
                    raise ValueError("expected timestamp,value")
                t = datetime.fromisoformat(row[0].strip())
                v = float(row[1])
            except ValueError as exc:
                print(f"detect: {args.csv} row {row_no}: skipped: {exc}", file=sys.stderr)
                bad += 1
                continue
            # the detector's daily profile wants local wall-clock time
            off = t.utcoffset() or timedelta(0)
            wall = t.replace(tzinfo=UTC) + off if t.tzinfo else t.replace(
                tzinfo=UTC)
            stamps.append(row[0].strip())
            local.append(wall.timestamp())
            values.append(v)
    scores = detect_file(args.detector, np.array(local), np.array(values))
    out = _open_out(args.out)
    try:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["timestamp", "value", "anomaly_score"])
        for s, v, a in zip(stamps, values, scores, strict=True):
            w.writerow([s, repr(v), f"{a:.6f}"])
    finally:
        if out is not sys.stdout:
            out.close()
    if bad:
        print(f"detect: {bad} bad row(s) skipped", file=sys.stderr)
    return 1 if bad else 0


def run_heat_indices(args: argparse.Namespace) -> int:
    from gateway.kernels.heat_batch import compute_indices, read_weather_csv, write_indices_csv

    try:
        rows, errors = read_weather_csv(args.csv, args.utc_offset)
    except (OSError, ValueError) as exc:
        print(f"heat indices: {exc}", file=sys.stderr)
        return 2
    for msg in errors:
        print(f"heat indices: {msg}", file=sys.stderr)
    table = compute_indices(rows, args.lat, args.lon, args.wind_height, args.hysteresis)
    out = _open_out(args.out)
    try:
        write_indices_csv(out, table)
    finally:
        if out is not sys.stdout:
            out.close()
    if errors:
        print(f"heat indices: {len(errors)} bad row(s) skipped", file=sys.stderr)
    return 1 if errors else 0
