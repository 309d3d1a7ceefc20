"""The Content-Security-Policy of the tool workers, stricter than the page's.

A worker's policy comes from its own script's response, and it binds everything that runs in the
worker, tool code included, for the worker's whole life. So the worker scripts (`/workers/...`)
get a policy that allows only what booting a runtime needs, by path:

- scripts: the worker modules, the Pyodide core and the vendored WASI shim, plus compiling
  WebAssembly (`'wasm-unsafe-eval'`, which allows no JavaScript eval);
- connections: the Pyodide core files, the build facts and lock, the dist's own wheels, and the
  WASM packages under `/wasm/` and `/local-packages/` (packages kept beside the dist). Never
  `/v1` (the relay, with the operator's keys), never another origin, not even those the operator
  lets the page reach;
- nothing else: no nested workers, no frames, fonts, images or media.

A CSP source with a path needs a host, and `'self'` takes no path, so the policy names the host the
browser asked for (its `Host` header, checked). The worker's JavaScript closes the rest (storage,
BroadcastChannel, its own loaders) before tool code runs: web/workers/lockdown.js.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WORKER_PREFIX = "/workers/"
# What a Host header may hold to be written into the policy: a DNS name or IPv4 address, or an
# IPv6 literal in brackets, and a port. Nothing that could end a source or a directive.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)
SCRIPT_PATHS = ("/workers/", "/pyodide/", "/vendor/")
CONNECT_PATHS = (
    "/pyodide/",
    "/build-info.json",
    "/pyodide-lock.json",
    "/wasm/",
    "/local-packages/",
)


def dist_wheels(dist: Path) -> list[str]:
    """The wheels at the dist's root, which Pyodide loads by name from the lock at boot."""
    return sorted(f"/{path.name}" for path in dist.glob("*.whl"))


def worker_content_security_policy(host: str | None, wheels: Iterable[str]) -> str:
    """The workers' policy for a page served as `host`; an unusable host allows no sources."""
    if host is None or not _HOST.fullmatch(host):
        scripts = connects = "'none'"
    else:
        scripts = " ".join(f"{host}{path}" for path in SCRIPT_PATHS)
        connects = " ".join(f"{host}{path}" for path in (*CONNECT_PATHS, *wheels))
    directives = [
        "default-src 'none'",
        f"script-src {scripts} 'wasm-unsafe-eval'",
        f"connect-src {connects}",
        "worker-src 'none'",
        "base-uri 'none'",
    ]
    return "; ".join(directives)


class WorkerPolicyMiddleware:
    """Puts the workers' policy on responses under /workers/ (before the page's is added)."""

    def __init__(self, app: ASGIApp, wheels: Iterable[str]) -> None:
        self.app = app
        self.wheels = tuple(wheels)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(WORKER_PREFIX):
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        policy = worker_content_security_policy(host, self.wheels).encode("ascii")

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"content-security-policy"
                ]
                message["headers"] = [*headers, (b"content-security-policy", policy)]
            await send(message)

        await self.app(scope, receive, send_with_policy)
