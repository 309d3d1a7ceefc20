"""What docs/relay.md promises about the Anthropic translation, through the relay to a fake Messages
API on 127.0.0.1: sampling fields clamped to 0-1, `user`, refusals, cache tokens, thinking."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from relay_fakes import (
    WAIT,
    FakeUpstream,
    Reply,
    Stream,
    anthropic_events,
    anthropic_message,
)

HELLO = {"model": "claude", "messages": [{"role": "user", "content": "hi"}]}
THOUGHT = "a private chain of thought"
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"


def chat(url: str, **fields: Any) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        return client.post("/v1/chat/completions", json={**HELLO, **fields})


def sent(upstreams: tuple[FakeUpstream, FakeUpstream]) -> dict[str, Any]:
    """The Messages request the relay sent last."""
    body: dict[str, Any] = upstreams[1].seen[-1].body
    return body


def chunks(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    lines = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
    assert lines[-1] == "[DONE]", response.text
    return [json.loads(line) for line in lines[:-1]]


def stream_of(*events: dict[str, Any]) -> Stream:
    start = {"type": "message_start", "message": {"id": "m1", "usage": {"input_tokens": 3}}}
    return Stream(anthropic_events(start, *events, {"type": "message_stop"}))


def text_delta(index: int, text: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "text_delta", "text": text},
    }


def stop(reason: str, **usage: int) -> dict[str, Any]:
    return {"type": "message_delta", "delta": {"stop_reason": reason}, "usage": usage}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"temperature": 1.7, "top_p": 1.5}, {"temperature": 1.0, "top_p": 1.0}),
        ({"temperature": 2, "top_p": 1}, {"temperature": 1.0, "top_p": 1.0}),
        ({"temperature": 0.3, "top_p": 0.9}, {"temperature": 0.3, "top_p": 0.9}),
        ({"temperature": 0, "top_p": 0}, {"temperature": 0.0, "top_p": 0.0}),
    ],
)
def test_temperature_and_top_p_above_one_are_clamped_to_one(
    relay_url: str,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    fields: dict[str, float],
    expected: dict[str, float],
) -> None:
    upstreams[1].then(Reply(anthropic_message()))
    assert chat(relay_url, **fields).status_code == 200
    assert {name: sent(upstreams)[name] for name in expected} == expected


def test_temperature_and_top_p_below_zero_are_clamped_to_zero(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    # docs/relay.md promises both are clamped to Anthropic's range, 0 to 1: at both ends.
    upstreams[1].then(Reply(anthropic_message()))
    assert chat(relay_url, temperature=-0.5, top_p=-0.25).status_code == 200
    assert (sent(upstreams)["temperature"], sent(upstreams)["top_p"]) == (0.0, 0.0)


def test_user_becomes_metadata_user_id(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    upstreams[1].then(Reply(anthropic_message()), Reply(anthropic_message()))
    assert chat(relay_url, user="reader-42").status_code == 200
    assert sent(upstreams)["metadata"] == {"user_id": "reader-42"}
    assert chat(relay_url).status_code == 200
    assert "metadata" not in sent(upstreams)


def test_a_refusal_finishes_with_content_filter(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    upstreams[1].then(
        Reply(anthropic_message({"type": "text", "text": "I can't help."}, stop="refusal")),
        stream_of(text_delta(0, "I can't"), stop("refusal", output_tokens=2)),
    )
    answer = chat(relay_url)
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["finish_reason"] == "content_filter"
    assert answer.json()["choices"][0]["message"]["content"] == "I can't help."
    streamed = chunks(chat(relay_url, stream=True))
    assert [c["choices"][0]["finish_reason"] for c in streamed][-1] == "content_filter"


def test_cache_reads_and_writes_count_as_prompt_tokens(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    cached = anthropic_message()
    cached["usage"] = {
        "input_tokens": 11,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 50,
        "output_tokens": 5,
    }
    start = {
        "type": "message_start",
        "message": {
            "id": "m2",
            "usage": {
                "input_tokens": 3,
                "cache_creation_input_tokens": 20,
                "cache_read_input_tokens": 7,
                "output_tokens": 1,
            },
        },
    }
    upstreams[1].then(
        Reply(cached),
        Stream(
            anthropic_events(
                start,
                text_delta(0, "ok"),
                stop("end_turn", output_tokens=9),
                {"type": "message_stop"},
            )
        ),
    )
    usage = chat(relay_url).json()["usage"]
    assert usage == {"prompt_tokens": 161, "completion_tokens": 5, "total_tokens": 166}
    streamed = chunks(chat(relay_url, stream=True, stream_options={"include_usage": True}))
    assert streamed[-1]["choices"] == []
    assert streamed[-1]["usage"] == {
        "prompt_tokens": 30,
        "completion_tokens": 9,
        "total_tokens": 39,
    }


def test_thinking_blocks_are_not_passed_on(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    thinking = {"type": "thinking", "thinking": THOUGHT, "signature": SIGNATURE}
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}
    upstreams[1].then(
        stream_of(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {**thinking, "thinking": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": THOUGHT},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": SIGNATURE},
            },
            {"type": "content_block_stop", "index": 0},
            {"type": "content_block_start", "index": 1, "content_block": redacted},
            {"type": "content_block_stop", "index": 1},
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {"type": "text", "text": ""},
            },
            text_delta(2, "Hello"),
            {"type": "content_block_stop", "index": 2},
            stop("end_turn", output_tokens=30),
        ),
        Reply(anthropic_message(thinking, redacted, {"type": "text", "text": "Hello"})),
    )
    streamed = chat(relay_url, stream=True)
    deltas = [c["choices"][0]["delta"] for c in chunks(streamed)]
    assert "".join(d.get("content") or "" for d in deltas) == "Hello"
    assert all(set(d) <= {"role", "content"} for d in deltas), deltas
    plain = chat(relay_url)
    assert plain.json()["choices"][0]["message"]["content"] == "Hello"
    for text in (streamed.text, plain.text):
        assert THOUGHT not in text and SIGNATURE not in text and "EmwKAhgBEgy3va3pzix" not in text
