"""The Python worker's runtime: MCP over JSON text, and installs that fail loudly."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from _tool_support import make_wheel

from cloche.worker import PythonWorker, canonical_name

ORIGIN = "http://127.0.0.1:8000"
GREETER = {
    "greeter_tools.py": (
        "from cloche import tool\n\n"
        "@tool\n"
        "def hello(name: str) -> str:\n"
        '    """Say hello."""\n'
        "    return f'hello {name}'\n"
    )
}


class Harness:
    """A worker whose installer unpacks wheels onto sys.path, as micropip does in Pyodide."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.site = tmp_path / "site"
        self.site.mkdir()
        monkeypatch.syspath_prepend(str(self.site))
        self.wheels = {
            "greeter": make_wheel(tmp_path, "greeter", GREETER, {"greet": "greeter_tools"})
        }
        self.sent: list[dict[str, Any]] = []
        self.installed: list[list[str]] = []
        self.worker = PythonWorker(
            lambda text: self.sent.append(json.loads(text)), ORIGIN, self.install
        )
        self.next_id = 1

    async def install(self, requirements: list[str]) -> None:
        self.installed.append(requirements)
        for requirement in requirements:
            name = requirement.rsplit("/", 1)[-1].split("-")[0]
            if name == "broken":
                raise ValueError("Can't find a pure Python 3 wheel for 'broken'")
            if name in self.wheels:
                with zipfile.ZipFile(self.wheels[name]) as archive:
                    archive.extractall(self.site)
            # Any other name: returns quietly without installing, like micropip with a lock entry
            # whose wheel file is missing.

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.next_id += 1
        reply = asyncio.run(self.worker.handle(json.dumps(message)))
        assert reply is not None
        result: dict[str, Any] = json.loads(reply)
        return result


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    h = Harness(tmp_path, monkeypatch)
    h.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}})
    return h


def test_install_adds_tools_and_announces_them(harness: Harness) -> None:
    reply = harness.request("cloche/install", {"requirements": ["greeter"]})
    assert reply["result"] == {"packages": ["greeter"], "tools": ["greet.hello"]}
    assert {
        "jsonrpc": "2.0",
        "method": "notifications/tools/list_changed",
        "params": {},
    } in harness.sent
    call = harness.request("tools/call", {"name": "greet.hello", "arguments": {"name": "web"}})
    assert call["result"]["content"][0]["text"] == "hello web"


def test_same_origin_wheel_urls_install_and_others_are_refused(harness: Harness) -> None:
    reply = harness.request("cloche/install", {"requirements": ["/greeter-1.0-py3-none-any.whl"]})
    assert reply["result"]["packages"] == ["greeter"]
    assert harness.installed == [[f"{ORIGIN}/greeter-1.0-py3-none-any.whl"]]
    foreign = harness.request(
        "cloche/install", {"requirements": ["https://elsewhere.test/greeter-1.0-py3-none-any.whl"]}
    )
    assert foreign["error"]["code"] == -32602
    assert (
        "only wheels from this page's origin (http://127.0.0.1:8000)" in foreign["error"]["message"]
    )


def test_a_silently_missing_wheel_is_an_error_naming_the_package(harness: Harness) -> None:
    reply = harness.request("cloche/install", {"requirements": ["ghost-tools"]})
    assert reply["error"]["code"] == -32602
    message = reply["error"]["message"]
    assert message.startswith("ghost-tools: the install reported success but ghost-tools")
    assert "missing from the dist" in message


def test_an_installer_failure_names_the_package_and_the_reason(harness: Harness) -> None:
    reply = harness.request("cloche/install", {"requirements": ["broken"]})
    assert reply["error"]["message"] == (
        "installing broken failed: Can't find a pure Python 3 wheel for 'broken'"
    )


@pytest.mark.parametrize(
    "params",
    [{}, {"requirements": []}, {"requirements": "greeter"}, {"requirements": [""]}],
)
def test_install_params_are_checked(harness: Harness, params: dict[str, Any]) -> None:
    reply = harness.request("cloche/install", params)
    assert reply["error"] == {
        "code": -32602,
        "message": "requirements must be a non-empty list of strings",
    }
    assert harness.installed == []


def test_requirement_names() -> None:
    worker = PythonWorker(lambda text: None, ORIGIN + "/", lambda r: asyncio.sleep(0))
    assert worker.distribution_of("Cloche_Tools.Text==0.1.0") == "cloche-tools-text"
    assert (
        worker.distribution_of("/w/cloche_tools_csv-0.1.0-py3-none-any.whl") == "cloche-tools-csv"
    )
    assert canonical_name("A__b.C") == "a-b-c"
