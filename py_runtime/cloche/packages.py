"""Packages at run time: code in a worker gets the packages the site offers by asking the host.

A Cloche worker has no network. When code wants a package that is not installed (``micropip.install
("name")``, or an ``import`` in ``python.run``), the worker asks the page's host with the
``cloche/wheels`` request; the host fetches the wheels (and what they depend on) from the dist or,
on `cloche serve`, from Pyodide's packages and PyPI through the server, checks each against its
sha256 and answers with their bytes, which the worker installs (docs/worker-protocol.md).

The worker connects the host at start (`connect`); under plain CPython nothing is connected, and
`load_imports` does nothing, so tools that use it run there too.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Awaitable, Callable

# (requirements, imports) -> the names of the packages installed
InstallFromHost = Callable[[list[str], list[str]], Awaitable[list[str]]]

_install_from_host: InstallFromHost | None = None

NO_HOST = (
    "no host to ask for packages: outside a Cloche worker, install {} with pip; in a worker, "
    "the page's host installs the packages its dist offers"
)


def connect(install_from_host: InstallFromHost | None) -> None:
    """Set (or, with None, clear) how this interpreter asks its host for packages."""
    global _install_from_host
    _install_from_host = install_from_host


def connected() -> bool:
    return _install_from_host is not None


def imported_modules(code: str) -> list[str]:
    """The top-level modules that `code` imports absolutely, in order; none if it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top not in found:
                found.append(top)
    return found


def missing_modules(code: str) -> list[str]:
    """The modules `code` imports that this interpreter cannot find."""
    return [
        name
        for name in imported_modules(code)
        if name not in sys.modules and importlib.util.find_spec(name) is None
    ]


async def install(requirements: list[str] = [], imports: list[str] = []) -> list[str]:  # noqa: B006
    """Install packages the site offers, by name or by the module they provide; returns the
    names of the packages installed (with their dependencies)."""
    if _install_from_host is None:
        raise RuntimeError(NO_HOST.format(", ".join(requirements + imports)))
    installed = await _install_from_host(list(requirements), list(imports))
    importlib.invalidate_caches()
    return installed


async def load_imports(code: str) -> list[str]:
    """Install what `code` imports and the site offers, before it runs (what Pyodide's
    `loadPackagesFromImports` does, through the host). Modules the site does not offer are left
    for the import itself to report. Returns the packages installed."""
    missing = missing_modules(code)
    if not missing or _install_from_host is None:
        return []
    return await install(imports=missing)


__all__ = [
    "InstallFromHost",
    "connect",
    "connected",
    "imported_modules",
    "install",
    "load_imports",
    "missing_modules",
]
