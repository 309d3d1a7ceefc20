"""The `Context` a tool can ask for: progress, logging, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
LOG_LEVELS: tuple[LogLevel, ...] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)
ProgressSink = Callable[[float, float | None, str | None], None]
LogSink = Callable[[LogLevel, Any, str | None], None]


class Context:
    """Handed to a tool that declares a parameter annotated `Context` (it is not in the schema).

    Constructed by the server for each call; `Context()` with no arguments is a silent stand-in
    for calling a tool function directly in a test.
    """

    def __init__(
        self,
        *,
        tool_name: str = "",
        request_id: str | int | None = None,
        on_progress: ProgressSink | None = None,
        on_log: LogSink | None = None,
    ) -> None:
        self.tool_name = tool_name
        self.request_id = request_id
        self._on_progress = on_progress
        self._on_log = on_log
        self._cancelled = False
        self.cancel_reason: str | None = None

    @property
    def cancelled(self) -> bool:
        """True once the client cancelled this call (`notifications/cancelled`)."""
        return self._cancelled

    def check_cancelled(self) -> None:
        """Raise `asyncio.CancelledError` if the call was cancelled: for loops in async tools."""
        if self._cancelled:
            raise asyncio.CancelledError(self.cancel_reason or "cancelled by the client")

    def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Report progress; sent only when the client asked for it with a progress token."""
        if self._on_progress is not None:
            self._on_progress(done, total, message)

    def log(self, level: LogLevel, data: Any, logger: str | None = None) -> None:
        """Send a log message (`notifications/message`) at or above the client's level."""
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LOG_LEVELS)}")
        if self._on_log is not None:
            self._on_log(level, data, logger or self.tool_name or None)

    def debug(self, data: Any) -> None:
        self.log("debug", data)

    def info(self, data: Any) -> None:
        self.log("info", data)

    def warning(self, data: Any) -> None:
        self.log("warning", data)

    def error(self, data: Any) -> None:
        self.log("error", data)

    def _mark_cancelled(self, reason: str | None) -> None:
        self._cancelled = True
        self.cancel_reason = reason
