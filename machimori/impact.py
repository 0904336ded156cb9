"""Did a cool spot or a shop's mist change how many people pass? Difference in differences.

Counts per site and hour before and after a start date, at treated sites and at comparison
sites, are fitted with a Poisson model (pseudo-maximum likelihood, as for any count) with
fixed effects that take out what is not the treatment:

    E[count] = exp( a[site, day type, hour] + b[day] + g1·WBGT + g2·WBGT² + d·treated·after )

- a[site, day type, hour]: each site's own rhythm by hour on weekdays, Saturdays and Sundays
  (a shopping street on Saturday noon);
- b[day]: what every site shares that day (weather, a festival, school holidays);
- WBGT: hot hours keep people in, whatever the treatment;
- exp(d) − 1 is the relative change at treated sites after the start: 0.25 = +25 %.

The interval is cluster-robust by day: the hours of one day share their weather and their
events, so they are not 24 independent observations. With few days the interval is wide and
the reading says so. A placebo run (a fake start halfway through the before period) checks that
treated and comparison sites moved alike before anything happened.

Pure numpy; plain values in, plain values out (the CLI and the page are thin adapters).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

JST = timezone(timedelta(hours=9))  # Japanese towns: hours of the week and days in local time
MIN_DAYS = 7  # before and after: fewer and the weekly rhythm cannot be separated
MAX_CI_WIDTH = 1.0  # an interval wider than 100 percentage points supports no conclusion
MAX_ROWS = 2_000_000


class ImpactError(ValueError):
    """Input that cannot be used; the message says which line or option and why."""


@dataclass(frozen=True)
class Counts:
    t: np.ndarray  # Unix seconds
    site: np.ndarray  # str
    count: np.ndarray  # float >= 0
    wbgt: np.ndarray | None  # float, or None when the file has no wbgt column


def _time(text: str) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ImpactError(f"time {text[:40]!r} is neither ISO 8601 nor Unix seconds") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=JST)  # a municipal file without a zone means Japanese time
    return dt.timestamp()


def parse_start(text: str) -> float:
    return _time(text)


def read_counts(source: str | Path | io.TextIOBase) -> Counts:
    """`time,site,count[,wbgt]` (a header row; UTF-8 with or without BOM). A bad row stops the
    read with its line number: an estimate from a silently thinned file would mislead."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8-sig", newline="") as fh:
            return read_counts(fh)
    reader = csv.reader(source)
    header = [h.strip().lower() for h in next(reader, [])]
    for need in ("time", "site", "count"):
        if need not in header:
            raise ImpactError(f"line 1: the header needs a {need!r} column (time,site,count"
                              "[,wbgt])")
    it, isite, icount = header.index("time"), header.index("site"), header.index("count")
    iw = header.index("wbgt") if "wbgt" in header else None
    t: list[float] = []
    sites: list[str] = []
    counts: list[float] = []
    wbgt: list[float] = []
    for line, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise ImpactError(f"line {line}: {len(row)} fields, the header has {len(header)}")
        try:
            tt = _time(row[it])
        except ImpactError as exc:
            raise ImpactError(f"line {line}: {exc}") from None
        site = row[isite].strip()
        if not site or len(site) > 64:
            raise ImpactError(f"line {line}: site must be 1–64 characters")
        try:
            c = float(row[icount])
        except ValueError:
            raise ImpactError(f"line {line}: count {row[icount][:20]!r} is not a number") from None
        if not math.isfinite(c) or c < 0:
            raise ImpactError(f"line {line}: count must be a finite number ≥ 0")
        if iw is not None:
            cell = row[iw].strip()
            try:
                w = float(cell) if cell else math.nan
            except ValueError:
                raise ImpactError(f"line {line}: wbgt {cell[:20]!r} is not a number") from None
            if not (math.isnan(w) or -10 <= w <= 45):
                raise ImpactError(f"line {line}: wbgt {w:g} °C is outside −10…45")
            wbgt.append(w)
        t.append(tt)
        sites.append(site)
        counts.append(c)
        if len(t) > MAX_ROWS:
            raise ImpactError(f"more than {MAX_ROWS} rows")
    if not t:
        raise ImpactError("no rows")
    return Counts(np.array(t), np.array(sites, dtype=object), np.array(counts),
                  np.array(wbgt) if iw is not None else None)


@dataclass
class Impact:
    effect: float | None  # relative change, 0.25 = +25 %
    ci95: list[float] | None
    conclusion: str  # increase | decrease | no_clear_change | inconclusive | insufficient
    reading_ja: str
    reading_en: str
    treated: list[str]
    control: list[str]
    start: str
    n_obs: int = 0
    days_before: int = 0
    days_after: int = 0
    dropped_rows: int = 0  # rows of these sites without WBGT (when the file has a wbgt column)
    heat_adjusted: bool = False
    placebo: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)
    method: str = ("Poisson pseudo-likelihood, fixed effects site × day type × hour and day, "
                   "WBGT and WBGT² as covariates; 95 % interval cluster-robust by day")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _demean(v: np.ndarray, w: np.ndarray, groups: list[tuple[np.ndarray, int]],
            tol: float = 1e-10, max_sweeps: int = 500) -> np.ndarray:
    """Weighted residual of v on the fixed effects (alternating projections)."""
    r = v.copy()
    for _ in range(max_sweeps):
        moved = 0.0
        for g, n in groups:
            sw = np.bincount(g, weights=w, minlength=n)
            m = np.bincount(g, weights=w * r, minlength=n) / np.where(sw > 0, sw, 1.0)
            step = m[g]
            r -= step
            moved = max(moved, float(np.max(np.abs(step))))
        if moved < tol:
            break
    return r


@dataclass
class _Fit:
    beta: np.ndarray
    se: np.ndarray
    clusters: int


def _ppml(y: np.ndarray, x: np.ndarray, groups: list[tuple[np.ndarray, int]],
          cluster: np.ndarray, unnested: int) -> _Fit:
    """Poisson fit with fixed effects; `unnested`: fixed-effect parameters not nested within
    the clusters."""
    mu = (y + y.mean()) / 2.0
    eta = np.log(mu)
    beta = np.zeros(x.shape[1])
    dev_old = math.inf
    for _ in range(100):
        z = eta + (y - mu) / mu
        zt = _demean(z, mu, groups)
        xt = np.column_stack([_demean(x[:, j], mu, groups) for j in range(x.shape[1])])
        xtw = xt * mu[:, None]
        beta = np.linalg.solve(xtw.T @ xt, xtw.T @ zt)
        resid = zt - xt @ beta
        eta = z - resid
        mu = np.exp(np.clip(eta, -50, 50))
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = 2.0 * float(np.sum(np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)))
        if abs(dev - dev_old) <= 1e-9 * (1.0 + abs(dev)):
            break
        dev_old = dev
    # Clustered sandwich by day (CR1). The site×hour effects cut across days, so they use up
    # degrees of freedom the cluster correction has to count: (n−1)/(n−k).
    xt = np.column_stack([_demean(x[:, j], mu, groups) for j in range(x.shape[1])])
    bread = np.linalg.inv((xt * mu[:, None]).T @ xt)
    scores = xt * (y - mu)[:, None]
    cl, idx = np.unique(cluster, return_inverse=True)
    g = len(cl)
    sums = np.column_stack([np.bincount(idx, weights=scores[:, j], minlength=g)
                            for j in range(x.shape[1])])
    n, k = len(y), unnested + x.shape[1]
    v = bread @ (sums.T @ sums) @ bread * (g / max(g - 1, 1)) * ((n - 1) / max(n - k, 1))
    return _Fit(beta, np.sqrt(np.maximum(np.diag(v), 0.0)), g)


def _t95(df: int) -> float:
    """Student's t 97.5 % quantile (Cornish-Fisher expansion; exact enough for df >= 3)."""
    z = 1.959963984540054
    if df <= 0:
        return math.inf
    d = float(df)
    return (z + (z**3 + z) / (4 * d) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * d**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * d**3))


def _did(c: Counts, rows: np.ndarray, treated: set[str], start: float, heat: bool
         ) -> tuple[float, float, float, int]:
    """(effect, low, high, clusters) on the selected rows."""
    t, site, y = c.t[rows], c.site[rows], c.count[rows]
    local = t + 9 * 3600
    day = np.floor(local / 86400).astype(np.int64)
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
    daytype = np.where(weekday < 5, 0, weekday - 4)  # weekday, Saturday, Sunday
    how = daytype * 24 + np.floor((local % 86400) / 3600).astype(np.int64)
    _, site_i = np.unique(site, return_inverse=True)
    g1 = site_i * 72 + how
    _, g1 = np.unique(g1, return_inverse=True)
    _, g2 = np.unique(day, return_inverse=True)
    # Groups whose counts are all zero carry no information for a Poisson fit: drop them.
    keep = np.ones(len(y), dtype=bool)
    for g in (g1, g2):
        tot = np.bincount(g, weights=y)
        keep &= tot[g] > 0
    t, y, g1, g2, day = t[keep], y[keep], g1[keep], g2[keep], day[keep]
    site = site[keep]
    _, g1 = np.unique(g1, return_inverse=True)
    _, g2 = np.unique(g2, return_inverse=True)
    d = (np.isin(site, list(treated)) & (t >= start)).astype(float)
    cols = [d]
    if heat:
        w = c.wbgt[rows][keep]  # type: ignore[index]
        cols += [w - 25.0, (w - 25.0) ** 2]
    x = np.column_stack(cols)
    n1 = int(g1.max()) + 1
    fit = _ppml(y, x, [(g1, n1), (g2, int(g2.max()) + 1)], day, unnested=n1)
    q = _t95(fit.clusters - 1)
    b, se = float(fit.beta[0]), float(fit.se[0])
    return math.expm1(b), math.expm1(b - q * se), math.expm1(b + q * se), fit.clusters


def _pct(v: float) -> str:
    return f"{v * 100:+.0f}%"


def estimate(c: Counts, treated: list[str], control: list[str], start: float) -> Impact:
    """The treated sites' relative change after `start`, against the control sites."""
    start_text = datetime.fromtimestamp(start, JST).isoformat()
    out = Impact(None, None, "insufficient", "", "", list(treated), list(control), start_text)
    overlap = set(treated) & set(control)
    if not treated or not control:
        out.reasons.append("need at least one treated and one comparison site")
    if overlap:
        out.reasons.append(f"sites both treated and comparison: {', '.join(sorted(overlap))}")
    present = set(c.site.tolist())
    for s in [*treated, *control]:
        if s not in present:
            out.reasons.append(f"site {s!r} has no rows")
    rows = np.isin(c.site, [*treated, *control])
    heat = c.wbgt is not None
    if heat:
        assert c.wbgt is not None
        missing = rows & np.isnan(c.wbgt)
        out.dropped_rows = int(missing.sum())
        rows &= ~missing
    out.heat_adjusted = heat
    days = np.floor((c.t[rows] + 9 * 3600) / 86400)
    out.days_before = len(np.unique(days[c.t[rows] < start]))
    out.days_after = len(np.unique(days[c.t[rows] >= start]))
    out.n_obs = int(rows.sum())
    if out.days_before < MIN_DAYS or out.days_after < MIN_DAYS:
        out.reasons.append(f"need {MIN_DAYS} days before and after the start "
                           f"(have {out.days_before} and {out.days_after})")
    if out.reasons:
        return _read(out)
    eff, lo, hi, _ = _did(c, np.flatnonzero(rows), set(treated), start, heat)
    out.effect, out.ci95 = round(eff, 4), [round(lo, 4), round(hi, 4)]
    if not all(map(math.isfinite, (eff, lo, hi))):
        out.reasons.append("the model could not be fitted (too little variation)")
        out.effect = out.ci95 = None
        return _read(out)
    if out.days_before >= 2 * MIN_DAYS:
        pre = np.flatnonzero(rows & (c.t < start))
        tp = c.t[pre]
        fake = float(np.quantile(tp, 0.5))
        pe, plo, phi, _ = _did(c, pre, set(treated), fake, heat)
        out.placebo = {"start": datetime.fromtimestamp(fake, JST).isoformat(),
                       "effect": round(pe, 4), "ci95": [round(plo, 4), round(phi, 4)],
                       "differs": bool(plo > 0 or phi < 0)}
    if hi - lo > MAX_CI_WIDTH:
        out.conclusion = "inconclusive"
    elif lo > 0:
        out.conclusion = "increase"
    elif hi < 0:
        out.conclusion = "decrease"
    else:
        out.conclusion = "no_clear_change"
    return _read(out)


def _read(o: Impact) -> Impact:
    """Plain-language readings for residents and councils (the page shows the Japanese)."""
    adj_ja = "暑さ（暑さ指数）と曜日・時間帯の違い、日ごとの出来事を考慮しています。" if o.heat_adjusted \
        else "曜日・時間帯の違いと日ごとの出来事を考慮しています（暑さ指数のデータはありません）。"
    adj_en = ("Heat (WBGT), the weekly rhythm and day-to-day events are taken into account."
              if o.heat_adjusted else "The weekly rhythm and day-to-day events are taken into "
              "account (no WBGT in the data).")
    if o.conclusion == "insufficient":
        o.reading_ja = "データが足りないため、結論は出せません（" + "、".join(o.reasons) + "）。"
        o.reading_en = "Not enough data for a conclusion (" + "; ".join(o.reasons) + ")."
        return o
    assert o.effect is not None and o.ci95 is not None
    rng_ja = f"95%の確からしさで {_pct(o.ci95[0])}〜{_pct(o.ci95[1])}"
    rng_en = f"95% interval {_pct(o.ci95[0])} to {_pct(o.ci95[1])}"
    if o.conclusion == "increase":
        o.reading_ja = (f"始めた後、対象地点を通る人は比較地点に比べて約{o.effect * 100:.0f}%増えました"
                        f"（{rng_ja}）。{adj_ja}")
        o.reading_en = (f"After the start, treated sites saw about {_pct(o.effect)} more people "
                        f"than the comparison sites ({rng_en}). {adj_en}")
    elif o.conclusion == "decrease":
        o.reading_ja = (f"始めた後、対象地点を通る人は比較地点に比べて約{-o.effect * 100:.0f}%減りました"
                        f"（{rng_ja}）。{adj_ja}")
        o.reading_en = (f"After the start, treated sites saw about {_pct(o.effect)} fewer people "
                        f"than the comparison sites ({rng_en}). {adj_en}")
    elif o.conclusion == "no_clear_change":
        o.reading_ja = (f"対象地点と比較地点の差ははっきりしません（{rng_ja}）。効果がなかったとも、"
                        f"小さすぎてこの期間では測れなかったとも考えられます。{adj_ja}")
        o.reading_en = (f"No clear difference between treated and comparison sites ({rng_en}): "
                        f"either no effect, or one too small to measure over this period. {adj_en}")
    else:
        o.reading_ja = (f"推定値は{_pct(o.effect)}ですが、幅（{rng_ja}）が大きすぎて結論は出せません。"
                        "期間を延ばすか、比較地点を増やしてください。")
        o.reading_en = (f"The estimate is {_pct(o.effect)} but too uncertain ({rng_en}) to draw a "
                        "conclusion: use a longer period or more comparison sites.")
    if o.placebo and o.placebo["differs"]:
        o.reading_ja += "注意：始める前から対象地点と比較地点の動きが違っていたため、この結果は割り引いて見てください。"
        o.reading_en += (" Caution: treated and comparison sites already moved differently "
                         "before the start; read this result with care.")
    return o
