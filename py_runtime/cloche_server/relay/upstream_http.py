"""Talking HTTP to an upstream: send, and map every way it can fail to a clear relay error."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import httpx

from .config import Provider
from .errors import UPSTREAM, RelayError

# httpcore 1.0's pool walks its connections twice per request and, for each idle one, counts all
# of them again: N idle connections cost every request ~N² checks (300 left idle by a burst: ~10 ms
# of CPU per request until they expire). So the pool keeps only a few idle connections for reuse.
# That count includes busy connections too: while more than IDLE_CONNECTIONS_KEPT calls run, a
# connection whose call ends is closed, not kept (a new connection per call under such load).
IDLE_CONNECTIONS_KEPT = 16
KEEPALIVE_EXPIRY = 30.0  # seconds an idle upstream connection is kept


def pool_limits(max_concurrent: int) -> httpx.Limits:
    """Room for `max_concurrent` connections at once, and at most IDLE_CONNECTIONS_KEPT idle."""
    return httpx.Limits(
        max_connections=max_concurrent,
        max_keepalive_connections=min(max_concurrent, IDLE_CONNECTIONS_KEPT),
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )


async def send(
    client: httpx.AsyncClient,
    provider: Provider,
    path: str,
    body: dict[str, object],
    headers: Mapping[str, str],
    *,
    stream: bool,
    scrub: Callable[[str], str],
) -> httpx.Response:
    """POST to the provider; a non-2xx answer is read, closed and raised as a RelayError."""
    request = client.build_request(
        "POST",
        _url(provider.base_url + path),
        content=encode_json(body),
        headers={**provider.headers, **headers, "content-type": "application/json"},
    )
    try:
        response = await client.send(request, stream=stream)
    except httpx.HTTPError as error:
        raise transport_error(provider, error) from None
    if response.is_success:
        return response
    try:
        content = await response.aread()
    except httpx.HTTPError as error:
        raise transport_error(provider, error) from None
    finally:
        await response.aclose()
    raise status_error(provider, response.status_code, content, response.headers, scrub)


@functools.lru_cache(maxsize=256)
def _url(url: str) -> httpx.URL:
    return httpx.URL(url)  # parsed once per upstream endpoint, not once per request


def encode_json(body: dict[str, object]) -> bytes:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:  # lone surrogates from \uD800-style escapes: keep them escaped
        return json.dumps(body, separators=(",", ":")).encode()


def status_error(
    provider: Provider,
    status: int,
    content: bytes,
    headers: Mapping[str, str],
    scrub: Callable[[str], str],
) -> RelayError:
    name = provider.name
    detail = upstream_message(content, scrub)
    if status in (401, 403):
        # Never echo the upstream's text here: some providers quote part of the rejected key.
        return RelayError(
            502,
            f"The upstream provider {name!r} rejected this server's API key (HTTP {status}). "
            "The server's operator must fix the relay configuration.",
            type=UPSTREAM,
            code="upstream_key_rejected",
        )
    if status == 429:
        retry = headers.get("retry-after", "")
        seconds = retry if retry.isdigit() else "5"
        return RelayError(
            429,
            f"The upstream provider {name!r} is rate limiting this server: {detail}",
            type=UPSTREAM,
            code="upstream_rate_limited",
            headers={"Retry-After": seconds},
        )
    if status in (400, 413, 422):
        return RelayError(
            400,
            f"The upstream provider {name!r} refused the request: {detail}",
            code="upstream_bad_request",
        )
    if status == 404:
        return RelayError(
            502,
            f"The upstream provider {name!r} answered 404 ({detail}): the relay's base_url or "
            "model name for it may be wrong.",
            type=UPSTREAM,
            code="upstream_not_found",
        )
    return RelayError(
        502,
        f"The upstream provider {name!r} failed (HTTP {status}): {detail}",
        type=UPSTREAM,
        code="upstream_failed",
    )


def transport_error(provider: Provider, error: httpx.HTTPError) -> RelayError:
    name = provider.name
    if isinstance(error, httpx.TimeoutException):
        phase = "connect to" if isinstance(error, httpx.ConnectTimeout) else "get an answer from"
        return RelayError(
            504,
            f"Timed out trying to {phase} the upstream provider {name!r}.",
            type=UPSTREAM,
            code="upstream_timeout",
        )
    if isinstance(error, httpx.ConnectError):
        return RelayError(
            502,
            f"Could not connect to the upstream provider {name!r}.",
            type=UPSTREAM,
            code="upstream_unreachable",
        )
    return RelayError(
        502,
        f"The connection to the upstream provider {name!r} failed ({type(error).__name__}).",
        type=UPSTREAM,
        code="upstream_connection_failed",
    )


def upstream_message(content: bytes, scrub: Callable[[str], str] = lambda text: text) -> str:
    """The human part of an upstream error body, in OpenAI's or Anthropic's shape, or its text;
    scrubbed before it is shortened, so that no key cut in two at the end gets through."""
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return scrub(str(error["message"]))[:2000]
        if isinstance(error, str):
            return scrub(error)[:2000]
    text = scrub(content.decode("utf-8", "replace")).strip()
    return text[:500] or "no detail given"


def read_json(content: bytes, provider: Provider) -> dict[str, object]:
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise RelayError(
            502,
            f"The upstream provider {provider.name!r} answered with something that is not JSON.",
            type=UPSTREAM,
            code="upstream_bad_response",
        )
    return data


@dataclass
class SSEEvent:
    event: str
    data: str


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[SSEEvent]:
    """Server-sent events from lines, each dispatched as soon as its blank line arrives."""
    event = ""
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield SSEEvent(event or "message", "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data:
        yield SSEEvent(event or "message", "\n".join(data))


async def stream_events(response: httpx.Response, provider: Provider) -> AsyncIterator[SSEEvent]:
    """The response's events; a broken connection becomes a RelayError."""
    try:
        async for event in sse_events(response.aiter_lines()):
            yield event
    except httpx.HTTPError as error:
        raise transport_error(provider, error) from None
