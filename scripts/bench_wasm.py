"""Bench: sha256 of 10 MB in the WASM hash tool (wasmtime) against the same C built natively (gcc).

    .venv/bin/python scripts/bench_wasm.py [--mb 10] [--runs 5]

Both run the whole tool (read the JSON request on stdin, parse it, hash, write the result), from
tool_packages/wasm/hash/hash.c, in the same run; the line printed last is the median ratio
native_time / wasm_time (1.0 means as fast as native; the target is >= 0.5).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py_runtime"))

from cloche_server.wasm import WasmPackage  # noqa: E402

HASH = ROOT / "tool_packages" / "wasm" / "hash"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    text = ("0123456789abcdef" * (args.mb * 2**20 // 16))[: args.mb * 10**6]
    request = json.dumps({"tool": "sha256", "arguments": {"text": text}}).encode()
    expected = hashlib.sha256(text.encode()).hexdigest()
    with tempfile.TemporaryDirectory() as folder:
        native = Path(folder) / "hash"
        include = ROOT / "tool_packages" / "wasm" / "include"
        command = ["gcc", "-O2", f"-I{include}", "-o", str(native), str(HASH / "hash.c")]
        subprocess.run(command, check=True)
        package = WasmPackage.load(HASH / "manifest.json")
        package.call("sha256", {"text": "warm-up"})
        native_times, wasm_times = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            out = subprocess.run([str(native)], input=request, capture_output=True, check=True)
            native_times.append(time.perf_counter() - started)
            assert json.loads(out.stdout)["hex"] == expected
            started = time.perf_counter()
            result = package.call("sha256", {"text": text})
            wasm_times.append(time.perf_counter() - started)
            assert result["hex"] == expected
    native_ms = statistics.median(native_times) * 1000
    wasm_ms = statistics.median(wasm_times) * 1000
    print(f"sha256 of {args.mb} MB, whole tool, median of {args.runs}:")
    print(f"  native (gcc -O2)      {native_ms:8.1f} ms")
    print(f"  wasm (wasmtime, -O2)  {wasm_ms:8.1f} ms")
    print(f"wasm/native speed ratio: {native_ms / wasm_ms:.2f}x (target >= 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
