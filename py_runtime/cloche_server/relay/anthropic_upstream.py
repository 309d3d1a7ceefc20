"""Anthropic Messages upstreams, spoken to in their own format and translated both ways."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from .anthropic_request import to_anthropic
from .anthropic_response import StreamTranslator, to_completion
from .call import ChatCall, sse
from .errors import UPSTREAM, MalformedAnswer, RelayError, bad_response
from .scrub import StreamScrubber
from .upstream_http import read_json, send, stream_events, upstream_message

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicUpstream:
    async def complete(self, client: httpx.AsyncClient, call: ChatCall) -> dict[str, Any]:
        provider = call.route.provider
        body = to_anthropic(call.body, call.route.model, call.max_tokens)
        response = await send(
            client,
            provider,
            "/v1/messages",
            body,
            self._headers(call),
            stream=False,
            scrub=call.scrubber,
        )
        # Scrubbed before translation, where secrets are still whole strings, and after it,
        # where text blocks were joined.
        message = call.scrubber.json(read_json(response.content, provider))
        try:
            completion = call.scrubber.json(to_completion(message, call.alias))
        except MalformedAnswer as error:
            raise bad_response(provider.name, str(error)) from None
        counted = completion.get("usage") or {}
        call.usage.prompt_tokens = counted.get("prompt_tokens")
        call.usage.completion_tokens = counted.get("completion_tokens")
        return completion

    async def stream(self, client: httpx.AsyncClient, call: ChatCall) -> AsyncGenerator[bytes]:
        provider = call.route.provider
        body = to_anthropic(call.body, call.route.model, call.max_tokens)
        response = await send(
            client,
            provider,
            "/v1/messages",
            body,
            self._headers(call),
            stream=True,
            scrub=call.scrubber,
        )
        translator = StreamTranslator(call.alias, call.include_usage)
        scrubber = StreamScrubber(call.scrubber)
        stopped = False
        try:
            yield b""  # accepted: the client may get its 200 and headers now
            async for event in stream_events(response, provider):
                if stopped:
                    continue  # read to the end, so the connection goes back to the pool
                data = _loads(event.data)
                if data is None:
                    raise bad_response(provider.name, "a stream event is not a JSON object")
                if data.get("type") == "error" or event.event == "error":
                    # Scrubbed whole before upstream_message shortens it, so no key is cut in two.
                    scrubbed = json.dumps(call.scrubber.json(data)).encode()
                    raise RelayError(
                        502,
                        f"The upstream provider {provider.name!r} failed mid-stream: "
                        f"{upstream_message(scrubbed)}",
                        type=UPSTREAM,
                        code="upstream_failed",
                    )
                try:
                    chunks = translator.feed(event.event, data)
                except MalformedAnswer as error:
                    raise bad_response(provider.name, str(error)) from None
                for chunk in chunks:
                    delta = chunk["choices"][0]["delta"] if chunk["choices"] else {}
                    call.usage.output_bytes += len(json.dumps(delta))
                    yield sse(scrubber.chunk(chunk))
                if data.get("type") == "message_stop":
                    stopped = True
            tail = scrubber.tail()
            if tail:
                yield sse(tail)
            if not stopped:
                raise RelayError(
                    502,
                    f"The upstream provider {provider.name!r} ended the stream before its end.",
                    type=UPSTREAM,
                    code="upstream_stream_truncated",
                )
            counted = translator.usage()
            call.usage.prompt_tokens = counted["prompt_tokens"] or None
            call.usage.completion_tokens = counted["completion_tokens"] or None
            yield sse("[DONE]")
        finally:
            await response.aclose()

    def _headers(self, call: ChatCall) -> dict[str, str]:
        return {
            "x-api-key": call.route.provider.api_key or "",
            "anthropic-version": ANTHROPIC_VERSION,
        }


def _loads(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
