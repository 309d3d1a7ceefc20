"""The WASM part of dist/: each tool package's manifest and module under wasm/<name>/, and the
packages' entries in registry.json. (The WASI shim the worker runs them with is vendored with the
other npm files: vendored_npm.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from cloche.wasm_manifest import ManifestError, load_manifest

from ._files import sha256_file

WASM_DIST = "wasm/"


class WasmDistError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class _Output(Protocol):
    def copy(self, src: Path, relative: str) -> Path: ...


def wasm_package_dirs(root: Path) -> list[Path]:
    """The first-party WASM packages: tool_packages/wasm/<name>/manifest.json."""
    return sorted(p.parent for p in (root / "tool_packages" / "wasm").glob("*/manifest.json"))


def copy_wasm(root: Path, out: _Output) -> list[dict[str, Any]]:
    """Copy every WASM package into the dist; their registry entries."""
    entries = []
    for folder in wasm_package_dirs(root):
        try:
            manifest = load_manifest(folder / "manifest.json")
        except ManifestError as error:
            raise WasmDistError(str(error)) from None
        module = folder / manifest.module
        if not module.is_file() or sha256_file(module) != manifest.sha256:
            raise WasmDistError(
                f"{module} is missing or does not match the manifest's sha256: "
                f"run scripts/build-wasm {folder.relative_to(root)}"
            )
        base = f"{WASM_DIST}{manifest.name}/"
        out.copy(folder / "manifest.json", base + "manifest.json")
        out.copy(module, base + manifest.module)
        entries.append(
            {
                "name": manifest.name,
                "version": manifest.version,
                "runtime": "wasm",
                "manifest": base + "manifest.json",
                "module": base + manifest.module,
                "sha256": manifest.sha256,
                "namespaces": [manifest.name],
                "limits": {
                    "memoryBytes": manifest.limits.memory_bytes,
                    "deadlineMs": manifest.limits.deadline_ms,
                    "outputBytes": manifest.limits.output_bytes,
                },
                "permissions": manifest.permissions.to_json(),
                "tools": manifest.to_mcp_tools(),
            }
        )
    return entries


def with_wasm_packages(registry: bytes, entries: list[dict[str, Any]]) -> bytes:
    """The registry document with the WASM packages added under "wasmPackages"; a tool name
    offered twice (by any two packages of either runtime) fails."""
    document = json.loads(registry)
    owners = {t["name"]: p["name"] for p in document["packages"] for t in p["tools"]}
    for entry in entries:
        for tool in entry["tools"]:
            if tool["name"] in owners:
                raise WasmDistError(
                    f"registry: tool {tool['name']} is in both {owners[tool['name']]} "
                    f"and the WASM package {entry['name']}"
                )
            owners[tool["name"]] = entry["name"]
    # A list of its own: readers of "packages" (registryVersion 1) expect a wheel in each entry.
    document["wasmPackages"] = sorted(entries, key=lambda p: str(p["name"]))
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
