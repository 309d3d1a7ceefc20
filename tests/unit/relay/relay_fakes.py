"""Fakes for the relay tests: uvicorn servers in threads and scripted upstreams on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from cloche_server.relay.config import Limits, ModelRoute, Provider, RelayConfig

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-fedcba9876543210"
WAIT = 20.0  # seconds: generous bounds, so a slow machine fails only a broken relay


class ServerThread:
    """uvicorn serving `app` on 127.0.0.1 at a free port, in a thread, until `stop()`."""

    def __init__(self, app: ASGIApp) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_config=None,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + WAIT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "test server did not stop"


@dataclass
class Reply:
    """A whole JSON answer."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Stream:
    """An SSE answer: bytes are sent as they are; a threading.Event holds the rest back until set.

    `finished` is set when every part was sent, `cancelled` when the client went away first.
    """

    parts: list[bytes | threading.Event | float]
    status: int = 200
    finished: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class FakeUpstream:
    """An upstream whose answers each test scripts in order; it records every request it saw."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.script: list[Reply | Stream] = []
        self.fallback: Callable[[Any], Reply | Stream] | None = None
        self.seen: list[Seen] = []
        self.app = Starlette(routes=[Route(path, self.handle, methods=["POST"])])
        self.url = ""

    def reset(self) -> None:
        self.script.clear()
        self.seen.clear()
        self.fallback = None

    def then(self, *answers: Reply | Stream) -> None:
        self.script.extend(answers)

    async def handle(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        self.seen.append(Seen(request.url.path, dict(request.headers), body))
        if self.script:
            answer = self.script.pop(0)
        elif self.fallback is not None:
            answer = self.fallback(body)
        else:
            return JSONResponse({"error": {"message": "unscripted request"}}, status_code=500)
        if isinstance(answer, Reply):
            if answer.delay:
                await asyncio.sleep(answer.delay)
            return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)
        return StreamingResponse(
            self._parts(answer), status_code=answer.status, media_type="text/event-stream"
        )

    async def _parts(self, stream: Stream) -> AsyncIterator[bytes]:
        try:
            for part in stream.parts:
                if isinstance(part, bytes):
                    yield part
                elif isinstance(part, float):
                    await asyncio.sleep(part)
                else:
                    deadline = time.monotonic() + WAIT
                    while not part.is_set() and time.monotonic() < deadline:
                        await asyncio.sleep(0.005)
            stream.finished.set()
        finally:
            if not stream.finished.is_set():
                stream.cancelled.set()


def openai_events(*chunks: dict[str, Any], done: bool = True) -> list[bytes]:
    parts = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks]
    return [*parts, b"data: [DONE]\n\n"] if done else parts


def anthropic_events(*events: dict[str, Any]) -> list[bytes]:
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]


def openai_completion(content: str = "Hello there.", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up",
        "object": "chat.completion",
        "created": 1,
        "model": "upstream-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        **extra,
    }


def anthropic_message(*content: dict[str, Any], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-upstream",
        "content": list(content) or [{"type": "text", "text": "Hello from Claude."}],
        "stop_reason": stop,
        "usage": {"input_tokens": 11, "output_tokens": 5},
    }


def relay_config(
    openai_url: str, anthropic_url: str, *, limits: Limits | None = None, **security: Any
) -> RelayConfig:
    openai = Provider("fake-openai", "openai", openai_url, OPENAI_KEY)
    anthropic = Provider("fake-anthropic", "anthropic", anthropic_url, ANTHROPIC_KEY)
    limits = limits or Limits(requests_per_minute=10_000, tokens_per_minute=10_000_000)
    models = {
        "gpt": ModelRoute("gpt", openai, "upstream-model", limits.max_tokens),
        "claude": ModelRoute("claude", anthropic, "claude-upstream", limits.max_tokens),
    }
    return RelayConfig(models=models, limits=limits, source="test", **security)


StartRelay = Callable[..., str]  # start_relay(config=None, **relay_config options) -> URL
