"""What the Python worker runs: an MCP server over the installed tools, plus runtime installs.

The worker's JavaScript hands every message from its MessagePort to `PythonWorker.handle` as JSON
text and posts back the JSON text it returns; whatever the server sends on its own goes through
`send`. Only strings cross the boundary. Installing is injected (micropip in Pyodide, a fake in
tests), so all of this runs under CPython too.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, distribution
from typing import Any

from ._jsonrpc import INVALID_PARAMS, RpcError
from .discovery import discover
from .server import McpServer, Send

Installer = Callable[[list[str]], Awaitable[None]]
# A wheel file name starts with its distribution name: name-version-...whl
_WHEEL_NAME = re.compile(r"([A-Za-z0-9_.]+)-\d[^/]*\.whl$")
_REQUIREMENT_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:[<>=!~;\[].*)?$")


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


async def micropip_install(requirements: list[str]) -> None:
    """Install with micropip from the dist's lock or same-origin wheel URLs, never an index."""
    import micropip  # type: ignore[import-not-found]  # only inside Pyodide

    await micropip.install(requirements, index_urls=[])


class PythonWorker:
    """An MCP server over every tool installed now, growing with `cloche/install`."""

    def __init__(self, send: Send, origin: str, install: Installer = micropip_install) -> None:
        found = discover()
        self.server = McpServer(found.tools, send=send, name="cloche-python")
        self.problems = [str(problem) for problem in found.problems]
        self.origin = origin.rstrip("/")
        self._install = install
        self.server.add_method("cloche/install", self._install_method)

    async def handle(self, message_json: str) -> str | None:
        return await self.server.handle_async(message_json)

    def distribution_of(self, requirement: str) -> str:
        """The distribution a requirement names; a URL must be a wheel on the page's origin."""
        if "://" in requirement or requirement.startswith("/"):
            url = self.origin + requirement if requirement.startswith("/") else requirement
            if not url.startswith(self.origin + "/"):
                raise RpcError(
                    INVALID_PARAMS,
                    f"{requirement}: only wheels from this page's origin ({self.origin}) may be "
                    "installed; copy the wheel into the dist or install it by name",
                )
            match = _WHEEL_NAME.search(url.split("?")[0])
            if not match:
                raise RpcError(INVALID_PARAMS, f"{requirement}: a URL must name a .whl file")
            return canonical_name(match.group(1))
        match = _REQUIREMENT_NAME.match(requirement.strip())
        if not match:
            raise RpcError(INVALID_PARAMS, f"{requirement!r} is not a package name or wheel URL")
        return canonical_name(match.group(1))

    async def _install_method(self, params: dict[str, Any]) -> dict[str, Any]:
        requirements = params.get("requirements")
        if not (
            isinstance(requirements, list)
            and requirements
            and all(isinstance(r, str) and r for r in requirements)
        ):
            raise RpcError(INVALID_PARAMS, "requirements must be a non-empty list of strings")
        names = [self.distribution_of(r) for r in requirements]
        urls = [self.origin + r if r.startswith("/") else r for r in requirements]
        try:
            await self._install(urls)
        except Exception as error:
            raise RpcError(
                INVALID_PARAMS, f"installing {', '.join(requirements)} failed: {error}"
            ) from None
        importlib.invalidate_caches()
        # micropip returns without error when the lock names a wheel whose file is missing: check.
        for requirement, name in zip(requirements, names, strict=True):
            try:
                distribution(name)
            except PackageNotFoundError:
                raise RpcError(
                    INVALID_PARAMS,
                    f"{requirement}: the install reported success but {name} is not installed; "
                    "its wheel is probably missing from the dist (rebuild it with `cloche build`)",
                ) from None
        return {"packages": names, "tools": self._add_new_tools(names)}

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
