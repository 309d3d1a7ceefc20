"""Per-call capture of stdout and stderr that concurrent calls do not mix.

`sys.stdout` and `sys.stderr` are swapped, while any capture is active, for streams that write to
the buffer held in a context variable. asyncio copies the context into each task, so every
concurrent tool call writes to its own buffer; code outside any capture writes to the real streams.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TextIO

_current: ContextVar[Captured | None] = ContextVar("cloche_captured_output", default=None)
_active = 0
_originals: dict[str, TextIO] = {}


@dataclass
class Captured:
    """What one call printed. Read `stdout`/`stderr` after the `with` block, or during it."""

    _out: io.StringIO = field(default_factory=io.StringIO)
    _err: io.StringIO = field(default_factory=io.StringIO)

    @property
    def stdout(self) -> str:
        return self._out.getvalue()

    @property
    def stderr(self) -> str:
        return self._err.getvalue()


class _RoutingStream(io.TextIOBase):
    def __init__(self, name: str, fallback: TextIO) -> None:
        self._name = name
        self._fallback = fallback

    def _target(self) -> TextIO:
        captured = _current.get()
        if captured is None:
            return self._fallback
        return captured._out if self._name == "stdout" else captured._err

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


def _install() -> None:
    global _active
    if _active == 0:
        for name in ("stdout", "stderr"):
            original = getattr(sys, name)
            _originals[name] = original
            setattr(sys, name, _RoutingStream(name, original))
    _active += 1


def _uninstall() -> None:
    global _active
    _active -= 1
    if _active == 0:
        for name, original in _originals.items():
            if isinstance(getattr(sys, name), _RoutingStream):
                setattr(sys, name, original)
        _originals.clear()


@contextmanager
def captured_output() -> Iterator[Captured]:
    """Capture what the current task (or thread of control) prints, inside the `with` block."""
    captured = Captured()
    _install()
    token = _current.set(captured)
    try:
        yield captured
    finally:
        _current.reset(token)
        _uninstall()
