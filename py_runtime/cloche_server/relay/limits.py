"""Limits that protect the server owner's keys and budget: body size, token caps, rate, concurrency.

The rate limit is kept in this process's memory: with several server processes behind a load
balancer each one counts on its own, so a client may get up to N times the configured rate.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from .config import Limits
from .errors import RATE_LIMIT, RelayError

WINDOW = 60.0  # seconds: both rates are "per minute"


async def read_body(request: Request, max_bytes: int, server: str = "this relay") -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `max_bytes`."""
    too_large = RelayError(
        413,
        f"The request body exceeds {server}'s limit of {max_bytes} bytes.",
        code="request_too_large",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def check_token_caps(body: dict[str, object], cap: int, alias: str) -> int:
    """The completion budget the client asked for (or `cap`), refusing anything above `cap`."""
    asked = None
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RelayError(400, f"{name} must be a positive integer.", param=name)
        if value > cap:
            raise RelayError(
                400,
                f"{name} is {value}, above this relay's cap of {cap} tokens for model {alias!r}.",
                param=name,
                code="max_tokens_exceeded",
            )
        asked = value if asked is None else min(asked, value)
    return cap if asked is None else asked


def estimate_tokens(text_size: int) -> int:
    """A rough token count from a size in bytes (about four bytes a token in English and JSON)."""
    return max(1, text_size // 4)


@dataclass
class _ClientWindow:
    requests: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)
    token_total: int = 0

    def expire(self, now: float) -> None:
        while self.requests and self.requests[0] <= now - WINDOW:
            self.requests.popleft()
        while self.tokens and self.tokens[0][0] <= now - WINDOW:
            self.token_total -= self.tokens.popleft()[1]

    @property
    def empty(self) -> bool:
        return not self.requests and not self.tokens


class RateLimiter:
    """Sliding one-minute windows of requests and tokens, per client key."""

    def __init__(
        self,
        requests_per_minute: int,
        tokens_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.clock = clock
        self._clients: dict[str, _ClientWindow] = {}
        self._last_sweep = clock()

    def admit(self, client: str, prompt_tokens: int) -> None:
        """Count one request and its prompt against `client`, or raise a 429 saying which limit
        (a 400 for a request larger than the whole token budget, which no wait can admit)."""
        now = self.clock()
        self._sweep(now)
        window = self._clients.setdefault(client, _ClientWindow())
        window.expire(now)
        # Before the rates: a 429 would tell the client to wait, and waiting cannot help this one.
        if prompt_tokens > self.tokens_per_minute:
            raise RelayError(
                400,
                f"This request (about {prompt_tokens} tokens, estimated from its size) is larger "
                f"than the whole {self.tokens_per_minute} tokens per minute a client may use, so "
                "it can never be admitted: waiting will not help. Send a shorter conversation, "
                "or ask the operator to raise limits.tokens_per_minute.",
                code="request_exceeds_tokens_per_minute",
            )
        if len(window.requests) >= self.requests_per_minute:
            wait = window.requests[0] + WINDOW - now
            raise _too_many(
                f"Rate limit reached: {self.requests_per_minute} requests per minute per client.",
                "requests_per_minute_exceeded",
                wait,
            )
        if window.token_total + prompt_tokens > self.tokens_per_minute:
            raise _too_many(
                f"Rate limit reached: {self.tokens_per_minute} tokens per minute per client.",
                "tokens_per_minute_exceeded",
                self._wait_for_tokens(window, prompt_tokens, now),
            )
        window.requests.append(now)
        self._charge(window, now, prompt_tokens)

    def charge(self, client: str, tokens: int) -> None:
        """Count tokens learnt after admission (the completion, or a corrected prompt count)."""
        if tokens == 0:
            return
        now = self.clock()
        window = self._clients.setdefault(client, _ClientWindow())
        self._charge(window, now, tokens)

    def _charge(self, window: _ClientWindow, now: float, tokens: int) -> None:
        window.tokens.append((now, tokens))
        window.token_total += tokens

    def _wait_for_tokens(self, window: _ClientWindow, wanted: int, now: float) -> float:
        total = window.token_total
        for stamp, tokens in window.tokens:
            total -= tokens
            if total + wanted <= self.tokens_per_minute:
                return stamp + WINDOW - now
        return WINDOW

    def _sweep(self, now: float) -> None:
        # Forget idle clients now and then, so memory follows the active clients only.
        if now - self._last_sweep < WINDOW:
            return
        self._last_sweep = now
        for key in list(self._clients):
            self._clients[key].expire(now)
            if self._clients[key].empty:
                del self._clients[key]


class ConcurrencyGate:
    """At most `limit` upstream calls at once, relay-wide; beyond it, refuse rather than queue."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    def enter(self) -> None:
        if self.active >= self.limit:
            raise _too_many(
                f"Concurrency limit reached: this relay serves at most {self.limit} "
                "requests at once.",
                "concurrency_limit_exceeded",
                1.0,
            )
        self.active += 1

    def leave(self) -> None:
        self.active -= 1


def _too_many(message: str, code: str, wait: float) -> RelayError:
    seconds = max(1, math.ceil(wait))
    return RelayError(
        429,
        f"{message} Retry after {seconds} s.",
        type=RATE_LIMIT,
        code=code,
        headers={"Retry-After": str(seconds)},
    )


def limiter_for(limits: Limits) -> tuple[RateLimiter, ConcurrencyGate]:
    return (
        RateLimiter(limits.requests_per_minute, limits.tokens_per_minute),
        ConcurrencyGate(limits.max_concurrent),
    )
