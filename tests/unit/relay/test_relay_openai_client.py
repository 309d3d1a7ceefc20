"""The official `openai` client against the relay: plain, streaming, tool calls, both upstreams."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
    Stream,
    anthropic_events,
    anthropic_message,
    openai_completion,
    openai_events,
)

WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture
def client(relay_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=relay_url + "/v1", api_key="page-has-no-key", max_retries=0) as c:
        yield c


def test_models_lists_the_configured_aliases(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert sorted(m.id for m in models.data) == ["claude", "gpt"]
    assert client.models.retrieve("claude").owned_by == "fake-anthropic"


def test_plain_completion_through_an_openai_compatible_upstream(
    client: openai.OpenAI, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    fake, _ = upstreams
    fake.then(Reply(openai_completion("Bonjour.")))

    answer = client.chat.completions.create(
        model="gpt", messages=[{"role": "user", "content": "Say hello in French."}]
    )

    assert answer.choices[0].message.content == "Bonjour."
    assert answer.model == "gpt"  # the page sees its alias, not the upstream's name
    assert answer.usage is not None and answer.usage.total_tokens == 10
    sent = fake.seen[0]
    assert sent.body["model"] == "upstream-model"
    assert sent.body["messages"] == [{"role": "user", "content": "Say hello in French."}]
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.body["max_tokens"] == 4096  # the relay's cap, since the page set none


def test_streaming_through_an_openai_compatible_upstream(
    client: openai.OpenAI, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    fake, _ = upstreams

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "upstream-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    usage_chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "upstream-model",
        "choices": [],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
    fake.then(
        Stream(
            openai_events(
                chunk({"role": "assistant", "content": ""}),
                chunk({"content": "Hel"}),
                chunk({"content": "lo"}),
                chunk({}, "stop"),
                usage_chunk,
            )
        )
    )

    stream = client.chat.completions.create(
        model="gpt", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.model == "gpt" for c in chunks)
    # The relay asked for usage for its own accounting; the page did not, so it sees none.
    assert not any(c.usage for c in chunks)
    assert fake.seen[0].body["stream_options"] == {"include_usage": True}


def test_tool_calls_through_an_openai_compatible_upstream(
    client: openai.OpenAI, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    fake, _ = upstreams
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
    }
    answer = openai_completion()
    answer["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
    answer["choices"][0]["finish_reason"] = "tool_calls"
    fake.then(Reply(answer))

    result = client.chat.completions.create(
        model="gpt",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER_TOOL],
    )

    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    called = choice.message.tool_calls[0]
    assert called.type == "function"
    assert called.function.name == "get_weather"
    assert json.loads(called.function.arguments) == {"city": "Oslo"}
    assert fake.seen[0].body["tools"] == [WEATHER_TOOL]


def test_plain_completion_through_anthropic(
    client: openai.OpenAI, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    _, fake = upstreams
    fake.then(Reply(anthropic_message()))

    answer = client.chat.completions.create(
        model="claude",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello?"},
        ],
        max_tokens=100,
        temperature=0.5,
        stop=["END"],
    )

    assert answer.choices[0].message.content == "Hello from Claude."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "claude"
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (11, 5)
    sent = fake.seen[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body == {
        "model": "claude-upstream",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello?"}]}],
        "temperature": 0.5,
        "stop_sequences": ["END"],
    }


def test_anthropic_tool_use_round_trip(
    client: openai.OpenAI, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    _, fake = upstreams
    tool_use = {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "get_weather",
        "input": {"city": "Oslo"},
    }
    fake.then(
        Reply(
            anthropic_message({"type": "text", "text": "Let me look."}, tool_use, stop="tool_use")
        ),
        Reply(anthropic_message({"type": "text", "text": "It is 3 degrees."})),
    )
    messages: list[Any] = [{"role": "user", "content": "Weather in Oslo?"}]

    first = client.chat.completions.create(
        model="claude", messages=messages, tools=[WEATHER_TOOL], tool_choice="required"
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me look."
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert (call.id, call.function.name) == ("toolu_1", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Oslo"}

    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "3 degrees"})
    second = client.chat.completions.create(model="claude", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "It is 3 degrees."

    first_sent, second_sent = fake.seen[0].body, fake.seen[1].body
    assert first_sent["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city.",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
        }
    ]
    assert first_sent["tool_choice"] == {"type": "any"}
    assert second_sent["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "3 degrees"}],
        },
    ]


def test_anthropic_streaming_text_and_tool_use(
    client: openai.OpenAI, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    _, fake = upstreams
    fake.then(
        Stream(
            anthropic_events(
                {
                    "type": "message_start",
                    "message": {"id": "msg_9", "usage": {"input_tokens": 20, "output_tokens": 1}},
                },
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
                {"type": "ping"},
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "Checking"},
                },
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": " now."},
                },
                {"type": "content_block_stop", "index": 0},
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {"type": "tool_use", "id": "toolu_7", "name": "get_weather"},
                },
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": '{"ci'},
                },
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": 'ty": "Oslo"}'},
                },
                {"type": "content_block_stop", "index": 1},
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "tool_use"},
                    "usage": {"output_tokens": 15},
                },
                {"type": "message_stop"},
            )
        )
    )

    stream = client.chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    assert "".join(d.content or "" for d in deltas) == "Checking now."
    tool_parts = [t for d in deltas for t in d.tool_calls or []]
    assert tool_parts[0].id == "toolu_7"
    assert tool_parts[0].function is not None and tool_parts[0].function.name == "get_weather"
    assert {t.index for t in tool_parts} == {0}
    arguments = "".join((t.function.arguments or "") for t in tool_parts if t.function)
    assert len([t for t in tool_parts if t.function and t.function.arguments]) == 2  # incremental
    assert json.loads(arguments) == {"city": "Oslo"}
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "tool_calls"
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (20, 15)
    assert all(c.id == "chatcmpl-msg_9" for c in chunks)
    assert fake.seen[0].body["stream"] is True


def test_stop_reasons_map_to_finish_reasons(
    client: openai.OpenAI, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    _, fake = upstreams
    expected = {"end_turn": "stop", "max_tokens": "length", "stop_sequence": "stop"}
    for stop in expected:
        fake.then(Reply(anthropic_message(stop=stop)))
    for stop, finish in expected.items():
        answer = client.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": stop}]
        )
        assert answer.choices[0].finish_reason == finish


def test_relay_errors_reach_the_client_as_openai_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "model_not_found"
    assert "gpt-9" in caught.value.message
    assert "claude, gpt" in caught.value.message


def test_a_truncated_openai_compatible_stream_raises_in_the_client(
    client: openai.OpenAI, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    fake, _ = upstreams
    # The upstream ends cleanly after two chunks: no finish_reason, no [DONE].
    first, second = (
        {"id": "c", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
        for text in ("Hel", "lo")
    )
    fake.then(Stream(openai_events(first, second, done=False)))

    stream = client.chat.completions.create(
        model="gpt", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")

    assert received == ["Hel", "lo"]  # what came is passed on, then the stream fails
    assert "'fake-openai' ended the stream before its end" in caught.value.message
    assert caught.value.body == {
        "message": caught.value.message,
        "type": "upstream_error",
        "param": None,
        "code": "upstream_stream_truncated",
    }


def test_an_openai_compatible_stream_that_finishes_without_done_is_complete(
    client: openai.OpenAI, upstreams: tuple[FakeUpstream, FakeUpstream], relay_url: str
) -> None:
    fake, _ = upstreams
    last = {
        "id": "c",
        "choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}],
    }
    fake.then(Stream(openai_events(last, done=False)), Stream(openai_events(last, done=False)))

    stream = client.chat.completions.create(
        model="gpt", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert [c.choices[0].finish_reason for c in stream] == ["stop"]
    raw = httpx.post(
        f"{relay_url}/v1/chat/completions",
        json={"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        timeout=WAIT,
    )
    assert raw.text.endswith("data: [DONE]\n\n")  # the relay ends it as its docs promise


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"stream": 1}, "stream"),
        ({"stream": 0}, "stream"),
        ({"stream": "true"}, "stream"),
        ({"stream_options": {"include_usage": 1}}, "stream_options.include_usage"),
        ({"stream_options": True}, "stream_options"),
        ({"logprobs": 1}, "logprobs"),
        ({"parallel_tool_calls": "false"}, "parallel_tool_calls"),
        ({"store": 0}, "store"),
        (
            {"tools": [{**WEATHER_TOOL, "function": {"name": "f", "strict": 1}}]},
            "tools[0].function.strict",
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": 1}}},
            "response_format.json_schema.strict",
        ),
    ],
)
@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_boolean_fields_must_be_true_or_false(
    client: openai.OpenAI,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    model: str,
    extra: dict[str, Any],
    param: str,
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], extra_body=extra
        )
    assert caught.value.param == param
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    assert "must be" in caught.value.message
    assert not upstreams[0].seen and not upstreams[1].seen  # nothing was sent upstream


def test_boolean_fields_that_are_booleans_or_null_pass(
    client: openai.OpenAI, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    fake, _ = upstreams
    fake.then(Reply(openai_completion()))
    flags = {"stream": False, "logprobs": None, "parallel_tool_calls": True, "store": False}
    client.chat.completions.create(
        model="gpt", messages=[{"role": "user", "content": "hi"}], extra_body=flags
    )
    assert {name: fake.seen[0].body[name] for name in flags} == flags
