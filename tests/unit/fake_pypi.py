"""A stand-in for PyPI's JSON API on 127.0.0.1, serving small pure wheels that it builds.

`cloche serve --allow-pypi --pypi-index URL` is pointed at it, so the run-time PyPI routes are
tested against a real HTTP server without reaching PyPI. It answers what the server asks:

    GET /pypi/NAME/json           the project: info.version (the newest), urls, releases
    GET /pypi/NAME/VERSION/json   one release: its urls
    GET /files/FILE               a wheel's bytes

From Python: `FakePyPI(folder, packages).start()` returns its URL (`stop()` ends it; `requests`
lists the paths asked, `wrong_sha256` names files whose advertised digest is wrong).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version
from pyodide_mirror import MirrorPackage, write_wheel

# The package the e2e test installs with micropip: it needs a package of the Pyodide mirror
# (pyodide_mirror.DEMO_PACKAGES), and something that applies only on Windows.
DEMO_PYPI_PACKAGES = (
    MirrorPackage(
        "cloche-pypi-demo",
        "1.0",
        {"cloche_pypi_demo/__init__.py": "OLD = True\n"},
    ),
    MirrorPackage(
        "cloche-pypi-demo",
        "2.0",
        {
            "cloche_pypi_demo/__init__.py": (
                '"""From the fake PyPI; its greeting comes from the Pyodide mirror."""\n'
                "from cloche_demo_dep import greet\n\n"
                'MESSAGE = greet("PyPI")\n'
            )
        },
        requires=("cloche-demo-dep>=1", 'pywin32; sys_platform == "win32"'),
    ),
)


class FakePyPI:
    def __init__(self, folder: Path, packages: Iterable[MirrorPackage] = DEMO_PYPI_PACKAGES):
        self.files: dict[str, Path] = {}
        self.releases: dict[str, dict[str, list[str]]] = {}  # name -> version -> file names
        for package in packages:
            wheel = write_wheel(folder, package)
            self.files[wheel.name] = wheel
            versions = self.releases.setdefault(str(canonicalize_name(package.name)), {})
            versions.setdefault(package.version, []).append(wheel.name)
        self.requests: list[str] = []
        self.wrong_sha256: set[str] = set()
        self.url = ""
        self._server: ThreadingHTTPServer | None = None

    def file_entry(self, file_name: str) -> dict[str, Any]:
        digest = hashlib.sha256(self.files[file_name].read_bytes()).hexdigest()
        if file_name in self.wrong_sha256:
            digest = "0" * 64
        return {
            "filename": file_name,
            "packagetype": "bdist_wheel",
            "url": f"{self.url}/files/{file_name}",
            "digests": {"sha256": digest},
            "requires_python": ">=3.8",
            "yanked": False,
        }

    def answer(self, path: str) -> tuple[int, bytes]:
        parts = path.strip("/").split("/")
        if parts[0] == "files" and len(parts) == 2 and parts[1] in self.files:
            return 200, self.files[parts[1]].read_bytes()
        if parts[0] != "pypi" or parts[-1] != "json" or len(parts) not in (3, 4):
            return 404, b"Not Found"
        versions = self.releases.get(str(canonicalize_name(parts[1])))
        if versions is None or (len(parts) == 4 and parts[2] not in versions):
            return 404, b'{"message": "Not Found"}'
        newest = parts[2] if len(parts) == 4 else max(versions, key=Version)
        document: dict[str, Any] = {
            "info": {"name": parts[1], "version": newest},
            "urls": [self.file_entry(f) for f in versions[newest]],
        }
        if len(parts) == 3:
            document["releases"] = {
                v: [self.file_entry(f) for f in files] for v, files in versions.items()
            }
        return 200, json.dumps(document).encode()

    def start(self, port: int = 0) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                status, body = fake.answer(self.path)
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
