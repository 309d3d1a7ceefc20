"""Anthropic Messages answers -> OpenAI chat.completion objects and chat.completion.chunk events.

Each answer and event is checked for the shape the translation relies on first: a wrong one
raises MalformedAnswer saying what was wrong, never an error of the translation itself.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .errors import MalformedAnswer

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: object) -> str | None:
    if stop_reason is None:
        return None
    return FINISH_REASONS.get(str(stop_reason), "stop")


def usage(reported: object) -> dict[str, int] | None:
    if not isinstance(reported, dict):
        return None
    prompt = sum(
        value
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        if isinstance(value := reported.get(key), int)
    )
    output = reported.get("output_tokens")
    completion = output if isinstance(output, int) else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def to_completion(message: dict[str, Any], alias: str) -> dict[str, Any]:
    check_message(message)
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message["content"]:
        if block["type"] == "text":
            texts.append(block["text"])
        elif block["type"] == "tool_use":
            tool_calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": json.dumps(block["input"])},
                }
            )
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    completion: dict[str, Any] = {
        "id": f"chatcmpl-{message.get('id') or ''}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": alias,
        "choices": [
            {
                "index": 0,
                "message": reply,
                "finish_reason": finish_reason(message.get("stop_reason")) or "stop",
                "logprobs": None,
            }
        ],
    }
    counted = usage(message.get("usage"))
    if counted:
        completion["usage"] = counted
    return completion


class StreamTranslator:
    """Feeds on Anthropic stream events; returns the OpenAI chunks each one turns into."""

    def __init__(self, alias: str, include_usage: bool) -> None:
        self.alias = alias
        self.include_usage = include_usage
        self.id = "chatcmpl-relay"
        self.created = int(time.time())
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.tool_index: dict[int, int] = {}  # Anthropic block index -> OpenAI tool call index
        self.finished = False

    def feed(self, event: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        kind = check_event(event, data)
        if kind == "message_start":
            message = data["message"]
            self.id = f"chatcmpl-{message.get('id') or 'relay'}"
            self._count(message.get("usage"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = data["content_block"]
            if block["type"] != "tool_use":
                return []
            position = len(self.tool_index)
            self.tool_index[data["index"]] = position
            call = {
                "index": position,
                "id": block["id"],
                "type": "function",
                "function": {"name": block["name"], "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        if kind == "content_block_delta":
            delta = data["delta"]
            if delta["type"] == "text_delta":
                return [self._chunk({"content": delta["text"]})]
            if delta["type"] == "input_json_delta":
                found = self.tool_index.get(data["index"])
                if found is None:
                    return []
                call = {"index": found, "function": {"arguments": delta["partial_json"]}}
                return [self._chunk({"tool_calls": [call]})]
            return []  # thinking and signature deltas have no OpenAI counterpart
        if kind == "message_delta":
            self._count(data.get("usage"))
            reason = finish_reason(data["delta"].get("stop_reason"))
            if reason is None:
                return []
            self.finished = True
            return [self._chunk({}, finish=reason)]
        if kind == "message_stop":
            chunks = []
            if not self.finished:
                self.finished = True
                chunks.append(self._chunk({}, finish="stop"))
            if self.include_usage:
                chunk = self._chunk({})
                chunk["choices"] = []
                chunk["usage"] = self.usage()
                chunks.append(chunk)
            return chunks
        return []  # ping, and event types added later

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def _count(self, reported: object) -> None:
        # message_start carries the input count, message_delta the running output count.
        counted = usage(reported)
        if counted is None:
            return
        if counted["prompt_tokens"]:
            self.prompt_tokens = counted["prompt_tokens"]
        if counted["completion_tokens"]:
            self.completion_tokens = counted["completion_tokens"]

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.alias,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }


def check_message(message: dict[str, Any]) -> None:
    """Raises MalformedAnswer unless `message` has the shape of a Messages API answer."""
    content = message.get("content")
    if not isinstance(content, list):
        raise MalformedAnswer("the message's content is not a list")
    _optional(message, "id", str, "the message")
    _optional(message, "stop_reason", str, "the message")
    _check_usage(message.get("usage"), "the message")
    for index, block in enumerate(content):
        _check_block(block, f"content[{index}]")
        if block["type"] == "tool_use" and not isinstance(block.get("input"), dict):
            raise MalformedAnswer(f"content[{index}] (tool_use) has no input object")


def check_event(event: str, data: dict[str, Any]) -> str:
    """The event's type, once its fields the translation reads have the right shape."""
    kind = data.get("type", event)
    if not isinstance(kind, str):
        raise MalformedAnswer(f"a stream event's type is {_kind(kind)}, not a string")
    where = f"a {kind} event"
    if kind == "message_start":
        message = _field(data, "message", dict, where)
        _optional(message, "id", str, f"{where}'s message")
        _check_usage(message.get("usage"), f"{where}'s message")
    elif kind in ("content_block_start", "content_block_delta", "content_block_stop"):
        _field(data, "index", int, where)
    if kind == "content_block_start":
        block = _field(data, "content_block", dict, where)
        _check_block(block, f"{where}'s content_block", whole=False)
    elif kind == "content_block_delta":
        delta = _field(data, "delta", dict, where)
        delta_kind = _field(delta, "type", str, f"{where}'s delta")
        needs = {"text_delta": "text", "input_json_delta": "partial_json"}.get(delta_kind)
        if needs:
            _field(delta, needs, str, f"{where}'s {delta_kind}")
    elif kind == "message_delta":
        delta = _field(data, "delta", dict, where)
        _optional(delta, "stop_reason", str, f"{where}'s delta")
        _check_usage(data.get("usage"), where)
    return kind


def _check_block(block: object, where: str, whole: bool = True) -> None:
    if not isinstance(block, dict):
        raise MalformedAnswer(f"{where} is {_kind(block)}, not an object")
    kind = _field(block, "type", str, where)
    if kind == "text" and whole:  # a streamed block's text comes in its deltas
        _field(block, "text", str, f"{where} (text)")
    elif kind == "tool_use":
        _field(block, "id", str, f"{where} (tool_use)")
        _field(block, "name", str, f"{where} (tool_use)")


def _check_usage(usage: object, where: str) -> None:
    if usage is None:
        return
    if not isinstance(usage, dict):
        raise MalformedAnswer(f"{where}'s usage is {_kind(usage)}, not an object")
    for key in ("input_tokens", "output_tokens"):
        _optional(usage, key, int, f"{where}'s usage")


def _field(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        wanted = {dict: "an object", str: "a string", int: "an integer"}[kind]
        got = "missing" if key not in data else _kind(value)
        raise MalformedAnswer(f"{where}'s {key} is {got}, not {wanted}")
    return value


def _optional(data: dict[str, Any], key: str, kind: type, where: str) -> None:
    if data.get(key) is not None:
        _field(data, key, kind, where)


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
