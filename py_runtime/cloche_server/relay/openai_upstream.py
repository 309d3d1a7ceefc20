"""OpenAI-compatible upstreams (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter).

The request goes through as the client wrote it, except for the model (alias to upstream name) and
the token cap. Answers come back with the alias as the model, scrubbed of the server's secrets;
stream events pass one by one, and a stream that ends with neither `[DONE]` nor a finish_reason
for each choice ends with an `upstream_stream_truncated` error event instead of looking complete.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from .call import ChatCall, Usage, sse
from .errors import UPSTREAM, RelayError, bad_response
from .scrub import StreamScrubber
from .upstream_http import read_json, send, stream_events, upstream_message


class OpenAIUpstream:
    async def complete(self, client: httpx.AsyncClient, call: ChatCall) -> dict[str, Any]:
        provider = call.route.provider
        response = await send(
            client,
            provider,
            "/chat/completions",
            self._body(call),
            self._headers(call),
            stream=False,
            scrub=call.scrubber,
        )
        data = read_json(response.content, provider)
        if data.get("error") and "choices" not in data:  # some servers fail with a 200
            detail = upstream_message(json.dumps(call.scrubber.json(data)).encode())
            raise RelayError(
                502,
                f"The upstream provider {provider.name!r} failed: {detail}",
                type=UPSTREAM,
                code="upstream_failed",
            )
        problem = _completion_problem(data)
        if problem:
            raise bad_response(provider.name, problem)
        data = call.scrubber.json(data)
        data["model"] = call.alias
        _record_usage(call.usage, data.get("usage"))
        for choice in _list(data.get("choices")):
            message = choice.get("message")
            if isinstance(message, dict):
                call.usage.output_bytes += len(str(message.get("content") or ""))
        return data

    async def stream(self, client: httpx.AsyncClient, call: ChatCall) -> AsyncGenerator[bytes]:
        provider = call.route.provider
        response = await send(
            client,
            provider,
            "/chat/completions",
            self._body(call),
            self._headers(call),
            stream=True,
            scrub=call.scrubber,
        )
        scrubber = StreamScrubber(call.scrubber)
        started: set[int] = set()  # choices seen, and those the upstream said were finished
        finished: set[int] = set()
        done = False
        try:
            yield b""  # accepted: the client may get its 200 and headers now
            async for event in stream_events(response, provider):
                if done:
                    continue  # read to the end, so the connection goes back to the pool
                if event.data.strip() == "[DONE]":
                    done = True
                    yield _tail(scrubber) + sse("[DONE]")
                    continue
                chunk = _loads(event.data)
                if chunk is None:
                    raise bad_response(provider.name, "a stream event is not a JSON object")
                if chunk.get("error"):  # as the OpenAI clients tell an error event
                    # The upstream's own failure: passed on (scrubbed) as the stream's last event.
                    done = True
                    yield _tail(scrubber) + sse(call.scrubber.json(chunk))
                    continue
                problem = _chunk_problem(chunk)
                if problem:
                    raise bad_response(provider.name, problem)
                _record_usage(call.usage, chunk.get("usage"))
                choices = _list(chunk.get("choices"))
                if not choices and "usage" in chunk and not call.include_usage:
                    continue  # the usage chunk the relay asked for on its own behalf
                for position, choice in enumerate(choices):
                    index = choice.get("index", position)
                    started.add(index)
                    if choice.get("finish_reason") is not None:
                        finished.add(index)
                    if isinstance(choice.get("delta"), dict):
                        call.usage.output_bytes += len(json.dumps(choice["delta"]))
                chunk["model"] = call.alias
                yield sse(scrubber.chunk(chunk))
            if not done:
                tail = _tail(scrubber)
                if tail:
                    yield tail
                if not started or started - finished:
                    # Ended with neither [DONE] nor a finish_reason for every choice: cut short.
                    raise RelayError(
                        502,
                        f"The upstream provider {provider.name!r} ended the stream before its end.",
                        type=UPSTREAM,
                        code="upstream_stream_truncated",
                    )
                yield sse("[DONE]")  # some compatible servers finish without it
        finally:
            await response.aclose()

    def _body(self, call: ChatCall) -> dict[str, Any]:
        body = dict(call.body)
        body["model"] = call.route.model
        provider = call.route.provider
        for name in ("max_tokens", "max_completion_tokens"):
            if name in body and body[name] is None:
                del body[name]  # null asks the upstream for no cap at all: the relay's applies
        if "max_tokens" not in body and "max_completion_tokens" not in body:
            body[provider.max_tokens_param] = call.max_tokens
        if call.stream and provider.stream_usage and not call.include_usage:
            options = body.get("stream_options")
            body["stream_options"] = {
                **(options if isinstance(options, dict) else {}),
                "include_usage": True,
            }
        return body

    def _headers(self, call: ChatCall) -> dict[str, str]:
        key = call.route.provider.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}


def _record_usage(usage: Usage, reported: object) -> None:
    if not isinstance(reported, dict):
        return
    prompt, completion = reported.get("prompt_tokens"), reported.get("completion_tokens")
    if isinstance(prompt, int):
        usage.prompt_tokens = prompt
    if isinstance(completion, int):
        usage.completion_tokens = completion


def _tail(scrubber: StreamScrubber) -> bytes:
    """Text still held back for a possible secret, as one last chunk (or nothing)."""
    tail = scrubber.tail()
    return sse(tail) if tail else b""


def _completion_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with a chat.completion's shape, as far as the relay reads it."""
    choices = data.get("choices")
    if not isinstance(choices, list):
        return "its choices are not a list"
    for position, choice in enumerate(choices):
        where = f"choices[{position}]"
        if not isinstance(choice, dict):
            return f"{where} is not an object"
        message = choice.get("message")
        if message is not None and not isinstance(message, dict):
            return f"{where}.message is not an object"
    return None


def _chunk_problem(chunk: dict[str, Any]) -> str | None:
    """What is wrong with a chat.completion.chunk's shape, as far as the relay reads it."""
    choices = chunk.get("choices")
    if choices is None:
        choices = []  # a usage chunk, say
    if not isinstance(choices, list):
        return "a chunk's choices are not a list"
    for position, choice in enumerate(choices):
        where = f"a chunk's choices[{position}]"
        if not isinstance(choice, dict):
            return f"{where} is not an object"
        if not _is_int(choice.get("index", position)):
            return f"{where}.index is not an integer"
        if not isinstance(choice.get("finish_reason"), str | None):
            return f"{where}.finish_reason is not a string"
        delta = choice.get("delta")
        if delta is None:
            continue
        if not isinstance(delta, dict):
            return f"{where}.delta is not an object"
        calls = delta.get("tool_calls")
        if calls is not None and not isinstance(calls, list):
            return f"{where}.delta.tool_calls is not a list"
        for number, call in enumerate(calls or []):
            if not isinstance(call, dict) or not _is_int(call.get("index", number)):
                return f"{where}.delta.tool_calls[{number}] is not an object with an integer index"
    if not isinstance(chunk.get("usage"), dict | None):
        return "a chunk's usage is not an object"
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _loads(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
