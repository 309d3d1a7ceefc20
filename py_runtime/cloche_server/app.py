"""The Starlette app: the built dist as static files, with the headers isolation needs (and the
page's Content-Security-Policy), the model relay under /v1, run-time packages under /packages,
the fetch proxy at /proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloche import __version__

from .allowed_hosts import AllowedHosts, AllowedHostsMiddleware
from .fetch_proxy import FetchConfig, FetchProxy
from .package_routes import PackageRoutes, PackageSources
from .page_policy import PagePolicy
from .relay import Relay, RelayConfig
from .static import DistFiles
from .worker_policy import WorkerPolicyMiddleware, dist_wheels

# Where the folder of packages kept beside the dist is served (local_packages).
LOCAL_PACKAGES_PATH = "/local-packages"

# Cross-origin isolation (COOP + COEP) lets the page and its workers use SharedArrayBuffer, which
# Pyodide's interrupt buffer needs to stop a busy tool.
SECURITY_HEADERS = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-embedder-policy", b"require-corp"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]


class SecurityHeadersMiddleware:
    """Adds `headers` (by default SECURITY_HEADERS) to every response that does not set them."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.app = app
        self.headers = SECURITY_HEADERS if headers is None else headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "cloche": __version__})


def create_app(
    dist: Path,
    relay_config: RelayConfig | None = None,
    page_policy: PagePolicy | None = None,
    package_sources: PackageSources | None = None,
    allowed_hosts: AllowedHosts | None = None,
    fetch_config: FetchConfig | None = None,
    local_packages: Path | None = None,
) -> Starlette:
    """The app; without `relay_config` the relay lists no models and answers chat with 503;
    without `page_policy` the page may connect to its own origin only; without
    `package_sources` there are no /packages routes (only the dist's own packages install);
    without `allowed_hosts` it answers requests for localhost and IP addresses only; without
    `fetch_config` the fetch proxy is off; with `local_packages`, that folder (packages kept beside
    the dist, which the build never touches) is served at /local-packages/."""
    if not (dist / "index.html").is_file():
        raise FileNotFoundError(f"{dist} holds no built app: run `cloche build` first")
    relay = Relay(relay_config)
    packages = PackageRoutes(package_sources) if package_sources else None
    # The proxy takes the relay's bearer tokens and its other allowed origins, if any.
    fetch_proxy = FetchProxy(
        fetch_config, check_client=relay.check_token, page_origins=relay.config.cors_origins
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with relay.running() as client, fetch_proxy.running():
            app.state.relay = relay
            app.state.upstream_client = client
            if packages is None:
                yield
                return
            async with packages.running():
                yield

    # No compression middleware anywhere: static files are precompressed at build time, and
    # /v1 streams must reach the client chunk by chunk.
    # The CSP goes on every response, not only on HTML; worker scripts get a stricter one of their
    # own (worker_policy.py), since a worker's policy comes from its own script's response.
    headers = [*SECURITY_HEADERS, *(page_policy or PagePolicy()).headers()]
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            relay.route(),
            fetch_proxy.route(),
            *([Mount("/packages", routes=packages.routes)] if packages else []),
            *(
                [Mount(LOCAL_PACKAGES_PATH, DistFiles(directory=local_packages))]
                if local_packages
                else []
            ),
            Mount("/", DistFiles(directory=dist, html=True)),
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware, headers=headers),
            # Before anything answers: a Host that is not this server's own is DNS rebinding.
            Middleware(AllowedHostsMiddleware, hosts=allowed_hosts or AllowedHosts()),
            Middleware(WorkerPolicyMiddleware, wheels=dist_wheels(dist)),
        ],
        lifespan=lifespan,
    )
