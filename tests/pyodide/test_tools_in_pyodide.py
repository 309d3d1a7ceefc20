"""The MCP server and the first-party tools answer inside Pyodide as they do under CPython."""

from typing import Any

from pytest_pyodide import run_in_pyodide

TOOL_PACKAGES = [
    "cloche",
    "cloche-tools-python",
    "cloche-tools-text",
    "cloche-tools-regex",
    "cloche-tools-json",
    "cloche-tools-csv",
    "cloche-tools-date",
]


@run_in_pyodide(packages=TOOL_PACKAGES)
def _discover(selenium: object) -> tuple[list[str], list[str]]:
    from cloche import discover

    found = discover()
    return [t.name for t in found.tools], [str(p) for p in found.problems]


def test_entry_points_find_every_first_party_tool(selenium: object) -> None:
    names, problems = _discover(selenium)
    assert problems == []
    assert names == [
        "csv.summary",
        "date.add",
        "date.diff",
        "date.info",
        "date.now",
        "json.format",
        "json.query",
        "python.run",
        "regex.replace",
        "regex.search",
        "text.stats",
    ]


@run_in_pyodide(packages=TOOL_PACKAGES)
def _sync_session(selenium: object) -> list[Any]:
    import json

    from cloche import McpServer, discover

    server = McpServer(discover().tools)
    replies = []

    def ask(id: int, method: str, params: dict[str, Any]) -> None:
        message = {"jsonrpc": "2.0", "id": id, "method": method, "params": params}
        replies.append(json.loads(server.handle(json.dumps(message)) or "null"))

    ask(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}})
    ask(2, "tools/list", {})
    calls = [
        ("text.stats", {"text": "One two. Three!", "top": 1}),
        ("regex.replace", {"pattern": r"(\d+)", "replacement": r"<\1>", "text": "a1b22"}),
        ("json.query", {"data": {"a": [{"b": 1}, {"b": 2}]}, "path": "$.a[?@.b > 1].b"}),
        ("csv.summary", {"text": "x,y\n1,a\n3,b\n"}),
        ("date.add", {"start": "2024-01-31", "months": 1}),
        ("text.stats", {"text": 5}),
        ("nope", {}),
    ]
    for id, (name, arguments) in enumerate(calls, start=3):
        ask(id, "tools/call", {"name": name, "arguments": arguments})
    # No Python code is running on the loop here: an async tool is scheduled on the WebLoop.
    server.send = lambda text: None
    params = {"name": "python.run", "arguments": {"code": "1"}}
    message = {"jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": params}
    replies.append([server.handle(json.dumps(message)), len(server._scheduled)])
    return replies


def test_sync_handle_answers_the_first_party_tools(selenium: object) -> None:
    replies = _sync_session(selenium)
    init, listing, stats, replaced, queried, summary, added, invalid, unknown, later = replies
    assert init["result"]["protocolVersion"] == "2025-06-18"
    assert len(listing["result"]["tools"]) == 11
    assert stats["result"]["structuredContent"]["sentences"] == 2
    assert stats["result"]["structuredContent"]["top_words"] == [{"word": "one", "count": 1}]
    assert replaced["result"]["structuredContent"] == {"text": "a<1>b<22>", "replacements": 2}
    assert queried["result"]["structuredContent"]["values"] == [2]
    assert summary["result"]["structuredContent"]["columns"][0]["mean"] == 2.0
    assert added["result"]["structuredContent"] == {"result": "2024-02-29", "weekday": "Thursday"}
    assert invalid["error"]["code"] == -32602
    assert "text: expected string, got integer" in invalid["error"]["message"]
    assert unknown["error"] == {"code": -32602, "message": "Unknown tool: nope"}
    assert later == [None, 1]


@run_in_pyodide(packages=TOOL_PACKAGES)
async def _python_run(selenium: object) -> list[Any]:
    import asyncio
    import json

    from cloche import McpServer, discover

    sent: list[Any] = []
    server = McpServer(discover().tools, send=lambda text: sent.append(json.loads(text)))

    def call(id: int, code: str, session: str | None = None) -> str:
        arguments: dict[str, Any] = {"code": code}
        if session:
            arguments["session"] = session
        params = {"name": "python.run", "arguments": arguments}
        return json.dumps({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})

    first = await server.handle_async(call(1, "import sys\nx = 6\nprint(sys.platform)", "s"))
    second = await server.handle_async(call(2, "x * 7", "s"))
    failed = await server.handle_async(call(3, "1/0"))
    # The sync entry schedules async tools on Pyodide's loop and answers through `send`.
    scheduled = server.handle(call(4, "import asyncio\nawait asyncio.sleep(0.01)\n'late'"))
    for _ in range(200):
        if sent:
            break
        await asyncio.sleep(0.01)
    return [json.loads(r or "null") for r in (first, second, failed)] + [scheduled, sent]


def test_python_run_answers_through_both_entry_points(selenium: object) -> None:
    first, second, failed, scheduled, sent = _python_run(selenium)
    assert first["result"]["structuredContent"]["stdout"] == "emscripten\n"
    assert second["result"]["structuredContent"]["value_json"] == 42
    assert failed["result"]["isError"] is True
    assert failed["result"]["content"][0]["text"].endswith("ZeroDivisionError: division by zero\n")
    assert scheduled is None
    assert [m["id"] for m in sent] == [4]
    assert sent[0]["result"]["structuredContent"]["value"] == "'late'"


@run_in_pyodide(packages=["cloche"])
async def _concurrent_and_cancelled(selenium: object) -> list[Any]:
    import asyncio
    import json

    from cloche import Context, McpServer, tool

    events = {"a": asyncio.Event(), "b": asyncio.Event()}
    seen: list[bool] = []

    @tool
    async def meet(me: str, other: str) -> str:
        events[me].set()
        await events[other].wait()
        return me

    @tool
    async def forever(ctx: Context) -> None:
        try:
            await asyncio.sleep(60)
        finally:
            seen.append(ctx.cancelled)

    server = McpServer([meet, forever])

    def call(id: int, name: str, arguments: dict[str, Any]) -> str:
        params = {"name": name, "arguments": arguments}
        return json.dumps({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})

    met = await asyncio.wait_for(
        asyncio.gather(
            server.handle_async(call(1, "meet", {"me": "a", "other": "b"})),
            server.handle_async(call(2, "meet", {"me": "b", "other": "a"})),
        ),
        timeout=10,
    )
    running = asyncio.ensure_future(server.handle_async(call(3, "forever", {})))
    await asyncio.sleep(0.05)
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}
    await server.handle_async(json.dumps(cancel))
    cancelled_reply = await asyncio.wait_for(running, 10)
    return [json.loads(m or "null")["result"]["content"] for m in met] + [
        cancelled_reply,
        seen,
    ]


def test_async_calls_run_concurrently_and_cancel_in_pyodide(selenium: object) -> None:
    a, b, cancelled_reply, seen = _concurrent_and_cancelled(selenium)
    assert (a, b) == ([{"type": "text", "text": "a"}], [{"type": "text", "text": "b"}])
    assert cancelled_reply is None
    assert seen == [True]
