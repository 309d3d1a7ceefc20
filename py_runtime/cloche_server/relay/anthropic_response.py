"""Anthropic Messages answers -> OpenAI chat.completion objects and chat.completion.chunk events."""

from __future__ import annotations

import json
import time
from typing import Any

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
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {
                    "id": str(block.get("id", "")),
                    "type": "function",
                    "function": {
                        "name": str(block.get("name", "")),
                        "arguments": json.dumps(block.get("input") or {}),
                    },
                }
            )
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    completion: dict[str, Any] = {
        "id": f"chatcmpl-{message.get('id', '')}",
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
        kind = data.get("type", event)
        if kind == "message_start":
            message = data.get("message") or {}
            self.id = f"chatcmpl-{message.get('id', 'relay')}"
            self._count(message.get("usage"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") != "tool_use":
                return []
            position = len(self.tool_index)
            self.tool_index[_int(data.get("index"))] = position
            call = {
                "index": position,
                "id": str(block.get("id", "")),
                "type": "function",
                "function": {"name": str(block.get("name", "")), "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                return [self._chunk({"content": str(delta.get("text", ""))})]
            if delta.get("type") == "input_json_delta":
                found = self.tool_index.get(_int(data.get("index")))
                if found is None:
                    return []
                arguments = str(delta.get("partial_json", ""))
                call = {"index": found, "function": {"arguments": arguments}}
                return [self._chunk({"tool_calls": [call]})]
            return []  # thinking and signature deltas have no OpenAI counterpart
        if kind == "message_delta":
            self._count(data.get("usage"))
            reason = finish_reason((data.get("delta") or {}).get("stop_reason"))
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


def _int(value: object) -> int:
    return value if isinstance(value, int) else -1
