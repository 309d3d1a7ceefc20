"""The relay's endpoints: `POST /v1/chat/completions`, `GET /v1/models[/{id}]`.

Everything a browser sends is checked here before any upstream is chosen: its origin, its
token, the body's size and shape, the model alias, the token caps and the client's rate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._log import ChatLog, logger, outcome_of
from .anthropic_upstream import AnthropicUpstream
from .call import ChatCall, Upstream, check_flags
from .config import HOW_TO_CONFIGURE, RelayConfig
from .errors import AUTHENTICATION, UNAVAILABLE, RelayError
from .limits import check_token_caps, estimate_tokens, limiter_for, read_body
from .mount import RelayRoute, origin_not_allowed
from .openai_upstream import OpenAIUpstream
from .relayed_call import RelayedCall
from .scrub import Scrubber
from .upstream_http import pool_limits

UPSTREAMS: dict[str, Upstream] = {"openai": OpenAIUpstream(), "anthropic": AnthropicUpstream()}


class Relay:
    """The model relay for one server process: configuration, limits and the upstream client."""

    def __init__(self, config: RelayConfig | None = None) -> None:
        self.config = config or RelayConfig()
        self.rate, self.gate = limiter_for(self.config.limits)
        self.client: httpx.AsyncClient | None = None
        # Every configured secret, replaced in all the relay passes on (and held back in
        # streams where one may be cut across chunks): scrub.py.
        self.scrub = Scrubber(self.config.secrets())
        self._created = int(time.time())

    @property
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/models", self.list_models, methods=["GET"]),
            Route("/models/{model:path}", self.get_model, methods=["GET"]),
        ]

    def route(self) -> BaseRoute:
        """The app's route for everything under /v1: these endpoints behind the relay's CORS
        rules, every refusal an OpenAI-format error."""
        return RelayRoute(self.routes, self.config.cors_origins)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[httpx.AsyncClient]:
        """The one upstream client, sized so the concurrency cap never waits on its pool."""
        limits = self.config.limits
        pool = pool_limits(limits.max_concurrent)
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

    async def chat_completions(self, request: Request) -> ASGIApp:
        line = ChatLog(client=_address(request))
        try:
            return await self._admit(request, line)
        except RelayError as error:
            line.write(error.status_code, outcome_of(error.status_code))
            raise

    async def _admit(self, request: Request, line: ChatLog) -> ASGIApp:
        """The call, once every check passed; the line names what the checks learnt."""
        self._check_origin(request)
        if not self.config.configured:
            raise RelayError(503, HOW_TO_CONFIGURE, type=UNAVAILABLE, code="no_provider_configured")
        line.client = client_key = self.check_token(request)
        raw = await read_body(request, self.config.limits.max_body_bytes)
        body = parse_chat_request(raw)
        route = self.config.models.get(body["model"])
        if route is None:
            raise self._unknown_model(body["model"])
        line.model, line.provider = route.alias, route.provider.name
        line.stream = body.get("stream") is True
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
        call = ChatCall(route, body, max_tokens, line.stream, self.scrub)
        done = self._on_done(line, prompt_estimate)
        upstream = UPSTREAMS[route.provider.kind]
        return _UntilResponseSent(RelayedCall(call, upstream, self.client, self.gate, done))

    def _on_done(
        self, line: ChatLog, prompt_estimate: int
    ) -> Callable[[ChatCall, int, bool], None]:
        def done(call: ChatCall, status: int, disconnected: bool) -> None:
            usage = call.usage
            prompt = usage.prompt_tokens if usage.prompt_tokens is not None else prompt_estimate
            completion = usage.completion_tokens
            if completion is None:
                completion = estimate_tokens(usage.output_bytes) if usage.output_bytes else 0
            # The prompt estimate was counted on admission; count what was learnt since.
            self.rate.charge(line.client, prompt - prompt_estimate + completion)
            line.write(status, outcome_of(status, disconnected), prompt, completion)

        return done

    def _check_access(self, request: Request) -> str:
        self._check_origin(request)
        return self.check_token(request)

    def _check_origin(self, request: Request) -> None:
        # CORS only hides answers from other sites; it does not stop their pages from sending
        # requests that spend this server's budget. So refuse foreign origins outright. (The Host
        # compared here was checked against the server's own names: allowed_hosts.py.)
        origin = request.headers.get("origin")
        if origin is None:
            return
        allowed = self.config.cors_origins
        if "*" in allowed or origin in allowed:
            return
        if urlsplit(origin).netloc == request.headers.get("host"):
            return
        raise origin_not_allowed(origin)

    def check_token(self, request: Request) -> str:
        tokens = self.config.bearer_tokens
        if not tokens:
            return _address(request)
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


def _address(request: Request) -> str:
    return f"addr:{request.client.host if request.client else 'unknown'}"


class _UntilResponseSent:
    """Runs a relayed call, telling it of a disconnect only while its answer is being sent.

    uvicorn reports `http.disconnect` to a waiting `receive()` also once the response is complete
    (a keep-alive connection that stays open included); that is no client going away, and must
    neither be logged as one nor cut anything short.
    """

    def __init__(self, call: RelayedCall) -> None:
        self.call = call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = False

        async def send_tracking_the_end(message: Message) -> None:
            nonlocal sent
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                sent = True  # before sending: uvicorn wakes `receive()` as it sends the end
            await send(message)

        async def receive_until_sent() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" and sent:
                await anyio.sleep_forever()  # the call cancels its listener once it is done
            return message

        await self.call(scope, receive_until_sent, send_tracking_the_end)


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
    check_flags(body)
    return body


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value
