"""`cloche mcp` over stdio: one JSON-RPC message per line on stdin and stdout (MCP's stdio
transport), one server for the life of the process. It answers a 2025 session (after
`initialize`) and 2026-07-28 requests alike, even interleaved on the same stdin: their request ids
are the one client's. Nothing else is ever written to stdout; what the server has to say goes to
stderr."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import BinaryIO

from cloche._jsonrpc import INVALID_REQUEST, RpcError, encode, error_response

from .service import McpService

MAX_LINE_BYTES = 16 * 1024 * 1024


def _too_long() -> str:
    fault = RpcError(
        INVALID_REQUEST,
        f"Invalid Request: the message is longer than {MAX_LINE_BYTES} bytes, the most this "
        "server reads; send large inputs in smaller pieces",
    )
    return encode(error_response(None, fault))


async def serve_stdio(service: McpService, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Answer MCP on these streams until stdin ends; then end every call and process."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE_BYTES)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)

    def send(text: str) -> None:
        stdout.write(text.encode() + b"\n")
        stdout.flush()

    session = service.open_session(send)
    service.start()
    running: set[asyncio.Task[None]] = set()

    async def answer(line: str) -> None:
        reply = await session.handle(line)
        if reply is not None:
            send(reply)

    try:
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as end:
                line = end.partial
                if not line.strip():
                    break
            except asyncio.LimitOverrunError as overrun:
                await _skip_line(reader, overrun.consumed)
                send(_too_long())
                continue
            text = line.decode("utf-8", "replace").strip()
            if not text:
                continue
            task = asyncio.ensure_future(answer(text))
            running.add(task)
            task.add_done_callback(running.discard)
    finally:
        # stdin ended: open subscriptions are answered (their graceful end), calls are cancelled.
        await service.end_subscriptions()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await service.close()


async def _skip_line(reader: asyncio.StreamReader, consumed: int) -> None:
    """Drop the rest of a line that is over the limit, up to its newline."""
    await reader.readexactly(consumed)
    while True:
        try:
            await reader.readuntil(b"\n")
            return
        except asyncio.LimitOverrunError as overrun:
            await reader.readexactly(overrun.consumed)
        except asyncio.IncompleteReadError:
            return


def run_stdio(service: McpService) -> int:
    # The protocol's stdout is kept here; anything printed (by this process or a library) goes
    # to stderr instead, so it cannot break a message.
    stdout = sys.stdout.buffer
    sys.stdout = sys.stderr
    print(service.describe(), file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_stdio(service, sys.stdin.buffer, stdout))
    return 0
