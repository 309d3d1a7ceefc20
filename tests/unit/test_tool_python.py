"""python.run: output, the last expression's value, tracebacks and sessions."""

import asyncio
import json
from typing import Any

import pytest
from _tool_support import import_tool_package

from cloche import McpServer, ToolError

python = import_tool_package("python")


def run(code: str, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = asyncio.run(python.run(code, **kwargs))
    return result


def failure(code: str, **kwargs: Any) -> str:
    """The message of a call whose code raised: a tool error."""
    with pytest.raises(ToolError) as raised:
        run(code, **kwargs)
    return str(raised.value)


def test_returns_printed_output_and_the_last_expression() -> None:
    result = run("import sys\nprint('hi')\nprint('warn', file=sys.stderr)\n{'a': [1, 2]}")
    assert result == {
        "stdout": "hi\n",
        "stderr": "warn\n",
        "value": "{'a': [1, 2]}",
        "value_json": {"a": [1, 2]},
    }


def test_a_value_without_json_form_has_only_its_repr() -> None:
    result = run("{1, 2}")
    assert (result["value"], result["value_json"]) == ("{1, 2}", None)
    assert run("float('nan')")["value_json"] is None


def test_a_final_statement_or_none_gives_no_value() -> None:
    assert run("x = 5")["value"] is None
    assert run("None")["value"] is None


def test_an_exception_fails_the_call_with_the_users_traceback_and_the_output_so_far() -> None:
    error = failure("import sys\nprint('before')\nprint('oops', file=sys.stderr)\n1 / 0")
    assert error.startswith("Traceback (most recent call last):\n")
    assert "line 4, in <module>" in error
    assert error.endswith(
        "ZeroDivisionError: division by zero\n\n[stdout]\nbefore\n\n[stderr]\noops\n"
    )
    assert "cloche_tools_python" not in error


def test_the_traceback_shows_the_lines_of_the_cell() -> None:
    error = failure("def f():\n    return 1 / 0\nf()")
    assert "    return 1 / 0" in error
    assert error.endswith("ZeroDivisionError: division by zero\n")


def test_a_syntax_error_points_at_the_line() -> None:
    error = failure("x = (1,\ny = 2")
    assert "SyntaxError" in error
    assert "line 1" in error


def test_sys_exit_is_reported_not_raised() -> None:
    assert failure("import sys; sys.exit(3)").endswith("SystemExit: 3\n")


def test_top_level_await_works() -> None:
    assert run("import asyncio\nawait asyncio.sleep(0)\nawait asyncio.sleep(0, 'ok')")[
        "value"
    ] == repr("ok")


def test_a_session_keeps_its_namespace_and_reset_clears_it() -> None:
    run("counter = 1\ndef bump():\n    global counter\n    counter += 1", session="s1")
    run("bump()", session="s1")
    assert run("counter", session="s1")["value"] == "2"
    assert "NameError" in failure("counter", session="other")
    assert "NameError" in failure("counter")
    assert "NameError" in failure("counter", session="s1", reset=True)


def test_least_recently_used_sessions_are_dropped_beyond_the_limit() -> None:
    run("keep = 1", session="keep")
    for i in range(python.MAX_SESSIONS):
        run("x = 1", session=f"filler-{i}")
    assert "NameError" in failure("keep", session="keep")


def test_huge_output_is_cut() -> None:
    stdout = run("print('x' * 200_000)")["stdout"]
    assert len(stdout) < 100_100
    assert stdout.endswith("more characters cut]")


def call_through_mcp(code: str) -> dict[str, Any]:
    """The result of a python.run call made through the MCP server."""
    server = McpServer([python.run.renamed("python.run")])
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "python.run", "arguments": {"code": code}},
    }
    result: dict[str, Any] = json.loads(server.handle(json.dumps(message)) or "")["result"]
    return result


def test_through_mcp_the_run_result_is_structured() -> None:
    result = call_through_mcp("print(1+1)\n6*7")
    assert result["structuredContent"] == {
        "stdout": "2\n",
        "stderr": "",
        "value": "42",
        "value_json": 42,
    }
    assert len(result["content"]) == 1  # the run's own output is not repeated


def test_through_mcp_code_that_raises_is_a_tool_error() -> None:
    result = call_through_mcp("print('so far')\n{}['k']")
    assert result["isError"] is True
    assert "structuredContent" not in result
    [text] = [part["text"] for part in result["content"]]
    assert text.startswith("Traceback (most recent call last):\n")
    assert text.endswith("KeyError: 'k'\n\n[stdout]\nso far\n")


@pytest.mark.parametrize("arguments", [{"code": ""}, {}, {"code": "1", "session": ""}])
def test_empty_code_or_session_is_refused(arguments: dict[str, Any]) -> None:
    server = McpServer([python.run])
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    message["params"] = {"name": "run", "arguments": arguments}  # type: ignore[assignment]
    assert json.loads(server.handle(json.dumps(message)) or "")["error"]["code"] == -32602


def test_code_reports_progress_through_the_builtin_and_may_shadow_it() -> None:
    from cloche import Context

    seen: list[tuple[float, float | None, str | None]] = []
    context = Context(on_progress=lambda done, total, message: seen.append((done, total, message)))
    code = "for i in range(3):\n    progress(i + 1, 3, f'step {i + 1}')\n'done'"
    result: dict[str, Any] = asyncio.run(python.run(code, ctx=context))
    assert result["value"] == "'done'"
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]
    shadowed = run("progress = 'mine'\nprogress", session="s")
    assert shadowed["value"] == "'mine'"
    assert run("progress", session="s")["value"] == "'mine'"


def test_run_says_it_reaches_nothing_outside_the_sandbox() -> None:
    # True since the workers are locked down (docs/security.md): the code it runs has no network,
    # no storage and nothing of the page, so the page runs it without asking.
    annotations = python.run.to_mcp()["annotations"]
    assert annotations["openWorldHint"] is False
    assert annotations["destructiveHint"] is False
