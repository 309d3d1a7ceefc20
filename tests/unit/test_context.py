"""The Context a tool receives: progress, logs and cancellation reach the server's sinks."""

import asyncio
from typing import Any

import pytest

from cloche import Context


def test_a_bare_context_accepts_everything_silently() -> None:
    ctx = Context()
    ctx.progress(1, 2, "half")
    ctx.info("hello")
    assert not ctx.cancelled
    ctx.check_cancelled()


def test_progress_and_logs_go_to_the_sinks() -> None:
    events: list[tuple[Any, ...]] = []
    ctx = Context(
        tool_name="t",
        on_progress=lambda *a: events.append(("progress", *a)),
        on_log=lambda *a: events.append(("log", *a)),
    )
    ctx.progress(3)
    ctx.warning({"k": 1})
    ctx.log("critical", "x", logger="other")
    assert events == [
        ("progress", 3, None, None),
        ("log", "warning", {"k": 1}, "t"),
        ("log", "critical", "x", "other"),
    ]


def test_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        Context().log("loud", "x")  # type: ignore[arg-type]


def test_check_cancelled_raises_once_cancelled() -> None:
    ctx = Context()
    ctx._mark_cancelled("stop")
    assert ctx.cancelled and ctx.cancel_reason == "stop"
    with pytest.raises(asyncio.CancelledError):
        ctx.check_cancelled()
