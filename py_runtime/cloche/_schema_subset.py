"""A JSON Schema checker for the subset that tool schemas use, with no dependencies.

Checked: type (one or a list; "integer" is a whole number), properties, required,
additionalProperties (boolean or schema), items, enum, const, minimum, maximum, minLength,
maxLength, minItems, maxItems. Other keywords are ignored, so a schema that uses more is only
checked as far as this goes (the tool still checks its own input).
"""

from __future__ import annotations

from typing import Any

from ._jsonvalue import json_type

_TYPES = {"null", "boolean", "integer", "number", "string", "array", "object"}


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
        typ = sub.get("type") if isinstance(sub, dict) else None
        for t in typ if isinstance(typ, list) else [typ] if typ is not None else []:
            if t not in _TYPES:
                problems.append(f"{path}.properties.{name}.type: unknown type {t!r}")
    return problems
