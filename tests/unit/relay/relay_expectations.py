"""What the relay should answer whatever a client sends (for test_relay_fuzz.py): the refusals a
request deserves, from its body alone, and checks that what it relayed instead was faithful.

The fake upstreams give fixed answers (`answer_openai`, `answer_anthropic`), so every answer the
relay passes on is known in advance.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import httpx
from relay_fakes import (
    FakeUpstream,
    Reply,
    Stream,
    anthropic_events,
    anthropic_message,
    openai_completion,
    openai_events,
)

CAP = 4096  # the relay's max_tokens for both aliases (relay_fakes.relay_config's limits)
MAX_BODY = 20_000
DATA_URL = re.compile(r"data:image/[a-z0-9.+-]+;base64,.*", re.IGNORECASE | re.DOTALL)
ANTHROPIC_FIELDS = {
    "model", "max_tokens", "messages", "system", "temperature", "top_p", "stop_sequences",
    "metadata", "tools", "tool_choice", "stream",
}  # fmt: skip
CHUNK = {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]}
ANTHROPIC_STREAM: list[dict[str, Any]] = [
    {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 2}}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
    {"type": "message_stop"},
]


def answer_openai(body: Any) -> Reply | Stream:
    if isinstance(body, dict) and body.get("stream") is True:
        return Stream(openai_events(CHUNK))
    return Reply(openai_completion())


def answer_anthropic(body: Any) -> Reply | Stream:
    if isinstance(body, dict) and body.get("stream") is True:
        return Stream(anthropic_events(*ANTHROPIC_STREAM))
    return Reply(anthropic_message())


# What a request deserves, from its body alone.

Refusals = set[tuple[int, str | None]]  # (status, the top-level field the error names)


def expected_refusals(body: Any) -> Refusals:
    """The answers the relay may give instead of relaying `body`; empty when it must relay it."""
    if not isinstance(body, dict):
        return {(400, None)}
    problems: Refusals = set()
    model, messages = body.get("model"), body.get("messages")
    if not isinstance(model, str):
        problems.add((400, "model"))
    elif model not in ("gpt", "claude"):
        problems.add((404, "model"))
    if not (isinstance(messages, list) and messages and all(map(is_message, messages))):
        problems.add((400, "messages"))
    # Booleans the relay reads or forwards are true, false or null; anything else is refused.
    for name in ("stream", "parallel_tool_calls"):
        if not is_flag(body.get(name)):
            problems.add((400, name))
    options = body.get("stream_options")
    if options is not None and not (
        isinstance(options, dict) and is_flag(options.get("include_usage"))
    ):
        problems.add((400, "stream_options"))
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and not (is_int(value) and 1 <= value <= CAP):
            problems.add((400, name))
    if model == "claude" and (400, "messages") not in problems:
        problems |= {(400, field) for field in anthropic_problems(body)}
    return problems


def anthropic_problems(body: dict[str, Any]) -> set[str]:
    """Fields of a well-shaped request that Anthropic's Messages API cannot be sent."""
    fields = set()
    if body.get("n") not in (None, 1):
        fields.add("n")
    for name in ("temperature", "top_p"):
        if body.get(name) is not None and not is_number(body[name]):
            fields.add(name)
    stop = body.get("stop")
    if not (stop is None or isinstance(stop, str) or is_list_of(stop, str)):
        fields.add("stop")
    tools = body.get("tools")
    if tools and not (isinstance(tools, list) and all(tool_ok(tool) for tool in tools)):
        fields.add("tools")
    if not tool_choice_ok(body.get("tool_choice")):
        fields.add("tool_choice")
    counts = [message_blocks(message) for message in body["messages"]]
    # Anthropic needs a non-empty conversation: empty texts are dropped, so some may be left empty.
    if None in counts or not sum(c for c in counts if c is not None):
        fields.add("messages")
    return fields


def message_blocks(message: dict[str, Any]) -> int | None:
    """How many Anthropic content blocks `message` becomes (system: 0), None if it cannot."""
    role, content = message["role"], message.get("content")
    if role in ("system", "developer"):
        return None if text_blocks(content) is None else 0
    if role == "user":
        if content is None or isinstance(content, str):
            return text_blocks(content)
        if not isinstance(content, list):
            return None
        blocks = [image_ok(p) if is_image_part(p) else text_blocks([p]) for p in content]
        return None if None in blocks else sum(b for b in blocks if b is not None)
    if role == "assistant":
        texts, calls = text_blocks(content), message.get("tool_calls") or []
        if texts is None or not isinstance(calls, list) or not all(map(tool_call_ok, calls)):
            return None
        return texts + len(calls)
    if role == "tool":
        id_ok = isinstance(message.get("tool_call_id"), str)
        return (
            1 if id_ok and (isinstance(content, str) or text_blocks(content) is not None) else None
        )
    return None


def text_blocks(content: Any) -> int | None:
    """Non-empty text blocks in a text-only content, None if it is not text-only."""
    if content is None or isinstance(content, str):
        return 1 if content else 0
    if not isinstance(content, list):
        return None
    parts_ok = all(
        isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        for p in content
    )
    return sum(1 for p in content if p["text"]) if parts_ok else None


def is_image_part(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "image_url"


def image_ok(part: dict[str, Any]) -> int | None:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else None
    if isinstance(url, str) and (
        DATA_URL.fullmatch(url) or url.startswith(("http://", "https://"))
    ):
        return 1
    return None


def tool_call_ok(call: Any) -> bool:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(call.get("id"), str):
        return False
    arguments = function.get("arguments") or "{}"
    if not isinstance(function.get("name"), str) or not isinstance(arguments, str):
        return False
    try:
        return isinstance(json.loads(arguments), dict)
    except ValueError:
        return False


def tool_ok(tool: Any) -> bool:
    if not isinstance(tool, dict) or tool.get("type", "function") != "function":
        return False
    function = tool.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        return False
    return isinstance(function.get("parameters") or {}, dict)


def tool_choice_ok(choice: Any) -> bool:
    if choice is None or choice in ("auto", "none", "required"):
        return True
    function = choice.get("function") if isinstance(choice, dict) else None
    return isinstance(function, dict) and isinstance(function.get("name"), str)


def is_message(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("role"), str)


def is_flag(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_list_of(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(item, kind) for item in value)


# What the relay did, checked against what the request deserves.


def exchange(
    client: httpx.Client, upstreams: tuple[FakeUpstream, FakeUpstream], **request: Any
) -> httpx.Response:
    for fake in upstreams:
        fake.seen.clear()
    return client.post("/v1/chat/completions", **request)


def check(
    body: Any, response: httpx.Response, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    refusals = expected_refusals(body)
    if not refusals:
        assert response.status_code == 200, response.text
        if body["model"] == "gpt":
            check_openai_relay(body, response, upstreams[0].seen[-1].body)
        else:
            check_anthropic_relay(body, response, upstreams[1].seen[-1].body)
        return
    error = openai_error(response)
    named = re.split(r"[.\[]", error["param"])[0] if error["param"] else None
    assert (response.status_code, named) in refusals, (response.status_code, error, refusals)
    assert not upstreams[0].seen and not upstreams[1].seen  # a refusal costs no upstream call


def openai_error(response: httpx.Response) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    return error


def budget(body: dict[str, Any]) -> int:
    asked = [body[n] for n in ("max_tokens", "max_completion_tokens") if body.get(n) is not None]
    return min(asked, default=CAP)


def stream_chunks(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [e.removeprefix("data: ") for e in response.text.split("\n\n") if e]
    assert events[-1] == "[DONE]", response.text
    chunks = [json.loads(event) for event in events[:-1]]
    assert all("error" not in chunk for chunk in chunks), response.text
    return chunks


def check_openai_relay(
    body: dict[str, Any], response: httpx.Response, sent: dict[str, Any]
) -> None:
    """Passed on as written, but for the model, the cap when none was asked, and usage."""
    rewritten = {"model", "max_tokens", "max_completion_tokens", "stream_options"}
    assert {k: v for k, v in sent.items() if k not in rewritten} == {
        k: v for k, v in body.items() if k not in rewritten
    }
    assert sent["model"] == "upstream-model"
    # The upstream reads a null as no cap at all, so some field must carry the budget.
    caps = [sent[n] for n in ("max_tokens", "max_completion_tokens") if sent.get(n) is not None]
    assert caps and min(caps) == budget(body), (sent, body)
    options = body.get("stream_options") or {}
    if body.get("stream") is True:
        assert sent["stream_options"] == {**options, "include_usage": True}
        chunks = stream_chunks(response)
        assert [c["choices"] for c in chunks] == [CHUNK["choices"]]
        assert all(c["model"] == "gpt" for c in chunks)
    else:
        assert sent.get("stream_options") == body.get("stream_options")
        assert response.json() == {**openai_completion(), "model": "gpt"}


def check_anthropic_relay(
    body: dict[str, Any], response: httpx.Response, sent: dict[str, Any]
) -> None:
    check_messages_request(body, sent)
    if body.get("stream") is not True:
        answer = response.json()
        assert (answer["object"], answer["model"]) == ("chat.completion", "claude")
        assert answer["choices"][0]["message"]["content"] == "Hello from Claude."
        assert answer["choices"][0]["finish_reason"] == "stop"
        assert answer["usage"] == {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
        return
    chunks = stream_chunks(response)
    usage = [c for c in chunks if not c["choices"]]
    chunks = [c for c in chunks if c["choices"]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "ok"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["model"] == "claude" for c in chunks)
    asked = isinstance(body.get("stream_options"), dict) and body["stream_options"].get(
        "include_usage"
    )
    expected = [{"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}] if asked else []
    assert [c["usage"] for c in usage] == expected


def check_messages_request(body: dict[str, Any], sent: dict[str, Any]) -> None:
    """`sent` is a Messages API request, and says what `body` said."""
    assert set(sent) <= ANTHROPIC_FIELDS, set(sent) - ANTHROPIC_FIELDS
    assert (sent["model"], sent["max_tokens"]) == ("claude-upstream", budget(body))
    assert sent.get("stream", False) is (body.get("stream") is True)
    turns = sent["messages"]
    roles = [turn["role"] for turn in turns]
    assert set(roles) <= {"user", "assistant"} and roles, roles
    assert all(a != b for a, b in itertools.pairwise(roles)), roles  # they alternate
    blocks = [(turn["role"], block) for turn in turns for block in turn["content"]]
    assert all(turn["content"] for turn in turns)
    for role, block in blocks:
        check_block(role, block)
    messages = body["messages"]
    system = [t for m in messages if m["role"] in ("system", "developer") for t in texts(m)]
    assert [b["text"] for b in sent.get("system", [])] == system
    spoken = [t for m in messages if m["role"] in ("user", "assistant") for t in texts(m)]
    assert [b["text"] for _, b in blocks if b["type"] == "text"] == spoken
    calls = [
        c["id"] for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or []
    ]
    assert [b["id"] for _, b in blocks if b["type"] == "tool_use"] == calls
    results = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    assert [b["tool_use_id"] for _, b in blocks if b["type"] == "tool_result"] == results
    images = sum(
        1 for m in messages if m["role"] == "user" and isinstance(m.get("content"), list)
        for part in m["content"] if is_image_part(part)
    )  # fmt: skip
    assert sum(1 for _, b in blocks if b["type"] == "image") == images
    for name in ("temperature", "top_p"):
        if body.get(name) is None:
            assert name not in sent
        else:  # docs/relay.md: clamped to Anthropic's 0-1
            assert sent[name] == min(max(float(body[name]), 0.0), 1.0), (name, body[name])
    stop = body.get("stop")
    assert sent.get("stop_sequences") == ([stop] if isinstance(stop, str) else stop)
    user = body.get("user")
    assert sent.get("metadata") == ({"user_id": user} if isinstance(user, str) else None)
    check_tools(body, sent)


def check_block(role: str, block: dict[str, Any]) -> None:
    kind = block["type"]
    if kind == "text":
        assert set(block) == {"type", "text"} and isinstance(block["text"], str) and block["text"]
    elif kind == "image":
        assert role == "user" and block["source"]["type"] in ("base64", "url")
    elif kind == "tool_use":
        assert role == "assistant" and isinstance(block["input"], dict)
        assert isinstance(block["id"], str) and isinstance(block["name"], str)
    else:
        assert (role, kind) == ("user", "tool_result"), block
        content = block["content"]
        assert isinstance(content, str) or all(b["type"] == "text" and b["text"] for b in content)


def texts(message: dict[str, Any]) -> list[str]:
    """The non-empty texts of a message's content, in order."""
    content = message.get("content")
    if isinstance(content, str):
        return [content] if content else []
    parts = content if isinstance(content, list) else []
    return [p["text"] for p in parts if p.get("type") == "text" and p["text"]]


def check_tools(body: dict[str, Any], sent: dict[str, Any]) -> None:
    tools = body.get("tools")
    if not tools:
        assert "tools" not in sent and "tool_choice" not in sent
        return
    assert [t["name"] for t in sent["tools"]] == [t["function"]["name"] for t in tools]
    schemas = [
        t["function"].get("parameters") or {"type": "object", "properties": {}} for t in tools
    ]
    assert [t["input_schema"] for t in sent["tools"]] == schemas
    choice, parallel = body.get("tool_choice"), body.get("parallel_tool_calls")
    if choice is None and parallel is not False:
        assert "tool_choice" not in sent
        return
    if isinstance(choice, dict):
        expected = {"type": "tool", "name": choice["function"]["name"]}
    else:
        expected = {
            "type": {None: "auto", "auto": "auto", "none": "none", "required": "any"}[choice]
        }
    if parallel is False and expected["type"] != "none":
        expected["disable_parallel_tool_use"] = True
    assert sent["tool_choice"] == expected
