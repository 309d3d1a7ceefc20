"""WASM tools under CPython (wasmtime, the `cloche[wasm]` extra): the same ABI as the browser."""

from .memory_cap import ModuleRefused, cap_memory
from .outcome import ToolFailed
from .runner import InvalidArguments, UnknownTool, WasmPackage

__all__ = [
    "InvalidArguments",
    "ModuleRefused",
    "ToolFailed",
    "UnknownTool",
    "WasmPackage",
    "cap_memory",
]
