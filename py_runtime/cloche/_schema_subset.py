"""A JSON Schema checker for the subset that tool schemas use, with no dependencies.

Checked: type (one or a list; "integer" is a whole number), properties, required,
additionalProperties (boolean or schema), items, enum, const, minimum, maximum, minLength,
maxLength, minItems, maxItems, and contentEncoding "base64" (a file's bytes: the text must be
standard, padded base64). Other keywords are ignored, so a schema that uses more is only checked
as far as this goes (the tool still checks its own input).
"""

from __future__ import annotations

import re
from typing import Any

from ._jsonvalue import json_type

_TYPES = {"null", "boolean", "integer", "number", "string", "array", "object"}
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")  # and a multiple of 4 characters long


def json_type_of(value: Any) -> str:
    """As `json_type`, but a float with no fraction counts as an integer, as JSON Schema says."""
    if isinstance(value, float) and value.is_integer():
        return "integer"
    return json_type(value)


def _type_matches(wanted: str, actual: str) -> bool:
    return wanted == actual or (wanted == "number" and actual == "integer")


def check(schema: Any, value: Any, path: str = "") -> list[str]:
    """The problems of `value` against `schema`, each naming its place (`text`, `items[2]`)."""
    if schema is True or not isinstance(schema, dict):
        return []
    where = path or "value"
    problems: list[str] = []
    wanted = schema.get("type")
    actual = json_type_of(value)
    if wanted is not None:
        types = wanted if isinstance(wanted, list) else [wanted]
        if not any(_type_matches(t, actual) for t in types):
            return [f"{where} must be {' or '.join(map(str, types))}, not {actual}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where} must be one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where} must be {schema['const']!r}")
    if actual in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where} must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where} must be at most {schema['maximum']}")
    if actual == "string":
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append(f"{where} must be at least {schema['minLength']} characters long")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{where} must be at most {schema['maxLength']} characters long")
        if schema.get("contentEncoding") == "base64" and not is_base64(value):
            problems.append(f"{where} is not valid base64: {BASE64_RULE}")
    if actual == "array":
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append(f"{where} must have at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{where} must have at most {schema['maxItems']} items")
        for index, item in enumerate(value):
            problems += check(schema.get("items"), item, f"{path}[{index}]")
    if actual == "object":
        properties = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                problems.append(f"{_join(path, name)} is required")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                problems += check(properties[name], item, _join(path, name))
            elif extra is False:
                problems.append(f"{_join(path, name)} is not an accepted property")
            else:
                problems += check(extra, item, _join(path, name))
    return problems


BASE64_RULE = (
    "expected the bytes base64-encoded (A-Z, a-z, 0-9, + and /, padded with = to a multiple of"
    " 4 characters, no spaces or line breaks)"
)


def is_base64(text: str) -> bool:
    """Standard base64 with padding, as `base64.b64decode(text, validate=True)` accepts it."""
    return len(text) % 4 == 0 and _BASE64.fullmatch(text) is not None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def schema_problems(schema: Any, path: str) -> list[str]:
    """Structural problems of a tool's schema: an object schema whose `type` is "object"."""
    if not isinstance(schema, dict):
        return [f"{path} must be a JSON Schema object"]
    if schema.get("type") != "object":
        return [f'{path}.type must be "object"']
    problems = []
    if "properties" in schema and not isinstance(schema["properties"], dict):
        problems.append(f"{path}.properties must be an object")
    required = schema.get("required", [])
    if not (isinstance(required, list) and all(isinstance(r, str) for r in required)):
        problems.append(f"{path}.required must be a list of strings")
    for name, sub in (schema.get("properties") or {}).items():
        problems += _subschema_problems(sub, f"{path}.properties.{name}")
    return problems


def _subschema_problems(schema: Any, path: str) -> list[str]:
    """Unknown type names and misused content keywords, here and in nested properties/items."""
    if not isinstance(schema, dict):
        return []
    problems = []
    typ = schema.get("type")
    types = typ if isinstance(typ, list) else [typ] if typ is not None else []
    for t in types:
        if not isinstance(t, str) or t not in _TYPES:
            problems.append(f"{path}.type: unknown type {t!r}")
    if "contentEncoding" in schema and schema["contentEncoding"] != "base64":
        problems.append(f'{path}.contentEncoding must be "base64" (the only encoding supported)')
    if "contentMediaType" in schema and not isinstance(schema["contentMediaType"], str):
        problems.append(f"{path}.contentMediaType must be a string such as 'text/csv'")
    for key in ("contentEncoding", "contentMediaType"):
        if key in schema and "string" not in types:
            problems.append(f'{path}.{key} needs "type": "string"')
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, sub in properties.items():
            problems += _subschema_problems(sub, f"{path}.properties.{name}")
    for key in ("items", "additionalProperties"):
        problems += _subschema_problems(schema.get(key), f"{path}.{key}")
    return problems
