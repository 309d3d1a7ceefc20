"""The Python worker's runtime: MCP over JSON text, and installs that fail loudly."""

from __future__ import annotations

import asyncio
import base64
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from _tool_support import make_wheel

from cloche import http, packages, store
from cloche._jsonrpc import RpcError
from cloche.worker import PythonWorker, canonical_name

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
    """A worker whose installer unpacks wheel files onto sys.path, as micropip does in Pyodide."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.site = tmp_path / "site"
        self.site.mkdir()
        monkeypatch.syspath_prepend(str(self.site))
        self.wheels = {
            "greeter": make_wheel(tmp_path, "greeter", GREETER, {"greet": "greeter_tools"}),
            "broken": make_wheel(tmp_path, "broken", {}, {}),
            "hollow": make_wheel(tmp_path, "hollow", {}, {}),
            "plain": make_wheel(
                tmp_path, "plain", {"plain_module.py": "def hello(n):\n    return 'hi ' + n\n"}, {}
            ),
        }
        self.sent: list[dict[str, Any]] = []
        self.installed: list[list[str]] = []
        self.wheel_dir = tmp_path / "wheels"
        # The worker connects itself to `cloche.packages`, `.http` and `.store`; undone after.
        monkeypatch.setattr(packages, "_install_from_host", None)
        monkeypatch.setattr(http, "_request", None)
        monkeypatch.setattr(store, "_request", None)
        monkeypatch.setattr(store, "_local", {})
        self.worker = PythonWorker(
            lambda text: self.sent.append(json.loads(text)), self.install, self.wheel_dir
        )
        self.next_id = 1

    async def install(self, paths: list[str]) -> None:
        self.installed.append([Path(p).name for p in paths])
        for path in paths:
            assert Path(path).parent == self.wheel_dir and Path(path).is_file()
            name = Path(path).name.split("-")[0]
            if name == "broken":
                raise ValueError("Wheel has no .dist-info directory")
            if name != "hollow":  # returns quietly without installing anything
                with zipfile.ZipFile(path) as archive:
                    archive.extractall(self.site)

    def wheel(self, name: str) -> dict[str, str]:
        path = self.wheels[name]
        return {"fileName": path.name, "base64": base64.b64encode(path.read_bytes()).decode()}

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
    reply = harness.request("cloche/install", {"wheels": [harness.wheel("greeter")]})
    assert reply["result"] == {"packages": ["greeter"], "tools": ["greet.hello"]}
    assert harness.installed == [["greeter-1.0-py3-none-any.whl"]]
    assert not list(harness.wheel_dir.iterdir()), "the wheel file is removed once installed"
    assert {
        "jsonrpc": "2.0",
        "method": "notifications/tools/list_changed",
        "params": {},
    } in harness.sent
    call = harness.request("tools/call", {"name": "greet.hello", "arguments": {"name": "web"}})
    assert call["result"]["content"][0]["text"] == "hello web"
    again = harness.request("cloche/install", {"wheels": [harness.wheel("greeter")]})
    assert again["result"] == {"packages": ["greeter"], "tools": []}
    assert len(harness.installed) == 1, "a wheel already installed is not installed again"


def test_a_wheel_that_installs_nothing_is_an_error_naming_the_package(harness: Harness) -> None:
    reply = harness.request("cloche/install", {"wheels": [harness.wheel("hollow")]})
    assert reply["error"]["code"] == -32602
    assert reply["error"]["message"].startswith("hollow: the install reported success but hollow")


def test_an_installer_failure_names_the_package_and_the_reason(harness: Harness) -> None:
    reply = harness.request("cloche/install", {"wheels": [harness.wheel("broken")]})
    assert reply["error"]["message"] == (
        "installing broken failed: Wheel has no .dist-info directory"
    )


def test_names_and_urls_are_refused_the_worker_fetches_nothing(harness: Harness) -> None:
    for params in (
        {"requirements": ["greeter"]},
        {"requirements": ["/greeter-1.0-py3-none-any.whl"]},
    ):
        reply = harness.request("cloche/install", params)
        assert reply["error"]["code"] == -32602
        assert "the worker fetches nothing" in reply["error"]["message"]
    assert harness.installed == []


@pytest.mark.parametrize(
    ("wheels", "problem"),
    [
        ([], "takes the wheels themselves"),
        ("greeter", "takes the wheels themselves"),
        ([{"fileName": "../evil-1.0-py3-none-any.whl", "base64": "UEs="}], "wheels[0].fileName"),
        ([{"fileName": "x/greeter-1.0-py3-none-any.whl", "base64": "UEs="}], "wheels[0].fileName"),
        ([{"fileName": "greeter.zip", "base64": "UEs="}], "wheels[0].fileName"),
        ([{"fileName": "greeter-1.0-py3-none-any.whl", "base64": "***"}], "not valid base64"),
        ([{"fileName": "greeter-1.0-py3-none-any.whl", "base64": ""}], "is empty"),
        (["greeter-1.0-py3-none-any.whl"], "wheels[0].fileName"),
    ],
)
def test_install_params_are_checked(harness: Harness, wheels: Any, problem: str) -> None:
    reply = harness.request("cloche/install", {"wheels": wheels})
    assert reply["error"]["code"] == -32602
    assert problem in reply["error"]["message"]
    assert harness.installed == []


def test_canonical_names() -> None:
    assert canonical_name("A__b.C") == "a-b-c"


def test_tool_code_cannot_install_from_a_url_or_an_index(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from cloche.worker import refuse_remote_installs

    calls: list[Any] = []

    async def install(requirements: Any, **kwargs: Any) -> None:
        calls.append(requirements)

    fake = types.ModuleType("micropip")
    fake.install = install  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "micropip", fake)
    refuse_remote_installs()
    asyncio.run(fake.install(["emfs:/tmp/cloche-wheels/a-1.0-py3-none-any.whl"], deps=False))
    assert calls == [["emfs:/tmp/cloche-wheels/a-1.0-py3-none-any.whl"]]
    for remote in ("https://evil.test/x-1.0-py3-none-any.whl", "x-1.0-py3-none-any.whl", "a/b"):
        with pytest.raises(ValueError, match="is not available to tool code"):
            asyncio.run(fake.install(remote))
    assert len(calls) == 1
    monkeypatch.setattr(packages, "_install_from_host", None)
    with pytest.raises(RuntimeError, match="no host to ask for packages"):
        asyncio.run(fake.install("requests"))
    asked: list[tuple[list[str], list[str]]] = []

    async def from_host(requirements: list[str], imports: list[str]) -> list[str]:
        asked.append((requirements, imports))
        return requirements

    packages.connect(from_host)
    asyncio.run(fake.install(["tabulate>=0.9", "numpy"]))
    assert asked == [(["tabulate", "numpy"], [])]
    assert len(calls) == 1


async def _answer_wheels(
    harness: Harness, answer: dict[str, Any], method: str = "cloche/wheels"
) -> dict[str, Any]:
    """Wait for the worker's request (cloche/wheels unless told) and answer it as the host
    would."""
    for _ in range(1000):
        asked = [m for m in harness.sent if m.get("method") == method]
        if asked:
            break
        await asyncio.sleep(0)
    [request] = asked
    harness.sent.remove(request)
    await harness.worker.handle(json.dumps({"jsonrpc": "2.0", "id": request["id"], **answer}))
    return request


def test_code_gets_a_package_the_site_offers_from_the_host(harness: Harness) -> None:
    async def scenario() -> tuple[list[str], dict[str, Any]]:
        installing = asyncio.ensure_future(packages.install(imports=["greeter_tools"]))
        request = await _answer_wheels(
            harness, {"result": {"packages": ["greeter"], "wheels": [harness.wheel("greeter")]}}
        )
        return await installing, request

    installed, request = asyncio.run(scenario())
    assert installed == ["greeter"]
    assert request["params"]["imports"] == ["greeter_tools"]
    assert request["params"]["requirements"] == []
    assert "pytest" in request["params"]["have"]  # what the worker has is not sent again
    assert harness.installed == [[harness.wheels["greeter"].name]]
    __import__("greeter_tools")
    # Code asked for the package, not the host: its tools are not offered.
    assert "greet.hello" not in {tool.name for tool in harness.worker.server.tools}


def test_the_hosts_refusal_reaches_the_code_that_asked(harness: Harness) -> None:
    refusal = {"code": -32602, "message": "numpy is not in this site's pyodide-lock.json"}

    async def scenario() -> None:
        installing = asyncio.ensure_future(packages.install(requirements=["numpy"]))
        await _answer_wheels(harness, {"error": refusal})
        await installing

    with pytest.raises(RpcError, match=r"numpy is not in this site's pyodide-lock\.json"):
        asyncio.run(scenario())
    assert harness.installed == []


def test_python_run_installs_what_its_code_imports_before_it_runs(harness: Harness) -> None:
    from _tool_support import import_tool_package

    python = import_tool_package("python")
    code = "import plain_module\nplain_module.hello('you')"

    async def scenario() -> Any:
        running = asyncio.ensure_future(python.run(code))
        await _answer_wheels(
            harness, {"result": {"packages": ["plain"], "wheels": [harness.wheel("plain")]}}
        )
        return await running

    assert asyncio.run(scenario())["value"] == "'hi you'"


def test_the_host_can_ask_how_many_calls_still_run(harness: Harness) -> None:
    assert harness.request("cloche/running", {})["result"] == {"calls": 0}


def test_tool_code_fetches_and_keeps_values_through_the_host(harness: Harness) -> None:
    answer = {
        "status": 200,
        "statusText": "OK",
        "url": "https://api.example.org/",
        "headers": [["content-type", "text/plain"]],
        "body": base64.b64encode(b"hello").decode(),
    }

    async def scenario() -> tuple[Any, ...]:
        fetching = asyncio.ensure_future(http.fetch("https://api.example.org/"))
        fetch_request = await _answer_wheels(harness, {"result": answer}, "cloche/fetch")
        response = await fetching
        keeping = asyncio.ensure_future(store.set("greeting", {"text": "hi"}))
        set_request = await _answer_wheels(harness, {"result": {}}, "cloche/store")
        await keeping
        reading = asyncio.ensure_future(store.get("greeting"))
        await _answer_wheels(
            harness, {"result": {"found": True, "value": {"text": "hi"}}}, "cloche/store"
        )
        return fetch_request, response, set_request, await reading

    fetch_request, response, set_request, value = asyncio.run(scenario())
    assert fetch_request["params"] == {
        "url": "https://api.example.org/",
        "method": "GET",
        "headers": [],
        "body": None,
    }
    assert (response.status, response.text()) == (200, "hello")
    assert set_request["params"] == {"op": "set", "key": "greeting", "value": {"text": "hi"}}
    assert value == {"text": "hi"}


def test_a_refused_fetch_reaches_the_tool_code_as_the_host_put_it(harness: Harness) -> None:
    refusal = {"code": -32603, "message": "demo 1.0 declared no network access, so it has none"}

    async def scenario() -> None:
        fetching = asyncio.ensure_future(http.fetch("https://api.example.org/"))
        await _answer_wheels(harness, {"error": refusal}, "cloche/fetch")
        await fetching

    with pytest.raises(http.FetchError, match=r"^refused: demo 1\.0 declared no network access"):
        asyncio.run(scenario())


def test_pyfetch_goes_through_the_host_and_sync_urls_are_refused_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys
    import types
    import urllib.error
    import urllib.request

    from cloche import _pyfetch
    from cloche.worker import route_network_through_host

    class PyodideStatusError(OSError):
        def __init__(self, status: int, status_text: str, url: str) -> None:
            super().__init__(status, status_text, url)

    fake = types.ModuleType("pyodide.http")
    fake.HttpStatusError = PyodideStatusError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyodide", types.ModuleType("pyodide"))
    monkeypatch.setitem(sys.modules, "pyodide.http", fake)
    sys.modules["pyodide"].http = fake  # type: ignore[attr-defined]
    monkeypatch.setattr(urllib.request, "urlopen", urllib.request.urlopen)
    monkeypatch.setattr(_pyfetch.FetchResponse, "status_error", _pyfetch.HttpStatusError)
    route_network_through_host()

    assert fake.pyfetch is _pyfetch.pyfetch  # type: ignore[attr-defined]
    for refused, name in (
        (lambda: urllib.request.urlopen("https://example.org/"), "urllib.request.urlopen"),
        (lambda: fake.open_url("https://example.org/"), "pyodide.http.open_url"),  # type: ignore[attr-defined]
    ):
        with pytest.raises(urllib.error.URLError) as caught:
            refused()
        assert f"{name} cannot reach the network in a Cloche worker" in str(caught.value)
        assert "await cloche.http.fetch(url)" in str(caught.value)

    async def host(method: str, params: dict[str, Any]) -> Any:
        return {"status": 503, "statusText": "Busy", "url": params["url"], "headers": []}

    monkeypatch.setattr(http, "_request", host)
    response = asyncio.run(fake.pyfetch("https://example.org/"))  # type: ignore[attr-defined]
    with pytest.raises(PyodideStatusError):
        response.raise_for_status()


def test_micropip_is_routed_when_first_imported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Not imported at boot (it costs a worker 0.2-0.3 s): the refusal is put in place by the
    import that first loads it, before the importer gets the module."""
    import importlib
    import importlib.util
    import sys

    from cloche.worker import refuse_remote_installs

    (tmp_path / "micropip.py").write_text("async def install(requirements, **kwargs):\n    pass\n")
    monkeypatch.delitem(sys.modules, "micropip", raising=False)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    refuse_remote_installs()
    assert "micropip" not in sys.modules
    # Looking for it first, as cloche.packages does before running code, changes nothing.
    assert importlib.util.find_spec("micropip") is not None
    assert "micropip" not in sys.modules
    micropip = importlib.import_module("micropip")
    with pytest.raises(ValueError, match="is not available to tool code"):
        asyncio.run(micropip.install("https://evil.test/x-1.0-py3-none-any.whl"))
    assert not any(type(f).__name__ == "_AfterImport" for f in sys.meta_path)
