"""The `cloche` command: build the dist, serve it, check its lock."""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _build(args: argparse.Namespace) -> int:
    from .build import BuildError, build

    try:
        report = build(
            dist=args.dist,
            test_dist=args.test_dist,
            with_test_dist=not args.no_test_dist,
            offline=args.offline,
            pyodide_packages=args.pyodide_packages,
            pyodide_lock=args.pyodide_lock,
            extra_tool_packages=args.tool_package,
        )
    except BuildError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"cloche build: {report.summary()}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .allowed_hosts import load_allowed_hosts
    from .app import create_app
    from .dist_location import DistNotFound, default_dist
    from .fetch_proxy import load_fetch_config
    from .package_routes import open_package_sources
    from .page_policy import load_page_policy
    from .pyodide_packages import PackageSourceError
    from .relay import ConfigError, load_config

    try:
        dist = args.dist or default_dist()
        relay_config = load_config(args.config)
        page_policy = load_page_policy(args.config, args.connect_origin)
        package_sources = open_package_sources(
            dist.resolve(),
            pyodide_packages=args.pyodide_packages,
            pyodide_lock=args.pyodide_lock,
            allow_pypi=args.allow_pypi,
            pypi_index=args.pypi_index,
        )
        allowed_hosts = load_allowed_hosts(args.config, args.host, args.allowed_host)
        fetch_config = load_fetch_config(args.config, args.fetch_allow)
        local_packages = _local_packages(args.local_packages, dist)
        app = create_app(
            dist.resolve(),
            relay_config,
            page_policy,
            package_sources,
            allowed_hosts,
            fetch_config,
            local_packages,
        )
    except (FileNotFoundError, ConfigError, PackageSourceError, DistNotFound) as error:
        print(f"cloche serve: {error}", file=sys.stderr)
        return 1
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Cloche is serving {dist} at http://{host}:{args.port}/", flush=True)
    print(relay_config.describe(), flush=True)
    print(package_sources.describe(), flush=True)
    if page_policy.connect_origins:
        print(f"The page may also connect to {', '.join(page_policy.connect_origins)}", flush=True)
    print(allowed_hosts.describe(), flush=True)
    print(fetch_config.describe(), flush=True)
    if local_packages:
        print(f"Packages kept beside the dist: {local_packages} at /local-packages/", flush=True)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=_log_config(args.log_level),
    )
    return 0


LOCAL_PACKAGES_DIR = "local-packages"


def _local_packages(given: Path | None, dist: Path) -> Path | None:
    """The folder of packages kept beside the dist: the one given (which must exist), else
    `local-packages/` next to the dist when there is one."""
    if given is not None:
        if not given.is_dir():
            raise FileNotFoundError(
                f"--local-packages {given} is not a folder: make it, and put packages there "
                "(a WASM package's folder with its manifest and module, or wheels)"
            )
        return given.resolve()
    beside = dist.resolve().parent / LOCAL_PACKAGES_DIR
    return beside if beside.is_dir() else None


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging set-up, plus the relay's request lines (`cloche.*`) on the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["cloche"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def _check_lock(args: argparse.Namespace) -> int:
    from .dist_location import DistNotFound, default_dist
    from .pyodide_lock_file import check_lock

    try:
        dist = args.dist or default_dist()
    except DistNotFound as error:
        print(f"cloche check-lock: {error}", file=sys.stderr)
        return 1
    problems = check_lock(dist)
    for problem in problems:
        print(f"{dist / 'pyodide-lock.json'}: {problem}", file=sys.stderr)
    print(f"cloche check-lock: {dist}: {len(problems)} problems")
    return 1 if problems else 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="cloche", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="assemble dist/ (and the test dist) incrementally")
    build.add_argument("--dist", type=Path, help="output folder (default: dist/ of the checkout)")
    build.add_argument("--test-dist", type=Path, help="test dist folder (default: build/test-dist)")
    build.add_argument("--no-test-dist", action="store_true", help="skip the test dist")
    build.add_argument("--offline", action="store_true", help="fail instead of downloading")
    build.add_argument(
        "--pyodide-packages",
        metavar="DIR|URL",
        help="where Pyodide's own packages (numpy, ...) that tools need are fetched from: a folder "
        "or a mirror URL (default: [tool.cloche.dist] pyodide-packages, else the official "
        "release for the pinned Pyodide version)",
    )
    build.add_argument(
        "--pyodide-lock",
        type=Path,
        metavar="FILE",
        help="a Pyodide lock listing those packages, instead of npm pyodide's own (for mirrors; "
        "default: [tool.cloche.dist] pyodide-lock)",
    )
    build.add_argument(
        "--tool-package",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also build this tool package (a folder with pyproject.toml) into the dists, besides "
        "tool_packages/python/* (repeatable)",
    )
    build.set_defaults(run=_build)

    serve = commands.add_parser("serve", help="serve the built dist")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another host name this server answers to, like app.example.org (repeatable; added "
        "to [server] allowed_hosts of --config; localhost, IP addresses and --host always are)",
    )
    serve.add_argument(
        "--dist",
        type=Path,
        help="folder to serve (default: dist/ of the checkout, else the dist packaged in the "
        "installed wheel)",
    )
    serve.add_argument("--log-level", default="info", help="uvicorn's log level (default info)")
    serve.add_argument(
        "--local-packages",
        type=Path,
        metavar="DIR",
        help="a folder of packages kept beside the dist, which `cloche build` never touches, "
        "served at /local-packages/ (default: local-packages/ next to the dist, if there is one)",
    )
    serve.add_argument(
        "--config",
        type=Path,
        help="model relay TOML (default: OPENAI_API_KEY / ANTHROPIC_API_KEY if set; docs/relay.md)",
    )
    serve.add_argument(
        "--connect-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="another origin the page may connect to, like https://api.example.org (repeatable; "
        "added to [page] connect_origins of --config)",
    )
    serve.add_argument(
        "--fetch-allow",
        action="append",
        default=[],
        metavar="PATTERN",
        help="an origin pattern the fetch proxy (/proxy) may reach for packages the user granted "
        "network, like https://api.example.org, https://*.example.org or https://* (repeatable; "
        "added to [fetch] allow of --config; default none: the proxy is off). Only an exact "
        "origin, no wildcard, may be a private address",
    )
    serve.add_argument(
        "--pyodide-packages",
        metavar="DIR|URL",
        help="where this server fetches Pyodide's packages (numpy, ...) that a page asks for at "
        "run time: a folder or a mirror URL (default: as for `cloche build`, else the official "
        "release for the dist's Pyodide version)",
    )
    serve.add_argument(
        "--pyodide-lock",
        type=Path,
        metavar="FILE",
        help="a Pyodide lock naming those packages, instead of npm pyodide's own (for mirrors)",
    )
    serve.add_argument(
        "--allow-pypi",
        action="store_true",
        help="let pages install pure-Python wheels from PyPI at run time, fetched by this server "
        "and checked against PyPI's sha256 (off by default)",
    )
    serve.add_argument(
        "--pypi-index",
        default="https://pypi.org",
        metavar="URL",
        help="the PyPI-compatible index (JSON API) for --allow-pypi (default https://pypi.org)",
    )
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check-lock", help="check every lock entry against its file")
    check.add_argument("--dist", type=Path, help="folder to check (default: as for serve)")
    check.set_defaults(run=_check_lock)

    from .wasm_cli import add_wasm_command

    add_wasm_command(commands)

    from .mcp.command import add_mcp_command

    add_mcp_command(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
