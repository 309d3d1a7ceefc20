"""The relay's endpoints: `POST /v1/chat/completions`, `GET /v1/models[/{id}]`.

Everything a browser sends is checked here before any upstream is chosen: its origin, its
token, the body's size and shape, the model alias, the token caps and the client's rate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._log import logger
from .anthropic_upstream import AnthropicUpstream
from .call import ChatCall, Upstream
from .config import HOW_TO_CONFIGURE, RelayConfig
from .errors import AUTHENTICATION, PERMISSION, UNAVAILABLE, RelayError
from .limits import check_token_caps, estimate_tokens, limiter_for, read_body
from .openai_upstream import OpenAIUpstream
from .relayed_call import RelayedCall

UPSTREAMS: dict[str, Upstream] = {"openai": OpenAIUpstream(), "anthropic": AnthropicUpstream()}


class Relay:
    """The model relay for one server process: configuration, limits and the upstream client."""

    def __init__(self, config: RelayConfig | None = None) -> None:
        self.config = config or RelayConfig()
        self.rate, self.gate = limiter_for(self.config.limits)
        self.client: httpx.AsyncClient | None = None
        self._secrets = self.config.secrets()
        self._created = int(time.time())

    @property
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/models", self.list_models, methods=["GET"]),
            Route("/models/{model:path}", self.get_model, methods=["GET"]),
        ]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[httpx.AsyncClient]:
        """The one upstream client, sized so the concurrency cap never waits on its pool."""
        limits = self.config.limits
        pool = httpx.Limits(
            max_connections=limits.max_concurrent,
            max_keepalive_connections=limits.max_concurrent,
            keepalive_expiry=30.0,
        )
        timeout = httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.read_timeout,
            write=limits.read_timeout,
            pool=limits.connect_timeout,
        )
        # Stateless: cookies an upstream sets are never kept, so no request carries another's.
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        async with httpx.AsyncClient(limits=pool, timeout=timeout, cookies=no_cookies) as client:
            self.client = client
            try:
                yield client
            finally:
                self.client = None

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    async def list_models(self, request: Request) -> Response:
        self._check_access(request)
        data = [self._model(alias) for alias in sorted(self.config.models)]
        return JSONResponse({"object": "list", "data": data})

    async def get_model(self, request: Request) -> Response:
        self._check_access(request)
        alias = request.path_params["model"]
        if alias not in self.config.models:
            raise self._unknown_model(alias)
        return JSONResponse(self._model(alias))

    async def chat_completions(self, request: Request) -> Response | RelayedCall:
        started = time.perf_counter()
        self._check_origin(request)
        if not self.config.configured:
            raise RelayError(503, HOW_TO_CONFIGURE, type=UNAVAILABLE, code="no_provider_configured")
        client_key = self._check_token(request)
        raw = await read_body(request, self.config.limits.max_body_bytes)
        body = parse_chat_request(raw)
        route = self.config.models.get(body["model"])
        if route is None:
            raise self._unknown_model(body["model"])
        max_tokens = check_token_caps(body, route.max_tokens, route.alias)
        if self.client is None:
            raise RelayError(
                503,
                "The relay is not running (the server's lifespan did not start).",
                type=UNAVAILABLE,
            )
        prompt_estimate = estimate_tokens(len(raw))
        self.rate.admit(client_key, prompt_estimate)
        if self.config.log_bodies:
            logger.info(
                "relay request body from %s: %s",
                client_key,
                self.scrub(raw.decode("utf-8", "replace")),
            )
        call = ChatCall(route, body, max_tokens, body.get("stream") is True, self.scrub)
        done = self._on_done(request, client_key, prompt_estimate, started)
        return RelayedCall(call, UPSTREAMS[route.provider.kind], self.client, self.gate, done)

    def _on_done(
        self, request: Request, client_key: str, prompt_estimate: int, started: float
    ) -> Callable[[ChatCall, int, bool], None]:
        def done(call: ChatCall, status: int, disconnected: bool) -> None:
            usage = call.usage
            prompt = usage.prompt_tokens if usage.prompt_tokens is not None else prompt_estimate
            completion = usage.completion_tokens
            if completion is None:
                completion = estimate_tokens(usage.output_bytes) if usage.output_bytes else 0
            # The prompt estimate was counted on admission; count what was learnt since.
            self.rate.charge(client_key, prompt - prompt_estimate + completion)
            logger.log(
                logging.INFO if status < 500 else logging.WARNING,
                "relay %s model=%s provider=%s stream=%s status=%s tokens=%s+%s ms=%.1f%s",
                client_key,
                call.alias,
                call.route.provider.name,
                call.stream,
                status,
                prompt,
                completion,
                (time.perf_counter() - started) * 1000,
                " client-disconnected" if disconnected else "",
            )

        return done

    def _check_access(self, request: Request) -> str:
        self._check_origin(request)
        return self._check_token(request)

    def _check_origin(self, request: Request) -> None:
        # CORS only hides answers from other sites; it does not stop their pages from sending
        # requests that spend this server's budget. So refuse foreign origins outright.
        origin = request.headers.get("origin")
        if origin is None:
            return
        allowed = self.config.cors_origins
        if "*" in allowed or origin in allowed:
            return
        if urlsplit(origin).netloc == request.headers.get("host"):
            return
        raise RelayError(
            403,
            f"Requests from the origin {origin} are not allowed by this relay; its operator can "
            "add it to security.cors_origins.",
            type=PERMISSION,
            code="origin_not_allowed",
        )

    def _check_token(self, request: Request) -> str:
        tokens = self.config.bearer_tokens
        if not tokens:
            host = request.client.host if request.client else "unknown"
            return f"addr:{host}"
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        given = given.strip()
        if scheme.lower() == "bearer" and given:
            for token in tokens:
                if hmac.compare_digest(given.encode(), token.encode()):
                    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]
        raise RelayError(
            401,
            "This relay requires a valid bearer token (Authorization: Bearer ...).",
            type=AUTHENTICATION,
            code="invalid_token",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def _model(self, alias: str) -> dict[str, Any]:
        route = self.config.models[alias]
        return {
            "id": alias,
            "object": "model",
            "created": self._created,
            "owned_by": route.provider.name,
            "max_tokens": route.max_tokens,
        }

    def _unknown_model(self, alias: str) -> RelayError:
        known = ", ".join(sorted(self.config.models)) or "none"
        return RelayError(
            404,
            f"The model {alias!r} is not offered by this relay (available: {known}).",
            param="model",
            code="model_not_found",
        )


def parse_chat_request(raw: bytes) -> dict[str, Any]:
    """The request as a dict, with the fields the relay relies on checked."""
    try:
        body = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RelayError(400, "The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise RelayError(400, "The request body must be a JSON object.", code="invalid_json")
    if not isinstance(body.get("model"), str):
        raise RelayError(400, "model is required and must be a string.", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RelayError(400, "messages must be a non-empty list.", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise RelayError(
                400, f"messages[{index}] must be an object with a role.", param="messages"
            )
    if body.get("stream") not in (None, True, False):
        raise RelayError(400, "stream must be true or false.", param="stream")
    return body


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value
