"""Find tools in installed distributions through the `cloche.tools` entry point group.

An entry point's name is the tool namespace, its object a module (all of its tools, or those in
its ``__all__``), a single tool, or a list of tools::

    [project.entry-points."cloche.tools"]
    text = "cloche_tools_text"          # tools text.stats, text.word_frequencies, ...
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, distributions
from typing import Any

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


def load_entry_point(entry_point: EntryPoint) -> list[Tool]:
    """Load one entry point; its tools named `<entry point name>.<tool name>`."""
    return [
        tool.renamed(f"{entry_point.name}.{tool.name}") for tool in tools_of(entry_point.load())
    ]


def discover(path: list[str] | None = None, group: str = GROUP) -> Discovery:
    """Every tool package installed (or on `path`), in distribution order; problems collected."""
    found = Discovery()
    seen: set[str] = set()
    dists = distributions(path=path) if path is not None else distributions()
    for dist in sorted(dists, key=lambda d: d.metadata["Name"] or ""):
        name = dist.metadata["Name"] or "?"
        for entry_point in dist.entry_points.select(group=group):
            try:
                tools = load_entry_point(entry_point)
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
            found.packages.append(package)
    return found
