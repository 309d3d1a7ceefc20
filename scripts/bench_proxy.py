#!/usr/bin/env python3
"""Benchmark rows for the fetch proxy (`POST /proxy`), against one upstream in the same run.

  - added latency, p50 and p99, of a GET of a small body (1 KiB) and of a large one (1 MiB): the
    request through `cloche serve`'s proxy minus the same request sent straight to the upstream,
    interleaved so both see the same machine state. The proxy's answer is JSON with the body in
    base64, so the large row includes that encoding;
  - fetches a second with 16 at once through the proxy (its default concurrency cap).

Everything runs on 127.0.0.1: the upstream (uvicorn) and `cloche serve --fetch-allow` each in a
process of their own, the clients in this one. Every process is stopped at the end.

    .venv/bin/python scripts/bench_proxy.py [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TARGET_ADDED_P50_MS = 5.0
SIZES = {"1 KiB": 1024, "1 MiB": 1024 * 1024}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_upstream(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def body(request: Request) -> Response:
        return Response(b"x" * int(request.path_params["size"]), media_type="text/plain")

    app = Starlette(routes=[Route("/bytes/{size:int}", body)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def wait_for(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(app: str, upstream: str, requests: int) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for label, size in SIZES.items():
            url = f"{upstream}/bytes/{size}"
            body = {"url": url, "method": "GET", "headers": [], "body": None, "allow": [upstream]}
            direct: list[float] = []
            proxied: list[float] = []
            for _ in range(requests):
                started = time.perf_counter()
                assert (await client.get(url)).status_code == 200
                direct.append(time.perf_counter() - started)
                started = time.perf_counter()
                answer = await client.post(f"{app}/proxy", json=body)
                proxied.append(time.perf_counter() - started)
                assert answer.status_code == 200 and answer.json()["status"] == 200, answer.text
            added = [(p - d) * 1000 for p, d in zip(proxied, direct, strict=True)]
            p50 = statistics.median(added)
            target = f"< {TARGET_ADDED_P50_MS:.0f} ms" if size <= 1024 else "reported"
            rows.append((f"added latency p50, {label}", f"+{p50:.2f} ms", target))
            rows.append((f"added latency p99, {label}", f"+{quantile(added, 0.99):.2f} ms", ""))
            rows.append(
                (
                    f"straight to the upstream p50, {label}",
                    f"{statistics.median(direct) * 1000:.2f} ms",
                    "",
                )
            )

        small = {
            "url": f"{upstream}/bytes/1024",
            "method": "GET",
            "headers": [],
            "body": None,
            "allow": [upstream],
        }

        async def one() -> None:
            answer = await client.post(f"{app}/proxy", json=small)
            assert answer.status_code == 200, answer.text

        total = requests * 2
        started = time.perf_counter()
        for batch in range(0, total, 16):
            await asyncio.gather(*(one() for _ in range(min(16, total - batch))))
        rate = total / (time.perf_counter() - started)
        rows.append(("fetches a second, 16 at once, 1 KiB", f"{rate:.0f}", "reported"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    up_port, app_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    app = f"http://127.0.0.1:{app_port}"
    upstream_process = multiprocessing.Process(target=serve_upstream, args=(up_port,), daemon=True)
    upstream_process.start()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/cloche"),
            "serve",
            "--port",
            str(app_port),
            "--log-level",
            "warning",
            "--fetch-allow",
            upstream,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        asyncio.run(wait_for(f"{upstream}/bytes/1"))
        asyncio.run(wait_for(f"{app}/healthz"))
        rows = asyncio.run(measure(app, upstream, args.requests))
    finally:
        server.terminate()
        server.wait(timeout=10)
        upstream_process.terminate()
        upstream_process.join(timeout=10)
    width = max(len(row[0]) for row in rows)
    title = f"fetch proxy, {args.requests} requests each"
    print(f"{title:<{width}}  {'median':>12}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>12}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
