"""Local servers that record exactly what a provider would receive: an HTTP recorder (a
Twilio-compatible SMS API, webhook receivers, a web-push service) and an SMTP server
(aiosmtpd). Loopback only, free ports, always stopped."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str
    headers: Any  # http.client.HTTPMessage: names are case-insensitive, as on the wire
    body: bytes
    at: float
    status: int = 0  # what the recorder answered

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HTTPRecorder:
    """Answers every POST with `status` (and a Twilio-like JSON body); `fail_next` requests
    first get 503. Records each request as received."""
    status: int = 201
    fail_next: int = 0
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> HTTPRecorder:
        import time

        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with lock:
                    failing = rec.fail_next > 0
                    if failing:
                        rec.fail_next -= 1
                    status = 503 if failing else rec.status
                    rec.requests.append(Request("POST", self.path, self.headers,
                                                body, time.time(), status))
                    sid = f"SM{len(rec.requests):032d}"
                out = json.dumps({"sid": sid, "status": "queued"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a: Any) -> None:
                pass

        lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def ok(self, path_part: str = "") -> list[Request]:
        """The requests that were accepted (2xx), optionally only those whose path has this."""
        return [r for r in list(self.requests) if 200 <= r.status < 300 and path_part in r.path]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class SMTPRecorder:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        from machimori.procs import free_port

        self.messages: list[tuple[str, list[str], bytes]] = []
        rec = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                rec.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                     bytes(envelope.original_content or envelope.content)))
                return "250 OK"

        self.port = free_port()
        self._c = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> SMTPRecorder:
        self._c.start()
        return self

    def stop(self) -> None:
        self._c.stop()
