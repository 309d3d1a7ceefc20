"""The page's Content-Security-Policy, fixed at start-up from server configuration.

The policy never grows at run time: the only origins the page (and its workers) may connect to
besides its own are the ones the operator lists in `[page] connect_origins` of the file given to
`cloche serve --config`, or with `cloche serve --connect-origin`. Anything else off the page's
origin has to go through the backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .relay.config import ConfigError, read_toml

# scheme://host[:port] and nothing else. Only these characters, so an origin cannot smuggle a
# quote, a semicolon or a space (another CSP source or directive) into the header.
ORIGIN = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?",
)
# Plain http only where the traffic never leaves the machine.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1"}
EXPECTED_ORIGIN = (
    "expected scheme://host[:port] with https (http only for localhost or 127.0.0.1), "
    "without path, wildcard, quotes, semicolons or spaces, e.g. https://api.example.org"
)


def check_origin(origin: str, where: str) -> str:
    """`origin` in lower case, or ConfigError naming it, where it came from and the form wanted."""
    normal = origin.lower()
    match = ORIGIN.fullmatch(normal)
    port = match and match.group("port")
    if (
        not match
        or (match.group("scheme") == "http" and match.group("host") not in LOOPBACK_HOSTS)
        or (port and not 1 <= int(port) <= 65535)
    ):
        raise ConfigError(f"{where}: {origin!r} is not an allowed origin: {EXPECTED_ORIGIN}")
    return normal


@dataclass(frozen=True)
class PagePolicy:
    connect_origins: tuple[str, ...] = ()

    def content_security_policy(self) -> str:
        connect = " ".join(("'self'", *self.connect_origins))
        directives = [
            "default-src 'self'",
            # No inline script, ever. 'wasm-unsafe-eval' lets Pyodide and the WASI worker compile
            # WebAssembly; it allows no JavaScript eval.
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            f"connect-src {connect}",
            "worker-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
        return "; ".join(directives)

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"content-security-policy", self.content_security_policy().encode("ascii"))]


def page_policy(settings: Mapping[str, Any], cli_origins: Iterable[str] = ()) -> PagePolicy:
    """The policy from a `[page]` table and `--connect-origin` values; both checked."""
    unknown = sorted(set(settings) - {"connect_origins"})
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r} in [page] (known: connect_origins)")
    listed = settings.get("connect_origins", [])
    if not isinstance(listed, list) or not all(isinstance(o, str) for o in listed):
        raise ConfigError(
            'page.connect_origins must be a list of strings like ["https://api.example.org"]'
        )
    origins = [check_origin(o, "page.connect_origins") for o in listed]
    origins += [check_origin(o, "--connect-origin") for o in cli_origins]
    return PagePolicy(connect_origins=tuple(dict.fromkeys(origins)))


def load_page_policy(path: Path | None, cli_origins: Iterable[str] = ()) -> PagePolicy:
    """The policy from the `[page]` table of the config file at `path` (if any) and the CLI."""
    data = read_toml(path) if path is not None else {}
    table = data.get("page", {})
    if not isinstance(table, dict):
        raise ConfigError("[page] must be a table")
    return page_policy(table, cli_origins)
