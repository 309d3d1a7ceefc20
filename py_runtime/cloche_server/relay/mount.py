"""Everything under /v1 as one route of the app, so that every answer there is the relay's own.

A `Mount("/v1")` alone would let some requests fall through to the static files (Starlette's path
patterns do not match a newline, so `/v1/models/a%0d%0ab` would get the static handler's plain-text
404), and Starlette's CORS refusals are plain text too. Here any path under /v1 reaches the relay,
and every refusal is an OpenAI-format error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers, URLPath
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import PERMISSION, OpenAIErrorMiddleware, RelayError

PREFIX = "/v1"
CORS_HEADERS = ("access-control-", "vary")


def is_relay_path(scope: Scope) -> bool:
    """Whether the request is for the relay: its path (below any root path) is /v1 or under it."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    return path == PREFIX or path.startswith(PREFIX + "/")


def origin_not_allowed(origin: str) -> RelayError:
    return RelayError(
        403,
        f"Requests from the origin {origin} are not allowed by this relay; its operator can "
        "add it to security.cors_origins.",
        type=PERMISSION,
        code="origin_not_allowed",
    )


class RelayCORSMiddleware(CORSMiddleware):
    """Starlette's CORS for the allow-listed origins, with refused preflights as OpenAI errors:
    403 `origin_not_allowed` for an origin off the list, 400 `cors_preflight_refused` for a
    method or a private-network request it does not allow."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            expose_headers=["Retry-After"] if origins else [],
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        origin = request_headers["origin"]
        if not self.is_allowed_origin(origin):
            return origin_not_allowed(origin).response()
        # Starlette's text is "Disallowed CORS method, private-network", say.
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        asked = request_headers["access-control-request-method"]
        headers = {
            name: value for name, value in response.headers.items() if name.startswith(CORS_HEADERS)
        }
        return RelayError(
            400,
            f"This relay's CORS rules refuse the preflight's {refused} (it asked for {asked}); "
            "they allow the methods GET and POST, any headers, and no private-network access.",
            code="cors_preflight_refused",
            headers=headers,
        ).response()


class RelayRoute(BaseRoute):
    """Matches every path under /v1, whatever characters it holds, and hands it to the relay."""

    def __init__(self, routes: Sequence[BaseRoute], cors_origins: Sequence[str]) -> None:
        # Unmatched paths and methods raise HTTPException, which the error middleware turns into
        # OpenAI errors; no slash redirects, so /v1 is a 404 like any unknown path.
        router = Router([Mount(PREFIX, routes=list(routes))], redirect_slashes=False)
        self.app: ASGIApp = RelayCORSMiddleware(OpenAIErrorMiddleware(router), cors_origins)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and is_relay_path(scope):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
