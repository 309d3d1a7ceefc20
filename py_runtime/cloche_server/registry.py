"""dist/registry.json: every tool package with its wheel, its tools and what it may reach
(`permissions`: network origins, its store, deadline and memory), so a page can list tools and ask
the user before any worker boots.

The tools are read by importing the wheels themselves (pure-Python wheels import from the zip) in
a child CPython, with the dist's own `cloche` wheel first on its path: what the registry says is
what the same code says inside Pyodide, and the build process imports no tool code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cloche.permissions import from_json

from ._files import sha256_file

REGISTRY_NAME = "registry.json"
REGISTRY_VERSION = 1

# Runs in the child: prints, per wheel that declares `cloche.tools` entry points, its tools.
_DESCRIBE = """
import json, sys
wheels = json.loads(sys.argv[1])
sys.path[:0] = wheels
from cloche.discovery import discover
out = []
for wheel in wheels:
    found = discover(path=[wheel])
    if found.problems:
        print("\\n".join(map(str, found.problems)), file=sys.stderr)
        sys.exit(3)
    for package in found.packages:
        out.append({
            "wheel": wheel,
            "name": package.distribution,
            "version": package.version,
            "namespace": package.namespace,
            "tools": [tool.to_mcp() for tool in package.tools],
            "permissions": package.permissions.to_json(),
        })
print(json.dumps(out))
"""


class RegistryError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"registry: {self.message}"


def describe_wheels(wheels: list[Path]) -> list[dict[str, Any]]:
    """The tool packages among `wheels` (a `cloche` wheel among them provides the SDK)."""
    ordered = sorted(wheels, key=lambda w: not w.name.startswith("cloche-"))
    paths = json.dumps([str(w.resolve()) for w in ordered])
    command = [sys.executable, "-I", "-c", _DESCRIBE, paths]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RegistryError(f"importing the tool wheels failed: {result.stderr.strip()}")
    described: list[dict[str, Any]] = json.loads(result.stdout)
    return described


def registry(wheels: list[Path]) -> dict[str, Any]:
    """The registry document for a dist holding `wheels`."""
    packages: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    for entry in describe_wheels(wheels):
        wheel = Path(entry["wheel"])
        package = packages.setdefault(
            entry["name"],
            {
                "name": entry["name"],
                "version": entry["version"],
                "runtime": "python",
                "wheel": wheel.name,
                "sha256": sha256_file(wheel),
                "namespaces": [],
                "permissions": entry["permissions"],
                "tools": [],
            },
        )
        package["namespaces"].append(entry["namespace"])
        # A distribution with several entry points asks for what any of them asks for.
        united = from_json(package["permissions"]) | from_json(entry["permissions"])
        package["permissions"] = united.to_json()
        for tool in entry["tools"]:
            if tool["name"] in owners:
                raise RegistryError(
                    f"tool {tool['name']} is in both {owners[tool['name']]} and {entry['name']}"
                )
            owners[tool["name"]] = entry["name"]
            package["tools"].append(tool)
    return {
        "registryVersion": REGISTRY_VERSION,
        "packages": [packages[name] for name in sorted(packages)],
    }


def registry_json(wheels: list[Path]) -> bytes:
    return (json.dumps(registry(wheels), indent=2, ensure_ascii=False) + "\n").encode()


def with_boot_flags(registry: bytes, on_demand: list[str]) -> bytes:
    """Mark every package of either runtime `"boot": true`, but those in `on_demand`: the page
    offers them in its runtime panel and installs them when asked. A name no package has fails."""
    document = json.loads(registry)
    packages = [*document["packages"], *document.get("wasmPackages", [])]
    unknown = sorted(set(on_demand) - {p["name"] for p in packages})
    if unknown:
        raise RegistryError(
            f"[tool.cloche.dist] on-demand names {', '.join(unknown)}, which the dist does not "
            f"have; its packages are: {', '.join(sorted(p['name'] for p in packages))}"
        )
    for package in packages:
        package["boot"] = package["name"] not in on_demand
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
