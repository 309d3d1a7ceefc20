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
