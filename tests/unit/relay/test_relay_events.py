"""Upstream answers and stream events of the wrong shape are told apart from the relay's own faults.

Every malformed answer becomes `upstream_bad_response` (502), naming the provider and what was
wrong, as an HTTP error before a stream begins and as the last event after.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from relay_fakes import (
    OPENAI_KEY,
    WAIT,
    FakeUpstream,
    Reply,
    Stream,
    anthropic_events,
    anthropic_message,
    openai_completion,
    openai_events,
)

from cloche_server.relay.anthropic_response import StreamTranslator, to_completion
from cloche_server.relay.errors import MalformedAnswer

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
START = {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 1}}}
TEXT = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a"}}
TOOL = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
OK_CHUNK = {"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]}

MALFORMED_EVENTS: dict[str, tuple[dict[str, Any], str]] = {
    "delta as a string": (
        {**TEXT, "delta": "oops"},
        "a content_block_delta event's delta is a string, not an object",
    ),
    "delta missing": (
        {"type": "content_block_delta", "index": 0},
        "a content_block_delta event's delta is missing, not an object",
    ),
    "text as a number": (
        {**TEXT, "delta": {"type": "text_delta", "text": 5}},
        "text_delta's text is a number, not a string",
    ),
    "partial_json as null": (
        {**TEXT, "delta": {"type": "input_json_delta", "partial_json": None}},
        "input_json_delta's partial_json is null, not a string",
    ),
    "index as a string": ({**TEXT, "index": "0"}, "event's index is a string, not an integer"),
    "delta type missing": ({**TEXT, "delta": {"text": "a"}}, "delta's type is missing"),
    "content_block as a list": (
        {"type": "content_block_start", "index": 0, "content_block": []},
        "content_block is a list, not an object",
    ),
    "tool_use without an id": (
        {"type": "content_block_start", "index": 0, "content_block": {**TOOL, "id": None}},
        "(tool_use)'s id is null, not a string",
    ),
    "message as a string": (
        {"type": "message_start", "message": "m"},
        "a message_start event's message is a string, not an object",
    ),
    "usage as a list": (
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": []},
        "message_delta event's usage is a list, not an object",
    ),
    "stop_reason as an object": (
        {"type": "message_delta", "delta": {"stop_reason": {}}},
        "message_delta event's delta's stop_reason is an object, not a string",
    ),
    "type as a number": ({"type": 3}, "a stream event's type is a number, not a string"),
}


def post(relay_url: str, model: str, stream: bool) -> httpx.Response:
    with httpx.Client(timeout=WAIT) as client:
        return client.post(
            f"{relay_url}/v1/chat/completions", json={**CHAT, "model": model, "stream": stream}
        )


def last_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200  # the stream had begun
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert "[DONE]" not in events
    error: dict[str, Any] = json.loads(events[-1])["error"]
    return error


@pytest.mark.parametrize("name", MALFORMED_EVENTS)
def test_a_malformed_anthropic_stream_event_is_an_upstream_bad_response(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], name: str
) -> None:
    event, what = MALFORMED_EVENTS[name]
    upstreams[1].then(Stream(anthropic_events(START, event, {"type": "message_stop"})))

    error = last_error(post(relay_url, "claude", stream=True))

    assert error["code"] == "upstream_bad_response"
    assert error["type"] == "upstream_error"
    assert "'fake-anthropic'" in error["message"]
    assert what in error["message"]


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_a_stream_event_that_is_not_a_json_object_is_an_upstream_bad_response(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], model: str
) -> None:
    if model == "gpt":
        upstreams[0].then(Stream([*openai_events(OK_CHUNK, done=False), b"data: [1, 2]\n\n"]))
    else:
        upstreams[1].then(Stream([*anthropic_events(START), b"event: ping\ndata: {oops\n\n"]))

    error = last_error(post(relay_url, model, stream=True))

    assert error["code"] == "upstream_bad_response"
    assert "a stream event is not a JSON object" in error["message"]


MALFORMED_MESSAGES: dict[str, tuple[dict[str, Any], str]] = {
    "content as a string": (
        {**anthropic_message(), "content": "Hello"},
        "the message's content is not a list",
    ),
    "a block as a string": (
        anthropic_message({"type": "text", "text": "a"}, "b"),  # type: ignore[arg-type]
        "content[1] is a string, not an object",
    ),
    "text as a list": (
        anthropic_message({"type": "text", "text": ["a"]}),
        "content[0] (text)'s text is a list, not a string",
    ),
    "tool input as a string": (
        anthropic_message({**TOOL, "input": "{}"}),
        "content[0] (tool_use) has no input object",
    ),
    "stop_reason as a number": (
        {**anthropic_message(), "stop_reason": 1},
        "the message's stop_reason is a number, not a string",
    ),
    "usage as a string": (
        {**anthropic_message(), "usage": "11"},
        "the message's usage is a string, not an object",
    ),
}


@pytest.mark.parametrize("name", MALFORMED_MESSAGES)
def test_a_malformed_anthropic_answer_is_an_upstream_bad_response(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], name: str
) -> None:
    message, what = MALFORMED_MESSAGES[name]
    upstreams[1].then(Reply(message))

    response = post(relay_url, "claude", stream=False)

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_bad_response"
    assert "'fake-anthropic'" in error["message"] and what in error["message"]


MALFORMED_CHUNKS: dict[str, tuple[dict[str, Any], str]] = {
    "choices as an object": ({"choices": {"0": {}}}, "a chunk's choices are not a list"),
    "a choice as a string": ({"choices": ["a"]}, "a chunk's choices[0] is not an object"),
    "delta as a string": (
        {"choices": [{"index": 0, "delta": "a"}]},
        "a chunk's choices[0].delta is not an object",
    ),
    "index as a string": (
        {"choices": [{"index": "0", "delta": {}}]},
        "a chunk's choices[0].index is not an integer",
    ),
    "finish_reason as a number": (
        {"choices": [{"index": 0, "delta": {}, "finish_reason": 1}]},
        "a chunk's choices[0].finish_reason is not a string",
    ),
    "tool_calls as an object": (
        {"choices": [{"index": 0, "delta": {"tool_calls": {"index": 0}}}]},
        "a chunk's choices[0].delta.tool_calls is not a list",
    ),
    "a tool call without an integer index": (
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": "0"}]}}]},
        "tool_calls[0] is not an object with an integer index",
    ),
}


@pytest.mark.parametrize("name", MALFORMED_CHUNKS)
def test_a_malformed_openai_stream_chunk_is_an_upstream_bad_response(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], name: str
) -> None:
    bad, what = MALFORMED_CHUNKS[name]
    upstreams[0].then(Stream(openai_events(OK_CHUNK, bad)))

    error = last_error(post(relay_url, "gpt", stream=True))

    assert error["code"] == "upstream_bad_response"
    assert "'fake-openai'" in error["message"] and what in error["message"]


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ({**openai_completion(), "choices": None}, "its choices are not a list"),
        ({**openai_completion(), "choices": [None]}, "choices[0] is not an object"),
        (
            {**openai_completion(), "choices": [{"index": 0, "message": "hello"}]},
            "choices[0].message is not an object",
        ),
    ],
)
def test_a_malformed_openai_answer_is_an_upstream_bad_response(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], body: Any, what: str
) -> None:
    upstreams[0].then(Reply(body))

    response = post(relay_url, "gpt", stream=False)

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_bad_response"
    assert "'fake-openai'" in error["message"] and what in error["message"]


def test_an_openai_compatible_error_answered_with_200_is_an_upstream_failure(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    upstreams[0].then(Reply({"error": {"message": f"quota gone for {OPENAI_KEY}", "code": 402}}))

    response = post(relay_url, "gpt", stream=False)

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_failed"
    assert (
        error["message"] == "The upstream provider 'fake-openai' failed: quota gone for [redacted]"
    )


# Whatever an Anthropic upstream sends, the translation answers or says what was wrong.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
event_types = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    ]
)
delta_types = st.sampled_from(["text_delta", "input_json_delta", "thinking_delta"])
events = st.fixed_dictionaries(
    {"type": event_types | json_values},
    optional={
        "index": st.integers(0, 2) | json_values,
        "message": st.fixed_dictionaries({}, optional={"id": json_values, "usage": json_values})
        | json_values,
        "content_block": st.fixed_dictionaries(
            {"type": st.sampled_from(["text", "tool_use"]) | json_values},
            optional={"id": json_values, "name": json_values, "text": json_values},
        )
        | json_values,
        "delta": st.fixed_dictionaries(
            {"type": delta_types | json_values},
            optional={
                "text": st.text(max_size=5) | json_values,
                "partial_json": st.text(max_size=5) | json_values,
                "stop_reason": st.sampled_from(["end_turn", "tool_use"]) | json_values,
            },
        )
        | json_values,
        "usage": json_values,
    },
)
blocks = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "tool_use", "thinking"]) | json_values},
    optional={
        "text": st.text(max_size=5) | json_values,
        "id": st.text(max_size=5) | json_values,
        "name": st.text(max_size=5) | json_values,
        "input": st.dictionaries(st.text(max_size=3), json_values, max_size=2) | json_values,
    },
)
messages = st.fixed_dictionaries(
    {"content": st.lists(blocks | json_values, max_size=3) | json_values},
    optional={"id": json_values, "stop_reason": json_values, "usage": json_values},
)


@settings(max_examples=400, deadline=None, database=None)
@given(stream=st.lists(events, max_size=6))
def test_any_anthropic_stream_event_translates_or_is_reported_malformed(
    stream: list[dict[str, Any]],
) -> None:
    translator = StreamTranslator("alias", include_usage=True)
    for event in stream:
        try:
            chunks = translator.feed("", event)
        except MalformedAnswer as error:
            assert str(error)
            return
        for chunk in chunks:
            json.dumps(chunk)  # what is passed on is plain JSON
            for choice in chunk["choices"]:
                delta = choice["delta"]
                assert isinstance(delta.get("content", ""), str)
                for call in delta.get("tool_calls", []):
                    assert isinstance(call["function"]["arguments"], str)


@settings(max_examples=400, deadline=None, database=None)
@given(message=messages)
def test_any_anthropic_answer_translates_or_is_reported_malformed(message: dict[str, Any]) -> None:
    try:
        completion = to_completion(message, "alias")
    except MalformedAnswer as error:
        assert str(error)
        return
    reply = completion["choices"][0]["message"]
    assert isinstance(reply["content"], str | None)
    for call in reply.get("tool_calls", []):
        assert isinstance(call["id"], str) and isinstance(call["function"]["name"], str)
        assert isinstance(json.loads(call["function"]["arguments"]), dict)
