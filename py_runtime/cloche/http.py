"""Network for tool code: ``await cloche.http.fetch(url)``, through the page's host.

A Cloche worker has no network of its own. ``fetch`` sends the request to the page's host
(``cloche/fetch``, docs/worker-protocol.md), which checks it against the origins the tool's
package declared (``cloche.permissions(network=[...])``) and the user granted, and has the
server's fetch proxy make it. A refusal is a ``FetchError`` carrying the host's reason.

The worker connects the host at start (`connect`). Under plain CPython nothing is connected and
``fetch`` raises ``FetchError``; tests connect a fake host with ``connect(fake)``, where ``fake``
is an async ``(method, params) -> result`` that raises ``RpcError`` to refuse.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from ._jsonrpc import RpcError

# (method, params) -> result; an error answer raises RpcError (McpServer.request does).
HostRequest = Callable[[str, dict[str, Any]], Awaitable[Any]]
HeadersArgument = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[list[str]]

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The host's and the fetch proxy's limits (web/app/package-services.js).
MAX_URL_LENGTH = 8192
MAX_HEADERS = 100
MAX_BODY_BYTES = 1024 * 1024

NO_HOST = (
    "no host: cloche.http.fetch({}) was called outside a Cloche worker, where no page's host "
    "fetches for it; in tests, connect a fake host with cloche.http.connect(...)"
)

_request: HostRequest | None = None


class FetchError(OSError):
    """A fetch the host refused or could not make; the message says why, as the host put it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def connect(request: HostRequest | None) -> None:
    """Set (or, with None, clear) how this interpreter asks its host to fetch."""
    global _request
    _request = request


def connected() -> bool:
    return _request is not None


class Headers(Mapping[str, str]):
    """Response headers in their order; lookup ignores case, and a header sent more than once
    reads as its values joined with ", " (as in JavaScript's fetch)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._pairs = [(str(name), str(value)) for name, value in pairs]
        self._joined: dict[str, str] = {}
        for name, value in self._pairs:
            key = name.lower()
            self._joined[key] = f"{self._joined[key]}, {value}" if key in self._joined else value

    def __getitem__(self, name: str) -> str:
        return self._joined[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._joined

    def __iter__(self) -> Iterator[str]:
        return iter(self._joined)

    def __len__(self) -> int:
        return len(self._joined)

    def get_all(self, name: str) -> list[str]:
        """Every value of `name`, in order (Set-Cookie is not joined by servers either)."""
        return [value for key, value in self._pairs if key.lower() == name.lower()]

    def pairs(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"


class Response:
    """What the server answered (after the redirects the proxy followed)."""

    def __init__(
        self, status: int, status_text: str, url: str, headers: Headers, body: bytes
    ) -> None:
        self.status = status
        self.status_text = status_text
        self.url = url
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.url}>"

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def media_type(self) -> str:
        """The Content-Type without its parameters, lower case ("" when absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The Content-Type's charset, when it names one Python knows."""
        for parameter in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "charset":
                name = value.strip().strip("\"'")
                try:
                    return codecs.lookup(name).name
                except LookupError:
                    return None
        return None

    def text(self, encoding: str | None = None) -> str:
        """The body decoded with `encoding`, else the Content-Type's charset, else UTF-8
        (undecodable bytes become U+FFFD)."""
        return self.body.decode(encoding or self.charset or "utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.text())


async def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: HeadersArgument | None = None,
    body: bytes | bytearray | memoryview | str | None = None,
) -> Response:
    """Fetch `url` (http or https) through the page's host; any status is returned, a refusal
    (origin not declared or not granted, refused by the proxy, no host) raises `FetchError`.

    `headers` is a dict or a list of (name, value) pairs; `body` bytes, or str sent as UTF-8."""
    params = {
        "url": _check_url(url),
        "method": _check_method(method),
        "headers": _check_headers(headers),
        "body": _check_body(body, method),
    }
    if _request is None:
        raise FetchError(NO_HOST.format(repr(url)))
    try:
        answer = await _request("cloche/fetch", params)
    except RpcError as error:
        raise FetchError(f"refused: {error.message}") from None
    except TimeoutError:
        raise FetchError(f"the page's host did not answer in time for {url}") from None
    return _response(answer, url)


def _check_url(url: object) -> str:
    if not isinstance(url, str):
        raise TypeError(f"cloche.http.fetch needs the URL as a str, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise ValueError(f"cloche.http.fetch: {url!r} is not a valid URL: {error}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"cloche.http.fetch fetches http:// and https:// URLs only, got {url[:200]!r}"
        )
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"cloche.http.fetch: the URL is longer than {MAX_URL_LENGTH} characters")
    return url


def _check_method(method: object) -> str:
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ValueError(f"cloche.http.fetch's method must be one of {', '.join(METHODS)}")
    return method.upper()


def _check_headers(headers: HeadersArgument | None) -> list[list[str]]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs: list[list[str]] = []
    for item in items:
        pair = list(item) if isinstance(item, tuple | list) else None
        if (
            pair is None
            or len(pair) != 2
            or not all(isinstance(part, str) for part in pair)
            or any(c in part for part in pair for c in "\r\n\0")
        ):
            raise ValueError(
                "cloche.http.fetch's headers must be a dict of str to str or a list of "
                f"(name, value) pairs of str, without line breaks; got {item!r}"
            )
        pairs.append(pair)
    if len(pairs) > MAX_HEADERS:
        raise ValueError(f"cloche.http.fetch takes at most {MAX_HEADERS} headers")
    return pairs


def _check_body(body: object, method: object) -> str | None:
    if body is None:
        return None
    if isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes | bytearray | memoryview):
        data = bytes(body)
    else:
        raise TypeError(f"cloche.http.fetch's body must be bytes or str, got {type(body).__name__}")
    if str(method).upper() in ("GET", "HEAD"):
        raise ValueError(f"cloche.http.fetch: a {str(method).upper()} request has no body")
    if len(data) > MAX_BODY_BYTES:
        raise ValueError(f"cloche.http.fetch sends bodies of at most {MAX_BODY_BYTES} bytes")
    return base64.b64encode(data).decode("ascii")


def _response(answer: Any, url: str) -> Response:
    """The host's answer as a Response; FetchError when it is not one."""
    try:
        status, status_text = answer["status"], answer.get("statusText", "")
        final_url, pairs = answer.get("url") or url, answer.get("headers", [])
        if not (
            isinstance(status, int)
            and isinstance(status_text, str)
            and isinstance(final_url, str)
            and all(isinstance(p, list) and len(p) == 2 for p in pairs)
        ):
            raise TypeError("a field has the wrong type")
        body = base64.b64decode(answer.get("body") or "", validate=True)
    except (KeyError, TypeError, AttributeError, binascii.Error) as error:
        raise FetchError(f"the host's answer for {url} is not a fetch response ({error})") from None
    return Response(status, status_text, final_url, Headers(pairs), body)


__all__ = ["FetchError", "Headers", "HostRequest", "Response", "connect", "connected", "fetch"]
