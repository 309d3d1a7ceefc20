"""OpenAI-compatible upstreams (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter).

The request goes through as the client wrote it, except for the model (alias to upstream name) and
the token cap. Answers come back with the alias as the model; stream events pass one by one.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from .call import ChatCall, Usage, sse
from .upstream_http import read_json, send, stream_events


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
            scrub=call.scrub,
        )
        data = read_json(response.content, provider)
        data["model"] = call.alias
        _record_usage(call.usage, data.get("usage"))
        for choice in _list(data.get("choices")):
            message = choice.get("message") if isinstance(choice, dict) else None
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
            scrub=call.scrub,
        )
        done = False
        try:
            yield b""  # accepted: the client may get its 200 and headers now
            async for event in stream_events(response, provider):
                if done:
                    continue  # read to the end, so the connection goes back to the pool
                if event.data.strip() == "[DONE]":
                    done = True
                    yield sse("[DONE]")
                    continue
                chunk = _loads(event.data)
                if chunk is None:
                    continue
                if "error" in chunk:
                    yield sse(call.scrub(json.dumps(chunk)))
                    continue
                _record_usage(call.usage, chunk.get("usage"))
                choices = _list(chunk.get("choices"))
                if not choices and "usage" in chunk and not call.include_usage:
                    continue  # the usage chunk the relay asked for on its own behalf
                for choice in choices:
                    delta = choice.get("delta") if isinstance(choice, dict) else None
                    if isinstance(delta, dict):
                        call.usage.output_bytes += len(json.dumps(delta))
                chunk["model"] = call.alias
                yield sse(chunk)
        finally:
            await response.aclose()

    def _body(self, call: ChatCall) -> dict[str, Any]:
        body = dict(call.body)
        body["model"] = call.route.model
        provider = call.route.provider
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


def _loads(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
