"""Reproduce wasmtime-py's panic with `stdout_custom`, and show that file capture avoids it.

    .venv/bin/python scripts/wasm_output_repro.py [--runs 80] [--calls 1] [--jobs 2]
        [--manifest tool_packages/wasm/hash/manifest.json] [--tool md5] [--arguments JSON]

Runs the same WASM tool call in `--runs` fresh Python processes for each way of capturing output,
`--calls` calls per process, and counts the processes that did not end cleanly: a non-zero exit,
a signal (SIGABRT is exit 134 from a shell) or "panicked" on stderr, and whether each failed
during its calls or after them, at exit. The ways:

- custom: stdout and stderr through `WasiConfig.stdout_custom`/`stderr_custom` Python callbacks,
  as cloche_server.wasm's runner captured them before (fresh Store per call, closed after it);
- file: the runner as it is now (`WasmPackage.call`, stdout and stderr in temporary files).

The panic reported was `thread 'tokio-rt-worker' panicked ... panic in a function that cannot
unwind` (wasmtime 50.0.1). Whether it shows depends on the machine and its load: the figures are
what this run saw, not a rate to quote.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py_runtime"))


def _custom_calls(manifest_path: Path, tool: str, arguments: dict[str, object], calls: int) -> str:
    """`calls` runs of the tool with Python output callbacks; the last run's stdout."""
    import wasmtime

    from cloche.wasm_manifest import load_manifest

    manifest = load_manifest(manifest_path)
    config = wasmtime.Config()
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module(engine, (manifest_path.parent / manifest.module).read_bytes())
    request = json.dumps({"tool": tool, "arguments": arguments}).encode()
    stdout = bytearray()
    for _ in range(calls):
        stdout.clear()

        def on_stdout(data: bytes) -> int:
            stdout.extend(data)
            return len(data)

        def on_stderr(data: bytes) -> int:
            return len(data)

        with tempfile.TemporaryDirectory(prefix="cloche-repro-") as folder:
            (Path(folder) / "stdin").write_bytes(request)
            wasi = wasmtime.WasiConfig()
            wasi.argv = [manifest.name]
            wasi.stdin_file = str(Path(folder) / "stdin")
            wasi.stdout_custom = on_stdout
            wasi.stderr_custom = on_stderr
            store = wasmtime.Store(engine)
            store.set_wasi(wasi)
            store.set_epoch_deadline(1)
            linker = wasmtime.Linker(engine)
            linker.define_wasi()
            try:
                start = linker.instantiate(store, module).exports(store)["_start"]
                assert isinstance(start, wasmtime.Func)
                start(store)
            except wasmtime.ExitTrap:
                pass
            finally:
                store.close()
    return stdout.decode()


def _file_calls(manifest_path: Path, tool: str, arguments: dict[str, object], calls: int) -> str:
    from cloche_server.wasm import ToolFailed, WasmPackage

    package = WasmPackage.load(manifest_path)
    result: object = None
    for _ in range(calls):
        try:
            result = package.call(tool, arguments)
        except ToolFailed as error:
            result = {"error": error.message}
    return json.dumps(result)


def _child(args: argparse.Namespace) -> int:
    run = _custom_calls if args.child == "custom" else _file_calls
    # Flushed at once: a process that fails after printing it failed at exit, not during a call.
    print(run(args.manifest, args.tool, json.loads(args.arguments), args.calls), flush=True)
    return 0


def _one(args: argparse.Namespace, mode: str) -> tuple[int, str, str]:
    command = [sys.executable, __file__, "--child", mode, "--calls", str(args.calls)]
    command += ["--manifest", str(args.manifest), "--tool", args.tool]
    command += ["--arguments", args.arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    return done.returncode, done.stdout, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=80, help="processes per way (80)")
    parser.add_argument("--calls", type=int, default=1, help="calls per process (1)")
    parser.add_argument("--jobs", type=int, default=2, help="processes at a time (2)")
    parser.add_argument(
        "--manifest", type=Path, default=ROOT / "tool_packages/wasm/hash/manifest.json"
    )
    parser.add_argument("--tool", default="md5")
    parser.add_argument("--arguments", default='{"text": "abc"}', metavar="JSON")
    parser.add_argument("--child", choices=["custom", "file"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)
    print(f"{args.runs} processes per way, {args.calls} call(s) each, {args.jobs} at a time")
    for mode in ["custom", "file"]:
        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = list(pool.map(_one, [args] * args.runs, [mode] * args.runs))
        failed = [o for o in outcomes if o[0] != 0 or "panicked" in o[2]]
        codes: dict[int, int] = {}
        for code, _, _ in failed:
            codes[code] = codes.get(code, 0) + 1
        panics = sum("panicked" in stderr for _, _, stderr in outcomes)
        at_exit = sum(bool(stdout.strip()) for _, stdout, _ in failed)
        outputs = {stdout.strip() for _, stdout, _ in outcomes if stdout.strip()}
        print(
            f"{mode:>6}: {len(failed)} of {args.runs} processes failed "
            f"(exit codes {codes or '-'}; 'panicked' on stderr in {panics}; "
            f"{at_exit} after all their calls were done, {len(failed) - at_exit} during them); "
            f"distinct results: {len(outputs)}"
        )
        if failed:
            print("        first failure's stderr: " + failed[0][2].strip()[-300:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
