"""Keys an upstream echoes never reach the client: whole, streamed, or cut across stream chunks."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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

from cloche_server.relay.call import ChatCall
from cloche_server.relay.config import ModelRoute, Provider
from cloche_server.relay.scrub import REDACTED, Scrubber, StreamScrubber

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
KEYS = {"gpt": OPENAI_KEY, "claude": ANTHROPIC_KEY}
ECHO = "debug echo of your credentials: "


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "upstream-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def text_stream(model: str, *pieces: str) -> Stream:
    """An upstream stream whose text arrives in `pieces`, one event each."""
    if model == "gpt":
        chunks = [chunk({"content": piece}) for piece in pieces]
        return Stream(openai_events(*chunks, chunk({}, "stop")))
    return Stream(
        anthropic_events(
            {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 1}}},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
            *[
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                }
                for piece in pieces
            ],
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
            {"type": "message_stop"},
        )
    )


def streamed(relay_url: str, model: str) -> tuple[str, list[dict[str, Any]]]:
    """The raw stream, and its JSON events."""
    with httpx.Client(timeout=WAIT) as client:
        response = client.post(
            f"{relay_url}/v1/chat/completions", json={**CHAT, "model": model, "stream": True}
        )
    assert response.status_code == 200
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]", response.text
    return response.text, [json.loads(event) for event in events[:-1]]


def content(events: list[dict[str, Any]]) -> str:
    return "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])


def fake_for(upstreams: tuple[FakeUpstream, FakeUpstream], model: str) -> FakeUpstream:
    return upstreams[0] if model == "gpt" else upstreams[1]


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_a_key_in_a_plain_answer_is_redacted(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], model: str
) -> None:
    key = KEYS[model]
    if model == "gpt":
        upstreams[0].then(Reply(openai_completion(ECHO + key, system_fingerprint=key)))
    else:
        block = {"type": "text", "text": ECHO + key}
        upstreams[1].then(Reply(anthropic_message(block)))
    with httpx.Client(timeout=WAIT) as client:
        response = client.post(f"{relay_url}/v1/chat/completions", json={**CHAT, "model": model})
    assert response.status_code == 200
    assert key not in response.text
    assert response.json()["choices"][0]["message"]["content"] == ECHO + REDACTED


@pytest.mark.parametrize("model", ["gpt", "claude"])
@pytest.mark.parametrize("where", ["after its first character", "midway", "before its last"])
def test_a_key_cut_across_two_stream_chunks_is_redacted(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], model: str, where: str
) -> None:
    key = KEYS[model]
    cut = {"after its first character": 1, "midway": len(key) // 2}.get(where, len(key) - 1)
    fake_for(upstreams, model).then(text_stream(model, ECHO + key[:cut], key[cut:] + " (end)"))

    raw, events = streamed(relay_url, model)

    assert key[: max(cut, 4)] not in raw
    assert content(events) == ECHO + REDACTED + " (end)"


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_a_key_in_one_stream_chunk_is_redacted(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], model: str
) -> None:
    key = KEYS[model]
    fake_for(upstreams, model).then(text_stream(model, ECHO + key + " and again " + key))

    raw, events = streamed(relay_url, model)

    assert key not in raw
    assert content(events) == f"{ECHO}{REDACTED} and again {REDACTED}"


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_a_key_in_streamed_tool_call_arguments_is_redacted(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], model: str
) -> None:
    key = KEYS[model]
    pieces = ['{"token": "' + key[:12], key[12:] + '"}']
    if model == "gpt":
        start = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}}
        parts = [{"index": 0, "function": {"arguments": piece}} for piece in pieces]
        upstreams[0].then(
            Stream(
                openai_events(
                    chunk({"tool_calls": [start]}),
                    *[chunk({"tool_calls": [part]}) for part in parts],
                    chunk({}, "tool_calls"),
                )
            )
        )
    else:
        tool = {"type": "tool_use", "id": "toolu_1", "name": "f"}
        upstreams[1].then(
            Stream(
                anthropic_events(
                    {"type": "message_start", "message": {"id": "m"}},
                    {"type": "content_block_start", "index": 0, "content_block": tool},
                    *[
                        {
                            "type": "content_block_delta",
                            "index": 0,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        }
                        for piece in pieces
                    ],
                    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
                    {"type": "message_stop"},
                )
            )
        )

    raw, events = streamed(relay_url, model)

    assert key[:12] not in raw
    calls = [
        c for e in events if e["choices"] for c in e["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert calls[0]["id"] in ("call_1", "toolu_1")  # whole fields are not held back or cut
    arguments = "".join(c["function"].get("arguments", "") for c in calls)
    assert json.loads(arguments) == {"token": REDACTED}


def test_text_held_back_as_a_possible_key_is_flushed_at_the_end(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    # "sk-test" could be the start of the key, so it waits; the stream ends, so it goes out.
    upstreams[0].then(text_stream("gpt", "keys look like sk-test"))

    _, events = streamed(relay_url, "gpt")

    assert content(events) == "keys look like sk-test"
    assert events[-1]["choices"][0]["finish_reason"] == "stop"


def test_keys_in_upstream_error_bodies_and_error_events_are_redacted(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    fake_openai, fake_anthropic = upstreams
    fake_openai.then(
        Reply({"error": {"message": ECHO + OPENAI_KEY}}, status=500),
        Stream(openai_events(chunk({"content": "a"}), {"error": {"message": ECHO + OPENAI_KEY}})),
    )
    long_message = "x" * 1990 + ANTHROPIC_KEY  # cut at 2000 characters: after the scrub
    fake_anthropic.then(
        Stream(
            anthropic_events(
                {"type": "message_start", "message": {"id": "m"}},
                {"type": "error", "error": {"type": "overloaded_error", "message": long_message}},
            )
        )
    )
    with httpx.Client(base_url=relay_url, timeout=WAIT) as client:
        failed = client.post("/v1/chat/completions", json={**CHAT, "model": "gpt"})
        event = client.post("/v1/chat/completions", json={**CHAT, "model": "gpt", "stream": True})
        mid = client.post("/v1/chat/completions", json={**CHAT, "model": "claude", "stream": True})
    assert failed.status_code == 502
    assert failed.json()["error"]["message"].endswith(ECHO + REDACTED)
    assert json.loads(event.text.split("data: ")[-1])["error"]["message"] == ECHO + REDACTED
    assert "upstream_failed" in mid.text
    for response in (failed, event, mid):
        assert OPENAI_KEY[:6] not in response.text
        assert ANTHROPIC_KEY[:10] not in response.text


# The scrubber on its own.

SCRUB = Scrubber([OPENAI_KEY, ANTHROPIC_KEY, 'with"quote'])


def test_a_stream_holds_back_at_most_the_longest_key_minus_one_character() -> None:
    assert SCRUB.hold == len(OPENAI_KEY) - 1  # the longest of the three
    stream = StreamScrubber(SCRUB)
    out = stream.chunk(chunk({"content": "x" * 50 + OPENAI_KEY[:-1]}))
    assert out["choices"][0]["delta"]["content"] == "x" * 50  # the rest could be the key
    # Once the text can no longer be a key, it goes out; text that cannot begin one never waits.
    out = stream.chunk(chunk({"content": "! plain"}))
    assert out["choices"][0]["delta"]["content"] == OPENAI_KEY[:-1] + "! plain"
    assert stream.tail() is None


def test_a_stream_of_many_tiny_pieces_still_catches_the_key() -> None:
    stream = StreamScrubber(SCRUB)
    text = "before " + OPENAI_KEY + " after"
    sent = [
        stream.chunk(chunk({"content": letter}))["choices"][0]["delta"]["content"]
        for letter in text
    ]
    tail = stream.tail()
    assert tail is None
    assert "".join(sent) == f"before {REDACTED} after"


def test_held_text_goes_out_with_the_chunk_that_finishes_its_choice() -> None:
    stream = StreamScrubber(SCRUB)
    first = stream.chunk(chunk({"tool_calls": [{"index": 2, "function": {"arguments": "sk-t"}}]}))
    assert first["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] == ""
    last = stream.chunk(chunk({}, "tool_calls"))
    assert last["choices"][0]["delta"] == {
        "tool_calls": [{"index": 2, "function": {"arguments": "sk-t"}}]
    }


def test_keys_behind_json_escapes_in_arguments_and_in_object_keys_are_redacted() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in OPENAI_KEY)
    completion = {
        "choices": [
            {
                "message": {
                    "tool_calls": [
                        {"function": {"name": "f", "arguments": '{"k": "' + escaped + '"}'}},
                        {"function": {"name": "g", "arguments": '{"q": "with\\"quote"}'}},
                    ]
                },
                "logprobs": {"content": [{"token": OPENAI_KEY, "bytes": list(b"sk"), "x": 1}]},
            }
        ],
        OPENAI_KEY: "as a key",
    }
    clean = SCRUB.json(completion)
    text = json.dumps(clean)
    assert "sk-test" not in text and "quote" not in text and escaped not in text
    calls = clean["choices"][0]["message"]["tool_calls"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"k": REDACTED}
    assert json.loads(calls[1]["function"]["arguments"]) == {"q": REDACTED}
    token = clean["choices"][0]["logprobs"]["content"][0]
    assert token == {"token": REDACTED, "bytes": list(REDACTED.encode()), "x": 1}
    assert clean[REDACTED] == "as a key"


def test_nothing_is_changed_or_held_without_secrets() -> None:
    stream = StreamScrubber(Scrubber([]))
    piece = chunk({"content": "sk-test-openai"})
    assert stream.chunk(piece)["choices"][0]["delta"]["content"] == "sk-test-openai"


alphabet = st.sampled_from(sorted(set(OPENAI_KEY + ANTHROPIC_KEY + " xy")))
text_with_keys = st.lists(
    st.text(alphabet, max_size=12) | st.sampled_from([OPENAI_KEY, ANTHROPIC_KEY]), max_size=8
).map("".join)


@settings(max_examples=300, deadline=None, database=None)
@given(text=text_with_keys, cuts=st.lists(st.integers(0, 200), max_size=8))
def test_a_stream_cut_anywhere_says_what_the_whole_text_scrubbed_says(
    text: str, cuts: list[int]
) -> None:
    bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    stream = StreamScrubber(SCRUB)
    sent = [stream.chunk(chunk({"content": piece}))["choices"][0]["delta"] for piece in pieces]
    sent.append(stream.chunk(chunk({}, "stop"))["choices"][0]["delta"])
    result = "".join(delta.get("content", "") for delta in sent)
    assert result == SCRUB(text)
    assert OPENAI_KEY not in result and ANTHROPIC_KEY not in result


def test_a_call_scrubs_with_every_secret_it_is_given_or_at_least_its_upstreams() -> None:
    provider = Provider("p", "openai", "http://127.0.0.1:9", OPENAI_KEY, {"X-Team": "team-secret"})
    route = ModelRoute("gpt", provider, "m", 100)
    everything = Scrubber([OPENAI_KEY, ANTHROPIC_KEY, "team-secret"])
    assert ChatCall(route, dict(CHAT), 100, False, everything).scrubber is everything

    # Given a plain function, the call holds back its own upstream's secrets in streams and
    # applies the function to whole texts after.
    call = ChatCall(route, dict(CHAT), 100, False, lambda text: text.replace("other", "[x]"))
    stream = StreamScrubber(call.scrubber)
    first = stream.chunk(chunk({"content": "other team-sec"}))
    last = stream.chunk(chunk({"content": "ret " + OPENAI_KEY}, "stop"))
    text = first["choices"][0]["delta"]["content"] + last["choices"][0]["delta"]["content"]
    assert text == f"[x] {REDACTED} {REDACTED}"


def test_an_upstream_error_is_scrubbed_before_it_is_shortened() -> None:
    """A key at the cut of a long error message must not get through in part."""
    from cloche_server.relay.scrub import Scrubber
    from cloche_server.relay.upstream_http import upstream_message

    key = "sk-test-operator-0123456789abcdef"
    scrub = Scrubber([key])
    for body in (
        json.dumps({"error": {"message": "x" * 1990 + key}}).encode(),
        json.dumps({"error": "x" * 1990 + key}).encode(),
        ("x" * 490 + key).encode(),
    ):
        message = upstream_message(body, scrub)
        assert key[:8] not in message, message[-40:]
