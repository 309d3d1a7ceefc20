"""The host names the server answers to: its defence against DNS rebinding.

A page on any website can make its own name resolve to 127.0.0.1 (DNS rebinding) and then call a
server there as if it were its own origin: the browser sends the website's name in `Host` and
`Origin`, and they agree. So every request's Host must be one of the server's own names: the
loopback name `localhost`, the name given to `--host`, and the public names its operator lists
with `--allowed-host` or `[server] allowed_hosts`. An IP address is always accepted: a browser
sends one in Host only to an origin that is that address, which no other site's page can be.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from .relay.config import ConfigError, read_toml
from .relay.errors import RelayError
from .relay.mount import is_relay_path

LOOPBACK_NAME = "localhost"
WILDCARD_BINDS = {"", "0.0.0.0", "::", "[::]"}
# A Host header: a name or an IPv4 address, or an IPv6 address in brackets; then maybe a port.
_HOST_HEADER = re.compile(
    r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_.-]+))(?::(?P<port>[0-9]{1,5}))?"
)
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
EXPECTED_NAME = (
    "expected a host name like app.example.org (or an IP address), without scheme, port, "
    "path or wildcard"
)


def _host_of(header: str | None) -> str | None:
    """The host of a Host header, in lower case without port or trailing dot; None if malformed."""
    match = _HOST_HEADER.fullmatch((header or "").lower())
    if match is None:
        return None
    if match.group("ipv6") is not None:
        return match.group("ipv6") if _is_ip(match.group("ipv6")) else None
    name = match.group("name")
    name = name[:-1] if name.endswith(".") else name
    return name if _is_ip(name) or _NAME.fullmatch(name) else None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def check_host_name(value: str, where: str) -> str:
    """`value` as a host name to compare with Host headers, or ConfigError naming it."""
    name = value.strip().lower().removesuffix(".")
    bracketed = name.startswith("[") and name.endswith("]")
    if bracketed and _is_ip(name[1:-1]):
        return name[1:-1]
    if not bracketed and (_is_ip(name) or _NAME.fullmatch(name)):
        return name
    raise ConfigError(f"{where}: {value!r} is not an allowed host: {EXPECTED_NAME}")


@dataclass(frozen=True)
class AllowedHosts:
    """Names a request's Host may carry (any port), besides IP addresses, which are always fine."""

    names: tuple[str, ...] = (LOOPBACK_NAME,)

    def refusal(self, header: str | None, command: str = "cloche serve") -> str | None:
        """Why a request with this Host header is refused, or None if it is not."""
        host = _host_of(header)
        if host is None:
            return "The request's Host header is missing or malformed."
        if host in self.names or _is_ip(host):
            return None
        config = " or [server] allowed_hosts in the config" if command == "cloche serve" else ""
        return (
            f"This server does not answer to the host name {host}; its operator can allow it "
            f"with `{command} --allowed-host {host}`{config}."
        )

    def describe(self) -> str:
        return (
            f"Host names this server answers to: {', '.join(self.names)} and IP addresses "
            "(more with --allowed-host NAME)"
        )


def allowed_hosts(bind_host: str, listed: Iterable[str] = ()) -> AllowedHosts:
    """localhost, the name the server listens on (unless it is all interfaces) and `listed`."""
    names = [LOOPBACK_NAME]
    if bind_host not in WILDCARD_BINDS:
        names.append(check_host_name(bind_host, "--host"))
    names += listed
    return AllowedHosts(tuple(dict.fromkeys(name for name in names if not _is_ip(name))))


def load_allowed_hosts(
    path: Path | None, bind_host: str, cli_names: Iterable[str] = ()
) -> AllowedHosts:
    """The names from `[server] allowed_hosts` of the config file (if any), the CLI and `--host`."""
    table = (read_toml(path) if path is not None else {}).get("server", {})
    if not isinstance(table, dict):
        raise ConfigError("[server] must be a table")
    unknown = sorted(set(table) - {"allowed_hosts"})
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r} in [server] (known: allowed_hosts)")
    listed = table.get("allowed_hosts", [])
    if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
        raise ConfigError('server.allowed_hosts must be a list of names like ["app.example.org"]')
    names = [check_host_name(name, "server.allowed_hosts") for name in listed]
    names += [check_host_name(name, "--allowed-host") for name in cli_names]
    return allowed_hosts(bind_host, names)


class AllowedHostsMiddleware:
    """Refuses, with 400, any request whose Host is not one of the server's names: as an
    OpenAI-format error (`host_not_allowed`) under /v1, as one line of text elsewhere."""

    def __init__(self, app: ASGIApp, hosts: AllowedHosts) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.hosts.refusal(Headers(scope=scope).get("host"))
        if refusal is None:
            await self.app(scope, receive, send)
            return
        response: Response | WebSocketClose
        if scope["type"] == "websocket":
            response = WebSocketClose(code=1008, reason="host not allowed")
        elif is_relay_path(scope):
            response = RelayError(400, refusal, code="host_not_allowed").response()
        else:
            response = PlainTextResponse(refusal, status_code=400)
        await response(scope, receive, send)
