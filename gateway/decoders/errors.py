"""The one rejection type every decoder raises: `reason` is a short key that becomes a counter."""

from __future__ import annotations


class DecodeError(ValueError):
    """Malformed, truncated, unauthentic or unsupported advert; `reason` is a counter key."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
