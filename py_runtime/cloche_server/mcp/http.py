"""`cloche mcp --http`: MCP's Streamable HTTP transport at `/mcp`, safe to expose.

Every request is checked before its body is read: its Host must be one of the server's names and
an Origin, if it has one, must be one the operator allowed (DNS rebinding: a web page that points
its own name at this address sends that name in both); it must carry a bearer token the server
knows; and each client gets the relay's request rate. Bodies are capped. Sessions are bounded in
number and in idle time: the least recently seen idle session makes room for a new one.

A tools/call is answered as a server-sent event stream (its progress, then its result); every other
request as JSON. Messages not tied to a call go on the session's GET stream when it has one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from cloche._jsonrpc import INVALID_REQUEST, PARSE_ERROR, RpcError, error_response
from cloche.server import PROTOCOL_VERSIONS

from ..allowed_hosts import AllowedHosts
from ..relay.errors import RelayError
from ..relay.limits import RateLimiter, read_body
from .service import McpService, Session

PATH = "/mcp"
SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"
# The session header's value is the server's own random id: a browser client needs to read it.
EXPOSED_HEADERS = {"Access-Control-Expose-Headers": "Mcp-Session-Id"}
KEEPALIVE_S = 15.0


@dataclass(frozen=True)
class HttpLimits:
    max_body_bytes: int = 4 * 1024 * 1024
    requests_per_minute: int = 600
    max_sessions: int = 16
    idle_seconds: float = 30 * 60


@dataclass(frozen=True)
class HttpSecurity:
    hosts: AllowedHosts
    origins: frozenset[str] = frozenset()
    tokens: tuple[str, ...] = ()

    def token_ok(self, header: str | None) -> bool:
        if not self.tokens:
            return True
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return False
        return any(hmac.compare_digest(given.strip(), token) for token in self.tokens)


def _rpc_error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = error_response(None, RpcError(code, message))
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class _Channel:
    """Where one HTTP session's messages go: the stream of the call they belong to (progress by
    its token), else the GET stream, else the latest call's stream; else they are dropped."""

    calls: dict[str, asyncio.Queue[str]] = field(default_factory=dict)
    standalone: asyncio.Queue[str] | None = None

    def send(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return
        params = message.get("params") if isinstance(message, dict) else None
        token = params.get("progressToken") if isinstance(params, dict) else None
        if message.get("method") == "notifications/progress" and str(token) in self.calls:
            self.calls[str(token)].put_nowait(text)
        elif self.standalone is not None:
            self.standalone.put_nowait(text)
        elif self.calls:
            next(reversed(self.calls.values())).put_nowait(text)


@dataclass
class _HttpSession:
    session: Session
    channel: _Channel


def _sse(text: str) -> bytes:
    return f"event: message\ndata: {text}\n\n".encode()


class McpHttpApp:
    def __init__(self, service: McpService, security: HttpSecurity, limits: HttpLimits) -> None:
        self.service = service
        self.security = security
        self.limits = limits
        self.rate = RateLimiter(limits.requests_per_minute, 1 << 62)
        self.sessions: dict[str, _HttpSession] = {}
        self._reaper: asyncio.Task[None] | None = None
        self.app = Starlette(
            routes=[Route(PATH, self.endpoint, methods=["GET", "POST", "DELETE"])],
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.service.start()
        self._reaper = asyncio.ensure_future(self._reap())
        try:
            yield
        finally:
            self._reaper.cancel()
            await self.service.close()

    # -- checks ------------------------------------------------------------------------------------

    def _refusal(self, request: Request) -> Response | None:
        host_problem = self.security.hosts.refusal(request.headers.get("host"), "cloche mcp")
        if host_problem is not None:
            return _rpc_error(403, INVALID_REQUEST, f"Forbidden: {host_problem}")
        origin = request.headers.get("origin")
        if origin is not None and origin not in self.security.origins:
            return _rpc_error(
                403,
                INVALID_REQUEST,
                f"Forbidden: requests from the web origin {origin} are refused; the operator can "
                "allow one with `cloche mcp --allowed-origin ORIGIN`",
            )
        if not self.security.token_ok(request.headers.get("authorization")):
            return _rpc_error(
                401,
                INVALID_REQUEST,
                "Unauthorized: send `Authorization: Bearer <token>` with a token this server "
                "was started with ($CLOCHE_MCP_TOKEN, --token-file, or the one it printed at "
                "start)",
                {"WWW-Authenticate": 'Bearer realm="cloche-mcp"'},
            )
        client = request.headers.get("authorization") or (
            request.client.host if request.client else "?"
        )
        try:
            self.rate.admit(client, 0)
        except RelayError as error:
            return _rpc_error(429, INVALID_REQUEST, error.message, error.headers)
        return None

    def _session_of(self, request: Request) -> _HttpSession | Response:
        session_id = request.headers.get(SESSION_HEADER)
        if not session_id:
            return _rpc_error(
                400,
                INVALID_REQUEST,
                "Bad Request: no Mcp-Session-Id header; start a session with initialize first",
            )
        found = self.sessions.get(session_id)
        if found is None:
            return _rpc_error(
                404,
                INVALID_REQUEST,
                "Session not found: it ended or expired; start a new one with initialize",
            )
        version = request.headers.get(VERSION_HEADER)
        if version is not None and version not in PROTOCOL_VERSIONS:
            return _rpc_error(
                400,
                INVALID_REQUEST,
                f"Bad Request: unsupported MCP-Protocol-Version {version}; this server speaks "
                + ", ".join(PROTOCOL_VERSIONS),
            )
        found.session.last_seen = time.monotonic()
        return found

    # -- the endpoint ------------------------------------------------------------------------------

    async def endpoint(self, request: Request) -> Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        if request.method == "POST":
            return await self._post(request)
        found = self._session_of(request)
        if isinstance(found, Response):
            return found
        if request.method == "DELETE":
            await self._end(found.session.id)
            return Response(status_code=204)
        return self._get(found, request)

    async def _post(self, request: Request) -> Response:
        accept = request.headers.get("accept", "")
        if "application/json" not in accept or "text/event-stream" not in accept:
            return _rpc_error(
                406,
                INVALID_REQUEST,
                "Not Acceptable: a client must accept both application/json and text/event-stream",
            )
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _rpc_error(415, INVALID_REQUEST, "Unsupported Media Type: send application/json")
        try:
            body = await read_body(request, self.limits.max_body_bytes, "this MCP server")
        except RelayError as error:
            return _rpc_error(error.status_code, INVALID_REQUEST, error.message)
        try:
            message = json.loads(body)
        except ValueError as error:
            return _rpc_error(400, PARSE_ERROR, f"Parse error: {error}")
        if not isinstance(message, dict):
            return _rpc_error(
                400, INVALID_REQUEST, "Invalid Request: send one JSON-RPC message, not a batch"
            )
        text = body.decode("utf-8")
        if message.get("method") == "initialize":
            return await self._initialize(text)
        found = self._session_of(request)
        if isinstance(found, Response):
            return found
        if "id" not in message or "method" not in message:
            # A notification or a response: accepted, nothing to answer here.
            await found.session.handle(text)
            return Response(status_code=202)
        if message.get("method") != "tools/call":
            reply = await found.session.handle(text)
            return Response(reply or "", media_type="application/json")
        return self._stream_call(found, message, text)

    async def _initialize(self, text: str) -> Response:
        if len(self.sessions) >= self.limits.max_sessions and not await self._make_room():
            return _rpc_error(
                503,
                INVALID_REQUEST,
                f"Too many sessions: this server keeps at most {self.limits.max_sessions} and all "
                "are busy; try again shortly, or end sessions you no longer use",
            )
        channel = _Channel()
        session = self.service.open_session(channel.send)
        reply = await session.handle(text)
        if reply is None or session.server.protocol_version is None:
            await self.service.close_session(session.id)
            return Response(reply or "", media_type="application/json", status_code=400)
        self.sessions[session.id] = _HttpSession(session, channel)
        headers = {"Mcp-Session-Id": session.id, **EXPOSED_HEADERS}
        return Response(reply, media_type="application/json", headers=headers)

    def _stream_call(self, found: _HttpSession, message: dict[str, Any], text: str) -> Response:
        params = message.get("params")
        meta = params.get("_meta") if isinstance(params, dict) else None
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        key = str(token) if token is not None else f"call-{id(message)}"
        queue: asyncio.Queue[str] = asyncio.Queue()
        found.channel.calls[key] = queue

        async def events() -> AsyncIterator[bytes]:
            call = asyncio.ensure_future(found.session.handle(text))
            try:
                while True:
                    waiter = asyncio.ensure_future(queue.get())
                    done, _ = await asyncio.wait(
                        {call, waiter}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED
                    )
                    if waiter in done:
                        yield _sse(waiter.result())
                        continue
                    waiter.cancel()
                    if call in done:
                        while not queue.empty():
                            yield _sse(queue.get_nowait())
                        reply = call.result()
                        if reply is not None:
                            yield _sse(reply)
                        return
                    yield b": keep-alive\n\n"
            finally:
                found.channel.calls.pop(key, None)
                # A client that went away does not cancel its call (the transport's rule);
                # the call ends on its own or at its deadline.

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", **EXPOSED_HEADERS},
        )

    def _get(self, found: _HttpSession, request: Request) -> Response:
        if "text/event-stream" not in request.headers.get("accept", ""):
            return _rpc_error(
                406, INVALID_REQUEST, "Not Acceptable: the GET stream is text/event-stream"
            )
        if found.channel.standalone is not None:
            return _rpc_error(
                409, INVALID_REQUEST, "Conflict: this session already has its GET stream open"
            )
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        found.channel.standalone = queue

        async def events() -> AsyncIterator[bytes]:
            try:
                while found.session.id in self.sessions:
                    try:
                        text = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    yield _sse(text)
            finally:
                if found.channel.standalone is queue:
                    found.channel.standalone = None

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    # -- bounds ------------------------------------------------------------------------------

    async def _end(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)
        await self.service.close_session(session_id)

    def _idle(self) -> Iterable[_HttpSession]:
        return sorted(
            (s for s in self.sessions.values() if not s.session.busy),
            key=lambda s: s.session.last_seen,
        )

    async def _make_room(self) -> bool:
        for idle in self._idle():
            await self._end(idle.session.id)
            return True
        return False

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, self.limits.idle_seconds / 2))
            now = time.monotonic()
            for idle in list(self._idle()):
                if now - idle.session.last_seen > self.limits.idle_seconds:
                    await self._end(idle.session.id)
