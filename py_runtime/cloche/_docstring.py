"""Split a docstring into its description and per-name descriptions (Google or reST style)."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

# Google-style section headers; a parameter section is one of the first group.
_PARAM_SECTIONS = {"args", "arguments", "parameters", "params", "attributes", "fields"}
_OTHER_SECTIONS = {
    "returns",
    "return",
    "yields",
    "raises",
    "examples",
    "example",
    "notes",
    "note",
    "see also",
    "warnings",
    "warning",
    "todo",
}
_HEADER = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
# "name: text", "name (type): text"
_ENTRY = re.compile(r"^\*{0,2}([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_REST_PARAM = re.compile(r"^:(?:param|parameter|arg|argument|ivar|var)\s+(?:\S+\s+)?(\w+):\s*(.*)$")
_REST_OTHER = re.compile(r"^:(returns?|rtype|raises?|type)\b")


@dataclass
class Docstring:
    description: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(text: str | None) -> Docstring:
    """The description (everything before the first section) and the Args/Attributes entries."""
    if not text:
        return Docstring()
    lines = inspect.cleandoc(text).splitlines()
    description: list[str] = []
    params: dict[str, list[str]] = {}
    section: str | None = None
    current: str | None = None
    entry_indent = 0
    for line in lines:
        stripped = line.strip()
        header = _HEADER.match(line)
        if header and header.group(1).lower() in _PARAM_SECTIONS | _OTHER_SECTIONS:
            section = header.group(1).lower()
            current = None
            continue
        rest = _REST_PARAM.match(stripped)
        if rest:
            section, current = "rest", rest.group(1)
            params[current] = [rest.group(2)]
            continue
        if _REST_OTHER.match(stripped):
            section, current = "rest-other", None
            continue
        if section is None:
            description.append(line)
        elif section in _PARAM_SECTIONS:
            indent = len(line) - len(line.lstrip())
            entry = _ENTRY.match(stripped)
            if entry and (current is None or indent <= entry_indent):
                current, entry_indent = entry.group(1), indent
                params[current] = [entry.group(2)]
            elif current is not None and stripped:
                params[current].append(stripped)
        elif section == "rest" and current is not None and stripped:
            params[current].append(stripped)
    return Docstring(
        description="\n".join(description).strip(),
        params={name: " ".join(p for p in parts if p).strip() for name, parts in params.items()},
    )
