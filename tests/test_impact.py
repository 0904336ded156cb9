"""The people-flow impact estimate: it finds a known effect in simulated counts, finds none when
there is none, says when the data cannot support a conclusion, refuses bad rows by line — from
the function, the command line and the planners' page."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from collector.app import create_app
from collector.store import Store
from collector.users import add_user
from machimori.impact import Counts, ImpactError, estimate, parse_start, read_counts
from sim.footfall import simulate

from .test_auth import PASSWORD, login


def counts(f) -> Counts:
    return read_counts(io.StringIO(f.csv()))


def test_a_known_effect_is_recovered_inside_the_interval() -> None:
    f = simulate(seed=7, effect=0.25)
    res = estimate(counts(f), f.treated, f.control, f.start)
    assert res.conclusion == "increase"
    assert res.ci95[0] < 0.25 < res.ci95[1]
    assert abs(res.effect - 0.25) < 0.08
    assert res.heat_adjusted and res.days_before == 21 and res.days_after == 21
    assert "増えました" in res.reading_ja
    assert res.placebo is not None and not res.placebo["differs"]


def test_no_effect_is_found_when_there_is_none() -> None:
    # Over 20 towns with no treatment, the 95 % interval holds 0 about 19 times in 20 and the
    # estimates centre on 0; a biased or over-confident estimator fails this.
    ests, covered = [], 0
    for seed in range(20):
        f = simulate(seed=100 + seed, effect=0.0)
        res = estimate(counts(f), f.treated, f.control, f.start)
        ests.append(res.effect)
        covered += res.ci95[0] <= 0.0 <= res.ci95[1]
    assert covered >= 17
    assert abs(float(np.mean(ests))) < 0.02


def test_a_decrease_is_found_as_a_decrease() -> None:
    f = simulate(seed=3, effect=-0.2)
    res = estimate(counts(f), f.treated, f.control, f.start)
    assert res.conclusion == "decrease" and abs(res.effect + 0.2) < 0.08
    assert "減りました" in res.reading_ja


def test_too_little_data_says_so_instead_of_guessing() -> None:
    f = simulate(seed=1, effect=0.5, days=10)  # 5 days before, 5 after
    res = estimate(counts(f), f.treated, f.control, f.start)
    assert res.conclusion == "insufficient" and res.effect is None
    assert "結論は出せません" in res.reading_ja and "7 days" in res.reasons[0]
    res = estimate(counts(simulate(seed=1)), ["T1"], ["T1", "C1"], f.start)
    assert res.conclusion == "insufficient" and "both" in " ".join(res.reasons)
    res = estimate(counts(simulate(seed=1)), ["T1"], ["nowhere"], f.start)
    assert "'nowhere' has no rows" in " ".join(res.reasons)


def test_a_noisy_short_period_is_inconclusive() -> None:
    # One treated and one comparison site for two weeks with a person or two an hour: an
    # estimate exists, but its interval is far too wide to act on, and the reading says so.
    f = simulate(seed=6, effect=0.3, days=14, treated=1, control=1, scale=0.01)
    res = estimate(counts(f), f.treated, f.control, f.start)
    assert res.conclusion == "inconclusive" and res.ci95[1] - res.ci95[0] > 1.0
    assert "結論は出せません" in res.reading_ja and "期間を延ばす" in res.reading_ja


@pytest.mark.parametrize("text, says", [
    ("when,site,count\n", "line 1"),
    ("time,site,count\n2026-06-01T10:00,A,12\nyesterday,A,3\n", "line 3"),
    ("time,site,count\n2026-06-01T10:00,A,-4\n", "line 2: count"),
    ("time,site,count\n2026-06-01T10:00,A,nan\n", "line 2: count"),
    ("time,site,count,wbgt\n2026-06-01T10:00,A,4,99\n", "line 2: wbgt"),
    ("time,site,count\n2026-06-01T10:00,,4\n", "line 2: site"),
    ("time,site,count\n", "no rows"),
])
def test_bad_rows_are_refused_with_their_line(text: str, says: str) -> None:
    with pytest.raises(ImpactError, match=says):
        read_counts(io.StringIO(text))


def test_the_command_prints_json(tmp_path: Path) -> None:
    f = simulate(seed=11, effect=0.25)
    path = tmp_path / "counts.csv"
    path.write_text("\ufeff" + f.csv(), encoding="utf-8")  # with a BOM, as spreadsheets save
    start = "2026-06-19T00:00:00+09:00"
    assert abs(parse_start(start) - f.start) < 1
    r = subprocess.run([sys.executable, "-m", "machimori.cli", "heat", "impact", "--counts",
                        str(path), "--treated", ",".join(f.treated), "--control",
                        ",".join(f.control), "--start", start, "--json"],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ci95"][0] < 0.25 < out["ci95"][1] and out["conclusion"] == "increase"
    bad = tmp_path / "bad.csv"
    bad.write_text("time,site,count\n2026-06-01T10:00,A,x\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "machimori.cli", "heat", "impact", "--counts",
                        str(bad), "--treated", "A", "--control", "B", "--start", start],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2 and "line 2" in r.stderr


def test_planners_page_estimates_from_stored_people_counts(tmp_path: Path) -> None:
    f = simulate(seed=21, effect=0.3)
    url = str(tmp_path / "c.sqlite")
    st = Store(url)
    gw = {s: f"gw-{s.lower()}" for s in f.treated + f.control}
    stat = lambda v: {"mean": v, "min": v, "max": v, "last": v}
    st.db.executemany(
        'INSERT INTO summaries_hourly (device, hour, kind, gw, windows, n, "values", last_end) '
        "VALUES (?,?,?,?,?,?,?,?)",
        [r for t, s, c, w in f.rows for r in (
            (gw[s], t, "people", gw[s], 60, 60,
             orjson.dumps({"unique_devices": stat(float(c))}).decode(), t + 3600),
            (f"heat-{s}", t, "heat", gw[s], 60, 360,
             orjson.dumps({"wbgt_c": stat(w)}).decode(), t + 3600))])
    add_user(st.db, "planner-user", PASSWORD, "planner")
    add_user(st.db, "viewer-user", PASSWORD, "viewer")
    st.close()
    app = create_app({"DATABASE": url, "TESTING": True})
    c = app.test_client()
    login(c, "planner")
    q = ("treated=" + "&treated=".join(gw[s] for s in f.treated) + "&control="
         + ",".join(gw[s] for s in f.control) + f"&start=2026-06-19&until={f.start + 30 * 86400}"
         + f"&since={f.start - 30 * 86400}")
    page = c.get("/heat/impact?" + q)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "増えました" in text and "impact-increase" in text
    api = c.get("/api/v1/impact?" + q).get_json()
    assert api["ci95"][0] < 0.3 < api["ci95"][1] and api["heat_adjusted"]
    import jsonschema

    doc = c.get("/api/v1/openapi.json").get_json()
    schema = doc["paths"]["/api/v1/impact"]["get"]["responses"]["200"]["content"]
    v = jsonschema.Draft202012Validator(schema["application/json"]["schema"])
    assert list(v.iter_errors(api)) == []
    assert len(api["series"]) == 42 and api["start_day"] == "2026-06-19"
    # Hostile parameters: a clear 400, nothing echoed as markup.
    r = c.get("/api/v1/impact?treated=<script>&control=gw-c1&start=2026-06-19")
    assert r.status_code == 400 and r.get_json()["error"] == "bad_parameter"
    r = c.get("/heat/impact?treated=gw-t1&control=gw-c1&start=never")
    assert r.status_code == 400 and "<script" not in r.get_data(as_text=True)
    v = app.test_client()
    login(v, "viewer")
    assert v.get("/api/v1/impact?" + q).status_code == 403
