"""Static files for the built dist: right MIME types, precompressed twins, cache policy."""

from __future__ import annotations

import mimetypes
import os
import re

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

# Python's table varies by version and platform; these must never be guessed wrong, because a
# wasm served under another type makes Pyodide hang without an error.
MEDIA_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".map": "application/json",
}
# The build writes the Pyodide core under pyodide/v<version>/: that path changes whenever its
# content does, so it may be cached for good. Everything else is revalidated with its ETag.
IMMUTABLE_PATH = re.compile(r"^pyodide/v[^/]+/")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def media_type(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def accepted_encodings(headers: Headers) -> set[str]:
    accepted = set()
    for item in headers.get("accept-encoding", "").split(","):
        name, _, params = item.strip().partition(";")
        if params.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        accepted.add(name.strip().lower())
    return accepted


class DistFiles(StaticFiles):
    """StaticFiles that serves `x.br` / `x.gz` for `x` when the client accepts that encoding."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        path = os.fspath(full_path)
        request_headers = Headers(scope=scope)
        relative = os.path.relpath(path, os.path.realpath(str(self.directory)))
        headers = {
            "cache-control": IMMUTABLE if IMMUTABLE_PATH.match(relative) else REVALIDATE,
            "vary": "accept-encoding",
        }
        served, served_stat = path, stat_result
        # Ranges address the identity bytes, so they are served from the original file.
        if "range" not in request_headers:
            accepted = accepted_encodings(request_headers)
            for encoding, suffix in ENCODINGS:
                if encoding in accepted and os.path.isfile(path + suffix):
                    served, served_stat = path + suffix, os.stat(path + suffix)
                    headers["content-encoding"] = encoding
                    break
        response = FileResponse(
            served,
            status_code=status_code,
            stat_result=served_stat,
            media_type=media_type(path),
            headers=headers,
        )
        if self.is_not_modified(response.headers, request_headers):
            return NotModifiedResponse(response.headers)
        return response
