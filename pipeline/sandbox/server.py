"""HTTP plumbing for the sandbox: a threaded HTTP/1.1 server, in-process or standalone.

The standard library's server is enough here (keep-alive, one thread a connection) and lets the
faults go down to the socket: a dropped connection really closes mid-body.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from pipeline.sandbox.app import Request, SandboxApp


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the body would wait for the
    # client's delayed ACK (about 40 ms a response on a kept-alive connection).
    disable_nagle_algorithm = True
    server_version = "BuildOSSandbox/1"
    sys_version = ""
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=method,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        reply = self.server.app.handle(request)
        if reply.fault == "slow":
            time.sleep(self.server.app.faults.config.slow_seconds)
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.fault == "drop":
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp, verbose: bool):
        self.app = app
        self.verbose = verbose
        super().__init__(address, _Handler)


class SandboxServer:
    """A running sandbox. Use as a context manager, or `start()` / `stop()`."""

    def __init__(
        self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
    ):
        self.app = app
        self._server = _Server((host, port), app, verbose)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        if self._thread is not None:  # already serving (start_sandbox starts it)
            return self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="buildos-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
