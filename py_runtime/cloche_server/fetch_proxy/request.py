"""What the page asks for, `POST /proxy` with a JSON body, checked field by field; and the URL of
each hop, read once, by one parser, for every check and for the connection itself."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from cloche.permissions import DEFAULT_PORTS, DeclarationError, origin_pattern, url_origin

from .errors import bad_request

KEYS = ("url", "method", "headers", "body", "allow")
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token: methods and header names
# As fetch() does: these are upper-cased, whatever their case; the rest are sent as given.
NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})
HOST = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?")


@dataclass(frozen=True)
class Target:
    """One hop's URL; `host` is ASCII (an IDN in its xn-- form, IPv6 without brackets)."""

    url: httpx.URL
    scheme: str
    host: str
    port: int

    @property
    def text(self) -> str:
        return str(self.url)

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        """In the form of an origin pattern without wildcard, to compare with one."""
        return f"{self.scheme}://{self.host_header}"

    def at(self, address: str) -> httpx.URL:
        """This URL with its host replaced by `address`: the connection goes where was checked."""
        return self.url.copy_with(host=address)


def target(text: str) -> Target:
    """`text` as a hop; ValueError saying why it cannot be fetched."""
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise ValueError(f"it is not a valid URL ({error})") from None
    if url.scheme not in DEFAULT_PORTS:
        raise ValueError("only http:// and https:// URLs can be fetched")
    if not url.raw_host:
        raise ValueError("it names no host")
    if url.userinfo:
        raise ValueError("it holds a user name or password; send an Authorization header instead")
    if url.port is not None and not 0 < url.port < 65536:
        raise ValueError(f"its port {url.port} is not from 1 to 65535")
    host = url.raw_host.decode("ascii").lower()
    if not HOST.fullmatch(host) and not _is_ipv6(host):
        raise ValueError(f"{host!r} is not a valid host name")
    url = url.copy_with(fragment=None)
    hop = Target(url, url.scheme, host, url.port or DEFAULT_PORTS[url.scheme])
    # The allow-lists are matched by cloche.permissions' own parser: it must see the same origin.
    bracketed = f"[{host}]" if ":" in host else host
    if url_origin(hop.text) != (hop.scheme, bracketed, hop.port):
        raise ValueError("it cannot be read unambiguously")
    return hop


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


@dataclass(frozen=True)
class ProxyRequest:
    target: Target
    method: str
    headers: list[tuple[str, str]]
    body: bytes | None
    allow: tuple[str, ...]


def parse_proxy_request(raw: bytes) -> ProxyRequest:
    """The request, or a `bad_request` ProxyError saying which field is wrong and how."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise bad_request(f"The request body must be a JSON object with {', '.join(KEYS)}.")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise bad_request(f"Unknown field {unknown[0]!r} (known: {', '.join(KEYS)}).")
    url = data.get("url")
    if not isinstance(url, str) or not url:
        raise bad_request("url is required: the http(s) URL to fetch, as a string.")
    try:
        hop = target(url)
    except ValueError as why:
        raise bad_request(f"url {url[:500]!r} cannot be fetched: {why}.") from None
    method = _method(data.get("method", "GET"))
    body = _body(data.get("body"))
    if body is not None and method in ("GET", "HEAD"):
        raise bad_request(f"A {method} request cannot have a body; send body null.")
    return ProxyRequest(hop, method, _headers(data.get("headers", [])), body, _allow(data))


def _method(value: Any) -> str:
    if not isinstance(value, str) or not TOKEN.fullmatch(value):
        raise bad_request(f"method must be an HTTP method like GET or POST, not {value!r}.")
    if value.upper() in FORBIDDEN_METHODS:
        raise bad_request(f"The method {value.upper()} cannot be sent through the fetch proxy.")
    return value.upper() if value.upper() in NORMALIZED_METHODS else value


def _headers(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise bad_request(
            'headers must be a list of [name, value] pairs, like [["accept", "*/*"]].'
        )
    headers = []
    for index, pair in enumerate(value):
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise bad_request(f"headers[{index}] must be a [name, value] pair of strings.")
        name, text = pair
        if not TOKEN.fullmatch(name):
            raise bad_request(f"headers[{index}]: {name[:100]!r} is not a valid header name.")
        text = text.strip(" \t")
        if any(c in text for c in "\r\n\0") or not all(ord(c) < 256 for c in text):
            raise bad_request(
                f"headers[{index}] ({name}): a header value must be one line of Latin-1 text."
            )
        headers.append((name, text))
    return headers


def _body(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request("body must be a base64 string, or null for no body.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("body is not valid base64 (standard alphabet, with padding).") from None


def _allow(data: dict[str, Any]) -> tuple[str, ...]:
    value = data.get("allow")
    if not isinstance(value, list):
        raise bad_request(
            "allow is required: the origin patterns the user granted the package, as a list "
            '(like ["https://api.example.org"]; [] for none).'
        )
    try:
        return tuple(origin_pattern(entry) for entry in value)
    except DeclarationError as error:
        raise bad_request(f"allow holds an entry that is not an origin pattern: {error}.") from None
