"""The response that carries one chat call: it runs the upstream call as the response is sent.

It holds a concurrency slot for as long as the upstream is busy, passes stream events on as they
arrive, and stops the upstream request as soon as the client goes away.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable

import anyio
import httpx
from starlette.types import Receive, Scope, Send

from ._log import logger
from .call import ChatCall, Upstream
from .errors import SERVER, RelayError
from .limits import ConcurrencyGate

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # ask nginx-like proxies not to buffer the stream
]


class RelayedCall:
    def __init__(
        self,
        call: ChatCall,
        upstream: Upstream,
        client: httpx.AsyncClient,
        gate: ConcurrencyGate,
        on_done: Callable[[ChatCall, int, bool], None],
    ) -> None:
        self.call = call
        self.upstream = upstream
        self.client = client
        self.gate = gate
        self.on_done = on_done
        self.status = 0
        self.disconnected = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            self.gate.enter()
        except RelayError as error:
            self.status = error.status_code
            await error.response()(scope, receive, send)
            self.on_done(self.call, self.status, False)
            return
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._watch_disconnect, receive, group.cancel_scope)
                if self.call.stream:
                    await self._stream(scope, receive, send)
                else:
                    await self._complete(scope, receive, send)
                group.cancel_scope.cancel()
        finally:
            self.gate.leave()
            self.on_done(self.call, self.status, self.disconnected)

    async def _watch_disconnect(self, receive: Receive, scope: anyio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.disconnected = True
        scope.cancel()

    async def _complete(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            completion = await self.upstream.complete(self.client, self.call)
        except RelayError as error:
            self.status = error.status_code
            await error.response()(scope, receive, send)
            return
        self.status = 200
        body = json.dumps(completion).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        events = self.upstream.stream(self.client, self.call)
        try:
            try:
                first = await anext(events)
            except RelayError as error:
                self.status = error.status_code
                await error.response()(scope, receive, send)
                return
            except StopAsyncIteration:
                first = b""
            self.status = 200
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            await self._send_body(send, first)
            await self._pump(events, send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            # Shielded so the upstream connection is closed even when the client went away.
            with anyio.CancelScope(shield=True):
                await events.aclose()

    async def _pump(self, events: AsyncGenerator[bytes], send: Send) -> None:
        try:
            async for chunk in events:
                await self._send_body(send, chunk)
        except RelayError as error:
            self.status = error.status_code
            await self._send_body(send, error.sse_event())
        except Exception:
            logger.exception("relay: stream for %s failed", self.call.alias)
            self.status = 500
            failure = RelayError(500, "The relay failed while streaming.", type=SERVER)
            await self._send_body(send, failure.sse_event())

    @staticmethod
    async def _send_body(send: Send, chunk: bytes) -> None:
        if chunk:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
