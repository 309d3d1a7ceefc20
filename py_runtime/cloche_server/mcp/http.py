"""`cloche mcp --http`: MCP's Streamable HTTP transport at `/mcp`, safe to expose.

Every request is checked before its body is read: its Host must be one of the server's names and
an Origin, if it has one, must be one the operator allowed (DNS rebinding: a web page that points
its own name at this address sends that name in both); it must carry a bearer token the server
knows; and each client gets the relay's request rate. Bodies are capped. Sessions are bounded in
number and in idle time: the least recently seen idle session makes room for a new one.

Both protocol eras are served at `/mcp`. A 2025 client opens a session with `initialize` and sends
its Mcp-Session-Id after that: a tools/call is answered as a server-sent event stream (its progress,
then its result), every other request as JSON, and messages not tied to a call go on the session's
GET stream when it has one. A 2026-07-28 request carries its protocol version in `params._meta` and
no session: it is answered on its own (`http_stateless`). A request with neither is refused with an
error that names both ways in, and is not one of 2026-07-28's own codes, so a client that probed
with a half-built modern request falls back to `initialize`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from cloche._envelope import (
    CLIENT_CAPABILITIES_KEY,
    MODERN_PROTOCOL_VERSIONS,
    PROTOCOL_VERSION_KEY,
    is_modern,
)
from cloche._jsonrpc import (
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
    error_response,
)
from cloche.server import PROTOCOL_VERSIONS

from ..allowed_hosts import AllowedHosts
from ..relay.errors import RelayError
from ..relay.limits import RateLimiter, read_body
from .http_stateless import (
    KEEPALIVE_S,
    SSE_HEADERS,
    VERSION_HEADER,
    StatelessExchange,
    ladder_refusal,
    sse,
)
from .service import McpService, Session

PATH = "/mcp"
SESSION_HEADER = "mcp-session-id"
# The session header's value is the server's own random id: a browser client needs to read it.
EXPOSED_HEADERS = {"Access-Control-Expose-Headers": "Mcp-Session-Id"}
NEITHER_ERA = (
    "Bad Request: this request belongs to no session and is not a 2026-07-28 request. Either "
    "start a session with initialize (2025-11-25, 2025-06-18, 2025-03-26) and send its "
    "Mcp-Session-Id header after that, or send MCP 2026-07-28 requests, each carrying "
    f"params._meta[{PROTOCOL_VERSION_KEY!r}] and params._meta[{CLIENT_CAPABILITIES_KEY!r}]"
)


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

    def client_key(self, header: str | None) -> str:
        """Whose python.run sessions a 2026-07-28 request reaches.

        That revision has no session, so the named python.run sessions of modern clients are kept
        per credential: every client sending the same bearer token shares them (they are the same
        operator's), clients with different tokens never reach each other's, and with --no-token
        (loopback only) all modern clients share one set. The key holds a hash, not the token.
        A 2025 client's sessions stay its own, keyed by its Mcp-Session-Id.
        """
        if not self.tokens:
            return "modern:no-token"
        given = (header or "").partition(" ")[2].strip()
        return "modern:" + hashlib.sha256(given.encode()).hexdigest()[:32]


def _modern_initialize(request: Request, message: dict[str, Any]) -> bool:
    """An `initialize` sent the 2026-07-28 way (that revision has no such method): with the
    envelope, or with that revision's header, which no 2025 client sends on initialize."""
    if message.get("method") != "initialize":
        return False
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return request.headers.get(VERSION_HEADER) in MODERN_PROTOCOL_VERSIONS or (
        isinstance(meta, dict) and PROTOCOL_VERSION_KEY in meta
    )


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


class McpHttpApp:
    def __init__(self, service: McpService, security: HttpSecurity, limits: HttpLimits) -> None:
        self.service = service
        self.security = security
        self.limits = limits
        self.rate = RateLimiter(limits.requests_per_minute, 1 << 62)
        self.sessions: dict[str, _HttpSession] = {}
        self.closing = asyncio.Event()
        # Modern calls whose client went away: they end on their own once cancelled.
        self._abandoned: set[asyncio.Future[Any]] = set()
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
            await self.end_streams()
            await self.service.close()

    async def end_streams(self) -> None:
        """End the open streams before the server stops: each subscription is answered (its
        graceful end), and the sessions' GET streams end; no new subscription is taken."""
        self.closing.set()
        await self.service.end_subscriptions()

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

    async def endpoint(self, request: Request) -> Response | StatelessExchange:
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

    async def _post(self, request: Request) -> Response | StatelessExchange:
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
            if _modern_initialize(request, message):
                return self._stateless(request, message, text)  # answered 404, as the SDKs do
            return await self._initialize(text)
        if not request.headers.get(SESSION_HEADER):
            if is_modern(message):
                return self._stateless(request, message, text)
            if "id" not in message and request.headers.get(VERSION_HEADER) in (
                MODERN_PROTOCOL_VERSIONS
            ):
                # A 2026-07-28 notification: over HTTP that revision gives a client nothing to
                # notify (it cancels by closing a stream), so it is accepted and dropped, as the
                # SDKs do; a cancel by request id could reach another client's request.
                return Response(status_code=202)
            return _rpc_error(400, INVALID_REQUEST, NEITHER_ERA)
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

    def _stateless(
        self, request: Request, message: dict[str, Any], text: str
    ) -> Response | StatelessExchange:
        """A 2026-07-28 request: the header ladder, the envelope, then a server of its own."""
        if "id" not in message:
            return Response(status_code=202)  # a notification with an envelope: dropped too
        refusal = ladder_refusal(request.headers, message)
        if refusal is not None:
            return refusal
        if message.get("method") == "initialize":
            fault = RpcError(
                METHOD_NOT_FOUND,
                "Method not found: initialize (MCP 2026-07-28 has none: each request carries "
                "its own envelope; a 2025 client sends initialize without one, and no "
                "MCP-Protocol-Version header)",
            )
            return JSONResponse(error_response(message["id"], fault), status_code=404)
        listening = message.get("method") == "subscriptions/listen"
        if listening and self.closing.is_set():
            return _rpc_error(503, INVALID_REQUEST, "Service Unavailable: the server is stopping")
        if listening and len(self.service.listeners) >= self.limits.max_sessions:
            return _rpc_error(
                503,
                INVALID_REQUEST,
                f"Too many subscriptions: this server keeps at most {self.limits.max_sessions} "
                "open; end one you no longer use",
            )
        client = self.security.client_key(request.headers.get("authorization"))
        # A server per request: request ids of different clients never meet, and nothing is
        # kept between requests but the python.run sessions of this client's key.
        server = self.service.request_server(client)
        return StatelessExchange(
            server,
            message["id"],
            text,
            stream_result=message.get("method") == "tools/call",
            scope=self.service.listening(server, client) if listening else None,
            keep=self._keep,
        )

    def _keep(self, call: asyncio.Future[Any]) -> None:
        self._abandoned.add(call)
        call.add_done_callback(self._abandoned.discard)

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
                        yield sse(waiter.result())
                        continue
                    waiter.cancel()
                    if call in done:
                        while not queue.empty():
                            yield sse(queue.get_nowait())
                        reply = call.result()
                        if reply is not None:
                            yield sse(reply)
                        return
                    yield b": keep-alive\n\n"
            finally:
                found.channel.calls.pop(key, None)
                # A client that went away does not cancel its call (the transport's rule);
                # the call ends on its own or at its deadline.

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={**SSE_HEADERS, **EXPOSED_HEADERS}
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
            closing = asyncio.ensure_future(self.closing.wait())
            waiter: asyncio.Future[str] | None = None
            try:
                while found.session.id in self.sessions:
                    waiter = asyncio.ensure_future(queue.get())
                    done, _ = await asyncio.wait(
                        {waiter, closing}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED
                    )
                    if waiter in done:
                        yield sse(waiter.result())
                        continue
                    waiter.cancel()
                    if closing in done:
                        return
                    yield b": keep-alive\n\n"
            finally:
                closing.cancel()
                if waiter is not None:
                    waiter.cancel()
                if found.channel.standalone is queue:
                    found.channel.standalone = None

        return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)

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


def serve(app: McpHttpApp, host: str, port: int, log_level: str) -> None:
    """Run `app` under uvicorn until it is told to stop (Ctrl+C, SIGTERM).

    uvicorn waits for open responses to end before it stops, and a subscription's stream does not
    end on its own: the streams are ended first, gracefully.
    """
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await app.end_streams()
            await super().shutdown(sockets)

    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises it again once it has stopped
        Server(uvicorn.Config(app.app, host=host, port=port, log_level=log_level)).run()
