"""The worker-side bridge inside Pyodide: JSON text in and out, and installs at run time from the
wheels' bytes (the worker fetches nothing; here the test plays the page and fetches them)."""

from typing import Any

from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["cloche", "micropip"])
async def _bridge_and_install(selenium: object) -> dict[str, Any]:
    import base64
    import json

    import js  # type: ignore[import-not-found]
    from cloche.worker import PythonWorker

    sent: list[str] = []
    worker = PythonWorker(sent.append)

    async def ask(id: int, method: str, params: dict[str, Any]) -> Any:
        message = {"jsonrpc": "2.0", "id": id, "method": method, "params": params}
        return json.loads(await worker.handle(json.dumps(message)))

    async def wheel(file_name: str) -> dict[str, str]:
        response = await js.fetch(f"/{file_name}")
        data = bytes((await response.arrayBuffer()).to_py())
        return {"fileName": file_name, "base64": base64.b64encode(data).decode()}

    await ask(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}})
    before = [t["name"] for t in (await ask(2, "tools/list", {}))["result"]["tools"]]
    text = await wheel("cloche_tools_text-0.1.0-py3-none-any.whl")
    csv = await wheel("cloche_tools_csv-0.1.0-py3-none-any.whl")
    first = await ask(3, "cloche/install", {"wheels": [text]})
    second = await ask(4, "cloche/install", {"wheels": [csv]})
    after = [t["name"] for t in (await ask(5, "tools/list", {}))["result"]["tools"]]
    call = await ask(6, "tools/call", {"name": "text.stats", "arguments": {"text": "a b c"}})
    by_name = await ask(7, "cloche/install", {"requirements": ["cloche-tools-json"]})
    not_a_wheel = await ask(
        8,
        "cloche/install",
        {"wheels": [{"fileName": "fake-1.0-py3-none-any.whl", "base64": "UEsFBg=="}]},
    )
    return {
        "before": before,
        "first": first["result"],
        "second": second["result"],
        "after": after,
        "call_is_error": call["result"].get("isError", False),
        "by_name": by_name["error"]["message"],
        "not_a_wheel": not_a_wheel["error"]["message"],
        "list_changed": sum('"notifications/tools/list_changed"' in text for text in sent),
    }


def test_tool_wheels_install_at_runtime_and_serve_calls(selenium: object) -> None:
    outcome = _bridge_and_install(selenium)
    assert outcome["before"] == []
    assert outcome["first"] == {"packages": ["cloche-tools-text"], "tools": ["text.stats"]}
    assert outcome["second"] == {"packages": ["cloche-tools-csv"], "tools": ["csv.summary"]}
    assert outcome["after"] == ["text.stats", "csv.summary"]
    assert outcome["call_is_error"] is False
    assert "the worker fetches nothing" in outcome["by_name"]
    assert outcome["not_a_wheel"].startswith("installing fake failed:")
    assert outcome["list_changed"] == 2


@run_in_pyodide(packages=["cloche", "micropip"])
async def _modern_era(selenium: object) -> dict[str, Any]:
    import asyncio
    import base64
    import json

    import js  # type: ignore[import-not-found]
    from cloche.worker import PythonWorker

    sent: list[dict[str, Any]] = []
    worker = PythonWorker(lambda text: sent.append(json.loads(text)))
    envelope = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }

    def message(id: int, method: str, params: dict[str, Any]) -> str:
        params = {**params, "_meta": envelope}
        return json.dumps({"jsonrpc": "2.0", "id": id, "method": method, "params": params})

    async def ask(id: int, method: str, params: dict[str, Any]) -> Any:
        return json.loads(await worker.handle(message(id, method, params)))

    discover = await ask(1, "server/discover", {})
    listen = message(2, "subscriptions/listen", {"notifications": {"toolsListChanged": True}})
    listening = asyncio.ensure_future(worker.handle(listen))
    await asyncio.sleep(0)
    file_name = "cloche_tools_text-0.1.0-py3-none-any.whl"
    response = await js.fetch(f"/{file_name}")
    data = bytes((await response.arrayBuffer()).to_py())
    wheel = {"fileName": file_name, "base64": base64.b64encode(data).decode()}
    installed = await ask(3, "cloche/install", {"wheels": [wheel]})
    call = await ask(4, "tools/call", {"name": "text.stats", "arguments": {"text": "a b c"}})
    worker.server.cancel(2)
    return {
        "versions": discover["result"]["supportedVersions"],
        "installed": installed["result"],
        "call": call["result"],
        "sent": sent,
        "listen_reply": await listening,
    }


def test_the_worker_serves_2026_07_28_with_a_subscription_inside_pyodide(selenium: object) -> None:
    outcome = _modern_era(selenium)
    assert outcome["versions"] == ["2026-07-28"]
    assert outcome["installed"]["resultType"] == "complete"
    assert outcome["call"]["resultType"] == "complete"
    assert outcome["call"].get("isError", False) is False
    sent = outcome["sent"]
    assert [m["method"] for m in sent] == [
        "notifications/subscriptions/acknowledged",
        "notifications/tools/list_changed",
    ]
    tag = {"io.modelcontextprotocol/subscriptionId": 2}
    assert all(m["params"]["_meta"] == tag for m in sent)
    assert outcome["listen_reply"] is None
