"""Limits and upstream failures, as a client sees them: OpenAI-format errors that name the limit."""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpx
import pytest
from relay_fakes import (
    WAIT,
    FakeUpstream,
    Reply,
    StartRelay,
    Stream,
    anthropic_events,
    openai_completion,
    openai_events,
    relay_config,
)

from cloche_server.relay.config import Limits, RelayConfig

HELLO = {"model": "gpt", "messages": [{"role": "user", "content": "hello"}]}


def post(url: str, body: Any = HELLO, **kwargs: Any) -> httpx.Response:
    with httpx.Client(timeout=WAIT) as client:
        return client.post(f"{url}/v1/chat/completions", json=body, **kwargs)


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_nothing_configured_lists_no_models_and_says_how_to_configure(
    start_relay: StartRelay,
) -> None:
    url = start_relay(RelayConfig())
    with httpx.Client() as client:
        assert client.get(f"{url}/v1/models").json() == {"object": "list", "data": []}
    response = post(url)
    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "no_provider_configured"
    assert "OPENAI_API_KEY" in error["message"] and "--config" in error["message"]


def test_a_body_over_the_limit_is_refused_with_413(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    url = start_relay(limits=Limits(max_body_bytes=1000))
    big = {"model": "gpt", "messages": [{"role": "user", "content": "x" * 2000}]}
    response = post(url, big)
    assert response.status_code == 413
    assert "1000 bytes" in error_of(response)["message"]

    def chunks() -> Any:  # no Content-Length: the limit must hold while reading, too
        yield b'{"model": "gpt", "messages": ['
        for _ in range(100):
            yield b'{"role": "user", "content": "xxxxxxxxxxxxxxxxxxxxxxx"},'
        yield b"]}"

    with httpx.Client(timeout=WAIT) as client:
        response = client.post(f"{url}/v1/chat/completions", content=chunks())
    assert response.status_code == 413
    assert upstreams[0].seen == []


def test_max_tokens_above_the_cap_is_refused(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    url = start_relay(limits=Limits(max_tokens=500))
    for field in ("max_tokens", "max_completion_tokens"):
        response = post(url, {**HELLO, field: 501})
        assert response.status_code == 400
        error = error_of(response)
        assert (error["param"], error["code"]) == (field, "max_tokens_exceeded")
        assert "cap of 500" in error["message"]
    upstreams[0].then(Reply(openai_completion()))
    assert post(url, {**HELLO, "max_completion_tokens": 500}).status_code == 200
    assert upstreams[0].seen[0].body["max_completion_tokens"] == 500
    assert "max_tokens" not in upstreams[0].seen[0].body


def test_requests_per_minute_per_client(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    url = start_relay(limits=Limits(requests_per_minute=2))
    upstreams[0].fallback = lambda body: Reply(openai_completion())
    assert [post(url).status_code for _ in range(2)] == [200, 200]
    refused = post(url)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    error = error_of(refused)
    assert error["code"] == "requests_per_minute_exceeded"
    assert "2 requests per minute" in error["message"]
    assert len(upstreams[0].seen) == 2


def test_tokens_per_minute_per_client(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    url = start_relay(limits=Limits(tokens_per_minute=1000))
    big_usage = openai_completion()
    big_usage["usage"] = {"prompt_tokens": 200, "completion_tokens": 900, "total_tokens": 1100}
    upstreams[0].then(Reply(big_usage))
    assert post(url).status_code == 200  # admitted; its reported usage is counted afterwards
    refused = post(url)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "1000 tokens per minute" in error_of(refused)["message"]


def test_a_prompt_larger_than_the_whole_token_budget_is_a_400_not_a_wait(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    url = start_relay(limits=Limits(tokens_per_minute=100, requests_per_minute=1))
    big = {"model": "gpt", "messages": [{"role": "user", "content": "x" * 1000}]}
    refused = post(url, big)
    assert refused.status_code == 400
    assert "retry-after" not in refused.headers  # no wait can admit it
    error = error_of(refused)
    assert error["code"] == "request_exceeds_tokens_per_minute"
    assert "100 tokens per minute" in error["message"]
    assert "waiting will not help" in error["message"]
    assert upstreams[0].seen == []
    upstreams[0].then(Reply(openai_completion()))
    assert post(url).status_code == 200  # the refused request used none of the client's budget
    # With the client's requests spent, a 429 would say "wait": it is still the 400.
    assert post(url, big).status_code == 400


def test_the_concurrency_cap_refuses_rather_than_queues(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    url = start_relay(limits=Limits(max_concurrent=1))
    gate = threading.Event()
    held = Stream([*openai_events(done=False), gate, *openai_events()])
    upstreams[0].then(held)
    with (
        httpx.Client(timeout=WAIT) as client,
        client.stream("POST", f"{url}/v1/chat/completions", json={**HELLO, "stream": True}) as r,
    ):
        assert r.status_code == 200
        refused = post(url)
        gate.set()
        r.read()
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    error = error_of(refused)
    assert error["code"] == "concurrency_limit_exceeded"
    assert "at most 1 requests at once" in error["message"]
    upstreams[0].then(Reply(openai_completion()))
    assert post(url).status_code == 200  # the slot was given back


def test_unknown_model_and_malformed_requests(start_relay: StartRelay) -> None:
    url = start_relay()
    cases: list[tuple[Any, int, str]] = [
        ({**HELLO, "model": "gpt-5"}, 404, "model_not_found"),
        ({"messages": HELLO["messages"]}, 400, "model is required"),
        ({"model": "gpt", "messages": []}, 400, "messages must be a non-empty list"),
        ({**HELLO, "stream": "yes"}, 400, "stream must be true or false"),
        ({**HELLO, "max_tokens": -3}, 400, "max_tokens must be a positive integer"),
        ([1, 2], 400, "must be a JSON object"),
    ]
    for body, status, words in cases:
        response = post(url, body)
        assert response.status_code == status, body
        error = error_of(response)
        assert words in error["message"] or words == error["code"]
    with httpx.Client() as client:
        response = client.post(f"{url}/v1/chat/completions", content=b"{not json")
        assert response.status_code == 400
        assert error_of(response)["code"] == "invalid_json"
        assert error_of(client.get(f"{url}/v1/completions"))["code"] == "not_found"
        assert client.get(f"{url}/v1/chat/completions").status_code == 405


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [
        (401, 502, "upstream_key_rejected"),
        (403, 502, "upstream_key_rejected"),
        (400, 400, "upstream_bad_request"),
        (404, 502, "upstream_not_found"),
        (429, 429, "upstream_rate_limited"),
        (500, 502, "upstream_failed"),
        (529, 502, "upstream_failed"),
    ],
)
@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_upstream_failures_map_to_clear_errors(
    relay_url: str,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    model: str,
    status: int,
    expected: int,
    code: str,
) -> None:
    fake = upstreams[0] if model == "gpt" else upstreams[1]
    body = {"error": {"type": "x", "message": "upstream says no"}}
    fake.then(Reply(body, status=status, headers={"retry-after": "7"}))
    response = post(relay_url, {**HELLO, "model": model})
    assert response.status_code == expected
    error = error_of(response)
    assert error["code"] == code
    name = "fake-openai" if model == "gpt" else "fake-anthropic"
    assert name in error["message"]
    if status in (401, 403):
        assert "rejected this server's API key" in error["message"]
    if status == 429:
        assert response.headers["retry-after"] == "7"


def test_upstream_errors_in_streams_before_and_after_the_first_chunk(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    fake_openai, fake_anthropic = upstreams
    fake_openai.then(Reply({"error": {"message": "bad key"}}, status=401))
    response = post(relay_url, {**HELLO, "stream": True})
    assert response.status_code == 502
    assert error_of(response)["code"] == "upstream_key_rejected"

    start = {"type": "message_start", "message": {"id": "m"}}
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    fake_anthropic.then(Stream(anthropic_events(start, overloaded)))
    response = post(relay_url, {**HELLO, "model": "claude", "stream": True})
    assert response.status_code == 200  # the stream had begun
    assert '"code": "upstream_failed"' in response.text
    assert "Overloaded" in response.text


def test_an_unreachable_upstream_is_a_502(start_relay: StartRelay) -> None:
    with socket.socket() as spare:  # a port with nobody listening
        spare.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{spare.getsockname()[1]}/v1"
    url = start_relay(relay_config(dead, dead))
    response = post(url)
    assert response.status_code == 502
    assert error_of(response)["code"] == "upstream_unreachable"


def test_a_slow_upstream_times_out_with_504(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    url = start_relay(limits=Limits(read_timeout=0.3))
    upstreams[0].then(Reply(openai_completion(), delay=3.0))
    response = post(url)
    assert response.status_code == 504
    error = error_of(response)
    assert error["code"] == "upstream_timeout"
    assert "fake-openai" in error["message"]
