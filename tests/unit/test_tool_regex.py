"""regex.search and regex.replace."""

import json

import pytest
from _tool_support import import_tool_package

from cloche import McpServer, ToolError

regex = import_tool_package("regex")


def test_search_gives_positions_lines_columns_and_groups() -> None:
    result = regex.search(r"(?P<key>\w+)=(\d+)", "a=1\n  bb=22")
    assert result == {
        "count": 2,
        "truncated": False,
        "matches": [
            {
                "text": "a=1",
                "start": 0,
                "end": 3,
                "line": 1,
                "column": 1,
                "groups": ["a", "1"],
                "named": {"key": "a"},
            },
            {
                "text": "bb=22",
                "start": 6,
                "end": 11,
                "line": 2,
                "column": 3,
                "groups": ["bb", "22"],
                "named": {"key": "bb"},
            },
        ],
    }


def test_search_flags_and_limit() -> None:
    assert regex.search("^b", "a\nB", flags=["ignorecase", "multiline"])["count"] == 1
    assert regex.search("^b", "a\nB")["count"] == 0
    limited = regex.search("x", "xxxx", max_matches=2)
    assert (limited["count"], len(limited["matches"]), limited["truncated"]) == (4, 2, True)


def test_optional_group_that_did_not_match_is_null() -> None:
    assert regex.search("a(b)?", "a")["matches"][0]["groups"] == [None]


def test_replace_with_group_references_and_count() -> None:
    assert regex.replace(r"(\w+)@(\w+)", r"\2 at \1", "me@home you@work") == {
        "text": "home at me work at you",
        "replacements": 2,
    }
    assert regex.replace("o", "0", "foo boo", count=1) == {"text": "f0o boo", "replacements": 1}
    assert regex.replace("z", "y", "abc") == {"text": "abc", "replacements": 0}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: regex.search("(", "x"), "invalid pattern: missing \\), unterminated subpattern"),
        (lambda: regex.replace("(a)", r"\2", "a"), "invalid replacement: invalid group reference"),
    ],
)
def test_bad_patterns_are_tool_errors(call: object, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        call()  # type: ignore[operator]


def test_an_unknown_flag_is_invalid_params_through_mcp() -> None:
    server = McpServer([regex.search])
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "search", "arguments": {"pattern": "a", "text": "a", "flags": ["x"]}},
    }
    error = json.loads(server.handle(json.dumps(message)) or "")["error"]
    assert error["code"] == -32602
    assert "flags[0]: expected one of" in error["message"]
