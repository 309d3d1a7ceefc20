"""The Starlette app: the built dist as static files, with the headers isolation needs."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloche import __version__

from .static import DistFiles

# Cross-origin isolation (COOP + COEP) lets the page and its workers use SharedArrayBuffer, which
# Pyodide's interrupt buffer needs to stop a busy tool.
SECURITY_HEADERS = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-embedder-policy", b"require-corp"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "cloche": __version__})


def create_app(dist: Path) -> Starlette:
    if not (dist / "index.html").is_file():
        raise FileNotFoundError(f"{dist} holds no built app: run `cloche build` first")
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Mount("/", DistFiles(directory=dist, html=True)),
        ],
        middleware=[Middleware(SecurityHeadersMiddleware)],
    )
