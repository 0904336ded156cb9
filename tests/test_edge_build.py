"""Firmware build: every edge/ file compiles with mpy-cross, the generated BTHome table matches
the contract, bundles hold what the role imports, bad settings are refused, flash uses mpremote."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hw.boards import BOARDS, ROLES
from hw.firmware import bundle, table
from machimori.contract import bthome

EDGE = bundle.EDGE
# Modules the ESP32 port of MicroPython has built in (C modules or frozen).
BUILTINS = {"machine", "bluetooth", "esp32", "onewire", "cryptolib", "micropython", "time",
            "struct", "json", "os", "random", "sys"}


def test_every_edge_file_compiles_with_mpy_cross(tmp_path: Path) -> None:
    files = sorted(EDGE.rglob("*.py"))
    assert len(files) >= 20
    for src in files:
        out = tmp_path / (src.stem + ".mpy")
        bundle.mpy_cross(src, out)
        assert out.read_bytes()[:1] == b"M"  # .mpy magic


def test_mpy_cross_rejects_what_micropython_cannot_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("match 1:\n    case 1:\n        pass\n")
    with pytest.raises(bundle.BuildError, match="bad.py"):
        bundle.mpy_cross(bad, tmp_path / "bad.mpy")


def test_generated_table_is_exactly_what_the_contract_gives() -> None:
    assert table.TABLE_PATH.read_text() == table.render()


def test_generated_table_holds_every_contract_object_with_its_scale() -> None:
    ns: dict[str, object] = {}
    src = table.TABLE_PATH.read_text().replace("from micropython import const", "const = int")
    exec(compile(src, str(table.TABLE_PATH), "exec"), ns)  # noqa: S102 - our generated file
    objects = ns["OBJECTS"]
    assert isinstance(objects, dict)
    assert set(objects) == set(bthome.OBJECTS)
    for oid, spec in bthome.OBJECTS.items():
        length, signed, exp = objects[oid]
        assert (length, signed) == (spec.length, spec.signed)
        if exp is not None:
            assert 10.0**exp == pytest.approx(spec.factor)
    assert ns["SERVICE_UUID16"] == bthome.SERVICE_UUID16


def test_table_check_command_notices_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                  ) -> None:
    from machimori.cli import main

    stale = tmp_path / "bthome_table.py"
    stale.write_text(table.render().replace("0x02: (2, True, -2)", "0x02: (2, True, -1)"))
    monkeypatch.setattr(table, "TABLE_PATH", stale)
    assert main(["edge", "table", "--check"]) == 1
    assert main(["edge", "table"]) == 0
    assert main(["edge", "table", "--check"]) == 0


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("role", ROLES)
def test_a_roles_bundle_has_every_module_it_imports(role: str) -> None:
    mods = {m[:-3] for m in bundle.role_modules(role)}
    needed = set(_imports(EDGE / "main.py")) - {"mm_config"}
    for m in mods:
        needed |= _imports(EDGE / "lib" / f"{m}.py")
    # main.py imports every role's entry module lazily; only this role's must be present.
    needed -= {f"{r}_main" for r in ROLES if r != role}
    assert needed - BUILTINS <= mods


SETTINGS = {"heat": {"bindkey": "231d39c1d7cc1ab1aee224cd096db932", "globe": True},
            "tag": {"key": "00112233445566778899aabbccddeeff"}, "meter": {},
            "actuator": {"rh_max": 75, "on_from_h": 10}}


@pytest.mark.parametrize("board", sorted(BOARDS))
@pytest.mark.parametrize("role", ROLES)
def test_build_writes_compiled_modules_and_the_validated_config(board: str, role: str,
                                                               tmp_path: Path) -> None:
    out = bundle.build(board, role, SETTINGS[role], tmp_path / "b")
    meta = json.loads((out / "bundle.json").read_text())
    assert (meta["board"], meta["role"]) == (board, role)
    libs = sorted(p.name for p in (out / "lib").iterdir())
    assert libs == sorted(m[:-3] + ".mpy" for m in bundle.role_modules(role))
    cfg = json.loads((out / "config.json").read_text())
    for field, pin in BOARDS[board].pins[role].items():
        assert cfg[field] == pin
    assert cfg["wake"] == BOARDS[board].wake
    for field, value in SETTINGS[role].items():
        assert cfg[field] == value
    assert set(meta["files"]) == {"main.py", "config.json"} | {f"lib/{n}" for n in libs}


@pytest.mark.parametrize(("settings", "field"), [
    ({"interval_s": 5}, "interval_s"),
    ({"bindkey": "00"}, "bindkey"),
    ({"intervl_s": 60}, "intervl_s"),
    ({"globe": True, "surface": False}, "globe"),
])
def test_build_refuses_bad_settings_naming_the_field(settings: dict[str, object], field: str,
                                                     tmp_path: Path) -> None:
    with pytest.raises(bundle.BuildError, match=f"'{field}'"):
        bundle.build("esp32c3-devkitm-1", "heat", settings, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_build_refuses_unknown_board_and_missing_key(tmp_path: Path) -> None:
    with pytest.raises(bundle.BuildError, match="unknown board"):
        bundle.build("arduino-uno", "heat", {}, tmp_path / "b")
    with pytest.raises(bundle.BuildError, match="'key'"):
        bundle.build("esp32s3-devkitc-1", "tag", {}, tmp_path / "b")


def test_flash_copies_every_bundle_file_with_mpremote_and_sets_the_tag_clock(tmp_path: Path
                                                                             ) -> None:
    out = bundle.build("esp32c3-devkitm-1", "tag", SETTINGS["tag"], tmp_path / "b")
    cmd = bundle.flash_commands(out, "/dev/ttyACM0")
    assert cmd[:3] == ["mpremote", "connect", "/dev/ttyACM0"]
    copied = {cmd[i + 2] for i, c in enumerate(cmd) if c == "cp"}
    meta = json.loads((out / "bundle.json").read_text())
    assert copied == {":" + rel for rel in meta["files"]}
    assert "rtc" in cmd and cmd[-1] == "reset"
    # mpremote itself accepts this chain's commands.
    for sub in ("exec", "fs", "rtc", "reset"):
        assert sub in subprocess.run([sys.executable, "-m", "mpremote", "help"], check=True,
                                     capture_output=True, text=True).stdout


def test_cli_build_and_flash_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from machimori.cli import main

    out = tmp_path / "bundle"
    rc = main(["edge", "build", "--board", "esp32s3-devkitc-1", "--role", "meter",
               "--set", "report_s=30", "--out", str(out)])
    assert rc == 0
    assert json.loads((out / "config.json").read_text())["report_s"] == 30
    assert main(["edge", "flash", "--bundle", str(out), "--dry-run"]) == 0
    assert "fs cp" in capsys.readouterr().out
    assert main(["edge", "build", "--board", "esp32s3-devkitc-1", "--role", "meter",
                 "--set", "report_s=0", "--out", str(out)]) == 2
    assert "'report_s'" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["edge", "--help"], ["edge", "build", "--help"],
                                  ["edge", "flash", "--help"]])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from machimori.cli import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_every_device_config_field_is_documented_for_the_installer() -> None:
    cfg = bundle._load("mm_config", EDGE / "lib" / "mm_config.py")
    text = (EDGE.parent / "docs" / "installer-firmware.md").read_text(encoding="utf-8")
    fields = set(cfg._COMMON)
    for role_fields in cfg._FIELDS.values():
        fields |= set(role_fields)
    missing = sorted(f for f in fields if f"`{f}`" not in text)
    assert missing == []


def test_the_roles_agree_everywhere() -> None:
    """The device's validator and the build manifest keep their own copies (they run or load
    without hw/): they must name the same roles as hw.boards, in the same order."""
    from hw.firmware.bundle import EDGE, _load

    assert _load("mm_config_roles", EDGE / "lib" / "mm_config.py").ROLES == ROLES
    assert tuple(_load("manifest_roles", EDGE / "manifest.py").ROLES) == ROLES
