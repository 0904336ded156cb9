"""Logging set-up shared by every long-running command: plain text or JSON lines."""

from __future__ import annotations

import json
import logging
import time


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log shippers (journald → Loki, Fluent Bit) parse."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": round(record.created, 3),
               "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
               "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage()}
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key.startswith("ctx_"):  # extra={"ctx_gw": ...} becomes "gw": ...
                doc[key[4:]] = value
        return json.dumps(doc, ensure_ascii=False, default=str)


def setup(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def add_arguments(parser: object) -> None:
    parser.add_argument("--log-level", default="INFO",  # type: ignore[attr-defined]
                        help="DEBUG, INFO, WARNING (default INFO)")
    parser.add_argument("--log-format", choices=["text", "json"],  # type: ignore[attr-defined]
                        default="text", help="text (default) or json: one object per line")
