"""What the Python worker runs: an MCP server over the installed tools, plus runtime installs.

The worker's JavaScript hands every message from its MessagePort to `PythonWorker.handle` as JSON
text and posts back the JSON text it returns; whatever the server sends on its own goes through
`send`. Only strings cross the boundary. The worker has no network: `cloche/install` carries the
wheels' bytes, which the page's host read from the dist and checked against the lock's sha256,
and tool code's fetches and store go to the host as requests (`cloche.http`, `cloche.store`).
Installing is injected (micropip from the worker's file system in Pyodide, a fake in tests), so all
of this runs under CPython too. This is the one module that reaches into Pyodide itself (micropip,
`pyodide.http`), and only in the functions the worker's JavaScript calls at boot.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import importlib.abc
import importlib.util
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, distribution, distributions
from pathlib import Path
from types import ModuleType
from typing import Any

from . import _pyfetch, http, packages, store
from ._jsonrpc import INVALID_PARAMS, RpcError
from .discovery import discover
from .server import McpServer, Send

Installer = Callable[[list[str]], Awaitable[None]]
# name-version(-build)?-python-abi-platform.whl, nothing that could be a path.
_WHEEL_FILE = re.compile(r"([A-Za-z0-9_.]+)-\d[A-Za-z0-9_.!+]*(?:-[A-Za-z0-9_.]+){3,4}\.whl")
WHEEL_DIR = Path("/tmp/cloche-wheels")


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


async def micropip_install(paths: list[str]) -> None:
    """Install wheel files already in the worker's file system: micropip reads `emfs:` paths
    without any network (the worker has none), and their dependencies come the same way."""
    import micropip  # type: ignore[import-not-found]  # only inside Pyodide

    await micropip.install([f"emfs:{path}" for path in paths], deps=False)


REMOTE_INSTALL_REFUSED = (
    "micropip.install({}) is not available to tool code: Cloche tools run without network "
    "(see docs/security.md); install a package the site offers by its name, and the host "
    "fetches and checks it"
)
# A requirement by name, with an optional version that the dist's one version must satisfy.
_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)")


def refuse_remote_installs() -> None:
    """Make micropip install files already in the worker (what `cloche/install` writes) and
    packages the site offers, by name, through the host (`cloche.packages`); tool code that asks
    for a URL or an index gets a clear refusal, not a network error. Done when micropip is first
    imported (importing it takes 0.2-0.3 s of a worker's start here, and most workers never
    install), or now if it already is. The worker's lockdown, not this, is what keeps the network
    closed: this makes the error say why."""
    if "micropip" in sys.modules:
        _route_micropip(sys.modules["micropip"])
    else:
        sys.meta_path.insert(0, _AfterImport("micropip", _route_micropip))


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs `then(module)` once the module `name` has been executed, before its importer gets it;
    then leaves sys.meta_path. A `find_spec` that only looks (cloche.packages does, before running
    code) finds it through here as well and imports nothing."""

    def __init__(self, name: str, then: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.then = then
        self.finding = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name or self.finding:
            return None
        self.finding = True  # the other finders find it
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self.finding = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _ThenLoader(spec.loader, self)
        return spec


class _ThenLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, hook: _AfterImport) -> None:
        self.loader = loader
        self.hook = hook

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        self.hook.then(module)
        if self.hook in sys.meta_path:
            sys.meta_path.remove(self.hook)


def _route_micropip(micropip: Any) -> None:
    install = micropip.install

    async def host_install(requirements: str | list[str], *args: Any, **kwargs: Any) -> Any:
        wanted = [requirements] if isinstance(requirements, str) else list(requirements)
        local = [str(r) for r in wanted if str(r).startswith("emfs:")]
        named = [str(r) for r in wanted if not str(r).startswith("emfs:")]
        remote = [r for r in named if "/" in r or ":" in r or r.endswith(".whl")]
        if remote:
            raise ValueError(REMOTE_INSTALL_REFUSED.format(", ".join(map(repr, remote))))
        if named:
            await packages.install(requirements=[_name_of(r) for r in named])
        if local:
            return await install(local, *args, **kwargs)
        return None

    micropip.install = host_install


def reseed_after_restore() -> None:
    """Give an interpreter restored from a memory snapshot random state of its own. Every restore
    of one snapshot starts from the same heap, so the `random` module's global generator and
    tempfile's name sequence would repeat across workers; both are drawn again from os.urandom
    (the browser's crypto.getRandomValues). Called before any tool code runs. The string hash
    seed is fixed at interpreter start and cannot change under live dicts: it stays the snapshot's,
    which was itself drawn at random in this browser (docs/performance.md)."""
    import random
    import tempfile

    random.seed()
    tempfile._name_sequence = None  # type: ignore[attr-defined]  # made again, freshly seeded


SYNC_NETWORK_REFUSED = (
    "{} cannot reach the network in a Cloche worker: synchronous code cannot wait for the "
    "page's host, which makes every fetch. In an async tool use `await cloche.http.fetch(url)` "
    "or `await pyodide.http.pyfetch(url)`, for origins the package declares "
    '(docs/python-tools.md, "Permissions: network and storage")'
)


def route_network_through_host() -> None:
    """Make `pyodide.http.pyfetch` fetch through the page's host (`cloche.http.fetch`), and make
    the synchronous ways (`urllib.request.urlopen`, `pyodide.http.open_url`), which cannot wait
    for the host, fail with a message that says what to use instead. Called once at boot, after
    the worker's own network is closed and before any tool code is imported."""
    import pyodide.http  # type: ignore[import-not-found]  # only inside Pyodide

    _pyfetch.FetchResponse.status_error = pyodide.http.HttpStatusError
    pyodide.http.pyfetch = _pyfetch.pyfetch
    pyodide.http.open_url = _refuse_sync("pyodide.http.open_url")
    urllib.request.urlopen = _refuse_sync("urllib.request.urlopen")


def _refuse_sync(name: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise urllib.error.URLError(SYNC_NETWORK_REFUSED.format(name))

    refuse.__name__ = name.rsplit(".", 1)[-1]
    return refuse


def _name_of(requirement: str) -> str:
    """The package name of a requirement such as `numpy` or `tabulate>=0.9` (the dist has one
    version of each package, so the rest is not used)."""
    match = _REQUIREMENT_NAME.fullmatch(requirement)
    if not match:
        raise ValueError(f"{requirement!r} is not a package name")
    return match.group(1)


class PythonWorker:
    """An MCP server over every tool installed now, growing with `cloche/install`."""

    def __init__(
        self, send: Send, install: Installer = micropip_install, wheel_dir: Path = WHEEL_DIR
    ) -> None:
        found = discover()
        self.server = McpServer(found.tools, send=send, name="cloche-python")
        self.problems = [str(problem) for problem in found.problems]
        self._install = install
        self.wheel_dir = wheel_dir
        self.server.add_method("cloche/install", self._install_method)
        self.server.add_method("cloche/running", self._running_method)
        packages.connect(self.install_from_host)
        # Tool code asks the host for the network and its store (the host checks the grant).
        http.connect(self.server.request)
        store.connect(self.server.request)

    async def handle(self, message_json: str) -> str | None:
        return await self.server.handle_async(message_json)

    async def _running_method(self, params: dict[str, Any]) -> dict[str, Any]:
        """How many calls are still running: after a cancellation the host asks, and ends a worker
        whose cancelled call goes on (docs/worker-protocol.md, "Deadlines")."""
        return {"calls": self.server.running_calls}

    def _wheels(self, params: dict[str, Any]) -> list[tuple[str, str, bytes]]:
        """(distribution, file name, bytes) of each wheel the host sent, checked."""
        wheels = params.get("wheels")
        if "requirements" in params or not (isinstance(wheels, list) and wheels):
            raise RpcError(
                INVALID_PARAMS,
                "cloche/install takes the wheels themselves, {wheels: [{fileName, base64}]}: "
                "the worker fetches nothing. The page's host reads them from the dist and checks "
                "their sha256 against its lock (docs/worker-protocol.md)",
            )
        out = []
        for index, wheel in enumerate(wheels):
            name = wheel.get("fileName") if isinstance(wheel, dict) else None
            data = wheel.get("base64") if isinstance(wheel, dict) else None
            match = _WHEEL_FILE.fullmatch(name) if isinstance(name, str) else None
            if not match:
                raise RpcError(
                    INVALID_PARAMS,
                    f"wheels[{index}].fileName must be a wheel file name, got {name!r}",
                )
            try:
                content = base64.b64decode(data if isinstance(data, str) else "", validate=True)
            except binascii.Error as error:
                raise RpcError(
                    INVALID_PARAMS, f"wheels[{index}].base64 ({name}) is not valid base64: {error}"
                ) from None
            if not content:
                raise RpcError(INVALID_PARAMS, f"wheels[{index}].base64 ({name}) is empty")
            out.append((canonical_name(match.group(1)), match.group(0), content))
        return out

    async def install_from_host(self, requirements: list[str], imports: list[str]) -> list[str]:
        """Ask the page's host for the wheels of packages the site offers (by name, or by a module
        they provide) and install them. Their tools, if any, are not added: code asked for the
        package, not the host."""
        have = sorted({canonical_name(d.name) for d in distributions() if d.name})
        params = {"requirements": requirements, "imports": imports, "have": have}
        reply = await self.server.request("cloche/wheels", params)
        if not isinstance(reply, dict) or not reply.get("wheels"):
            return []
        wheels = self._wheels({"wheels": reply["wheels"]})
        await self._install_wheels(wheels)
        return [name for name, _, _ in wheels]

    async def _install_method(self, params: dict[str, Any]) -> dict[str, Any]:
        wheels = self._wheels(params)
        names = await self._install_wheels(wheels)
        return {"packages": names, "tools": self._add_new_tools(names)}

    async def _install_wheels(self, wheels: list[tuple[str, str, bytes]]) -> list[str]:
        """Install checked wheels (those the worker has are skipped); returns their names."""
        names = [name for name, _, _ in wheels]
        self.wheel_dir.mkdir(parents=True, exist_ok=True)
        paths: list[str] = []
        for name, file_name, content in wheels:
            if _installed(name):
                continue  # a dependency the worker already has
            target = self.wheel_dir / file_name
            target.write_bytes(content)
            paths.append(str(target))
        try:
            if paths:
                await self._install(paths)
        except Exception as error:
            raise RpcError(
                INVALID_PARAMS, f"installing {', '.join(names)} failed: {error}"
            ) from None
        finally:
            for written in paths:
                Path(written).unlink(missing_ok=True)
        importlib.invalidate_caches()
        for name in names:
            if not _installed(name):
                raise RpcError(
                    INVALID_PARAMS,
                    f"{name}: the install reported success but {name} is not installed; "
                    "its wheel is probably not a valid wheel of that name",
                )
        return names

    def _add_new_tools(self, names: list[str]) -> list[str]:
        found = discover()
        wanted = set(names)
        problems = [p for p in found.problems if canonical_name(p.distribution) in wanted]
        if problems:
            raise RpcError(INVALID_PARAMS, "; ".join(str(p) for p in problems))
        known = {tool.name for tool in self.server.tools}
        added = []
        for package in found.packages:
            if canonical_name(package.distribution) not in wanted:
                continue
            for tool in package.tools:
                if tool.name not in known:
                    self.server.add_tool(tool)
                    added.append(tool.name)
        return added


def _installed(name: str) -> bool:
    try:
        distribution(name)
    except PackageNotFoundError:
        return False
    return True
