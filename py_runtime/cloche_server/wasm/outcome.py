"""What a finished WASM tool run means: a result object, or an error the model should see.

The rules are the ABI's (docs/wasm-tools.md) and the browser's wasm-outcome.js follows them too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cloche._schema_subset import check


class ToolFailed(Exception):
    """The tool ran and failed; the message is for the model (`isError: true`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass
class RunRecord:
    """Facts about one finished run, whatever the runtime."""

    exit_code: int | None  # None when the run did not exit (a trap or a stop)
    stdout: bytes
    stderr: bytes
    stopped: str | None = None  # "deadline", "output" or "cancelled" when the host stopped it
    trap: str | None = None  # the trap's message
    memory_bytes: int = 0  # the memory in use when it ended
    stdout_bytes: int = 0  # how much it wrote on stdout (stdout may hold only the start of it)


def _mib(count: int) -> str:
    return f"{count / 2**20:g} MiB" if count >= 2**20 else f"{count} bytes"


def _stderr_tail(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    return f"; stderr: {text[-500:]}" if text else ""


def interpret(
    run: RunRecord,
    *,
    deadline_ms: int,
    output_bytes: int,
    memory_limit: int,
    output_schema: dict[str, Any] | None,
) -> dict[str, Any]:
    """The tool's result object, or ToolFailed saying what went wrong."""
    if run.stopped == "output":
        raise ToolFailed(f"the tool's output exceeded its limit of {_mib(output_bytes)}")
    if run.stopped == "deadline":
        raise ToolFailed(f"the tool did not finish within its deadline of {deadline_ms} ms")
    if run.stopped == "cancelled":
        raise ToolFailed("the tool call was cancelled by the client")
    near_limit = run.memory_bytes * 4 >= memory_limit * 3
    if run.trap is not None:
        if near_limit:
            raise ToolFailed(
                f"the tool ran out of memory (limit {_mib(memory_limit)}) and crashed: {run.trap}"
            )
        raise ToolFailed(f"the tool crashed: {run.trap}{_stderr_tail(run.stderr)}")
    try:
        value = json.loads(run.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        value = error
    if run.exit_code != 0:
        if isinstance(value, dict) and isinstance(value.get("error"), str):
            raise ToolFailed(value["error"])
        memory = f" near its memory limit of {_mib(memory_limit)}" if near_limit else ""
        raise ToolFailed(
            f"the tool exited with status {run.exit_code}{memory} without an error message"
            + _stderr_tail(run.stderr)
        )
    if isinstance(value, Exception):
        raise ToolFailed(f"the tool wrote invalid JSON on stdout: {value}")
    if not isinstance(value, dict):
        raise ToolFailed("the tool's result is not a JSON object")
    problems = check(output_schema, value) if output_schema else []
    if problems:
        raise ToolFailed(
            "the tool's result does not match its outputSchema: " + "; ".join(problems)
        )
    return value


def mcp_result(value: dict[str, Any]) -> dict[str, Any]:
    """A `tools/call` result for a result object."""
    text = json.dumps(value, ensure_ascii=False)
    return {"content": [{"type": "text", "text": text}], "structuredContent": value}


def mcp_error(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}
