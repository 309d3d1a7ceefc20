"""Type hints to a small tree of shapes, and shapes to JSON Schema (draft 2020-12, inlined).

The same tree drives argument validation (`_validate`), so what the schema promises is exactly what
the validator accepts. Schemas are inlined without `$ref`: models read them more reliably, and
recursive types are rejected with a clear error instead. `bytes` (a file) travels as base64
text, `{"type": "string", "contentEncoding": "base64"}`, plus `contentMediaType` when the hint
carries `Field(media_type=...)`.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._docstring import parse_docstring
from ._jsonvalue import json_type
from .field import Field

JsonType = Literal["string", "integer", "number", "boolean", "null"]
SCALARS: dict[Any, JsonType] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
    None: "null",
}
TEMPORAL_FORMATS = {datetime.datetime: "date-time", datetime.date: "date", datetime.time: "time"}


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass
class Shape:
    """One node of the tree. `kind` says which of the optional parts are set."""

    kind: Literal[
        "any", "scalar", "bytes", "temporal", "array", "tuple", "object", "union", "enum", "record"
    ]
    json_type: JsonType | None = None
    python_type: Any = None  # temporal class, list/tuple/set/frozenset, Enum or record class
    items: Shape | None = None  # array items, object values
    options: list[Shape] = field(default_factory=list)  # union members, tuple items
    values: list[Any] = field(default_factory=list)  # enum values (JSON side)
    properties: list[Property] = field(default_factory=list)
    constraint: Field | None = None
    description: str | None = None
    media_type: str | None = None  # bytes only: its contentMediaType


@dataclass
class Property:
    name: str
    shape: Shape
    required: bool
    default: Any = NO_DEFAULT


def shape_of(hint: Any, _seen: tuple[Any, ...] = ()) -> Shape:
    """The shape of a type hint; TypeError for a hint that has no JSON form."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        shape = shape_of(args[0], _seen)
        for extra in args[1:]:
            if isinstance(extra, str):
                shape.description = extra
            elif isinstance(extra, Field):
                if extra.media_type is not None:
                    _set_media_type(shape, extra.media_type, args[0])
                shape.constraint = extra
                shape.description = extra.description or shape.description
        return shape
    if hint is Any or hint is object:
        return Shape("any")
    if hint in SCALARS:
        return Shape("scalar", json_type=SCALARS[hint])
    if hint is bytes:
        return Shape("bytes")
    if hint in TEMPORAL_FORMATS:
        return Shape("temporal", python_type=hint)
    if isinstance(hint, typing.TypeAliasType):
        return shape_of(hint.__value__, _seen)
    if isinstance(hint, typing.NewType):
        return shape_of(hint.__supertype__, _seen)
    if origin in (typing.Union, types.UnionType):
        return _union([shape_of(arg, _seen) for arg in args])
    if origin is Literal:
        return _enum(list(args), None)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum([member.value for member in hint], hint)
    if hint in (list, tuple, set, frozenset) or origin in (list, set, frozenset, Sequence):
        container = origin or hint
        item = shape_of(args[0], _seen) if args else None
        return Shape("array", python_type=list if container is Sequence else container, items=item)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return Shape("array", python_type=tuple, items=shape_of(args[0], _seen))
        if args == ((),):  # tuple[()]
            return Shape("tuple", python_type=tuple)
        return Shape("tuple", python_type=tuple, options=[shape_of(a, _seen) for a in args])
    if hint in (dict, Mapping) or origin in (dict, Mapping):
        if args and args[0] is not str:
            raise TypeError(f"object keys must be str, not {args[0]!r}")
        return Shape("object", items=shape_of(args[1], _seen) if args else None)
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or typing.is_typeddict(hint)):
        if hint in _seen:
            raise TypeError(f"recursive type {hint.__qualname__} is not supported")
        return _record(hint, (*_seen, hint))
    raise TypeError(f"no JSON Schema for type hint {hint!r}")


def _set_media_type(shape: Shape, media_type: str, hint: Any) -> None:
    """Put the media type on the bytes of `bytes` or `bytes | None`; TypeError on anything else."""
    if not isinstance(media_type, str) or not media_type:
        raise TypeError(
            f"media_type must be a non-empty string such as 'text/csv', not {media_type!r}"
        )
    members = shape.options if shape.kind == "union" else [shape]
    files = [m for m in members if m.kind == "bytes"]
    others = [m for m in members if m.kind != "bytes" and not _is_null(m)]
    if not files or others:
        spelled = hint.__name__ if isinstance(hint, type) else repr(hint)
        raise TypeError(f"media_type={media_type!r} is only for bytes (a file), not {spelled}")
    for member in files:
        member.media_type = media_type


def _is_null(shape: Shape) -> bool:
    return shape.kind == "scalar" and shape.json_type == "null"


def mentions_bytes(shape: Shape) -> bool:
    """Whether bytes occur anywhere in the shape (tools take files but cannot return them yet)."""
    children = [*shape.options, *(p.shape for p in shape.properties)]
    if shape.items is not None:
        children.append(shape.items)
    return shape.kind == "bytes" or any(mentions_bytes(child) for child in children)


def _union(options: list[Shape]) -> Shape:
    flat: list[Shape] = []
    for option in options:
        flat.extend(option.options if option.kind == "union" else [option])
    return Shape("union", options=flat)


def _enum(values: list[Any], cls: type[enum.Enum] | None) -> Shape:
    for value in values:
        if not isinstance(value, str | int | float | bool | None):
            raise TypeError(f"enum value {value!r} is not a JSON scalar")
    return Shape("enum", python_type=cls, values=values)


def _record(cls: type, seen: tuple[Any, ...]) -> Shape:
    hints = typing.get_type_hints(cls, include_extras=True)
    doc = cls.__doc__ or ""
    if dataclasses.is_dataclass(cls) and doc.startswith(cls.__name__ + "("):
        doc = ""  # the text dataclasses make up when a class has no docstring
    parsed = parse_docstring(doc)
    properties = []
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            default = f.default
            if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            shape = shape_of(hints[f.name], seen)
            if default is dataclasses.MISSING:
                properties.append(Property(f.name, shape, required=True))
            else:
                properties.append(Property(f.name, shape, required=False, default=default))
    else:
        required_keys: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
        for name, hint in hints.items():
            hint = _strip_required(hint)
            properties.append(Property(name, shape_of(hint, seen), name in required_keys))
    for prop in properties:
        if prop.shape.description is None and prop.name in parsed.params:
            prop.shape.description = parsed.params[prop.name]
    return Shape(
        "record", python_type=cls, properties=properties, description=parsed.description or None
    )


def _strip_required(hint: Any) -> Any:
    """TypedDict hints keep Required/NotRequired/ReadOnly wrappers under include_extras."""
    wrappers = (typing.Required, typing.NotRequired, getattr(typing, "ReadOnly", typing.Required))
    while typing.get_origin(hint) in wrappers:
        hint = typing.get_args(hint)[0]
    if typing.get_origin(hint) is typing.Annotated:
        inner, *extras = typing.get_args(hint)
        return typing.Annotated[(_strip_required(inner), *extras)]
    return hint


def json_schema(shape: Shape) -> dict[str, Any]:
    """The JSON Schema of a shape."""
    schema = _bare_schema(shape)
    if shape.description:
        schema["description"] = shape.description
    if shape.constraint is not None:
        _apply_constraint(schema, shape.constraint)
    return schema


def _bare_schema(shape: Shape) -> dict[str, Any]:
    match shape.kind:
        case "any":
            return {}
        case "scalar":
            return {"type": shape.json_type}
        case "bytes":
            schema: dict[str, Any] = {"type": "string", "contentEncoding": "base64"}
            if shape.media_type is not None:
                schema["contentMediaType"] = shape.media_type
            return schema
        case "temporal":
            return {"type": "string", "format": TEMPORAL_FORMATS[shape.python_type]}
        case "array":
            schema = {"type": "array"}
            if shape.items is not None:
                schema["items"] = json_schema(shape.items)
            if shape.python_type in (set, frozenset):
                schema["uniqueItems"] = True
            return schema
        case "tuple":
            n = len(shape.options)
            schema = {"type": "array", "minItems": n, "maxItems": n}
            if n:
                schema["prefixItems"] = [json_schema(s) for s in shape.options]
            return schema
        case "object":
            schema = {"type": "object"}
            if shape.items is not None:
                schema["additionalProperties"] = json_schema(shape.items)
            return schema
        case "union":
            members = [json_schema(s) for s in shape.options]
            if all(m.keys() == {"type"} and isinstance(m["type"], str) for m in members):
                return {"type": list(dict.fromkeys(m["type"] for m in members))}
            return {"anyOf": members}
        case "enum":
            schema = {}
            kinds = {json_type(v) for v in shape.values}
            if len(kinds) == 1:
                schema["type"] = kinds.pop()
            schema["enum"] = list(shape.values)
            if shape.python_type is not None:
                schema["title"] = shape.python_type.__name__
            return schema
        case "record":
            return object_schema(shape.properties)
    raise AssertionError(shape.kind)


def object_schema(properties: list[Property]) -> dict[str, Any]:
    """A closed object schema: these properties, the required ones listed, nothing else."""
    props: dict[str, Any] = {}
    for prop in properties:
        schema = json_schema(prop.shape)
        if prop.default is not NO_DEFAULT:
            try:
                from ._jsonvalue import to_json

                schema["default"] = to_json(prop.default)
            except TypeError:
                pass  # a default with no JSON form is simply not advertised
        props[prop.name] = schema
    schema = {"type": "object", "properties": props}
    required = [p.name for p in properties if p.required]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def _apply_constraint(schema: dict[str, Any], c: Field) -> None:
    if c.title is not None:
        schema["title"] = c.title
    if c.description is not None:
        schema["description"] = c.description
    numeric = {
        "minimum": c.minimum,
        "maximum": c.maximum,
        "exclusiveMinimum": c.exclusive_minimum,
        "exclusiveMaximum": c.exclusive_maximum,
        "multipleOf": c.multiple_of,
    }
    schema.update({k: v for k, v in numeric.items() if v is not None})
    kind = schema.get("type")
    prefix = {"array": "Items", "object": "Properties"}.get(kind, "Length")  # type: ignore[arg-type]
    if c.min_length is not None:
        schema["min" + prefix] = c.min_length
    if c.max_length is not None:
        schema["max" + prefix] = c.max_length
    if c.pattern is not None:
        schema["pattern"] = c.pattern
    if c.examples is not None:
        schema["examples"] = list(c.examples)
