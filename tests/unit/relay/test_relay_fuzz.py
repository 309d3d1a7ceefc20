"""Property-based fuzz of /v1: whatever a client sends, no 5xx comes from the relay itself.

The fake upstreams answer every request well, so any 5xx here would be the relay's own fault.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relay_fakes import (
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

from cloche_server.relay.config import Limits

FUZZ = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CHUNK = {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]}
ANTHROPIC_STREAM = [
    {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 2}}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
    {"type": "message_stop"},
]

text = st.text(st.characters(codec="utf-8"), max_size=20)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
anything = json_values | st.sampled_from(["auto", "none", "required", "function", "text"])
content_part = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image_url", "input_audio"]) | anything},
    optional={
        "text": text | anything,
        "image_url": st.fixed_dictionaries(
            {"url": st.sampled_from(["https://x.org/a.png", "data:image/png;base64,AAAA"]) | text}
        )
        | anything,
    },
)
tool_call = st.fixed_dictionaries(
    {"id": text | anything, "type": st.just("function") | anything},
    optional={
        "function": st.fixed_dictionaries(
            {"name": text | anything},
            optional={"arguments": st.sampled_from(['{"a": 1}', "{}", "[]", "{bad"]) | anything},
        )
        | anything
    },
)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "developer", "user", "assistant", "tool"]) | anything},
    optional={
        "content": text | st.none() | st.lists(content_part, max_size=3) | anything,
        "tool_calls": st.lists(tool_call, max_size=2) | anything,
        "tool_call_id": text | anything,
        "name": text,
    },
)
tool = st.fixed_dictionaries(
    {"type": st.just("function") | anything},
    optional={
        "function": st.fixed_dictionaries(
            {"name": text | anything},
            optional={"description": text | anything, "parameters": json_values},
        )
        | anything
    },
)
chat_body = st.fixed_dictionaries(
    {
        # Mostly well-formed at the top, so most examples reach the translation and upstreams.
        "model": st.one_of(*[st.sampled_from(["gpt", "claude", "missing"])] * 4, anything),
        "messages": st.one_of(*[st.lists(message, min_size=1, max_size=4)] * 4, anything),
    },
    optional={
        "stream": st.booleans() | anything,
        "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}) | anything,
        "max_tokens": st.integers(-5, 5000) | anything,
        "max_completion_tokens": st.integers(-5, 5000) | anything,
        "temperature": st.floats(-1, 3) | anything,
        "top_p": st.floats(0, 1) | anything,
        "stop": text | st.lists(text, max_size=3) | anything,
        "n": st.integers(0, 3) | anything,
        "tools": st.lists(tool, max_size=2) | anything,
        "tool_choice": anything,
        "parallel_tool_calls": st.booleans() | anything,
        "user": text | anything,
    },
)

# Well-formed requests, varied in every field a translation looks at.
good_text = st.text(st.characters(codec="utf-8"), max_size=20)
good_part = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": good_text}),
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": st.fixed_dictionaries(
                {"url": st.sampled_from(["https://x.org/a.png", "data:image/png;base64,AAAA"])}
            ),
        }
    ),
)
good_call = st.fixed_dictionaries(
    {
        "id": good_text,
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {
                "name": good_text,
                "arguments": st.dictionaries(good_text, json_values, max_size=3).map(json.dumps),
            }
        ),
    }
)
good_message = st.one_of(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "developer"]),
            "content": good_text
            | st.lists(
                st.fixed_dictionaries({"type": st.just("text"), "text": good_text}), max_size=2
            ),
        }
    ),
    st.fixed_dictionaries(
        {"role": st.just("user"), "content": good_text | st.lists(good_part, max_size=3)}
    ),
    st.fixed_dictionaries(
        {"role": st.just("assistant"), "content": good_text | st.none()},
        optional={"tool_calls": st.lists(good_call, max_size=2)},
    ),
    st.fixed_dictionaries(
        {"role": st.just("tool"), "tool_call_id": good_text, "content": good_text}
    ),
)
good_tool = st.fixed_dictionaries(
    {
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {"name": good_text},
            optional={
                "description": good_text,
                "parameters": st.just({"type": "object", "properties": {}}),
            },
        ),
    }
)
good_chat_body = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["gpt", "claude"]),
        "messages": st.tuples(
            st.lists(good_message, max_size=4),
            st.fixed_dictionaries({"role": st.just("user"), "content": good_text}),
        ).map(lambda pair: [*pair[0], pair[1]]),
    },
    optional={
        "stream": st.booleans(),
        "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}),
        "max_tokens": st.integers(1, 4096),
        "temperature": st.floats(0, 2),
        "stop": good_text | st.lists(good_text, max_size=3),
        "tools": st.lists(good_tool, min_size=1, max_size=2),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "parallel_tool_calls": st.booleans(),
        "user": good_text,
    },
)


def answer_openai(body: Any) -> Reply | Stream:
    if isinstance(body, dict) and body.get("stream") is True:
        return Stream(openai_events(CHUNK))
    return Reply(openai_completion())


def answer_anthropic(body: Any) -> Reply | Stream:
    if isinstance(body, dict) and body.get("stream") is True:
        return Stream(anthropic_events(*ANTHROPIC_STREAM))
    return Reply(anthropic_message())


@pytest.fixture
def client(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> Iterator[httpx.Client]:
    upstreams[0].fallback = answer_openai
    upstreams[1].fallback = answer_anthropic
    limits = Limits(requests_per_minute=100_000, tokens_per_minute=10**9, max_body_bytes=20_000)
    url = start_relay(limits=limits)
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        yield client


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["message"]
    elif response.headers["content-type"].startswith("text/event-stream"):
        assert "data: [DONE]" in response.text, response.text
        assert '"error"' not in response.text, response.text


@FUZZ
@given(body=good_chat_body)
def test_well_formed_requests_are_relayed(client: httpx.Client, body: Any) -> None:
    response = client.post("/v1/chat/completions", json=body)
    check(response)
    # The only refusals left are what Anthropic cannot express (an empty text, say).
    assert response.status_code == 200 or body["model"] == "claude", response.text


@FUZZ
@given(body=chat_body)
def test_malformed_requests_never_make_the_relay_fail(client: httpx.Client, body: Any) -> None:
    check(client.post("/v1/chat/completions", json=body))


@FUZZ
@given(body=json_values)
def test_any_json_body_is_answered_without_a_5xx(client: httpx.Client, body: Any) -> None:
    check(client.post("/v1/chat/completions", json=body))


@settings(FUZZ, max_examples=100)
@given(raw=st.binary(max_size=300) | st.sampled_from([b"[" * 5000, b"{" * 20_001]))
def test_any_bytes_are_answered_without_a_5xx(client: httpx.Client, raw: bytes) -> None:
    check(client.post("/v1/chat/completions", content=raw))


@settings(FUZZ, max_examples=100)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    path=st.sampled_from(["models", "models/gpt", "models/nope", "chat/completions", "chat"])
    | st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=12),
    headers=st.dictionaries(
        st.sampled_from(["authorization", "origin", "content-type", "accept", "x-api-key"]),
        st.text(st.characters(codec="ascii", min_codepoint=32, max_codepoint=126), max_size=30).map(
            str.strip
        ),
        max_size=3,
    ),
)
def test_any_path_method_and_headers_are_answered_without_a_5xx(
    client: httpx.Client, method: str, path: str, headers: dict[str, str]
) -> None:
    body = json.dumps({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]})
    check(client.request(method, f"/v1/{path}", content=body, headers=headers))


def test_json_the_upstream_cannot_take_is_refused_or_escaped(client: httpx.Client) -> None:
    nan = b'{"model": "gpt", "messages": [{"role": "user", "content": "x"}], "temperature": NaN}'
    assert client.post("/v1/chat/completions", content=nan).status_code == 400
    huge = b'{"model": "gpt", "messages": [{"role": "user", "content": "x"}], "top_p": 1e400}'
    assert client.post("/v1/chat/completions", content=huge).status_code == 400
    surrogate = b'{"model": "claude", "messages": [{"role": "user", "content": "\\ud800"}]}'
    assert client.post("/v1/chat/completions", content=surrogate).status_code == 200
