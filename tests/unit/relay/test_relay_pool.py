"""The relay's upstream connection pool: room for every call it admits, few idle connections kept.

httpcore's pool spends time on every request in proportion to the square of its idle connections,
so after a burst the relay keeps only IDLE_CONNECTIONS_KEPT of them open (scripts/bench_relay.py
times the difference; these tests check the mechanism, not the time).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from relay_fakes import WAIT, ServerThread, openai_completion, openai_events
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from cloche_server.app import create_app
from cloche_server.relay.config import Limits, ModelRoute, Provider, RelayConfig
from cloche_server.relay.upstream_http import IDLE_CONNECTIONS_KEPT, pool_limits

BURST = 3 * IDLE_CONNECTIONS_KEPT
HELLO = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
CHUNK = {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": None}]}
LAST = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


class HoldingUpstream:
    """An OpenAI-compatible upstream that holds every stream open until `burst` streams were open
    at once, and notes the client port of each request (one port per connection)."""

    def __init__(self, burst: int) -> None:
        self.burst = burst
        self.open = 0
        self.peak = 0
        self.ports: list[int] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        body = await request.json()
        assert request.client is not None
        self.ports.append(request.client.port)
        if body.get("stream") is not True:
            return JSONResponse(openai_completion())
        return StreamingResponse(self._parts(), media_type="text/event-stream")

    async def _parts(self) -> AsyncIterator[bytes]:
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            yield b"data: " + json.dumps(CHUNK).encode() + b"\n\n"
            deadline = time.monotonic() + WAIT
            while self.peak < self.burst and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            for part in openai_events(LAST):
                yield part
        finally:
            self.open -= 1


@pytest.fixture
def upstream() -> Iterator[tuple[HoldingUpstream, ServerThread, str]]:
    fake = HoldingUpstream(BURST)
    server = ServerThread(fake.app)
    # Hosted providers keep idle connections for a minute or more; uvicorn's 5 s default would
    # close them for the relay and hide how many the relay itself keeps.
    server.server.config.timeout_keep_alive = 300
    url = server.start()
    yield fake, server, url
    server.stop()


@pytest.fixture
def relay(dist: Path, upstream: tuple[HoldingUpstream, ServerThread, str]) -> Iterator[str]:
    provider = Provider("holding", "openai", upstream[2] + "/v1", "sk-test-pool-0123456789")
    limits = Limits(requests_per_minute=10_000, tokens_per_minute=10**9, max_concurrent=BURST)
    config = RelayConfig(
        models={"gpt": ModelRoute("gpt", provider, "m", limits.max_tokens)}, limits=limits
    )
    server = ServerThread(create_app(dist, config))
    yield server.start()
    server.stop()


def open_connections(server: ServerThread) -> int:
    return len(server.server.server_state.connections)


async def stream_all(url: str, count: int) -> list[str]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=url, timeout=WAIT, limits=limits) as client:

        async def one() -> str:
            body = {**HELLO, "stream": True}
            async with client.stream("POST", "/v1/chat/completions", json=body) as response:
                assert response.status_code == 200
                return (await response.aread()).decode()

        return await asyncio.gather(*(one() for _ in range(count)))


def test_the_pool_has_room_for_every_admitted_call_and_keeps_few_idle() -> None:
    for admitted in (1, IDLE_CONNECTIONS_KEPT, 200):
        limits = pool_limits(admitted)
        assert limits.max_connections == admitted
        assert limits.max_keepalive_connections == min(admitted, IDLE_CONNECTIONS_KEPT)
    assert IDLE_CONNECTIONS_KEPT <= 32  # each idle connection costs every request time


def test_after_a_burst_the_relay_keeps_only_a_few_idle_upstream_connections(
    relay: str, upstream: tuple[HoldingUpstream, ServerThread, str]
) -> None:
    fake, server, _ = upstream
    texts = asyncio.run(stream_all(relay, BURST))
    assert all(text.endswith("data: [DONE]\n\n") and '"error"' not in text for text in texts)
    # max_concurrent streams at once, none waiting for the pool: it has room for all of them.
    assert fake.peak == BURST
    assert len(set(fake.ports)) == BURST
    # The relay closes the surplus as the burst's requests end (the upstream sees the closes a
    # moment later); without the cap all BURST connections would stay open for 30 s.
    deadline = time.monotonic() + WAIT
    while open_connections(server) > IDLE_CONNECTIONS_KEPT and time.monotonic() < deadline:
        time.sleep(0.01)
    assert 1 <= open_connections(server) <= IDLE_CONNECTIONS_KEPT
    # What it kept is reused: the next requests open no new connection.
    burst_ports = set(fake.ports)
    with httpx.Client(base_url=relay, timeout=WAIT) as client:
        for body in (HELLO, {**HELLO, "stream": True}, HELLO):
            assert client.post("/v1/chat/completions", json=body).status_code == 200
    assert set(fake.ports[BURST:]) <= burst_ports
    assert open_connections(server) <= IDLE_CONNECTIONS_KEPT


def test_requests_one_after_another_share_one_upstream_connection(
    relay: str, upstream: tuple[HoldingUpstream, ServerThread, str]
) -> None:
    fake = upstream[0]
    fake.burst = 1  # streams need not wait for others here
    with httpx.Client(base_url=relay, timeout=WAIT) as client:
        for body in (HELLO, {**HELLO, "stream": True}, HELLO, {**HELLO, "stream": True}):
            assert client.post("/v1/chat/completions", json=body).status_code == 200
    assert len(fake.ports) == 4
    assert len(set(fake.ports)) == 1
