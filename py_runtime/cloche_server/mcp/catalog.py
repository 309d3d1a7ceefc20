"""What `cloche mcp` serves: the dist's packages (its registry.json) and a folder of WASM packages.

Python packages are grouped into processes the way the page groups them into workers
(web/app/tool-workers.js): one shared process for the plain ones, one of its own for a package that
runs any code it is given (python.run), or that declares network, storage or a memory limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..wasm import ModuleRefused, WasmPackage

SHARED_PROCESS = "python-tools"
# python.run runs whatever code it is given: it must be able to neither patch nor stall the other
# tools, and no call may find what another session's code left behind (tool-workers.js).
ISOLATED_NAMESPACES = frozenset({"python"})
SESSION_ARGUMENT = "session"
RESET_ARGUMENT = "reset"


class CatalogError(Exception):
    pass


@dataclass(frozen=True)
class PythonPackage:
    name: str
    namespaces: tuple[str, ...]
    network: tuple[str, ...]
    storage: bool
    tools: tuple[dict[str, Any], ...]
    memory_bytes: int | None = None

    @property
    def runs_any_code(self) -> bool:
        return any(n in ISOLATED_NAMESPACES for n in self.namespaces)

    @property
    def process(self) -> str:
        """The name of the process its tools run in (the page's worker name)."""
        isolated = self.runs_any_code or bool(self.network) or self.storage
        if isolated or self.memory_bytes is not None:
            return f"python-{(self.namespaces or (self.name,))[0]}"
        return SHARED_PROCESS


@dataclass
class Catalog:
    """Every package served and every tool, in the order tools/list shows them."""

    dist: Path
    python: list[PythonPackage] = field(default_factory=list)
    wasm: dict[str, WasmPackage] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def tools(self) -> list[tuple[dict[str, Any], PythonPackage | WasmPackage]]:
        listed: list[tuple[dict[str, Any], PythonPackage | WasmPackage]] = []
        for package in self.python:
            listed += [(tool, package) for tool in package.tools]
        for wasm in self.wasm.values():
            listed += [(tool, wasm) for tool in wasm.manifest.to_mcp_tools()]
        return listed

    def python_package(self, name: str) -> PythonPackage | None:
        return next((p for p in self.python if p.name == name), None)


def _python_package(entry: dict[str, Any]) -> PythonPackage:
    permissions = entry.get("permissions") or {}
    network = permissions.get("network") or []
    memory = permissions.get("memoryBytes")
    return PythonPackage(
        name=entry["name"],
        namespaces=tuple(entry.get("namespaces") or ()),
        network=tuple(str(pattern) for pattern in network),
        storage=bool(permissions.get("storage")),
        tools=tuple(entry.get("tools") or ()),
        memory_bytes=memory if isinstance(memory, int) else None,
    )


def load_catalog(
    dist: Path, packages_folder: Path | None = None, only: frozenset[str] | None = None
) -> Catalog:
    """The dist's packages (all of them, on-demand ones too, or those named in `only`), then the
    WASM packages in the folders of `packages_folder` (each with a manifest.json)."""
    registry_path = dist / "registry.json"
    try:
        registry = json.loads(registry_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(
            f"{registry_path} is missing: build the dist with `cloche build`, or pass --dist DIR"
        ) from None
    except (OSError, ValueError) as error:
        raise CatalogError(f"{registry_path} cannot be read: {error}") from None
    catalog = Catalog(dist=dist)
    for entry in registry.get("packages", []):
        if entry.get("runtime") == "python" and (only is None or entry["name"] in only):
            catalog.python.append(_python_package(entry))
    for entry in registry.get("wasmPackages", []):
        if only is None or entry["name"] in only:
            _add_wasm(catalog, dist / entry["manifest"])
    if packages_folder is not None:
        for manifest in sorted(packages_folder.glob("*/manifest.json")):
            _add_wasm(catalog, manifest)
    if only is not None:
        missing = sorted(only - {p.name for p in catalog.python} - set(catalog.wasm))
        if missing:
            raise CatalogError(f"no package named {', '.join(missing)} in {dist}")
    return catalog


def _add_wasm(catalog: Catalog, manifest: Path) -> None:
    from cloche.wasm_manifest import ManifestError

    try:
        package = WasmPackage.load(manifest)
    except (ManifestError, ModuleRefused) as error:
        catalog.problems.append(f"{manifest}: {error}")
        return
    catalog.wasm[package.manifest.name] = package
