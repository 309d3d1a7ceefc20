"""The MCP server over its JSON-text entry points: every method, every error code, concurrency,
progress, logging and cancellation."""

import asyncio
import json
import sys
from typing import Annotated, Any, TypedDict

import pytest

from cloche import LATEST_PROTOCOL_VERSION, Context, Field, McpServer, ToolError, tool
from cloche._capture import _RoutingStream


class Sum(TypedDict):
    total: float


@tool(read_only=True)
def add(a: float, b: Annotated[float, Field(maximum=100)] = 0) -> Sum:
    """Add two numbers."""
    return {"total": a + b}


@tool
def fail(kind: str) -> str:
    if kind == "tool":
        raise ToolError("the file is not there")
    raise ValueError("bad things")


@tool
def chatty() -> str:
    print("to stdout")
    print("to stderr", file=sys.stderr)
    return "done"


@tool
def steps(n: int, ctx: Context) -> int:
    for i in range(n):
        ctx.progress(i + 1, n, f"step {i + 1}")
    ctx.info("all steps done")
    ctx.debug("details")
    return n


@tool
def not_json() -> float:
    return float("nan")


class Recorder:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, text: str) -> None:
        self.sent.append(json.loads(text))

    def methods(self) -> list[str]:
        return [m.get("method", "reply") for m in self.sent]


def server(*tools: Any, **kwargs: Any) -> tuple[McpServer, Recorder]:
    sent = Recorder()
    return McpServer(tools or (add, fail, chatty, steps, not_json), send=sent, **kwargs), sent


def request(method: str, params: dict[str, Any] | None = None, id: Any = 1) -> str:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message)


def ask(srv: McpServer, method: str, params: dict[str, Any] | None = None, id: Any = 1) -> Any:
    reply = srv.handle(request(method, params, id))
    assert reply is not None
    return json.loads(reply)


def call(srv: McpServer, name: str, arguments: Any = None, **params: Any) -> Any:
    return ask(srv, "tools/call", {"name": name, "arguments": arguments or {}, **params})


def error_of(reply: dict[str, Any]) -> tuple[int, str]:
    return reply["error"]["code"], reply["error"]["message"]


# -- lifecycle ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2025-11-25", "2025-06-18", "2025-03-26"])
def test_initialize_answers_a_supported_version_with_that_version(version: str) -> None:
    srv, _ = server()
    reply = ask(srv, "initialize", {"protocolVersion": version, "capabilities": {}})
    assert reply == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": True}, "logging": {}},
            "serverInfo": {"name": "cloche", "version": "0.1.0"},
        },
    }


def test_initialize_answers_an_unknown_version_with_the_latest() -> None:
    srv, _ = server(name="demo", version="2.0", title="Demo tools", instructions="Be nice.")
    result = ask(srv, "initialize", {"protocolVersion": "2024-11-05"})["result"]
    assert result["protocolVersion"] == LATEST_PROTOCOL_VERSION == "2025-11-25"
    assert result["serverInfo"] == {"name": "demo", "version": "2.0", "title": "Demo tools"}
    assert result["instructions"] == "Be nice."


def test_initialize_without_a_version_is_invalid_params() -> None:
    srv, _ = server()
    assert error_of(ask(srv, "initialize", {})) == (
        -32602,
        "Invalid params: protocolVersion must be a string",
    )


def test_initialized_notification_gets_no_reply() -> None:
    srv, sent = server()
    note = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert srv.handle(note) is None
    assert srv.initialized
    assert sent.sent == []


def test_ping_answers_an_empty_result_with_the_same_id() -> None:
    srv, _ = server()
    assert ask(srv, "ping", id="abc") == {"jsonrpc": "2.0", "id": "abc", "result": {}}


# -- protocol faults ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("{not json", -32700, "Parse error"),
        ("[]", -32600, "Invalid Request: batches are not supported"),
        ('"hello"', -32600, "Invalid Request: not an object"),
        ('{"jsonrpc": "1.0", "id": 1, "method": "ping"}', -32600, 'jsonrpc must be "2.0"'),
        ('{"jsonrpc": "2.0", "id": true, "method": "ping"}', -32600, "id must be a string"),
        ('{"jsonrpc": "2.0", "id": null, "method": "ping"}', -32600, "id must be a string"),
        ('{"jsonrpc": "2.0", "id": 1, "method": 5}', -32600, "method must be a string"),
        ('{"jsonrpc": "2.0", "id": 1}', -32600, "method must be a string"),
        ('{"jsonrpc": "2.0", "id": 1, "method": "nope"}', -32601, "Method not found: nope"),
        ('{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}', -32602, "must be an obj"),
    ],
)
def test_protocol_faults_are_json_rpc_errors(text: str, code: int, message: str) -> None:
    srv, _ = server()
    reply = srv.handle(text)
    assert reply is not None
    error = json.loads(reply)["error"]
    assert error["code"] == code
    assert message in error["message"]


def test_error_replies_keep_a_valid_id_and_use_null_otherwise() -> None:
    srv, _ = server()
    assert json.loads(srv.handle('{"jsonrpc":"2.0","id":7,"method":"x"}') or "")["id"] == 7
    assert json.loads(srv.handle("{") or "")["id"] is None


def test_unknown_notifications_and_responses_get_no_reply() -> None:
    srv, sent = server()
    assert srv.handle('{"jsonrpc": "2.0", "method": "notifications/whatever"}') is None
    assert srv.handle('{"jsonrpc": "2.0", "id": 3, "result": {}}') is None
    assert sent.sent == []


# -- tools/list ------------------------------------------------------------------------------


def test_tools_list_shows_every_tool_with_its_schemas() -> None:
    srv, _ = server(add)
    assert ask(srv, "tools/list")["result"] == {"tools": [add.to_mcp()]}
    assert add.to_mcp()["outputSchema"]["required"] == ["total"]


def test_tools_list_pages_with_an_opaque_cursor() -> None:
    srv, _ = server(page_size=2)
    first = ask(srv, "tools/list")["result"]
    second = ask(srv, "tools/list", {"cursor": first["nextCursor"]})["result"]
    third = ask(srv, "tools/list", {"cursor": second["nextCursor"]})["result"]
    names = [t["name"] for page in (first, second, third) for t in page["tools"]]
    assert names == ["add", "fail", "chatty", "steps", "not_json"]
    assert "nextCursor" not in third


def test_tools_list_with_a_bad_cursor_is_invalid_params() -> None:
    srv, _ = server()
    assert error_of(ask(srv, "tools/list", {"cursor": "zz"}))[0] == -32602


# -- tools/call -----------------------------------------------------------------------------------


def test_call_returns_structured_content_and_its_json_text() -> None:
    srv, _ = server()
    assert call(srv, "add", {"a": 2, "b": 3.5}) == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {
            "content": [{"type": "text", "text": '{"total": 5.5}'}],
            "structuredContent": {"total": 5.5},
        },
    }


def test_call_without_arguments_uses_the_defaults() -> None:
    srv, _ = server()
    reply = ask(srv, "tools/call", {"name": "steps", "arguments": {"n": 0}})
    assert reply["result"]["structuredContent"] == {"result": 0}
    srv2, _ = server(tool(lambda: 1, name="one"))
    assert ask(srv2, "tools/call", {"name": "one"})["result"]["content"][0]["text"] == "1"


def test_unknown_tool_is_invalid_params() -> None:
    srv, _ = server()
    assert error_of(call(srv, "nope")) == (-32602, "Unknown tool: nope")


def test_invalid_arguments_are_invalid_params_naming_each_field() -> None:
    srv, _ = server()
    reply = call(srv, "add", {"a": "two", "b": 101, "c": 1})
    assert reply["error"] == {
        "code": -32602,
        "message": "Invalid arguments for tool add: c: unknown argument; "
        "a: expected number, got string; b: must be <= 100 (got 101)",
        "data": {
            "errors": [
                {"field": "c", "message": "unknown argument"},
                {"field": "a", "message": "expected number, got string"},
                {"field": "b", "message": "must be <= 100 (got 101)"},
            ]
        },
    }
    assert error_of(call(srv, "add", {}))[1] == "Invalid arguments for tool add: a: is required"


@pytest.mark.parametrize(
    "params", [{}, {"name": 3}, {"name": "add", "arguments": [1]}, {"name": "add", "arguments": 1}]
)
def test_malformed_call_params_are_invalid_params(params: dict[str, Any]) -> None:
    srv, _ = server()
    assert error_of(ask(srv, "tools/call", params))[0] == -32602


def test_a_tool_exception_is_an_error_result_and_an_error_log() -> None:
    srv, sent = server()
    assert call(srv, "fail", {"kind": "crash"})["result"] == {
        "content": [{"type": "text", "text": "ValueError: bad things"}],
        "isError": True,
    }
    [log] = sent.sent
    assert log["method"] == "notifications/message"
    assert log["params"]["level"] == "error"
    assert log["params"]["logger"] == "fail"
    assert 'raise ValueError("bad things")' in log["params"]["data"]["traceback"]


def test_a_tool_error_shows_just_its_message() -> None:
    srv, _ = server()
    assert call(srv, "fail", {"kind": "tool"})["result"] == {
        "content": [{"type": "text", "text": "the file is not there"}],
        "isError": True,
    }


def test_a_result_with_no_json_form_is_an_error_result() -> None:
    srv, _ = server()
    result = call(srv, "not_json")["result"]
    assert result["isError"] is True
    assert "has no JSON form" in result["content"][0]["text"]


def test_printed_output_is_captured_into_the_result() -> None:
    srv, _ = server()
    assert call(srv, "chatty")["result"]["content"] == [
        {"type": "text", "text": "done"},
        {"type": "text", "text": "[stdout]\nto stdout\n"},
        {"type": "text", "text": "[stderr]\nto stderr\n"},
    ]
    assert not isinstance(sys.stdout, _RoutingStream)  # the real streams are back


# -- notifications from tools -------------------------------------------------------------------


def test_progress_is_sent_with_the_callers_token() -> None:
    srv, sent = server()
    call(srv, "steps", {"n": 2}, _meta={"progressToken": "tok"})
    progress = [m["params"] for m in sent.sent if m["method"] == "notifications/progress"]
    assert progress == [
        {"progressToken": "tok", "progress": 1, "total": 2, "message": "step 1"},
        {"progressToken": "tok", "progress": 2, "total": 2, "message": "step 2"},
    ]


def test_no_progress_without_a_token() -> None:
    srv, sent = server()
    call(srv, "steps", {"n": 2})
    assert "notifications/progress" not in sent.methods()


def test_logs_respect_the_level_the_client_set() -> None:
    srv, sent = server()
    call(srv, "steps", {"n": 1})
    assert [m["params"] for m in sent.sent] == [
        {"level": "info", "data": "all steps done", "logger": "steps"}
    ]
    assert ask(srv, "logging/setLevel", {"level": "debug"})["result"] == {}
    sent.sent.clear()
    call(srv, "steps", {"n": 1})
    assert [m["params"]["level"] for m in sent.sent] == ["info", "debug"]
    ask(srv, "logging/setLevel", {"level": "error"})
    sent.sent.clear()
    call(srv, "steps", {"n": 1})
    assert sent.sent == []


def test_set_level_with_an_unknown_level_is_invalid_params() -> None:
    srv, _ = server()
    assert error_of(ask(srv, "logging/setLevel", {"level": "loud"}))[0] == -32602


def test_tools_list_changed_is_sent_once_the_client_initialized() -> None:
    srv, sent = server(add)
    srv.add_tool(fail)
    assert sent.sent == []
    ask(srv, "initialize", {"protocolVersion": "2025-06-18"})
    srv.add_tool(chatty)
    srv.remove_tool("fail")
    assert sent.methods() == ["notifications/tools/list_changed"] * 2
    assert [t["name"] for t in ask(srv, "tools/list")["result"]["tools"]] == ["add", "chatty"]


# -- async tools: concurrency and cancellation ---------------------------------------------------


def test_async_tool_through_sync_handle_without_a_loop() -> None:
    @tool
    async def later(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    srv, _ = server(later)
    assert call(srv, "later", {"x": 4})["result"]["structuredContent"] == {"result": 8}


def test_concurrent_async_calls_run_concurrently() -> None:
    events: dict[str, asyncio.Event] = {}

    @tool
    async def meet(me: str, other: str) -> str:
        events[me].set()
        await events[other].wait()  # deadlocks unless both calls run at once
        print(f"{me} met {other}")
        return me

    async def main() -> list[Any]:
        events.update(a=asyncio.Event(), b=asyncio.Event())
        srv, _ = server(meet)
        replies = await asyncio.wait_for(
            asyncio.gather(
                srv.handle_async(
                    request(
                        "tools/call", {"name": "meet", "arguments": {"me": "a", "other": "b"}}, 1
                    )
                ),
                srv.handle_async(
                    request(
                        "tools/call", {"name": "meet", "arguments": {"me": "b", "other": "a"}}, 2
                    )
                ),
            ),
            timeout=5,
        )
        return [json.loads(r) for r in replies]

    first, second = asyncio.run(main())
    assert first["id"] == 1
    assert first["result"]["content"] == [
        {"type": "text", "text": "a"},
        {"type": "text", "text": "[stdout]\na met b\n"},
    ]
    assert second["result"]["content"][1] == {"type": "text", "text": "[stdout]\nb met a\n"}


def test_cancelling_a_running_async_call_stops_it_without_a_reply() -> None:
    started = asyncio.Event()
    seen: dict[str, Any] = {}

    @tool
    async def wait_forever(ctx: Context) -> str:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            seen["cancelled"] = ctx.cancelled
            seen["reason"] = ctx.cancel_reason
        return "never"

    async def main() -> tuple[str | None, str | None, Any]:
        srv, _ = server(wait_forever, add)
        running = asyncio.ensure_future(
            srv.handle_async(request("tools/call", {"name": "wait_forever"}, "call-1"))
        )
        await asyncio.wait_for(started.wait(), 5)
        cancel = {"requestId": "call-1", "reason": "user pressed stop"}
        note = await srv.handle_async(
            json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": cancel})
        )
        reply = await asyncio.wait_for(running, 5)
        after = await srv.handle_async(
            request("tools/call", {"name": "add", "arguments": {"a": 1}})
        )
        return note, reply, json.loads(after or "")

    note, reply, after = asyncio.run(main())
    assert (note, reply) == (None, None)
    assert seen == {"cancelled": True, "reason": "user pressed stop"}
    assert after["result"]["structuredContent"] == {"total": 1}


@pytest.mark.parametrize("request_id", [99, "x", [1], {"a": 1}, None])
def test_cancelling_an_unknown_or_malformed_request_is_ignored(request_id: Any) -> None:
    srv, sent = server()
    params = {"requestId": request_id}
    note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}
    assert srv.handle(json.dumps(note)) is None
    assert sent.sent == []


def test_a_request_id_still_running_cannot_be_reused() -> None:
    gate = asyncio.Event()

    @tool
    async def hold() -> None:
        await gate.wait()

    async def main() -> tuple[Any, Any]:
        srv, _ = server(hold)
        first = asyncio.ensure_future(srv.handle_async(request("tools/call", {"name": "hold"}, 5)))
        await asyncio.sleep(0.01)
        second = await srv.handle_async(request("tools/call", {"name": "hold"}, 5))
        gate.set()
        return json.loads(await first or ""), json.loads(second or "")

    first, second = asyncio.run(main())
    assert first["result"] == {"content": []}
    assert error_of(second)[0] == -32600


def test_sync_handle_inside_a_running_loop_replies_to_async_calls_through_send() -> None:
    @tool
    async def later(x: int) -> int:
        await asyncio.sleep(0.01)
        return x + 1

    async def main() -> tuple[str | None, list[dict[str, Any]], str | None]:
        srv, sent = server(later, add)
        scheduled = srv.handle(request("tools/call", {"name": "later", "arguments": {"x": 1}}, 9))
        immediate = srv.handle(request("tools/call", {"name": "add", "arguments": {"a": 1}}, 10))
        for _ in range(100):
            if sent.sent:
                break
            await asyncio.sleep(0.01)
        return scheduled, sent.sent, immediate

    scheduled, sent, immediate = asyncio.run(main())
    assert scheduled is None
    assert sent == [
        {
            "jsonrpc": "2.0",
            "id": 9,
            "result": {
                "content": [{"type": "text", "text": '{"result": 2}'}],
                "structuredContent": {"result": 2},
            },
        }
    ]
    assert json.loads(immediate or "")["id"] == 10
