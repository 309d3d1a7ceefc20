"""Errors in the OpenAI wire format: every refusal the relay makes is one of these."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._log import logger

# `type` values follow OpenAI's own where one exists; the rest are named for what happened.
INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
PERMISSION = "permission_error"
RATE_LIMIT = "rate_limit_error"
UPSTREAM = "upstream_error"
UNAVAILABLE = "service_unavailable"
SERVER = "server_error"


class RelayError(Exception):
    """A refusal or failure, told to the client as `{"error": {message, type, param, code}}`."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.status_code} {self.code or self.type}: {self.message}"

    def __repr__(self) -> str:
        return f"RelayError({self.status_code}, {self.message!r}, code={self.code!r})"

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> Response:
        return Response(
            json.dumps(self.body()),
            status_code=self.status_code,
            headers=self.headers,
            media_type="application/json",
        )

    def sse_event(self) -> bytes:
        """The error as a stream event, for failures after the stream has begun."""
        return b"data: " + json.dumps(self.body()).encode() + b"\n\n"


class MalformedAnswer(ValueError):
    """An upstream answer or stream event whose shape the relay cannot use; says what is wrong."""


def bad_response(provider: str, what: str) -> RelayError:
    return RelayError(
        502,
        f"The upstream provider {provider!r} sent an answer the relay cannot use: {what}.",
        type=UPSTREAM,
        code="upstream_bad_response",
    )


def from_http_exception(error: HTTPException) -> RelayError:
    messages = {404: "No such endpoint on this relay.", 405: "Method not allowed here."}
    message = messages.get(error.status_code, str(error.detail))
    return RelayError(
        error.status_code,
        message,
        code="not_found" if error.status_code == 404 else None,
        headers=error.headers,
    )


class OpenAIErrorMiddleware:
    """Turns Starlette's own refusals (404, 405) and any crash under /v1 into OpenAI errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except HTTPException as error:
            if started:
                raise
            await from_http_exception(error).response()(scope, receive, send)
        except RelayError as error:
            if started:
                raise
            await error.response()(scope, receive, send)
        except Exception:
            if started:
                raise
            logger.exception("relay: unexpected error on %s", scope.get("path"))
            internal = RelayError(500, "The relay failed unexpectedly.", type=SERVER)
            await internal.response()(scope, receive, send)
