"""Docs stay true: every CLI option, MQTT topic and gateway setting is documented somewhere."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from machimori.cli import build_parser
from machimori.contract import mqtt

REPO = Path(__file__).resolve().parents[1]


def all_docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8")
                     for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))
        elif action.option_strings and "--help" not in action.option_strings:
            yield path, max(action.option_strings, key=len)


COMMANDS = sorted({(" ".join(p), opt) for p, opt in walk(build_parser())})


@pytest.mark.parametrize("command, option", COMMANDS)
def test_every_cli_option_is_documented(command: str, option: str) -> None:
    # Documented = the option appears in README.md or docs/ (a usage line or a table row).
    assert re.search(re.escape(option) + r"\b", all_docs()), f"machimori {command} {option}"


def test_every_topic_is_documented() -> None:
    text = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    for topic in (mqtt.status_topic("<gw>"), mqtt.summary_topic("<gw>", "<kind>"),
                  mqtt.event_topic("<gw>", "<kind>"), mqtt.subscription("<group>")):
        assert topic in text, topic


def test_every_summary_kind_and_schema_is_documented() -> None:
    text = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    for kind in mqtt.schema_document("summary")["properties"]["kind"]["enum"]:
        assert f"`{kind}`" in text, kind
    for sid in mqtt.SCHEMA_IDS.values():
        assert sid in text, sid


def test_every_gateway_setting_is_documented() -> None:
    import dataclasses

    from gateway.config import (
        Device,
        GatewayConfig,
        MqttConfig,
        OutboxConfig,
        SimSourceConfig,
        WatchSettings,
    )

    text = all_docs()
    for cls in (GatewayConfig, MqttConfig, SimSourceConfig, Device, OutboxConfig, WatchSettings):
        for f in dataclasses.fields(cls):
            if f.name in ("mqtt", "sim", "devices"):
                continue
            assert re.search(rf"`{f.name}`|\b{f.name} =", text), f"{cls.__name__}.{f.name}"
