"""One chat call on its way through the relay, and what an upstream adapter must do with it."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from .config import ModelRoute


@dataclass
class Usage:
    """Tokens the upstream reported, or enough to estimate them when it reported none."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    output_bytes: int = 0


@dataclass
class ChatCall:
    route: ModelRoute
    body: dict[str, Any]  # the client's request, checked, as it arrived
    max_tokens: int  # the completion budget: the client's, or the relay's cap
    stream: bool
    scrub: Callable[[str], str]  # removes the server's secrets from text that came from upstream
    usage: Usage = field(default_factory=Usage)

    @property
    def alias(self) -> str:
        return self.route.alias

    @property
    def include_usage(self) -> bool:
        """Whether the client itself asked for a usage chunk at the end of the stream."""
        options = self.body.get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True


class Upstream(Protocol):
    """Adapter for one provider type: OpenAI Chat Completions out, whatever the provider speaks."""

    async def complete(self, client: httpx.AsyncClient, call: ChatCall) -> dict[str, Any]:
        """The whole chat.completion object."""
        ...

    def stream(self, client: httpx.AsyncClient, call: ChatCall) -> AsyncGenerator[bytes]:
        """SSE bytes of chat.completion.chunk events ending with `data: [DONE]`.

        The first item is empty and comes as soon as the upstream accepted the request. A refusal
        by the upstream is raised before it, so it can become an HTTP status; a failure later is
        raised mid-iteration and told to the client as an error event.
        """
        ...


def sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()
