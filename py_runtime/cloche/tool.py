"""`@tool`: a type-hinted function becomes an MCP tool with input and output JSON Schemas."""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable
from typing import Any, Literal, overload

from ._docstring import parse_docstring
from ._jsonvalue import to_json
from ._schema import Property, Shape, json_schema, mentions_bytes, object_schema, shape_of
from ._validate import ValidationError, convert, convert_arguments
from .context import Context
from .permissions import DeclarationError, Permissions, permissions

NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,128}")
# The same range as a WASM manifest's limits.deadlineMs; the page cuts a longer one to this too.
MAX_DEADLINE_MS = 600_000
DEADLINE_META = "cloche/deadlineMs"
OutputMode = Literal["untyped", "none", "text", "structured", "wrapped"]


class ToolError(Exception):
    """Raise from a tool to fail the call with exactly this message (no exception type shown)."""


class Tool:
    """A tool: the function plus everything MCP says about it. Calling it calls the function."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: dict[str, bool] | None = None,
        deadline_ms: int | None = None,
        network: Iterable[str] = (),
        storage: bool = False,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        if not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(f"tool name {self.name!r} must be 1-128 of A-Z a-z 0-9 _ - .")
        self.deadline_ms = _check_deadline(self.name, deadline_ms)
        try:
            # What this tool adds to its package's permissions (the page grants per package).
            self.permissions: Permissions = permissions(network=network, storage=storage)
        except DeclarationError as error:
            raise DeclarationError(f"tool {self.name}: {error}") from None
        self.title = title or self.name.rsplit(".", 1)[-1].replace("_", " ").capitalize()
        doc = parse_docstring(fn.__doc__)
        self.description = description if description is not None else doc.description
        self.annotations = dict(annotations or {})
        self.is_async = inspect.iscoroutinefunction(fn)
        self._positional: list[str] = []
        self.context_parameter: str | None = None
        self.properties = self._read_parameters(doc.params)
        self.input_schema = object_schema(self.properties)
        self.output_mode, self.output_shape = self._read_return()
        self.output_schema: dict[str, Any] | None = None
        if self.output_mode == "structured":
            assert self.output_shape is not None
            self.output_schema = json_schema(self.output_shape)
        elif self.output_mode == "wrapped":
            assert self.output_shape is not None
            wrapped = [Property("result", self.output_shape, required=True)]
            self.output_schema = object_schema(wrapped)
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<Tool {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def renamed(self, name: str) -> Tool:
        """The same tool under another name (discovery prefixes the package namespace)."""
        clone = Tool.__new__(Tool)
        clone.__dict__.update(self.__dict__)
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError(f"tool name {name!r} must be 1-128 of A-Z a-z 0-9 _ - .")
        clone.name = name
        return clone

    def _hints(self) -> dict[str, Any]:
        try:
            return typing.get_type_hints(self.fn, include_extras=True)
        except NameError as error:
            raise TypeError(f"tool {self.name}: cannot resolve a type hint: {error}") from None

    def _read_parameters(self, docs: dict[str, str]) -> list[Property]:
        hints = self._hints()
        properties = []
        for param in inspect.signature(self.fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"tool {self.name}: *{param.name} parameters are not supported")
            if param.name not in hints:
                raise TypeError(f"tool {self.name}: parameter {param.name!r} needs a type hint")
            hint = hints[param.name]
            if hint is Context:
                self.context_parameter = param.name
                continue
            if param.kind is param.POSITIONAL_ONLY:
                self._positional.append(param.name)
            try:
                shape = shape_of(hint)
            except TypeError as error:
                raise TypeError(f"tool {self.name}: parameter {param.name!r}: {error}") from None
            if shape.description is None and param.name in docs:
                shape.description = docs[param.name]
            required = param.default is param.empty
            prop = Property(param.name, shape, required)
            if not required:
                prop.default = param.default
            properties.append(prop)
        return properties

    def _read_return(self) -> tuple[OutputMode, Shape | None]:
        hints = self._hints()
        if "return" not in hints:
            return "untyped", None
        hint = hints["return"]
        if hint is None or hint is type(None):
            return "none", None
        if hint is str:
            return "text", None
        try:
            shape = shape_of(hint)
        except TypeError as error:
            raise TypeError(f"tool {self.name}: return type: {error}") from None
        if mentions_bytes(shape):
            message = "bytes are for file inputs; return text, or base64 text as str"
            raise TypeError(f"tool {self.name}: return type: {message}")
        if shape.kind in ("record", "object"):
            return "structured", shape
        return "wrapped", shape

    def to_mcp(self) -> dict[str, Any]:
        """The tool as `tools/list` shows it."""
        entry: dict[str, Any] = {"name": self.name, "title": self.title}
        entry["description"] = self.description
        entry["inputSchema"] = self.input_schema
        if self.output_schema is not None:
            entry["outputSchema"] = self.output_schema
        annotations = {"title": self.title, **self.annotations}
        entry["annotations"] = annotations
        if self.deadline_ms is not None:
            entry["_meta"] = {DEADLINE_META: self.deadline_ms}
        return entry

    def parse_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Python values for JSON arguments; ValidationError naming each invalid field."""
        return convert_arguments(self.properties, arguments)

    def invoke(self, values: dict[str, Any], context: Context) -> Any:
        """Call the function with parsed arguments (a coroutine for an async tool)."""
        kwargs = dict(values)
        args = [kwargs.pop(name) for name in self._positional if name in kwargs]
        if self.context_parameter is not None:
            kwargs[self.context_parameter] = context
        return self.fn(*args, **kwargs)

    def result(self, value: Any) -> dict[str, Any]:
        """The `tools/call` result for what the function returned; TypeError if it does not fit."""
        if self.output_mode == "none":
            return {"content": []}
        if self.output_mode == "text" or (self.output_mode == "untyped" and isinstance(value, str)):
            if not isinstance(value, str):
                raise TypeError(f"returned {type(value).__name__}, declared str")
            return {"content": [_text(value)]}
        data = to_json(value)
        if self.output_mode == "untyped":
            return {"content": [_text(_dumps(data))]}
        if self.output_mode == "wrapped":
            data = {"result": data}
        assert self.output_schema is not None and self.output_shape is not None
        try:
            convert(self.output_shape, data["result"] if self.output_mode == "wrapped" else data)
        except ValidationError as error:
            raise TypeError(f"the result does not match the output schema: {error}") from None
        return {"content": [_text(_dumps(data))], "structuredContent": data}


def _check_deadline(name: str, deadline_ms: object) -> int | None:
    if deadline_ms is None:
        return None
    message = (
        f"tool {name}: deadline_ms must be a whole number of milliseconds "
        f"from 1 to {MAX_DEADLINE_MS}, got {deadline_ms!r}"
    )
    if not isinstance(deadline_ms, int) or isinstance(deadline_ms, bool):
        raise TypeError(message)
    if not 1 <= deadline_ms <= MAX_DEADLINE_MS:
        raise ValueError(message)
    return deadline_ms


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False)


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    *,
    name: str | None = None,
    title: str | None = None,
    description: str | None = None,
    read_only: bool | None = None,
    destructive: bool | None = None,
    idempotent: bool | None = None,
    open_world: bool | None = None,
    deadline_ms: int | None = None,
    network: Iterable[str] = (),
    storage: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    title: str | None = None,
    description: str | None = None,
    read_only: bool | None = None,
    destructive: bool | None = None,
    idempotent: bool | None = None,
    open_world: bool | None = None,
    deadline_ms: int | None = None,
    network: Iterable[str] = (),
    storage: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a type-hinted function (sync or async) a tool: ``@tool`` or ``@tool(name=...)``.

    The docstring is the description and its Args section describes the parameters. The hint
    keywords become MCP annotations (readOnlyHint, destructiveHint, idempotentHint,
    openWorldHint); those left at None are not sent. ``deadline_ms`` (1 to 600000) is how long
    the page lets a call run before it stops it, sent as ``_meta["cloche/deadlineMs"]``.
    ``network`` (origin patterns) and ``storage`` add to what the tool's package asks the user
    for, as ``cloche.permissions(...)`` does for the whole package (docs/python-tools.md); an
    invalid one is a ``DeclarationError`` here.
    """
    hints = {
        "readOnlyHint": read_only,
        "destructiveHint": destructive,
        "idempotentHint": idempotent,
        "openWorldHint": open_world,
    }
    annotations = {key: value for key, value in hints.items() if value is not None}

    def decorate(function: Callable[..., Any]) -> Tool:
        return Tool(
            function,
            name=name,
            title=title,
            description=description,
            annotations=annotations,
            deadline_ms=deadline_ms,
            network=network,
            storage=storage,
        )

    return decorate(fn) if fn is not None else decorate


def is_tool(value: Any) -> bool:
    return isinstance(value, Tool)


__all__ = ["Tool", "ToolError", "is_tool", "tool"]
