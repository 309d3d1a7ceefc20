"""MCP 2026-07-28's per-request envelope: what makes a request modern, and checking it.

Revision 2026-07-28 has no `initialize`: each request names its protocol version and the client's
capabilities in `params._meta`, and the server answers it on its own. Cloche serves that revision
beside the 2025 ones, which still open with `initialize`; `is_modern` tells them apart, request by
request, the way the official SDKs do (the version key alone decides, so a half-built envelope is
told what it lacks rather than taken for a 2025 request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._jsonrpc import INVALID_PARAMS, RpcError
from .context import LOG_LEVELS, LogLevel

MODERN_PROTOCOL_VERSIONS = ("2026-07-28",)
LEGACY_PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")

PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"
LOG_LEVEL_KEY = "io.modelcontextprotocol/logLevel"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"
SUBSCRIPTION_ID_KEY = "io.modelcontextprotocol/subscriptionId"

HEADER_MISMATCH = -32020
MISSING_CAPABILITY = -32021
UNSUPPORTED_VERSION = -32022

# Methods that only exist in the modern era: they are modern even without an envelope (and are then
# told that it is missing).
MODERN_ONLY_METHODS = frozenset({"server/discover", "subscriptions/listen"})


@dataclass(frozen=True)
class Envelope:
    protocol_version: str
    client_capabilities: dict[str, Any]
    client_info: dict[str, Any] | None
    log_level: LogLevel | None


def is_modern(message: dict[str, Any]) -> bool:
    """Whether a request is to be served as 2026-07-28 (stateless) rather than in a 2025 session."""
    method = message.get("method")
    if method == "initialize":
        return False
    if method in MODERN_ONLY_METHODS:
        return True
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and PROTOCOL_VERSION_KEY in meta


def unsupported_version(requested: str) -> RpcError:
    return RpcError(
        UNSUPPORTED_VERSION,
        f"Unsupported protocol version: {requested}; this server speaks "
        f"{', '.join(MODERN_PROTOCOL_VERSIONS)} (stateless) and "
        f"{', '.join(LEGACY_PROTOCOL_VERSIONS)} through initialize",
        {"supported": list(MODERN_PROTOCOL_VERSIONS), "requested": requested},
    )


def envelope_meta(params: Any) -> dict[str, Any]:
    """The request's `_meta`, or an error naming the envelope keys it lacks."""
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict):
        raise RpcError(
            INVALID_PARAMS,
            f"Invalid params: params._meta must be an object carrying {PROTOCOL_VERSION_KEY!r} "
            f"and {CLIENT_CAPABILITIES_KEY!r} (MCP 2026-07-28 sends them on every request)",
        )
    missing = [key for key in (PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY) if key not in meta]
    if missing:
        raise RpcError(
            INVALID_PARAMS,
            "Invalid params: params._meta is missing the required envelope key(s): "
            + ", ".join(missing),
        )
    return meta


def check_envelope(params: Any) -> Envelope:
    """Check a modern request's envelope, in the order the SDKs do; raise `RpcError` on a fault.

    (On HTTP the transport compares its headers with the envelope between the first check and
    the version check; see `cloche_server.mcp.http`.)
    """
    meta = envelope_meta(params)
    version = meta[PROTOCOL_VERSION_KEY]
    if not isinstance(version, str):
        raise RpcError(INVALID_PARAMS, f"Invalid params: {PROTOCOL_VERSION_KEY} must be a string")
    if version not in MODERN_PROTOCOL_VERSIONS:
        raise unsupported_version(version)
    capabilities = meta[CLIENT_CAPABILITIES_KEY]
    if not isinstance(capabilities, dict):
        raise RpcError(
            INVALID_PARAMS, f"Invalid params: {CLIENT_CAPABILITIES_KEY} must be an object"
        )
    client_info = meta.get(CLIENT_INFO_KEY)
    level = meta.get(LOG_LEVEL_KEY)
    if level is not None and level not in LOG_LEVELS:
        raise RpcError(
            INVALID_PARAMS,
            f"Invalid params: {LOG_LEVEL_KEY} {level!r} is not a log level; use one of "
            + ", ".join(LOG_LEVELS),
        )
    return Envelope(
        protocol_version=version,
        client_capabilities=capabilities,
        client_info=client_info if isinstance(client_info, dict) else None,
        log_level=level,
    )
