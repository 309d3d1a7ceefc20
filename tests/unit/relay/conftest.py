"""Real HTTP servers on 127.0.0.1 for the relay tests: scripted fake upstreams and the relay itself.

Every server runs uvicorn in a thread of its own and is stopped when its fixture ends, so no test
leaves a thread or a socket behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from relay_fakes import FakeUpstream, ServerThread, StartRelay, relay_config

from cloche_server.app import create_app
from cloche_server.relay.config import RelayConfig


@pytest.fixture(scope="package")
def openai_upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream("/v1/chat/completions")
    server = ServerThread(fake.app)
    fake.url = server.start() + "/v1"
    yield fake
    server.stop()


@pytest.fixture(scope="package")
def anthropic_upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream("/v1/messages")
    server = ServerThread(fake.app)
    fake.url = server.start()
    yield fake
    server.stop()


@pytest.fixture
def upstreams(
    openai_upstream: FakeUpstream, anthropic_upstream: FakeUpstream
) -> Iterator[tuple[FakeUpstream, FakeUpstream]]:
    openai_upstream.reset()
    anthropic_upstream.reset()
    yield openai_upstream, anthropic_upstream
    openai_upstream.reset()
    anthropic_upstream.reset()


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>Cloche</title>")
    return tmp_path


@pytest.fixture
def start_relay(dist: Path, upstreams: tuple[FakeUpstream, FakeUpstream]) -> Iterator[StartRelay]:
    """Starts the real app (static files + relay) against the fake upstreams; gives its URL."""
    servers: list[ServerThread] = []

    def start(config: RelayConfig | None = None, **options: Any) -> str:
        if config is None:
            config = relay_config(upstreams[0].url, upstreams[1].url, **options)
        server = ServerThread(create_app(dist, config))
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def relay_url(start_relay: StartRelay) -> str:
    return start_relay()
