"""The MCP server: JSON-RPC text in, JSON-RPC text out, for a set of tools.

Two entry points share one dispatcher:

``await server.handle_async(message_json) -> reply_json | None``
    The one a host with an event loop uses, and the one the Pyodide worker calls (Pyodide turns
    the coroutine into a JavaScript Promise on its browser-driven loop). Every message gets its
    own call, so concurrent ``tools/call`` requests of async tools run concurrently; each call's
    reply is its return value. ``None`` means no reply: a notification, a response, or a call the
    client cancelled.

``server.handle(message_json) -> reply_json | None``
    The synchronous form, for tests and simple hosts. Everything is answered in the return value,
    except a call of an *async* tool while an event loop is running (always so in Pyodide): that
    call is scheduled as a task on the loop, ``handle`` returns ``None`` and the reply goes out
    through ``send`` when the task ends. With no loop running (plain CPython), ``handle`` runs the
    async tool to completion with ``asyncio.run``.

Everything the server sends on its own (progress, log messages, tools/list_changed, replies of
scheduled calls, and its own requests to the client, ``await server.request(...)``) goes through
the ``send`` callback, as JSON text; the client's answers come back through either entry point.

Sync tools run inline, on the caller's thread: Pyodide has one thread, so a long computation is
only stopped by the host (interrupt buffer or terminating the worker). ``notifications/cancelled``
cancels the asyncio task of an async tool call; its `Context.cancelled` turns true first.

Both protocol eras are served, side by side on one connection: a 2025 client opens with
`initialize` (2025-11-25, 2025-06-18 or 2025-03-26) and gets a session as before; a 2026-07-28
request carries its version and the client's capabilities in `params._meta` and is answered on its
own (`cloche._envelope`): `server/discover`, results marked `resultType: "complete"` and signed with
the server's identity, logs only at the level the request asks for, and list changes on a
`subscriptions/listen` request instead of to the session. docs/mcp.md lists what each era gets.

`handle_async(text, send=...)` may name where that one request's own messages go (its progress,
its logs, a subscription's notifications): an HTTP transport gives each request its own stream.

JSON-RPC batches are refused (-32600): MCP removed them in 2025-06-18 and no client sends them.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from . import __version__
from ._capture import captured_output
from ._envelope import (
    LEGACY_PROTOCOL_VERSIONS,
    MODERN_PROTOCOL_VERSIONS,
    SERVER_INFO_KEY,
    SUBSCRIPTION_ID_KEY,
    Envelope,
    check_envelope,
    is_modern,
)
from ._jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RequestId,
    RpcError,
    encode,
    error_response,
    is_request_id,
    notification,
    response,
)
from ._validate import ValidationError
from .context import LOG_LEVELS, Context, LogLevel, LogSink
from .tool import ToolError

PROTOCOL_VERSIONS = LEGACY_PROTOCOL_VERSIONS  # negotiated by `initialize`
LATEST_PROTOCOL_VERSION = PROTOCOL_VERSIONS[0]
# How long a 2026-07-28 client may reuse an answer (`ttlMs`): the tool list changes whenever a
# package is installed, so it is never fresh for long (subscribe for changes); what the server
# speaks and can do does not change while it runs.
TOOLS_LIST_TTL_MS = 0
DISCOVER_TTL_MS = 3_600_000
CACHE_SCOPE = "private"  # a list can depend on what this user installed
MAX_SUBSCRIPTIONS = 32  # open subscriptions/listen requests per server
IN_PYODIDE = "_pyodide_core" in sys.modules or sys.platform == "emscripten"

Send = Callable[[str], None]
Message = dict[str, Any]
Method = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ServedTool(Protocol):
    """What the server needs of a tool: `Tool`, or one that runs elsewhere (`cloche mcp`'s).

    `parse_arguments` raises `ValidationError`; `invoke` may raise `RpcError`, which is answered
    as that JSON-RPC error rather than as a failed tool.
    """

    name: str
    is_async: bool

    def to_mcp(self) -> dict[str, Any]: ...

    def parse_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]: ...

    def invoke(self, values: dict[str, Any], context: Context) -> Any: ...

    def result(self, value: Any) -> dict[str, Any]: ...


@dataclass
class _Extension:
    request_id: RequestId
    method: Method
    params: dict[str, Any]
    modern: bool = False


@dataclass
class _Call:
    request_id: RequestId
    tool: ServedTool
    values: dict[str, Any]
    context: Context
    modern: bool = False


@dataclass
class _Subscription:
    """An open `subscriptions/listen`: its request stays unanswered until it ends."""

    request_id: RequestId
    send: Send
    tools: bool
    ended: asyncio.Future[None]


class McpServer:
    """Answers MCP for `tools`. `send` receives every message the server sends on its own."""

    def __init__(
        self,
        tools: Iterable[ServedTool] = (),
        *,
        send: Send | None = None,
        name: str = "cloche",
        version: str = __version__,
        title: str | None = None,
        instructions: str | None = None,
        page_size: int = 50,
    ) -> None:
        self.send = send
        self.server_info = {"name": name, "version": version}
        if title:
            self.server_info["title"] = title
        self.instructions = instructions
        self.page_size = page_size
        self.protocol_version: str | None = None
        self.client_info: dict[str, Any] | None = None
        self.initialized = False
        self.log_level: LogLevel = "info"
        self._tools: dict[str, ServedTool] = {}
        self._methods: dict[str, Method] = {}
        self._running: dict[RequestId, tuple[asyncio.Future[Any], Context]] = {}
        self._scheduled: set[asyncio.Future[Any]] = set()
        self._asked: dict[RequestId, asyncio.Future[Any]] = {}
        self._asked_count = 0
        self._subscriptions: dict[RequestId, _Subscription] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"two tools are named {tool.name!r}")
            self._tools[tool.name] = tool

    # -- tools -------------------------------------------------------------------------------

    @property
    def tools(self) -> list[ServedTool]:
        return list(self._tools.values())

    @property
    def running_calls(self) -> int:
        """Calls started and not yet ended: a cancelled call whose code swallowed the
        cancellation is still counted."""
        return len(self._running)

    def add_tool(self, tool: ServedTool) -> None:
        """Add or replace a tool; tells an initialized client that the list changed."""
        self._tools[tool.name] = tool
        self._list_changed()

    def replace_tools(self, tools: Iterable[ServedTool]) -> None:
        """Serve `tools` instead; tells an initialized client once, if the list changed."""
        before = [tool.to_mcp() for tool in self._tools.values()]
        self._tools = {tool.name: tool for tool in tools}
        if [tool.to_mcp() for tool in self._tools.values()] != before:
            self._list_changed()

    def remove_tool(self, name: str) -> None:
        del self._tools[name]
        self._list_changed()

    def add_method(self, name: str, method: Method) -> None:
        """Answer requests for `name` (beyond MCP's own) with `await method(params)`.

        A `RpcError` it raises is sent as that JSON-RPC error; any other exception as an internal
        error naming it.
        """
        self._methods[name] = method

    @property
    def subscriptions(self) -> int:
        """Open 2026-07-28 `subscriptions/listen` requests."""
        return len(self._subscriptions)

    def _list_changed(self) -> None:
        if self.protocol_version is not None:
            self._notify("notifications/tools/list_changed", {})
        for subscription in self._subscriptions.values():
            if subscription.tools:
                meta = {SUBSCRIPTION_ID_KEY: subscription.request_id}
                message = notification("notifications/tools/list_changed", {"_meta": meta})
                subscription.send(encode(message))

    def cancel(self, request_id: Any, reason: str | None = None) -> None:
        """End a running call or an open subscription as `notifications/cancelled` does: the call's
        task is cancelled (its context says so first) and no reply is sent for it."""
        if not is_request_id(request_id):
            return
        running = self._running.get(request_id)
        if running is not None:
            task, context = running
            context._mark_cancelled(reason)
            task.cancel()
        subscription = self._subscriptions.pop(request_id, None)
        if subscription is not None:
            subscription.ended.cancel()

    def end_subscriptions(self) -> None:
        """End every open subscription the graceful way: each `subscriptions/listen` is answered."""
        for subscription in list(self._subscriptions.values()):
            if not subscription.ended.done():
                subscription.ended.set_result(None)

    # -- entry points --------------------------------------------------------------------------

    async def handle_async(self, message_json: str, send: Send | None = None) -> str | None:
        """Answer one message; a tool call's reply comes when the tool is done, a subscription's
        when it ends. `send`, if given, gets this request's own messages instead of the server's
        `send` (its progress and logs, or a subscription's notifications)."""
        outcome = self._receive(message_json, send)
        if isinstance(outcome, _Call):
            return self._encode(await self._run_call(outcome))
        if isinstance(outcome, _Extension):
            return self._encode(await self._run_extension(outcome))
        if isinstance(outcome, _Subscription):
            return self._encode(await self._run_subscription(outcome))
        return self._encode(outcome)

    def handle(self, message_json: str) -> str | None:
        """Answer one message synchronously (see the module docstring for async tools)."""
        outcome = self._receive(message_json)
        if isinstance(outcome, _Extension):
            running: Coroutine[Any, Any, Message | None] = self._run_extension(outcome)
        elif isinstance(outcome, _Subscription):
            running = self._run_subscription(outcome)
        elif not isinstance(outcome, _Call):
            return self._encode(outcome)
        elif not outcome.tool.is_async:
            return self._encode(_run_to_end(self._run_call(outcome)))
        else:
            running = self._run_call(outcome)
        loop = _running_loop()
        if loop is None:
            return self._encode(asyncio.run(running))
        if self.send is None:
            running.close()
            error = RpcError(
                INTERNAL_ERROR, "an async call needs handle_async() or a send callback"
            )
            return self._encode(error_response(outcome.request_id, error))
        task = asyncio.ensure_future(running, loop=loop)
        self._scheduled.add(task)
        task.add_done_callback(self._deliver)
        return None

    def _deliver(self, task: asyncio.Future[Any]) -> None:
        self._scheduled.discard(task)
        if not task.cancelled():
            reply = self._encode(task.result())
            if reply is not None and self.send is not None:
                self.send(reply)

    def log(self, level: LogLevel, data: Any, logger: str | None = None) -> None:
        """Send `notifications/message` to a 2025 session if `level` is at or above its chosen
        level. (A 2026-07-28 request's logs go with that request: see `_modern_log`.)"""
        if self.protocol_version is None:
            return
        self._legacy_log(self._send_or_drop)(level, data, logger)

    # -- dispatch --------------------------------------------------------------------------------

    def _encode(self, message: Message | None) -> str | None:
        if message is None:
            return None
        try:
            return encode(message)
        except (TypeError, ValueError) as error:
            fault = RpcError(INTERNAL_ERROR, f"the reply is not JSON: {error}")
            return encode(error_response(message.get("id"), fault))

    def _notify(self, method: str, params: dict[str, Any]) -> None:
        if self.send is not None:
            self.send(encode(notification(method, params)))

    def _receive(
        self, message_json: str, send: Send | None = None
    ) -> Message | _Call | _Extension | _Subscription | None:
        """A reply, None (nothing to answer), or a call or subscription that still has to run."""
        try:
            message = json.loads(message_json)
        except (ValueError, TypeError) as error:
            return error_response(None, RpcError(PARSE_ERROR, f"Parse error: {error}"))
        if isinstance(message, list):
            fault = RpcError(INVALID_REQUEST, "Invalid Request: batches are not supported")
            return error_response(None, fault)
        if not isinstance(message, dict):
            return error_response(None, RpcError(INVALID_REQUEST, "Invalid Request: not an object"))
        request_id = message.get("id")
        has_id = "id" in message
        if has_id and not is_request_id(request_id):
            fault = RpcError(INVALID_REQUEST, "Invalid Request: id must be a string or an integer")
            return error_response(None, fault)
        if message.get("jsonrpc") != "2.0":
            fault = RpcError(INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"')
            return error_response(request_id, fault)
        method = message.get("method")
        if method is None and has_id and ("result" in message or "error" in message):
            self._answered(request_id, message)
            return None
        if not isinstance(method, str):
            fault = RpcError(INVALID_REQUEST, "Invalid Request: method must be a string")
            return error_response(request_id, fault)
        params = message.get("params", {})
        if not has_id:
            if isinstance(params, dict):
                self._on_notification(method, params)
            return None
        assert request_id is not None
        channel = send or self._send_or_drop
        try:
            if not isinstance(params, dict):
                raise RpcError(INVALID_PARAMS, "Invalid params: params must be an object")
            if is_modern(message):
                outcome = self._on_modern_request(request_id, method, params, channel)
                if isinstance(outcome, dict):
                    return response(request_id, self._stamp(outcome))
                return outcome
            if method in self._methods:
                return _Extension(request_id, self._methods[method], params)
            result = self._on_request(request_id, method, params, channel)
        except RpcError as fault:
            return error_response(request_id, fault)
        return result if isinstance(result, _Call) else response(request_id, result)

    def _send_or_drop(self, text: str) -> None:
        if self.send is not None:
            self.send(text)

    async def request(self, method: str, params: dict[str, Any], timeout: float = 120.0) -> Any:
        """Ask the client something (e.g. the page's host for wheels) and wait for its answer;
        an error answer is raised as `RpcError`, no answer within `timeout` s as `TimeoutError`."""
        if self.send is None:
            raise RuntimeError("this server has no `send`, so it cannot ask its client anything")
        self._asked_count += 1
        request_id = f"cloche-server-{self._asked_count}"
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._asked[request_id] = answer
        try:
            message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            self.send(encode(message))
            return await asyncio.wait_for(answer, timeout)
        finally:
            self._asked.pop(request_id, None)

    def _answered(self, request_id: Any, message: dict[str, Any]) -> None:
        """The client's answer to one of this server's requests; any other response is dropped."""
        answer = self._asked.get(request_id) if is_request_id(request_id) else None
        if answer is None or answer.done():
            return
        error = message.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            text = error.get("message")
            answer.set_exception(
                RpcError(
                    code if isinstance(code, int) else INTERNAL_ERROR,
                    text if isinstance(text, str) else "the client answered with an error",
                )
            )
        else:
            answer.set_result(message.get("result"))

    def _on_request(
        self, request_id: RequestId, method: str, params: dict[str, Any], channel: Send
    ) -> dict[str, Any] | _Call:
        if method == "initialize":
            return self._initialize(params)
        if method == "ping":
            return {}
        if method == "tools/list":
            return self._list_tools(params)
        if method == "tools/call":
            return self._prepare_call(request_id, params, channel, self._legacy_log(channel))
        if method == "logging/setLevel":
            level = params.get("level")
            if level not in LOG_LEVELS:
                raise RpcError(INVALID_PARAMS, f"Invalid params: unknown log level {level!r}")
            self.log_level = level
            return {}
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")

    def _on_notification(self, method: str, params: dict[str, Any]) -> None:
        if method == "notifications/initialized":
            self.initialized = True
        elif method == "notifications/cancelled":
            reason = params.get("reason")
            self.cancel(params.get("requestId"), reason if isinstance(reason, str) else None)
        # Other notifications (progress from the client, roots changes) need no action here.

    # -- 2026-07-28 ----------------------------------------------------------------------------

    def _on_modern_request(
        self, request_id: RequestId, method: str, params: dict[str, Any], channel: Send
    ) -> dict[str, Any] | _Call | _Extension | _Subscription:
        envelope = check_envelope(params)
        if method == "server/discover":
            return self._discover()
        if method == "tools/list":
            result = self._list_tools(params)
            return {**result, "ttlMs": TOOLS_LIST_TTL_MS, "cacheScope": CACHE_SCOPE}
        if method == "tools/call":
            log = self._modern_log(channel, envelope)
            return replace(self._prepare_call(request_id, params, channel, log), modern=True)
        if method == "subscriptions/listen":
            return self._listen(request_id, params, channel)
        if method in self._methods:
            return _Extension(request_id, self._methods[method], params, modern=True)
        raise RpcError(
            METHOD_NOT_FOUND,
            f"Method not found: {method}"
            + (" (MCP 2026-07-28 has no such method)" if method in _LEGACY_ONLY else ""),
        )

    def _discover(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "supportedVersions": list(MODERN_PROTOCOL_VERSIONS),
            "capabilities": self._capabilities(),
            "ttlMs": DISCOVER_TTL_MS,
            "cacheScope": CACHE_SCOPE,
        }
        if self.instructions:
            result["instructions"] = self.instructions
        return result

    def _stamp(self, result: dict[str, Any]) -> dict[str, Any]:
        """A 2026-07-28 result: complete, and saying which server answered."""
        meta = result.get("_meta")
        stamped_meta = {**(meta if isinstance(meta, dict) else {})}
        stamped_meta[SERVER_INFO_KEY] = dict(self.server_info)
        return {**result, "resultType": "complete", "_meta": stamped_meta}

    def _listen(
        self, request_id: RequestId, params: dict[str, Any], channel: Send
    ) -> _Subscription:
        wanted = params.get("notifications", {})
        if not isinstance(wanted, dict):
            raise RpcError(INVALID_PARAMS, "Invalid params: notifications must be an object")
        if request_id in self._subscriptions or request_id in self._running:
            raise RpcError(INVALID_REQUEST, f"Invalid Request: id {request_id!r} is in use")
        if len(self._subscriptions) >= MAX_SUBSCRIPTIONS:
            raise RpcError(
                INTERNAL_ERROR,
                f"Too many subscriptions: this server keeps at most {MAX_SUBSCRIPTIONS} open; "
                "cancel one you no longer need (one listen request can ask for every change)",
            )
        loop = _running_loop()
        if loop is None:
            raise RpcError(
                INTERNAL_ERROR, "subscriptions/listen needs handle_async() on a running event loop"
            )
        tools = wanted.get("toolsListChanged") is True
        ended: asyncio.Future[None] = loop.create_future()
        subscription = _Subscription(request_id, channel, tools, ended)
        self._subscriptions[request_id] = subscription
        # Only what this server honours is acknowledged: tools are all it has.
        acknowledged = {"toolsListChanged": True} if tools else {}
        meta = {SUBSCRIPTION_ID_KEY: request_id}
        ack = {"_meta": meta, "notifications": acknowledged}
        channel(encode(notification("notifications/subscriptions/acknowledged", ack)))
        return subscription

    async def _run_subscription(self, subscription: _Subscription) -> Message | None:
        try:
            await subscription.ended
        except asyncio.CancelledError:
            return None  # the client ended it: no reply
        finally:
            if self._subscriptions.get(subscription.request_id) is subscription:
                del self._subscriptions[subscription.request_id]
        result = self._stamp({"_meta": {SUBSCRIPTION_ID_KEY: subscription.request_id}})
        return response(subscription.request_id, result)

    def _modern_log(self, channel: Send, envelope: Envelope) -> LogSink:
        """Logs for one 2026-07-28 request: none unless it asked, at or above the level it asked."""
        wanted = envelope.log_level

        def log(level: LogLevel, data: Any, logger: str | None = None) -> None:
            if wanted is None or LOG_LEVELS.index(level) < LOG_LEVELS.index(wanted):
                return
            channel(encode(notification("notifications/message", _log_params(level, data, logger))))

        return log

    def _legacy_log(self, channel: Send) -> LogSink:
        """Logs for a 2025 session's call: at or above the session's level (logging/setLevel)."""

        def log(level: LogLevel, data: Any, logger: str | None = None) -> None:
            if LOG_LEVELS.index(level) < LOG_LEVELS.index(self.log_level):
                return
            channel(encode(notification("notifications/message", _log_params(level, data, logger))))

        return log

    def _initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        requested = params.get("protocolVersion")
        if not isinstance(requested, str):
            raise RpcError(INVALID_PARAMS, "Invalid params: protocolVersion must be a string")
        client = params.get("clientInfo")
        self.client_info = client if isinstance(client, dict) else None
        self.protocol_version = (
            requested if requested in PROTOCOL_VERSIONS else LATEST_PROTOCOL_VERSION
        )
        result: dict[str, Any] = {
            "protocolVersion": self.protocol_version,
            "capabilities": self._capabilities(),
            "serverInfo": dict(self.server_info),
        }
        if self.instructions:
            result["instructions"] = self.instructions
        return result

    def _capabilities(self) -> dict[str, Any]:
        return {"tools": {"listChanged": True}, "logging": {}}

    def _list_tools(self, params: dict[str, Any]) -> dict[str, Any]:
        cursor = params.get("cursor")
        start = 0
        if cursor is not None:
            if not (isinstance(cursor, str) and cursor.isdigit()):
                raise RpcError(INVALID_PARAMS, f"Invalid params: unknown cursor {cursor!r}")
            start = int(cursor)
        tools = self.tools
        page = tools[start : start + self.page_size]
        result: dict[str, Any] = {"tools": [t.to_mcp() for t in page]}
        if start + self.page_size < len(tools):
            result["nextCursor"] = str(start + self.page_size)
        return result

    def _prepare_call(
        self, request_id: RequestId, params: dict[str, Any], channel: Send, log: LogSink
    ) -> _Call:
        name = params.get("name")
        if not isinstance(name, str):
            raise RpcError(INVALID_PARAMS, "Invalid params: name must be a string")
        tool = self._tools.get(name)
        if tool is None:
            raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, "Invalid params: arguments must be an object")
        if request_id in self._running or request_id in self._subscriptions:
            raise RpcError(INVALID_REQUEST, f"Invalid Request: id {request_id!r} is in use")
        try:
            values = tool.parse_arguments(arguments)
        except ValidationError as error:
            problems = [{"field": p.path, "message": p.message} for p in error.problems]
            message = f"Invalid arguments for tool {name}: {error}"
            raise RpcError(INVALID_PARAMS, message, {"errors": problems}) from None
        meta = params.get("_meta")
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        context = Context(
            tool_name=name,
            request_id=request_id,
            on_progress=self._progress_sink(token, channel),
            on_log=log,
        )
        return _Call(request_id, tool, values, context)

    def _progress_sink(
        self, token: Any, channel: Send
    ) -> Callable[[float, float | None, str | None], None]:
        def progress(done: float, total: float | None, message: str | None) -> None:
            if not is_request_id(token):
                return  # the client did not ask for progress
            params: dict[str, Any] = {"progressToken": token, "progress": done}
            if total is not None:
                params["total"] = total
            if message is not None:
                params["message"] = message
            channel(encode(notification("notifications/progress", params)))

        return progress

    # -- running a call ----------------------------------------------------------------------

    async def _run_extension(self, call: _Extension) -> Message:
        try:
            result = await call.method(call.params)
            return response(call.request_id, self._stamp(result) if call.modern else result)
        except RpcError as fault:
            return error_response(call.request_id, fault)
        except Exception as error:
            internal = RpcError(INTERNAL_ERROR, f"{type(error).__name__}: {error}")
            return error_response(call.request_id, internal)

    async def _run_call(self, call: _Call) -> Message | None:
        if not call.tool.is_async:
            try:
                return self._call_response(call, await self._execute(call))
            except RpcError as fault:
                return error_response(call.request_id, fault)
        task: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(self._execute(call))
        self._running[call.request_id] = (task, call.context)
        try:
            result = await task
        except asyncio.CancelledError:
            if call.context.cancelled:
                return None  # the client cancelled: MCP says not to reply
            raise
        except RpcError as fault:
            return error_response(call.request_id, fault)
        finally:
            self._running.pop(call.request_id, None)
        return None if call.context.cancelled else self._call_response(call, result)

    def _call_response(self, call: _Call, result: dict[str, Any]) -> Message:
        return response(call.request_id, self._stamp(result) if call.modern else result)

    async def _execute(self, call: _Call) -> dict[str, Any]:
        # A sync tool never awaits here, so `_run_to_end` can drive this without a loop.
        tool = call.tool
        with captured_output() as captured:
            try:
                value = tool.invoke(call.values, call.context)
                if inspect.isawaitable(value):
                    value = await value
                result = tool.result(value)
            except (asyncio.CancelledError, RpcError):
                raise
            except ToolError as error:
                result = _error_result(str(error))
            except (Exception, KeyboardInterrupt, SystemExit) as error:
                details = "".join(traceback.format_exception(error))
                call.context.log("error", {"error": str(error), "traceback": details})
                result = _error_result(f"{type(error).__name__}: {error}")
        for stream, text in (("stdout", captured.stdout), ("stderr", captured.stderr)):
            if text:
                result["content"].append({"type": "text", "text": f"[{stream}]\n{text}"})
        return result


_LEGACY_ONLY = frozenset({"ping", "logging/setLevel", "resources/subscribe"})


def _log_params(level: LogLevel, data: Any, logger: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"level": level, "data": data}
    if logger:
        params["logger"] = logger
    return params


def _error_result(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}


def _run_to_end(coroutine: Any) -> Any:
    """Run a coroutine that never suspends (a sync tool's call) without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError("a sync tool call suspended")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    if IN_PYODIDE:
        # Pyodide's WebLoop is the current loop even while no Python code is running on it.
        return asyncio.get_event_loop()
    return None
