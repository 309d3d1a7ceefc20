"""`cloche mcp` as a desktop agent meets it: the official Python MCP SDK client (PyPI `mcp`),
over stdio and over Streamable HTTP, against the real command, real wasmtime and real Pyodide
processes in Deno. The client's default (`mode="auto"`) speaks MCP 2026-07-28; `mode="legacy"`
pins the 2025-11-25 handshake, which the server still serves, beside the other, at the same time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
TOKEN = "test-token-for-cloche-mcp"
OTHER_TOKEN = "another-operators-token"
HTTP_PORT = 8801
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
SUBSCRIPTION_KEY = "io.modelcontextprotocol/subscriptionId"
Mode = Literal["legacy", "auto"]


@pytest.fixture(scope="module", autouse=True)
def built_dist() -> None:
    if not (DIST / "registry.json").is_file():
        pytest.fail(f"{DIST} is not built: run `cloche build` (scripts/test does) first")


def _command(*extra: str) -> list[str]:
    return ["-m", "cloche_server.cli", "mcp", "--dist", str(DIST), *extra]


def _stdio(*extra: str, mode: Mode = "legacy") -> Client:
    return Client(StdioServerParameters(command=sys.executable, args=_command(*extra)), mode=mode)


def _text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def _run(client: Client, code: str, **extra: Any) -> Any:
    return await client.call_tool("python.run", {"code": code, **extra})


# -- stdio -----------------------------------------------------------------------------------------


def test_stdio_lists_the_tools_and_calls_wasm_and_python() -> None:
    async def scenario() -> None:
        async with _stdio() as client:
            assert client.protocol_version == LEGACY
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
            mode="legacy",
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
            mode="legacy",
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


# -- MCP 2026-07-28 over stdio ---------------------------------------------------------------------


def test_stdio_auto_mode_speaks_2026_07_28_to_wasm_and_python_tools() -> None:
    async def scenario() -> None:
        async with _stdio("--call-timeout", "120000", mode="auto") as client:
            assert client.protocol_version == MODERN
            names = [tool.name for tool in (await client.list_tools()).tools]
            assert "hash.sha256" in names and "python.run" in names
            hashed = await client.call_tool("hash.sha256", {"text": "abc"})
            assert hashed.structured_content is not None
            assert hashed.structured_content["hex"].startswith("ba7816bf")
            seen: list[float] = []

            async def on_progress(done: float, _total: float | None, _m: str | None) -> None:
                seen.append(done)

            code = "progress(1, 2)\nprogress(2, 2)\nx = 6 * 7\nx"
            ran = await client.call_tool(
                "python.run", {"code": code, "session": "m"}, progress_callback=on_progress
            )
            assert ran.structured_content is not None, _text(ran)
            assert ran.structured_content["value"] == "42"
            assert seen == [1, 2]
            # The client gives up on a busy call: over stdio it sends notifications/cancelled,
            # which interrupts the loop long before its deadline; the session keeps its `x`.
            with pytest.raises(Exception, match=r"(?i)tim"):
                await client.call_tool(
                    "python.run",
                    {"code": "while True: pass", "session": "m"},
                    read_timeout_seconds=1.0,
                )
            began = time.monotonic()
            again = await _run(client, "x", session="m")
            assert again.structured_content is not None, _text(again)
            assert again.structured_content["value"] == "42"
            assert time.monotonic() - began < 60

    asyncio.run(scenario())


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
def test_auto_mode_logs_at_the_level_a_request_asks_and_cancels_an_async_tool(
    conformance_dist: Path,
) -> None:
    logs: list[Any] = []

    async def on_log(params: Any) -> None:
        logs.append(params.data)

    async def scenario() -> None:
        only = ("--dist", str(conformance_dist), "--only", "cloche-conformance-tools")
        client = Client(
            StdioServerParameters(command=sys.executable, args=_command(*only)),
            logging_callback=on_log,
            log_level="info",  # stamped on every request: 2026-07-28 has no logging/setLevel
        )
        async with client:
            assert client.protocol_version == MODERN
            seen: list[tuple[float, str | None]] = []

            async def on_progress(done: float, _total: float | None, message: str | None) -> None:
                seen.append((done, message))

            counted = await client.call_tool("conformance.count", {"to": 2}, None, on_progress)
            assert not counted.is_error, _text(counted)
            assert seen == [(1, "step 1"), (2, "step 2")]
            assert logs == ["counted to 2"]  # on the request's own channel, before its result
            # A request that asks for warnings and up gets no info log.
            quiet = {"io.modelcontextprotocol/logLevel": "warning"}
            await client.call_tool("conformance.count", {"to": 1}, meta=quiet)  # type: ignore[arg-type]
            assert logs == ["counted to 2"]

            with pytest.raises(Exception, match=r"(?i)tim"):
                await client.call_tool(
                    "conformance.count", {"to": 100000, "delay": 0.05}, read_timeout_seconds=1.0
                )
            told = await client.call_tool("conformance.cancellations", {})
            assert told.structured_content == {"result": [100000]}, _text(told)

    asyncio.run(scenario())


class _Lines:
    """A `cloche mcp` process over stdio, driven line by line."""

    def __init__(self, *extra: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *_command(*extra)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.seen: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(json.loads(line))
        self._queue.put(None)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def wait_for(self, wanted: Callable[[dict[str, Any]], bool], seconds: float = 15) -> Any:
        """The first message (seen before or arriving within `seconds`) that is `wanted`."""
        deadline = time.monotonic() + seconds
        while True:
            for message in self.seen:
                if wanted(message):
                    return message
            message = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            assert message is not None, f"the server's stdout ended; it had sent {self.seen}"
            self.seen.append(message)


def _reply_to(request_id: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda message: message.get("id") == request_id and "method" not in message


def _modern_request(request_id: Any, method: str, **params: Any) -> dict[str, Any]:
    envelope = {VERSION_KEY: MODERN, CAPABILITIES_KEY: {}}
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": method,
        "params": {**params, "_meta": envelope},
    }


def _hash_abc() -> dict[str, Any]:
    return {"name": "hash.sha256", "arguments": {"text": "abc"}}


def test_one_stdin_serves_a_2025_session_and_2026_requests_and_their_subscriptions(
    tmp_path: Path,
) -> None:
    packages = tmp_path / "packages"
    packages.mkdir()
    server = _Lines("--only", "hash", "--packages", str(packages))
    try:
        server.send({**_initialize(), "id": "init"})
        assert server.wait_for(_reply_to("init"))["result"]["protocolVersion"] == LEGACY
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        watch = {"toolsListChanged": True}
        server.send(_modern_request("sub-1", "subscriptions/listen", notifications=watch))
        ack = server.wait_for(
            lambda m: m.get("method") == "notifications/subscriptions/acknowledged"
        )
        assert ack["params"] == {"_meta": {SUBSCRIPTION_KEY: "sub-1"}, "notifications": watch}
        # Interleaved: a 2025 call, a 2026-07-28 call and list, all answered, each in its era.
        server.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": _hash_abc()})
        server.send(_modern_request(2, "tools/call", **_hash_abc()))
        server.send(_modern_request(3, "tools/list"))
        legacy = server.wait_for(_reply_to(1))["result"]
        modern = server.wait_for(_reply_to(2))["result"]
        assert legacy["structuredContent"] == modern["structuredContent"]
        assert "resultType" not in legacy and modern["resultType"] == "complete"
        assert modern["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "cloche"
        assert server.wait_for(_reply_to(3))["result"]["ttlMs"] == 0

        # A package added to the watched folder: the session and the subscription are both told.
        shutil.copytree(DIST / "wasm" / "primes", tmp_path / "primes")
        (tmp_path / "primes").rename(packages / "primes")
        changed = "notifications/tools/list_changed"
        server.wait_for(lambda m: m.get("method") == changed and m.get("params") == {})
        tagged = {"_meta": {SUBSCRIPTION_KEY: "sub-1"}}
        server.wait_for(lambda m: m.get("method") == changed and m.get("params") == tagged)

        # The client ends its subscription: no reply for it; a second one is answered when
        # stdin ends (the server's graceful end of it).
        cancel = {"requestId": "sub-1", "reason": "done"}
        server.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": cancel})
        server.send(_modern_request("sub-2", "subscriptions/listen", notifications=watch))
        server.wait_for(lambda m: m.get("params", {}).get("_meta") == {SUBSCRIPTION_KEY: "sub-2"})
        server.send({"jsonrpc": "2.0", "id": 4, "method": "ping"})
        server.wait_for(_reply_to(4))
        assert server.process.stdin is not None
        server.process.stdin.close()
        ended = server.wait_for(_reply_to("sub-2"))["result"]
        assert ended["resultType"] == "complete"
        assert ended["_meta"][SUBSCRIPTION_KEY] == "sub-2"
        assert server.process.wait(20) == 0
        assert not [m for m in server.seen if m.get("id") == "sub-1"]
    finally:
        server.close()


# -- Streamable HTTP -------------------------------------------------------------------------------


class HttpServer:
    """`cloche mcp --http` on HTTP_PORT, with a watched packages folder; it can be restarted."""

    def __init__(self, folder: Path) -> None:
        self.url = f"http://127.0.0.1:{HTTP_PORT}/mcp"
        self.packages = folder / "packages"
        self.packages.mkdir()
        self.token_file = folder / "tokens"
        self.token_file.write_text(f"{OTHER_TOKEN}\n")
        self.log_path = folder / "stderr.txt"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        arguments = ("--http", f"127.0.0.1:{HTTP_PORT}", "--max-sessions", "3")
        arguments += ("--max-body-bytes", "65536", "--packages", str(self.packages))
        arguments += ("--token-file", str(self.token_file))
        # Every package of the dist but primes, which a test adds to the packages folder.
        registry = json.loads((DIST / "registry.json").read_text())
        for package in registry["packages"] + registry["wasmPackages"]:
            if package.get("runtime") in ("python", "wasm") and package["name"] != "primes":
                arguments += ("--only", package["name"])
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, *_command(*arguments)],
                env={**os.environ, "CLOCHE_MCP_TOKEN": TOKEN},
                stderr=log,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", HTTP_PORT)):
                return
            if self.process.poll() is not None:
                pytest.fail(f"cloche mcp --http exited: {self.log_path.read_text()}")
            time.sleep(0.1)
        pytest.fail("cloche mcp --http did not listen within 30 s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    server = HttpServer(tmp_path_factory.mktemp("mcp-http"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def _http(url: str, token: str = TOKEN, mode: Mode = "legacy") -> AsyncIterator[Client]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


def test_http_lists_calls_reports_progress_and_cancels(http_server: HttpServer) -> None:
    async def scenario() -> None:
        async with _http(http_server.url) as client:
            assert client.protocol_version == LEGACY
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


def test_http_refuses_rebinding_strangers_and_oversized_bodies(http_server: HttpServer) -> None:
    url = http_server.url
    with httpx.Client(timeout=10) as http:
        rebound = http.post(url, json=_initialize(), headers={**HEADERS, "Host": "evil.example"})
        assert rebound.status_code == 403
        assert "evil.example" in rebound.json()["error"]["message"]
        from_page = http.post(
            url, json=_initialize(), headers={**HEADERS, "Origin": "https://evil.example"}
        )
        assert from_page.status_code == 403
        stranger = http.post(
            url, json=_initialize(), headers={**HEADERS, "Authorization": "Bearer nope"}
        )
        assert stranger.status_code == 401
        assert stranger.headers["www-authenticate"].startswith("Bearer")
        big = http.post(url, content=b'{"x": "' + b"a" * 70_000 + b'"}', headers=HEADERS)
        assert big.status_code == 413
        garbled = http.post(url, content=b"{not json", headers=HEADERS)
        assert garbled.status_code == 400
        assert garbled.json()["error"]["code"] == -32700
        orphan = http.post(
            url,
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            headers={**HEADERS, "Mcp-Session-Id": "no-such-session"},
        )
        assert orphan.status_code == 404
        # The server is still fine for a proper client.
        ok = http.post(url, json=_initialize(), headers=HEADERS)
        assert ok.status_code == 200
        http.delete(url, headers={**HEADERS, "Mcp-Session-Id": ok.headers["mcp-session-id"]})


def test_http_sessions_are_bounded(http_server: HttpServer) -> None:
    url = http_server.url
    with httpx.Client(timeout=10) as http:
        ids = []
        for _ in range(4):
            reply = http.post(url, json=_initialize(), headers=HEADERS)
            assert reply.status_code == 200
            ids.append(reply.headers["mcp-session-id"])
        ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
        # At most 3 are kept: the least recently seen one made room for the fourth.
        first = http.post(url, json=ping, headers={**HEADERS, "Mcp-Session-Id": ids[0]})
        assert first.status_code == 404
        last = http.post(url, json=ping, headers={**HEADERS, "Mcp-Session-Id": ids[-1]})
        assert last.status_code == 200 and last.json()["result"] == {}
        for session_id in ids[1:]:
            http.delete(url, headers={**HEADERS, "Mcp-Session-Id": session_id})


# -- MCP 2026-07-28 over Streamable HTTP -----------------------------------------------------------


def test_http_auto_mode_speaks_2026_07_28_and_a_closed_stream_cancels(
    http_server: HttpServer,
) -> None:
    async def scenario() -> None:
        async with _http(http_server.url, mode="auto") as client:
            assert client.protocol_version == MODERN
            names = [tool.name for tool in (await client.list_tools()).tools]
            assert "hash.sha256" in names and "python.run" in names
            hashed = await client.call_tool("hash.sha256", {"text": "abc"})
            assert hashed.structured_content is not None
            assert hashed.structured_content["hex"].startswith("ba7816bf")
            seen: list[float] = []

            async def on_progress(done: float, _total: float | None, _m: str | None) -> None:
                seen.append(done)

            kept = await client.call_tool(
                "python.run",
                {"code": "progress(1, 2)\nprogress(2, 2)\nx = 1", "session": "h"},
                progress_callback=on_progress,
            )
            assert not kept.is_error, _text(kept)
            assert seen == [1, 2]
            # Over HTTP the SDK cancels by closing the call's stream: the busy loop is
            # interrupted long before the 30 s deadline, and the session keeps its `x`.
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

        # 2026-07-28 has no session: python.run sessions are the credential's. Another client
        # with the same token reaches `h`; one with another token has its own `h`.
        async with _http(http_server.url, mode="auto") as same:
            found = await _run(same, "'x' in dir()", session="h")
            assert found.structured_content is not None, _text(found)
            assert found.structured_content["value"] == "True"
        async with _http(http_server.url, OTHER_TOKEN, mode="auto") as other:
            apart = await _run(other, "'x' in dir()", session="h")
            assert apart.structured_content is not None, _text(apart)
            assert apart.structured_content["value"] == "False"

    asyncio.run(scenario())


def test_http_serves_a_2025_session_and_2026_requests_at_once(http_server: HttpServer) -> None:
    code = (
        "import asyncio\nfor i in range(3):\n    await asyncio.sleep(0.2)\n    progress(i + 1, 3)\n"
    )

    async def scenario() -> None:
        async with (
            _http(http_server.url) as legacy,
            _http(http_server.url, mode="auto") as modern,
        ):
            assert (legacy.protocol_version, modern.protocol_version) == (LEGACY, MODERN)
            tracks: dict[str, list[float]] = {"legacy": [], "modern": []}

            def track(name: str) -> Any:
                async def on_progress(done: float, _total: float | None, _m: str | None) -> None:
                    tracks[name].append(done)

                return on_progress

            results = await asyncio.gather(
                *(
                    client.call_tool(
                        "python.run", {"code": code + repr(name)}, progress_callback=track(name)
                    )
                    for name, client in (("legacy", legacy), ("modern", modern))
                ),
                legacy.call_tool("hash.sha256", {"text": "abc"}),
                modern.call_tool("hash.sha256", {"text": "abc"}),
            )
            values = [r.structured_content["value"] for r in results[:2] if r.structured_content]
            assert values == ["'legacy'", "'modern'"], [_text(r) for r in results]
            assert results[2].structured_content == results[3].structured_content
            assert tracks == {"legacy": [1, 2, 3], "modern": [1, 2, 3]}

    asyncio.run(scenario())


def _modern_post(
    http: httpx.Client,
    url: str,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    headers: dict[str, str | None] | None = None,
    meta: dict[str, Any] | None = None,
    request_id: Any = 7,
) -> httpx.Response:
    """POST one 2026-07-28 request as the SDKs do; a None in `headers` or `meta` leaves it out."""
    envelope = {VERSION_KEY: MODERN, CAPABILITIES_KEY: {}, **(meta or {})}
    body_params = {**(params or {}), "_meta": {k: v for k, v in envelope.items() if v is not None}}
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": body_params}
    sent: dict[str, str | None] = {**HEADERS, "MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if params and "name" in params:
        sent["Mcp-Name"] = params["name"]
    sent.update(headers or {})
    return http.post(url, json=body, headers={k: v for k, v in sent.items() if v is not None})


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


HASH = {"name": "hash.sha256", "arguments": {"text": "abc"}}
LADDER: dict[str, tuple[str, dict[str, Any], int, int, str]] = {
    # case: (method, what _modern_post gets, HTTP status, JSON-RPC code, words in the message)
    "envelope without client capabilities": (
        "tools/list",
        {"meta": {CAPABILITIES_KEY: None}},
        400,
        -32602,
        CAPABILITIES_KEY,
    ),
    "the envelope is checked before the headers": (
        "tools/list",
        {"meta": {CAPABILITIES_KEY: None}, "headers": {"MCP-Protocol-Version": None}},
        400,
        -32602,
        CAPABILITIES_KEY,
    ),
    "no MCP-Protocol-Version header": (
        "tools/list",
        {"headers": {"MCP-Protocol-Version": None}},
        400,
        -32020,
        "MCP-Protocol-Version header is missing",
    ),
    "MCP-Protocol-Version unlike the body's": (
        "tools/list",
        {"headers": {"MCP-Protocol-Version": LEGACY}},
        400,
        -32020,
        f"MCP-Protocol-Version header '{LEGACY}' does not match",
    ),
    "the headers are checked before the version": (
        "tools/list",
        {"meta": {VERSION_KEY: "2099-01-01"}},
        400,
        -32020,
        "'2099-01-01'",
    ),
    "Mcp-Method unlike the body's": (
        "tools/list",
        {"headers": {"Mcp-Method": "tools/call"}},
        400,
        -32020,
        "Mcp-Method header 'tools/call' does not match the request's method 'tools/list'",
    ),
    "no Mcp-Name": (
        "tools/call",
        {"params": HASH, "headers": {"Mcp-Name": None}},
        400,
        -32020,
        "Mcp-Name header is missing",
    ),
    "Mcp-Name unlike the body's": (
        "tools/call",
        {"params": HASH, "headers": {"Mcp-Name": "hash.md5"}},
        400,
        -32020,
        "'hash.md5' does not match params.name 'hash.sha256'",
    ),
    "Mcp-Name with a malformed base64 value": (
        "tools/call",
        {"params": HASH, "headers": {"Mcp-Name": "=?base64?not base64?="}},
        400,
        -32020,
        "malformed",
    ),
    "an unsupported version": (
        "tools/list",
        {"meta": {VERSION_KEY: "2099-01-01"}, "headers": {"MCP-Protocol-Version": "2099-01-01"}},
        400,
        -32022,
        "Unsupported protocol version: 2099-01-01",
    ),
    "an unknown log level": (
        "tools/list",
        {"meta": {"io.modelcontextprotocol/logLevel": "loud"}},
        400,
        -32602,
        "'loud' is not a log level",
    ),
    "an unknown tool": (
        "tools/call",
        {"params": {"name": "nope", "arguments": {}}},
        400,
        -32602,
        "Unknown tool: nope",
    ),
    "an unknown method": ("resources/list", {}, 404, -32601, "Method not found: resources/list"),
    "initialize sent the 2026-07-28 way": (
        "initialize",
        {},
        404,
        -32601,
        "Method not found: initialize",
    ),
    "a 2025 method": ("ping", {}, 404, -32601, "Method not found: ping"),
}


@pytest.mark.parametrize("case", LADDER)
def test_http_refuses_a_faulty_2026_request_with_the_sdks_status(
    http_server: HttpServer, case: str
) -> None:
    method, request, status, code, words = LADDER[case]
    with httpx.Client(timeout=10) as http:
        reply = _modern_post(http, http_server.url, method, **request)
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["id"] == 7
    assert body["error"]["code"] == code
    assert words in body["error"]["message"]
    if code == -32022:
        assert body["error"]["data"] == {"supported": [MODERN], "requested": "2099-01-01"}


def test_http_answers_2026_requests_without_a_session(http_server: HttpServer) -> None:
    with httpx.Client(timeout=10) as http:
        # A name in the base64 sentinel is decoded before it is compared; a call is a stream.
        called = _modern_post(
            http,
            http_server.url,
            "tools/call",
            HASH,
            headers={"Mcp-Name": "=?base64?aGFzaC5zaGEyNTY=?="},
        )
        assert called.status_code == 200, called.text
        assert called.headers["content-type"] == "text/event-stream"
        assert called.headers["x-accel-buffering"] == "no"
        assert "mcp-session-id" not in called.headers
        (answer,) = _events(called.text)
        assert answer["id"] == 7 and answer["result"]["resultType"] == "complete"
        assert answer["result"]["structuredContent"]["hex"].startswith("ba7816bf")
        discovered = _modern_post(http, http_server.url, "server/discover")
        assert discovered.status_code == 200
        assert discovered.json()["result"]["supportedVersions"] == [MODERN]

        # A 2026-07-28 notification is accepted and dropped (closing a stream is the cancel).
        cancelled = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": 7},
        }
        headers = {**HEADERS, "MCP-Protocol-Version": MODERN}
        assert http.post(http_server.url, json=cancelled, headers=headers).status_code == 202

        # Neither a session nor the envelope: a 400 naming both ways, not a 2026-07-28 code, so
        # a client that tried 2026-07-28 falls back to initialize.
        orphan = {"jsonrpc": "2.0", "id": 8, "method": "tools/list", "params": {}}
        refused = http.post(http_server.url, json=orphan, headers=HEADERS)
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["code"] == -32600
        assert "initialize" in error["message"] and MODERN in error["message"]


@contextlib.contextmanager
def _listen(url: str, request_id: str) -> Iterator[Iterator[dict[str, Any]]]:
    """A subscriptions/listen stream for tool list changes, as the messages it carries."""
    envelope = {VERSION_KEY: MODERN, CAPABILITIES_KEY: {}}
    params = {"notifications": {"toolsListChanged": True}, "_meta": envelope}
    body = {"jsonrpc": "2.0", "id": request_id, "method": "subscriptions/listen", "params": params}
    headers = {**HEADERS, "MCP-Protocol-Version": MODERN, "Mcp-Method": "subscriptions/listen"}
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=30)) as http,
        http.stream("POST", url, json=body, headers=headers) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"] == "text/event-stream"
        assert stream.headers["x-accel-buffering"] == "no"
        yield (json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:"))


def test_http_listen_acknowledges_and_tells_of_a_package_added(http_server: HttpServer) -> None:
    added = http_server.packages / "primes"
    try:
        with _listen(http_server.url, "watch-1") as messages:
            assert next(messages) == {
                "jsonrpc": "2.0",
                "method": "notifications/subscriptions/acknowledged",
                "params": {
                    "_meta": {SUBSCRIPTION_KEY: "watch-1"},
                    "notifications": {"toolsListChanged": True},
                },
            }
            staged = http_server.packages.parent / "primes"
            shutil.copytree(DIST / "wasm" / "primes", staged)
            staged.rename(added)
            assert next(messages) == {
                "jsonrpc": "2.0",
                "method": "notifications/tools/list_changed",
                "params": {"_meta": {SUBSCRIPTION_KEY: "watch-1"}},
            }
        with httpx.Client(timeout=10) as http:
            listed = _modern_post(http, http_server.url, "tools/list").json()["result"]
        assert "primes.count" in [tool["name"] for tool in listed["tools"]]
        assert listed["ttlMs"] == 0 and listed["resultType"] == "complete"
    finally:
        shutil.rmtree(added, ignore_errors=True)


def test_http_stopping_ends_a_subscription_gracefully(http_server: HttpServer) -> None:
    assert http_server.process is not None
    try:
        with _listen(http_server.url, "until-stop") as messages:
            assert next(messages)["method"] == "notifications/subscriptions/acknowledged"
            http_server.process.terminate()
            ended = next(messages)
            assert ended["id"] == "until-stop"
            assert ended["result"]["resultType"] == "complete"
            assert ended["result"]["_meta"][SUBSCRIPTION_KEY] == "until-stop"
            assert next(messages, None) is None  # and the stream ends there
        http_server.process.wait(10)
    finally:
        http_server.stop()
        http_server.start()


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
