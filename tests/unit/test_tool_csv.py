"""csv.summary: types, missing values, statistics, delimiters and ragged rows."""

import pytest
from _tool_support import import_tool_package

from cloche import ToolError

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
    with pytest.raises(ToolError, match="no CSV rows"):
        tools.summary("\n\n")
