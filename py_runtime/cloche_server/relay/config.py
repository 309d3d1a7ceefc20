"""Relay configuration: providers, model aliases, limits and access, from TOML or the environment.

Secrets are written as `${ENV_NAME}` references so the file itself can be shared; they are
resolved once, at load time, and never printed (the fields that hold them are left out of reprs).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ProviderKind = Literal["openai", "anthropic"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = ("openai", "anthropic")
MAX_TOKENS_PARAMS = ("max_tokens", "max_completion_tokens")
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
ANTHROPIC_DEFAULT_URL = "https://api.anthropic.com"
OPENAI_DEFAULT_MODELS = "gpt-4o-mini,gpt-4o"
ANTHROPIC_DEFAULT_MODELS = "claude-sonnet-4-5,claude-haiku-4-5"

HOW_TO_CONFIGURE = (
    "No model provider is configured on this server. Its operator can set OPENAI_API_KEY or "
    "ANTHROPIC_API_KEY before `cloche serve`, or pass `cloche serve --config relay.toml` "
    "(see docs/relay.md)."
)


class ConfigError(ValueError):
    """The relay configuration is invalid; the message names the setting."""


@dataclass(frozen=True)
class Provider:
    name: str
    kind: ProviderKind
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Which field carries the relay's token cap when the client sent none (OpenAI-compatible only):
    # api.openai.com prefers max_completion_tokens, most compatible servers know max_tokens.
    max_tokens_param: str = "max_tokens"
    # Ask OpenAI-compatible upstreams for usage in streams, to count tokens against the limits.
    stream_usage: bool = True


@dataclass(frozen=True)
class ModelRoute:
    alias: str
    provider: Provider
    model: str
    max_tokens: int


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 4 * 1024 * 1024
    max_tokens: int = 4096
    requests_per_minute: int = 60
    tokens_per_minute: int = 200_000
    max_concurrent: int = 200
    connect_timeout: float = 10.0
    read_timeout: float = 120.0


@dataclass(frozen=True)
class RelayConfig:
    models: Mapping[str, ModelRoute] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    cors_origins: tuple[str, ...] = ()
    bearer_tokens: tuple[str, ...] = field(default=(), repr=False)
    log_bodies: bool = False
    source: str = "nothing"

    @property
    def configured(self) -> bool:
        return bool(self.models)

    def secrets(self) -> list[str]:
        """Every secret value, so text from upstreams can be scrubbed of them."""
        values: set[str] = set(self.bearer_tokens)
        for route in self.models.values():
            if route.provider.api_key:
                values.add(route.provider.api_key)
            values.update(route.provider.headers.values())
        return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)

    def describe(self) -> str:
        if not self.configured:
            return HOW_TO_CONFIGURE
        routes = ", ".join(
            f"{alias} -> {r.provider.name}:{r.model}" for alias, r in sorted(self.models.items())
        )
        return f"Model relay at /v1 (from {self.source}): {routes}"


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> RelayConfig:
    """Read the TOML file at `path`; without one, use the OPENAI_/ANTHROPIC_API_KEY shortcut."""
    env = os.environ if environ is None else environ
    if path is None:
        return config_from_environment(env)
    return parse_config(read_toml(path), env, source=str(path))


def read_toml(path: Path) -> dict[str, Any]:
    """The server's config file (`cloche serve --config`) as a dict."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read relay config {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def config_from_environment(env: Mapping[str, str]) -> RelayConfig:
    models: dict[str, ModelRoute] = {}
    limits = Limits()
    if env.get("OPENAI_API_KEY"):
        openai = Provider(
            "openai",
            "openai",
            _base_url(env.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_URL, "OPENAI_BASE_URL"),
            env["OPENAI_API_KEY"],
            max_tokens_param="max_completion_tokens"
            if "OPENAI_BASE_URL" not in env
            else "max_tokens",
        )
        names = env.get("CLOCHE_OPENAI_MODELS") or OPENAI_DEFAULT_MODELS
        models.update(_model_list(names, openai, limits.max_tokens, "CLOCHE_OPENAI_MODELS"))
    if env.get("ANTHROPIC_API_KEY"):
        anthropic = Provider(
            "anthropic",
            "anthropic",
            _base_url(env.get("ANTHROPIC_BASE_URL") or ANTHROPIC_DEFAULT_URL, "ANTHROPIC_BASE_URL"),
            env["ANTHROPIC_API_KEY"],
        )
        names = env.get("CLOCHE_ANTHROPIC_MODELS") or ANTHROPIC_DEFAULT_MODELS
        models.update(_model_list(names, anthropic, limits.max_tokens, "CLOCHE_ANTHROPIC_MODELS"))
    return RelayConfig(models=models, limits=limits, source="environment" if models else "nothing")


def _model_list(names: str, provider: Provider, cap: int, where: str) -> dict[str, ModelRoute]:
    """`alias=model` or `model` items, comma-separated."""
    routes = {}
    for item in names.split(","):
        alias, _, model = (part.strip() for part in item.partition("="))
        if not alias:
            continue
        model = model or alias
        if not model:
            raise ConfigError(f"{where}: {item!r} names no model")
        routes[alias] = ModelRoute(alias, provider, model, cap)
    return routes


def parse_config(data: Mapping[str, Any], env: Mapping[str, str], source: str) -> RelayConfig:
    # [page], [server] and [fetch] share the file but not this config: the page's policy
    # (page_policy.py), the host names the server answers to (allowed_hosts.py) and the fetch
    # proxy's (fetch_proxy/config.py).
    _only(
        data,
        {"limits", "security", "providers", "models", "page", "server", "fetch"},
        "the top level",
    )
    limits = _limits(_table(data, "limits"))
    security = _table(data, "security")
    _only(security, {"cors_origins", "bearer_tokens", "log_bodies"}, "[security]")
    origins = tuple(_str_list(security, "cors_origins", "security", env, resolve=False))
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ConfigError(
                f"security.cors_origins: {origin!r} is not an origin like https://docs.example.org"
            )
    tokens = tuple(_str_list(security, "bearer_tokens", "security", env, resolve=True))
    log_bodies = _get(security, "log_bodies", bool, False, "security")

    providers = {
        name: _provider(name, table, env) for name, table in _table(data, "providers").items()
    }
    models = {}
    for alias, table in _table(data, "models").items():
        where = f"models.{alias}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table like {{ provider = ..., model = ... }}")
        _only(table, {"provider", "model", "max_tokens"}, f"[{where}]")
        provider_name = _get(table, "provider", str, None, where)
        if provider_name not in providers:
            known = ", ".join(sorted(providers)) or "none are defined"
            raise ConfigError(f"{where}.provider {provider_name!r} is not in [providers] ({known})")
        model = _get(table, "model", str, alias, where)
        cap = _positive(table, "max_tokens", limits.max_tokens, where)
        models[alias] = ModelRoute(alias, providers[provider_name], model, cap)
    return RelayConfig(
        models=models,
        limits=limits,
        cors_origins=origins,
        bearer_tokens=tokens,
        log_bodies=log_bodies,
        source=source,
    )


def _provider(name: str, table: Any, env: Mapping[str, str]) -> Provider:
    where = f"providers.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    _only(
        table,
        {"type", "base_url", "api_key", "headers", "max_tokens_param", "stream_usage"},
        f"[{where}]",
    )
    kind = _get(table, "type", str, None, where)
    if kind not in PROVIDER_KINDS:
        raise ConfigError(f"{where}.type must be one of {', '.join(PROVIDER_KINDS)}, not {kind!r}")
    default_url = OPENAI_DEFAULT_URL if kind == "openai" else ANTHROPIC_DEFAULT_URL
    base_url = _base_url(_get(table, "base_url", str, default_url, where), f"{where}.base_url")
    key = table.get("api_key")
    if key is not None:
        if not isinstance(key, str):
            raise ConfigError(f'{where}.api_key must be a string such as "${{API_KEY}}"')
        key = expand(key, env, f"{where}.api_key")
    if kind == "anthropic" and not key:
        raise ConfigError(f"{where}.api_key is required for an anthropic provider")
    headers = table.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ConfigError(f"{where}.headers must be a table of strings")
    headers = {k: expand(v, env, f"{where}.headers.{k}") for k, v in headers.items()}
    param = _get(table, "max_tokens_param", str, "max_tokens", where)
    if param not in MAX_TOKENS_PARAMS:
        raise ConfigError(f"{where}.max_tokens_param must be one of {', '.join(MAX_TOKENS_PARAMS)}")
    stream_usage = _get(table, "stream_usage", bool, True, where)
    return Provider(name, kind, base_url, key or None, headers, param, stream_usage)


def _limits(table: Mapping[str, Any]) -> Limits:
    defaults = Limits()
    _only(table, set(Limits.__dataclass_fields__), "[limits]")
    return Limits(
        max_body_bytes=_positive(table, "max_body_bytes", defaults.max_body_bytes, "limits"),
        max_tokens=_positive(table, "max_tokens", defaults.max_tokens, "limits"),
        requests_per_minute=_positive(
            table, "requests_per_minute", defaults.requests_per_minute, "limits"
        ),
        tokens_per_minute=_positive(
            table, "tokens_per_minute", defaults.tokens_per_minute, "limits"
        ),
        max_concurrent=_positive(table, "max_concurrent", defaults.max_concurrent, "limits"),
        connect_timeout=_seconds(table, "connect_timeout", defaults.connect_timeout),
        read_timeout=_seconds(table, "read_timeout", defaults.read_timeout),
    )


def expand(value: str, env: Mapping[str, str], where: str) -> str:
    """Replace `${NAME}` with the environment's NAME; an unset NAME is an error."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{where} refers to ${{{name}}}, which is not set in the environment")
        return env[name]

    return ENV_REFERENCE.sub(lookup, value)


def _base_url(url: str, where: str) -> str:
    if not re.match(r"https?://[^/\s]+", url):
        raise ConfigError(f"{where} must be an http(s) URL, not {url!r}")
    return url.rstrip("/")


def _table(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table")
    return table


def _only(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r} in {where} (known: {', '.join(sorted(allowed))})"
        )


def _get(table: Mapping[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"{where}.{key} is required")
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        wanted = {int: "an integer", str: "a string", bool: "true or false"}[kind]
        raise ConfigError(f"{where}.{key} must be {wanted}, not {value!r}")
    return value


def _positive(table: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value: int = _get(table, key, int, default, where)
    if value < 1:
        raise ConfigError(f"{where}.{key} must be at least 1, not {value}")
    return value


def _seconds(table: Mapping[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"limits.{key} must be a positive number of seconds, not {value!r}")
    return float(value)


def _str_list(
    table: Mapping[str, Any], key: str, where: str, env: Mapping[str, str], *, resolve: bool
) -> list[str]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}.{key} must be a list of strings")
    if not resolve:
        return values
    resolved = [expand(v, env, f"{where}.{key}") for v in values]
    if not all(resolved):
        raise ConfigError(f"{where}.{key} holds an empty value")
    return resolved
