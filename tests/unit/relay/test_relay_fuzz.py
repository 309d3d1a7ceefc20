"""Property-based fuzz of /v1: whatever a client sends, the relay answers exactly as it should.

The fake upstreams answer every request well. relay_expectations.expected_refusals says, from the
body alone, which refusals a request deserves (none: it must be relayed, 200, and what reached the
upstream must be a faithful translation; some: a 400 or 404 naming one of the fields at fault, and
no upstream call).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relay_expectations import (
    MAX_BODY,
    answer_anthropic,
    answer_openai,
    check,
    exchange,
    expected_refusals,
    openai_error,
)
from relay_fakes import WAIT, FakeUpstream, StartRelay

from cloche_server.relay.config import Limits

FUZZ = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
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
wild_chat_body = st.fixed_dictionaries(
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
        "max_tokens": st.integers(1, 4096) | st.none(),
        "max_completion_tokens": st.integers(1, 4096) | st.none(),
        "top_p": st.floats(0, 1),
        "temperature": st.floats(0, 2),
        "stop": good_text | st.lists(good_text, max_size=3),
        "tools": st.lists(good_tool, min_size=1, max_size=2),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "parallel_tool_calls": st.booleans(),
        "user": good_text,
    },
)


# A well-formed request with one thing wrong, or a whole request of odd values.
FIELDS = [
    "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
    "temperature", "top_p", "stop", "n", "tools", "tool_choice", "parallel_tool_calls", "user",
]  # fmt: skip
odd_value = anything | st.floats(-3, 3) | st.integers(-3, 5)
one_bad_field = st.tuples(good_chat_body, st.sampled_from(FIELDS), odd_value).map(
    lambda example: {**example[0], example[1]: example[2]}
)
one_bad_message = st.tuples(good_chat_body, message).map(
    lambda example: {**example[0], "messages": [example[1], *example[0]["messages"]]}
)
chat_body = st.one_of(wild_chat_body, one_bad_field, one_bad_message)


@pytest.fixture
def client(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> Iterator[httpx.Client]:
    upstreams[0].fallback = answer_openai
    upstreams[1].fallback = answer_anthropic
    limits = Limits(requests_per_minute=100_000, tokens_per_minute=10**9, max_body_bytes=MAX_BODY)
    url = start_relay(limits=limits)
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        yield client


@FUZZ
@given(body=good_chat_body)
def test_well_formed_requests_are_relayed_and_translated(
    client: httpx.Client, upstreams: tuple[FakeUpstream, FakeUpstream], body: Any
) -> None:
    response = exchange(client, upstreams, json=body)
    # Only what Anthropic cannot take (no non-empty message at all) may be refused here.
    assert expected_refusals(body) <= {(400, "messages")}
    check(body, response, upstreams)


@FUZZ
@given(body=chat_body)
def test_malformed_requests_are_refused_naming_the_field(
    client: httpx.Client, upstreams: tuple[FakeUpstream, FakeUpstream], body: Any
) -> None:
    check(body, exchange(client, upstreams, json=body), upstreams)


@FUZZ
@given(body=json_values)
def test_any_json_body_gets_the_answer_it_deserves(
    client: httpx.Client, upstreams: tuple[FakeUpstream, FakeUpstream], body: Any
) -> None:
    response = exchange(client, upstreams, json=body)
    check(body, response, upstreams)
    if not isinstance(body, dict):
        assert openai_error(response)["code"] == "invalid_json"


@settings(FUZZ, max_examples=100)
@given(raw=st.binary(max_size=300) | st.sampled_from([b"[" * 5000, b"{" * 20_001]))
def test_any_bytes_get_the_answer_they_deserve(
    client: httpx.Client, upstreams: tuple[FakeUpstream, FakeUpstream], raw: bytes
) -> None:
    response = exchange(client, upstreams, content=raw)
    if len(raw) > MAX_BODY:
        assert (response.status_code, openai_error(response)["code"]) == (413, "request_too_large")
        return
    try:
        body = json.loads(raw, parse_constant=_refuse, parse_float=_finite)
    except (ValueError, RecursionError):
        assert (response.status_code, openai_error(response)["code"]) == (400, "invalid_json")
        return
    check(body, response, upstreams)


def _refuse(name: str) -> None:
    raise ValueError(name)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


ROUTES = {
    "chat/completions": ("POST", 200),
    "models": ("GET", 200),
    "models/gpt": ("GET", 200),
    "models/nope": ("GET", 404),
}


@settings(FUZZ, max_examples=100)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    path=st.sampled_from([*ROUTES, "chat"])
    | st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=12),
    headers=st.dictionaries(
        st.sampled_from(["authorization", "origin", "content-type", "accept", "x-api-key"]),
        st.text(st.characters(codec="ascii", min_codepoint=32, max_codepoint=126), max_size=30).map(
            str.strip
        ),
        max_size=3,
    ),
)
def test_any_path_method_and_headers_get_the_answer_they_deserve(
    client: httpx.Client, method: str, path: str, headers: dict[str, str]
) -> None:
    body = json.dumps({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]})
    response = client.request(method, f"/v1/{path}", content=body, headers=headers)
    allowed, status = ROUTES.get(path, (None, 404))
    expected = {status if method == allowed else 405 if allowed else 404}
    if "origin" in headers:  # never this server's own origin: refused, if not refused already
        expected.add(403)
    assert response.status_code in expected, (response.status_code, response.text)
    if response.status_code != 200:
        openai_error(response)


def test_json_the_upstream_cannot_take_is_refused_or_escaped(client: httpx.Client) -> None:
    nan = b'{"model": "gpt", "messages": [{"role": "user", "content": "x"}], "temperature": NaN}'
    assert client.post("/v1/chat/completions", content=nan).status_code == 400
    huge = b'{"model": "gpt", "messages": [{"role": "user", "content": "x"}], "top_p": 1e400}'
    assert client.post("/v1/chat/completions", content=huge).status_code == 400
    surrogate = b'{"model": "claude", "messages": [{"role": "user", "content": "\\ud800"}]}'
    assert client.post("/v1/chat/completions", content=surrogate).status_code == 200


def test_an_integer_too_large_for_a_float_is_clamped_for_anthropic(
    client: httpx.Client, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    for name, digits, clamped in (
        ("temperature", "1" + "0" * 400, 1.0),
        ("top_p", "-" + "9" * 400, 0.0),
    ):
        raw = '{"model": "claude", "messages": [{"role": "user", "content": "x"}], "%s": %s}'
        response = exchange(client, upstreams, content=(raw % (name, digits)).encode())
        assert response.status_code == 200, response.text
        assert upstreams[1].seen[-1].body[name] == clamped
