"""Run WASM tools under CPython with wasmtime: the same ABI and limits as the browser's worker.

Each package compiles its module once (after checking its sha256 and capping its memory); every
call gets a fresh Store and instance, stdin, stdout and stderr as files in a temporary folder of
its own, and a watcher thread that stops it (by bumping the package's engine epoch) at its
deadline, when stdout passes the output limit, or when the caller cancels it. Calls on one package
are serialized, because each stop bumps that package's engine epoch.

stdout and stderr go to files, not to Python callbacks: wasmtime-py's `stdout_custom` calls back
into Python from wasmtime's own threads and intermittently panicked ("panic in a function that
cannot unwind") and aborted the process, which a long-lived server cannot afford.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import wasmtime

from cloche._schema_subset import check
from cloche.wasm_manifest import WasmManifest, WasmTool, load_manifest

from .memory_cap import ModuleRefused, cap_memory
from .outcome import RunRecord, interpret

STDERR_BYTES = 64 * 1024

# How often the watcher looks at the clock, the cancel event and the sizes of stdout and stderr.
# It bounds how late a deadline, a cancellation or an output overrun is noticed, and so (with the
# one write in progress, see _run) how far past their limits the stdout and stderr files grow.
POLL_SECONDS = 0.002


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

    def call(
        self, name: str, arguments: dict[str, Any], cancel: threading.Event | None = None
    ) -> dict[str, Any]:
        """The result object of tool `name`; ToolFailed, UnknownTool or InvalidArguments.

        Setting `cancel` (a threading.Event, from any thread) stops the call within a few
        milliseconds, also while it waits for another call on this package to end, and it then
        fails with ToolFailed ("the tool call was cancelled by the client"). A call whose event
        is set before it starts does not run; one that ends before the stop is noticed returns
        its result.
        """
        tool = self.find(name)
        problems = check(tool.input_schema, arguments)
        if problems:
            raise InvalidArguments(f"{self.manifest.name}.{tool.name}", problems)
        request = json.dumps({"tool": tool.name, "arguments": arguments}).encode()
        if self._acquire(cancel):
            try:
                run = self._run(request, cancel)
            finally:
                self._lock.release()
        else:
            run = RunRecord(exit_code=None, stdout=b"", stderr=b"", stopped="cancelled")
        limits = self.manifest.limits
        return interpret(
            run,
            deadline_ms=limits.deadline_ms,
            output_bytes=limits.output_bytes,
            memory_limit=limits.memory_bytes,
            output_schema=tool.output_schema,
        )

    def _acquire(self, cancel: threading.Event | None) -> bool:
        """Take the package's lock; False, without it, if `cancel` is set first."""
        if cancel is None:
            return self._lock.acquire()
        while not cancel.is_set():
            if self._lock.acquire(timeout=POLL_SECONDS * 10):
                return True
        return False

    def _run(self, request: bytes, cancel: threading.Event | None = None) -> RunRecord:
        limits = self.manifest.limits
        run = RunRecord(exit_code=None, stdout=b"", stderr=b"")
        finished = threading.Event()
        stops: list[str] = []  # why the watcher stopped the run, if it did

        def watch(stdout: Path, stderr: Path) -> None:
            deadline = time.monotonic() + limits.deadline_ms / 1000
            while not finished.wait(POLL_SECONDS):
                try:
                    written = os.stat(stdout).st_size
                except OSError:
                    written = 0
                with contextlib.suppress(OSError):
                    if os.stat(stderr).st_size > STDERR_BYTES:
                        # Only the first STDERR_BYTES are kept, and a module may write on until
                        # its deadline: cut the rest off so that the file stays small on disk
                        # (the module's next writes land past the end and leave a hole).
                        os.truncate(stderr, STDERR_BYTES)
                if cancel is not None and cancel.is_set():
                    stops.append("cancelled")
                elif written > limits.output_bytes:
                    stops.append("output")
                elif time.monotonic() >= deadline:
                    stops.append("deadline")
                else:
                    continue
                self._engine.increment_epoch()  # traps at the instance's next epoch check
                return

        with tempfile.TemporaryDirectory(prefix="cloche-wasm-") as name:
            folder = Path(name)
            (folder / "stdin").write_bytes(request)
            wasi = wasmtime.WasiConfig()
            wasi.argv = [self.manifest.name]
            wasi.stdin_file = str(folder / "stdin")
            wasi.stdout_file = str(folder / "stdout")
            wasi.stderr_file = str(folder / "stderr")
            if self.manifest.scratch_dir:
                scratch = folder / "scratch"
                scratch.mkdir()
                wasi.preopen_dir(str(scratch), self.manifest.scratch_dir)
            store = wasmtime.Store(self._engine)
            store.set_limits(memory_size=limits.memory_bytes)
            store.set_wasi(wasi)
            store.set_epoch_deadline(1)
            linker = wasmtime.Linker(self._engine)
            linker.define_wasi()
            # The watcher bounds the stdout file: the module writes on until the poll after it
            # passes the limit, then until its next epoch check. Wasm code reaches one between
            # any two host calls, and wasmtime's fd_write writes one iovec per call (measured:
            # the first non-empty one), which lies in the module's memory. So the file stays
            # under output_bytes + what the module writes in POLL_SECONDS (about 1 GB/s here,
            # so a few MB) + memory_bytes.
            watcher = threading.Thread(
                target=watch,
                args=(folder / "stdout", folder / "stderr"),
                name=f"cloche-wasm-{self.manifest.name}",
                daemon=True,
            )
            interrupted = False
            try:
                instance = linker.instantiate(store, self._module)
                exports = instance.exports(store)
                start = exports["_start"]
                watcher.start()
                try:
                    assert isinstance(start, wasmtime.Func)
                    start(store)
                    run.exit_code = 0
                except wasmtime.ExitTrap as exit_trap:
                    run.exit_code = exit_trap.code
                except wasmtime.Trap as trap:
                    if trap.trap_code == wasmtime.TrapCode.INTERRUPT:
                        interrupted = True  # by the watcher
                    else:
                        run.trap = _trap_reason(trap)
                except wasmtime.WasmtimeError as error:
                    run.trap = str(error).splitlines()[0]
                memory = exports.get("memory")
                if isinstance(memory, wasmtime.Memory):
                    run.memory_bytes = memory.data_len(store)
            finally:
                finished.set()
                if watcher.ident is not None:
                    watcher.join()
                store.close()  # closes the module's stdout and stderr files
            run.stdout, run.stdout_bytes = _head(folder / "stdout", limits.output_bytes + 1)
            run.stderr, _ = _head(folder / "stderr", STDERR_BYTES)
        # A run the watcher stopped is reported as stopped only if it did not end first.
        if interrupted:
            run.stopped = stops[0] if stops else "deadline"
        elif run.stdout_bytes > limits.output_bytes:
            run.stopped = "output"  # it wrote too much and ended before the watcher looked
        return run


def _head(path: Path, count: int) -> tuple[bytes, int]:
    """The first `count` bytes of the file at `path`, and its size."""
    try:
        with path.open("rb") as file:
            return file.read(count), os.fstat(file.fileno()).st_size
    except FileNotFoundError:
        return b"", 0
