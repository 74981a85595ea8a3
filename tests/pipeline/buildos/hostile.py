"""A hostile stand-in for BuildOS: a stdlib HTTP proxy in front of a sandbox that rewrites
the answers a test picks, the way real APIs misbehave on bad days (bad text, bad numbers,
ids that are not ids, bodies that trickle, paging that lies, answers that vanish).

A rule sees every exchange after the sandbox answered and may change its status, its JSON
`data`, its raw body, or make it trickle. Bodies are written with the stdlib encoder
(`ensure_ascii`), so a lone surrogate in a rewritten string goes out as the `"\\ud800"` escape
a JavaScript server would send.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Exchange:
    """One request and the answer that will be sent; rules edit it in place."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    trickle_seconds: float = 0.0  # pause between bytes of the body, when set

    def envelope(self) -> dict | None:
        try:
            value = json.loads(self.body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def data(self):
        envelope = self.envelope()
        return envelope.get("data") if envelope else None

    def set_data(self, data) -> None:
        envelope = self.envelope() or {"success": True}
        envelope["data"] = data
        self.body = json.dumps(envelope).encode()

    def fail(self, status: int, code: str = "INTERNAL_ERROR") -> None:
        self.status = status
        self.body = json.dumps(
            {"success": False, "error": code, "message": "hostile", "code": code}
        ).encode()


Rule = Callable[[Exchange], None]


class HostileServer:
    """`HostileServer(sandbox.base_url, rule)`; `.base_url` is what the client talks to.
    `requests` counts the exchanges by (method, path) for assertions."""

    def __init__(self, upstream: str, rule: Rule | None = None):
        self.upstream = urlsplit(upstream)
        self.rule = rule or (lambda exchange: None)
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _forward(self, method: str, target: str, headers: dict, body: bytes) -> Exchange:
        connection = http.client.HTTPConnection(
            self.upstream.hostname, self.upstream.port, timeout=60
        )
        try:
            connection.request(method, target, body=body or None, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            kept = [
                (name, value)
                for name, value in response.getheaders()
                if name.lower() in ("set-cookie", "retry-after", "content-type")
            ]
            status = response.status
        finally:
            connection.close()
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return Exchange(method, parts.path, query, status, answer, kept)

    def _handler(self):
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {
                    name: value
                    for name, value in self.headers.items()
                    if name.lower() in ("cookie", "authorization", "content-type", "accept")
                }
                exchange = hostile._forward(self.command, self.path, headers, body)
                hostile.rule(exchange)
                with hostile._lock:
                    hostile.requests.append((exchange.method, exchange.path, exchange.status))
                self.send_response(exchange.status)
                for name, value in exchange.headers:
                    if name.lower() != "content-type":
                        self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(exchange.body)))
                self.end_headers()
                try:
                    if exchange.trickle_seconds:
                        for index in range(len(exchange.body)):
                            self.wfile.write(exchange.body[index : index + 1])
                            self.wfile.flush()
                            time.sleep(exchange.trickle_seconds)
                    else:
                        self.wfile.write(exchange.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = _serve
            do_POST = _serve

        return Handler


def is_bundle(exchange: Exchange) -> bool:
    parts = exchange.path.strip("/").split("/")
    return exchange.method == "GET" and parts[:3] == ["api", "onto", "projects"] and len(parts) == 4
