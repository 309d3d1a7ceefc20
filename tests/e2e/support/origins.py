"""Two or more plain HTTP origins on 127.0.0.1 for permissions.spec.js: what a granted package may
reach, what it may not, and where a redirect leads. No CORS headers anywhere, so the page itself
could not read them: only the server's fetch proxy can.

    python tests/e2e/support/origins.py PORT [PORT ...]

Each origin answers:
  /data             text naming the origin
  /page.html        an HTML page (title, headings, a link, a list, a script to drop)
  /redirect?to=URL  302 to URL
  /hits             JSON {path: count} of the requests it got (itself not counted)
  /reset            forgets the hits
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PAGE = """<!doctype html>
<html><head><title>Cloche test page</title><script>document.title = "changed";</script></head>
<body><h1>A page without CORS headers</h1>
<p>Served by <a href="/data">the test origin</a> on port {port}.</p>
<ul><li>first item</li><li>second item</li></ul>
</body></html>
"""


def handler_for(port: int) -> type[BaseHTTPRequestHandler]:
    hits: Counter[str] = Counter()

    class Origin(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/hits":
                return self._send(200, "application/json", json.dumps(hits).encode())
            if url.path == "/reset":
                hits.clear()
                return self._send(200, "text/plain", b"reset")
            hits[url.path] += 1
            if url.path == "/data":
                return self._send(200, "text/plain; charset=utf-8", f"data from {port}".encode())
            if url.path == "/page.html":
                return self._send(200, "text/html; charset=utf-8", PAGE.format(port=port).encode())
            if url.path == "/redirect":
                target = parse_qs(url.query).get("to", [""])[0]
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self._send(404, "text/plain", b"no such path")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Origin


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(f"usage: {sys.argv[0]} PORT [PORT ...]")
    for port in map(int, sys.argv[1:]):
        server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(port))
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("origins up", flush=True)
    threading.Event().wait()
