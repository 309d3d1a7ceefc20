"""What docs/relay.md promises about clients, proxies, cookies, stream headers and provider options,
checked against real servers on 127.0.0.1 (127.0.0.2 plays a second machine: all of 127/8 is
loopback on Linux)."""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from relay_fakes import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    WAIT,
    FakeUpstream,
    Reply,
    ServerThread,
    StartRelay,
    Stream,
    anthropic_events,
    anthropic_message,
    openai_completion,
    openai_events,
    relay_config,
)

from cloche_server.app import create_app
from cloche_server.relay.config import Limits, RelayConfig, parse_config

HELLO = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
TOKENS = ("relay-token-for-alice-123", "relay-token-for-bob-4567")
CHUNK = {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": None}]}
LAST = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
USAGE = {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}
ANTHROPIC_STREAM: list[dict[str, Any]] = [
    {"type": "message_start", "message": {"id": "m1", "usage": {"input_tokens": 3}}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
    {"type": "message_stop"},
]

ServeRelay = Callable[..., str]  # serve(config, **uvicorn settings) -> URL


@pytest.fixture
def serve(dist: Path) -> Iterator[ServeRelay]:
    """Like start_relay, with uvicorn settings of the test's choosing (forwarded_allow_ips...)."""
    servers: list[ServerThread] = []

    def start(config: RelayConfig, **settings: Any) -> str:
        server = ServerThread(create_app(dist, config))
        for name, value in settings.items():
            setattr(server.server.config, name, value)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def post(
    url: str, body: Any = HELLO, *, source: str = "127.0.0.1", **headers: str
) -> httpx.Response:
    """One chat request from the address `source`."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=url, timeout=WAIT, transport=transport) as client:
        return client.post("/v1/chat/completions", json=body, headers=headers)


def outcomes(url: str, *requests: tuple[str, dict[str, str]]) -> list[int]:
    """Statuses of requests sent one by one, each from (address, headers)."""
    return [post(url, source=source, **headers).status_code for source, headers in requests]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def answer_everything(upstreams: tuple[FakeUpstream, FakeUpstream]) -> None:
    upstreams[0].fallback = lambda body: Reply(openai_completion())
    upstreams[1].fallback = lambda body: Reply(anthropic_message())


# Limits: "A client is its bearer token when tokens are required, otherwise its IP address."


def test_with_bearer_tokens_each_token_is_one_client_wherever_it_comes_from(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    answer_everything(upstreams)
    url = start_relay(limits=Limits(requests_per_minute=1), bearer_tokens=TOKENS)
    alice, bob = bearer(TOKENS[0]), bearer(TOKENS[1])
    assert outcomes(
        url,
        ("127.0.0.1", alice),
        ("127.0.0.2", alice),  # another address, the same client: its one request is spent
        ("127.0.0.1", bob),  # the same address, another client
        ("127.0.0.1", {**bob, "X-Forwarded-For": "203.0.113.9"}),
    ) == [200, 429, 200, 429]
    refused = post(url, **alice)
    assert refused.json()["error"]["code"] == "requests_per_minute_exceeded"


def test_without_tokens_each_address_is_one_client(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    answer_everything(upstreams)
    url = start_relay(limits=Limits(requests_per_minute=1))
    assert outcomes(
        url,
        ("127.0.0.1", {}),
        ("127.0.0.1", {}),
        ("127.0.0.2", {}),
        ("127.0.0.2", {"Authorization": "Bearer made-up"}),  # no tokens required: still its address
    ) == [200, 429, 200, 429]


def test_behind_a_proxy_on_127_0_0_1_the_forwarded_address_is_the_client(
    start_relay: StartRelay,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer_everything(upstreams)
    url = start_relay(limits=Limits(requests_per_minute=1))
    first, second = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.8"}
    with caplog.at_level(logging.INFO, logger="cloche.relay"):
        assert outcomes(
            url,
            ("127.0.0.1", first),
            ("127.0.0.1", second),
            ("127.0.0.1", first),
            ("127.0.0.1", {}),  # the proxy itself is a client of its own
        ) == [200, 200, 429, 200]
    relay_lines = [r.getMessage() for r in caplog.records if r.name.startswith("cloche.relay")]
    assert any("203.0.113.7" in line for line in relay_lines), relay_lines


def test_x_forwarded_for_from_an_untrusted_address_is_ignored(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    answer_everything(upstreams)
    url = start_relay(limits=Limits(requests_per_minute=1))
    assert outcomes(
        url,
        ("127.0.0.2", {"X-Forwarded-For": "203.0.113.7"}),
        ("127.0.0.2", {"X-Forwarded-For": "203.0.113.8"}),  # a new name does not buy a new budget
    ) == [200, 429]


def test_a_proxy_named_in_forwarded_allow_ips_is_trusted(
    serve: ServeRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    answer_everything(upstreams)
    config = relay_config(upstreams[0].url, upstreams[1].url, limits=Limits(requests_per_minute=1))
    url = serve(config, forwarded_allow_ips="127.0.0.2")
    first, second = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.8"}
    assert outcomes(
        url,
        ("127.0.0.2", first),
        ("127.0.0.2", second),
        ("127.0.0.2", first),
        ("127.0.0.1", first),  # 127.0.0.1 is no longer trusted: it is itself
        ("127.0.0.1", second),
    ) == [200, 200, 429, 200, 429]


# Security: "Upstream cookies are never kept: the relay is stateless between requests."


def test_upstream_cookies_are_neither_kept_nor_passed_on(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    fake = upstreams[0]
    cookie = {"set-cookie": "session=abc123; Path=/"}
    # The test can fail: a plain client does keep this cookie and sends it back.
    fake.then(Reply(openai_completion(), headers=cookie), Reply(openai_completion()))
    with httpx.Client(timeout=WAIT) as plain:
        for _ in range(2):
            plain.post(fake.url + "/chat/completions", json=HELLO)
    assert fake.seen[1].headers.get("cookie") == "session=abc123"
    fake.reset()

    url = start_relay()
    fake.then(Reply(openai_completion(), headers=cookie), Reply(openai_completion()))
    upstreams[1].then(Reply(anthropic_message(), headers=cookie), Reply(anthropic_message()))
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        for model in ("gpt", "gpt", "claude", "claude"):
            answer = client.post("/v1/chat/completions", json={**HELLO, "model": model})
            assert answer.status_code == 200
            assert "set-cookie" not in answer.headers
        assert not client.cookies
    for seen in [*fake.seen, *upstreams[1].seen]:
        assert "cookie" not in seen.headers


# Security: "streams pass through chunk by chunk (responses carry Cache-Control: no-cache and
# X-Accel-Buffering: no for proxies)", with no compression on /v1.


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_streams_carry_no_cache_and_no_buffering_and_are_not_compressed(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], model: str
) -> None:
    upstreams[0].then(Stream(openai_events(CHUNK, LAST)))
    upstreams[1].then(Stream(anthropic_events(*ANTHROPIC_STREAM)))
    body = {**HELLO, "model": model, "stream": True, "padding": "x" * 2000}
    headers = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    with (
        httpx.Client(base_url=relay_url, timeout=WAIT) as client,
        client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers
        text = response.read().decode()
    assert '"content":"ok"' in text.replace(" ", "")
    assert text.endswith("data: [DONE]\n\n")


# Providers: `headers`, `max_tokens_param`, `stream_usage`, and a model's own `max_tokens`.


def config_file(openai_url: str, anthropic_url: str) -> RelayConfig:
    text = f"""
    [providers.openai]
    type = "openai"
    base_url = "{openai_url}"
    api_key = "${{OPENAI_KEY}}"
    max_tokens_param = "max_completion_tokens"
    headers = {{ "HTTP-Referer" = "https://docs.example.org", "X-Title" = "Cloche docs" }}

    [providers.local]
    type = "openai"
    base_url = "{openai_url}"
    stream_usage = false

    [providers.claude]
    type = "anthropic"
    base_url = "{anthropic_url}"
    api_key = "${{ANTHROPIC_KEY}}"
    headers = {{ "anthropic-beta" = "some-beta-2025-01-01" }}

    [models.fast]
    provider = "openai"
    model = "gpt-4o-mini"

    [models.small]
    provider = "local"
    model = "llama3.2:3b"

    [models.claude]
    provider = "claude"
    model = "claude-sonnet-4-5"
    max_tokens = 8192
    """
    env = {"OPENAI_KEY": OPENAI_KEY, "ANTHROPIC_KEY": ANTHROPIC_KEY}
    return parse_config(tomllib.loads(text), env, source="relay.toml")


@pytest.fixture
def configured(start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]) -> str:
    return start_relay(config_file(upstreams[0].url, upstreams[1].url))


def chat(url: str, model: str, **fields: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **fields}
    return post(
        url, body, **{"X-Title": "from the browser", "HTTP-Referer": "https://evil.example"}
    )


def test_a_providers_headers_are_sent_by_the_server_and_not_the_browsers(
    configured: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    upstreams[0].then(Reply(openai_completion()), Reply(openai_completion()))
    upstreams[1].then(Reply(anthropic_message()))
    for model in ("fast", "claude", "small"):
        assert chat(configured, model).status_code == 200
    fast, small = upstreams[0].seen
    assert fast.headers["http-referer"] == "https://docs.example.org"
    assert fast.headers["x-title"] == "Cloche docs"
    assert fast.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    claude = upstreams[1].seen[0]
    assert claude.headers["anthropic-beta"] == "some-beta-2025-01-01"
    assert claude.headers["x-api-key"] == ANTHROPIC_KEY
    # A provider without headers gets none of the browser's, nor another provider's.
    assert "x-title" not in small.headers and "http-referer" not in small.headers
    assert "authorization" not in small.headers  # no api_key: no Authorization at all


def test_max_tokens_param_names_the_cap_when_the_client_sends_none(
    configured: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    upstreams[0].fallback = lambda body: Reply(openai_completion())
    upstreams[1].then(Reply(anthropic_message()))
    assert chat(configured, "fast").status_code == 200
    assert chat(configured, "small").status_code == 200
    assert chat(configured, "fast", max_tokens=100).status_code == 200
    assert chat(configured, "claude").status_code == 200
    fast, small, asked = (seen.body for seen in upstreams[0].seen)
    assert fast["max_completion_tokens"] == 4096 and "max_tokens" not in fast
    assert small["max_tokens"] == 4096 and "max_completion_tokens" not in small
    # The client's own field goes through as it was sent, with nothing added beside it.
    assert asked["max_tokens"] == 100 and "max_completion_tokens" not in asked
    assert upstreams[1].seen[0].body["max_tokens"] == 8192  # the alias's own cap


def test_a_null_max_tokens_is_no_way_around_the_cap(
    configured: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    # null is "no cap asked" in the OpenAI format; passed on as it is, the upstream applies none.
    upstreams[0].fallback = lambda body: Reply(openai_completion())
    nulls = [{"max_tokens": None}, {"max_completion_tokens": None}]
    for model in ("fast", "small"):
        for fields in [*nulls, {**nulls[0], **nulls[1]}]:
            assert chat(configured, model, **fields).status_code == 200
    for seen in upstreams[0].seen:
        caps = [seen.body.get(name) for name in ("max_tokens", "max_completion_tokens")]
        assert min((cap for cap in caps if cap is not None), default=None) == 4096, seen.body


def test_stream_usage_asks_for_usage_and_hides_it_unless_the_client_asked(
    configured: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    upstreams[0].fallback = lambda body: Stream(openai_events(CHUNK, LAST, USAGE))
    hidden = chat(configured, "fast", stream=True)
    shown = chat(configured, "fast", stream=True, stream_options={"include_usage": True})
    assert upstreams[0].seen[0].body["stream_options"] == {"include_usage": True}
    assert upstreams[0].seen[1].body["stream_options"] == {"include_usage": True}
    assert [c["choices"] for c in events(hidden)] == [CHUNK["choices"], LAST["choices"]]
    assert events(shown)[-1]["usage"] == USAGE["usage"]


def test_stream_usage_false_leaves_the_request_as_the_client_wrote_it(
    configured: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    upstreams[0].fallback = lambda body: Stream(openai_events(CHUNK, LAST))
    plain = chat(configured, "small", stream=True)
    asked = chat(configured, "small", stream=True, stream_options={"include_usage": True})
    assert "stream_options" not in upstreams[0].seen[0].body
    assert upstreams[0].seen[1].body["stream_options"] == {"include_usage": True}
    assert [c["choices"] for c in events(plain)] == [CHUNK["choices"], LAST["choices"]]
    assert asked.status_code == 200


def events(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    lines = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
    assert lines[-1] == "[DONE]", response.text
    return [json.loads(line) for line in lines[:-1]]
