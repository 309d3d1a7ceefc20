"""regex.search and regex.replace: Python regular expressions over a text."""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Annotated, Literal, TypedDict

from cloche import Field, ToolError, tool

__all__ = ["replace", "search"]

Flag = Literal["ignorecase", "multiline", "dotall", "verbose", "ascii"]
_FLAGS: dict[str, re.RegexFlag] = {
    "ignorecase": re.IGNORECASE,
    "multiline": re.MULTILINE,
    "dotall": re.DOTALL,
    "verbose": re.VERBOSE,
    "ascii": re.ASCII,
}
Pattern = Annotated[str, Field(min_length=1, description="A Python `re` regular expression.")]
Flags = Annotated[
    list[Flag] | None,
    Field(
        description="Matching options: ignorecase, multiline (^ and $ at every line), "
        "dotall (. matches line breaks), verbose, ascii."
    ),
]


class Match(TypedDict):
    """One match.

    Attributes:
        text: The matched text.
        start: Offset of the first character (0-based, in characters).
        end: Offset just past the last character.
        line: Line number of the start (1-based).
        column: Column of the start in its line (1-based).
        groups: The numbered groups' texts (null for a group that did not take part).
        named: The named groups' texts.
    """

    text: str
    start: int
    end: int
    line: int
    column: int
    groups: list[str | None]
    named: dict[str, str | None]


class SearchResult(TypedDict):
    """Matches of a search.

    Attributes:
        count: How many matches the text has in all.
        matches: The first matches (up to max_matches).
        truncated: Whether more matches exist than were listed.
    """

    count: int
    matches: list[Match]
    truncated: bool


class ReplaceResult(TypedDict):
    """The text after replacing.

    Attributes:
        text: The new text.
        replacements: How many replacements were made.
    """

    text: str
    replacements: int


def _compile(pattern: str, flags: list[Flag] | None) -> re.Pattern[str]:
    combined = re.RegexFlag(0)
    for flag in flags or []:
        combined |= _FLAGS[flag]
    try:
        return re.compile(pattern, combined)
    except re.error as error:
        raise ToolError(f"invalid pattern: {error}") from None


@tool(title="Regex search", read_only=True, idempotent=True, open_world=False)
def search(
    pattern: Pattern,
    text: str,
    flags: Flags = None,
    max_matches: Annotated[int, Field(minimum=1, maximum=10_000)] = 100,
) -> SearchResult:
    """Find every match of a regular expression in a text, with positions and groups.

    Args:
        text: The text to search.
        max_matches: List at most this many matches (all are still counted).
    """
    compiled = _compile(pattern, flags)
    matches: list[Match] = []
    count = 0
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    for found in compiled.finditer(text):
        count += 1
        if count > max_matches:
            continue
        line = _line_of(line_starts, found.start())
        matches.append(
            {
                "text": found.group(0),
                "start": found.start(),
                "end": found.end(),
                "line": line + 1,
                "column": found.start() - line_starts[line] + 1,
                "groups": list(found.groups()),
                "named": found.groupdict(),
            }
        )
    return {"count": count, "matches": matches, "truncated": count > max_matches}


def _line_of(line_starts: list[int], offset: int) -> int:
    return bisect_right(line_starts, offset) - 1


@tool(title="Regex replace", read_only=True, idempotent=True, open_world=False)
def replace(
    pattern: Pattern,
    replacement: str,
    text: str,
    flags: Flags = None,
    count: Annotated[int, Field(minimum=0)] = 0,
) -> ReplaceResult:
    r"""Replace matches of a regular expression in a text.

    Args:
        replacement: The new text for each match; \1 or \g<name> insert a group.
        text: The text to change.
        count: Replace at most this many matches, from the start; 0 replaces all.
    """
    compiled = _compile(pattern, flags)
    try:
        new_text, replacements = compiled.subn(replacement, text, count=count)
    except (re.error, IndexError) as error:
        raise ToolError(f"invalid replacement: {error}") from None
    return {"text": new_text, "replacements": replacements}
