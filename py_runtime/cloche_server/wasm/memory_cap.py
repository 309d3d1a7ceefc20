"""Cap a module's memory before it is compiled, so it cannot grow past the manifest's limit.

wasi-libc modules define their own memory with no maximum and grow it with `memory.grow`, which
the host never sees. So the host rewrites the memory section's limits to a maximum of the limit
(the smaller of that and the module's own maximum) and refuses what it cannot cap: an imported,
shared or 64-bit memory, more than one memory, or a minimum above the limit. Every other byte is
kept. The browser's wasm-memory-cap.js does the same.
"""

from __future__ import annotations

PAGE = 65536
MAGIC = b"\0asm\x01\0\0\0"
_IMPORT_SECTION = 2
_MEMORY_SECTION = 5


class ModuleRefused(Exception):
    """A module the runtime will not run; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _leb(data: bytes, at: int) -> tuple[int, int]:
    """An unsigned LEB128 at `at`: (value, position after it)."""
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ModuleRefused("the module is truncated or malformed (bad LEB128)")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _encode_leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _skip_name(data: bytes, at: int) -> int:
    length, at = _leb(data, at)
    return at + length


def _skip_limits(data: bytes, at: int) -> int:
    flags = data[at]
    _, at = _leb(data, at + 1)
    if flags & 1:
        _, at = _leb(data, at)
    return at


def _check_imports(payload: bytes) -> None:
    count, at = _leb(payload, 0)
    for _ in range(count):
        at = _skip_name(payload, at)
        at = _skip_name(payload, at)
        kind = payload[at]
        at += 1
        if kind == 0:  # function: type index
            _, at = _leb(payload, at)
        elif kind == 1:  # table: reference type, limits
            at = _skip_limits(payload, at + 1)
        elif kind == 2:
            raise ModuleRefused(
                "the module imports its memory; the ABI has modules define their own memory"
            )
        elif kind == 3:  # global: value type, mutability
            at += 2
        elif kind == 4:  # tag: attribute, type index
            _, at = _leb(payload, at + 1)
        else:
            raise ModuleRefused(f"the module has an import of unknown kind {kind}")


def _capped_memory(payload: bytes, limit_pages: int, limit_bytes: int) -> bytes:
    count, at = _leb(payload, 0)
    if count != 1:
        raise ModuleRefused(f"the module defines {count} memories; exactly one is supported")
    flags = payload[at]
    if flags & ~1:
        kind = "shared" if flags & 2 else "64-bit" if flags & 4 else f"flagged {flags:#x}"
        raise ModuleRefused(f"the module's memory is {kind}; only a plain 32-bit one is supported")
    minimum, at = _leb(payload, at + 1)
    maximum = limit_pages
    if flags & 1:
        declared, at = _leb(payload, at)
        maximum = min(declared, limit_pages)
    if at != len(payload):
        raise ModuleRefused("the module's memory section is malformed")
    if minimum > limit_pages:
        raise ModuleRefused(
            f"the module needs at least {minimum * PAGE} bytes of memory, "
            f"more than its limit of {limit_bytes} bytes (limits.memoryBytes)"
        )
    return _encode_leb(1) + b"\x01" + _encode_leb(minimum) + _encode_leb(maximum)


def cap_memory(module: bytes, limit_bytes: int) -> bytes:
    """The module with its memory's maximum set to at most `limit_bytes` (a multiple of 64 KiB)."""
    if module[:8] != MAGIC:
        raise ModuleRefused("not a WebAssembly module (bad magic number or version)")
    limit_pages = limit_bytes // PAGE
    out = bytearray(module[:8])
    at = 8
    while at < len(module):
        section = module[at]
        size, start = _leb(module, at + 1)
        end = start + size
        if end > len(module):
            raise ModuleRefused("the module is truncated (a section runs past its end)")
        payload = module[start:end]
        if section == _IMPORT_SECTION:
            _check_imports(payload)
        if section == _MEMORY_SECTION:
            payload = _capped_memory(payload, limit_pages, limit_bytes)
            out += bytes([section]) + _encode_leb(len(payload)) + payload
        else:
            out += module[at:end]
        at = end
    return bytes(out)
