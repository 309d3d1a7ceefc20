"""What a tool package may reach beyond its sandbox: network origins and a private key-value store.

By default a package reaches nothing. A package declares what it needs next to its tools, either
for the whole package with a module-level value::

    from cloche import permissions

    PERMISSIONS = permissions(network=["https://api.example.org"], storage=True)

or on a tool, ``@tool(network=["https://api.example.org"])``; the package's permissions are the
union. The build reads them through discovery into ``registry.json``; the page shows them, asks the
user, and its host grants a package nothing it did not declare (docs/python-tools.md).

A network entry is an origin pattern: ``https://api.example.org``, ``http://127.0.0.1:8080``,
``https://*.example.org`` (any subdomain, not the domain itself) or ``https://*`` (any host over
https). Paths, queries and credentials are not part of an origin and are refused. The same matching
is done by the page's host (web/app/permissions.js) and by the server's fetch proxy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
# A DNS name or an IPv4 literal: labels of letters, digits and hyphens; or a bracketed IPv6 literal.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_IPV6 = re.compile(r"\[[0-9a-f:.]+\]")
# The same ranges as a WASM manifest's limits.
MAX_DEADLINE_MS = 600_000
MIN_MEMORY_BYTES = 16 * 1024 * 1024
MAX_MEMORY_BYTES = 4 * 1024 * 1024 * 1024

HOW = (
    "write an origin pattern: scheme://host[:port] with scheme http or https, where host may be "
    "*.example.org (its subdomains) or * (any host), e.g. https://api.example.org"
)


class DeclarationError(ValueError):
    """A declaration that is not valid; the message says what to write instead."""


def origin_pattern(text: object) -> str:
    """`text` as a normalized origin pattern (lower case, no default port); ValueError if it is
    not one."""
    if not isinstance(text, str) or not text:
        raise DeclarationError(f"network entry {text!r} is not a string: {HOW}")
    scheme, sep, rest = text.strip().lower().partition("://")
    if not sep or scheme not in SCHEMES:
        raise DeclarationError(f"network entry {text!r} has no http:// or https:// scheme: {HOW}")
    if any(c in rest for c in "/?#@") or not rest:
        raise DeclarationError(
            f"network entry {text!r} is not an origin (no path, query or user part): {HOW}"
        )
    host, port = _split_port(rest, text)
    if host == "*":
        pass
    elif host.startswith("*."):
        if not _HOST.fullmatch(host[2:]) or "." not in host[2:]:
            raise DeclarationError(f"network entry {text!r}: *. must come before a domain: {HOW}")
    elif not (_HOST.fullmatch(host) or _IPV6.fullmatch(host)):
        raise DeclarationError(f"network entry {text!r} has no valid host: {HOW}")
    if port is not None and port != DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def _split_port(rest: str, text: str) -> tuple[str, int | None]:
    if rest.startswith("["):
        end = rest.find("]")
        host, after = rest[: end + 1], rest[end + 1 :]
    else:
        host, _, port_text = rest.partition(":")
        after = f":{port_text}" if port_text or rest.endswith(":") else ""
    if not after:
        return host, None
    if not after.startswith(":") or not after[1:].isdigit() or not 0 < int(after[1:]) < 65536:
        raise DeclarationError(f"network entry {text!r} has no valid port: {HOW}")
    return host, int(after[1:])


def url_origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, or None when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def origin_matches(pattern: str, url: str) -> bool:
    """True when `url` (an http or https URL) is under the origin pattern `pattern`."""
    origin = url_origin(url)
    if origin is None:
        return False
    scheme, host, port = origin
    p_scheme, _, rest = pattern.partition("://")
    if p_scheme != scheme:
        return False
    p_host, p_port = _split_port(rest, pattern)
    if (p_port if p_port is not None else DEFAULT_PORTS[p_scheme]) != port and p_host != "*":
        return False
    if p_host == "*":
        return p_port is None or p_port == port
    if p_host.startswith("*."):
        return host.endswith(p_host[1:]) and host != p_host[2:]
    return host == p_host


def allows(patterns: Iterable[str], url: str) -> bool:
    """True when any of `patterns` matches `url`."""
    return any(origin_matches(pattern, url) for pattern in patterns)


@dataclass(frozen=True)
class Permissions:
    """What one package (or one tool, before the union) declares."""

    network: tuple[str, ...] = ()
    storage: bool = False
    deadline_ms: int | None = None
    memory_bytes: int | None = None

    def __or__(self, other: Permissions) -> Permissions:
        network = tuple(dict.fromkeys((*self.network, *other.network)))

        def larger(a: int | None, b: int | None) -> int | None:
            return b if a is None else a if b is None else max(a, b)

        return Permissions(
            network,
            self.storage or other.storage,
            larger(self.deadline_ms, other.deadline_ms),
            larger(self.memory_bytes, other.memory_bytes),
        )

    def to_json(self) -> dict[str, Any]:
        """The form registry.json keeps: network and storage always, the limits when set."""
        out: dict[str, Any] = {"network": list(self.network), "storage": self.storage}
        if self.deadline_ms is not None:
            out["deadlineMs"] = self.deadline_ms
        if self.memory_bytes is not None:
            out["memoryBytes"] = self.memory_bytes
        return out


NONE = Permissions()


def union(declarations: Iterable[Permissions]) -> Permissions:
    """Everything any of `declarations` asks for (nothing for none)."""
    combined = NONE
    for declaration in declarations:
        combined |= declaration
    return combined


def from_json(data: dict[str, Any]) -> Permissions:
    """The declaration `Permissions.to_json` wrote, checked again."""
    return permissions(
        network=data.get("network", ()),
        storage=data.get("storage", False),
        deadline_ms=data.get("deadlineMs"),
        memory_bytes=data.get("memoryBytes"),
    )


def permissions(
    *,
    network: Iterable[str] = (),
    storage: bool = False,
    deadline_ms: int | None = None,
    memory_bytes: int | None = None,
) -> Permissions:
    """Declare what a package needs; assign it to a module-level name of the package's module.

    `network`: origin patterns its tools may fetch from (default none); `storage`: whether it
    keeps a private key-value store (default not); `deadline_ms`: the longest a call may run;
    `memory_bytes`: the most memory its worker may grow to."""
    if isinstance(network, str):
        raise DeclarationError(
            f"network must be a list of origin patterns, got the string {network!r}"
        )
    if not isinstance(storage, bool):
        raise DeclarationError(f"storage must be True or False, got {storage!r}")
    normalized = tuple(dict.fromkeys(origin_pattern(entry) for entry in network))
    if deadline_ms is not None and not (
        isinstance(deadline_ms, int)
        and not isinstance(deadline_ms, bool)
        and 1 <= deadline_ms <= MAX_DEADLINE_MS
    ):
        raise DeclarationError(
            f"deadline_ms must be a whole number of milliseconds from 1 to {MAX_DEADLINE_MS}, "
            f"got {deadline_ms!r}"
        )
    if memory_bytes is not None and not (
        isinstance(memory_bytes, int)
        and not isinstance(memory_bytes, bool)
        and MIN_MEMORY_BYTES <= memory_bytes <= MAX_MEMORY_BYTES
    ):
        raise DeclarationError(
            f"memory_bytes must be a whole number of bytes from {MIN_MEMORY_BYTES} (16 MiB) to "
            f"{MAX_MEMORY_BYTES} (4 GiB), got {memory_bytes!r}"
        )
    return Permissions(normalized, storage, deadline_ms, memory_bytes)
