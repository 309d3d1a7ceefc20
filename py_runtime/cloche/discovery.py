"""Find tools in installed distributions through the `cloche.tools` entry point group.

An entry point's name is the tool namespace, its object a module (all of its tools, or those in
its ``__all__``), a single tool, or a list of tools::

    [project.entry-points."cloche.tools"]
    text = "cloche_tools_text"          # tools text.stats, text.word_frequencies, ...

What the package may reach (network, its store) is the union of what its module declares at
module level (``PERMISSIONS = cloche.permissions(...)``; a tool or list entry point has no module
of its own) and what its tools declare (``@tool(network=[...])``).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, distributions
from typing import Any

from .permissions import NONE, Permissions, union
from .tool import Tool

GROUP = "cloche.tools"


@dataclass(frozen=True)
class DiscoveryProblem:
    """An entry point that could not give tools; the others still load."""

    entry_point: str
    distribution: str
    message: str

    def __str__(self) -> str:
        return f"{self.distribution}: entry point {self.entry_point!r}: {self.message}"


@dataclass
class ToolPackage:
    """The tools one entry point gave, with the distribution that declared it."""

    namespace: str
    distribution: str
    version: str
    tools: list[Tool] = field(default_factory=list)
    permissions: Permissions = NONE


@dataclass
class Discovery:
    packages: list[ToolPackage] = field(default_factory=list)
    problems: list[DiscoveryProblem] = field(default_factory=list)

    @property
    def tools(self) -> list[Tool]:
        return [tool for package in self.packages for tool in package.tools]


def tools_of(value: Any) -> list[Tool]:
    """The tools an entry point's object holds (module, tool or list of tools)."""
    if isinstance(value, Tool):
        return [value]
    if isinstance(value, types.ModuleType):
        names = getattr(value, "__all__", None) or list(vars(value))
        return [t for name in names if isinstance(t := getattr(value, name, None), Tool)]
    if isinstance(value, list | tuple) and all(isinstance(t, Tool) for t in value):
        return list(value)
    raise TypeError(f"expected a module, a tool or a list of tools, got {type(value).__name__}")


def declared_permissions(value: Any) -> Permissions:
    """What an entry point's module declares at module level: every `Permissions` among its
    names (whatever they are called and whatever its `__all__` says), united."""
    if not isinstance(value, types.ModuleType):
        return NONE
    return union(v for v in list(vars(value).values()) if isinstance(v, Permissions))


def load_entry_point(entry_point: EntryPoint) -> list[Tool]:
    """Load one entry point; its tools named `<entry point name>.<tool name>`."""
    return load_package(entry_point)[0]


def load_package(entry_point: EntryPoint) -> tuple[list[Tool], Permissions]:
    """Load one entry point: its tools, named `<entry point name>.<tool name>`, and what its
    module declares at module level."""
    value = entry_point.load()
    tools = [tool.renamed(f"{entry_point.name}.{tool.name}") for tool in tools_of(value)]
    return tools, declared_permissions(value)


def discover(path: list[str] | None = None, group: str = GROUP) -> Discovery:
    """Every tool package installed (or on `path`), in distribution order; problems collected."""
    found = Discovery()
    seen: set[str] = set()
    dists = distributions(path=path) if path is not None else distributions()
    for dist in sorted(dists, key=lambda d: d.metadata["Name"] or ""):
        name = dist.metadata["Name"] or "?"
        for entry_point in dist.entry_points.select(group=group):
            try:
                tools, declared = load_package(entry_point)
            except Exception as error:
                message = f"{type(error).__name__}: {error}"
                found.problems.append(DiscoveryProblem(entry_point.name, name, message))
                continue
            package = ToolPackage(entry_point.name, name, dist.version)
            for tool in tools:
                if tool.name in seen:
                    message = f"tool {tool.name} is already defined; this one is skipped"
                    found.problems.append(DiscoveryProblem(entry_point.name, name, message))
                    continue
                seen.add(tool.name)
                package.tools.append(tool)
            package.permissions = union([declared, *(tool.permissions for tool in package.tools)])
            if declared.deadline_ms is not None:
                # The package's deadline is every tool's that declares none of its own.
                for tool in package.tools:
                    if tool.deadline_ms is None:
                        tool.deadline_ms = declared.deadline_ms
            found.packages.append(package)
    return found
