"""The rule for a place name (a device's `place.name`), read from the summary schema itself so
that the gateway's configuration check and the collector's ingest refuse the same names."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .mqtt import schema_document


@cache
def _name_spec() -> dict[str, Any]:
    return schema_document("summary")["properties"]["place"]["properties"]["name"]


def place_name_problem(name: str) -> str | None:
    """Why `name` may not be a place name, or None when it may."""
    spec = _name_spec()
    if not spec["minLength"] <= len(name) <= spec["maxLength"]:
        return f"must be {spec['minLength']} to {spec['maxLength']} characters (got {len(name)})"
    if not re.fullmatch(spec["pattern"], name):
        return "must not hold control, zero-width or bidirectional-override characters"
    return None
