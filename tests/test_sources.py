"""Advert sources are found by name; the gateway never imports the simulator (nor the collector).

The import check reads every module of gateway/ statically (ast), so an import hidden inside a
function, the way the simulator used to be pulled in, is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gateway.config import ConfigError, parse
from gateway.sources import available_sources, open_source

from .harness import REPO

FORBIDDEN = {"gateway": ("sim", "collector"),
             "machimori/contract": ("gateway", "collector", "sim")}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", None)) == "import_module" and node.args and isinstance(
                node.args[0], ast.Constant):
            out.append((node.lineno, str(node.args[0].value)))
    return out


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer: str) -> None:
    bad = []
    files = sorted((REPO / layer).rglob("*.py"))
    assert files
    for f in files:
        for line, mod in imported_modules(f):
            if mod.split(".")[0] in FORBIDDEN[layer]:
                bad.append(f"{f.relative_to(REPO)}:{line} imports {mod}")
    assert bad == []


def test_the_import_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def open_source():\n    from sim.source import SimSource\n"
                 "    import importlib\n    importlib.import_module('sim.town')\n")
    assert [m for _, m in imported_modules(f)] == ["sim.source", "importlib", "sim.town"]


def test_the_sim_registers_its_source_by_name(tmp_path: Path) -> None:
    assert {"ble", "sim"} <= set(available_sources())
    cfg = parse({"gateway": {"id": "gw-01", "data_dir": str(tmp_path), "source": "sim"},
                 "sim": {"gateways": 1, "nodes": 2, "residents": 2, "households": 1}})
    opened = open_source("sim", cfg)
    t0 = opened.clock()
    opened.source.poll(t0)
    adverts, lines = opened.source.poll(t0 + 60)
    assert adverts and lines  # its heat nodes and tags advertise, its meters send lines
    assert set(opened.tag_keys) == {"tag-001", "tag-002"}


def test_an_unknown_source_is_refused_with_the_names_there_are(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse({"gateway": {"id": "gw-01", "data_dir": str(tmp_path), "source": "simulator"}})
    assert err.value.field == "gateway.source" and "ble" in str(err.value) \
        and "sim" in str(err.value)
    with pytest.raises(LookupError, match="no advert source named 'nothing'"):
        open_source("nothing", None)
