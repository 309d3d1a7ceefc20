"""csv.summary: types, missing values, statistics, delimiters and ragged rows."""

import base64
import json
from typing import Any

import pytest
from _tool_support import import_tool_package

from cloche import McpServer, ToolError

tools = import_tool_package("csv")

PEOPLE = """name,age,height,member,joined
Ada,36,1.65,yes,2024-01-05
Bob,,1.80,no,2023-11-30
Cy,41,1.72,yes,2024-03-01
Di,29,,yes,
"""


def test_summary_infers_types_and_computes_statistics() -> None:
    result = tools.summary(PEOPLE)
    assert (result["rows"], result["delimiter"], result["ragged_rows"]) == (4, ",", 0)
    name, age, height, member, joined = result["columns"]
    assert (name["type"], name["unique"], name["min"]) == ("text", 4, None)
    assert age == {
        "name": "age",
        "type": "integer",
        "values": 3,
        "missing": 1,
        "unique": 3,
        "min": 29,
        "max": 41,
        "mean": 35.333333,
        "median": 36,
        "stdev": 6.027714,
        "top": [
            {"value": "29", "count": 1},
            {"value": "36", "count": 1},
            {"value": "41", "count": 1},
        ],
    }
    assert (height["type"], height["min"], height["max"]) == ("number", 1.65, 1.8)
    assert member["type"] == "boolean"
    assert member["top"][0] == {"value": "yes", "count": 3}
    assert (joined["type"], joined["min"], joined["max"]) == ("date", "2023-11-30", "2024-03-01")


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_detected(delimiter: str) -> None:
    text = PEOPLE.replace(",", delimiter)
    result = tools.summary(text)
    assert result["delimiter"] == delimiter
    assert [c["name"] for c in result["columns"]] == ["name", "age", "height", "member", "joined"]


def test_quoted_cells_keep_their_delimiters() -> None:
    result = tools.summary('city,note\n"Paris, FR","a ""quote"""\n')
    assert result["columns"][0]["top"] == [{"value": "Paris, FR", "count": 1}]
    assert result["columns"][1]["top"] == [{"value": 'a "quote"', "count": 1}]


def test_without_header_columns_are_numbered_and_ragged_rows_counted() -> None:
    result = tools.summary("1,2\n3\n4,5,6\n", has_header=False)
    assert [c["name"] for c in result["columns"]] == ["column_1", "column_2", "column_3"]
    assert (result["rows"], result["ragged_rows"]) == (3, 2)
    assert result["columns"][2]["missing"] == 2


def test_empty_and_duplicate_header_names_are_numbered() -> None:
    names = [c["name"] for c in tools.summary("a,,a\n1,2,3\n")["columns"]]
    assert names == ["a", "column_2", "column_3"]


def test_a_column_without_values_is_empty_and_a_header_only_text_has_no_rows() -> None:
    result = tools.summary("a,b\n1,\n")
    assert result["columns"][1]["type"] == "empty"
    assert tools.summary("a,b\n")["rows"] == 0


def test_no_rows_at_all_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match="the text holds no CSV rows"):
        tools.summary("\n\n")
    with pytest.raises(ToolError, match="the file holds no CSV rows"):
        tools.summary(file=b"\n")


def test_the_file_parameter_is_a_base64_csv_file() -> None:
    assert tools.summary.input_schema["properties"]["file"] == {
        "anyOf": [
            {"type": "string", "contentEncoding": "base64", "contentMediaType": "text/csv"},
            {"type": "null"},
        ],
        "description": "The CSV file, instead of text.",
        "default": None,
    }
    assert "required" not in tools.summary.input_schema


def test_a_utf8_file_summarises_like_its_text_with_or_without_a_bom() -> None:
    text = PEOPLE.replace("Ada", "Zoë")
    expected = tools.summary(text)
    assert tools.summary(file=text.encode()) == expected
    assert tools.summary(file=b"\xef\xbb\xbf" + text.encode()) == expected


def call(arguments: dict[str, Any]) -> dict[str, Any]:
    server = McpServer([tools.summary])
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    request["params"] = {"name": "summary", "arguments": arguments}
    reply: dict[str, Any] = json.loads(server.handle(json.dumps(request)))
    return reply


def test_a_file_sent_over_mcp_arrives_as_bytes() -> None:
    encoded = base64.b64encode(PEOPLE.encode("utf-8-sig")).decode()
    result = call({"file": encoded, "top": 1})["result"]
    assert result["structuredContent"] == tools.summary(PEOPLE, top=1)


def test_a_file_that_is_not_base64_is_refused_naming_the_argument() -> None:
    error = call({"file": "name,age"})["error"]
    assert error["code"] == -32602
    assert "file: not valid base64 (" in error["message"]
    assert "pass the file's bytes base64-encoded" in error["message"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "give the CSV as text, or as a file"),
        ({"text": "a\n1\n", "file": b"a\n1\n"}, "give either text or file, not both"),
    ],
)
def test_exactly_one_of_text_and_file_is_needed(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolError, match=message):
        tools.summary(**arguments)


def test_a_file_that_is_not_utf8_says_so_and_what_to_do() -> None:
    latin1 = "name\nZoë\n".encode("latin-1")
    with pytest.raises(ToolError) as caught:
        tools.summary(file=latin1)
    assert str(caught.value) == (
        "the file is not UTF-8 text (byte 0xeb at offset 7); export it as UTF-8 CSV"
        " (or pass the CSV as text)"
    )
