"""One chat call on its way through the relay, and what an upstream adapter must do with it."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from .config import ModelRoute
from .errors import RelayError
from .scrub import Scrubber

# Every boolean the relay reads or forwards; `1` or "true" is refused, not passed on, since an
# upstream may read it as true where the relay read it as false (a stream answering a plain call).
FLAGS = ("stream", "logprobs", "parallel_tool_calls", "store")
STREAM_OPTION_FLAGS = ("include_usage", "include_obfuscation")


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

    def __post_init__(self) -> None:
        check_flags(self.body)

    @functools.cached_property
    def scrubber(self) -> Scrubber:
        """Scrubs whole texts, JSON and streams; `scrub` itself when it is a Scrubber."""
        if isinstance(self.scrub, Scrubber):
            return self.scrub
        # The secrets this route's upstream is sent, held back in streams; then `scrub` for all.
        provider = self.route.provider
        return Scrubber([provider.api_key or "", *provider.headers.values()], then=self.scrub)

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


def check_flags(body: dict[str, Any]) -> None:
    """Refuses (400) a boolean field of the request that is neither true, false nor null."""
    for name in FLAGS:
        _flag(body.get(name), name)
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise RelayError(400, "stream_options must be an object.", param="stream_options")
    for name in STREAM_OPTION_FLAGS:
        _flag((options or {}).get(name), f"stream_options.{name}")
    tools = body.get("tools")
    for index, tool in enumerate(tools if isinstance(tools, list) else []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict):
            _flag(function.get("strict"), f"tools[{index}].function.strict")
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and isinstance(response_format.get("json_schema"), dict):
        _flag(response_format["json_schema"].get("strict"), "response_format.json_schema.strict")


def _flag(value: object, name: str) -> None:
    if value is not None and not isinstance(value, bool):
        raise RelayError(400, f"{name} must be true or false.", param=name, code="invalid_type")


def sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()
