"""`cloche mcp`: serve the dist's tools to any MCP client, over stdio or Streamable HTTP."""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import sys
from pathlib import Path
from typing import Any

TOKEN_ENV = "CLOCHE_MCP_TOKEN"
DEFAULT_HTTP_HOST = "127.0.0.1"


def _listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(
            f"expected [HOST:]PORT like 8765 or 127.0.0.1:8765, got {text!r}"
        )
    return (host.strip("[]") or DEFAULT_HTTP_HOST), int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tokens(args: argparse.Namespace) -> tuple[tuple[str, ...], str | None]:
    """The bearer tokens the HTTP server accepts, and a note for stderr when one was made up."""
    if args.no_token:
        return (), None
    tokens: list[str] = []
    if args.token_file is not None:
        lines = args.token_file.read_text(encoding="utf-8").splitlines()
        tokens += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        if not tokens:
            raise ValueError(f"--token-file {args.token_file} holds no token (one per line)")
    if os.environ.get(TOKEN_ENV):
        tokens.append(os.environ[TOKEN_ENV])
    if tokens:
        return tuple(tokens), None
    made = secrets.token_urlsafe(32)
    return (made,), made


def _run(args: argparse.Namespace) -> int:
    from ..allowed_hosts import allowed_hosts, check_host_name
    from ..cli import _local_packages
    from ..dist_location import DistNotFound, default_dist
    from ..relay.config import ConfigError
    from .catalog import CatalogError
    from .pyodide_process import deno_binary
    from .service import McpService

    try:
        dist = (args.dist or default_dist()).resolve()
        service = McpService(
            dist,
            packages_folder=_local_packages(args.packages, dist),
            only=frozenset(args.only) if args.only else None,
            grants=args.grant,
            default_deadline_ms=args.call_timeout,
        )
        if service.catalog.python:
            deno_binary()  # fails now, with what to install, rather than at the first call
    except (CatalogError, DistNotFound, FileNotFoundError, ValueError) as error:
        print(f"cloche mcp: {error}", file=sys.stderr)
        return 1
    if args.http is None:
        from .stdio import run_stdio

        return run_stdio(service)

    from .http import HttpLimits, HttpSecurity, McpHttpApp, serve

    host, port = args.http
    if args.no_token and not _is_loopback(host):
        print("cloche mcp: --no-token is only allowed on a loopback address", file=sys.stderr)
        return 1
    try:
        tokens, made = _tokens(args)
        names = [check_host_name(name, "--allowed-host") for name in args.allowed_host]
    except (OSError, ValueError, ConfigError) as error:
        print(f"cloche mcp: {error}", file=sys.stderr)
        return 1
    security = HttpSecurity(
        hosts=allowed_hosts(host, names), origins=frozenset(args.allowed_origin), tokens=tokens
    )
    limits = HttpLimits(
        max_body_bytes=args.max_body_bytes,
        requests_per_minute=args.requests_per_minute,
        max_sessions=args.max_sessions,
        idle_seconds=args.session_idle,
    )
    app = McpHttpApp(service, security, limits)
    shown = f"[{host}]" if ":" in host else host
    print(service.describe(), file=sys.stderr)
    print(f"cloche mcp: MCP over Streamable HTTP at http://{shown}:{port}/mcp", file=sys.stderr)
    if made is not None:
        print(
            f"cloche mcp: clients must send `Authorization: Bearer {made}` (a token made for "
            f"this run; set {TOKEN_ENV} or --token-file to choose one)",
            file=sys.stderr,
        )
    print(security.hosts.describe(), file=sys.stderr, flush=True)
    serve(app, host, port, args.log_level)
    return 0


def add_mcp_command(commands: Any) -> None:
    """Add `mcp` to the `cloche` command's subparsers."""
    mcp = commands.add_parser(
        "mcp",
        help="serve the dist's tools to MCP clients (Claude, Cursor, VS Code...) over stdio or "
        "Streamable HTTP; docs/mcp.md",
        description="Serve the dist's tools over MCP: WASM tools in-process under wasmtime, Python "
        "tools in Pyodide inside Deno with no permissions beyond reading the dist.",
    )
    mcp.add_argument(
        "--dist",
        type=Path,
        help="the dist whose packages to serve (default: dist/ of the checkout, else the one in "
        "the installed wheel)",
    )
    mcp.add_argument(
        "--packages",
        type=Path,
        metavar="DIR",
        help="also serve the WASM packages in this folder (one folder each, with manifest.json "
        "and module), watched for changes (default: local-packages/ next to the dist, if any)",
    )
    mcp.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="serve only these packages (repeatable; default: every package of the dist)",
    )
    mcp.add_argument(
        "--grant",
        action="append",
        default=[],
        metavar="PACKAGE[=HOST,...]",
        help="let this Python package (name or namespace) reach the exact hosts it declares, or "
        "the hosts named here, each within what it declares, like web=api.example.org "
        "(repeatable; default: no package reaches the network)",
    )
    mcp.add_argument(
        "--call-timeout",
        type=int,
        default=30_000,
        metavar="MS",
        help="the deadline of a Python tool call when its tool declares none (default 30000, as "
        "in the page); a call past it ends its process, and a fresh one takes over",
    )
    mcp.add_argument(
        "--http",
        type=_listen_address,
        metavar="[HOST:]PORT",
        help=f"serve Streamable HTTP at /mcp instead of stdio (host default {DEFAULT_HTTP_HOST})",
    )
    mcp.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another host name clients reach this server by (repeatable; localhost, IP "
        "addresses and the listening host always are)",
    )
    mcp.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin whose pages may call this server, like http://localhost:6274 "
        "(repeatable; default none: requests with an Origin header are refused)",
    )
    mcp.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=f"bearer tokens clients must send, one per line (also ${TOKEN_ENV}; default: one "
        "is made at start and printed on stderr)",
    )
    mcp.add_argument(
        "--no-token",
        action="store_true",
        help="accept requests without a token (only on a loopback address)",
    )
    mcp.add_argument("--max-sessions", type=int, default=16, help="default 16")
    mcp.add_argument(
        "--session-idle",
        type=float,
        default=1800.0,
        metavar="SECONDS",
        help="end a session idle this long (default 1800)",
    )
    mcp.add_argument("--max-body-bytes", type=int, default=4 * 1024 * 1024, help="default 4 MiB")
    mcp.add_argument(
        "--requests-per-minute", type=int, default=600, help="per client (default 600)"
    )
    mcp.add_argument("--log-level", default="warning", help="uvicorn's log level (default warning)")
    mcp.set_defaults(run=_run)
