"""`pyodide.http.pyfetch` as tool code sees it in a Cloche worker: the same call, made through the
page's host by `cloche.http.fetch` (the worker's own fetch is closed). worker.py puts it in place;
this module does not touch Pyodide, so it is tested under CPython."""

from __future__ import annotations

import builtins
import json
from typing import Any

from . import http

# fetch() options that change nothing when the host fetches (or that only restate its defaults).
_IGNORED_OPTIONS = {
    "cache",
    "credentials",
    "integrity",
    "keepalive",
    "mode",
    "priority",
    "referrer",
    "referrerPolicy",
}


class HttpStatusError(OSError):
    """What `raise_for_status` raises (the worker puts Pyodide's own class in its place)."""

    def __init__(self, status: int, status_text: str, url: str) -> None:
        kind = "Client" if status < 500 else "Server"
        super().__init__(f"{status} {kind} Error: {status_text} for url: {url}")
        self.status = status
        self.status_text = status_text
        self.url = url


class FetchResponse:
    """The parts of Pyodide's FetchResponse that tools use, over a `cloche.http.Response`."""

    status_error: type[OSError] = HttpStatusError

    def __init__(self, requested: str, response: http.Response) -> None:
        self._requested = requested
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def status_text(self) -> str:
        return self._response.status_text

    @property
    def ok(self) -> bool:
        return self._response.ok

    @property
    def url(self) -> str:
        return self._response.url

    @property
    def redirected(self) -> bool:
        return self._response.url != self._requested

    @property
    def type(self) -> str:
        return "basic"

    @property
    def headers(self) -> dict[str, str]:
        """Header names in lower case, repeated headers joined with ", " (as in JavaScript)."""
        return dict(self._response.headers)

    def raise_for_status(self) -> None:
        if 400 <= self.status < 600:
            raise self.status_error(self.status, self.status_text, self.url)

    def clone(self) -> FetchResponse:
        return FetchResponse(self._requested, self._response)

    async def bytes(self) -> builtins.bytes:
        return self._response.body

    async def memoryview(self) -> builtins.memoryview:
        return builtins.memoryview(self._response.body)

    async def text(self) -> str:
        # JavaScript's Response.text() decodes UTF-8 whatever the Content-Type says.
        return self._response.body.decode("utf-8", errors="replace")

    async def string(self) -> str:
        return await self.text()

    async def json(self, **kwargs: Any) -> Any:
        return json.loads(await self.text(), **kwargs)


async def pyfetch(request: str, /, **kwargs: Any) -> FetchResponse:
    """Fetch `request` (a URL) with fetch()'s `method`, `headers` and `body` options; other
    options the host cannot honour are refused with a TypeError naming them."""
    if not isinstance(request, str):
        raise TypeError(
            "pyfetch in a Cloche worker takes the URL as a str (it fetches through the page's "
            f"host), got {type(request).__name__}"
        )
    method = kwargs.pop("method", "GET")
    headers = kwargs.pop("headers", None)
    body = kwargs.pop("body", None)
    redirect = kwargs.pop("redirect", "follow")
    signal = kwargs.pop("signal", None)
    unsupported = sorted(set(kwargs) - _IGNORED_OPTIONS)
    if redirect != "follow":
        unsupported.append(f"redirect={redirect!r} (the host always follows redirects)")
    if signal is not None:
        unsupported.append("signal (the page's deadline stops the call)")
    if unsupported:
        raise TypeError(
            "pyfetch in a Cloche worker goes through the page's host and takes method, headers "
            f"and body; it cannot honour {', '.join(unsupported)}"
        )
    response = await http.fetch(request, method=method, headers=headers, body=body)
    return FetchResponse(request, response)
