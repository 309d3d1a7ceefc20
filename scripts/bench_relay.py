#!/usr/bin/env python3
"""Benchmark rows for the model relay, measured against the same fake upstream in the same run.

  - added latency, p50 and p99: a plain chat request through the relay minus the same request
    sent straight to the upstream (requests interleaved, so both see the same machine state);
  - added time to first token, p50 and p99, the same way for streamed requests;
  - concurrent streams held: N streams open through the relay at once, all completing cleanly;
  - added latency right after a burst: the latency rows again, measured at once after a burst of
    B concurrent streams, beside the same rows from the fresh relay (a relay that kept every
    connection of a burst idle in its pool was ~10x slower per request until they expired).

The fake upstream keeps idle connections open for 60 s, as hosted providers do (uvicorn's default
of 5 s would close a burst's connections for the relay and hide what it keeps).

Everything runs on 127.0.0.1: the fake upstream and the relay each in a process of their own, the
clients in this one. Loops are bounded and every process is stopped at the end.

    .venv/bin/python scripts/bench_relay.py [--requests 400] [--streams 200] [--burst 300]
                                            [--strict]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rows import Row, format_table, percentile

SECTION = "Model relay (fake upstream on 127.0.0.1)"
TARGET_ADDED_P50_MS = 2.0
TARGET_STREAMS = 200
BURST_STREAMS = 300
UPSTREAM_KEEP_ALIVE = 60.0  # seconds an idle connection stays open at the fake upstream
CHAT = {"model": "bench", "messages": [{"role": "user", "content": "Say something short."}]}
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "upstream",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the bench."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14},
    }
).encode()


def _chunk(content: str | None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    data = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "upstream",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(data).encode() + b"\n\n"


class FakeUpstream:
    """A bare ASGI OpenAI-compatible upstream; `bench_hold` in the body stretches a stream."""

    def __init__(self) -> None:
        self.open_streams = 0
        self.peak_streams = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["path"] == "/stats":
            stats = json.dumps({"peak_streams": self.peak_streams}).encode()
            self.peak_streams = 0
            await self._send(send, stats, b"application/json")
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body)
        if not request.get("stream"):
            await self._send(send, COMPLETION, b"application/json")
            return
        hold = float(request.get("bench_hold", 0))
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        self.open_streams += 1
        self.peak_streams = max(self.peak_streams, self.open_streams)
        try:
            parts = [_chunk("Hello"), *[_chunk(" more") for _ in range(4)], _chunk(None, "stop")]
            for index, part in enumerate(parts):
                if index:
                    await asyncio.sleep(hold / len(parts) if hold else 0.002)
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
        finally:
            self.open_streams -= 1

    @staticmethod
    async def _send(send: Any, body: bytes, media_type: bytes) -> None:
        headers = [(b"content-type", media_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _relay_app(upstream_url: str, dist: str, max_concurrent: int) -> Any:
    from cloche_server.app import create_app
    from cloche_server.relay.config import Limits, ModelRoute, Provider, RelayConfig

    limits = Limits(
        requests_per_minute=1_000_000, tokens_per_minute=10**12, max_concurrent=max_concurrent
    )
    provider = Provider("bench", "openai", upstream_url, "sk-bench-not-a-real-key")
    route = ModelRoute("bench", provider, "upstream", limits.max_tokens)
    return create_app(Path(dist), RelayConfig(models={"bench": route}, limits=limits))


def _serve(make_app: Callable[..., Any], args: tuple[Any, ...], conn: Connection) -> None:
    import uvicorn

    async def main() -> None:
        config = uvicorn.Config(
            make_app(*args),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            access_log=False,
            backlog=2048,
            timeout_graceful_shutdown=2,
            timeout_keep_alive=int(UPSTREAM_KEEP_ALIVE),
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                return
            await asyncio.sleep(0.01)
        conn.send(server.servers[0].sockets[0].getsockname()[1])
        await task

    asyncio.run(main())


class Process:
    def __init__(self, make_app: Callable[..., Any], *args: Any) -> None:
        here, there = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_serve, args=(make_app, args, there))
        self.process.start()
        if not here.poll(30):
            self.stop()
            raise RuntimeError("a bench server did not start within 30 s")
        self.url = f"http://127.0.0.1:{here.recv()}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _fake_upstream() -> FakeUpstream:
    return FakeUpstream()


def cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time of a process (Linux /proc), or -1 where that is unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_latency(
    direct: str, relay: str, count: int, relay_pid: int | None = None
) -> tuple[dict[str, list[float]], float]:
    """Times of interleaved plain requests, and the relay's CPU ms per request (-1: unknown)."""
    times: dict[str, list[float]] = {"direct": [], "relay": []}
    cpu_before = cpu_seconds(relay_pid)
    with httpx.Client(timeout=30) as client:
        for index in range(count + count // 10):
            for name, base in (("direct", direct), ("relay", relay)):
                started = time.perf_counter()
                response = client.post(f"{base}/chat/completions", json=CHAT)
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                if index >= count // 10:  # the first tenth warms connections up
                    times[name].append(elapsed * 1000)
    cpu_after = cpu_seconds(relay_pid)
    if min(cpu_before, cpu_after) < 0:
        return times, -1.0
    return times, 1000 * (cpu_after - cpu_before) / (count + count // 10)


def measure_first_token(direct: str, relay: str, count: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"direct": [], "relay": []}
    with httpx.Client(timeout=30) as client:
        for index in range(count + count // 10):
            for name, base in (("direct", direct), ("relay", relay)):
                started = time.perf_counter()
                first = None
                body = {**CHAT, "stream": True}
                with client.stream("POST", f"{base}/chat/completions", json=body) as response:
                    response.raise_for_status()
                    for line in response.iter_lines():
                        if first is None and '"content"' in line:
                            first = time.perf_counter() - started
                if first is not None and index >= count // 10:
                    times[name].append(first * 1000)
    return times


async def hold_streams(relay: str, count: int, hold: float) -> tuple[int, list[str]]:
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
    errors: list[str] = []
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one() -> bool:
            body = {**CHAT, "stream": True, "bench_hold": hold}
            try:
                async with client.stream(
                    "POST", f"{relay}/chat/completions", json=body
                ) as response:
                    text = (await response.aread()).decode()
            except httpx.HTTPError as error:
                errors.append(type(error).__name__)
                return False
            if response.status_code != 200 or not text.endswith("data: [DONE]\n\n"):
                errors.append(f"HTTP {response.status_code}")
                return False
            if '"error"' in text:
                errors.append("error event")
                return False
            return True

        results = await asyncio.gather(*(one() for _ in range(count)))
    return sum(results), errors


def measure(
    requests: int = 400,
    streams: int = TARGET_STREAMS,
    hold: float = 3.0,
    burst: int = BURST_STREAMS,
) -> list[Row]:
    """The relay's rows: each added figure is the relay minus the upstream called directly, with
    requests interleaved in this one run."""
    with tempfile.TemporaryDirectory() as dist:
        (Path(dist) / "index.html").write_text("<!doctype html><title>bench</title>")
        upstream = Process(_fake_upstream)
        relay = None
        try:
            room = max(streams, burst) + 56
            relay = Process(_relay_app, upstream.url + "/v1", dist, room)
            direct_v1, relay_v1 = upstream.url + "/v1", relay.url + "/v1"
            latency, cpu_fresh = measure_latency(direct_v1, relay_v1, requests, relay.process.pid)
            first = measure_first_token(direct_v1, relay_v1, max(50, requests // 2))
            held, errors = asyncio.run(hold_streams(relay_v1, streams, hold))
            peak = httpx.get(upstream.url + "/stats").json()["peak_streams"]
            burst_held, burst_errors = asyncio.run(hold_streams(relay_v1, burst, hold))
            burst_peak = httpx.get(upstream.url + "/stats").json()["peak_streams"]
            after_burst, cpu_after = measure_latency(
                direct_v1, relay_v1, requests, relay.process.pid
            )
        finally:
            if relay is not None:
                relay.stop()
            upstream.stop()

    rows = []
    after = f"after a burst of {burst} streams"
    for label, samples, target in (
        ("added latency, plain chat request", latency, TARGET_ADDED_P50_MS),
        ("added time to first token, streamed", first, None),
        (f"added latency, {after}", after_burst, TARGET_ADDED_P50_MS),
    ):
        direct, relayed = samples["direct"], samples["relay"]
        added = percentile(relayed, 0.5) - percentile(direct, 0.5)
        added_p99 = percentile(relayed, 0.99) - percentile(direct, 0.99)
        note = (
            f"{len(relayed)} requests a path, interleaved; direct p50 {percentile(direct, 0.5):.2f}"
            f" ms, via relay {percentile(relayed, 0.5):.2f} ms"
        )
        rows.append(
            Row(
                SECTION,
                label,
                f"{added:+.2f} ms",
                f"{added_p99:+.2f} ms",
                note=note,
                target=f"p50 <= {target} ms" if target else "",
                met=added <= target if target else None,
            )
        )
    if min(cpu_fresh, cpu_after) >= 0:
        rows.append(
            Row(SECTION, "relay process CPU a request", f"{cpu_fresh:.2f} ms",
                note=f"{cpu_after:.2f} ms {after}")
        )  # fmt: skip
    for label, count_held, wanted, top, failures in (
        ("concurrent streams held", held, streams, peak, errors),
        (f"burst of {burst} streams served", burst_held, burst, burst_peak, burst_errors),
    ):
        status = "no errors" if not failures else f"errors: {sorted(set(failures))}"
        ok = count_held == wanted and top >= wanted and not failures
        rows.append(
            Row(SECTION, label, f"{count_held} of {wanted}",
                note=f"{top} open at once at the upstream, each {hold:g} s; {status}",
                target=f"all {wanted}", met=ok)
        )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per path (400)")
    parser.add_argument("--streams", type=int, default=TARGET_STREAMS, help="concurrent streams")
    parser.add_argument("--hold", type=float, default=3.0, help="seconds each stream stays open")
    parser.add_argument(
        "--burst", type=int, default=BURST_STREAMS, help="streams in the burst before the last rows"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    rows = measure(args.requests, args.streams, args.hold, args.burst)
    print(format_table(rows, "Model relay against a fake upstream on 127.0.0.1"))
    missed = any(row.met is False for row in rows)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
