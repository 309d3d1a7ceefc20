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
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rows import Row, format_table, percentile

ROOT = Path(__file__).resolve().parents[1]
SECTION = "Fetch proxy (POST /proxy, upstream on 127.0.0.1)"
TARGET_ADDED_P50_MS = 5.0
SIZES = {"1 KiB": 1024, "1 MiB": 1024 * 1024}


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


async def _measure(app: str, upstream: str, requests: int) -> list[Row]:
    rows: list[Row] = []
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
            is_small = size <= 1024
            rows.append(
                Row(
                    SECTION,
                    f"added latency, GET of {label}",
                    f"{p50:+.2f} ms",
                    f"{percentile(added, 0.99):+.2f} ms",
                    note=f"{requests} pairs, interleaved; straight to the upstream p50 "
                    f"{statistics.median(direct) * 1000:.2f} ms"
                    + ("" if is_small else "; the answer carries the body in base64"),
                    target=f"p50 < {TARGET_ADDED_P50_MS:.0f} ms" if is_small else "",
                    met=p50 < TARGET_ADDED_P50_MS if is_small else None,
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
        rows.append(
            Row(SECTION, "fetches a second, 16 at once", f"{rate:,.0f}/s",
                note=f"{total} fetches of 1 KiB; 16 is the proxy's default concurrency cap")
        )  # fmt: skip
    return rows


def measure(requests: int = 300) -> list[Row]:
    """The proxy's rows, against an upstream and a `cloche serve --fetch-allow` of their own."""
    from bench_browser import free_port

    up_port, app_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    app = f"http://127.0.0.1:{app_port}"
    upstream_process = multiprocessing.Process(target=serve_upstream, args=(up_port,), daemon=True)
    upstream_process.start()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cloche_server.cli",
            "serve",
            "--port",
            str(app_port),
            "--log-level",
            "warning",
            "--fetch-allow",
            upstream,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        asyncio.run(wait_for(f"{upstream}/bytes/1"))
        asyncio.run(wait_for(f"{app}/healthz"))
        return asyncio.run(_measure(app, upstream, requests))
    finally:
        server.terminate()
        server.wait(timeout=10)
        upstream_process.terminate()
        upstream_process.join(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    print(format_table(measure(args.requests), f"fetch proxy, {args.requests} requests each"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
