"""The manifest beside a WASM tool module (docs/wasm-tools.md): parsed and validated, pure Python.

Every problem names its field (`tools[1].inputSchema.type`), so an author can fix a manifest from
the message alone. The browser's wasm-manifest.js applies the same rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._schema_subset import schema_problems
from .permissions import Permissions

MANIFEST_VERSION = 1
PAGE = 65536
NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")
TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
MODULE_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\.wasm")
SHA256 = re.compile(r"[0-9a-f]{64}")
SCRATCH_DIR = re.compile(r"/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")

# (default, smallest, largest) of each limit.
LIMITS = {
    "memoryBytes": (64 * 2**20, PAGE, 4 * 2**30),
    "deadlineMs": (5_000, 1, 600_000),
    "outputBytes": (2**20, 1, 64 * 2**20),
}
TOP_FIELDS = {"manifestVersion", "name", "version", "description", "module", "sha256", "limits"}
TOP_FIELDS |= {"tools", "scratchDir", "permissions"}
PERMISSION_FIELDS = ("network", "storage")
NO_GRANTS = "WASI preview 1 modules get no network or storage; components will get wasi:http grants"
TOOL_FIELDS = {"name", "title", "description", "inputSchema", "outputSchema", "annotations"}


class ManifestError(Exception):
    """A manifest that does not validate: `problems` lists each field and what is wrong."""

    def __init__(self, problems: list[str], source: str = "manifest") -> None:
        super().__init__(problems)
        self.problems = problems
        self.source = source

    def __str__(self) -> str:
        return f"{self.source} is invalid: " + "; ".join(self.problems)


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    deadline_ms: int
    output_bytes: int


@dataclass(frozen=True)
class WasmTool:
    name: str
    description: str
    input_schema: dict[str, Any]
    title: str | None = None
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] = field(default_factory=dict)

    def to_mcp(self, package: str, limits: Limits) -> dict[str, Any]:
        """The tool as `tools/list` shows it: qualified name, deadline in `_meta`."""
        entry: dict[str, Any] = {"name": f"{package}.{self.name}"}
        if self.title is not None:
            entry["title"] = self.title
        entry["description"] = self.description
        entry["inputSchema"] = self.input_schema
        if self.output_schema is not None:
            entry["outputSchema"] = self.output_schema
        if self.annotations:
            entry["annotations"] = self.annotations
        entry["_meta"] = {"cloche/runtime": "wasm", "cloche/deadlineMs": limits.deadline_ms}
        return entry


@dataclass(frozen=True)
class WasmManifest:
    name: str
    version: str
    module: str
    sha256: str
    limits: Limits
    tools: tuple[WasmTool, ...]
    description: str = ""
    scratch_dir: str | None = None

    def tool(self, name: str) -> WasmTool | None:
        """The tool called `name` (bare, or qualified with this package's name)."""
        prefix = self.name + "."
        bare = name[len(prefix) :] if name.startswith(prefix) else name
        return next((t for t in self.tools if t.name == bare), None)

    def to_mcp_tools(self) -> list[dict[str, Any]]:
        return [tool.to_mcp(self.name, self.limits) for tool in self.tools]

    @property
    def permissions(self) -> Permissions:
        """What the package may reach, as registry.json shows it: no network, no store, and its
        limits' deadline and memory."""
        return Permissions(
            deadline_ms=self.limits.deadline_ms, memory_bytes=self.limits.memory_bytes
        )


def _string(data: dict[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{where}{key} must be a string")
        return None
    return value


def _limits(data: Any, problems: list[str]) -> Limits:
    values = {key: default for key, (default, _, _) in LIMITS.items()}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append("limits must be an object")
        data = {}
    for key in sorted(set(data) - set(LIMITS)):
        problems.append(f"limits.{key} is not a known limit ({', '.join(LIMITS)})")
    for key, (_, low, high) in LIMITS.items():
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"limits.{key} must be an integer from {low} to {high}")
        elif key == "memoryBytes" and value % PAGE:
            problems.append(f"limits.memoryBytes must be a multiple of {PAGE} (one page)")
        else:
            values[key] = value
    return Limits(values["memoryBytes"], values["deadlineMs"], values["outputBytes"])


def _check_permissions(data: Any, problems: list[str]) -> None:
    """A module's optional `permissions`: it may say what it gets, which is nothing."""
    if data is None:
        return
    if not isinstance(data, dict):
        problems.append("permissions must be an object")
        return
    for key in sorted(set(data) - set(PERMISSION_FIELDS)):
        problems.append(f"permissions.{key} is not a known field ({', '.join(PERMISSION_FIELDS)})")
    network, storage = data.get("network", []), data.get("storage", False)
    if not isinstance(network, list):
        problems.append("permissions.network must be an array")
    elif network:
        problems.append(f"permissions.network must be empty: {NO_GRANTS}")
    if not isinstance(storage, bool):
        problems.append("permissions.storage must be true or false")
    elif storage:
        problems.append(f"permissions.storage must be false: {NO_GRANTS}")


def _tool(data: Any, where: str, problems: list[str]) -> WasmTool | None:
    if not isinstance(data, dict):
        problems.append(f"{where} must be an object")
        return None
    for key in sorted(set(data) - TOOL_FIELDS):
        problems.append(f"{where}.{key} is not a known field")
    before = len(problems)
    name = _string(data, "name", where + ".", problems)
    if name is None or not TOOL_NAME.fullmatch(name):
        problems.append(f"{where}.name must match {TOOL_NAME.pattern}")
    description = _string(data, "description", where + ".", problems)
    if not description:
        problems.append(f"{where}.description must be a non-empty string")
    title = _string(data, "title", where + ".", problems)
    problems += schema_problems(data.get("inputSchema"), f"{where}.inputSchema")
    if "outputSchema" in data:
        problems += schema_problems(data["outputSchema"], f"{where}.outputSchema")
    annotations = data.get("annotations", {})
    if not isinstance(annotations, dict):
        problems.append(f"{where}.annotations must be an object")
    if len(problems) > before:
        return None
    return WasmTool(
        name=str(name),
        description=str(description),
        input_schema=data["inputSchema"],
        title=title,
        output_schema=data.get("outputSchema"),
        annotations=annotations,
    )


def parse_manifest(data: Any, source: str = "manifest") -> WasmManifest:
    """A validated manifest from parsed JSON; ManifestError naming every invalid field."""
    if not isinstance(data, dict):
        raise ManifestError(["the manifest must be a JSON object"], source)
    problems: list[str] = []
    for key in sorted(set(data) - TOP_FIELDS):
        problems.append(f"{key} is not a known field")
    if data.get("manifestVersion") != MANIFEST_VERSION:
        problems.append(f"manifestVersion must be {MANIFEST_VERSION}")
    name = _string(data, "name", "", problems)
    if name is None or not NAME.fullmatch(name):
        problems.append(f"name must match {NAME.pattern} (it prefixes every tool name)")
    version = _string(data, "version", "", problems)
    if not version:
        problems.append("version must be a non-empty string")
    module = _string(data, "module", "", problems)
    if module is None or not MODULE_FILE.fullmatch(module):
        problems.append("module must be a .wasm file name beside the manifest (no folders)")
    sha256 = _string(data, "sha256", "", problems)
    if sha256 is None or not SHA256.fullmatch(sha256):
        problems.append("sha256 must be the module's SHA-256 as 64 lowercase hex digits")
    description = _string(data, "description", "", problems) or ""
    scratch_dir = _string(data, "scratchDir", "", problems)
    if scratch_dir is not None and not SCRATCH_DIR.fullmatch(scratch_dir):
        problems.append("scratchDir must be an absolute path such as /tmp")
    limits = _limits(data.get("limits"), problems)
    _check_permissions(data.get("permissions"), problems)
    tools: list[WasmTool] = []
    raw_tools = data.get("tools")
    if not isinstance(raw_tools, list) or not raw_tools:
        problems.append("tools must be a non-empty array")
        raw_tools = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_tools):
        tool = _tool(raw, f"tools[{index}]", problems)
        if tool is None:
            continue
        if tool.name in seen:
            problems.append(f"tools[{index}].name {tool.name!r} is used twice")
        seen.add(tool.name)
        tools.append(tool)
    if problems:
        raise ManifestError(problems, source)
    return WasmManifest(
        name=str(name),
        version=str(version),
        module=str(module),
        sha256=str(sha256),
        limits=limits,
        tools=tuple(tools),
        description=description,
        scratch_dir=scratch_dir,
    )


def load_manifest(path: Path) -> WasmManifest:
    """Read and validate the manifest at `path`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError([f"cannot be read as JSON: {error}"], str(path)) from None
    return parse_manifest(data, str(path))
