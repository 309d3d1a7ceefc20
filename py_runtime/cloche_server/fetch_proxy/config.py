"""The fetch proxy's configuration: the operator's allow-list and limits, from `[fetch]` of the file
given to `cloche serve --config` and from `cloche serve --fetch-allow`; both allow-lists add up."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloche.permissions import DeclarationError, origin_pattern

from ..relay.config import ConfigError, read_toml

MIB = 1024 * 1024
HOW_TO_TURN_ON = (
    "start `cloche serve --fetch-allow 'https://*'` (or name origins, like --fetch-allow "
    "https://api.example.org), or list them in [fetch] allow of the --config file"
)


@dataclass(frozen=True)
class FetchConfig:
    """What the proxy may fetch and how much. With no `allow` entries the proxy is off."""

    allow: tuple[str, ...] = ()
    max_request_bytes: int = MIB
    max_response_bytes: int = 8 * MIB
    timeout_seconds: float = 20.0
    max_concurrent: int = 16

    @property
    def on(self) -> bool:
        return bool(self.allow)

    @property
    def explicit(self) -> frozenset[str]:
        """The entries without a wildcard: only these may reach private addresses."""
        return frozenset(pattern for pattern in self.allow if "*" not in pattern)

    def describe(self) -> str:
        if not self.on:
            return f"Fetch proxy at /proxy: off; to turn it on, {HOW_TO_TURN_ON}"
        return f"Fetch proxy at /proxy, for packages granted network: {', '.join(self.allow)}"


SETTINGS = {"allow", "max_request_bytes", "max_response_bytes", "timeout_seconds", "max_concurrent"}


def fetch_config(settings: Mapping[str, Any], cli_patterns: Iterable[str] = ()) -> FetchConfig:
    """The configuration from a `[fetch]` table and `--fetch-allow` values; both checked."""
    unknown = sorted(set(settings) - SETTINGS)
    if unknown:
        known = ", ".join(sorted(SETTINGS))
        raise ConfigError(f"unknown setting {unknown[0]!r} in [fetch] (known: {known})")
    listed = settings.get("allow", [])
    if not isinstance(listed, list) or not all(isinstance(entry, str) for entry in listed):
        raise ConfigError('fetch.allow must be a list of origin patterns like ["https://*"]')
    patterns = [_pattern(entry, "fetch.allow") for entry in listed]
    patterns += [_pattern(entry, "--fetch-allow") for entry in cli_patterns]
    defaults = FetchConfig()
    return FetchConfig(
        allow=tuple(dict.fromkeys(patterns)),
        max_request_bytes=_positive(settings, "max_request_bytes", defaults.max_request_bytes),
        max_response_bytes=_positive(settings, "max_response_bytes", defaults.max_response_bytes),
        timeout_seconds=_seconds(settings, "timeout_seconds", defaults.timeout_seconds),
        max_concurrent=_positive(settings, "max_concurrent", defaults.max_concurrent),
    )


def load_fetch_config(path: Path | None, cli_patterns: Iterable[str] = ()) -> FetchConfig:
    """The configuration from `[fetch]` of the config file at `path` (if any) and the CLI."""
    table = (read_toml(path) if path is not None else {}).get("fetch", {})
    if not isinstance(table, dict):
        raise ConfigError("[fetch] must be a table")
    return fetch_config(table, cli_patterns)


def _pattern(entry: str, where: str) -> str:
    try:
        return origin_pattern(entry)
    except DeclarationError as error:
        raise ConfigError(f"{where}: {error}") from None


def _positive(table: Mapping[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"fetch.{key} must be a whole number of at least 1, not {value!r}")
    return value


def _seconds(table: Mapping[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 3600:
        raise ConfigError(
            f"fetch.{key} must be a number of seconds above 0 and below 3600, not {value!r}"
        )
    return float(value)
