"""A real HTTP server on 127.0.0.1 for the fetch proxy's tests, answering by path and recording
every request it gets:

    /echo                  200, JSON of what it got (method, path, headers, body), a cookie
    /status/CODE           that status, with a short text body
    /redirect/CODE?to=URL  that status with Location: URL (no `to`: no Location)
    /chain/N               N redirects to itself (/chain/N-1, relative), then 200
    /bytes/N               N bytes, with Content-Length
    /gzip/N                N zero bytes gzip-encoded (so a few KiB on the wire)
    /brotli                a body that says Content-Encoding: br
    /hop-headers           hop-by-hop and Connection-named headers, besides one kept
    /stall                 waits until `release` is set (at most WAIT seconds), then 200
    /trickle               one byte every 0.1 s until `release` is set or WAIT seconds pass
"""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

WAIT = 10.0  # seconds a stalled answer waits at most, so that no test can hang on one


@dataclass
class Seen:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class Upstream:
    """One origin: `start()` gives its URL (http://127.0.0.1:PORT), `seen` what was asked; with
    `tls` (an SSLContext with its certificate loaded) it serves https instead."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.seen: list[Seen] = []
        self.release = threading.Event()
        self.arrived = threading.Event()  # set when a request arrives, for tests that wait on one
        self.url = ""
        self.port = 0
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                upstream.seen.append(
                    Seen(self.command, self.path, list(self.headers.items()), body)
                )
                upstream.arrived.set()
                upstream.answer(self, body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "https" if tls else "http"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> str:
        self.thread.start()
        self.port = self.server.server_address[1]
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        return self.url

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(WAIT)

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(handler.path)
        path, query = parts.path.strip("/").split("/"), parse_qs(parts.query)
        if path[0] == "echo":
            seen = {
                "method": handler.command,
                "path": handler.path,
                "headers": [[k.lower(), v] for k, v in handler.headers.items()],
                "body": body.decode("latin-1"),
            }
            _send(handler, 200, json.dumps(seen).encode(), [("Set-Cookie", "session=upstream")])
        elif path[0] == "status":
            _send(handler, int(path[1]), f"status {path[1]}".encode())
        elif path[0] == "redirect":
            location = [("Location", query["to"][0])] if "to" in query else []
            _send(handler, int(path[1]), b"moved", location)
        elif path[0] == "chain":
            left = int(path[1])
            if left == 0:
                _send(handler, 200, b"end of chain")
            else:
                _send(handler, 302, b"", [("Location", f"/chain/{left - 1}")])
        elif path[0] == "bytes":
            _send(handler, 200, b"x" * int(path[1]))
        elif path[0] == "gzip":
            data = gzip.compress(b"\0" * int(path[1]))
            _send(handler, 200, data, [("Content-Encoding", "gzip")])
        elif path[0] == "brotli":
            _send(handler, 200, b"not really brotli", [("Content-Encoding", "br")])
        elif path[0] == "hop-headers":
            extra = [
                ("Connection", "close, X-Private"),
                ("X-Private", "for the next hop only"),
                ("Keep-Alive", "timeout=5"),
                ("Proxy-Authenticate", "Basic"),
                ("X-Kept", "yes"),
            ]
            _send(handler, 200, b"ok", extra)
        elif path[0] == "stall":
            self.release.wait(WAIT)
            _send(handler, 200, b"late")
        elif path[0] == "trickle":
            handler.send_response(200)
            handler.end_headers()
            deadline = time.monotonic() + WAIT
            try:
                while not self.release.is_set() and time.monotonic() < deadline:
                    handler.wfile.write(b".")
                    handler.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        else:
            _send(handler, 404, b"no such test path")


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
) -> None:
    handler.send_response(status)
    for name, value in headers or []:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)
