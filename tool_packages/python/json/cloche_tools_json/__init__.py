"""json.query (JSONPath) and json.format (validate, pretty-print or minify JSON text)."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypedDict

from cloche import Field, ToolError, tool

from ._jsonpath import PathError
from ._jsonpath import query as _query

__all__ = ["format", "query"]


class QueryResult(TypedDict):
    """What a JSONPath query selected.

    Attributes:
        count: How many values the path selected.
        truncated: Whether more values were selected than the limit lets through.
        values: The selected values, in document order.
        paths: The normalized path of each value, e.g. $['store']['book'][0].
    """

    count: int
    truncated: bool
    values: list[Any]
    paths: list[str]


@tool(title="JSON query", read_only=True, idempotent=True, open_world=False)
def query(
    data: Any,
    path: Annotated[str, Field(min_length=1)],
    limit: Annotated[int, Field(minimum=1, maximum=10_000)] = 1000,
) -> QueryResult:
    """Select values from JSON data with a JSONPath expression (RFC 9535).

    Supported: `$` the root, `.name` or `['name']` members, `[0]` and `[-1]` indices,
    `[start:stop:step]` slices, `*` wildcards, `..name` descendants, and filters such as
    `[?@.price < 10 && @.tags]` (== != < <= > >=, && || !, parentheses). Example:
    `$.store.book[?@.author == 'Tolkien'].title`.

    Args:
        data: The JSON value to query (object, array or scalar).
        path: The JSONPath expression; a leading `$.` may be left out.
        limit: Return at most this many values.
    """
    try:
        nodes = _query(data, path)
    except PathError as error:
        raise ToolError(f"invalid JSONPath: {error}") from None
    return {
        "count": len(nodes),
        "truncated": len(nodes) > limit,
        "values": [value for _, value in nodes[:limit]],
        "paths": [node_path for node_path, _ in nodes[:limit]],
    }


@tool(title="JSON format", read_only=True, idempotent=True, open_world=False)
def format(
    text: str,
    indent: Annotated[int, Field(minimum=0, maximum=8)] = 2,
    sort_keys: bool = False,
    minify: bool = False,
) -> str:
    """Check that a text is valid JSON and return it pretty-printed (or minified).

    An invalid text fails with the line, column and reason of the first error.

    Args:
        text: The JSON text.
        indent: Spaces per indentation level when pretty-printing.
        sort_keys: Sort the members of every object by name.
        minify: Return the most compact form instead (no spaces or line breaks).
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ToolError(
            f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    if minify:
        return json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, indent=indent)
