"""python.run: run Python code, with its output and the last expression's value.

Code that raises fails the call (an MCP tool error, `isError: true`) with the traceback of the
user's code and what it printed before, so that a model sees that it failed.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import itertools
import json
import linecache
import traceback
from collections import OrderedDict
from types import CodeType
from typing import Annotated, Any, TypedDict

from cloche import Context, Field, ToolError, captured_output, packages, tool

__all__ = ["run"]

MAX_SESSIONS = 32
MAX_OUTPUT_CHARS = 100_000
_sessions: OrderedDict[str, dict[str, Any]] = OrderedDict()
_cell_numbers = itertools.count(1)


class RunResult(TypedDict):
    """What a run printed and produced.

    Attributes:
        stdout: Everything the code printed to standard output.
        stderr: Everything the code printed to standard error (warnings included).
        value: repr() of the last expression's value; null when the code ends with a statement
            or the value is None.
        value_json: The last expression's value as JSON, when it has a JSON form; else null.
    """

    stdout: str
    stderr: str
    value: str | None
    value_json: Any


# Not open world: the code it runs has no network, no storage and nothing of the page (its worker
# is locked down before any tool code runs, docs/security.md), and it changes nothing outside its
# own session, so the agent runs it without asking.
@tool(title="Run Python", destructive=False, open_world=False)
async def run(
    code: Annotated[str, Field(min_length=1)],
    session: Annotated[str, Field(min_length=1, max_length=100)] | None = None,
    reset: bool = False,
    ctx: Context = Context(),  # noqa: B008 - a silent stand-in when the function is called directly
) -> RunResult:
    """Run Python code (Python 3) and return what it printed and produced.

    The value of a final expression is returned like in a notebook cell. Top-level `await` works.
    Code that raises makes the call fail with the traceback and what was printed before it.
    Besides the standard library, the packages the site offers are installed when the code
    imports them (or with `await micropip.install("name")`).
    A call with a `session` name keeps its variables, functions and imports for the next call
    with the same name; without one, every call starts in a fresh interpreter. Sessions share
    nothing: each has an interpreter of its own. Only a few sessions are kept at once; starting
    one more closes the least recently used, whose variables are then gone. Long work can
    report how far it got with the built-in `progress(done, total=None, message=None)`.

    Args:
        code: The Python source to run.
        session: Name of a namespace kept between calls (e.g. one per conversation).
        reset: Start the session over, in a fresh interpreter, before running.
    """
    try:
        # What the code imports and the site offers is installed first, as in a notebook.
        await packages.load_imports(code)
    except Exception as exc:
        raise ToolError(f"the packages this code imports could not be installed: {exc}") from None
    namespace = _namespace(session, reset)
    # A builtin rather than a global, so a variable of the user's named `progress` wins.
    namespace["__builtins__"] = {**vars(builtins), "progress": ctx.progress}
    filename = f"<cell-{next(_cell_numbers)}>"
    value: Any = None
    error: str | None = None
    with captured_output() as output:
        try:
            value = await _execute(code, filename, namespace)
        except SyntaxError as exc:
            error = "".join(traceback.format_exception_only(exc))
        except (Exception, KeyboardInterrupt, SystemExit) as exc:
            error = _user_traceback(exc, filename)
    if error is not None:
        printed = [
            f"[{name}]\n{_clip(text)}"
            for name, text in (("stdout", output.stdout), ("stderr", output.stderr))
            if text
        ]
        raise ToolError("\n".join([error, *printed]))
    return {
        "stdout": _clip(output.stdout),
        "stderr": _clip(output.stderr),
        "value": None if value is None else _clip(_safe_repr(value)),
        "value_json": _as_json(value),
    }


def _namespace(session: str | None, reset: bool) -> dict[str, Any]:
    if session is None:
        return {"__name__": "__main__"}
    if reset or session not in _sessions:
        _sessions[session] = {"__name__": "__main__"}
    _sessions.move_to_end(session)
    while len(_sessions) > MAX_SESSIONS:
        _sessions.popitem(last=False)  # the least recently used session goes
    return _sessions[session]


async def _execute(code: str, filename: str, namespace: dict[str, Any]) -> Any:
    # The source goes into linecache so tracebacks show the lines of the cell.
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = ast.parse(code, filename, "exec")
    last = tree.body[-1] if tree.body else None
    expression = None
    if isinstance(last, ast.Expr):
        tree.body.pop()
        expression = ast.Expression(last.value)
    await _evaluate(compile(tree, filename, "exec", flags=flags), namespace)
    if expression is None:
        return None
    return await _evaluate(compile(expression, filename, "eval", flags=flags), namespace)


async def _evaluate(code: CodeType, namespace: dict[str, Any]) -> Any:
    """Run compiled code; code with a top-level `await` compiles to a coroutine to await."""
    result = eval(code, namespace)
    if code.co_flags & inspect.CO_COROUTINE:
        result = await result
    return result


def _user_traceback(exc: BaseException, filename: str) -> str:
    """The traceback from the first frame of the user's cell on, without this module's frames."""
    tb = exc.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<cell-"):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:
        return f"<repr failed: {type(exc).__name__}: {exc}>"


def _as_json(value: Any) -> Any:
    if value is None:
        return None
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    if len(text) > MAX_OUTPUT_CHARS:
        return None
    return json.loads(text)


def _clip(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    dropped = len(text) - MAX_OUTPUT_CHARS
    return text[:MAX_OUTPUT_CHARS] + f"\n... [{dropped} more characters cut]"
