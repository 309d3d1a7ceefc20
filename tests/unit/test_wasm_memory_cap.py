import hashlib
import json
from pathlib import Path

import pytest
import wasmtime
from wasm_helpers import FIXTURES, TOOL_PACKAGES

from cloche_server.wasm import ModuleRefused, WasmPackage, cap_memory

PAGE = 65536


def memory_limits(module: bytes) -> tuple[int, int | None]:
    compiled = wasmtime.Module(wasmtime.Engine(), module)
    [memory] = [e.type for e in compiled.exports if isinstance(e.type, wasmtime.MemoryType)]
    return memory.limits.min, memory.limits.max


def wat(text: str) -> bytes:
    return bytes(wasmtime.wat2wasm(text))


def test_a_wasi_libc_module_gets_the_limit_as_its_maximum() -> None:
    module = (TOOL_PACKAGES / "hash" / "hash.wasm").read_bytes()
    assert memory_limits(module)[1] is None  # as built: it could grow without end
    minimum, maximum = memory_limits(cap_memory(module, 16 * PAGE))
    assert maximum == 16
    assert minimum <= 16


def test_a_smaller_declared_maximum_is_kept() -> None:
    module = wat('(module (memory (export "memory") 1 4))')
    assert memory_limits(cap_memory(module, 16 * PAGE)) == (1, 4)


def test_growth_past_the_cap_fails_inside_the_module() -> None:
    module = cap_memory(
        wat(
            '(module (memory (export "memory") 1) (func (export "grow") (result i32) '
            "(memory.grow (i32.const 8))))"
        ),
        4 * PAGE,
    )
    store = wasmtime.Store()
    instance = wasmtime.Instance(store, wasmtime.Module(store.engine, module), [])
    grow = instance.exports(store)["grow"]
    assert isinstance(grow, wasmtime.Func)
    assert grow(store) == -1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('(module (import "env" "memory" (memory 1)))', "imports its memory"),
        (
            "(module (memory 20))",
            "at least 1310720 bytes of memory, more than its limit of 1048576",
        ),
        ("(module (memory i64 1))", "64-bit"),
        ("(module (memory 1) (memory 1))", "defines 2 memories; exactly one is supported"),
        ("(module (memory 1 2 shared))", "memory is shared; only a plain 32-bit one"),
    ],
)
def test_what_cannot_be_capped_is_refused(text: str, reason: str) -> None:
    module = wat(text)
    with pytest.raises(ModuleRefused, match=reason):
        cap_memory(module, 16 * PAGE)


def test_garbage_is_refused() -> None:
    with pytest.raises(ModuleRefused, match="not a WebAssembly module"):
        cap_memory(b"hello world", PAGE)
    with pytest.raises(ModuleRefused, match="truncated"):
        cap_memory(wat("(module (memory 1))")[:-1], PAGE)


def test_the_runner_refuses_a_forbidden_memory_before_anything_runs(tmp_path: Path) -> None:
    # A command module that would otherwise run, with its memory imported instead of defined.
    module = wat(
        '(module (import "env" "memory" (memory 1)) (export "memory" (memory 0))'
        ' (func (export "_start")))'
    )
    manifest = json.loads((FIXTURES / "misbehave" / "manifest.json").read_text())
    manifest["sha256"] = hashlib.sha256(module).hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "misbehave.wasm").write_bytes(module)
    with pytest.raises(ModuleRefused, match=r"^the module imports its memory; the ABI has modules"):
        WasmPackage.load(tmp_path / "manifest.json")
