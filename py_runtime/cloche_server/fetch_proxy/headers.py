"""Which headers cross the proxy. The page's own request to /proxy passes nothing on (not its
cookies, not its Authorization): only the headers the package listed do, less those that belong to
one connection or that the proxy sets itself. Answers lose their cookies and connection headers."""

from __future__ import annotations

from collections.abc import Iterable

import httpx

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the proxy: Host for the origin asked, the body's length, the encodings it can decode.
# Expect: the proxy sends the whole body at once, it does not wait for 100 Continue.
SET_BY_THE_PROXY = frozenset({"host", "content-length", "accept-encoding", "expect"})
COOKIES = frozenset({"cookie", "cookie2", "set-cookie", "set-cookie2"})
# A body passed on decoded: its wire encoding and length no longer apply (decoding.py).
ABOUT_THE_WIRE = frozenset({"content-encoding", "content-length"})
# Request headers that describe a body, dropped with the body when a redirect turns into a GET.
BODY_HEADERS = frozenset(
    {"content-type", "content-encoding", "content-language", "content-location"}
)


def _named_by_connection(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Headers that `Connection` declares hop-by-hop."""
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }


def request_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The package's headers that are sent upstream."""
    headers = list(headers)
    dropped = HOP_BY_HOP | SET_BY_THE_PROXY | COOKIES | _named_by_connection(headers)
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in dropped and not name.lower().startswith("proxy-")
    ]


def without(headers: list[tuple[str, str]], names: Iterable[str]) -> list[tuple[str, str]]:
    drop = {name.lower() for name in names}
    return [(name, value) for name, value in headers if name.lower() not in drop]


def response_headers(headers: httpx.Headers, *, decoded: bool) -> list[list[str]]:
    """The upstream's headers as the page gets them: lower-case names, in order, repeats kept;
    without Content-Encoding and Content-Length when the body is passed on `decoded`."""
    items = headers.multi_items()
    dropped = HOP_BY_HOP | COOKIES | _named_by_connection(items)
    if decoded:
        dropped |= ABOUT_THE_WIRE
    return [
        [name, value]
        for name, value in items
        if name not in dropped and not name.startswith("proxy-")
    ]
