"""The tools one MCP session sees: each routes its calls to wasmtime or to a Pyodide process.

They meet `cloche.server.ServedTool`, so a session is cloche's own `McpServer` (the one JSON-RPC
core on the Python side), with arguments checked against the input schema here first.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from cloche._jsonrpc import INVALID_PARAMS, RpcError
from cloche._schema_subset import check
from cloche._validate import Problem, ValidationError
from cloche.context import Context

from ..wasm import InvalidArguments, ToolFailed, UnknownTool, WasmPackage
from ..wasm.outcome import mcp_error, mcp_result
from .catalog import Catalog
from .python_tools import PythonTools


class _RoutedTool:
    is_async = True

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.name: str = entry["name"]

    def to_mcp(self) -> dict[str, Any]:
        return self.entry

    def parse_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        problems = check(self.entry.get("inputSchema"), arguments)
        if problems:
            raise ValidationError([Problem("", problem) for problem in problems])
        return arguments

    async def invoke(self, values: dict[str, Any], context: Context) -> dict[str, Any]:
        raise NotImplementedError

    def result(self, value: Any) -> dict[str, Any]:
        result: dict[str, Any] = value
        return result


class WasmTool(_RoutedTool):
    """A WASM tool: a fresh instance per call under wasmtime, in a thread of this process."""

    def __init__(self, entry: dict[str, Any], package: WasmPackage) -> None:
        super().__init__(entry)
        self.package = package

    async def invoke(self, values: dict[str, Any], context: Context) -> dict[str, Any]:
        cancel = threading.Event()
        call = asyncio.ensure_future(
            asyncio.to_thread(self.package.call, self.name, values, cancel=cancel)
        )
        try:
            return mcp_result(await asyncio.shield(call))
        except asyncio.CancelledError:
            cancel.set()  # the instance traps at its next epoch check
            await asyncio.wait([call])
            raise
        except ToolFailed as error:
            return mcp_error(error.message)
        except (UnknownTool, InvalidArguments) as error:
            raise RpcError(INVALID_PARAMS, str(error)) from None


class PythonTool(_RoutedTool):
    """A Python tool: its call goes to the Pyodide process of its package."""

    def __init__(self, entry: dict[str, Any], runtimes: PythonTools, client: str) -> None:
        super().__init__(entry)
        self.runtimes = runtimes
        self.client = client

    async def invoke(self, values: dict[str, Any], context: Context) -> dict[str, Any]:
        def log(level: str, data: Any, logger: str | None) -> None:
            context.log(level, data, logger)  # type: ignore[arg-type]

        return await self.runtimes.call(
            self.client, self.entry, values, progress=context.progress, log=log
        )


def session_tools(catalog: Catalog, runtimes: PythonTools, client: str) -> list[_RoutedTool]:
    """The tools of one MCP session (`client` keys its python.run sessions)."""
    tools: list[_RoutedTool] = []
    for entry, package in catalog.tools():
        if isinstance(package, WasmPackage):
            tools.append(WasmTool(entry, package))
        else:
            tools.append(PythonTool(entry, runtimes, client))
    return tools
