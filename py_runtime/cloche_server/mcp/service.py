"""What `cloche mcp` serves, shared by its MCP sessions (one over stdio, any number over HTTP).

Each session is a `cloche.server.McpServer` (its own protocol version, log level and python.run
sessions) over the same tools; over HTTP, each 2026-07-28 request gets a server of its own
(`request_server`), and those holding a `subscriptions/listen` open are kept while it is. The
service watches the packages folder: a WASM package added, changed or removed there changes every
server's tool list, and clients are told (`notifications/tools/list_changed`: to a 2025 session,
and on each open subscription of either era), as the page tells them when a package is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cloche.server import McpServer

from ..wasm import WasmPackage
from .catalog import Catalog, load_catalog
from .grants import resolve_grants
from .python_tools import DEFAULT_DEADLINE_MS, PythonTools
from .served_tools import session_tools

SUBSCRIPTIONS_END_S = 1.0  # the most shutdown waits for subscriptions to be answered
INSTRUCTIONS = (
    "Cloche's tools: WASM tools run under wasmtime, Python tools in Pyodide in a sandbox with no "
    "access to files, network or processes unless the operator granted a package network."
)
WATCH_INTERVAL_S = 1.0


@dataclass
class Session:
    id: str
    server: McpServer
    last_seen: float = field(default_factory=time.monotonic)
    calls: int = 0

    @property
    def busy(self) -> bool:
        return self.calls > 0

    async def handle(self, text: str) -> str | None:
        self.last_seen = time.monotonic()
        self.calls += 1
        try:
            return await self.server.handle_async(text)
        finally:
            self.calls -= 1
            self.last_seen = time.monotonic()


class McpService:
    def __init__(
        self,
        dist: Path,
        *,
        packages_folder: Path | None = None,
        only: frozenset[str] | None = None,
        grants: Iterable[str] = (),
        default_deadline_ms: int = DEFAULT_DEADLINE_MS,
    ) -> None:
        self.dist = dist
        self.packages_folder = packages_folder
        self.only = only
        self.catalog: Catalog = load_catalog(dist, packages_folder, only)
        self.grants = resolve_grants(self.catalog.python, grants)
        self.python = PythonTools(dist, self.catalog.python, self.grants, default_deadline_ms)
        self.sessions: dict[str, Session] = {}
        # Servers of 2026-07-28 requests with a subscription open, and their client keys.
        self.listeners: dict[McpServer, str] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._folder_state = self._packages_state()

    def describe(self) -> str:
        tools = self.catalog.tools()
        wasm = sum(1 for _, package in tools if isinstance(package, WasmPackage))
        lines = [
            f"cloche mcp: {len(tools)} tools ({wasm} WASM, {len(tools) - wasm} Python) "
            f"from {self.dist}" + (f" and {self.packages_folder}" if self.packages_folder else "")
        ]
        lines += [f"cloche mcp: skipped {problem}" for problem in self.catalog.problems]
        lines += [
            f"cloche mcp: {name} may reach {', '.join(hosts)}"
            for name, hosts in self.grants.items()
        ]
        return "\n".join(lines)

    def start(self) -> None:
        """Boot the Python processes in the background and start watching the packages folder."""
        self.python.warm()
        if self.packages_folder is not None and self._watcher is None:
            self._watcher = asyncio.ensure_future(self._watch())

    def _server(self, client: str, send: Callable[[str], None] | None = None) -> McpServer:
        tools = session_tools(self.catalog, self.python, client)
        return McpServer(tools, send=send, name="cloche", instructions=INSTRUCTIONS)

    def open_session(self, send: Callable[[str], None]) -> Session:
        session_id = secrets.token_urlsafe(24)
        session = Session(session_id, self._server(session_id, send))
        self.sessions[session_id] = session
        return session

    def request_server(self, client: str) -> McpServer:
        """A server for one 2026-07-28 request; `client` keys its python.run sessions."""
        return self._server(client)

    @contextlib.contextmanager
    def listening(self, server: McpServer, client: str) -> Iterator[None]:
        """Keep `server` told of tool changes while its subscription is open."""
        self.listeners[server] = client
        try:
            yield
        finally:
            self.listeners.pop(server, None)

    async def end_subscriptions(self) -> None:
        """Answer every open subscription (their graceful end), and wait until they are."""
        servers = [session.server for session in self.sessions.values()] + list(self.listeners)
        for server in servers:
            server.end_subscriptions()
        deadline = time.monotonic() + SUBSCRIPTIONS_END_S
        while any(server.subscriptions for server in servers) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def close_session(self, session_id: str) -> None:
        if self.sessions.pop(session_id, None) is not None:
            await self.python.end_client(session_id)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for session_id in list(self.sessions):
            await self.close_session(session_id)
        await self.python.close()

    # -- the packages folder ---------------------------------------------------------------------

    def _packages_state(self) -> tuple[tuple[str, int, int], ...]:
        if self.packages_folder is None:
            return ()
        files = sorted(self.packages_folder.glob("*/*"))
        state = []
        for path in files:
            with contextlib.suppress(OSError):
                stat = path.stat()
                state.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(state)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            state = self._packages_state()
            if state == self._folder_state:
                continue
            self._folder_state = state
            try:
                catalog = await asyncio.to_thread(
                    load_catalog, self.dist, self.packages_folder, self.only
                )
            except Exception as error:
                print(f"cloche mcp: the packages folder cannot be read: {error}", file=sys.stderr)
                continue
            for problem in catalog.problems:
                print(f"cloche mcp: skipped {problem}", file=sys.stderr)
            self.catalog.wasm = catalog.wasm
            for session in self.sessions.values():
                session.server.replace_tools(session_tools(self.catalog, self.python, session.id))
            for server, client in list(self.listeners.items()):
                server.replace_tools(session_tools(self.catalog, self.python, client))
