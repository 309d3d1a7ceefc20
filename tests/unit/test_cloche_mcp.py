"""`cloche mcp` as a desktop agent meets it: the official Python MCP SDK client (PyPI `mcp`),
over stdio and over Streamable HTTP, against the real command, real wasmtime and real Pyodide
processes in Deno."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
TOKEN = "test-token-for-cloche-mcp"
HTTP_PORT = 8801


@pytest.fixture(scope="module", autouse=True)
def built_dist() -> None:
    if not (DIST / "registry.json").is_file():
        pytest.fail(f"{DIST} is not built: run `cloche build` (scripts/test does) first")


def _command(*extra: str) -> list[str]:
    return ["-m", "cloche_server.cli", "mcp", "--dist", str(DIST), *extra]


def _stdio(*extra: str) -> Client:
    return Client(StdioServerParameters(command=sys.executable, args=_command(*extra)))


def _text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def _run(client: Client, code: str, **extra: Any) -> Any:
    return await client.call_tool("python.run", {"code": code, **extra})


# -- stdio -----------------------------------------------------------------------------------------


def test_stdio_lists_the_tools_and_calls_wasm_and_python() -> None:
    async def scenario() -> None:
        async with _stdio() as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            registry = json.loads((DIST / "registry.json").read_text())
            expected = {
                tool["name"]
                for package in registry["packages"] + registry["wasmPackages"]
                for tool in package["tools"]
            }
            assert set(tools) == expected
            # The same schemas, annotations and deadlines as in the page.
            sha = tools["hash.sha256"]
            assert sha.meta == {"cloche/runtime": "wasm", "cloche/deadlineMs": 10000}
            assert sha.annotations is not None and sha.annotations.read_only_hint is True

            hashed = await client.call_tool("hash.sha256", {"text": "abc"})
            assert hashed.structured_content is not None
            assert hashed.structured_content["hex"].startswith("ba7816bf")
            stats = await client.call_tool("text.stats", {"text": "one two three"})
            assert not stats.is_error, _text(stats)
            assert stats.structured_content is not None
            assert stats.structured_content["words"] == 3
            ran = await _run(client, "import sys; sys.platform")
            assert not ran.is_error, _text(ran)
            assert ran.structured_content is not None
            assert ran.structured_content["value"] == "'emscripten'"

            # Invalid arguments are a protocol error (-32602) naming the field, as in the page.
            with pytest.raises(MCPError, match="txt"):
                await client.call_tool("hash.sha256", {"txt": "abc"})

    asyncio.run(scenario())


def test_stdio_progress_deadline_and_cancellation_of_python_tools() -> None:
    async def scenario() -> None:
        async with _stdio("--call-timeout", "4000") as client:
            seen: list[tuple[float, float | None]] = []

            async def on_progress(done: float, total: float | None, _message: str | None) -> None:
                seen.append((done, total))

            code = "for i in range(3):\n    progress(i + 1, 3)\n'done'"
            ran = await client.call_tool(
                "python.run", {"code": code}, progress_callback=on_progress
            )
            assert not ran.is_error, _text(ran)
            assert seen == [(1, 3), (2, 3), (3, 3)]

            # A busy loop runs into the deadline: its process is ended, the call says so.
            began = time.monotonic()
            stuck = await _run(client, "while True: pass", session="s")
            assert stuck.is_error
            assert "did not finish within 4000 ms" in _text(stuck)
            assert time.monotonic() - began < 15
            after = await _run(client, "x = 2\nx * 21", session="s")
            assert not after.is_error, _text(after)
            assert after.structured_content is not None
            assert after.structured_content["value"] == "42"

            # Tools of the shared process were never affected.
            stats = await client.call_tool("text.stats", {"text": "a b"})
            assert not stats.is_error

    asyncio.run(scenario())


def test_a_cancelled_python_call_stops_long_before_its_deadline() -> None:
    async def scenario() -> None:
        async with _stdio("--call-timeout", "120000") as client:
            kept = await _run(client, "x = 1", session="s")
            assert not kept.is_error, _text(kept)
            # The client gives up on a busy call: the SDK sends notifications/cancelled.
            with pytest.raises(Exception, match=r"(?i)tim"):
                await client.call_tool(
                    "python.run",
                    {"code": "while True: pass", "session": "s"},
                    read_timeout_seconds=1.0,
                )
            began = time.monotonic()
            again = await _run(client, "'x' in dir()", session="s")
            assert not again.is_error, _text(again)
            # The busy loop was interrupted, not held to its deadline: the session goes on.
            assert again.structured_content is not None
            assert again.structured_content["value"] == "True"
            assert time.monotonic() - began < 60

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def conformance_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dist with the test-only async tools (tests/fixtures/conformance_tools) besides ours."""
    dist = tmp_path_factory.mktemp("conformance") / "dist"
    subprocess.run(
        [
            *(sys.executable, "-m", "cloche_server.cli", "build", "--dist", str(dist)),
            *("--no-test-dist", "--offline"),
            *("--tool-package", str(ROOT / "tests/fixtures/conformance_tools")),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return dist


# Logging is deprecated from MCP 2026-07-28 on; this server speaks 2025-11-25, where it is not.
@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
def test_progress_logging_and_cancellation_reach_an_async_python_tool(
    conformance_dist: Path,
) -> None:
    logs: list[Any] = []

    async def on_log(params: Any) -> None:
        logs.append(params.data)

    async def scenario() -> None:
        client = Client(
            StdioServerParameters(
                command=sys.executable,
                args=_command(
                    "--dist", str(conformance_dist), "--only", "cloche-conformance-tools"
                ),
            ),
            logging_callback=on_log,
        )
        async with client:
            await client.set_logging_level("info")
            seen: list[tuple[float, str | None]] = []

            async def on_progress(done: float, _total: float | None, message: str | None) -> None:
                seen.append((done, message))

            counted = await client.call_tool("conformance.count", {"to": 3}, None, on_progress)
            assert not counted.is_error, _text(counted)
            assert seen == [(1, "step 1"), (2, "step 2"), (3, "step 3")]
            for _ in range(50):
                if logs:
                    break
                await asyncio.sleep(0.05)
            assert logs == ["counted to 3"]
            # Below the client's level, a tool's log is not sent.
            await client.set_logging_level("warning")
            await client.call_tool("conformance.count", {"to": 1})
            await asyncio.sleep(0.3)
            assert logs == ["counted to 3"]

            # The client gives up: the tool itself is told (its asyncio task is cancelled).
            with pytest.raises(Exception, match=r"(?i)tim"):
                await client.call_tool(
                    "conformance.count", {"to": 100000, "delay": 0.05}, read_timeout_seconds=1.0
                )
            told = await client.call_tool("conformance.cancellations", {})
            assert told.structured_content == {"result": [100000]}, _text(told)

    asyncio.run(scenario())


@contextlib.contextmanager
def _listener() -> Iterator[tuple[int, list[str]]]:
    """A TCP listener on 127.0.0.1 that records every connection it gets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    got: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, address = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            got.append(f"{address}")
            with contextlib.suppress(OSError):
                # The request first: an answer sent before it is "unexpected" to an HTTP client.
                connection.settimeout(5)
                received = b""
                while b"\r\n\r\n" not in received:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    received += chunk
                connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi")
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], got
    finally:
        stop.set()
        server.close()
        thread.join()


ESCAPES = {
    "read a file outside the dist": "import js\njs.Deno.readTextFileSync('/etc/hostname')",
    "read a file through Node's fs": (
        "import js\njs.process.getBuiltinModule('fs').readFileSync('/etc/hostname', 'utf8')"
    ),
    "read an environment variable": "import js\njs.Deno.env.get('PATH')",
    "start a process": "import js\njs.Deno.Command.new('sh').outputSync()",
    "start a process through Node's child_process": (
        "import js\njs.process.getBuiltinModule('child_process').execSync('id')"
    ),
    "mount the host's files": (
        "import js, os, pyodide_js\nfrom pyodide.ffi import to_js\nFS = pyodide_js.FS\n"
        "os.makedirs('/host', exist_ok=True)\nroot = to_js({{'root': '/'}}, "
        "dict_converter=js.Object.fromEntries)\n"
        "FS.mount(FS.filesystems.NODEFS, root, '/host')\nos.listdir('/host/etc')"
    ),
    "open a socket": "import js\nawait js.Deno.connect(js.JSON.parse('{{\"port\": {port}}}'))",
    "fetch from 127.0.0.1": "import js\nawait js.fetch('http://127.0.0.1:{port}/')",
    "write to the server's stdout": "import js\njs.Deno.stdout.writeSync(b'{{}}\\n')",
}


def test_a_hostile_python_tool_cannot_escape_and_the_server_stays_healthy() -> None:
    async def scenario(port: int) -> dict[str, str]:
        outcomes: dict[str, str] = {}
        async with _stdio() as client:
            for name, code in ESCAPES.items():
                result = await _run(client, code.format(port=port), session="attacker")
                outcomes[name] = ("refused: " if result.is_error else "ESCAPED: ") + _text(result)
            healthy = await client.call_tool("hash.sha256", {"text": "abc"})
            assert not healthy.is_error
            still = await _run(client, "6 * 7", session="attacker")
            assert still.structured_content is not None
            assert still.structured_content["value"] == "42"
        return outcomes

    with _listener() as (port, connections):
        outcomes = asyncio.run(scenario(port))
    for name, text in outcomes.items():
        print(f"{name}: {text.splitlines()[-1] if text else text}")
    escaped = {name: text for name, text in outcomes.items() if text.startswith("ESCAPED")}
    assert not escaped, escaped
    assert connections == [], "the tool reached the listener on 127.0.0.1"
    for name in ("read a file outside the dist", "start a process", "fetch from 127.0.0.1"):
        assert "NotCapable" in outcomes[name] or "Requires" in outcomes[name], outcomes[name]


def test_a_granted_package_reaches_exactly_its_granted_host() -> None:
    async def scenario(granted: int, other: int) -> tuple[Any, Any]:
        grant = f"web=127.0.0.1:{granted}"
        async with _stdio("--only", "cloche-tools-web", "--grant", grant) as client:
            fetched = await client.call_tool("web.fetch", {"url": f"http://127.0.0.1:{granted}/"})
            refused = await client.call_tool("web.fetch", {"url": f"http://127.0.0.1:{other}/"})
            return fetched, refused

    with _listener() as (granted, reached), _listener() as (other, strangers):
        fetched, refused = asyncio.run(scenario(granted, other))
    assert not fetched.is_error, _text(fetched)
    assert "hi" in _text(fetched)
    assert len(reached) == 1
    assert refused.is_error and "Requires net access" in _text(refused)
    assert strangers == []


def test_the_packages_folder_is_watched_and_clients_are_told(tmp_path: Path) -> None:
    packages = tmp_path / "packages"
    packages.mkdir()
    changed = asyncio.Event()

    async def on_message(message: Any) -> None:
        if "ToolListChanged" in type(getattr(message, "root", message)).__name__:
            changed.set()

    async def scenario() -> None:
        client = Client(
            StdioServerParameters(
                command=sys.executable,
                args=_command("--only", "hash", "--packages", str(packages)),
            ),
            message_handler=on_message,
        )
        async with client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            assert names == ["hash.sha256", "hash.sha1", "hash.md5"]
            shutil.copytree(DIST / "wasm" / "primes", packages / "primes")
            await asyncio.wait_for(changed.wait(), 10)
            names = [tool.name for tool in (await client.list_tools()).tools]
            assert "primes.count" in names
            counted = await client.call_tool("primes.count", {"limit": 100})
            assert counted.structured_content is not None
            assert counted.structured_content["count"] == 25

    asyncio.run(scenario())


# -- Streamable HTTP -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {**os.environ, "CLOCHE_MCP_TOKEN": TOKEN}
    log_path = tmp_path_factory.mktemp("mcp-http") / "stderr.txt"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            *_command("--http", f"127.0.0.1:{HTTP_PORT}", "--max-sessions", "3"),
            "--max-body-bytes",
            "65536",
        ],
        env=env,
        stderr=log,
    )
    url = f"http://127.0.0.1:{HTTP_PORT}/mcp"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", HTTP_PORT)):
            break
        if process.poll() is not None:
            pytest.fail(f"cloche mcp --http exited: {log_path.read_text()}")
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextlib.asynccontextmanager
async def _http(url: str, token: str = TOKEN) -> AsyncIterator[Client]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


def test_http_lists_calls_reports_progress_and_cancels(http_server: str) -> None:
    async def scenario() -> None:
        async with _http(http_server) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            assert "hash.sha256" in names and "python.run" in names
            hashed = await client.call_tool("hash.sha256", {"text": "abc"})
            assert hashed.structured_content is not None
            assert hashed.structured_content["hex"].startswith("ba7816bf")
            seen: list[float] = []

            async def on_progress(done: float, _total: float | None, _m: str | None) -> None:
                seen.append(done)

            ran = await client.call_tool(
                "python.run",
                {"code": "progress(1, 2)\nprogress(2, 2)\n'ok'"},
                progress_callback=on_progress,
            )
            assert not ran.is_error, _text(ran)
            assert seen == [1, 2]
            stats = await client.call_tool("json.format", {"text": '{"a":1}'})
            assert not stats.is_error, _text(stats)

            # A cancel (POSTed as a notification) interrupts a busy loop in a session's process,
            # long before the 30 s deadline, and the session goes on.
            kept = await _run(client, "x = 1", session="h")
            assert not kept.is_error, _text(kept)
            with pytest.raises(Exception, match=r"(?i)tim"):
                await client.call_tool(
                    "python.run",
                    {"code": "while True: pass", "session": "h"},
                    read_timeout_seconds=1.0,
                )
            began = time.monotonic()
            again = await _run(client, "'x' in dir()", session="h")
            assert again.structured_content is not None, _text(again)
            assert again.structured_content["value"] == "True"
            assert time.monotonic() - began < 20

    asyncio.run(scenario())


def _initialize() -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    }


HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
}


def test_http_refuses_rebinding_strangers_and_oversized_bodies(http_server: str) -> None:
    with httpx.Client(timeout=10) as http:
        rebound = http.post(
            http_server, json=_initialize(), headers={**HEADERS, "Host": "evil.example"}
        )
        assert rebound.status_code == 403
        assert "evil.example" in rebound.json()["error"]["message"]
        from_page = http.post(
            http_server, json=_initialize(), headers={**HEADERS, "Origin": "https://evil.example"}
        )
        assert from_page.status_code == 403
        stranger = http.post(
            http_server, json=_initialize(), headers={**HEADERS, "Authorization": "Bearer nope"}
        )
        assert stranger.status_code == 401
        assert stranger.headers["www-authenticate"].startswith("Bearer")
        big = http.post(http_server, content=b'{"x": "' + b"a" * 70_000 + b'"}', headers=HEADERS)
        assert big.status_code == 413
        garbled = http.post(http_server, content=b"{not json", headers=HEADERS)
        assert garbled.status_code == 400
        assert garbled.json()["error"]["code"] == -32700
        orphan = http.post(
            http_server,
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            headers={**HEADERS, "Mcp-Session-Id": "no-such-session"},
        )
        assert orphan.status_code == 404
        # The server is still fine for a proper client.
        ok = http.post(http_server, json=_initialize(), headers=HEADERS)
        assert ok.status_code == 200
        http.delete(
            http_server, headers={**HEADERS, "Mcp-Session-Id": ok.headers["mcp-session-id"]}
        )


def test_http_sessions_are_bounded(http_server: str) -> None:
    with httpx.Client(timeout=10) as http:
        ids = []
        for _ in range(4):
            reply = http.post(http_server, json=_initialize(), headers=HEADERS)
            assert reply.status_code == 200
            ids.append(reply.headers["mcp-session-id"])
        ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
        # At most 3 are kept: the least recently seen one made room for the fourth.
        first = http.post(http_server, json=ping, headers={**HEADERS, "Mcp-Session-Id": ids[0]})
        assert first.status_code == 404
        last = http.post(http_server, json=ping, headers={**HEADERS, "Mcp-Session-Id": ids[-1]})
        assert last.status_code == 200 and last.json()["result"] == {}
        for session_id in ids[1:]:
            http.delete(http_server, headers={**HEADERS, "Mcp-Session-Id": session_id})


# -- many WASM calls in one server process ---------------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_thousands_of_wasm_calls_in_one_server_process() -> None:
    """3000 calls over stdio, 16 in flight, mixed with failing ones: every one answered right,
    the process alive, and its memory after the first 500 grows by less than a bound."""
    process = subprocess.Popen(
        [sys.executable, *_command("--only", "hash", "--only", "codec", "--only", "grep")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    send, receive = process.stdin, process.stdout

    def call(request_id: int) -> dict[str, Any]:
        kind = request_id % 4
        if kind == 0:
            return {"name": "hash.sha256", "arguments": {"text": f"call {request_id}"}}
        if kind == 1:
            return {"name": "codec.base64_encode", "arguments": {"text": "x" * request_id}}
        if kind == 2:
            return {"name": "grep.search", "arguments": {"pattern": "(", "text": "a"}}
        return {"name": "hash.sha256", "arguments": {"nope": 1}}

    def write(message: dict[str, Any]) -> None:
        send.write(json.dumps(message).encode() + b"\n")
        send.flush()

    write({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": _initialize()["params"]})
    assert json.loads(receive.readline())["id"] == 0
    total, window = 3000, 16
    answered: dict[int, dict[str, Any]] = {}
    sent = 0
    rss_after_warmup = 0
    began = time.monotonic()
    while len(answered) < total:
        while sent < total and sent - len(answered) < window:
            sent += 1
            write({"jsonrpc": "2.0", "id": sent, "method": "tools/call", "params": call(sent)})
        reply = json.loads(receive.readline())
        answered[reply["id"]] = reply
        if len(answered) == 500:
            rss_after_warmup = _rss_kib(process.pid)
    seconds = time.monotonic() - began
    rss_end = _rss_kib(process.pid)
    send.close()
    assert process.wait(20) == 0
    receive.close()
    for request_id, reply in answered.items():
        kind = request_id % 4
        if kind == 3:
            assert reply["error"]["code"] == -32602, reply
        elif kind == 2:
            assert reply["result"]["isError"] is True, reply
        else:
            assert "structuredContent" in reply["result"], reply
    growth_mib = (rss_end - rss_after_warmup) / 1024
    print(
        f"{total} calls in {seconds:.1f} s; RSS {rss_after_warmup // 1024} -> {rss_end // 1024} MiB"
    )
    assert growth_mib < 32, f"the server grew by {growth_mib:.1f} MiB over 2500 calls"
