"""`POST /proxy`: the fetch, hop by hop, each hop checked before it is requested.

For every hop (the URL asked, then each redirect target) the proxy checks the operator's allow-list
and the package's grant, resolves the host and refuses it if any of its addresses is not public
(unless the operator lists that exact origin), then connects to one of those very addresses (so a
second lookup cannot answer differently), and checks the connection's peer address again before
the answer is read.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cloche import __version__
from cloche.permissions import allows

from ..relay.errors import RelayError
from ..relay.limits import read_body
from . import errors
from .addresses import first_non_public, is_public, resolve
from .config import FetchConfig
from .decoding import ACCEPT_ENCODING, CorruptBody, TooLarge, decodes, read_within
from .errors import ProxyError
from .headers import BODY_HEADERS, request_headers, response_headers, without
from .request import ProxyRequest, Target, parse_proxy_request, target

logger = logging.getLogger("cloche.fetch")
MAX_REDIRECTS = 5
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CLIENT_HEADERS = {
    "user-agent": f"cloche/{__version__} (fetch proxy)",
    "accept-encoding": ACCEPT_ENCODING,
    # One connection per fetch: connections are made to checked addresses, named by IP, and one
    # kept for a name could otherwise serve another name at the same address.
    "connection": "close",
}

ClientCheck = Callable[[Request], str]
"""Checks a request's credentials: the client's name for the log, or a RelayError."""


@dataclass
class FetchLog:
    """The one line each fetch logs: origins, sizes and outcomes, never URLs, headers or bodies."""

    client: str
    method: str = "-"
    origin: str = "-"
    redirects: int = 0
    url: str = "-"  # the current hop, for messages to the page; not logged (queries hold keys)
    started: float = field(default_factory=time.perf_counter)

    def write(self, status: int, outcome: str, size: int = 0) -> None:
        logger.log(
            logging.INFO if status < 500 else logging.WARNING,
            "fetch %s method=%s origin=%s status=%s outcome=%s bytes=%s redirects=%s ms=%.1f",
            self.client,
            self.method,
            self.origin,
            status,
            outcome,
            size,
            self.redirects,
            (time.perf_counter() - self.started) * 1000,
        )


@dataclass
class Answer:
    status: int
    status_text: str
    url: str
    headers: list[list[str]]
    body: bytes
    redirects: list[str]

    def response(self) -> Response:
        document: dict[str, Any] = {
            "status": self.status,
            "statusText": self.status_text,
            "url": self.url,
            "headers": self.headers,
            "body": base64.b64encode(self.body).decode("ascii"),
            "redirects": self.redirects,
        }
        return JSONResponse(document, headers={"cache-control": "no-store"})


class FetchProxy:
    """The fetch proxy of one server process: its configuration, its gate and its client."""

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        check_client: ClientCheck | None = None,
        page_origins: Sequence[str] = (),
    ) -> None:
        self.config = config or FetchConfig()
        self.check_client = check_client or _address
        # Other sites' pages may not use the proxy; these origins (security.cors_origins) may.
        self.page_origins = tuple(page_origins)
        self.client: httpx.AsyncClient | None = None
        self.active = 0

    def route(self) -> Route:
        # Other methods too, so that a GET gets the proxy's 405 rather than the static files' 404.
        return Route("/proxy", self.proxy, methods=ANY_METHOD)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The one client for every fetch, for the app's lifetime (none while the proxy is off)."""
        if not self.config.on:
            yield
            return
        # Stateless: cookies an upstream sets are never kept, so no fetch carries another's.
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        async with httpx.AsyncClient(
            headers=CLIENT_HEADERS,
            cookies=no_cookies,
            timeout=httpx.Timeout(self.config.timeout_seconds),
            limits=httpx.Limits(
                max_connections=self.config.max_concurrent, max_keepalive_connections=0
            ),
            follow_redirects=False,
            trust_env=False,  # no proxy or certificate settings from the environment
        ) as client:
            self.client = client
            try:
                yield
            finally:
                self.client = None

    async def proxy(self, request: Request) -> Response:
        if request.method != "POST":
            return errors.method_not_allowed(request.method).response()
        line = FetchLog(client=_address(request))
        try:
            answer = await self._admit(request, line)
        except ProxyError as error:
            line.write(error.status_code, error.code)
            return error.response()
        line.write(answer.status, "completed", len(answer.body))
        return answer.response()

    async def _admit(self, request: Request, line: FetchLog) -> Answer:
        if not self.config.on:
            raise errors.proxy_off()
        self._check_page(request)
        try:
            line.client = self.check_client(request)
        except RelayError as error:
            raise ProxyError(
                error.status_code,
                error.code or "invalid_token",
                "This server's fetch proxy, like its model relay, requires a valid bearer token "
                "(Authorization: Bearer ...).",
                error.headers,
            ) from None
        try:
            raw = await read_body(request, self.config.max_request_bytes)
        except RelayError:
            raise errors.request_too_large(self.config.max_request_bytes) from None
        asked = parse_proxy_request(raw)
        line.method, line.origin, line.url = asked.method, asked.target.origin, asked.target.text
        if self.client is None:
            raise ProxyError(503, "not_running", "The fetch proxy is not running.")
        if self.active >= self.config.max_concurrent:
            raise errors.busy(self.config.max_concurrent)
        self.active += 1
        try:
            with anyio.fail_after(self.config.timeout_seconds):
                return await self._fetch(self.client, asked, line)
        except TimeoutError:
            raise errors.upstream_timeout(line.url, self.config.timeout_seconds) from None
        finally:
            self.active -= 1

    def _check_page(self, request: Request) -> None:
        # A page elsewhere cannot read the answers (no CORS headers here), but could still have
        # its visitors' browsers send fetches through this server; so refuse it outright.
        origin = request.headers.get("origin")
        if origin is None or origin in self.page_origins or "*" in self.page_origins:
            return
        if urlsplit(origin).netloc != request.headers.get("host"):
            raise errors.foreign_origin(origin)

    async def _fetch(
        self, client: httpx.AsyncClient, asked: ProxyRequest, line: FetchLog
    ) -> Answer:
        hop, method, body = asked.target, asked.method, asked.body
        headers = request_headers(asked.headers)
        redirects: list[str] = []
        while True:
            line.origin, line.url = hop.origin, hop.text
            self._check_lists(hop, asked.allow, redirected=bool(redirects))
            response = await self._send(client, hop, method, headers, body, bool(redirects))
            line.redirects = len(redirects)  # followed: this hop's request was sent
            try:
                location = response.headers.get("location")
                if response.status_code not in REDIRECT_STATUSES or location is None:
                    return await self._answer(response, hop, redirects)
            finally:
                await response.aclose()
            try:
                following = target(str(hop.url.join(location)))
            except (ValueError, httpx.InvalidURL) as why:
                raise errors.bad_redirect(hop.text, location, str(why)) from None
            if len(redirects) == MAX_REDIRECTS:
                raise errors.too_many_redirects(MAX_REDIRECTS, following.text)
            if (response.status_code == 303 and method != "HEAD") or (
                response.status_code in (301, 302) and method == "POST"
            ):
                method, body, headers = "GET", None, without(headers, BODY_HEADERS)
            if following.origin != hop.origin:  # the package's credentials were for that origin
                headers = without(headers, ["authorization"])
            redirects.append(following.text)
            hop = following

    def _check_lists(self, hop: Target, grant: tuple[str, ...], *, redirected: bool) -> None:
        if not allows(self.config.allow, hop.text):
            raise errors.origin_not_allowed(hop.text, hop.origin, redirected)
        if not allows(grant, hop.text):
            raise errors.not_granted(hop.text, hop.origin, redirected)

    async def _send(
        self,
        client: httpx.AsyncClient,
        hop: Target,
        method: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        redirected: bool,
    ) -> httpx.Response:
        """The answer's head from one of the hop's checked addresses, its body not yet read."""
        # An origin the operator lists exactly may be private; one reached by a wildcard may not.
        exempt = hop.origin in self.config.explicit
        try:
            addresses = await resolve(hop.host, hop.port)
        except OSError as error:
            why = f"its host name could not be resolved ({error.strerror or error})"
            raise errors.upstream_unreachable(hop.text, why) from None
        refused = None if exempt else first_non_public(addresses)
        if refused is not None:
            raise errors.private_address(hop.text, refused, hop.origin, redirected)
        sent = [(n.encode("ascii"), v.encode("latin-1")) for n, v in headers]
        sent.append((b"host", hop.host_header.encode("ascii")))
        extensions = {} if hop.is_ip else {"sni_hostname": hop.host}
        for index, address in enumerate(addresses):
            request = client.build_request(
                method, hop.at(address), headers=sent, content=body, extensions=extensions
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.TimeoutException:
                raise TimeoutError from None
            except httpx.ConnectError as error:
                if index + 1 < len(addresses):
                    continue  # the next address, as a browser would
                raise errors.upstream_unreachable(hop.text, _why(error)) from None
            except httpx.HTTPError as error:
                raise errors.upstream_unreachable(hop.text, _why(error)) from None
            await self._check_peer(response, hop, exempt, redirected)
            return response
        raise AssertionError("resolve() returns at least one address")

    async def _check_peer(
        self, response: httpx.Response, hop: Target, exempt: bool, redirected: bool
    ) -> None:
        """Refuses the answer if the connection's peer is not public (and not exempt): the
        connection was made to a checked address, and this makes sure of it."""
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        address = str(peer[0]) if isinstance(peer, tuple) and peer else None
        if exempt or (address is not None and is_public(address)):
            return
        await response.aclose()
        peer = address or "an unknown address"
        raise errors.private_address(hop.text, peer, hop.origin, redirected)

    async def _answer(self, response: httpx.Response, hop: Target, redirects: list[str]) -> Answer:
        limit = self.config.max_response_bytes
        encoding = response.headers.get("content-encoding")
        declared = response.headers.get("content-length", "")
        if not decodes(encoding) and declared.isdigit() and int(declared) > limit:
            raise errors.response_too_large(hop.text, limit)
        try:
            body = await read_within(response.aiter_raw(), encoding, limit)
        except TooLarge:
            raise errors.response_too_large(hop.text, limit) from None
        except CorruptBody:
            why = f"its body is not valid {encoding} data"
            raise errors.upstream_unreachable(hop.text, why) from None
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.HTTPError as error:
            raise errors.upstream_unreachable(hop.text, _why(error)) from None
        return Answer(
            status=response.status_code,
            status_text=response.reason_phrase,
            url=hop.text,
            headers=response_headers(response.headers, decoded=decodes(encoding)),
            body=body,
            redirects=redirects,
        )


def _address(request: Request) -> str:
    return f"addr:{request.client.host if request.client else 'unknown'}"


def _why(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.ConnectError):
        detail = str(error)
        return f"could not connect ({detail})" if detail else "could not connect"
    return f"the connection failed ({type(error).__name__})"
