"""Packages at run time beyond the dist's own, fetched by the backend for the page (same origin, so
the page's Content-Security-Policy and the workers' lockdown stay as they are):

- `GET /packages/pyodide-lock.json`: Pyodide's packages (the lock of `--pyodide-lock`, else npm's),
  whether this server fetches from PyPI, and Pyodide's version;
- `GET /packages/pyodide/{file_name}`: a file of that lock from `--pyodide-packages DIR|URL`;
- `GET /packages/pypi/{name}.json` and `GET /packages/pypi/files/{file_name}`: the newest pure
  wheel of a project from `--pypi-index`, only with `--allow-pypi`.

Every file is checked here against its sha256 (the lock's, PyPI's), and again by the page before a
worker sees it (web/app/wheel-source.js). Errors are one line of plain text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from .dependencies import DependencyError, marker_environment, read_metadata
from .pyodide_packages import PackageSourceError, PyodidePackages
from .pypi_index import DEFAULT_PYPI_INDEX, PyPIIndex, UpstreamError, canonical, wheel_imports
from .static import media_type

logger = logging.getLogger("cloche.packages")
PYPI_REFUSED = (
    "this server does not install packages from PyPI at run time; its operator can allow it "
    "with `cloche serve --allow-pypi`"
)
# PackageSourceError speaks to `cloche build`; the same flags exist on `cloche serve`.
_BUILD_HINT = "to build offline or from a mirror, pass"
_SERVE_HINT = "to serve them from a folder or a mirror, start `cloche serve` with"
WANTED_BY = "a page of this server"
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_WHEEL = re.compile(r"[A-Za-z0-9_.+!-]+\.whl")
NO_CACHE = {"cache-control": "no-cache"}


@dataclass(frozen=True)
class PackageSources:
    """Where run-time packages may come from; `info` is Pyodide's platform (for markers)."""

    info: dict[str, Any]
    pyodide: PyodidePackages | None = None
    pypi: PyPIIndex | None = None

    def describe(self) -> str:
        if self.pyodide is None:
            pyodide = "no Pyodide packages (no Pyodide lock: pass --pyodide-lock FILE)"
        else:
            pyodide = f"Pyodide {self.pyodide.version}'s packages from {self.pyodide.source}"
        pypi = f"pure wheels from {self.pypi.index}" if self.pypi else "nothing from PyPI"
        return f"Run-time packages beyond the dist's: {pyodide}; {pypi}"


def open_package_sources(
    dist: Path,
    *,
    pyodide_packages: str | None = None,
    pyodide_lock: Path | None = None,
    allow_pypi: bool = False,
    pypi_index: str = DEFAULT_PYPI_INDEX,
    cache: Path | None = None,
) -> PackageSources:
    """The sources for a dist: the lock is checked against the dist's Pyodide core (same Python
    and ABI); files fetched from URLs are kept in `cache`, by default where `cloche build` keeps
    them (the checkout's .cache/), else in ~/.cache/cloche."""
    from .build import BuildError, Project, find_project_root

    dist_lock = dist / "pyodide-lock.json"
    try:
        info: dict[str, Any] = json.loads(dist_lock.read_text())["info"]
        version = str(json.loads((dist / "build-info.json").read_text())["pyodide"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        if pyodide_packages or pyodide_lock or allow_pypi:
            raise PackageSourceError(
                f"{dist} lacks its Pyodide facts ({error}), which run-time packages need: "
                "build it with `cloche build`"
            ) from None
        return PackageSources({})
    try:
        project: Project | None = Project(find_project_root())
    except BuildError:
        project = None
    if project is not None:
        cache = cache or project.root / ".cache"
        pyodide_packages = pyodide_packages or _setting(project.pyodide_packages_source)
        pyodide_lock = pyodide_lock or _setting(project.pyodide_lock_setting)
        npm_lock = project.pyodide_npm / "pyodide-lock.json"
        pyodide_lock = pyodide_lock or (npm_lock if npm_lock.is_file() else None)
    else:
        cache = cache or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cloche"
    pyodide = None
    if pyodide_lock is not None:
        pyodide = PyodidePackages.open(
            version,
            dist_lock,  # the substitute is checked against the core this dist serves
            cache / "pyodide" / f"v{version}",
            source=pyodide_packages,
            lock=pyodide_lock,
        )
        info = pyodide.info
    elif pyodide_packages:
        raise PackageSourceError(
            f"--pyodide-packages {pyodide_packages} needs the lock that names its files: "
            "pass --pyodide-lock FILE (no checkout with npm's pyodide was found)"
        )
    pypi = PyPIIndex(pypi_index, cache / "pypi", str(info["python"])) if allow_pypi else None
    return PackageSources(info, pyodide, pypi)


def _setting[T](read: Callable[[], T]) -> T:
    """A `[tool.cloche.dist]` setting, its error as a PackageSourceError."""
    from .build import BuildError

    try:
        return read()
    except BuildError as error:
        raise PackageSourceError(str(error)) from None


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of a lock entry; `file_name` is the name under /packages/pyodide/."""
    return {
        "name": entry["name"],
        "version": entry["version"],
        "file_name": _base_name(str(entry["file_name"])),
        "sha256": entry["sha256"],
        "depends": entry.get("depends", []),
        "imports": entry.get("imports", []),
        "package_type": entry.get("package_type", "package"),
    }


def _base_name(file_name: str) -> str:
    return Path(urllib.parse.urlsplit(file_name).path).name


class PackageRoutes:
    """The /packages routes of one server process, with the upstream client of its lifespan."""

    def __init__(self, sources: PackageSources) -> None:
        self.sources = sources
        self.client: httpx.AsyncClient | None = None
        lock = sources.pyodide.lock["packages"] if sources.pyodide else {}
        self.by_file = {_base_name(str(e["file_name"])): e for e in lock.values()}
        document = {
            "pyodide": sources.pyodide.version if sources.pyodide else None,
            "pypi": sources.pypi is not None,
            "info": sources.info,
            "packages": {name: _entry(entry) for name, entry in lock.items()},
        }
        self.lock_json = json.dumps(document, separators=(",", ":")).encode()
        self.environment = marker_environment(sources.info) if sources.info else {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/pyodide-lock.json", self.lock, methods=["GET", "HEAD"]),
            Route("/pyodide/{file_name}", self.pyodide_file, methods=["GET", "HEAD"]),
            Route("/pypi/files/{file_name}", self.pypi_file, methods=["GET", "HEAD"]),
            Route("/pypi/{name}.json", self.pypi_project, methods=["GET", "HEAD"]),
        ]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        timeout = httpx.Timeout(30.0, connect=10.0)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            self.client = client
            try:
                yield
            finally:
                self.client = None

    async def lock(self, request: Request) -> Response:
        return Response(self.lock_json, media_type="application/json", headers=NO_CACHE)

    async def pyodide_file(self, request: Request) -> Response:
        file_name = request.path_params["file_name"]
        pyodide = self.sources.pyodide
        entry = self.by_file.get(file_name)
        if pyodide is None or entry is None:
            where = pyodide.lock_path if pyodide else "(this server has none: --pyodide-lock FILE)"
            return _error(
                404, f"{file_name} is not in the Pyodide lock {where}: only its files are served"
            )
        async with self._locks.setdefault(f"pyodide/{file_name}", asyncio.Lock()):
            try:
                path = await anyio.to_thread.run_sync(pyodide.fetch, entry, WANTED_BY)
            except PackageSourceError as error:
                return _error(502, str(error).replace(_BUILD_HINT, _SERVE_HINT))
        return FileResponse(path, media_type=media_type(file_name), headers=NO_CACHE)

    async def pypi_project(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not _NAME.fullmatch(name):
            return _error(400, f"{name!r} is not a package name")
        if self.sources.pypi is None:
            return _error(403, PYPI_REFUSED)
        try:
            found = await self.sources.pypi.newest(self._client(), canonical(name))
            wheel = await self.sources.pypi.fetch(self._client(), found)
            metadata = read_metadata(wheel)
        except UpstreamError as error:
            return _error(error.status, str(error))
        except DependencyError as error:
            return _error(502, f"{found.file_name} from PyPI: {error}")
        depends = [
            canonical(r.name)
            for r in metadata.requires
            if r.marker is None or r.marker.evaluate(self.environment)
        ]
        answer = {
            "name": found.name,
            "version": found.version,
            "file_name": found.file_name,
            "sha256": found.sha256,
            "depends": list(dict.fromkeys(depends)),
            "imports": wheel_imports(wheel, found.name),
        }
        logger.info("packages: %s %s from PyPI (%s)", found.name, found.version, found.url)
        return Response(json.dumps(answer), media_type="application/json", headers=NO_CACHE)

    async def pypi_file(self, request: Request) -> Response:
        file_name = request.path_params["file_name"]
        if self.sources.pypi is None:
            return _error(403, PYPI_REFUSED)
        if not _WHEEL.fullmatch(file_name):
            return _error(404, f"{file_name} is not a wheel file name")
        try:
            found = await self.sources.pypi.file_of(self._client(), file_name)
            wheel = await self.sources.pypi.fetch(self._client(), found)
        except UpstreamError as error:
            return _error(error.status, str(error))
        return FileResponse(wheel, media_type=media_type(file_name), headers=NO_CACHE)

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            raise RuntimeError("the package routes' client runs only inside the app's lifespan")
        return self.client


def _error(status: int, message: str) -> Response:
    if status >= 500:
        logger.warning("packages: %s", message)
    return PlainTextResponse(message, status_code=status, headers=NO_CACHE)
