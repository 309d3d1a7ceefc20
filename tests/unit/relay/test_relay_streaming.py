"""Streams pass through as they arrive, and a client that goes away stops the upstream."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
from relay_fakes import (
    WAIT,
    FakeUpstream,
    Stream,
    anthropic_events,
    openai_events,
)

FIRST = {"choices": [{"index": 0, "delta": {"content": "first"}, "finish_reason": None}]}
LAST = {"choices": [{"index": 0, "delta": {"content": "last"}, "finish_reason": "stop"}]}
CHAT = {"messages": [{"role": "user", "content": "hi"}], "stream": True}


def gated_stream(kind: str, gate: threading.Event) -> Stream:
    if kind == "gpt":
        first, rest = openai_events(FIRST, done=False), openai_events(LAST)
    else:
        start = {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 1}}}
        delta = {"type": "content_block_delta", "index": 0}
        first = anthropic_events(start, {**delta, "delta": {"type": "text_delta", "text": "first"}})
        rest = anthropic_events(
            {**delta, "delta": {"type": "text_delta", "text": "last"}},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
            {"type": "message_stop"},
        )
    return Stream([*first, gate, *rest])


def data_lines(response: httpx.Response) -> list[str]:
    return [line for line in response.iter_lines() if line.startswith("data: ")]


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_first_chunk_reaches_the_client_before_the_upstream_finishes(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], model: str
) -> None:
    fake = upstreams[0] if model == "gpt" else upstreams[1]
    gate = threading.Event()
    stream = gated_stream(model, gate)
    fake.then(stream)

    with (
        httpx.Client(timeout=WAIT) as client,
        client.stream(
            "POST", f"{relay_url}/v1/chat/completions", json={**CHAT, "model": model}
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers
        lines = response.iter_lines()
        contents = []
        for line in lines:
            if line.startswith("data: "):
                delta = json.loads(line[6:])["choices"][0]["delta"]
                if delta.get("content"):
                    contents.append(delta["content"])
                    break
        # The upstream is still held at the gate: this chunk was not buffered until its end.
        assert contents == ["first"]
        assert not stream.finished.is_set()
        gate.set()
        rest = [line for line in lines if line.startswith("data: ")]
    assert rest[-1] == "data: [DONE]"
    assert json.loads(rest[-2][6:])["choices"][0]["finish_reason"] == "stop"
    assert stream.finished.wait(WAIT)


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_a_client_that_disconnects_cancels_the_upstream_request(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream], model: str
) -> None:
    fake = upstreams[0] if model == "gpt" else upstreams[1]
    never = threading.Event()  # the upstream would wait WAIT seconds unless cancelled
    stream = gated_stream(model, never)
    fake.then(stream)

    with (
        httpx.Client(timeout=WAIT) as client,
        client.stream(
            "POST", f"{relay_url}/v1/chat/completions", json={**CHAT, "model": model}
        ) as response,
    ):
        for line in response.iter_lines():
            if "first" in line:
                break
    # Leaving the block closed the client's connection mid-stream.
    assert stream.cancelled.wait(WAIT), "the upstream request was still running"
    assert not stream.finished.is_set()
    never.set()


def test_a_client_that_disconnects_before_a_plain_answer_cancels_the_upstream(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    fake, _ = upstreams
    never = threading.Event()
    # A plain (non-streaming) request whose upstream takes its time to answer.
    stream = Stream([never, b"{}"])
    fake.then(stream)
    body = json.dumps({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]})
    host, port = relay_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=WAIT) as connection:
        connection.sendall(
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
        )
        deadline = time.monotonic() + WAIT
        while not fake.seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fake.seen, "the request never reached the upstream"
    # The client hung up while the upstream was still working on the answer.
    assert stream.cancelled.wait(WAIT), "the upstream request was still running"
    never.set()


def test_many_streams_at_once_all_complete(
    relay_url: str, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    fake, _ = upstreams
    fake.fallback = lambda body: Stream([*openai_events(FIRST), 0.05])
    results: list[int] = []

    def one() -> None:
        with httpx.Client(timeout=WAIT) as client:
            response = client.post(
                f"{relay_url}/v1/chat/completions", json={**CHAT, "model": "gpt"}
            )
            ok = response.status_code == 200 and response.text.endswith("data: [DONE]\n\n")
            results.append(200 if ok else response.status_code)

    threads = [threading.Thread(target=one) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert results == [200] * 40
