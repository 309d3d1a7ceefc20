"""Python tools for `cloche mcp`: each call runs in Pyodide inside a Deno process, never here.

A `ProcessSlot` holds one process (the page's worker): started when first needed, one call at a
time (tool code can write to its process's stdout, so only the call in flight may be answered
there), and replaced by a fresh one after a call that overran its deadline or that the client
cancelled and did not stop. `IsolatedCalls` gives python.run what the page gives it: no call runs
in a process where another session's code ran (web/app/worker-host.js, `isolateCalls`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloche._jsonrpc import RpcError

from .catalog import RESET_ARGUMENT, SESSION_ARGUMENT, PythonPackage
from .grants import Grants
from .pyodide_process import ProcessEnded, PyodideBootError, PyodideProcess

DEFAULT_DEADLINE_MS = 30_000  # web/app/worker-host.js DEFAULT_CALL_TIMEOUT_MS
MAX_DEADLINE_MS = 600_000
CALM_PING_S = 0.25  # an async tool that was told it is cancelled has stopped by then
# A busy loop that was interrupted has stopped by then, even on a loaded machine (1 s was seen to
# fall short under a full test run on two cores, which cost a session its variables).
CANCEL_GRACE_S = 3.0
MAX_RUN_SESSIONS = 4  # tool-workers.js CALL_ISOLATION maxSessions

ProgressSink = Callable[[float, float | None, str | None], None]
LogSink = Callable[[str, Any, str | None], None]


def deadline_ms(tool: dict[str, Any], default: int = DEFAULT_DEADLINE_MS) -> int:
    """The tool's declared deadline (`_meta["cloche/deadlineMs"]`), else the server's default."""
    declared = (tool.get("_meta") or {}).get("cloche/deadlineMs")
    if isinstance(declared, int) and declared > 0:
        return min(declared, MAX_DEADLINE_MS)
    return default


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a task's exception as seen (asyncio logs unseen ones)."""
    if not task.cancelled():
        task.exception()


async def _answers(process: PyodideProcess, seconds: float) -> bool:
    """Whether the process answers a ping within `seconds`: then no tool code holds it."""
    try:
        await asyncio.wait_for(process.request("ping", {}), seconds)
    except (TimeoutError, ProcessEnded, RpcError):
        return False
    return True


def _failed(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


class ProcessSlot:
    """One Deno process for some packages, replaced after a deadline, a cancel or a crash."""

    _tokens = itertools.count(1)

    def __init__(
        self,
        name: str,
        dist: Path,
        packages: list[str],
        allow_net: tuple[str, ...] = (),
        default_deadline_ms: int = DEFAULT_DEADLINE_MS,
    ) -> None:
        self.name = name
        self.default_deadline_ms = default_deadline_ms
        self.dist = dist
        self.packages = packages
        self.allow_net = allow_net
        self.last_used = 0.0
        self._process: PyodideProcess | None = None
        self._starting: asyncio.Task[PyodideProcess] | None = None
        self._turn = asyncio.Lock()
        self._progress: dict[str, ProgressSink] = {}
        self._log: LogSink | None = None
        self.replaced = 0

    @property
    def busy(self) -> bool:
        return self._turn.locked()

    def warm(self) -> None:
        """Start the process now, so that the first call does not wait for its boot."""
        self._start()

    def _start(self) -> asyncio.Task[PyodideProcess]:
        if self._starting is None or (
            self._starting.done()
            and (self._starting.exception() is not None or not self._starting.result().alive)
        ):
            self._starting = asyncio.ensure_future(
                PyodideProcess.start(
                    self.dist,
                    self.packages,
                    allow_net=self.allow_net,
                    on_notification=self._on_notification,
                )
            )
            # A boot that fails before anyone awaits it is reported by the call that does.
            self._starting.add_done_callback(_retrieve)
        return self._starting

    async def _running_process(self) -> PyodideProcess:
        process = await asyncio.shield(self._start())
        self._process = process
        return process

    def _on_notification(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params = message.get("params") or {}
        if method == "notifications/progress":
            sink = self._progress.get(str(params.get("progressToken")))
            if sink is not None:
                total = params.get("total")
                text = params.get("message")
                sink(
                    float(params.get("progress", 0)),
                    float(total) if isinstance(total, int | float) else None,
                    text if isinstance(text, str) else None,
                )
        elif method == "notifications/message" and self._log is not None:
            level = params.get("level", "info")
            logger = params.get("logger")
            self._log(level, params.get("data"), logger if isinstance(logger, str) else None)

    async def call(
        self,
        tool: dict[str, Any],
        arguments: dict[str, Any],
        *,
        progress: ProgressSink | None = None,
        log: LogSink | None = None,
    ) -> dict[str, Any]:
        """The tools/call result; a call past its deadline ends the process (a fresh one starts)."""
        name = tool["name"]
        limit_ms = deadline_ms(tool, self.default_deadline_ms)
        async with self._turn:
            try:
                process = await self._running_process()
            except PyodideBootError as error:
                return _failed(f"the Python runtime for {name} did not start: {error}")
            token = f"cloche-mcp-{next(self._tokens)}"
            if progress is not None:
                self._progress[token] = progress
            self._log = log
            params = {"name": name, "arguments": arguments, "_meta": {"progressToken": token}}
            call = asyncio.ensure_future(process.request("tools/call", params))
            try:
                result: dict[str, Any] = await asyncio.wait_for(
                    asyncio.shield(call), limit_ms / 1000
                )
                return result
            except TimeoutError:
                await self._replace(process)
                return _failed(
                    f"{name} did not finish within {limit_ms} ms and was stopped: its Python "
                    "process was ended and a fresh one takes over"
                )
            except asyncio.CancelledError:
                # The client cancelled: as the page does, tell the process (an async tool stops);
                # if it is still busy, interrupt it (a busy loop gets KeyboardInterrupt); if it
                # still does not answer a ping, end it and let a fresh one take over.
                call.cancel()
                await asyncio.wait([call])  # its notifications/cancelled goes ahead of the ping
                if not await _answers(process, CALM_PING_S):
                    process.interrupt()
                    if await _answers(process, CANCEL_GRACE_S):
                        process.clear_interrupt()
                    else:
                        await self._replace(process)
                raise
            except ProcessEnded as error:
                await self._replace(process)
                return _failed(f"{name} failed: its Python process ended ({error})")
            finally:
                self._progress.pop(token, None)
                self._log = None
                self.last_used = asyncio.get_running_loop().time()
                if not call.done():
                    call.cancel()
                    with contextlib.suppress(BaseException):
                        await call

    async def _replace(self, process: PyodideProcess) -> None:
        self.replaced += 1
        await process.kill()
        self._process = None
        self._starting = None
        self.warm()

    async def close(self) -> None:
        starting, self._starting = self._starting, None
        if starting is not None and not starting.done():
            starting.cancel()
        with contextlib.suppress(BaseException):
            process = await starting if starting is not None else None
            if process is not None:
                await process.kill()


class IsolatedCalls:
    """python.run's processes: a warm spare that runs no call; a call with no `session` takes it
    for itself and ends it after; a session's first call (or one with `reset`) takes it as that
    session's own. At most MAX_RUN_SESSIONS sessions keep one: the least recently used idle one
    is ended to make room. Sessions are per MCP client: one client never reaches another's."""

    def __init__(
        self,
        package: PythonPackage,
        dist: Path,
        allow_net: tuple[str, ...],
        default_deadline_ms: int = DEFAULT_DEADLINE_MS,
    ) -> None:
        self.package = package
        self.dist = dist
        self.allow_net = allow_net
        self.default_deadline_ms = default_deadline_ms
        self._spare = self._new_slot()
        self._sessions: OrderedDict[tuple[str, str], ProcessSlot] = OrderedDict()

    def _new_slot(self) -> ProcessSlot:
        return ProcessSlot(
            self.package.process,
            self.dist,
            [self.package.name],
            self.allow_net,
            self.default_deadline_ms,
        )

    def warm(self) -> None:
        self._spare.warm()

    def _take_spare(self) -> ProcessSlot:
        taken, self._spare = self._spare, self._new_slot()
        taken.warm()
        self._spare.warm()
        return taken

    async def call(
        self,
        client: str,
        tool: dict[str, Any],
        arguments: dict[str, Any],
        *,
        progress: ProgressSink | None = None,
        log: LogSink | None = None,
    ) -> dict[str, Any]:
        session = arguments.get(SESSION_ARGUMENT)
        if not isinstance(session, str) or not session:
            slot = self._take_spare()
            try:
                return await slot.call(tool, arguments, progress=progress, log=log)
            finally:
                await slot.close()
        key = (client, session)
        slot_or_none = self._sessions.get(key)
        if slot_or_none is None or arguments.get(RESET_ARGUMENT) is True:
            if slot_or_none is not None:
                await slot_or_none.close()
            slot_or_none = self._take_spare()
            self._sessions[key] = slot_or_none
            await self._make_room()
        self._sessions.move_to_end(key)
        return await slot_or_none.call(tool, arguments, progress=progress, log=log)

    async def _make_room(self) -> None:
        while len(self._sessions) > MAX_RUN_SESSIONS:
            idle = next((k for k, s in self._sessions.items() if not s.busy), None)
            if idle is None:
                return
            await self._sessions.pop(idle).close()

    async def end_client(self, client: str) -> None:
        """End the processes of an MCP session that has ended."""
        for key in [k for k in self._sessions if k[0] == client]:
            await self._sessions.pop(key).close()

    async def close(self) -> None:
        await self._spare.close()
        for slot in self._sessions.values():
            await slot.close()
        self._sessions.clear()


class PythonTools:
    """The processes of every Python package served, by the page's worker names."""

    def __init__(
        self,
        dist: Path,
        packages: list[PythonPackage],
        grants: Grants,
        default_deadline_ms: int = DEFAULT_DEADLINE_MS,
    ) -> None:
        self.dist = dist
        self._slots: dict[str, ProcessSlot] = {}
        self._isolated: dict[str, IsolatedCalls] = {}
        self._package_of_tool: dict[str, PythonPackage] = {}
        for package in packages:
            allow_net = grants.get(package.name, ())
            for tool in package.tools:
                self._package_of_tool[tool["name"]] = package
            if package.runs_any_code:
                self._isolated[package.name] = IsolatedCalls(
                    package, dist, allow_net, default_deadline_ms
                )
                continue
            slot = self._slots.get(package.process)
            if slot is None:
                self._slots[package.process] = ProcessSlot(
                    package.process, dist, [package.name], allow_net, default_deadline_ms
                )
            else:
                slot.packages.append(package.name)

    def warm(self) -> None:
        for slot in self._slots.values():
            slot.warm()
        for isolated in self._isolated.values():
            isolated.warm()

    async def call(
        self,
        client: str,
        tool: dict[str, Any],
        arguments: dict[str, Any],
        *,
        progress: ProgressSink | None = None,
        log: LogSink | None = None,
    ) -> dict[str, Any]:
        package = self._package_of_tool[tool["name"]]
        isolated = self._isolated.get(package.name)
        if isolated is not None:
            return await isolated.call(client, tool, arguments, progress=progress, log=log)
        slot = self._slots[package.process]
        return await slot.call(tool, arguments, progress=progress, log=log)

    async def end_client(self, client: str) -> None:
        for isolated in self._isolated.values():
            await isolated.end_client(client)

    async def close(self) -> None:
        for slot in self._slots.values():
            await slot.close()
        for isolated in self._isolated.values():
            await isolated.close()
