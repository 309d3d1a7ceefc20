"""Check JSON arguments against a shape and turn them into the Python values the hints name."""

from __future__ import annotations

import base64
import datetime
import json
import math
import re
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._jsonvalue import json_type
from ._schema import TEMPORAL_FORMATS, Property, Shape


@dataclass(frozen=True)
class Problem:
    """One invalid value: where it is (`items[2].name`) and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ValidationError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(map(str, self.problems))


class _Invalid(Exception):
    """Raised for the first problem inside one value (unions try the next member on it)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems


def convert_arguments(properties: list[Property], arguments: dict[str, Any]) -> dict[str, Any]:
    """Validate every argument; return Python values for those given. Raises ValidationError."""
    try:
        return _convert_properties(properties, arguments, "", unknown="unknown argument")
    except _Invalid as error:
        raise ValidationError(error.problems) from None


def convert(shape: Shape, value: Any, path: str = "") -> Any:
    """Validate one JSON value against a shape and return its Python form."""
    try:
        return _convert(shape, value, path)
    except _Invalid as error:
        raise ValidationError(error.problems) from None


def describe(shape: Shape) -> str:
    """What a shape expects, in words."""
    match shape.kind:
        case "any":
            return "any value"
        case "scalar":
            return str(shape.json_type)
        case "bytes":
            return "base64-encoded bytes (a file)"
        case "temporal":
            return {
                "date": "a date (YYYY-MM-DD)",
                "date-time": "a date and time (ISO 8601, e.g. 2025-01-31T12:00:00Z)",
                "time": "a time (HH:MM[:SS])",
            }[TEMPORAL_FORMATS[shape.python_type]]
        case "array" | "tuple":
            return "array"
        case "object" | "record":
            return "object"
        case "enum":
            return "one of " + ", ".join(json.dumps(v) for v in shape.values)
        case "union":
            return " or ".join(dict.fromkeys(describe(s) for s in shape.options))
    raise AssertionError(shape.kind)


def _fail(path: str, message: str) -> _Invalid:
    return _Invalid([Problem(path, message)])


def _mismatch(shape: Shape, value: Any, path: str) -> _Invalid:
    return _fail(path, f"expected {describe(shape)}, got {json_type(value)}")


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _convert(shape: Shape, value: Any, path: str) -> Any:
    result = _convert_bare(shape, value, path)
    if shape.constraint is not None:
        _check_constraint(shape, value, path)
    return result


def _convert_bare(shape: Shape, value: Any, path: str) -> Any:
    match shape.kind:
        case "any":
            return value
        case "scalar":
            return _scalar(shape, value, path)
        case "bytes":
            return _bytes(shape, value, path)
        case "temporal":
            if not isinstance(value, str):
                raise _mismatch(shape, value, path)
            try:
                parsed = shape.python_type.fromisoformat(value)
            except ValueError:
                raise _fail(path, f"expected {describe(shape)}, got {value!r}") from None
            if shape.python_type is datetime.date and isinstance(parsed, datetime.datetime):
                return parsed.date()
            return parsed
        case "array":
            if not isinstance(value, list):
                raise _mismatch(shape, value, path)
            items = _convert_items([shape.items] * len(value), value, path)
            if shape.python_type in (set, frozenset):
                seen: list[Any] = []
                for index, item in enumerate(value):
                    if item in seen:
                        raise _fail(_child(path, index), f"duplicate item {json.dumps(item)}")
                    seen.append(item)
            return shape.python_type(items)
        case "tuple":
            if not isinstance(value, list):
                raise _mismatch(shape, value, path)
            if len(value) != len(shape.options):
                raise _fail(path, f"expected {len(shape.options)} items, got {len(value)}")
            return tuple(_convert_items(shape.options, value, path))
        case "object":
            if not isinstance(value, dict):
                raise _mismatch(shape, value, path)
            if shape.items is None:
                return value
            keys = list(value)
            converted = _convert_items([shape.items] * len(keys), list(value.values()), path, keys)
            return dict(zip(keys, converted, strict=True))
        case "enum":
            for allowed in shape.values:
                if type(allowed) is type(value) and allowed == value:
                    return shape.python_type(value) if shape.python_type else value
            raise _fail(path, f"expected {describe(shape)}, got {json.dumps(value)}")
        case "union":
            return _union(shape, value, path)
        case "record":
            if not isinstance(value, dict):
                raise _mismatch(shape, value, path)
            kwargs = _convert_properties(shape.properties, value, path, "unknown property")
            cls: Any = shape.python_type
            return kwargs if typing.is_typeddict(cls) else cls(**kwargs)
    raise AssertionError(shape.kind)


def _scalar(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.json_type
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "null" and value is None:
        return None
    if not isinstance(value, bool) and isinstance(value, int | float):
        if kind == "number" and (isinstance(value, int) or math.isfinite(value)):
            return float(value)
        if kind == "integer" and (isinstance(value, int) or value.is_integer()):
            return int(value)
    raise _mismatch(shape, value, path)


def _bytes(shape: Shape, value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise _mismatch(shape, value, path)
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as error:  # binascii.Error, or characters beyond ASCII
        message = f"not valid base64 ({error}); pass the file's bytes base64-encoded"
        raise _fail(path, message) from None


def _union(shape: Shape, value: Any, path: str) -> Any:
    problems: list[Problem] = []
    for option in shape.options:
        try:
            return _convert(option, value, path)
        except _Invalid as error:
            problems.extend(error.problems)
    non_null = [s for s in shape.options if not (s.kind == "scalar" and s.json_type == "null")]
    if value is not None and len(non_null) == 1:
        return _convert(non_null[0], value, path)  # Optional[X]: X's own, more precise, message
    deeper = [p for p in problems if p.path != path]
    if deeper and len({p.path for p in deeper}) == 1:
        raise _Invalid(deeper)  # only one member got past the type check: its problem is the one
    raise _mismatch(shape, value, path)


def _convert_items(
    shapes: Sequence[Shape | None], values: list[Any], path: str, keys: list[str] | None = None
) -> list[Any]:
    out, problems = [], []
    for index, (shape, value) in enumerate(zip(shapes, values, strict=True)):
        try:
            out.append(value if shape is None else _convert(shape, value, _child(path, index)))
        except _Invalid as error:
            problems.extend(error.problems)
    if problems:
        if keys is not None:  # object values: name the key, not the position
            problems = [_rekey(p, path, keys) for p in problems]
        raise _Invalid(problems)
    return out


def _rekey(problem: Problem, path: str, keys: list[str]) -> Problem:
    match = re.match(re.escape(path) + r"\[(\d+)\]", problem.path)
    if not match:
        return problem
    new = _child(path, keys[int(match.group(1))]) + problem.path[match.end() :]
    return Problem(new, problem.message)


def _convert_properties(
    properties: list[Property], value: dict[str, Any], path: str, unknown: str
) -> dict[str, Any]:
    known = {p.name for p in properties}
    problems = [Problem(_child(path, k), unknown) for k in value if k not in known]
    out = {}
    for prop in properties:
        if prop.name not in value:
            if prop.required:
                problems.append(Problem(_child(path, prop.name), "is required"))
            continue
        try:
            out[prop.name] = _convert(prop.shape, value[prop.name], _child(path, prop.name))
        except _Invalid as error:
            problems.extend(error.problems)
    if problems:
        raise _Invalid(problems)
    return out


def _check_constraint(shape: Shape, value: Any, path: str) -> None:
    c = shape.constraint
    assert c is not None
    if isinstance(value, int | float) and not isinstance(value, bool):
        checks: list[tuple[float | None, Callable[[float], bool], str]] = [
            (c.minimum, lambda b: value >= b, "must be >= {}"),
            (c.maximum, lambda b: value <= b, "must be <= {}"),
            (c.exclusive_minimum, lambda b: value > b, "must be > {}"),
            (c.exclusive_maximum, lambda b: value < b, "must be < {}"),
            (c.multiple_of, lambda b: (value / b).is_integer(), "must be a multiple of {}"),
        ]
        for bound, ok, message in checks:
            if bound is not None and not ok(bound):
                raise _fail(path, message.format(bound) + f" (got {value})")
    if isinstance(value, str | list | dict):
        unit = {str: "character", list: "item", dict: "propert"}[type(value)]
        if c.min_length is not None and len(value) < c.min_length:
            count = _plural(c.min_length, unit)
            raise _fail(path, f"must have at least {count} (got {len(value)})")
        if c.max_length is not None and len(value) > c.max_length:
            count = _plural(c.max_length, unit)
            raise _fail(path, f"must have at most {count} (got {len(value)})")
    if isinstance(value, str) and c.pattern is not None and not re.search(c.pattern, value):
        raise _fail(path, f"must match the pattern {c.pattern!r} (got {value!r})")


def _plural(count: int, unit: str) -> str:
    if unit == "propert":
        return f"{count} {'property' if count == 1 else 'properties'}"
    return f"{count} {unit}{'' if count == 1 else 's'}"
