"""`cloche wasm run MANIFEST TOOL JSON`: run one WASM tool call under wasmtime, for tool authors."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _run(args: argparse.Namespace) -> int:
    from cloche.wasm_manifest import ManifestError

    from .wasm import InvalidArguments, ModuleRefused, ToolFailed, UnknownTool, WasmPackage

    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as error:
        print(f"cloche wasm run: JSON is not valid JSON: {error}", file=sys.stderr)
        return 2
    if not isinstance(arguments, dict):
        print("cloche wasm run: JSON must be an object of arguments", file=sys.stderr)
        return 2
    try:
        package = WasmPackage.load(args.manifest)
        result = package.call(args.tool, arguments)
    except (ManifestError, ModuleRefused, UnknownTool, InvalidArguments) as error:
        print(f"cloche wasm run: {error}", file=sys.stderr)
        return 2
    except ToolFailed as error:
        print(json.dumps({"error": error.message}, ensure_ascii=False))
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def add_wasm_command(commands: Any) -> None:
    """Add `wasm run` to the `cloche` command's subparsers."""
    wasm = commands.add_parser("wasm", help="run WASM tools under wasmtime (for tool authors)")
    actions = wasm.add_subparsers(dest="wasm_command", required=True)
    run = actions.add_parser(
        "run",
        help="call one tool with the manifest's limits; prints its result (exit 0) or "
        '{"error": ...} (exit 1); a bad manifest, module or argument exits 2',
    )
    run.add_argument("manifest", type=Path, help="the package's manifest.json")
    run.add_argument("tool", help="tool name, bare (sha256) or qualified (hash.sha256)")
    run.add_argument(
        "arguments", metavar="JSON", help='the arguments object, e.g. \'{"text": "hi"}\''
    )
    run.set_defaults(run=_run)
