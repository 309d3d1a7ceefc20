"""The per-client rate limiter and the token caps, on a clock the test controls."""

from __future__ import annotations

import pytest

from cloche_server.relay import RelayError
from cloche_server.relay.limits import ConcurrencyGate, RateLimiter, check_token_caps


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_requests_per_minute_slide_and_say_when_to_retry() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=3, tokens_per_minute=10**9, clock=clock)
    for step in range(3):
        clock.now += step * 10
        limiter.admit("a", 1)
    with pytest.raises(RelayError) as caught:
        limiter.admit("a", 1)
    assert caught.value.status_code == 429
    # The oldest request (at 1000) leaves the window at 1060; it is now 1030.
    assert caught.value.headers["Retry-After"] == "30"
    limiter.admit("b", 1)  # another client has its own window
    clock.now = 1060.5
    limiter.admit("a", 1)


def test_tokens_per_minute_count_what_was_charged_later() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=100, tokens_per_minute=1000, clock=clock)
    limiter.admit("a", 100)
    clock.now += 20
    limiter.charge("a", 850)
    with pytest.raises(RelayError) as caught:
        limiter.admit("a", 100)
    assert caught.value.code == "tokens_per_minute_exceeded"
    # 100 tokens leave at 1060 (40 s from now), which leaves room for 100 more.
    assert caught.value.headers["Retry-After"] == "40"
    clock.now = 1060.1
    limiter.admit("a", 100)


def test_a_prompt_larger_than_the_whole_budget_is_a_400() -> None:
    limiter = RateLimiter(requests_per_minute=1, tokens_per_minute=1000)
    limiter.admit("a", 10)
    with pytest.raises(RelayError) as caught:  # a 400 even when the requests are spent too
        limiter.admit("a", 5000)
    assert caught.value.status_code == 400
    assert caught.value.code == "request_exceeds_tokens_per_minute"
    assert "Retry-After" not in caught.value.headers


def test_idle_clients_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=5, tokens_per_minute=1000, clock=clock)
    for n in range(100):
        limiter.admit(f"client-{n}", 1)
    clock.now += 61
    limiter.admit("late", 1)
    assert set(limiter._clients) == {"late"}


def test_the_concurrency_gate() -> None:
    gate = ConcurrencyGate(2)
    gate.enter()
    gate.enter()
    with pytest.raises(RelayError) as caught:
        gate.enter()
    assert caught.value.headers["Retry-After"] == "1"
    gate.leave()
    gate.enter()


def test_token_caps() -> None:
    assert check_token_caps({}, 100, "m") == 100
    assert check_token_caps({"max_tokens": 40, "max_completion_tokens": 60}, 100, "m") == 40
    for bad in (0, -1, True, 1.5, "10"):
        with pytest.raises(RelayError, match="positive integer"):
            check_token_caps({"max_tokens": bad}, 100, "m")
