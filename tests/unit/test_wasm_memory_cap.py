import pytest
import wasmtime
from wasm_helpers import TOOL_PACKAGES

from cloche_server.wasm import ModuleRefused, cap_memory

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
        ("(module (memory 20))", "at least"),
        ("(module (memory i64 1))", "64-bit"),
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
