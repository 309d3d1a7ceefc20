"""The one log line of each chat request says how it really ended, as seen through uvicorn: a
response sent in full is `completed` (uvicorn's end-of-response `http.disconnect` is no client
going away), a client that leaves mid-answer is `client-disconnected`."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from relay_fakes import (
    WAIT,
    FakeUpstream,
    Reply,
    StartRelay,
    Stream,
    openai_completion,
    openai_events,
)

from cloche_server.relay.config import Limits

HELLO = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
FIRST = {"choices": [{"index": 0, "delta": {"content": "first"}, "finish_reason": None}]}
USAGE = {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}


def relay_lines(caplog: pytest.LogCaptureFixture, count: int) -> list[str]:
    """The relay's request lines, once `count` of them were written (by the server's thread)."""
    deadline = time.monotonic() + WAIT
    while True:
        lines = [
            r.getMessage()
            for r in caplog.records
            if r.name == "cloche.relay" and r.getMessage().startswith("relay ")
        ]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


def test_completed_requests_on_a_kept_alive_connection_are_logged_as_completed(
    relay_url: str,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="cloche.relay")
    upstreams[0].then(
        *[Reply(openai_completion()) for _ in range(5)],
        *[Stream(openai_events(FIRST, USAGE)) for _ in range(3)],
    )
    with httpx.Client(base_url=relay_url, timeout=WAIT) as client:  # one kept-alive connection
        for _ in range(5):
            assert client.post("/v1/chat/completions", json=HELLO).status_code == 200
        for _ in range(3):
            answer = client.post("/v1/chat/completions", json={**HELLO, "stream": True})
            assert answer.text.endswith("data: [DONE]\n\n")
    lines = relay_lines(caplog, 8)
    assert len(lines) == 8
    assert all("outcome=completed" in line for line in lines), lines
    assert not any("disconnected" in line for line in lines)
    assert sum("stream=False status=200" in line and "tokens=7+3" in line for line in lines) == 5
    assert sum("stream=True status=200" in line and "tokens=4+2" in line for line in lines) == 3


def test_a_client_that_leaves_mid_stream_is_logged_as_disconnected(
    relay_url: str,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="cloche.relay")
    never = threading.Event()
    stream = Stream([*openai_events(FIRST, done=False), never, *openai_events()])
    upstreams[0].then(stream)
    with (
        httpx.Client(timeout=WAIT) as client,
        client.stream(
            "POST", f"{relay_url}/v1/chat/completions", json={**HELLO, "stream": True}
        ) as response,
    ):
        for line in response.iter_lines():
            if "first" in line:
                break
    assert stream.cancelled.wait(WAIT)
    never.set()
    [line] = relay_lines(caplog, 1)
    assert "stream=True status=200 outcome=client-disconnected" in line


def test_a_client_that_leaves_before_a_plain_answer_is_logged_as_disconnected(
    relay_url: str,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="cloche.relay")
    upstreams[0].then(Reply(openai_completion(), delay=3.0))
    with httpx.Client(timeout=0.5) as client, pytest.raises(httpx.ReadTimeout):
        client.post(f"{relay_url}/v1/chat/completions", json=HELLO)
    [line] = relay_lines(caplog, 1)
    assert "stream=False status=0 outcome=client-disconnected" in line


def test_refusals_and_failures_are_logged_with_their_outcome(
    start_relay: StartRelay,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="cloche.relay")
    url = start_relay(limits=Limits(requests_per_minute=1))
    upstreams[0].then(Reply({"error": {"message": "down"}}, status=500))
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        assert client.post("/v1/chat/completions", json=HELLO).status_code == 502
        assert (
            client.post("/v1/chat/completions", json={**HELLO, "model": "x\n"}).status_code == 404
        )
        assert client.post("/v1/chat/completions", json=HELLO).status_code == 429
    # Each line is written when its request has ended, which may come after the next request's
    # own line: they are told apart by their status, not by their order.
    by_status = {line.split(" status=")[1].split()[0]: line for line in relay_lines(caplog, 3)}
    failed, unknown, limited = by_status["502"], by_status["404"], by_status["429"]
    assert "model=gpt provider=fake-openai stream=False status=502 outcome=failed" in failed
    # An alias the server does not know is not written out: the client chose its text.
    assert "model=- provider=- stream=False status=404 outcome=refused" in unknown
    assert "model=gpt provider=fake-openai stream=False status=429 outcome=refused" in limited
