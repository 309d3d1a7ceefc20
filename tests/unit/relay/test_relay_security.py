"""Keys stay on the server; the relay decides who may use it: token, origin, CORS allow-list."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import openai
import pytest
from relay_fakes import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    WAIT,
    FakeUpstream,
    Reply,
    StartRelay,
    Stream,
    anthropic_events,
    anthropic_message,
    openai_completion,
    openai_events,
)

HELLO = {"model": "gpt", "messages": [{"role": "user", "content": "a secret question"}]}
TOKEN = "relay-token-for-docs-site-42"


def test_a_required_bearer_token_protects_chat_and_models(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    url = start_relay(bearer_tokens=(TOKEN,))
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            refused = client.post("/v1/chat/completions", json=HELLO, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert refused.json()["error"]["code"] == "invalid_token"
            assert client.get("/v1/models", headers=headers).status_code == 401
    upstreams[0].then(Reply(openai_completion("ok")))
    with openai.OpenAI(base_url=url + "/v1", api_key=TOKEN, max_retries=0) as client:
        assert len(client.models.list().data) == 2
        answer = client.chat.completions.create(model="gpt", messages=HELLO["messages"])
        assert answer.choices[0].message.content == "ok"
    # The relay's token is not the upstream's key: the upstream gets the server's own key.
    assert upstreams[0].seen[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"


def test_same_origin_only_by_default(start_relay: StartRelay) -> None:
    url = start_relay()
    host = url.removeprefix("http://")
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        assert client.get("/v1/models", headers={"Origin": url}).status_code == 200
        foreign = client.post(
            "/v1/chat/completions",
            json=HELLO,
            headers={"Origin": "https://evil.example", "Host": host},
        )
        assert foreign.status_code == 403
        assert foreign.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in foreign.headers
        preflight = client.options(
            "/v1/chat/completions",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST",
            },
        )
        assert "access-control-allow-origin" not in preflight.headers


def test_an_allow_listed_docs_site_may_call_the_relay(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    docs = "https://docs.example.org"
    url = start_relay(cors_origins=(docs,))
    upstreams[0].then(Reply(openai_completion()))
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        preflight = client.options(
            "/v1/chat/completions",
            headers={
                "Origin": docs,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == docs
        assert "POST" in preflight.headers["access-control-allow-methods"]
        answer = client.post("/v1/chat/completions", json=HELLO, headers={"Origin": docs})
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == docs
        other = client.post(
            "/v1/chat/completions", json=HELLO, headers={"Origin": "https://other.example"}
        )
        assert other.status_code == 403


def test_keys_are_absent_from_every_response_and_log_line(
    start_relay: StartRelay,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_openai, fake_anthropic = upstreams
    caplog.set_level(logging.DEBUG)  # everything: the relay's, httpx's and httpcore's lines
    url = start_relay(bearer_tokens=(TOKEN,))
    echo = f"Incorrect API key provided: {OPENAI_KEY}"
    fake_openai.then(
        Reply(openai_completion()),
        Reply({"error": {"message": echo}}, status=401),
        Reply({"error": {"message": f"bad request for {OPENAI_KEY}"}}, status=400),
        Reply({"error": {"message": f"crashed holding {OPENAI_KEY}"}}, status=500),
        Stream(openai_events({"error": {"message": f"mid-stream {OPENAI_KEY}"}})),
    )
    fake_anthropic.then(
        Reply(anthropic_message()),
        Reply({"type": "error", "error": {"message": f"key {ANTHROPIC_KEY}"}}, status=401),
        Stream(
            anthropic_events(
                {"type": "message_start", "message": {"id": "m"}},
                {"type": "error", "error": {"message": f"boom {ANTHROPIC_KEY}"}},
            )
        ),
    )
    bodies: list[str] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, timeout=WAIT, headers=headers) as client:
        requests: list[dict[str, Any]] = [
            HELLO,
            HELLO,
            HELLO,
            HELLO,
            {**HELLO, "stream": True},
            {**HELLO, "model": "claude"},
            {**HELLO, "model": "claude"},
            {**HELLO, "model": "claude", "stream": True},
            {**HELLO, "model": "nope"},
        ]
        for body in requests:
            response = client.post("/v1/chat/completions", json=body)
            bodies.append(response.text + str(response.headers))
        bodies.append(client.get("/v1/models").text)
        bodies.append(client.post("/v1/chat/completions", content=b"x" * 10).text)
    assert len(fake_openai.seen) == 5 and len(fake_anthropic.seen) == 3
    assert any("rejected this server's API key" in body for body in bodies)
    assert any("[redacted]" in body for body in bodies)
    lines = [record.getMessage() for record in caplog.records]
    assert any("model=gpt" in line and "status=200" in line for line in lines)
    for text in [*bodies, *lines]:
        assert OPENAI_KEY not in text
        assert ANTHROPIC_KEY not in text
        assert TOKEN not in text
        assert "a secret question" not in text  # no message bodies in logs unless asked for


def test_message_bodies_are_logged_only_when_asked_for(
    start_relay: StartRelay,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="cloche.relay")
    url = start_relay(log_bodies=True)
    upstreams[0].then(Reply(openai_completion()))
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        assert client.post("/v1/chat/completions", json=HELLO).status_code == 200
    assert any("a secret question" in r.getMessage() for r in caplog.records)


def test_the_browser_cannot_choose_the_upstream(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    upstreams[0].then(Reply(openai_completion()))
    body = {**HELLO, "base_url": "http://evil.example", "api_base": "http://evil.example"}
    headers = {"X-Forwarded-Host": "evil.example", "OpenAI-Organization": "org-evil"}
    with httpx.Client(base_url=relay_url, timeout=WAIT) as client:
        assert client.post("/v1/chat/completions", json=body, headers=headers).status_code == 200
    seen = upstreams[0].seen[0]
    assert "openai-organization" not in seen.headers
    assert "x-forwarded-host" not in seen.headers
