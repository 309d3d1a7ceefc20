"""Run WASM tools under CPython with wasmtime: the same ABI and limits as the browser's worker.

Each package compiles its module once (after checking its sha256 and capping its memory); every
call gets a fresh Store and instance, stdin from a temporary file, stdout and stderr captured in
memory up to the output limit, and an epoch deadline driven by a timer. Calls on one package are
serialized, because the deadline timer and the output stop both bump that package's engine epoch.
"""

from __future__ import annotations

import errno
import hashlib
import json
import tempfile
import threading
from pathlib import Path
from typing import Any

import wasmtime

from cloche._schema_subset import check
from cloche.wasm_manifest import WasmManifest, WasmTool, load_manifest

from .memory_cap import ModuleRefused, cap_memory
from .outcome import RunRecord, interpret

STDERR_BYTES = 64 * 1024


class UnknownTool(Exception):
    def __init__(self, package: str, name: str) -> None:
        super().__init__(name)
        self.message = f"unknown tool {name!r} in package {package!r}"

    def __str__(self) -> str:
        return self.message


class InvalidArguments(Exception):
    def __init__(self, tool: str, problems: list[str]) -> None:
        super().__init__(problems)
        self.message = f"invalid arguments for {tool}: " + "; ".join(problems)

    def __str__(self) -> str:
        return self.message


def _trap_reason(trap: wasmtime.Trap) -> str:
    """The "wasm trap: ..." line of a trap's message (the rest is a backtrace)."""
    lines = [line.strip() for line in trap.message.splitlines()]
    return next((line for line in lines if line.startswith("wasm trap:")), lines[0])


class WasmPackage:
    """One manifest and its compiled module."""

    def __init__(self, manifest: WasmManifest, module: bytes, source: str = "module") -> None:
        digest = hashlib.sha256(module).hexdigest()
        if digest != manifest.sha256:
            raise ModuleRefused(
                f"{source}: sha256 is {digest}, but the manifest says {manifest.sha256}; "
                "refusing to run it"
            )
        capped = cap_memory(module, manifest.limits.memory_bytes)
        config = wasmtime.Config()
        config.epoch_interruption = True
        self.manifest = manifest
        self._engine = wasmtime.Engine(config)
        try:
            self._module = wasmtime.Module(self._engine, capped)
        except wasmtime.WasmtimeError as error:
            raise ModuleRefused(f"{source} does not compile: {error}") from None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, manifest_path: Path) -> WasmPackage:
        """The package of the manifest at `manifest_path`, its module read from beside it."""
        manifest = load_manifest(manifest_path)
        module_path = manifest_path.parent / manifest.module
        try:
            module = module_path.read_bytes()
        except OSError as error:
            raise ModuleRefused(f"{module_path} cannot be read: {error}") from None
        return cls(manifest, module, str(module_path))

    def find(self, name: str) -> WasmTool:
        tool = self.manifest.tool(name)
        if tool is None:
            raise UnknownTool(self.manifest.name, name)
        return tool

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The result object of tool `name`; ToolFailed, UnknownTool or InvalidArguments."""
        tool = self.find(name)
        problems = check(tool.input_schema, arguments)
        if problems:
            raise InvalidArguments(f"{self.manifest.name}.{tool.name}", problems)
        request = json.dumps({"tool": tool.name, "arguments": arguments}).encode()
        with self._lock:
            run = self._run(request)
        limits = self.manifest.limits
        return interpret(
            run,
            deadline_ms=limits.deadline_ms,
            output_bytes=limits.output_bytes,
            memory_limit=limits.memory_bytes,
            output_schema=tool.output_schema,
        )

    def _run(self, request: bytes) -> RunRecord:
        limits = self.manifest.limits
        run = RunRecord(exit_code=None, stdout=b"", stderr=b"")
        stdout = bytearray()
        stderr = bytearray()

        def on_stdout(data: bytes) -> int:
            if run.stopped:
                return -errno.EIO
            stdout.extend(data)
            if len(stdout) > limits.output_bytes:
                run.stopped = "output"
                self._engine.increment_epoch()  # traps at the instance's next epoch check
                return -errno.EIO
            return len(data)

        def on_stderr(data: bytes) -> int:
            stderr.extend(data[: max(0, STDERR_BYTES - len(stderr))])
            return len(data)

        def on_deadline() -> None:
            if run.stopped is None:
                run.stopped = "deadline"
            self._engine.increment_epoch()

        with tempfile.TemporaryDirectory(prefix="cloche-wasm-") as folder:
            stdin = Path(folder) / "stdin"
            stdin.write_bytes(request)
            wasi = wasmtime.WasiConfig()
            wasi.argv = [self.manifest.name]
            wasi.stdin_file = str(stdin)
            wasi.stdout_custom = on_stdout
            wasi.stderr_custom = on_stderr
            if self.manifest.scratch_dir:
                scratch = Path(folder) / "scratch"
                scratch.mkdir()
                wasi.preopen_dir(str(scratch), self.manifest.scratch_dir)
            store = wasmtime.Store(self._engine)
            store.set_limits(memory_size=limits.memory_bytes)
            store.set_wasi(wasi)
            store.set_epoch_deadline(1)
            linker = wasmtime.Linker(self._engine)
            linker.define_wasi()
            timer = threading.Timer(limits.deadline_ms / 1000, on_deadline)
            timer.daemon = True
            try:
                instance = linker.instantiate(store, self._module)
                exports = instance.exports(store)
                start = exports["_start"]
                timer.start()
                try:
                    assert isinstance(start, wasmtime.Func)
                    start(store)
                    run.exit_code = 0
                except wasmtime.ExitTrap as exit_trap:
                    run.exit_code = exit_trap.code
                except wasmtime.Trap as trap:
                    if trap.trap_code != wasmtime.TrapCode.INTERRUPT:
                        run.trap = _trap_reason(trap)
                    elif run.stopped is None:
                        run.stopped = "deadline"
                except wasmtime.WasmtimeError as error:
                    run.trap = str(error).splitlines()[0]
                memory = exports.get("memory")
                if isinstance(memory, wasmtime.Memory):
                    run.memory_bytes = memory.data_len(store)
            finally:
                timer.cancel()
                store.close()
        run.stdout = bytes(stdout)
        run.stderr = bytes(stderr)
        return run
