"""OpenAI <-> Anthropic translation, function by function."""

from __future__ import annotations

from typing import Any

import pytest

from cloche_server.relay import RelayError
from cloche_server.relay.anthropic_request import to_anthropic
from cloche_server.relay.anthropic_response import StreamTranslator, to_completion


def translate(messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return to_anthropic({"messages": messages, **fields}, "claude-x", 256)


def test_consecutive_turns_merge_and_tool_results_join_the_user_turn() -> None:
    request = translate(
        [
            {"role": "developer", "content": [{"type": "text", "text": "Rules."}]},
            {"role": "user", "content": "one"},
            {"role": "user", "content": [{"type": "text", "text": "two"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "b", "type": "function", "function": {"name": "g", "arguments": ""}},
                ],
            },
            {"role": "tool", "tool_call_id": "a", "content": "A"},
            {"role": "tool", "tool_call_id": "b", "content": [{"type": "text", "text": "B"}]},
            {"role": "user", "content": "thanks"},
        ]
    )
    assert request["system"] == [{"type": "text", "text": "Rules."}]
    assert [turn["role"] for turn in request["messages"]] == ["user", "assistant", "user"]
    assert request["messages"][0]["content"] == [
        {"type": "text", "text": "one"},
        {"type": "text", "text": "two"},
    ]
    assert [b["input"] for b in request["messages"][1]["content"]] == [{}, {}]
    assert request["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "a", "content": "A"},
        {"type": "tool_result", "tool_use_id": "b", "content": [{"type": "text", "text": "B"}]},
        {"type": "text", "text": "thanks"},
    ]


def test_images_become_image_blocks() -> None:
    parts = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.org/cat.jpg"}},
    ]
    content = translate([{"role": "user", "content": parts}])["messages"][0]["content"]
    assert content[0]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": "iVBORw0KGgo=",
    }
    assert content[1]["source"] == {"type": "url", "url": "https://example.org/cat.jpg"}


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ({"type": "function", "function": {"name": "f"}}, None, {"type": "tool", "name": "f"}),
        (None, None, None),
    ],
)
def test_tool_choice(choice: Any, parallel: Any, expected: Any) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    request = translate(
        [{"role": "user", "content": "x"}],
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=parallel,
    )
    assert request.get("tool_choice") == expected
    assert request["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "wizard", "content": "x"}],
        [{"role": "system", "content": "only a system prompt"}],
        [{"role": "user", "content": [{"type": "audio"}]}],
        [{"role": "tool", "content": "no id"}],
        [
            {
                "role": "assistant",
                "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{oops"}}],
            }
        ],
    ],
)
def test_what_cannot_be_translated_is_a_400(messages: list[dict[str, Any]]) -> None:
    with pytest.raises(RelayError) as caught:
        translate(messages)
    assert caught.value.status_code == 400


def test_n_above_one_is_refused() -> None:
    with pytest.raises(RelayError, match="n must be 1"):
        translate([{"role": "user", "content": "x"}], n=2)


def test_a_message_becomes_a_completion() -> None:
    completion = to_completion(
        {
            "id": "msg_1",
            "content": [
                {"type": "thinking", "thinking": "hmm"},
                {"type": "text", "text": "Hi"},
                {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}},
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 3, "cache_read_input_tokens": 4, "output_tokens": 2},
        },
        "alias",
    )
    choice = completion["choices"][0]
    assert choice["message"]["content"] == "Hi"
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"a": 1}'}
    assert choice["finish_reason"] == "tool_calls"
    assert completion["usage"] == {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
    assert completion["model"] == "alias"


def test_a_stream_with_two_tool_calls_numbers_them() -> None:
    translator = StreamTranslator("alias", include_usage=False)
    chunks = []
    for index, name in ((0, "f"), (1, "g")):
        block = {"type": "tool_use", "id": f"t{index}", "name": name}
        chunks += translator.feed(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": block},
        )
        chunks += translator.feed(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": "{}"},
            },
        )
    chunks += translator.feed("message_stop", {"type": "message_stop"})
    calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[:-1]]
    assert [call["index"] for call in calls] == [0, 0, 1, 1]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
