"""Every heat index for a table of weather rows: the planner's batch tool behind
`machimori heat indices` (parsing and writing here, the math in the kernels)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import IO

import numpy as np

from gateway.kernels.heat import (
    LEVEL_BOUNDS,
    LEVEL_NAMES_JA,
    heat_index,
    wbgt_indoor,
    wbgt_levels,
    wbgt_moe,
    wbgt_outdoor,
)
from gateway.kernels.liljegren import direct_fraction_erbs, wbgt_liljegren, wind_10m_to_2m
from gateway.kernels.sun import cos_zenith
from gateway.kernels.utci import utci

GLOBE_DIAMETER_M = 0.15  # the standard 150 mm black globe
GLOBE_EMISSIVITY = 0.95
# UTCI wants 10 m wind; 2 m readings are scaled by the log wind profile over z0 = 0.1 m (suburbs).
WIND_2M_TO_10M = float(np.log(10 / 0.1) / np.log(2 / 0.1))


def mean_radiant_temperature(tg: np.ndarray, ta: np.ndarray, va: np.ndarray) -> np.ndarray:
    """ISO 7726 forced convection: Tmrt from globe and air temperature and wind at the globe.

    Tmrt = ((Tg + 273.15)^4 + 1.1e8 · va^0.6 / (ε · D^0.4) · (Tg − Ta))^(1/4) − 273.15
    """
    k = 1.1e8 * np.power(np.maximum(va, 0.0), 0.6) / (GLOBE_EMISSIVITY * GLOBE_DIAMETER_M ** 0.4)
    inner = np.power(tg + 273.15, 4) + k * (tg - ta)
    return np.power(np.maximum(inner, 0.0), 0.25) - 273.15

REQUIRED = ("timestamp", "ta", "rh", "wind")
OPTIONAL = ("solar", "pressure", "tg", "tnw")
# physical ranges; a value outside is a typo or a unit mix-up, not weather
RANGES = {"ta": (-50.0, 60.0), "rh": (0.0, 100.0), "wind": (0.0, 60.0), "solar": (0.0, 1400.0),
          "pressure": (500.0, 1100.0), "tg": (-50.0, 100.0), "tnw": (-50.0, 60.0)}


@dataclass(frozen=True)
class WeatherRows:
    stamps: list[str]
    t_utc: np.ndarray
    cols: dict[str, np.ndarray]  # NaN where an optional value is missing


def read_weather_csv(path: str, utc_offset_h: float) -> tuple[WeatherRows, list[str]]:
    """Parse the planner's CSV → (rows, messages about skipped rows)."""
    from gateway.kernels.cli import _parse_time

    errors: list[str] = []
    stamps: list[str] = []
    times: list[float] = []
    data: dict[str, list[float]] = {k: [] for k in REQUIRED[1:] + OPTIONAL}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} "
                             f"(see `machimori heat indices --help`)")
        for row_no, row in enumerate(reader, start=2):
            try:
                t = _parse_time(row["timestamp"] or "", utc_offset_h)
                vals = {}
                for k in REQUIRED[1:] + OPTIONAL:
                    text = (row.get(k) or "").strip()
                    if not text:
                        if k in REQUIRED:
                            raise ValueError(f"{k} is empty")
                        vals[k] = {"solar": 0.0, "pressure": 1013.25}.get(k, np.nan)
                        continue
                    try:
                        v = float(text)
                    except ValueError:
                        raise ValueError(f"{k}={text!r} is not a number") from None
                    lo, hi = RANGES[k]
                    if not lo <= v <= hi:
                        raise ValueError(f"{k}={v} outside {lo}…{hi}")
                    vals[k] = v
            except ValueError as exc:
                errors.append(f"{path} row {row_no}: skipped: {exc}")
                continue
            stamps.append(row["timestamp"].strip())
            times.append(t.timestamp())
            for k, v in vals.items():
                data[k].append(v)
    cols = {k: np.array(v, dtype=np.float64) for k, v in data.items()}
    return WeatherRows(stamps, np.array(times, dtype=np.float64), cols), errors


def compute_indices(rows: WeatherRows, lat: float, lon: float, wind_height: float,
                    hysteresis: float) -> dict[str, np.ndarray | list[str]]:
    c = rows.cols
    cosz = cos_zenith(rows.t_utc, lat, lon)
    solar = np.where(cosz > 0.0, c["solar"], 0.0)
    wind2 = wind_10m_to_2m(c["wind"], cosz, solar) if wind_height == 10.0 else c["wind"]
    fdir = direct_fraction_erbs(solar, cosz)
    lil = wbgt_liljegren(c["ta"], c["rh"], c["pressure"], wind2, solar, fdir, cosz)
    # the MOE formula was fitted to 10 m-ish station wind and SR in kW/m²
    moe = wbgt_moe(c["ta"], c["rh"], solar / 1000.0, c["wind"])
    measured = wbgt_outdoor(c["tnw"], c["tg"], c["ta"])
    indoor = wbgt_indoor(c["tnw"], c["tg"])
    best = np.where(np.isfinite(measured), measured, lil)
    # UTCI needs the mean radiant temperature: from the globe (ISO 7726) with wind at the
    # globe's height (~2 m); rows without a globe temperature get none.
    va10 = c["wind"] if wind_height == 10.0 else c["wind"] * WIND_2M_TO_10M
    tmrt = mean_radiant_temperature(c["tg"], c["ta"], wind2)
    ut = utci(c["ta"], tmrt, va10, c["rh"])
    levels = np.empty(best.shape[0], dtype=np.int64)
    prev = np.array([-1], dtype=np.int64)
    for i in range(best.shape[0]):  # rows are one place's time series: the level carries over
        levels[i] = wbgt_levels(best[i:i + 1], LEVEL_BOUNDS, prev, hysteresis)[0]
        prev[0] = levels[i]
    return {"timestamp": rows.stamps, "ta": c["ta"], "rh": c["rh"], "wind": c["wind"],
            "solar": c["solar"], "cos_zenith": cosz, "wbgt_liljegren": lil, "wbgt_moe": moe,
            "wbgt_measured": measured, "wbgt_indoor": indoor, "heat_index": heat_index(c["ta"],
                                                                                       c["rh"]),
            "tmrt": tmrt, "utci": ut, "level": levels, "level_ja": [LEVEL_NAMES_JA[k] for k in levels]}


def write_indices_csv(out: IO[str], table: dict[str, np.ndarray | list[str]]) -> None:
    names = list(table)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(names)
    for i in range(len(table["timestamp"])):
        row = []
        for k in names:
            v = table[k][i]
            if isinstance(v, str):
                row.append(v)
            elif isinstance(v, (int, np.integer)):
                row.append(str(int(v)))
            else:
                row.append("" if not np.isfinite(v) else f"{float(v):.2f}")
        w.writerow(row)
