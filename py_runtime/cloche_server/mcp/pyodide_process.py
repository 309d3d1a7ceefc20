"""One Deno process running Pyodide with some tool packages, spoken to in MCP over its stdio.

Python tool code never runs in the server's own CPython: it runs in Pyodide inside Deno
(web/workers/python-deno.js from the dist), which may read the dist and nothing else, and reach
exactly the hosts granted to its packages (`allow_net`), nothing without a grant. Its environment
holds no variable of the server's (which may hold API keys), and its Deno cache is a private
temporary folder. Remote and npm imports are off: Deno would fetch those itself, outside
`--allow-net`, and tool code can `import()`.

The process speaks newline-delimited JSON-RPC: one message a line on stdin and stdout; its stderr
is kept (the last STDERR_TAIL_BYTES) for the errors raised here.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from cloche import __version__
from cloche._jsonrpc import INTERNAL_ERROR, METHOD_NOT_FOUND, RpcError, encode

PROTOCOL_VERSION = "2025-11-25"
ENTRY = ("workers", "python-deno.js")
# A tool's result is one line, and can be megabytes.
LINE_LIMIT = 64 * 2**20
STDERR_TAIL_BYTES = 64 * 1024
# How long a process whose stdout ended has to exit before it is killed.
EXIT_GRACE_S = 2.0
_PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HOST = re.compile(r"[A-Za-z0-9.\-\[\]:*]+")

# What a tool reads when it asks for what only a page's host gives; its process answers
# `cloche/fetch` itself, with Deno's fetch (web/workers/deno-fetch.js).
NOT_PROVIDED = {
    "cloche/store": (
        "`cloche mcp` keeps no store for tool packages (cloche.store needs a page, which keeps "
        "each package's store in the browser); nothing was read or written"
    ),
    "cloche/wheels": (
        "`cloche mcp` installs no packages at run time: code there imports only what its process "
        "started with (the tool package and its dependencies); nothing was installed"
    ),
}
NOT_PROVIDED_OTHER = "`cloche mcp` does not provide {}: tools run there without a page's host"

Notification = Callable[[dict[str, Any]], None]
RequestHandler = Callable[[str, dict[str, Any]], Awaitable[Any]]


class DenoNotFound(FileNotFoundError):
    """No deno binary to run Python tools with."""

    def __str__(self) -> str:
        return (
            "Python tools run in Pyodide inside Deno, and no deno binary was found: install "
            "cloche[mcp] (it brings PyPI's deno), or put deno on PATH"
        )


class PyodideBootError(Exception):
    """The process did not become ready: its phase, why, and the end of its stderr."""

    def __init__(self, phase: str, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.phase = phase
        self.message = message
        self.stderr_tail = stderr_tail

    def __str__(self) -> str:
        return (
            f"Pyodide did not start ({self.phase}): {self.message}{_last_lines(self.stderr_tail)}"
        )


class ProcessEnded(Exception):
    """The process ended (or was killed) before a request was answered."""

    def __init__(self, returncode: int | None, stderr_tail: str = "", reason: str = "") -> None:
        super().__init__(returncode, stderr_tail, reason)
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        self.reason = reason

    def __str__(self) -> str:
        how = self.reason or f"ended with exit code {self.returncode}"
        return f"the Pyodide process {how}{_last_lines(self.stderr_tail)}"


def _last_lines(text: str, lines: int = 10, chars: int = 2000) -> str:
    tail = "\n".join(text.strip().splitlines()[-lines:])[-chars:]
    return f"; its stderr ends with:\n{tail}" if tail else ""


def deno_binary() -> str:
    """The deno of PyPI's `deno` package (the `mcp` extra), else one on PATH."""
    with contextlib.suppress(ImportError, FileNotFoundError):
        found: str = importlib.import_module("deno").find_deno_bin()
        return found
    found_on_path = shutil.which("deno")
    if found_on_path is None:
        raise DenoNotFound()
    return found_on_path


def deno_command(
    deno: str, dist: Path, packages: Sequence[str], allow_net: Sequence[str] = ()
) -> list[str]:
    """The command line: read the dist, reach the granted hosts, nothing else, never ask."""
    for name in packages:
        if not _PACKAGE.fullmatch(name):
            raise ValueError(f"{name!r} is not a package name")
    for host in allow_net:
        if not _HOST.fullmatch(host):
            raise ValueError(
                f"{host!r} is not a host for --allow-net: a name or address with an optional "
                "port (example.org, 127.0.0.1:8080), no scheme or path"
            )
    return [
        deno,
        "run",
        f"--allow-read={dist}",
        *([f"--allow-net={','.join(allow_net)}"] if allow_net else []),
        "--no-prompt",
        "--no-config",
        "--no-lock",
        # Deno fetches remote and npm: modules itself, whatever --allow-net says.
        "--no-remote",
        "--no-npm",
        "--cached-only",
        str(dist.joinpath(*ENTRY)),
        *packages,
    ]


def _environment(home: Path) -> dict[str, str]:
    """Deno's own settings and nothing of the server's environment."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "DENO_DIR": str(home / "deno"),
        "DENO_NO_UPDATE_CHECK": "1",
        "NO_COLOR": "1",
    }
    if os.name == "nt":  # Windows processes need these to start at all
        env.update({k: os.environ[k] for k in ("SYSTEMROOT", "USERPROFILE") if k in os.environ})
    return env


class PyodideProcess:
    """One Deno process running Pyodide with some tool packages, spoken to in MCP over its stdio."""

    ready_info: dict[str, Any]
    initialize_result: dict[str, Any]
    pid: int

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        home: tempfile.TemporaryDirectory[str],
        on_notification: Notification | None,
        on_request: RequestHandler | None,
        stderr_prefix: str | None,
    ) -> None:
        self._process = process
        self._home = home
        self._on_notification = on_notification
        self._on_request = on_request
        self._stderr_prefix = stderr_prefix
        self.pid = process.pid
        self.ready_info = {}
        self.initialize_result = {}
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._answering: set[asyncio.Task[None]] = set()
        self._tail = bytearray()
        self._ended: ProcessEnded | None = None
        self._killed = False
        self._booted: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._stderr_task = asyncio.ensure_future(self._drain_stderr())
        self._stdout_task = asyncio.ensure_future(self._read_stdout())

    @classmethod
    async def start(
        cls,
        dist: Path,
        packages: Sequence[str],
        *,
        allow_net: Sequence[str] = (),
        on_notification: Notification | None = None,
        on_request: RequestHandler | None = None,
        boot_timeout: float = 120.0,
        stderr_prefix: str | None = None,
    ) -> PyodideProcess:
        """Start the process, wait until Pyodide is ready and initialize MCP. A failed or
        cancelled start leaves no process behind. `stderr_prefix`: copy the process's stderr
        to ours, each line after this prefix."""
        dist = Path(dist).resolve()
        if not dist.joinpath(*ENTRY).is_file():
            raise PyodideBootError(
                "setup", f"{dist.joinpath(*ENTRY)} is missing: build the dist (`cloche build`)"
            )
        command = deno_command(deno_binary(), dist, packages, allow_net)
        home = tempfile.TemporaryDirectory(prefix="cloche-deno-")
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=_environment(Path(home.name)),
                cwd=dist,
                limit=LINE_LIMIT,
                start_new_session=True,  # the terminal's Ctrl-C is the server's to handle
            )
        except BaseException:
            home.cleanup()
            raise
        self = cls(process, home, on_notification, on_request, stderr_prefix)
        try:
            async with asyncio.timeout(boot_timeout):
                self.ready_info = await self._booted
                self.initialize_result = await self.request(
                    "initialize",
                    {
                        "protocolVersion": PROTOCOL_VERSION,
                        "capabilities": {},
                        "clientInfo": {"name": "cloche-mcp", "version": __version__},
                    },
                )
            self.notify("notifications/initialized", {})
        except BaseException as error:
            self._kill_now()
            await self.kill()
            if isinstance(error, TimeoutError):
                raise PyodideBootError(
                    "timeout", f"not ready within {boot_timeout:g} s", self.stderr_tail
                ) from None
            if isinstance(error, ProcessEnded | RpcError):
                raise PyodideBootError("initialize", str(error), self.stderr_tail) from None
            raise
        return self

    @property
    def alive(self) -> bool:
        return self._ended is None and self._process.returncode is None

    @property
    def stderr_tail(self) -> str:
        return self._tail.decode("utf-8", "replace")

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        """Send a request and return its result; an error answer raises RpcError, the end of
        the process ProcessEnded. A request cancelled here is cancelled in the process too."""
        if self._ended is not None:
            raise self._ended
        request_id = next(self._ids)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
            with contextlib.suppress(ConnectionError):
                await self._process.stdin.drain()  # type: ignore[union-attr]
            return await answer
        except asyncio.CancelledError:
            if self.alive:
                self.notify(
                    "notifications/cancelled",
                    {"requestId": request_id, "reason": "the caller stopped waiting"},
                )
            raise
        finally:
            self._pending.pop(request_id, None)

    def notify(self, method: str, params: dict[str, Any]) -> None:
        """Send a notification (dropped once the process has ended: nobody would read it)."""
        if self.alive:
            self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the Python code running now, even a busy loop. One that
        finds none running is raised in the next message's handling, which is then handled
        again; `clear_interrupt` takes it back (after a ping answered, say)."""
        self.notify("notifications/cloche/interrupt", {})

    def clear_interrupt(self) -> None:
        self.notify("notifications/cloche/interrupt", {"clear": True})

    async def kill(self) -> None:
        """End the process at once (SIGKILL), fail what is pending with ProcessEnded, and remove
        its Deno folder."""
        self._kill_now()
        await self._process.wait()
        for task in (self._stdout_task, self._stderr_task):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), EXIT_GRACE_S)
        self._end(self._ended_now())

    def _ended_now(self) -> ProcessEnded:
        reason = "was killed" if self._killed else ""
        return ProcessEnded(self._process.returncode, self.stderr_tail, reason)

    def _kill_now(self) -> None:
        self._killed = True
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    def _send(self, message: dict[str, Any]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(encode(message).encode() + b"\n")

    def _end(self, ended: ProcessEnded) -> None:
        """Fail everything waiting, once; remove the Deno folder once the process is gone."""
        if self._ended is None:
            self._ended = ended
            self._boot_failed(
                PyodideBootError(
                    "exit",
                    f"the Deno process ended (exit code {ended.returncode}) before "
                    "Pyodide was ready",
                    ended.stderr_tail,
                )
            )
            for answer in self._pending.values():
                if not answer.done():
                    answer.set_exception(ended)
            for task in self._answering:
                task.cancel()
            if self._process.stdin is not None:
                self._process.stdin.close()
        if self._process.returncode is not None:
            self._home.cleanup()

    def _boot_failed(self, error: PyodideBootError) -> None:
        if not self._booted.done():
            self._booted.set_exception(error)
            self._booted.exception()  # marked read: a start cancelled meanwhile never reads it

    def _note(self, text: str) -> None:
        self._tail += text.encode("utf-8", "replace")
        del self._tail[:-STDERR_TAIL_BYTES]

    async def _drain_stderr(self) -> None:
        """Read stderr as it comes (a full pipe would stop the process), keeping its end."""
        stream = self._process.stderr
        assert stream is not None
        partial = ""
        while chunk := await stream.read(65536):
            text = chunk.decode("utf-8", "replace")
            self._note(text)
            if self._stderr_prefix is not None:
                *lines, partial = (partial + text).split("\n")
                for line in lines:
                    print(f"{self._stderr_prefix}{line}", file=sys.stderr, flush=True)
        if partial and self._stderr_prefix is not None:
            print(f"{self._stderr_prefix}{partial}", file=sys.stderr, flush=True)

    async def _read_stdout(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        try:
            while True:
                try:
                    line = await stream.readline()
                except ValueError:  # longer than LINE_LIMIT: its start was dropped
                    self._note(f"[stdout: a line over {LINE_LIMIT} bytes was dropped]\n")
                    continue
                if not line:
                    break
                self._received(line)
        finally:
            try:
                await asyncio.wait_for(self._process.wait(), EXIT_GRACE_S)
            except TimeoutError:
                self._kill_now()
                await self._process.wait()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), EXIT_GRACE_S)
            self._end(self._ended_now())

    def _received(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            text = line.decode("utf-8", "replace").rstrip("\n")[:1000]
            self._note(f"[stdout: not a JSON-RPC message, dropped] {text}\n")
            return
        method = message.get("method")
        if isinstance(method, str):
            if "id" in message:
                task = asyncio.ensure_future(self._answer(message["id"], method, message))
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)
            else:
                self._notified(method, message)
            return
        answer = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if answer is None or answer.done():
            return  # an answer nobody waits for any more
        error = message.get("error")
        if isinstance(error, dict):
            answer.set_exception(
                RpcError(
                    int(error.get("code", INTERNAL_ERROR)),
                    str(error.get("message", "")),
                    error.get("data"),
                )
            )
        else:
            answer.set_result(message.get("result"))

    def _notified(self, method: str, message: dict[str, Any]) -> None:
        params = message.get("params")
        if method == "notifications/cloche/ready":
            if not self._booted.done():
                self._booted.set_result(params if isinstance(params, dict) else {})
        elif method == "notifications/cloche/failed":
            info = params if isinstance(params, dict) else {}
            self._boot_failed(
                PyodideBootError(
                    str(info.get("phase", "boot")),
                    str(info.get("message", "no reason given")),
                    self.stderr_tail,
                )
            )
        elif self._on_notification is not None:
            try:
                self._on_notification(message)
            except Exception as error:
                self._note(f"[on_notification failed on {method}: {error!r}]\n")

    async def _answer(self, request_id: Any, method: str, message: dict[str, Any]) -> None:
        """Answer a request of the process's (a `cloche/...` one: it asks its host) with
        `on_request`: its result, the RpcError it raises, or, when there is none or it raises
        LookupError or NotImplementedError, that `cloche mcp` does not provide the method."""
        params = message.get("params")
        try:
            if self._on_request is None:
                raise LookupError(method)
            result = await self._on_request(method, params if isinstance(params, dict) else {})
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "result": result}
            encode(reply)  # an answer that is not JSON fails here, as the handler's error
        except RpcError as error:
            reply = {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}
        except (LookupError, NotImplementedError):
            why = NOT_PROVIDED.get(method, NOT_PROVIDED_OTHER.format(method))
            refusal = RpcError(METHOD_NOT_FOUND, why)
            reply = {"jsonrpc": "2.0", "id": request_id, "error": refusal.to_json()}
        except Exception as error:
            failure = RpcError(
                INTERNAL_ERROR,
                f"`cloche mcp` could not answer {method}: {type(error).__name__}: {error}",
            )
            reply = {"jsonrpc": "2.0", "id": request_id, "error": failure.to_json()}
        if self.alive:
            self._send(reply)
