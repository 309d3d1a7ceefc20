"""Lower the memory maximum a WebAssembly module declares for itself: the Python worker's heap cap.

pyodide.asm.wasm defines its own memory (480 to 65,536 pages, i.e. up to 4 GiB) and imports none,
so nothing the page does from JavaScript limits it. The build rewrites the memory section's maximum
instead; every other byte is kept, so the result is the same for the same input. What cannot be
capped this way (an imported, shared or 64-bit memory, several memories, a minimum above the cap)
is refused with a message that says why. Tool modules are capped per call by the WASM runtime
(cloche_server/wasm/memory_cap.py); this is the build-time counterpart, with no wasmtime needed.
"""

from __future__ import annotations

PAGE = 65536
MAX_PAGES = 65536  # a 32-bit memory's limit: 4 GiB
_MAGIC = b"\0asm\x01\0\0\0"
_IMPORT_SECTION = 2
_MEMORY_SECTION = 5


class MemoryLimitError(Exception):
    """A module whose memory maximum cannot be rewritten; the message says why."""

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
            raise MemoryLimitError("the module is truncated or malformed (bad LEB128)")
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
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _sections(module: bytes) -> list[tuple[int, int, int]]:
    """(id, start of the section, end of its payload) for each section."""
    if module[:8] != _MAGIC:
        raise MemoryLimitError("not a WebAssembly module (bad magic number or version)")
    sections = []
    at = 8
    while at < len(module):
        size, start = _leb(module, at + 1)
        if start + size > len(module):
            raise MemoryLimitError("the module is truncated (a section runs past its end)")
        sections.append((module[at], at, start + size))
        at = start + size
    return sections


def _payload(module: bytes, start: int, end: int) -> bytes:
    _, payload_start = _leb(module, start + 1)
    return module[payload_start:end]


def _skip_ref_type(data: bytes, at: int) -> int:
    # funcref/externref are one byte; `(ref null? ht)` (0x63/0x64) is followed by a heap type.
    if data[at] in (0x63, 0x64):
        return _leb(data, at + 1)[1]
    return at + 1


def _skip_limits(data: bytes, at: int) -> int:
    flags = data[at]
    _, at = _leb(data, at + 1)
    return _leb(data, at)[1] if flags & 1 else at


def _imports_memory(payload: bytes) -> bool:
    count, at = _leb(payload, 0)
    for _ in range(count):
        for _name in range(2):  # module name, field name
            length, at = _leb(payload, at)
            at += length
        kind = payload[at]
        at += 1
        if kind == 0:  # function: type index
            _, at = _leb(payload, at)
        elif kind == 1:  # table: reference type, limits
            at = _skip_limits(payload, _skip_ref_type(payload, at))
        elif kind == 2:
            return True
        elif kind == 3:  # global: value type, mutability
            at = _skip_ref_type(payload, at) + 1
        elif kind == 4:  # tag: attribute, type index
            _, at = _leb(payload, at + 1)
        else:
            raise MemoryLimitError(f"the module has an import of unknown kind {kind}")
    return False


def _own_memory(module: bytes) -> tuple[int, int, int, int | None]:
    """The module's one memory: (section start, section end, minimum, maximum or None)."""
    found = None
    for section, start, end in _sections(module):
        if section == _IMPORT_SECTION and _imports_memory(_payload(module, start, end)):
            raise MemoryLimitError(
                "the module imports its memory, so its host sets the maximum: "
                "there is nothing to rewrite in the module"
            )
        if section == _MEMORY_SECTION:
            found = (start, end, _payload(module, start, end))
    if found is None:
        raise MemoryLimitError("the module defines no memory")
    start, end, payload = found
    count, at = _leb(payload, 0)
    if count != 1:
        raise MemoryLimitError(f"the module defines {count} memories; exactly one is supported")
    flags = payload[at]
    if flags & ~1:
        kind = "shared (a threads build)" if flags & 2 else "64-bit" if flags & 4 else "unknown"
        raise MemoryLimitError(
            f"the module's memory is {kind}; only a plain 32-bit memory can be capped"
        )
    minimum, at = _leb(payload, at + 1)
    maximum = None
    if flags & 1:
        maximum, at = _leb(payload, at)
    if at != len(payload):
        raise MemoryLimitError("the module's memory section is malformed")
    return start, end, minimum, maximum


def memory_limits(module: bytes) -> tuple[int, int | None]:
    """The module's own memory limits in pages: (minimum, maximum or None)."""
    _, _, minimum, maximum = _own_memory(module)
    return minimum, maximum


def limit_memory(module: bytes, maximum_bytes: int) -> bytes:
    """The module with its own memory's maximum at most `maximum_bytes` (whole 64 KiB pages);
    a smaller maximum the module declares is kept."""
    if maximum_bytes % PAGE or not 0 < maximum_bytes <= MAX_PAGES * PAGE:
        raise MemoryLimitError(
            f"a memory maximum must be a whole number of 64 KiB pages up to 4 GiB, "
            f"not {maximum_bytes} bytes"
        )
    start, end, minimum, declared = _own_memory(module)
    limit = maximum_bytes // PAGE
    if minimum > limit:
        raise MemoryLimitError(
            f"the module needs at least {minimum * PAGE / 2**20:g} MiB of memory, "
            f"more than the cap of {maximum_bytes / 2**20:g} MiB"
        )
    maximum = limit if declared is None else min(declared, limit)
    payload = b"\x01\x01" + _encode_leb(minimum) + _encode_leb(maximum)
    section = bytes([_MEMORY_SECTION]) + _encode_leb(len(payload)) + payload
    return module[:start] + section + module[end:]
