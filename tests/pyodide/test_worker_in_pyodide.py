"""The worker-side bridge inside Pyodide: JSON text in and out, and micropip installs at runtime."""

from typing import Any

from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["cloche", "micropip"])
async def _bridge_and_install(selenium: object) -> dict[str, Any]:
    import json

    import js  # type: ignore[import-not-found]
    from cloche.worker import PythonWorker

    sent: list[str] = []
    worker = PythonWorker(sent.append, js.location.origin)

    async def ask(id: int, method: str, params: dict[str, Any]) -> Any:
        message = {"jsonrpc": "2.0", "id": id, "method": method, "params": params}
        return json.loads(await worker.handle(json.dumps(message)))

    await ask(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}})
    before = [t["name"] for t in (await ask(2, "tools/list", {}))["result"]["tools"]]
    by_name = await ask(3, "cloche/install", {"requirements": ["cloche-tools-text"]})
    by_url = await ask(
        4, "cloche/install", {"requirements": ["/cloche_tools_csv-0.1.0-py3-none-any.whl"]}
    )
    after = [t["name"] for t in (await ask(5, "tools/list", {}))["result"]["tools"]]
    call = await ask(6, "tools/call", {"name": "text.stats", "arguments": {"text": "a b c"}})
    missing = await ask(7, "cloche/install", {"requirements": ["no-such-tool-package"]})
    return {
        "before": before,
        "by_name": by_name["result"],
        "by_url": by_url["result"],
        "after": after,
        "call_is_error": call["result"].get("isError", False),
        "missing": missing["error"]["message"],
        "list_changed": sum('"notifications/tools/list_changed"' in text for text in sent),
    }


def test_tool_wheels_install_at_runtime_and_serve_calls(selenium: object) -> None:
    outcome = _bridge_and_install(selenium)
    assert outcome["before"] == []
    assert outcome["by_name"] == {"packages": ["cloche-tools-text"], "tools": ["text.stats"]}
    assert outcome["by_url"] == {"packages": ["cloche-tools-csv"], "tools": ["csv.summary"]}
    assert outcome["after"] == ["text.stats", "csv.summary"]
    assert outcome["call_is_error"] is False
    assert outcome["missing"].startswith("installing no-such-tool-package failed:")
    assert outcome["list_changed"] == 2
