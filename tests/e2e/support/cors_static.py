"""A static server that lets other origins use what it serves, as a CDN would:
`python cors_static.py PORT FOLDER` on 127.0.0.1, every answer with
`Access-Control-Allow-Origin: *` and `Cross-Origin-Resource-Policy: cross-origin`."""

from __future__ import annotations

import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class CorsHandler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} PORT FOLDER")
    handler = partial(CorsHandler, directory=sys.argv[2])
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
