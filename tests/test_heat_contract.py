"""The heat vocabulary is defined once (machimori/contract/wbgt.py) and the collector stands on
the contract alone; pages carry a CSP without inline scripts or styles; place names are limited."""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from collector.app import create_app
from collector.store import Store
from machimori.contract import wbgt
from machimori.contract.mqtt import ContractError, decode_message
from machimori.contract.places import place_name_problem

from .test_collector import summary

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(tmp_path: Path):
    db = tmp_path / "c.sqlite"
    st = Store(db)
    st.ingest([summary(1, device="heat-001", wbgt=24.0, level=1),
               summary(2, device="heat-002", wbgt=31.5, level=4)])
    st.close()
    return create_app({"DATABASE": str(db), "TESTING": True})


# ---- one vocabulary

@pytest.mark.parametrize("value, code", [(-5.0, 0), (20.99, 0), (21.0, 1), (24.9, 1), (25.0, 2),
                                         (28.0, 3), (30.99, 3), (31.0, 4), (40.0, 4)])
def test_level_bounds_are_the_ministrys(value: float, code: int) -> None:
    assert wbgt.level_of(value) == code
    assert wbgt.LEVELS[code].ja == ("ほぼ安全", "注意", "警戒", "厳重警戒", "危険")[code]


def test_the_kernel_and_the_contract_give_the_same_level() -> None:
    from gateway.kernels.heat import LEVEL_BOUNDS, LEVEL_NAMES_JA, wbgt_levels

    values = np.arange(15.0, 36.0, 0.05)
    got = wbgt_levels(values, LEVEL_BOUNDS, np.full(values.size, -1, dtype=np.int64), 0.5)
    assert list(got) == [wbgt.level_of(v) for v in values]
    assert LEVEL_NAMES_JA == wbgt.NAMES_JA


def test_level_text_is_readable_on_its_colour() -> None:
    for lv in wbgt.LEVELS:
        assert wbgt.contrast(lv.text, lv.colour) >= 4.5, lv


def test_levels_endpoint_and_css_come_from_the_contract(app) -> None:
    c = app.test_client()
    voc = c.get("/api/v1/heat/levels").get_json()
    assert voc["bounds"] == [21.0, 25.0, 28.0, 31.0]
    assert [lv["colour"] for lv in voc["levels"]] == list(wbgt.COLOURS)
    assert voc["levels"][4]["ja"] == "危険" and voc["levels"][4]["range"] == "≥ 31"
    css = c.get("/heat/levels.css").get_data(as_text=True)
    assert ".lv-3 { background: #ff9600; color: #000000; }" in css


def test_openapi_level_names_are_the_contracts(app) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    level = doc["components"]["schemas"]["Level"]["properties"]
    assert tuple(level["ja"]["enum"]) == wbgt.NAMES_JA
    assert tuple(level["en"]["enum"]) == wbgt.NAMES_EN


def test_no_second_copy_of_the_level_colours_in_pages_or_scripts() -> None:
    for path in [*(REPO / "collector" / "static").glob("*.js"),
                 *(REPO / "collector" / "templates").glob("*.html"),
                 REPO / "collector" / "static" / "site.css"]:
        text = path.read_text(encoding="utf-8").lower()
        found = [c for c in wbgt.COLOURS[:4] if c in text]  # ff2800 doubles as a line colour
        assert not found, f"{path.name} repeats level colours {found}: use /api/v1/heat/levels"


# ---- the collector stands on the contract alone (pip install '.[collector]')

def blocker(*names: str) -> str:
    """Python source that makes importing any of `names` fail as if not installed."""
    return f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in {names!r}:
            raise ModuleNotFoundError(f"No module named {{top!r}} (blocked)", name=top)
        return None
sys.meta_path.insert(0, Block())
"""


# What `pip install '.[collector]'` leaves out: the gateway and demo extras' packages.
NOT_IN_COLLECTOR_EXTRA = ("numba", "llvmlite", "bleak", "serial", "amqtt")


def test_collector_runs_without_the_gateway_extra(tmp_path: Path) -> None:
    # Stricter than the extra: the gateway, sim and hw packages themselves are out of reach.
    script = blocker(*NOT_IN_COLLECTOR_EXTRA, "gateway", "sim", "hw") + f"""
from collector.app import create_app
app = create_app({{"DATABASE": {str(tmp_path / 'c.sqlite')!r}}})
c = app.test_client()
for path in ("/heat", "/residents", "/api/v1/sensors", "/api/v1/heat/levels", "/heat/levels.css"):
    assert c.get(path).status_code == 200, path
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                       cwd=REPO, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_collector_cli_runs_without_the_gateway_extra(tmp_path: Path) -> None:
    script = blocker(*NOT_IN_COLLECTOR_EXTRA) + """
from machimori.cli import main
sys.exit(main(sys.argv[1:]))
"""
    db = tmp_path / "m.sqlite"
    r = subprocess.run([sys.executable, "-c", script, "collector", "migrate", "--db", str(db)],
                       capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "applied: 0001_init.sql" in r.stdout and db.exists()
    h = subprocess.run([sys.executable, "-c", script, "--help"], capture_output=True, text=True, check=False,
                       cwd=REPO, timeout=120)
    # Every area whose modules import without the gateway extra is listed; one that needs it
    # would be named with the package it needs, never a traceback.
    assert h.returncode == 0 and "collector" in h.stdout and "Traceback" not in h.stderr


def test_collector_source_never_imports_the_gateway_sim_or_hw() -> None:
    bad = []
    for path in (REPO / "collector").rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"\s*(from|import)\s+(gateway|sim|hw)\b", line):
                bad.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert bad == []


# ---- pages safe against what devices send

def test_every_response_carries_the_csp(app) -> None:
    c = app.test_client()
    for path in ("/heat", "/residents", "/login", "/api/v1/sensors", "/static/heat.js",
                 "/residents/manifest.webmanifest", "/nope"):
        csp = c.get(path).headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert "unsafe" not in csp
        assert directives["img-src"].split()[-1] == "https://cyberjapandata.gsi.go.jp"


def test_tile_url_is_configurable_and_allowed_by_the_csp(tmp_path: Path) -> None:
    app = create_app({"DATABASE": str(tmp_path / "c.sqlite"),
                      "TILE_URL": "https://{s}.tiles.example.jp/pale/{z}/{x}/{y}.png"})
    r = app.test_client().get("/heat")
    assert "img-src 'self' data: blob: https://*.tiles.example.jp;" in r.headers[
        "Content-Security-Policy"]
    cfg = re.search(r"data-cfg='([^']*)'", r.get_data(as_text=True)).group(1)
    assert json.loads(cfg)["tile_url"].startswith("https://{s}.tiles.example.jp/")
    offline = create_app({"DATABASE": str(tmp_path / "c.sqlite"), "TILE_URL": ""})
    csp = offline.test_client().get("/heat").headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob:;" in csp


def test_templates_have_no_inline_scripts_styles_or_handlers() -> None:
    for path in (REPO / "collector" / "templates").glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path.name
        assert not re.search(r"\sstyle\s*=", text), path.name
        assert not re.search(r"<style\b", text), path.name
        assert not re.search(r"\son[a-z]+\s*=", text), path.name


def test_scripts_never_parse_data_as_html() -> None:
    for path in (REPO / "collector" / "static").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert bad not in text, f"{path.name} uses {bad}"
        # Leaflet takes strings as HTML in popups and tooltips: only DOM nodes go in.
        assert not re.search(r"bind(Popup|Tooltip)\(\s*[`'\"]", text), path.name


def test_hostile_place_name_is_escaped_in_the_server_rendered_list(app, tmp_path: Path) -> None:
    db = app.config["DATABASE"]
    st = Store(db)
    hostile = '</script><img src=x onerror="alert(1)">'
    topic, raw = summary(9, device="heat-009")
    body = json.loads(raw)
    body["place"]["name"] = hostile
    st.ingest([(topic, json.dumps(body).encode())])
    st.close()
    r = app.test_client().get("/api/v1/sensors")
    assert hostile in [s["name"] for s in r.get_json()["sensors"]]  # kept as text, not refused
    assert r.mimetype == "application/json"


@pytest.mark.parametrize("name, ok", [
    ("駅前広場", True),
    ("<img src=x onerror=alert(1)></script>", True),  # harmless as text: pages never parse it
    ("x" * 80, True),
    ("x" * 81, False),
    ("", False),
    ("line\nbreak", False),
    ("bell\x07", False),
    ("abc\u202egnp.exe", False),  # right-to-left override
    ("zero\u200bwidth", False),
    ("\ufeffbom", False),
    ("全角\u3000空白", True),
])
def test_place_name_limits(name: str, ok: bool) -> None:
    topic, raw = summary(1)
    body = json.loads(raw)
    body["place"]["name"] = name
    if ok:
        decode_message(topic, json.dumps(body).encode())
        assert place_name_problem(name) is None
    else:
        with pytest.raises(ContractError, match="place.name"):
            decode_message(topic, json.dumps(body).encode())
        assert place_name_problem(name) is not None


def test_a_refused_place_name_is_a_dead_letter_with_its_reason(tmp_path: Path) -> None:
    st = Store(tmp_path / "c.sqlite")
    topic, raw = summary(1)
    body = json.loads(raw)
    body["place"]["name"] = "x\u202e"
    res = st.ingest([(topic, json.dumps(body).encode())])
    assert (res.stored, res.dead) == (0, 1)
    reason = st.db.execute("SELECT reason FROM dead_letters").fetchone()[0]
    assert "place.name" in reason
    st.close()


def test_gateway_config_refuses_a_name_the_collector_would_refuse(tmp_path: Path) -> None:
    from gateway.config import ConfigError, load

    path = tmp_path / "gw.toml"
    path.write_text(f'[gateway]\nid = "gw-01"\ndata_dir = "{tmp_path}"\n'
                    '[mqtt]\nurl = "mqtt://127.0.0.1:1883"\n'
                    '[[device]]\nid = "heat-001"\nkind = "heat"\naddress = "AA:BB:CC:DD:EE:01"\n'
                    'lat = 36.1\nlon = 139.3\nname = "bad\\u202ename"\n')
    with pytest.raises(ConfigError, match=r"device\[0\]\.name"):
        load(path)


# ---- the map library is npm's, copied by bin/vendor

def test_vendored_leaflet_is_npms_copy() -> None:
    npm = REPO / "node_modules" / "leaflet"
    if not npm.exists():
        pytest.skip("node_modules missing: ./bin/test runs npm install")
    ours = REPO / "collector" / "static" / "vendor" / "leaflet"
    for name in ("leaflet.js", "leaflet.css"):
        assert filecmp.cmp(npm / "dist" / name, ours / name, shallow=False), name
    assert filecmp.cmp(npm / "LICENSE", ours / "LICENSE", shallow=False)
    pkg = json.loads((REPO / "package.json").read_text())
    assert "leaflet" in pkg["dependencies"]
