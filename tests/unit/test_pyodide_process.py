"""Python tools in Pyodide inside Deno, as `cloche mcp` runs them: the real deno, the real dist.

The escape tests run hostile code through python.run (which runs whatever it is given) and
expect Deno to refuse each attempt, the refusal to reach the tool's result, and the process to
keep answering. A listener on 127.0.0.1 proves that no connection left the process.

`cloche.http.fetch` (web.fetch's way out) is answered by the process itself, with Deno's fetch:
a site on 127.0.0.1 is reached when granted, and nothing else is, redirects included.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import socket
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from cloche._jsonrpc import RpcError
from cloche_server.build import Project, find_project_root
from cloche_server.mcp.pyodide_process import (
    ENTRY,
    ProcessEnded,
    PyodideBootError,
    PyodideProcess,
    deno_binary,
    deno_command,
)

DIST = Project(find_project_root(Path(__file__).parent)).default_dist
PACKAGES = ["cloche-tools-python", "cloche-tools-text", "cloche-tools-web"]
SECRET = "CLOCHE_TEST_SECRET_API_KEY"
T = TypeVar("T")


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    if not DIST.joinpath(*ENTRY).is_file():
        pytest.fail(f"{DIST.joinpath(*ENTRY)} is missing: build the dist (`cloche build`) first")


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections and answers each with `hello`."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port: int = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with connection:
                connection.settimeout(2)
                try:
                    connection.recv(65536)
                    connection.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                        b"Connection: close\r\n\r\nhello"
                    )
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


class Site:
    """An HTTP server on 127.0.0.1 that records the requests it gets: /page is an HTML page,
    /echo answers what it got as JSON, /hop redirects to /page, /away?port=N to port N, /big is
    one byte over the response limit."""

    PAGE = (
        b"<html><head><title>Granted page</title></head>"
        b"<body><h1>Hello</h1><p>From the granted host.</p></body></html>"
    )

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.answer(self, b"")

            def do_POST(self) -> None:
                site.answer(self, self.rfile.read(int(self.headers.get("content-length", 0))))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        path, _, query = handler.path.partition("?")
        headers = {name.lower(): value for name, value in handler.headers.items()}
        self.requests.append({"method": handler.command, "path": path, "headers": headers})
        if path in ("/hop", "/away"):
            handler.send_response(302)
            port = query.removeprefix("port=") or self.port
            handler.send_header("Location", f"http://127.0.0.1:{port}/page")
            handler.end_headers()
            return
        content_type, content = "text/html; charset=utf-8", self.PAGE
        if path == "/echo":
            content_type = "application/json"
            got = {"method": handler.command, "headers": headers, "body": body.decode()}
            content = json.dumps(got).encode()
        elif path == "/big":
            content_type, content = "text/plain", b"x" * (8 * 2**20 + 1)
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Set-Cookie", "session=kept-by-nobody")
        handler.send_header("X-Twice", "one")
        handler.send_header("X-Twice", "two")
        handler.end_headers()
        handler.wfile.write(content)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


class Session:
    """One PyodideProcess on an event loop of its own, shared by the tests of this module."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.notifications: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.process: PyodideProcess | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, 60))

    def start(self, packages: list[str], **options: Any) -> PyodideProcess:
        self.process = self.run(
            PyodideProcess.start(
                DIST, packages, on_notification=self.notifications.append, **options
            )
        )
        return self.process

    async def answer(self, method: str, params: dict[str, Any]) -> Any:
        """A host that keeps one key in its store (and knows nothing else)."""
        self.requests.append((method, params))
        if method != "cloche/store":
            raise LookupError(method)
        if params["op"] == "keys":
            return {"keys": ["kept"]}
        raise RuntimeError(f"no {params['op']} here")

    def call(self, name: str, arguments: dict[str, Any], **meta: Any) -> dict[str, Any]:
        assert self.process is not None
        params: dict[str, Any] = {"name": name, "arguments": arguments}
        if meta:
            params["_meta"] = meta
        result: dict[str, Any] = self.run(self.process.request("tools/call", params))
        return result

    def python(self, code: str) -> tuple[bool, str]:
        """python.run's (isError, text)."""
        result = self.call("python.run", {"code": code})
        return bool(result.get("isError")), result["content"][0]["text"]

    def close(self) -> None:
        if self.process is not None:
            self.run(self.process.kill())
        self.loop.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def shared() -> Iterator[Session]:
    """A process with python.run and text.stats, started while the server's environment holds a
    secret (it must not reach the process)."""
    session = Session()
    os.environ[SECRET] = "sk-do-not-leak"
    try:
        session.start(PACKAGES, on_request=session.answer)
    finally:
        del os.environ[SECRET]
    yield session
    session.close()


def _our_deno_processes(package: str) -> list[str]:
    """This test process's Deno children that run `package`, and any zombie child."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
            if int(parent.split()[1]) == os.getpid():
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                found.append(command.decode() or f"pid {pid} (a zombie)")
    return [line for line in found if f"python-deno.js {package}" in line or "zombie" in line]


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(entry.split("=", 1) for entry in raw.decode().split("\0") if "=" in entry)


# -- the command and the start ---------------------------------------------------------------------


def test_the_command_grants_reading_the_dist_and_the_named_hosts_only() -> None:
    plain = deno_command("deno", DIST, ["cloche-tools-text"])
    assert plain == [
        "deno",
        "run",
        f"--allow-read={DIST}",
        "--no-prompt",
        "--no-config",
        "--no-lock",
        "--no-remote",
        "--no-npm",
        "--cached-only",
        str(DIST / "workers" / "python-deno.js"),
        "cloche-tools-text",
    ]
    granted = deno_command("deno", DIST, ["x"], ["api.example.org", "127.0.0.1:8080"])
    assert [f for f in granted if f.startswith("--allow-")] == [
        f"--allow-read={DIST}",
        "--allow-net=api.example.org,127.0.0.1:8080",
    ]
    with pytest.raises(ValueError, match="not a host"):
        deno_command("deno", DIST, ["x"], ["https://example.org"])
    with pytest.raises(ValueError, match="not a package name"):
        deno_command("deno", DIST, ["--allow-all"])


def test_boots_and_says_what_it_runs(shared: Session) -> None:
    process = shared.process
    assert process is not None and process.alive
    info = process.ready_info
    assert info["python"].startswith("3.")
    assert info["pyodide"] and info["deno"] and info["problems"] == []
    assert info["packages"] == PACKAGES and info["interruptible"] is True
    assert 0 < info["bootMs"] < 120_000
    assert process.initialize_result["protocolVersion"] == "2025-11-25"


def test_the_process_environment_holds_nothing_of_the_servers(shared: Session) -> None:
    assert shared.process is not None
    environment = _environ(shared.process.pid)
    assert set(environment) <= {"PATH", "HOME", "DENO_DIR", "DENO_NO_UPDATE_CHECK", "NO_COLOR"}
    assert SECRET not in environment


def test_lists_and_calls_the_tools_of_its_packages(shared: Session) -> None:
    assert shared.process is not None
    listed = shared.run(shared.process.request("tools/list", {}))
    assert {tool["name"] for tool in listed["tools"]} == {"python.run", "text.stats", "web.fetch"}
    stats = shared.call("text.stats", {"text": "one two three. four"})
    assert not stats.get("isError"), stats
    assert stats["structuredContent"]["words"] == 4
    assert stats["structuredContent"]["sentences"] == 2


def test_megabytes_cross_in_one_line_each_way(shared: Session) -> None:
    words = "word " * 2_000_000  # 10 MB of arguments
    stats = shared.call("text.stats", {"text": words})
    assert stats["structuredContent"]["words"] == 2_000_000
    # And 10 MB back in one line (written straight to the process's stdout: python.run clips
    # what it returns).
    big = "x" * 10_000_000
    code = (
        "import js, json\nfs = await js.eval('import(\"node:fs\")')\n"
        "fs.writeSync(1, json.dumps({'jsonrpc': '2.0', 'method': 'notifications/message', "
        f"'params': {{'level': 'info', 'data': 'x' * {len(big)}}}}}) + '\\n')\n'sent'"
    )
    failed, text = shared.python(code)
    assert not failed, text
    assert any(
        n["method"] == "notifications/message" and n["params"]["data"] == big
        for n in shared.notifications
    )


def test_progress_reaches_on_notification(shared: Session) -> None:
    code = "progress(1, 4, 'a quarter')\nprogress(4, 4)\n'done'"
    result = shared.call("python.run", {"code": code}, progressToken="p-1")
    assert result["structuredContent"]["value_json"] == "done"
    progress = [
        n["params"]
        for n in shared.notifications
        if n["method"] == "notifications/progress" and n["params"]["progressToken"] == "p-1"
    ]
    assert progress == [
        {"progressToken": "p-1", "progress": 1, "total": 4, "message": "a quarter"},
        {"progressToken": "p-1", "progress": 4, "total": 4},
    ]


def test_an_unknown_method_is_a_json_rpc_error(shared: Session) -> None:
    assert shared.process is not None
    with pytest.raises(RpcError) as raised:
        shared.run(shared.process.request("no/such/method", {}))
    assert raised.value.code == -32601


def test_requests_of_the_process_reach_on_request(shared: Session) -> None:
    failed, text = shared.python("import cloche.store\nawait cloche.store.keys()")
    assert not failed and '"value_json": ["kept"]' in text
    assert shared.requests[-1] == ("cloche/store", {"op": "keys"})
    failed, text = shared.python("import cloche.store\nawait cloche.store.get('k')")
    assert failed
    assert "`cloche mcp` could not answer cloche/store: RuntimeError: no get here" in text


def test_an_install_at_run_time_is_refused_clearly(shared: Session) -> None:
    # micropip.install by name asks the host for the wheels (cloche/wheels): there is no page.
    failed, text = shared.python("import micropip\nawait micropip.install('tabulate')")
    assert failed
    assert "`cloche mcp` installs no packages at run time" in text
    assert "nothing was installed" in text
    assert shared.requests[-1][0] == "cloche/wheels"


# -- a hostile tool cannot get out -----------------------------------------------------------------

ESCAPES = {
    "a file outside the dist": (
        "import js\njs.Deno.readTextFileSync('/etc/hostname')",
        'NotCapable: Requires read access to "/etc/hostname"',
    ),
    "a file through a NODEFS mount": (
        "import js, pyodide_js\nfrom pyodide.ffi import to_js\nFS = pyodide_js.FS\n"
        "FS.mkdirTree('/host')\n"
        "FS.mount(FS.filesystems.NODEFS, to_js({'root': '/etc'}, "
        "dict_converter=js.Object.fromEntries), '/host')\n"
        "open('/host/hostname').read()",
        'Requires read access to "/etc"',
    ),
    "writing a file": (
        "import js\njs.Deno.writeTextFileSync('/tmp/cloche-escape', 'x')",
        'Requires write access to "/tmp/cloche-escape"',
    ),
    "pyfetch to 127.0.0.1": (
        "from pyodide.http import pyfetch\nawait pyfetch('http://127.0.0.1:PORT/')",
        'Requires net access to "127.0.0.1:PORT"',
    ),
    "fetch to 127.0.0.1": (
        "import js\nawait js.fetch('http://127.0.0.1:PORT/')",
        'Requires net access to "127.0.0.1:PORT"',
    ),
    "a socket to 127.0.0.1": (
        "import js\nfrom pyodide.ffi import to_js\n"
        "await js.Deno.connect(to_js({'hostname': '127.0.0.1', 'port': PORT}, "
        "dict_converter=js.Object.fromEntries))",
        'Requires net access to "127.0.0.1:PORT"',
    ),
    "a process": (
        "import js\njs.Deno.Command.new('/bin/echo').outputSync()",
        'Requires run access to "/bin/echo"',
    ),
    "a process through node:child_process": (
        "import js\ncp = await js.eval('import(\"node:child_process\")')\ncp.execSync('echo hi')",
        "NotCapable: Requires",
    ),
    "an environment variable": (
        "import js\njs.Deno.env.get('HOME')",
        'Requires env access to "HOME"',
    ),
    "an npm module (Deno would fetch it itself)": (
        "import js\nawait js.eval('import(\"npm:left-pad\")')",
        "--no-npm is specified",
    ),
    "a remote module (Deno would fetch it itself)": (
        "import js\nawait js.eval('import(\"https://esm.sh/left-pad\")')",
        "--no-remote is specified",
    ),
    "a library": (
        "import js\njs.Deno.dlopen('/lib/x86_64-linux-gnu/libc.so.6', js.Object.new())",
        "Requires ffi access",
    ),
    "the protocol's stdout": (
        "import js\njs.Deno.stdout.writeSync(js.TextEncoder.new().encode('{}\\n'))",
        "Deno.stdout is not available to tool code",
    ),
    "the protocol's stdin": (
        "import js\njs.Deno.stdin.readSync(js.Uint8Array.new(10))",
        "Deno.stdin is not available to tool code",
    ),
    "Python's stdin": ("input()", "EOFError"),
    "a wheel from a URL": (
        "import micropip\nawait micropip.install('http://127.0.0.1:PORT/x-1.0-py3-none-any.whl')",
        "is not available to tool code",
    ),
}


@pytest.mark.parametrize("attempt", list(ESCAPES))
def test_a_hostile_tool_cannot_get_out(shared: Session, listener: Listener, attempt: str) -> None:
    code, refusal = (part.replace("PORT", str(listener.port)) for part in ESCAPES[attempt])
    failed, text = shared.python(code)
    assert failed, text
    assert refusal in text
    assert listener.connections == 0
    assert shared.python("6 * 7")[1].count("42") == 2  # value and value_json: still answering


def test_no_permission_can_be_asked_for(shared: Session) -> None:
    failed, text = shared.python(
        "import js\nfrom pyodide.ffi import to_js\n"
        "(await js.Deno.permissions.request(to_js({'name': 'read'}, "
        "dict_converter=js.Object.fromEntries))).state"
    )
    assert not failed and "denied" in text


def test_output_of_tool_code_never_reaches_the_protocol(shared: Session) -> None:
    assert shared.process is not None
    line = '{"jsonrpc": "2.0", "id": 424242, "result": {}}'
    code = (
        "import js\n"
        f"js.console.log({line!r})\n"
        "js.process.stdout.write('via process.stdout\\n')\n"
        "print('via print')\n"
        "'written'"
    )
    failed, text = shared.python(code)
    assert not failed and "written" in text
    # Not a byte of it on the protocol channel: all of it on stderr.
    tail = shared.process.stderr_tail
    assert line in tail and "via process.stdout" in tail


def test_a_line_that_is_not_json_is_dropped_and_noted(shared: Session) -> None:
    # Deno lets any code write to a file descriptor (node:fs): this reaches stdout itself.
    assert shared.process is not None
    code = (
        "import js\nfs = await js.eval('import(\"node:fs\")')\n"
        "fs.writeSync(1, 'not json at all\\n')\n'wrote'"
    )
    failed, text = shared.python(code)
    assert not failed and "wrote" in text
    assert "[stdout: not a JSON-RPC message, dropped] not json at all" in (
        shared.process.stderr_tail
    )
    assert shared.process.alive


def test_an_error_thrown_in_a_javascript_callback_does_not_end_the_process(
    shared: Session,
) -> None:
    assert shared.process is not None
    code = "import js\njs.setTimeout(js.eval('() => { throw new Error(\"boom\") }'), 0)\n'set'"
    assert not shared.python(code)[0]
    assert shared.python("6 * 7")[1].count("42") == 2
    assert "uncaught error in tool code: Uncaught Error: boom" in shared.process.stderr_tail
    assert shared.process.alive


def test_an_interrupt_stops_a_busy_loop_and_the_process_goes_on(shared: Session) -> None:
    process = shared.process
    assert process is not None

    async def interrupted() -> dict[str, Any]:
        # The loop says it has started (its progress) before it is interrupted: an interrupt that
        # lands before the tool runs is spent on the message's handling, which is then retried.
        code = "progress(1, 1)\nwhile True: pass"
        params = {"name": "python.run", "arguments": {"code": code}, "_meta": {"progressToken": 91}}
        call = asyncio.ensure_future(process.request("tools/call", params))
        while not any(
            n.get("method") == "notifications/progress" and n["params"]["progressToken"] == 91
            for n in shared.notifications
        ):
            assert not call.done(), call.result()
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert not call.done()
        process.interrupt()
        result: dict[str, Any] = await call
        return result

    result = shared.run(interrupted())
    assert result.get("isError") and "KeyboardInterrupt" in result["content"][0]["text"]
    assert shared.python("6 * 7")[1].count("42") == 2


# -- a granted host, and the end of a process ------------------------------------------------------


def test_a_granted_host_is_reachable_and_only_it(listener: Listener) -> None:
    other = Listener()
    session = Session()
    try:
        session.start(["cloche-tools-python"], allow_net=[f"127.0.0.1:{listener.port}"])
        before = listener.connections
        failed, text = session.python(
            "from pyodide.http import pyfetch\n"
            f"await (await pyfetch('http://127.0.0.1:{listener.port}/')).string()"
        )
        assert not failed, text
        assert "hello" in text
        assert listener.connections == before + 1
        failed, text = session.python(
            f"from pyodide.http import pyfetch\nawait pyfetch('http://127.0.0.1:{other.port}/')"
        )
        assert failed and f'Requires net access to "127.0.0.1:{other.port}"' in text
        assert other.connections == 0
    finally:
        session.close()
        other.close()


# -- cloche/fetch: answered by the process, with Deno's fetch -------------------------------------


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.close()


@pytest.fixture(scope="module")
def granted(site: Site) -> Iterator[Session]:
    """web.fetch and python.run in a process granted the site's host, with no host of its own
    (what `cloche mcp --grant cloche-tools-web=127.0.0.1:PORT` starts)."""
    session = Session()
    try:
        session.start(
            ["cloche-tools-web", "cloche-tools-python"], allow_net=[f"127.0.0.1:{site.port}"]
        )
        yield session
    finally:
        session.close()


def _error_text(result: dict[str, Any]) -> str:
    assert result.get("isError"), result
    text: str = result["content"][0]["text"]
    return text


def test_web_fetch_reads_a_page_of_the_granted_host(granted: Session, site: Site) -> None:
    result = granted.call("web.fetch", {"url": f"{site.url}/page"})
    assert not result.get("isError"), result
    page = result["structuredContent"]
    assert page["status"] == 200 and page["url"] == f"{site.url}/page"
    assert page["title"] == "Granted page" and page["contentType"] == "text/html"
    assert "# Hello" in page["content"] and "From the granted host." in page["content"]
    assert site.requests[-1]["path"] == "/page"


def test_web_fetch_of_another_host_is_refused_by_deno(granted: Session) -> None:
    other = Listener()
    try:
        text = _error_text(granted.call("web.fetch", {"url": f"http://127.0.0.1:{other.port}/"}))
        assert f'Requires net access to "127.0.0.1:{other.port}"' in text
        assert "nothing was fetched" in text and "cloche mcp --grant" in text
        assert other.connections == 0
    finally:
        other.close()


def test_a_redirect_to_another_host_is_not_followed(granted: Session, site: Site) -> None:
    other = Listener()
    try:
        url = f"{site.url}/away?port={other.port}"
        text = _error_text(granted.call("web.fetch", {"url": url}))
        assert f"redirected to http://127.0.0.1:{other.port}/page" in text
        assert f'Requires net access to "127.0.0.1:{other.port}"' in text
        assert "the redirect was not followed" in text
        assert site.requests[-1]["path"] == "/away"
        assert other.connections == 0
    finally:
        other.close()


def test_a_redirect_within_the_grant_is_followed(granted: Session, site: Site) -> None:
    result = granted.call("web.fetch", {"url": f"{site.url}/hop"})
    assert not result.get("isError"), result
    assert result["structuredContent"]["url"] == f"{site.url}/page"
    assert [r["path"] for r in site.requests[-2:]] == ["/hop", "/page"]


def test_without_a_grant_web_fetch_is_refused(shared: Session) -> None:
    other = Listener()
    try:
        text = _error_text(shared.call("web.fetch", {"url": f"http://127.0.0.1:{other.port}/"}))
        assert f'Requires net access to "127.0.0.1:{other.port}"' in text
        assert other.connections == 0
        # Refused in the process: the server was never asked to fetch.
        assert all(method != "cloche/fetch" for method, _ in shared.requests)
    finally:
        other.close()


def test_cloche_http_fetch_sends_and_answers_as_the_pages_host(
    granted: Session, site: Site
) -> None:
    code = (
        "import cloche.http\n"
        f"r = await cloche.http.fetch('{site.url}/echo', method='POST', body='hello', headers=["
        "('Content-Type', 'text/plain'), ('Authorization', 'Bearer t'), ('Cookie', 'a=b')])\n"
        "{'status': r.status, 'url': r.url, 'got': r.json(), 'twice': r.headers['x-twice'],\n"
        " 'cookie': 'set-cookie' in r.headers}"
    )
    result = granted.call("python.run", {"code": code})
    assert not result.get("isError"), result
    answer = result["structuredContent"]["value_json"]
    assert answer["status"] == 200 and answer["url"] == f"{site.url}/echo"
    got = answer["got"]
    assert got["method"] == "POST" and got["body"] == "hello"
    assert got["headers"]["content-type"] == "text/plain"
    assert got["headers"]["authorization"] == "Bearer t"
    # As the fetch proxy does: no cookies either way.
    assert "cookie" not in got["headers"] and answer["cookie"] is False
    assert answer["twice"] == "one, two"


def test_an_answer_over_the_limit_is_refused(granted: Session, site: Site) -> None:
    failed, text = granted.python(f"import cloche.http\nawait cloche.http.fetch('{site.url}/big')")
    assert failed
    assert f"FetchError: refused: the answer from {site.url}/big is larger than the limit" in text


def test_the_store_is_refused_clearly(granted: Session) -> None:
    failed, text = granted.python("import cloche.store\nawait cloche.store.get('k')")
    assert failed
    assert "StoreError: refused: `cloche mcp` keeps no store for tool packages" in text


def test_kill_fails_the_call_in_flight_and_a_new_process_starts() -> None:
    session = Session()
    try:
        process = session.start(["cloche-tools-python"])
        deno_dir = Path(_environ(process.pid)["DENO_DIR"])
        assert deno_dir.is_dir()

        async def killed() -> None:
            call = asyncio.ensure_future(
                process.request(
                    "tools/call", {"name": "python.run", "arguments": {"code": "while True: pass"}}
                )
            )
            await asyncio.sleep(0.3)
            await process.kill()
            with pytest.raises(ProcessEnded, match="was killed"):
                await call

        session.run(killed())
        assert not process.alive
        assert not Path(f"/proc/{process.pid}").exists()  # reaped: no zombie
        assert not deno_dir.exists()
        with pytest.raises(ProcessEnded):
            session.run(process.request("ping", {}))
        again = session.start(["cloche-tools-python"])
        assert session.run(again.request("ping", {})) == {}
    finally:
        session.close()


def test_a_failed_boot_says_why_and_leaves_no_process() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(PyodideBootError) as raised:
            loop.run_until_complete(PyodideProcess.start(DIST, ["no-such-package"]))
    finally:
        loop.close()
    assert raised.value.phase == "packages"
    assert "no-such-package" in str(raised.value)
    assert _our_deno_processes("no-such-package") == []


def test_a_cancelled_start_leaves_no_process() -> None:
    async def cancelled() -> None:
        starting = asyncio.ensure_future(PyodideProcess.start(DIST, ["cloche-tools-json"]))
        await asyncio.sleep(0.5)
        assert _our_deno_processes("cloche-tools-json")
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(cancelled())
    finally:
        loop.close()
    assert _our_deno_processes("cloche-tools-json") == []


def test_deno_is_found() -> None:
    assert Path(deno_binary()).is_file()
