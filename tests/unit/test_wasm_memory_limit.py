import pytest
import wasmtime

from cloche_server.wasm_memory_limit import (
    PAGE,
    MemoryLimitError,
    limit_memory,
    memory_limits,
)

GROW = (
    '(func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))'
    '(func (export "size") (result i32) (memory.size))'
)


def wat(text: str) -> bytes:
    return bytes(wasmtime.wat2wasm(text))


def compiled_limits(module: bytes) -> tuple[int, int | None]:
    """The limits as wasmtime reads them: the rewritten module must still be valid."""
    compiled = wasmtime.Module(wasmtime.Engine(), module)
    [memory] = [e.type for e in compiled.exports if isinstance(e.type, wasmtime.MemoryType)]
    return memory.limits.min, memory.limits.max


def test_a_memory_without_a_maximum_gets_the_cap() -> None:
    module = wat(f'(module (memory (export "memory") 2) {GROW})')
    capped = limit_memory(module, 8 * PAGE)
    assert len(capped) == len(module) + 1  # the maximum's byte, and the section is one longer
    assert compiled_limits(capped) == (2, 8)
    assert memory_limits(capped) == (2, 8)


def test_a_larger_maximum_is_lowered_and_a_smaller_one_kept() -> None:
    pyodide_like = wat('(module (memory (export "memory") 480 65536))')
    assert compiled_limits(limit_memory(pyodide_like, 2 * 2**30)) == (480, 32768)
    small = wat('(module (memory (export "memory") 1 4))')
    assert compiled_limits(limit_memory(small, 16 * PAGE)) == (1, 4)


def test_growth_past_the_cap_fails_inside_the_module_and_under_it_works() -> None:
    module = limit_memory(wat(f'(module (memory (export "memory") 1) {GROW})'), 4 * PAGE)
    store = wasmtime.Store()
    exports = wasmtime.Instance(store, wasmtime.Module(store.engine, module), []).exports(store)
    grow, size = exports["grow"], exports["size"]
    assert isinstance(grow, wasmtime.Func) and isinstance(size, wasmtime.Func)
    assert grow(store, 8) == -1
    assert grow(store, 3) == 1
    assert size(store) == 4


def test_padded_leb128_lengths_are_read_and_every_other_byte_kept() -> None:
    # Linkers pad section sizes to 5 bytes; the rewrite writes minimal encodings instead.
    header = b"\0asm\x01\0\0\0"
    padded_memory = bytes([5, 0x84, 0x80, 0x80, 0x80, 0x00, 1, 0, 0x81, 0x00])  # min 1, padded
    export_section = bytes([7, 10, 1, 6]) + b"memory" + bytes([2, 0])  # export memory 0
    module = header + padded_memory + export_section
    assert compiled_limits(module) == (1, None)
    capped = limit_memory(module, 3 * PAGE)
    assert capped == header + bytes([5, 4, 1, 1, 1, 3]) + export_section
    assert compiled_limits(capped) == (1, 3)


def test_a_cap_of_4_gib_is_the_largest_32_bit_maximum() -> None:
    module = wat('(module (memory (export "memory") 1))')
    capped = limit_memory(module, 2**32)
    assert len(capped) == len(module) + 3  # 65536 takes three LEB128 bytes
    assert compiled_limits(capped) == (1, 65536)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('(module (import "env" "memory" (memory 1)))', "imports its memory"),
        ("(module (memory 1 4 shared))", r"shared \(a threads build\)"),
        ("(module (memory i64 1))", "64-bit"),
        ("(module (memory 1) (memory 1))", "defines 2 memories"),
        ("(module)", "defines no memory"),
        ("(module (memory 20))", "at least 1.25 MiB of memory, more than the cap of 1 MiB"),
    ],
)
def test_what_cannot_be_capped_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(MemoryLimitError, match=reason):
        limit_memory(wat(text), 16 * PAGE)


def test_imports_of_other_kinds_are_skipped() -> None:
    module = wat(
        '(module (import "env" "f" (func)) (import "env" "t" (table 1 funcref))'
        ' (import "env" "g" (global (mut i32))) (memory (export "memory") 1))'
    )
    assert compiled_limits(limit_memory(module, 2 * PAGE)) == (1, 2)


def test_a_cap_that_is_not_whole_pages_or_too_big_is_refused() -> None:
    module = wat("(module (memory 1))")
    for bad in (PAGE + 1, 0, 2**32 + PAGE):
        with pytest.raises(MemoryLimitError, match="whole number of 64 KiB pages up to 4 GiB"):
            limit_memory(module, bad)


def test_garbage_is_refused() -> None:
    with pytest.raises(MemoryLimitError, match="not a WebAssembly module"):
        limit_memory(b"hello world", PAGE)
    with pytest.raises(MemoryLimitError, match="truncated"):
        limit_memory(wat("(module (memory 1))")[:-1], PAGE)
