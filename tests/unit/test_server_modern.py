"""MCP 2026-07-28 on the one server: the per-request envelope and each way it can be wrong,
`server/discover`, stamped results, per-request logs, `subscriptions/listen`, and a 2025 session
on the same server at the same time."""

import asyncio
import json
from typing import Any

import pytest
from test_server import Recorder, add, ask, request, server, steps

from cloche import Context, McpServer, tool

MODERN = "2026-07-28"
VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPS_KEY = "io.modelcontextprotocol/clientCapabilities"
SERVER_INFO = "io.modelcontextprotocol/serverInfo"
SUBSCRIPTION = "io.modelcontextprotocol/subscriptionId"


def envelope(**extra: Any) -> dict[str, Any]:
    meta = {
        VERSION_KEY: MODERN,
        CAPS_KEY: {},
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    }
    return {**meta, **extra}


def modern(srv: McpServer, method: str, params: dict[str, Any] | None = None, id: Any = 1) -> Any:
    params = dict(params or {})
    params["_meta"] = {**envelope(), **params.get("_meta", {})}
    return ask(srv, method, params, id)


def test_discover_names_the_modern_version_capabilities_and_the_server() -> None:
    srv, _ = server(instructions="Use the tools.")
    result = modern(srv, "server/discover")["result"]
    assert result["resultType"] == "complete"
    assert result["supportedVersions"] == [MODERN]
    assert result["capabilities"] == {"tools": {"listChanged": True}, "logging": {}}
    assert result["instructions"] == "Use the tools."
    assert result["_meta"][SERVER_INFO]["name"] == "cloche"
    assert result["ttlMs"] >= 0 and result["cacheScope"] in ("public", "private")


def test_a_modern_request_needs_no_initialize_and_its_results_are_stamped() -> None:
    srv, _ = server()
    listed = modern(srv, "tools/list")["result"]
    assert {t["name"] for t in listed["tools"]} >= {"add", "steps"}
    assert listed["resultType"] == "complete" and listed["ttlMs"] == 0
    assert listed["_meta"][SERVER_INFO]["name"] == "cloche"
    called = modern(srv, "tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}})["result"]
    assert called["structuredContent"] == {"total": 5}
    assert called["resultType"] == "complete"
    assert SERVER_INFO in called["_meta"]
    assert srv.protocol_version is None  # no session was opened


@pytest.mark.parametrize(
    ("meta", "code", "words"),
    [
        ({VERSION_KEY: MODERN}, -32602, CAPS_KEY),
        ({VERSION_KEY: 2026, CAPS_KEY: {}}, -32602, "must be a string"),
        ({VERSION_KEY: "2099-01-01", CAPS_KEY: {}}, -32022, "Unsupported protocol version"),
        ({VERSION_KEY: "2025-11-25", CAPS_KEY: {}}, -32022, "through initialize"),
        ({VERSION_KEY: MODERN, CAPS_KEY: []}, -32602, "must be an object"),
        (
            {VERSION_KEY: MODERN, CAPS_KEY: {}, "io.modelcontextprotocol/logLevel": "loud"},
            -32602,
            "not a log level",
        ),
    ],
)
def test_each_envelope_fault_is_named(meta: dict[str, Any], code: int, words: str) -> None:
    srv, _ = server()
    error = ask(srv, "tools/list", {"_meta": meta})["error"]
    assert error["code"] == code
    assert words in error["message"]
    if code == -32022:
        assert error["data"] == {"supported": [MODERN], "requested": meta[VERSION_KEY]}


def test_modern_only_methods_without_an_envelope_are_told_what_is_missing() -> None:
    srv, _ = server()
    for method in ("server/discover", "subscriptions/listen"):
        error = ask(srv, method, {})["error"]
        assert error["code"] == -32602 and "params._meta" in error["message"]


@pytest.mark.parametrize("method", ["ping", "logging/setLevel", "resources/list"])
def test_methods_the_revision_removed_are_not_found(method: str) -> None:
    srv, _ = server()
    error = modern(srv, method, {"level": "debug"})["error"]
    assert error["code"] == -32601 and method in error["message"]


def test_logs_go_only_to_a_request_that_asks_and_at_its_level() -> None:
    srv, sent = server()
    modern(srv, "tools/call", {"name": "steps", "arguments": {"n": 1}})
    assert "notifications/message" not in sent.methods()
    own = Recorder()
    text = request(
        "tools/call",
        {
            "name": "steps",
            "arguments": {"n": 2},
            "_meta": envelope(**{"io.modelcontextprotocol/logLevel": "debug", "progressToken": 7}),
        },
    )
    reply = asyncio.run(srv.handle_async(text, send=own))
    assert json.loads(reply or "")["result"]["structuredContent"] == {"result": 2}
    assert own.methods() == ["notifications/progress"] * 2 + ["notifications/message"] * 2
    assert [m["params"]["level"] for m in own.sent[2:]] == ["info", "debug"]
    assert "notifications/message" not in sent.methods()  # the request's own channel only


def test_a_tool_exception_is_logged_only_when_asked() -> None:
    srv, sent = server()
    result = modern(srv, "tools/call", {"name": "fail", "arguments": {"kind": "python"}})["result"]
    assert result["isError"] is True
    assert sent.sent == []


def test_extension_methods_answer_both_eras_and_are_stamped_when_modern() -> None:
    srv, _ = server()

    async def echo(params: dict[str, Any]) -> dict[str, Any]:
        return {"echo": params.get("value")}

    srv.add_method("cloche/echo", echo)
    legacy = json.loads(asyncio.run(srv.handle_async(request("cloche/echo", {"value": 1}))) or "")
    assert legacy["result"] == {"echo": 1}
    text = request("cloche/echo", {"value": 2, "_meta": envelope()})
    stamped = json.loads(asyncio.run(srv.handle_async(text)) or "")["result"]
    assert stamped["echo"] == 2 and stamped["resultType"] == "complete"


def listen_text(id: Any, **notifications: Any) -> str:
    params = {"notifications": notifications, "_meta": envelope()}
    return request("subscriptions/listen", params, id)


def test_a_subscription_is_acknowledged_then_told_of_list_changes_until_cancelled() -> None:
    async def scenario() -> tuple[Recorder, Recorder, str | None]:
        srv, sent = server()
        own = Recorder()
        text = listen_text("sub-1", toolsListChanged=True, promptsListChanged=True)
        listening = asyncio.ensure_future(srv.handle_async(text, own))
        await asyncio.sleep(0)
        assert srv.subscriptions == 1
        srv.add_tool(add)  # replaced: the list changed
        srv.remove_tool("fail")
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled"}
        srv.handle(json.dumps({**cancel, "params": {"requestId": "sub-1"}}))
        reply = await listening
        assert srv.subscriptions == 0
        srv.remove_tool("chatty")  # nobody is told any more
        return sent, own, reply

    sent, own, reply = asyncio.run(scenario())
    assert reply is None  # cancelled by the client: no answer
    assert sent.sent == []  # no session, so nothing untagged
    ack, *changes = own.sent
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert ack["params"]["_meta"] == {SUBSCRIPTION: "sub-1"}
    assert ack["params"]["notifications"] == {"toolsListChanged": True}
    assert [m["method"] for m in changes] == ["notifications/tools/list_changed"] * 2
    assert all(m["params"]["_meta"] == {SUBSCRIPTION: "sub-1"} for m in changes)


def test_a_subscription_without_tools_hears_nothing_and_ends_gracefully_at_shutdown() -> None:
    async def scenario() -> tuple[Recorder, Any]:
        srv, _ = server()
        own = Recorder()
        listening = asyncio.ensure_future(srv.handle_async(listen_text(5), own))
        await asyncio.sleep(0)
        srv.remove_tool("fail")
        srv.end_subscriptions()
        return own, json.loads(await listening or "")

    own, reply = asyncio.run(scenario())
    assert [m["method"] for m in own.sent] == ["notifications/subscriptions/acknowledged"]
    assert own.sent[0]["params"]["notifications"] == {}
    assert reply["id"] == 5
    assert reply["result"]["resultType"] == "complete"
    assert reply["result"]["_meta"][SUBSCRIPTION] == 5


def test_both_eras_on_one_server_each_get_their_own() -> None:
    async def scenario() -> tuple[Recorder, Recorder, dict[str, Any]]:
        srv, sent = server()
        init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "old"}}
        await srv.handle_async(request("initialize", init, id="i"))
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await srv.handle_async(json.dumps(initialized))
        own = Recorder()
        text = listen_text(9, toolsListChanged=True)
        listening = asyncio.ensure_future(srv.handle_async(text, own))
        await asyncio.sleep(0)
        legacy = json.loads(await srv.handle_async(request("tools/list", {}, id=2)) or "")
        srv.remove_tool("fail")
        srv.end_subscriptions()
        await listening
        return sent, own, legacy

    sent, own, legacy = asyncio.run(scenario())
    assert "resultType" not in legacy["result"]  # a 2025 answer stays a 2025 answer
    assert sent.methods() == ["notifications/tools/list_changed"]
    assert "params" not in sent.sent[0] or "_meta" not in sent.sent[0]["params"]
    assert [m["method"] for m in own.sent][-1] == "notifications/tools/list_changed"


@tool
async def wait_forever(ctx: Context) -> str:
    await asyncio.sleep(3600)
    return "never"


def test_cancel_stops_a_modern_call_without_a_reply() -> None:
    async def scenario() -> str | None:
        srv = McpServer([wait_forever, steps])
        text = request("tools/call", {"name": "wait_forever", "_meta": envelope()}, id=3)
        running = asyncio.ensure_future(srv.handle_async(text))
        await asyncio.sleep(0.01)
        srv.cancel(3, "the stream closed")
        return await running

    assert asyncio.run(scenario()) is None


def test_a_listen_id_in_use_is_refused() -> None:
    async def scenario() -> dict[str, Any]:
        srv, _ = server()
        text = listen_text(1, toolsListChanged=True)
        first = asyncio.ensure_future(srv.handle_async(text, Recorder()))
        await asyncio.sleep(0)
        second = json.loads(await srv.handle_async(listen_text(1), Recorder()) or "")
        srv.end_subscriptions()
        await first
        return second

    assert asyncio.run(scenario())["error"]["code"] == -32600


def test_listen_through_sync_handle_without_a_loop_is_an_internal_error() -> None:
    srv, _ = server()
    reply = json.loads(srv.handle(listen_text(1)) or "")
    assert reply["error"]["code"] == -32603
    assert "handle_async" in reply["error"]["message"]


def test_open_subscriptions_are_bounded() -> None:
    from cloche.server import MAX_SUBSCRIPTIONS

    async def scenario() -> dict[str, Any]:
        srv, _ = server()
        open_ = [
            asyncio.ensure_future(srv.handle_async(listen_text(i), Recorder()))
            for i in range(MAX_SUBSCRIPTIONS)
        ]
        await asyncio.sleep(0)
        refused = json.loads(await srv.handle_async(listen_text("one-more"), Recorder()) or "")
        srv.end_subscriptions()
        await asyncio.gather(*open_)
        return refused

    error = asyncio.run(scenario())["error"]
    assert error["code"] == -32603 and "at most" in error["message"]
