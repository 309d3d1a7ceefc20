"""json.query (JSONPath) and json.format."""

from typing import Any

import pytest
from _tool_support import import_tool_package

from cloche import ToolError

tools = import_tool_package("json")

STORE = {
    "store": {
        "book": [
            {"title": "Sayings", "author": "Rees", "price": 8.95},
            {"title": "Sword", "author": "Waugh", "price": 12.99, "isbn": "0-553"},
            {"title": "Moby Dick", "author": "Melville", "price": 8.99, "isbn": "0-395"},
        ],
        "bicycle": {"color": "red", "price": 399},
    }
}


def values(path: str, data: Any = STORE) -> list[Any]:
    result: list[Any] = tools.query(data, path)["values"]
    return result


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.store.bicycle.color", ["red"]),
        ("store.bicycle.color", ["red"]),
        ("$['store']['bicycle']['price']", [399]),
        ("$.store.book[0].title", ["Sayings"]),
        ("$.store.book[-1].title", ["Moby Dick"]),
        ("$.store.book[0,2].author", ["Rees", "Melville"]),
        ("$.store.book[:2].price", [8.95, 12.99]),
        ("$.store.book[::-1].author", ["Melville", "Waugh", "Rees"]),
        ("$.store.book[*].author", ["Rees", "Waugh", "Melville"]),
        ("$..price", [8.95, 12.99, 8.99, 399]),
        ("$.store.book[?@.price < 10].title", ["Sayings", "Moby Dick"]),
        ("$.store.book[?(@.isbn && @.price < 10)].title", ["Moby Dick"]),
        ("$.store.book[?!@.isbn].title", ["Sayings"]),
        ("$.store.book[?@.author == 'Waugh' || @.price > 8.98].title", ["Sword", "Moby Dick"]),
        ("$.store.book[?@.price >= $.store.book[1].price].title", ["Sword"]),
        ("$.store.book[7]", []),
        ("$.nothing.here", []),
    ],
)
def test_query(path: str, expected: list[Any]) -> None:
    assert values(path) == expected


def test_query_gives_normalized_paths_and_a_limit() -> None:
    result = tools.query(STORE, "$..book[*].isbn", limit=1)
    assert result == {
        "count": 2,
        "truncated": True,
        "values": ["0-553"],
        "paths": ["$['store']['book'][1]['isbn']"],
    }


def test_filters_compare_types_strictly() -> None:
    data = [{"v": 1}, {"v": True}, {"v": "1"}, {"v": None}, {}]
    assert values("$[?@.v == 1]", data) == [{"v": 1}]
    assert values("$[?@.v == null]", data) == [{"v": None}]
    assert values("$[?@.v]", data) == [{"v": 1}, {"v": True}, {"v": "1"}, {"v": None}]


@pytest.mark.parametrize("path", ["$.", "$[", "$.a[?@.b ==]", "$['open", "$.a b"])
def test_invalid_paths_are_tool_errors_with_a_position(path: str) -> None:
    with pytest.raises(ToolError, match=r"invalid JSONPath: .* at position"):
        tools.query(STORE, path)


def test_format_pretty_prints_sorts_and_minifies() -> None:
    assert tools.format('{"b": 1, "a": [1, 2]}') == '{\n  "b": 1,\n  "a": [\n    1,\n    2\n  ]\n}'
    assert tools.format('{"b": 1, "a": "é"}', sort_keys=True, minify=True) == '{"a":"é","b":1}'
    assert tools.format("[1]", indent=0) == "[\n1\n]"


def test_format_names_the_place_of_a_syntax_error() -> None:
    with pytest.raises(ToolError, match="invalid JSON at line 2, column 8: Expecting value"):
        tools.format('{\n  "a": ,\n}')
