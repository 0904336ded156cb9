"""A local stand-in for an SMS provider, for the demo: it speaks the Twilio-compatible API the
collector sends to (`POST /2010-04-01/Accounts/<sid>/Messages.json`, form-encoded), answers 201
and keeps every message in a JSON-lines file (and prints it), so the demo shows who was told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs


class SmsSink:
    def __init__(self, log: Path, echo: Callable[[str], None] | None = None):
        self.log, self.echo, self.count = log, echo, 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> SmsSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = min(int(self.headers.get("Content-Length") or 0), 64_000)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode(
                    errors="replace")).items()}
                ok = self.path.endswith("/Messages.json") and "To" in form and "Body" in form
                if ok:
                    sink.record(form)
                out = json.dumps({"sid": f"SMdemo{sink.count:026d}", "status": "queued"}
                                 if ok else {"message": "To and Body are required"}).encode()
                self.send_response(201 if ok else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="sms-sink", daemon=True).start()
        return self

    def record(self, form: dict[str, str]) -> None:
        with self._lock:
            self.count += 1
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"at": time.time(), "to": form["To"],
                                    "from": form.get("From"), "body": form["Body"]},
                                   ensure_ascii=False) + "\n")
        if self.echo:
            self.echo(f"  SMS → {form['To']}: {form['Body']}")

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
