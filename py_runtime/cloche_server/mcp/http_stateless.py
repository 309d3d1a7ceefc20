"""MCP 2026-07-28 over `cloche mcp --http`: each request on its own, with no session.

A modern request's HTTP headers mirror its body (`MCP-Protocol-Version`, `Mcp-Method`, and
`Mcp-Name` for a named call); they are compared with it between the envelope's first check and its
version check, as the official SDKs do, and a request whose headers disagree is refused with
HeaderMismatch (-32020). Errors go back as JSON with the HTTP status the SDKs give their code (400
for a malformed envelope, a mismatch or an unsupported version, 404 for an unknown method).

`StatelessExchange` answers one request: a call's progress and logs, or a subscription's
notifications, go on its own event stream, then its reply; the client closing that stream cancels
the request (the 2026-07-28 HTTP transport has no `notifications/cancelled`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from cloche._envelope import (
    HEADER_MISMATCH,
    MISSING_CAPABILITY,
    PROTOCOL_VERSION_KEY,
    check_envelope,
    envelope_meta,
)
from cloche._envelope import UNSUPPORTED_VERSION as UNSUPPORTED_VERSION_CODE
from cloche._jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RequestId,
    RpcError,
    error_response,
    is_request_id,
)
from cloche.server import McpServer

VERSION_HEADER = "mcp-protocol-version"
METHOD_HEADER = "mcp-method"
NAME_HEADER = "mcp-name"
SHOWN = {
    VERSION_HEADER: "MCP-Protocol-Version",
    METHOD_HEADER: "Mcp-Method",
    NAME_HEADER: "Mcp-Name",
}
# The body field each named method mirrors in Mcp-Name (the SDKs' table).
NAMED_BY = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEPALIVE_S = 15.0

# The HTTP status of a JSON-RPC error answered as JSON: the official SDKs' table (mcp
# `shared/inbound.py`); any other code (an internal error) is 200.
ERROR_STATUS = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    MISSING_CAPABILITY: 400,
    UNSUPPORTED_VERSION_CODE: 400,
    METHOD_NOT_FOUND: 404,
}

_BASE64_SENTINEL = re.compile(r"=\?base64\?(?P<payload>.*)\?=")


def sse(text: str) -> bytes:
    return f"event: message\ndata: {text}\n\n".encode()


def status_of(reply: str | None) -> int:
    """The HTTP status for a reply sent as JSON."""
    try:
        error = json.loads(reply or "{}").get("error")
    except (ValueError, AttributeError):
        return 200
    code = error.get("code") if isinstance(error, dict) else None
    return ERROR_STATUS.get(code, 200) if isinstance(code, int) else 200


def decode_header_value(value: str) -> str | None:
    """A header value as sent: `=?base64?...?=` decoded (None if that is malformed), else as is."""
    wrapped = _BASE64_SENTINEL.fullmatch(value)
    if wrapped is None:
        return value
    payload = wrapped.group("payload")
    try:
        decoded = base64.b64decode(payload, validate=True)
        if base64.b64encode(decoded).decode("ascii") != payload:
            return None  # not the canonical form a client writes
        return decoded.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _mismatch(text: str) -> RpcError:
    return RpcError(HEADER_MISMATCH, f"Header mismatch: {text}")


def check_headers(headers: Headers, message: dict[str, Any], meta: dict[str, Any]) -> None:
    """Raise HeaderMismatch unless the routing headers are each sent once and match the body."""
    for name, shown in SHOWN.items():
        if len(headers.getlist(name)) > 1:
            raise _mismatch(f"the {shown} header appears more than once")
    method = message.get("method")
    expected: list[tuple[str, Any, str]] = [
        (VERSION_HEADER, meta[PROTOCOL_VERSION_KEY], f"params._meta[{PROTOCOL_VERSION_KEY!r}]"),
        (METHOD_HEADER, method, "the request's method"),
    ]
    field = NAMED_BY.get(method) if isinstance(method, str) else None
    params = message.get("params")
    if field is not None and isinstance(params, dict) and params.get(field) is not None:
        expected.append((NAME_HEADER, params[field], f"params.{field}"))
    for name, body_value, where in expected:
        given = headers.get(name)
        if given is None:
            raise _mismatch(
                f"the {SHOWN[name]} header is missing; send {where} ({body_value!r}) in it"
            )
        decoded = decode_header_value(given) if name == NAME_HEADER else given
        if decoded is None:
            raise _mismatch(
                f"the {SHOWN[name]} header {given!r} is a malformed =?base64?...?= value"
            )
        if decoded != body_value:
            raise _mismatch(
                f"the {SHOWN[name]} header {decoded!r} does not match {where} {body_value!r}"
            )


def ladder_refusal(headers: Headers, message: dict[str, Any]) -> JSONResponse | None:
    """The answer to a modern request that fails its checks (envelope, headers, version), in the
    SDKs' order; None if it passes them."""
    request_id = message.get("id")
    if not is_request_id(request_id):
        fault = RpcError(INVALID_REQUEST, "Invalid Request: id must be a string or an integer")
        return JSONResponse(error_response(None, fault), status_code=400)
    params = message.get("params")
    try:
        check_headers(headers, message, envelope_meta(params))
        check_envelope(params)
    except RpcError as fault:
        status = ERROR_STATUS.get(fault.code, 400)
        return JSONResponse(error_response(request_id, fault), status_code=status)
    return None


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class StatelessExchange:
    """One 2026-07-28 request answered by its own `McpServer` (an ASGI response).

    Its messages are sent as server-sent events as they come; a reply with nothing before it is
    sent as JSON with its status instead, unless `stream_result` (a tools/call's result is always
    an event stream). The client closing the connection cancels the request.
    """

    def __init__(
        self,
        server: McpServer,
        request_id: RequestId,
        text: str,
        *,
        stream_result: bool,
        scope: AbstractContextManager[Any] | None = None,
        keep: Callable[[asyncio.Future[Any]], None] | None = None,
    ) -> None:
        self.server = server
        self.request_id = request_id
        self.text = text
        self.stream_result = stream_result
        self.scope = scope or contextlib.nullcontext()
        self.keep = keep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.scope:
            await self._exchange(receive, send)

    async def _exchange(self, receive: Receive, send: Send) -> None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        call = asyncio.ensure_future(self.server.handle_async(self.text, queue.put_nowait))
        gone = asyncio.ensure_future(_disconnected(receive))
        streaming = False
        waiter: asyncio.Future[str] | None = None

        async def stream(chunk: bytes) -> None:
            nonlocal streaming
            if not streaming:
                streaming = True
                headers = [(b"content-type", b"text/event-stream")] + [
                    (name.lower().encode(), value.encode()) for name, value in SSE_HEADERS.items()
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        try:
            while True:
                waiter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {call, waiter, gone}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED
                )
                if waiter in done:
                    await stream(sse(waiter.result()))
                    continue
                waiter.cancel()
                if gone in done:
                    return  # the client closed the stream: the finally cancels the request
                if call not in done:
                    await stream(b": keep-alive\n\n")
                    continue
                while not queue.empty():
                    await stream(sse(queue.get_nowait()))
                reply = call.result()
                if streaming or (self.stream_result and status_of(reply) == 200):
                    await stream(sse(reply) if reply is not None else b"")
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                else:
                    await _send_json(send, reply)
                return
        finally:
            gone.cancel()
            if waiter is not None:
                waiter.cancel()
            if not call.done():
                self.server.cancel(self.request_id, "the client closed the request's stream")
                if self.keep is not None:
                    self.keep(call)


async def _send_json(send: Send, reply: str | None) -> None:
    body = (reply or "").encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status_of(reply), "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
